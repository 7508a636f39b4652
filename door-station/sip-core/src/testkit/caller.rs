//! A UAC model: places one call through an outbound proxy, keeps a dialog
//! per To tag, ACKs every 2xx and BYEs every answer but the first.

use super::endpoint_party;
use super::wire::Endpoint;
use crate::dialog::{Dialog, DialogId, DialogState};
use crate::message::{Message, Method, Request, Response};
use crate::transaction::{Peer, TransactionKey, Transport, TxEvent, cancel_for};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

/// The simulated caller (the door station's role).
pub struct Caller {
    /// The transaction layer and what it reported.
    pub ep: Endpoint,
    proxy: Peer,
    invite: Option<(TransactionKey, Request)>,
    dialogs: Vec<Dialog>,
    /// The dialog we kept: the first one answered.
    answered: Option<DialogId>,
    /// The ACK sent for each answered dialog, re-sent for 2xx retransmissions.
    acks: BTreeMap<DialogId, Request>,
    /// Dialogs we hung up with BYE.
    byes: Vec<DialogId>,
    /// Final non-2xx statuses of the INVITE.
    failures: Vec<u16>,
}

impl Caller {
    /// A caller at `addr` using the outbound proxy at `proxy`.
    pub fn new(addr: SocketAddr, proxy: SocketAddr, seed: u64) -> Caller {
        Caller {
            ep: Endpoint::new(addr, seed),
            proxy: Peer::udp(proxy),
            invite: None,
            dialogs: Vec::new(),
            answered: None,
            acks: BTreeMap::new(),
            byes: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Speak `transport` to the proxy (TCP and TLS: no retransmissions).
    pub fn over(mut self, transport: Transport) -> Caller {
        self.ep.set_transport(transport);
        self.proxy.transport = transport;
        self
    }

    /// A request outside any dialog: fresh branch, tag and Call-ID.
    fn new_request(&mut self, method: Method, target: &str) -> Request {
        let n = self.ep.fresh();
        let addr = self.ep.peer.addr;
        let mut req = Request::new(method.clone(), target)
            .with_header("Via", self.ep.via().to_string())
            .with_header("Max-Forwards", "70")
            .with_header("From", format!("<sip:door@{addr}>;tag=door{n:x}"))
            .with_header("To", format!("<{target}>"))
            .with_header("Call-ID", format!("call{n:x}@{addr}"))
            .with_header("CSeq", format!("1 {method}"));
        if method == Method::Invite {
            req.headers.push("Contact", format!("<sip:door@{addr}>"));
        }
        req
    }

    /// Send an INVITE to `target` (with an SDP offer when given).
    pub fn invite(&mut self, now: Instant, target: &str, sdp: Option<&str>) -> TransactionKey {
        let mut req = self.new_request(Method::Invite, target);
        if let Some(sdp) = sdp {
            req = req.with_body("application/sdp", sdp);
        }
        let key = self.ep.layer.send_request(now, req.clone(), self.proxy);
        self.invite = Some((key.clone(), req));
        self.pump(now);
        key
    }

    /// Send an OPTIONS outside any dialog (for non-INVITE transaction tests).
    pub fn options(&mut self, now: Instant, target: &str) -> TransactionKey {
        let req = self.new_request(Method::Options, target);
        let key = self.ep.layer.send_request(now, req, self.proxy);
        self.pump(now);
        key
    }

    /// CANCEL the pending INVITE (RFC 3261 §9.1).
    pub fn cancel(&mut self, now: Instant) {
        if let Some((_, invite)) = &self.invite {
            let cancel = cancel_for(invite);
            self.ep.layer.send_request(now, cancel, self.proxy);
        }
        self.pump(now);
    }

    /// Hang up the answered dialog.
    pub fn hangup(&mut self, now: Instant) {
        if let Some(id) = self.answered.clone() {
            self.bye(now, &id);
        }
        self.pump(now);
    }

    /// Every dialog (early and confirmed) the INVITE created.
    pub fn dialogs(&self) -> &[Dialog] {
        &self.dialogs
    }

    /// The early dialogs.
    pub fn early_dialogs(&self) -> Vec<&Dialog> {
        self.dialogs.iter().filter(|d| d.state() == DialogState::Early).collect()
    }

    /// The dialog we kept.
    pub fn answered(&self) -> Option<&DialogId> {
        self.answered.as_ref()
    }

    /// Dialogs we sent BYE in.
    pub fn byes(&self) -> &[DialogId] {
        &self.byes
    }

    /// The non-2xx final statuses the INVITE got.
    pub fn failures(&self) -> &[u16] {
        &self.failures
    }

    /// The INVITE's transaction key.
    pub fn invite_key(&self) -> Option<&TransactionKey> {
        self.invite.as_ref().map(|(k, _)| k)
    }

    fn on_event(&mut self, now: Instant, ev: TxEvent) {
        match ev {
            TxEvent::Response { key, response } if self.is_invite(&key) => self.on_invite_response(now, response),
            TxEvent::Request { key, request, .. } => self.on_request(now, key, request),
            _ => {}
        }
    }

    fn is_invite(&self, key: &TransactionKey) -> bool {
        self.invite.as_ref().is_some_and(|(k, _)| k == key)
    }

    fn on_invite_response(&mut self, now: Instant, resp: Response) {
        let Some((_, invite)) = self.invite.clone() else { return };
        if resp.status >= 300 {
            self.failures.push(resp.status);
            self.dialogs.retain(|d| d.state() == DialogState::Confirmed);
            return;
        }
        let msg = Message::Response(resp.clone());
        match self.dialogs.iter_mut().find(|d| d.matches(&msg)) {
            Some(d) => d.update(&resp),
            None => self.dialogs.extend(Dialog::uac(&invite, &resp)),
        }
        if (200..300).contains(&resp.status) {
            self.on_answer(now, &invite, &msg);
        }
    }

    /// A 2xx: ACK it (again, if it is a retransmission); BYE a second answer.
    fn on_answer(&mut self, now: Instant, invite: &Request, msg: &Message) {
        let Some(d) = self.dialogs.iter().find(|d| d.matches(msg)) else { return };
        let id = d.id();
        if let Some(ack) = self.acks.get(&id).cloned() {
            return self.send_in_dialog(ack);
        }
        let cseq = invite.headers.cseq().map(|(n, _)| n).unwrap_or(1);
        let ack = d.ack(cseq, self.ep.via());
        self.acks.insert(id.clone(), ack.clone());
        self.send_in_dialog(ack);
        match &self.answered {
            None => self.answered = Some(id),
            Some(kept) if *kept != id => self.bye(now, &id),
            Some(_) => {}
        }
    }

    fn send_in_dialog(&mut self, ack: Request) {
        if let Some(dest) = self.ep.next_hop(&ack) {
            self.ep.send_stateless(dest, Message::Request(ack));
        }
    }

    fn bye(&mut self, now: Instant, id: &DialogId) {
        let via = self.ep.via();
        let Some(d) = self.dialogs.iter_mut().find(|d| d.id() == *id) else { return };
        let bye = d.request(Method::Bye, via);
        if let Some(dest) = self.ep.next_hop(&bye) {
            self.ep.layer.send_request(now, bye, dest);
            self.byes.push(id.clone());
        }
    }

    fn on_request(&mut self, now: Instant, key: TransactionKey, req: Request) {
        if req.method == Method::Ack {
            return;
        }
        let status = if req.method == Method::Bye { 200 } else { 405 };
        let resp = Response::for_request(&req, status, if status == 200 { "OK" } else { "Method Not Allowed" });
        self.ep.layer.send_response(now, &key, resp);
    }

    fn own_timeout(&self) -> Option<Instant> {
        None
    }

    fn on_own_timers(&mut self, _now: Instant) {}
}

endpoint_party!(Caller);
