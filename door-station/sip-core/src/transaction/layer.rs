//! The transaction layer: creates, matches, times and reaps transactions.

use super::deadlines::{DeadlineIndex, Slot};
use super::invite_client::InviteClient;
use super::invite_server::InviteServer;
use super::non_invite_client::NonInviteClient;
use super::non_invite_server::NonInviteServer;
use super::outbox::{Ctx, Outbox};
use super::timer::{Timer, TimerTable};
use super::{Peer, Timers, TransactionError, TransactionKey, TxEvent, TxOutput, shrink_after_burst};
use crate::message::{Message, Method, Request, Response};
use std::collections::HashMap;
use std::time::Instant;

enum Tx {
    InviteClient(InviteClient),
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

/// One transaction, its timers and where its next deadline is filed.
struct Entry {
    table: TimerTable,
    tx: Tx,
    slot: Option<Slot>,
}

impl Entry {
    fn new(table: TimerTable, tx: Tx) -> Entry {
        Entry { table, tx, slot: None }
    }
}

impl Tx {
    fn on_timer(&mut self, ctx: &mut Ctx<'_>, timer: Timer) {
        match self {
            Tx::InviteClient(t) => t.on_timer(ctx, timer),
            Tx::NonInviteClient(t) => t.on_timer(ctx, timer),
            Tx::InviteServer(t) => t.on_timer(ctx, timer),
            Tx::NonInviteServer(t) => t.on_timer(timer),
        }
    }

    fn is_terminated(&self) -> bool {
        match self {
            Tx::InviteClient(t) => t.is_terminated(),
            Tx::NonInviteClient(t) => t.is_terminated(),
            Tx::InviteServer(t) => t.is_terminated(),
            Tx::NonInviteServer(t) => t.is_terminated(),
        }
    }
}

/// Every transaction of one SIP element. See the [module docs](super) for the loop.
///
/// The next deadline of each transaction is filed in an ordered index, so
/// [`next_timeout`](Self::next_timeout) is O(log n), and every input
/// visits only the transactions it concerns: the matched one, or the due
/// ones in [`handle_timeout`](Self::handle_timeout).
pub struct TransactionLayer {
    timers: Timers,
    txs: HashMap<TransactionKey, Entry>,
    deadlines: DeadlineIndex<TransactionKey>,
    out: Outbox,
    auto_trying: bool,
    /// Transactions visited by `handle_timeout`, for the tests that check
    /// it visits only due ones.
    #[cfg(test)]
    pub(super) timer_visits: usize,
}

impl TransactionLayer {
    /// An empty layer with these timer values.
    pub fn new(timers: Timers) -> Self {
        TransactionLayer {
            timers,
            txs: HashMap::new(),
            deadlines: DeadlineIndex::default(),
            out: Outbox::default(),
            auto_trying: false,
            #[cfg(test)]
            timer_visits: 0,
        }
    }

    /// When on, an INVITE server transaction sends `100 Trying` if the TU
    /// has not answered within 200 ms (RFC 3261 §17.2.1). Off by default:
    /// the door station and the proxy answer at once.
    pub fn set_auto_trying(&mut self, on: bool) {
        self.auto_trying = on;
    }

    /// The timer values in use.
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Start a client transaction. The request carries its top Via with a
    /// fresh branch (see [`branch_from`](super::branch_from)). An ACK gets
    /// no transaction and is sent as is. When the request has no branch or
    /// its key is taken, a `TransportError` event reports it; use
    /// [`try_send_request`](Self::try_send_request) to get the error.
    pub fn send_request(&mut self, now: Instant, req: Request, dest: Peer) -> TransactionKey {
        let fallback =
            TransactionKey::client_for_request(&req).unwrap_or_else(|| TransactionKey::without_branch(&req.method));
        match self.try_send_request(now, req, dest) {
            Ok(key) => key,
            Err(_) => {
                let key = fallback;
                self.out.event(TxEvent::TransportError { key: key.clone() });
                key
            }
        }
    }

    /// [`send_request`](Self::send_request), with the reason when it cannot start.
    pub fn try_send_request(
        &mut self,
        now: Instant,
        req: Request,
        dest: Peer,
    ) -> Result<TransactionKey, TransactionError> {
        let key = TransactionKey::client_for_request(&req)
            .ok_or_else(|| TransactionError::MissingBranch { method: req.method.to_string() })?;
        if req.method == Method::Ack {
            self.out.transmit_request(dest, &req);
            return Ok(key);
        }
        if self.txs.contains_key(&key) {
            return Err(TransactionError::DuplicateKey { key });
        }
        let mut table = TimerTable::default();
        let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut table };
        let tx = if req.method == Method::Invite {
            Tx::InviteClient(InviteClient::start(&mut ctx, key.clone(), req, dest))
        } else {
            Tx::NonInviteClient(NonInviteClient::start(&mut ctx, key.clone(), req, dest))
        };
        self.txs.insert(key.clone(), Entry::new(table, tx));
        self.settle(&key);
        Ok(key)
    }

    /// Answer a server transaction. Errors are dropped; use
    /// [`try_send_response`](Self::try_send_response) to see them.
    pub fn send_response(&mut self, now: Instant, key: &TransactionKey, resp: Response) {
        let _ = self.try_send_response(now, key, resp);
    }

