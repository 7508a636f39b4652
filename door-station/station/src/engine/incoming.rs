//! A call to the station ("look at the door"): callers on the allow-list
//! are answered at once with video; everybody else gets 403.
//!
//! The 200 is retransmitted by us, not by the transaction (RFC 3261
//! §13.3.1.4): at T1, doubling to T2, until the ACK; without an ACK after
//! 64·T1 the call ends with BYE. States: [`Phase::Accepting`] (200 sent, no
//! ACK yet) and [`Phase::Talking`].

use std::time::Instant;

use super::media::MediaPaths;
use ds_sip::dialog::Dialog;
use ds_sip::sdp::SessionDescription;
use ds_sip::transaction::{AnswerPoll, AnswerRetransmission, Peer, TransactionKey};
use ds_sip::{Message, Request, Response};

use super::limits::CallLimits;
use super::outgoing::send_bye;
use super::{CallId, CallStatus, Core, EndReason, Event, MediaCommand};
use super::{media, wire};

enum Phase {
    /// 200 sent, waiting for the ACK.
    Accepting(AnswerRetransmission),
    Talking,
}

/// Why an INVITE was not answered with 200.
pub(crate) struct Refused {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
}

/// An answered call to the station.
pub(crate) struct IncomingCall {
    id: CallId,
    dialog: Dialog,
    peer: Peer,
    /// The INVITE's server transaction, which carries the 200's copies.
    key: TransactionKey,
    /// Our offer in the 200 when the INVITE had none (the answer comes in the ACK).
    offer: Option<SessionDescription>,
    phase: Phase,
    limits: CallLimits,
}

impl IncomingCall {
    /// Answers `invite` with 200 (the caller sends the 200 through the
    /// server transaction), or says why not.
    pub fn accept(
        core: &mut Core,
        now: Instant,
        key: &TransactionKey,
        invite: &Request,
        from: Peer,
    ) -> Result<(Box<IncomingCall>, Response), Refused> {
        let caller = invite.headers.from().map(|f| f.uri).unwrap_or_default();
        if !core.cfg.calls.allow_callers.allows(&caller) {
            return Err(Refused { status: 403, reason: "Forbidden" });
        }
        let tag = core.ids.token();
        let contact = format!("<{}>", wire::contact_uri(&core.cfg));
        let Some(mut dialog) = Dialog::uas(invite, &tag, &contact) else {
            return Err(Refused { status: 400, reason: "Bad Request" });
        };
        let call = CallId(dialog.call_id().to_string());
        let OurSdp { body, paths, offer } = our_sdp(core, invite)?;
        let ok = wire::reply(&core.cfg, invite, 200, "OK", &tag)
            .with_header("Contact", contact)
            .with_header("Allow", wire::allow())
            .with_body("application/sdp", body);
        dialog.update(&ok);
        let limits = CallLimits::new(&core.cfg.calls, now, paths.as_ref().map(|p| &p.rtp));
        if let Some(paths) = paths {
            core.media(MediaCommand::Answered { call: call.clone(), dialog: dialog.remote_tag().to_string(), paths });
        }
        core.emit(Event::Incoming { call_id: call.0.clone(), from: caller, accepted: true });
        let pending = AnswerRetransmission::new(now, &core.cfg.timers, ok.clone());
        let call = Box::new(IncomingCall {
            id: call,
            dialog,
            peer: from,
            key: key.clone(),
            offer,
            phase: Phase::Accepting(pending),
            limits,
        });
        Ok((call, ok))
    }

    /// The call's id.
    pub fn call_id(&self) -> &CallId {
        &self.id
    }

    /// The caller's URI (From of the INVITE).
    pub fn remote_uri(&self) -> String {
        self.dialog.remote_uri().to_string()
    }

    /// What `status` shows.
    pub fn status(&self) -> CallStatus {
        CallStatus { call_id: self.id.0.clone(), direction: "incoming", state: "answered", peer: self.remote_uri() }
    }

    /// The dialog, when `req` belongs to it.
    pub fn dialog_for(&mut self, req: &Request) -> Option<&mut Dialog> {
        let msg = Message::Request(req.clone());
        Some(&mut self.dialog).filter(|d| d.matches(&msg))
    }

