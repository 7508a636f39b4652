//! A scripted UAS: provisional after `d`, final after `e`, or never.

use super::endpoint_party;
use super::wire::Endpoint;
use crate::dialog::Dialog;
use crate::message::{Message, Method, Request, Response};
use crate::transaction::{AnswerPoll, AnswerRetransmission, TransactionKey, Transport, TxEvent};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What a callee does with an INVITE, timed from its arrival.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// Send this provisional (e.g. 180, 183) after that long.
    pub provisional: Option<(Duration, u16)>,
    /// Send this final (200, 486, ...) after that long; `None`: never.
    pub answer: Option<(Duration, u16)>,
    /// SDP carried by the 183 and the 2xx.
    pub sdp: Option<String>,
}

impl Script {
    /// Ring (180) after `ring`, answer 200 after `answer`.
    pub fn ring_then_answer(ring: Duration, answer: Duration) -> Script {
        Script { provisional: Some((ring, 180)), answer: Some((answer, 200)), sdp: Some(sdp_answer()) }
    }

    /// 183 with SDP after `after`, then nothing.
    pub fn early_media(after: Duration) -> Script {
        Script { provisional: Some((after, 183)), answer: None, sdp: Some(sdp_answer()) }
    }

    /// This final status after `after`, nothing before.
    pub fn final_after(after: Duration, status: u16) -> Script {
        Script { provisional: None, answer: Some((after, status)), sdp: Some(sdp_answer()) }
    }

    /// Ring after `ring` and never answer.
    pub fn ring_forever(ring: Duration) -> Script {
        Script { provisional: Some((ring, 180)), answer: None, sdp: None }
    }
}

fn sdp_answer() -> String {
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 16000 RTP/AVP 0\r\n".to_string()
}

/// One incoming call and what is still to do for it.
struct Call {
    key: TransactionKey,
    invite: Request,
    dialog: Dialog,
    provisional_at: Option<Instant>,
    answer_at: Option<Instant>,
    /// The 2xx, retransmitted until the ACK (RFC 3261 §13.3.1.4).
    ok: Option<AnswerRetransmission>,
    final_sent: Option<u16>,
}

/// The simulated callee (a flat's phone).
pub struct Callee {
    /// The transaction layer and what it reported.
    pub ep: Endpoint,
    tag: String,
    script: Script,
    call: Option<Call>,
    /// INVITEs that reached this callee's TU (retransmissions are absorbed below it).
    pub invites: usize,
    /// ACKs for our 2xx.
    pub acks: usize,
    /// BYEs received.
    pub byes: usize,
    /// CANCELs received.
    pub cancels: usize,
}

impl Callee {
    /// A callee at `addr` following `script`; `seed` makes its To tag.
    pub fn new(addr: SocketAddr, script: Script, seed: u64) -> Callee {
        let mut ep = Endpoint::new(addr, seed);
        let tag = format!("callee{:x}", ep.fresh());
        Callee { ep, tag, script, call: None, invites: 0, acks: 0, byes: 0, cancels: 0 }
    }

    /// Speak `transport`.
    pub fn over(mut self, transport: Transport) -> Callee {
        self.ep.set_transport(transport);
        self
    }

    /// Our To tag.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The final status we sent, if any.
    pub fn final_sent(&self) -> Option<u16> {
        self.call.as_ref().and_then(|c| c.final_sent)
    }

    fn on_event(&mut self, now: Instant, ev: TxEvent) {
        let TxEvent::Request { key, request, .. } = ev else { return };
        match request.method {
            Method::Invite if self.call.is_none() => self.on_invite(now, key, request),
            Method::Cancel => self.on_cancel(now, key, &request),
            Method::Ack => self.on_ack(&request),
            _ => {
                self.byes += usize::from(request.method == Method::Bye);
                let ok = Response::for_request(&request, 200, "OK");
                self.ep.layer.send_response(now, &key, self.with_tag(ok));
            }
        }
    }

    fn on_invite(&mut self, now: Instant, key: TransactionKey, invite: Request) {
        self.invites += 1;
        let contact = format!("<sip:callee@{}>", self.ep.peer.addr);
        let Some(dialog) = Dialog::uas(&invite, &self.tag, &contact) else { return };
        let provisional_at = self.script.provisional.map(|(d, _)| now + d);
        let answer_at = self.script.answer.map(|(d, _)| now + d);
        self.call = Some(Call { key, invite, dialog, provisional_at, answer_at, ok: None, final_sent: None });
    }