    /// Answer a server transaction, or say why not.
    pub fn try_send_response(
        &mut self,
        now: Instant,
        key: &TransactionKey,
        resp: Response,
    ) -> Result<(), TransactionError> {
        let status = resp.status;
        let no_such = || TransactionError::NoSuchTransaction { key: key.clone() };
        let entry = self.txs.get_mut(key).ok_or_else(no_such)?;
        let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut entry.table };
        let result = match &mut entry.tx {
            Tx::InviteServer(t) => t.send_response(&mut ctx, resp),
            Tx::NonInviteServer(t) => t.send_response(&mut ctx, resp),
            _ => return Err(no_such()),
        };
        self.settle(key);
        result.map_err(|why| TransactionError::WrongState { key: key.clone(), status, why })
    }

    /// Send a message outside any transaction: the ACK for a 2xx, a 2xx
    /// retransmitted by the TU after the server transaction is gone, a
    /// stateless proxy's forward.
    pub fn send_stateless(&mut self, dest: Peer, msg: Message) {
        self.out.transmit_bytes(dest, msg.to_bytes());
    }

    /// A message arrived from `from`.
    pub fn handle_message(&mut self, now: Instant, msg: Message, from: Peer) {
        match msg {
            Message::Response(r) => self.handle_response(now, r),
            Message::Request(r) => self.handle_request(now, r, from),
        }
    }

    fn handle_response(&mut self, now: Instant, resp: Response) {
        let Some(key) = TransactionKey::client_for_response(&resp) else { return };
        let Some(entry) = self.txs.get_mut(&key) else { return }; // stray: RFC 6026 §7.1.3
        let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut entry.table };
        match &mut entry.tx {
            Tx::InviteClient(t) => t.on_response(&mut ctx, resp),
            Tx::NonInviteClient(t) => t.on_response(&mut ctx, resp),
            _ => {}
        }
        self.settle(&key);
    }

    fn handle_request(&mut self, now: Instant, req: Request, from: Peer) {
        let Some(key) = TransactionKey::server_for_request(&req) else { return };
        if let Some(entry) = self.txs.get_mut(&key) {
            let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut entry.table };
            let up = match (&mut entry.tx, req.method == Method::Ack) {
                (Tx::InviteServer(t), true) => t.on_ack(&mut ctx, req),
                (Tx::InviteServer(t), false) => {
                    t.on_retransmission(&mut ctx);
                    None
                }
                (Tx::NonInviteServer(t), false) => {
                    t.on_retransmission(&mut ctx);
                    None
                }
                _ => Some(req),
            };
            if let Some(request) = up {
                self.out.event(TxEvent::Request { key: key.clone(), request, from });
            }
            return self.settle(&key);
        }
        if req.method == Method::Ack {
            return self.out.event(TxEvent::Request { key, request: req, from });
        }
        let mut table = TimerTable::default();
        let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut table };
        let tx = if req.method == Method::Invite {
            Tx::InviteServer(InviteServer::new(&mut ctx, key.clone(), &req, from, self.auto_trying))
        } else {
            Tx::NonInviteServer(NonInviteServer::new(from))
        };
        self.txs.insert(key.clone(), Entry::new(table, tx));
        self.out.event(TxEvent::Request { key: key.clone(), request: req, from });
        self.settle(&key);
    }

    /// Fire every timer due at `now`, earliest first. Only transactions
    /// with a due timer are visited.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(key) = self.deadlines.pop_due(now) {
            let Some(entry) = self.txs.get_mut(&key) else { continue };
            entry.slot = None;
            #[cfg(test)]
            {
                self.timer_visits += 1;
            }
            while let Some(timer) = entry.table.pop_expired(now) {
                let mut ctx = Ctx { now, timers: &self.timers, out: &mut self.out, table: &mut entry.table };
                entry.tx.on_timer(&mut ctx, timer);
                if entry.tx.is_terminated() {
                    break;
                }
            }
            self.settle(&key);
        }
    }

    /// The shell could not send a message of this transaction (ICMP error,
    /// TCP reset): the transaction ends with a `TransportError` (§17.1.4, §17.2.4).
    pub fn handle_transport_error(&mut self, key: &TransactionKey) {
        if let Some(entry) = self.txs.remove(key) {
            self.deadlines.remove(entry.slot);
            self.out.event(TxEvent::TransportError { key: key.clone() });
            self.out.event(TxEvent::Terminated { key: key.clone() });
        }
    }

    /// The next thing to do, or `None` when everything is drained.
    pub fn poll_output(&mut self) -> Option<TxOutput> {
        self.out.pop()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.first()
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True when no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// True while the transaction exists.
    pub fn contains(&self, key: &TransactionKey) -> bool {
        self.txs.contains_key(key)
    }

    /// The INVITE a client transaction sent and where, e.g. to build its
    /// CANCEL; `None` once a final response came (nothing to cancel then).
    pub fn invite_of(&self, key: &TransactionKey) -> Option<(&Request, Peer)> {
        match &self.txs.get(key)?.tx {
            Tx::InviteClient(t) => Some((t.request()?, t.dest())),
            _ => None,
        }
    }

    /// After an input touched `key`: reap it if it ended, else refile its
    /// next deadline.
    fn settle(&mut self, key: &TransactionKey) {
        let Some(entry) = self.txs.get_mut(key) else { return };
        if entry.tx.is_terminated() {
            self.deadlines.remove(entry.slot.take());
            self.txs.remove(key);
            shrink_after_burst(&mut self.txs);
            self.out.event(TxEvent::Terminated { key: key.clone() });
        } else {
            self.deadlines.reschedule(&mut entry.slot, entry.table.next(), key);
        }
    }
}