    /// The next retransmission, give-up, call limit or media timeout.
    pub fn deadline(&self) -> Option<Instant> {
        let accepting = match &self.phase {
            Phase::Accepting(pending) => Some(pending.next_timeout()),
            Phase::Talking => None,
        };
        [accepting, Some(self.limits.deadline())].into_iter().flatten().min()
    }

    /// RTP arrived from the caller.
    pub fn media_activity(&mut self, now: Instant) {
        self.limits.activity(now);
    }

    /// The ACK for our 200: retransmissions stop; with a delayed offer, the
    /// ACK's SDP is the answer.
    pub fn on_ack(&mut self, core: &mut Core, now: Instant, ack: &Request) {
        if !matches!(self.phase, Phase::Accepting(_)) {
            return;
        }
        self.phase = Phase::Talking;
        let Some(offer) = self.offer.take() else { return };
        if let Some(paths) = media::negotiate(core, &offer, &ack.body) {
            self.limits.negotiated(&core.cfg.calls, now, &paths);
            let dialog = self.dialog.remote_tag().to_string();
            core.media(MediaCommand::Answered { call: self.id.clone(), dialog, paths });
        }
    }

    /// A re-INVITE or UPDATE with a new offer: the answer and new paths.
    pub fn reoffer(&mut self, core: &mut Core, now: Instant, offer: &[u8]) -> Option<SessionDescription> {
        let (answer, paths) = media::answer(core, offer)?;
        self.limits.negotiated(&core.cfg.calls, now, &paths);
        let dialog = self.dialog.remote_tag().to_string();
        core.media(MediaCommand::Answered { call: self.id.clone(), dialog, paths });
        Some(answer)
    }

    /// Retransmit the 200, or end the call on a timer.
    pub fn on_timeout(mut self: Box<Self>, core: &mut Core, now: Instant) -> Option<Box<IncomingCall>> {
        if let Phase::Accepting(pending) = &mut self.phase {
            match pending.poll(now) {
                AnswerPoll::GiveUp => {
                    self.hang_up(core, now, EndReason::Error);
                    return None;
                }
                AnswerPoll::Resend(ok) if !self.peer.transport.is_reliable() => {
                    core.tx.send_response(now, &self.key, ok.clone());
                }
                _ => {}
            }
        }
        match self.limits.due(now) {
            Some(reason) => {
                self.hang_up(core, now, reason);
                None
            }
            None => Some(self),
        }
    }

    /// End the call from our side with BYE.
    pub fn hang_up(mut self, core: &mut Core, now: Instant, reason: EndReason) {
        send_bye(core, now, &mut self.dialog, self.peer);
        self.ended(core, reason);
    }

    /// The caller sent BYE (the dispatcher answers it).
    pub fn remote_bye(self, core: &mut Core) {
        self.ended(core, EndReason::RemoteBye);
    }

    fn ended(self, core: &mut Core, reason: EndReason) {
        core.media(MediaCommand::StopCall { call: self.id.clone() });
        core.emit(Event::Ended { call_id: self.id.0, reason });
    }
}

/// The SDP of our 200: an answer to the INVITE's offer (with its paths), or
/// our offer when the INVITE had none (the answer comes in the ACK).
struct OurSdp {
    body: String,
    paths: Option<MediaPaths>,
    offer: Option<SessionDescription>,
}

fn our_sdp(core: &mut Core, invite: &Request) -> Result<OurSdp, Refused> {
    if !wire::has_sdp(invite.headers.content_type(), &invite.body) {
        let offer = media::offer(core);
        return Ok(OurSdp { body: offer.to_string(), paths: None, offer: Some(offer) });
    }
    let not_acceptable = Refused { status: 488, reason: "Not Acceptable Here" };
    let (answer, paths) = media::answer(core, &invite.body).ok_or(not_acceptable)?;
    Ok(OurSdp { body: answer.to_string(), paths: Some(paths), offer: None })
}

/// Reports a refused INVITE.
pub(crate) fn refused(core: &mut Core, invite: &Request) {
    let call_id = invite.headers.call_id().unwrap_or_default().to_string();
    let from = invite.headers.from().map(|f| f.uri).unwrap_or_default();
    core.emit(Event::Incoming { call_id, from, accepted: false });
}