    /// §9.2: 200 for a CANCEL that matches our INVITE (and 487 for the
    /// INVITE if it is still pending), 481 for one that does not.
    fn on_cancel(&mut self, now: Instant, key: TransactionKey, cancel: &Request) {
        self.cancels += 1;
        let invite_key = key.for_method(&Method::Invite);
        let known = self.call.as_ref().is_some_and(|c| c.key == invite_key);
        let resp = match known {
            true => Response::for_request(cancel, 200, "OK"),
            false => Response::for_request(cancel, 481, "Call/Transaction Does Not Exist"),
        };
        let resp = self.with_tag(resp);
        self.ep.layer.send_response(now, &key, resp);
        let Some(call) = self.call.as_mut().filter(|c| c.key == invite_key && c.final_sent.is_none()) else {
            return;
        };
        call.provisional_at = None;
        call.answer_at = None;
        self.send_final(now, 487, "Request Terminated");
    }

    fn on_ack(&mut self, ack: &Request) {
        let msg = Message::Request(ack.clone());
        if let Some(call) = self.call.as_mut().filter(|c| c.dialog.matches(&msg)) {
            self.acks += 1;
            call.ok = None;
        }
    }

    fn with_tag(&self, mut resp: Response) -> Response {
        if let Some(mut to) = resp.headers.to().filter(|t| t.tag().is_none()) {
            to.set_param("tag", Some(self.tag.clone()));
            resp.headers.set("To", to.to_string());
        }
        resp
    }

    /// A response to the INVITE, with our tag, Contact and (for 183/2xx) SDP.
    fn invite_response(&self, status: u16, reason: &str) -> Option<Response> {
        let call = self.call.as_ref()?;
        let mut resp = self.with_tag(Response::for_request(&call.invite, status, reason));
        if status < 300 {
            resp.headers.push("Contact", format!("<sip:callee@{}>", self.ep.peer.addr));
            for rr in call.invite.headers.get_all("Record-Route") {
                resp.headers.push("Record-Route", rr);
            }
        }
        match &self.script.sdp {
            Some(sdp) if status == 183 || (200..300).contains(&status) => {
                Some(resp.with_body("application/sdp", sdp.as_str()))
            }
            _ => Some(resp),
        }
    }

    fn send_final(&mut self, now: Instant, status: u16, reason: &str) {
        let Some(resp) = self.invite_response(status, reason) else { return };
        let timers = *self.ep.layer.timers();
        let Some(call) = self.call.as_mut() else { return };
        call.final_sent = Some(status);
        call.dialog.update(&resp);
        if (200..300).contains(&status) {
            call.ok = Some(AnswerRetransmission::new(now, &timers, resp.clone()));
        }
        let key = call.key.clone();
        self.ep.layer.send_response(now, &key, resp);
    }

    fn own_timeout(&self) -> Option<Instant> {
        let call = self.call.as_ref()?;
        let ok = call.ok.as_ref().map(AnswerRetransmission::next_timeout);
        [call.provisional_at, call.answer_at, ok].into_iter().flatten().min()
    }

    fn on_own_timers(&mut self, now: Instant) {
        let Some(call) = self.call.as_mut() else { return };
        if call.provisional_at.take_if(|t| *t <= now).is_some() {
            let status = self.script.provisional.map_or(180, |(_, s)| s);
            if let (Some(resp), Some(call)) = (self.invite_response(status, "Ringing"), self.call.as_ref()) {
                let key = call.key.clone();
                self.ep.layer.send_response(now, &key, resp);
            }
        }
        let Some(call) = self.call.as_mut() else { return };
        if call.answer_at.take_if(|t| *t <= now).is_some() {
            let status = self.script.answer.map_or(200, |(_, s)| s);
            self.send_final(now, status, if status == 200 { "OK" } else { "Failed" });
        }
        self.retransmit_ok(now);
    }

    /// RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx until the ACK.
    fn retransmit_ok(&mut self, now: Instant) {
        let Some(call) = self.call.as_mut() else { return };
        let Some(pending) = call.ok.as_mut() else { return };
        match pending.poll(now) {
            AnswerPoll::Wait => {}
            AnswerPoll::Resend(resp) => {
                let (key, resp) = (call.key.clone(), resp.clone());
                self.ep.layer.send_response(now, &key, resp);
            }
            AnswerPoll::GiveUp => call.ok = None,
        }
    }
}

endpoint_party!(Callee);
