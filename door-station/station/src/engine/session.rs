//! The media session of a confirmed dialog: re-INVITE and UPDATE from the
//! peer (hold, resume, a new address or port), the 2xx that waits for its
//! ACK, and our SDP's `o=` line across the dialog.
//!
//! - An offer gets our answer and new paths; an offer we cannot take gets
//!   488 and the session stays as it was (RFC 3261 §14.2).
//! - A re-INVITE without SDP gets our offer in the 200; the ACK carries the
//!   answer (RFC 3261 §14.2, §13.3.1.1). An ACK without a usable answer
//!   leaves the paths as they were.
//! - While that offer of ours waits for the ACK, a re-INVITE or an UPDATE
//!   with an offer gets 491 (RFC 3311 §5.2; RFC 3261 §14.2 for a request
//!   crossing one of ours).
//! - Every 2xx to an INVITE is retransmitted at T1, doubling to T2, until
//!   its ACK (matched by CSeq); without one after 64·T1 the call ends with
//!   BYE (§13.3.1.4).
//! - Each SDP we send in the dialog keeps the session id of our first one
//!   and increases its version (RFC 3264 §8).

use std::time::Instant;

use ds_sip::sdp::SessionDescription;
use ds_sip::transaction::{AnswerPoll, AnswerRetransmission, TransactionKey};
use ds_sip::{Method, Request, Response};

use super::limits::CallLimits;
use super::media::{self, MediaPaths};
use super::{CallId, Core, MediaCommand, wire};

/// Why a re-INVITE or UPDATE is refused: the status and reason to answer.
pub(crate) type Refusal = (u16, &'static str);

/// A 2xx to an INVITE, until its ACK.
struct AwaitingAck {
    key: TransactionKey,
    cseq: u32,
    copies: AnswerRetransmission,
    /// Our offer in the 2xx (the INVITE had none): the ACK brings the answer.
    offer: Option<SessionDescription>,
}

/// The offer/answer state of one confirmed dialog.
pub(crate) struct MediaSession {
    call: CallId,
    /// The dialog's remote tag, as the media threads name it.
    dialog: String,
    /// 2xx copies are only sent on unreliable transports.
    reliable: bool,
    session_id: String,
    version: u64,
    awaiting: Option<AwaitingAck>,
}

impl MediaSession {
    /// The session after our first SDP in the dialog (`first`).
    pub fn new(call: CallId, dialog: String, reliable: bool, first: &SessionDescription) -> MediaSession {
        let version = first.origin.session_version.parse().unwrap_or(0);
        let session_id = first.origin.session_id.clone();
        MediaSession { call, dialog, reliable, session_id, version, awaiting: None }
    }

    /// `ok` to the INVITE of transaction `key` was sent at `now`: retransmit
    /// it until the ACK; with `offer`, the ACK carries the answer to it.
    pub fn sent_2xx(
        &mut self,
        core: &Core,
        now: Instant,
        key: &TransactionKey,
        ok: Response,
        offer: Option<SessionDescription>,
    ) {
        let cseq = ok.headers.cseq().map_or(0, |(n, _)| n);
        let copies = AnswerRetransmission::new(now, &core.cfg.timers, ok);
        self.awaiting = Some(AwaitingAck { key: key.clone(), cseq, copies, offer });
    }

    /// A re-INVITE or UPDATE in the dialog: answers it (200, 488 or 491)
    /// through transaction `key`; new paths go to the media threads.
    pub fn renegotiate(
        &mut self,
        core: &mut Core,
        now: Instant,
        (key, req): (&TransactionKey, &Request),
        limits: &mut CallLimits,
    ) -> Result<(), Refusal> {
        let has_offer = wire::has_sdp(req.headers.content_type(), &req.body);
        let invite = req.method == Method::Invite;
        if self.awaiting.as_ref().is_some_and(|a| a.offer.is_some()) && (invite || has_offer) {
            return Err((491, "Request Pending"));
        }
        let (sdp, offer) = if has_offer {
            let (mut answer, paths) = media::answer(core, &req.body).ok_or((488, "Not Acceptable Here"))?;
            self.stamp(&mut answer);
            self.apply(core, now, paths, limits);
            (Some(answer), None)
        } else if invite {
            let mut offer = media::offer(core);
            self.stamp(&mut offer);
            (Some(offer.clone()), Some(offer))
        } else {
            (None, None)
        };
        let tag = core.ids.token();
        let mut ok = wire::reply(&core.cfg, req, 200, "OK", &tag)
            .with_header("Contact", format!("<{}>", wire::contact_uri(&core.cfg)))
            .with_header("Allow", wire::allow());
        if let Some(sdp) = sdp {
            ok = ok.with_body("application/sdp", sdp.to_string());
        }
        core.tx.send_response(now, key, ok.clone());
        if invite {
            self.sent_2xx(core, now, key, ok, offer);
        }
        Ok(())
    }

    /// An ACK in the dialog: the one for the waiting 2xx stops its copies
    /// and, after our offer, gives the paths of its answer.
    pub fn on_ack(&mut self, core: &mut Core, now: Instant, ack: &Request, limits: &mut CallLimits) {
        let cseq = ack.headers.cseq().map(|(n, _)| n);
        if self.awaiting.as_ref().is_none_or(|a| Some(a.cseq) != cseq) {
            return;
        }
        let Some(offer) = self.awaiting.take().and_then(|a| a.offer) else { return };
        match media::negotiate(core, &offer, &ack.body) {
            Some(paths) => self.apply(core, now, paths, limits),
            None => tracing::warn!(call = %self.call, "the ACK carries no usable answer to our offer; media unchanged"),
        }
    }

    /// When the next 2xx copy (or the give-up) is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.awaiting.as_ref().map(|a| a.copies.next_timeout())
    }

    /// Sends a due 2xx copy; `false` when 64·T1 passed without the ACK (the
    /// caller ends the call with BYE).
    pub fn on_timeout(&mut self, core: &mut Core, now: Instant) -> bool {
        let Some(a) = &mut self.awaiting else { return true };
        match a.copies.poll(now) {
            AnswerPoll::GiveUp => false,
            AnswerPoll::Resend(ok) if !self.reliable => {
                core.tx.send_response(now, &a.key, ok.clone());
                true
            }
            _ => true,
        }
    }

    fn apply(&self, core: &mut Core, now: Instant, paths: MediaPaths, limits: &mut CallLimits) {
        limits.negotiated(&core.cfg.calls, now, &paths);
        core.media(MediaCommand::Answered { call: self.call.clone(), dialog: self.dialog.clone(), paths });
    }

    /// Our next SDP of the dialog: the first one's session id, the next version.
    fn stamp(&mut self, sdp: &mut SessionDescription) {
        self.version += 1;
        sdp.origin.session_id = self.session_id.clone();
        sdp.origin.session_version = self.version.to_string();
    }
}
