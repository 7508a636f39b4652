//! The queue every transaction writes its output to, and what a transaction
//! needs to act: the time, the timer values and that queue.

use super::timer::TimerTable;
use super::{Peer, Timers, TransactionKey, TxEvent, TxOutput};
use crate::message::{Request, Response};
use std::collections::VecDeque;
use std::time::Instant;

/// Output waiting for `poll_output`.
#[derive(Debug, Default)]
pub(crate) struct Outbox(VecDeque<TxOutput>);

impl Outbox {
    pub fn transmit_request(&mut self, dest: Peer, req: &Request) {
        self.0.push_back(TxOutput::Transmit { dest, bytes: req.to_bytes() });
    }

    pub fn transmit_response(&mut self, dest: Peer, resp: &Response) {
        self.0.push_back(TxOutput::Transmit { dest, bytes: resp.to_bytes() });
    }

    pub fn transmit_bytes(&mut self, dest: Peer, bytes: Vec<u8>) {
        self.0.push_back(TxOutput::Transmit { dest, bytes });
    }

    pub fn event(&mut self, ev: TxEvent) {
        self.0.push_back(TxOutput::Event(ev));
    }

    pub fn response(&mut self, key: &TransactionKey, response: Response) {
        self.event(TxEvent::Response { key: key.clone(), response });
    }

    pub fn pop(&mut self) -> Option<TxOutput> {
        let next = self.0.pop_front();
        if next.is_none() {
            super::shrink_queue_after_burst(&mut self.0);
        }
        next
    }
}

/// What a transaction sees when it handles an input.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub timers: &'a Timers,
    pub out: &'a mut Outbox,
    /// The timers of the transaction at hand.
    pub table: &'a mut TimerTable,
}
