//! The bell call: INVITE to the button's target, early media to each early
//! dialog that answers 183 (or 180) with SDP, the first 200 wins.
//!
//! States: [`Ringing`] (INVITE out, early dialogs collecting) and
//! [`Talking`] (one confirmed dialog). Every transition takes the call by
//! value and returns [`Next`]: the call goes on, or it ended and leaves a
//! [`Lingering`] fork context behind, which ACKs and BYEs 2xx responses that
//! other forks send after the end (RFC 3261 §13.2.2.4, RFC 6026).

use std::time::Instant;

use super::media::MediaPaths;
use ds_sip::dialog::Dialog;
use ds_sip::digest::{DigestClient, best_challenge};
use ds_sip::sdp::SessionDescription;
use ds_sip::transaction::{Peer, TransactionKey, cancel_for};
use ds_sip::{Message, Method, Request, Response};

use super::limits::CallLimits;
use super::media;
use super::route;
use super::session::MediaSession;
use super::wire::{self, Fresh};
use super::{CallId, CallStatus, Core, EndReason, Event, MediaCommand};

/// What a transition leaves.
pub(crate) enum Next {
    /// The call goes on.
    Continue(Box<BellCall>),
    /// The call ended; the fork context (if any) keeps answering late 2xx.
    Ended(Option<Lingering>),
}

/// The INVITE and the dialogs its 2xx responses created: every 2xx is ACKed,
/// every dialog but the winner's is ended with BYE.
pub(crate) struct ForkContext {
    invite: Request,
    key: TransactionKey,
    dest: Peer,
    acked: Vec<String>,
}

impl ForkContext {
    /// ACK a 2xx (retransmissions too). Returns the dialog when its To tag
    /// is new.
    fn ack(&mut self, core: &mut Core, resp: &Response) -> Option<Dialog> {
        let dialog = Dialog::uac(&self.invite, resp)?;
        let (cseq, _) = self.invite.headers.cseq()?;
        let ack = dialog.ack(cseq, wire::via(core));
        let dest = route::dialog_hop(&ack, self.dest.transport).unwrap_or(self.dest);
        core.tx.send_stateless(dest, Message::Request(ack));
        let tag = dialog.remote_tag().to_string();
        if self.acked.contains(&tag) {
            return None;
        }
        self.acked.push(tag);
        Some(dialog)
    }
}

/// Sends BYE in `dialog`.
pub(crate) fn send_bye(core: &mut Core, now: Instant, dialog: &mut Dialog, fallback: Peer) {
    let bye = dialog.request(Method::Bye, wire::via(core));
    let dest = route::dialog_hop(&bye, fallback.transport).unwrap_or(fallback);
    core.tx.send_request(now, bye, dest);
}

/// A fork context after its call ended, kept for 64·T1 (Timer M's span).
pub(crate) struct Lingering {
    fork: Box<ForkContext>,
    until: Instant,
}

impl Lingering {
    fn new(core: &Core, now: Instant, fork: ForkContext) -> Lingering {
        Lingering { fork: Box::new(fork), until: now + core.cfg.timers.t1x64() }
    }

    /// True when `key` is the INVITE of this context.
    pub fn owns(&self, key: &TransactionKey) -> bool {
        &self.fork.key == key
    }

    /// When it may be dropped.
    pub fn deadline(&self) -> Instant {
        self.until
    }

    /// True once its time is over.
    pub fn expired(&self, now: Instant) -> bool {
        self.until <= now
    }

    /// A late response: a 2xx is ACKed, and a new dialog ended with BYE.
    pub fn on_response(&mut self, core: &mut Core, now: Instant, resp: &Response) {
        if (200..300).contains(&resp.status)
            && let Some(mut dialog) = self.fork.ack(core, resp)
        {
            send_bye(core, now, &mut dialog, self.fork.dest);
        }
    }
}

/// One early dialog and the media it gets.
struct EarlyDialog {
    dialog: Dialog,
    paths: Option<MediaPaths>,
}

/// INVITE sent, no 2xx yet.
struct Ringing {
    early: Vec<EarlyDialog>,
    until: Instant,
}

/// One dialog confirmed: two-way media.
struct Talking {
    dialog: Dialog,
    identity: Vec<String>,
    limits: CallLimits,
    session: MediaSession,
}

enum Phase {
    Ringing(Ringing),
    Talking(Box<Talking>),
}

/// The bell call (or a plain `call <uri>`).
pub(crate) struct BellCall {
    id: CallId,
    target: String,
    fork: ForkContext,
    offer: SessionDescription,
    early_limit: usize,
    authenticated: bool,
    phase: Phase,
}

impl BellCall {
    /// Sends the INVITE; `None` (and an `ended` event) when the target has no route.
    pub fn start(core: &mut Core, now: Instant, target: String, early_limit: usize) -> Option<Box<BellCall>> {
        let call_id = format!("{}@{}", core.ids.token(), core.cfg.local_addr.ip());
        let offer = media::offer(core);
        let to = format!("<{target}>");
        let from_tag = core.ids.token();
        let fresh =
            Fresh { method: Method::Invite, uri: &target, to: &to, call_id: &call_id, cseq: 1, from_tag: &from_tag };
        let invite = wire::fresh_request(core, fresh)
            .with_header("Allow", wire::allow())
            .with_body("application/sdp", offer.to_string());
        core.emit(Event::Ringing { call_id: call_id.clone(), target: target.clone() });
        let Some(dest) = route::first_hop(&core.cfg, &target) else {
            tracing::warn!(%target, "no route: set sip.outbound_proxy or use an IP address");
            core.emit(Event::Ended { call_id, reason: EndReason::Error });
            return None;
        };
        let key = core.tx.send_request(now, invite.clone(), dest);
        let until = now + core.cfg.calls.ring_timeout;
        Some(Box::new(BellCall {
            id: CallId(call_id),
            target,
            fork: ForkContext { invite, key, dest, acked: Vec::new() },
            offer,
            early_limit,
            authenticated: false,
            phase: Phase::Ringing(Ringing { early: Vec::new(), until }),
        }))
    }

    /// The call's id.
    pub fn call_id(&self) -> &CallId {
        &self.id
    }

    /// True for the INVITE's transaction (responses to our CANCEL need no handling).
    pub fn owns(&self, key: &TransactionKey) -> bool {
        &self.fork.key == key
    }

    /// What `status` shows.
    pub fn status(&self) -> CallStatus {
        let state = match self.phase {
            Phase::Ringing(_) => "ringing",
            Phase::Talking(_) => "answered",
        };
        CallStatus { call_id: self.id.0.clone(), direction: "outgoing", state, peer: self.target.clone() }
    }

    /// The ring timeout, call limit or media timeout, whichever is next.
    pub fn deadline(&self) -> Option<Instant> {
        Some(match &self.phase {
            Phase::Ringing(r) => r.until,
            Phase::Talking(t) => t.session.deadline().map_or(t.limits.deadline(), |s| s.min(t.limits.deadline())),
        })
    }

    /// Who answered, for the unlock allow-list (see `identities`). `None`
    /// before the answer.
    pub fn remote_identity(&self) -> Option<Vec<String>> {
        match &self.phase {
            Phase::Talking(t) => Some(t.identity.clone()),
            Phase::Ringing(_) => None,
        }
    }

    /// RTP arrived from the answerer.
    pub fn media_activity(&mut self, now: Instant) {
        if let Phase::Talking(t) = &mut self.phase {
            t.limits.activity(now);
        }
    }

    /// The dialog a request from the peer belongs to (early or confirmed).
    pub fn dialog_for(&mut self, req: &Request) -> Option<&mut Dialog> {
        let msg = Message::Request(req.clone());
        match &mut self.phase {
            Phase::Talking(t) => Some(&mut t.dialog).filter(|d| d.matches(&msg)),
            Phase::Ringing(r) => r.early.iter_mut().map(|e| &mut e.dialog).find(|d| d.matches(&msg)),
        }
    }

    /// A response to the INVITE or the CANCEL.
    pub fn on_response(mut self: Box<Self>, core: &mut Core, now: Instant, resp: Response) -> Next {
        match resp.status {
            100 => Next::Continue(self),
            101..=199 => {
                self.provisional(core, &resp);
                Next::Continue(self)
            }
            200..=299 => self.success(core, now, &resp),
            401 | 407 if !self.authenticated => self.authenticate(core, now, &resp),
            _ => self.rejected(core, now),
        }
    }

    /// The INVITE timed out or could not be sent.
    pub fn fail(self: Box<Self>, core: &mut Core, now: Instant) -> Option<Lingering> {
        self.end(core, now, EndReason::Error)
    }

    /// A timer is due.
    pub fn on_timeout(mut self: Box<Self>, core: &mut Core, now: Instant) -> Next {
        let reason = match &mut self.phase {
            Phase::Ringing(r) if r.until <= now => Some(EndReason::RingTimeout),
            Phase::Ringing(_) => None,
            Phase::Talking(t) => match t.session.on_timeout(core, now) {
                true => t.limits.due(now),
                false => Some(EndReason::Error),
            },
        };
        let Some(reason) = reason else { return Next::Continue(self) };
        Next::Ended(self.hang_up(core, now, reason))
    }

    /// End the call from our side: CANCEL while ringing, BYE when answered.
    pub fn hang_up(self: Box<Self>, core: &mut Core, now: Instant, reason: EndReason) -> Option<Lingering> {
        if matches!(self.phase, Phase::Ringing(_)) {
            core.tx.send_request(now, cancel_for(&self.fork.invite), self.fork.dest);
        }
        self.end(core, now, reason)
    }

    /// The peer sent BYE in the confirmed dialog (the caller answers 200).
    /// An early dialog's BYE only stops its early media.
    pub fn remote_bye(mut self: Box<Self>, core: &mut Core, now: Instant, req: &Request) -> Next {
        let msg = Message::Request(req.clone());
        match &mut self.phase {
            Phase::Talking(_) => Next::Ended(self.end(core, now, EndReason::RemoteBye)),
            Phase::Ringing(r) => {
                if let Some(i) = r.early.iter().position(|e| e.dialog.matches(&msg)) {
                    let gone = r.early.remove(i);
                    if gone.paths.is_some() {
                        let dialog = gone.dialog.remote_tag().to_string();
                        core.media(MediaCommand::StopDialog { call: self.id.clone(), dialog });
                    }
                }
                Next::Continue(self)
            }
        }
    }

    /// The confirmed dialog's media session and the limits its paths set,
    /// for a re-INVITE or UPDATE; `None` while our INVITE is still pending.
    pub fn session(&mut self) -> Option<(&mut MediaSession, &mut CallLimits)> {
        match &mut self.phase {
            Phase::Talking(t) => Some((&mut t.session, &mut t.limits)),
            Phase::Ringing(_) => None,
        }
    }

    /// An ACK from the answerer (for the 200 to one of its re-INVITEs);
    /// others are ignored.
    pub fn on_ack(&mut self, core: &mut Core, now: Instant, ack: &Request) {
        if let Phase::Talking(t) = &mut self.phase
            && t.dialog.matches(&Message::Request(ack.clone()))
        {
            t.session.on_ack(core, now, ack, &mut t.limits);
        }
    }

    fn end(self: Box<Self>, core: &mut Core, now: Instant, reason: EndReason) -> Option<Lingering> {
        let fork = self.fork;
        if let Phase::Talking(mut t) = self.phase
            && reason != EndReason::RemoteBye
        {
            send_bye(core, now, &mut t.dialog, fork.dest);
        }
        core.media(MediaCommand::StopCall { call: self.id.clone() });
        core.emit(Event::Ended { call_id: self.id.0, reason });
        Some(Lingering::new(core, now, fork))
    }

    fn provisional(&mut self, core: &mut Core, resp: &Response) {
        let Phase::Ringing(ringing) = &mut self.phase else { return };
        let Some(tag) = resp.headers.to().and_then(|to| to.tag().map(str::to_string)) else { return };
        let index = match ringing.early.iter().position(|e| e.dialog.remote_tag() == tag) {
            Some(i) => {
                ringing.early[i].dialog.update(resp);
                i
            }
            None => {
                let Some(dialog) = Dialog::uac(&self.fork.invite, resp) else { return };
                ringing.early.push(EarlyDialog { dialog, paths: None });
                ringing.early.len() - 1
            }
        };
        let started = ringing.early.iter().filter(|e| e.paths.is_some()).count();
        let entry = &mut ringing.early[index];
        if entry.paths.is_some() || started >= self.early_limit {
            return;
        }
        if !wire::has_sdp(resp.headers.content_type(), &resp.body) {
            return;
        }
        let Some(paths) = media::negotiate(core, &self.offer, &resp.body) else { return };
        entry.paths = Some(paths.clone());
        let remote = media::remote_label(&paths);
        core.media(MediaCommand::StartEarly { call: self.id.clone(), dialog: tag.clone(), paths });
        core.emit(Event::EarlyMedia { call_id: self.id.0.clone(), dialog: tag, remote });
    }

    fn success(mut self: Box<Self>, core: &mut Core, now: Instant, resp: &Response) -> Next {
        let Some(mut dialog) = self.fork.ack(core, resp) else { return Next::Continue(self) };
        let early = match self.phase {
            Phase::Talking(_) => {
                send_bye(core, now, &mut dialog, self.fork.dest);
                return Next::Continue(self);
            }
            Phase::Ringing(r) => r.early,
        };
        let tag = dialog.remote_tag().to_string();
        let mut paths = None;
        for e in early {
            if e.dialog.remote_tag() == tag {
                paths = e.paths;
            } else if e.paths.is_some() {
                let dialog = e.dialog.remote_tag().to_string();
                core.media(MediaCommand::StopDialog { call: self.id.clone(), dialog });
            }
        }
        let paths = media::negotiate(core, &self.offer, &resp.body).or(paths).unwrap_or_default();
        let limits = CallLimits::new(&core.cfg.calls, now, Some(&paths));
        core.media(MediaCommand::Answered { call: self.id.clone(), dialog: tag.clone(), paths });
        core.emit(Event::Answered { call_id: self.id.0.clone(), by: answerer(resp, &dialog) });
        let identity = identities(resp, &dialog);
        let reliable = self.fork.dest.transport.is_reliable();
        let session = MediaSession::new(self.id.clone(), tag, reliable, &self.offer);
        let talking = Talking { dialog, identity, limits, session };
        self.phase = Phase::Talking(Box::new(talking));
        Next::Continue(self)
    }

    /// 401/407 to the INVITE: the same INVITE again, CSeq + 1, with credentials.
    fn authenticate(mut self: Box<Self>, core: &mut Core, now: Instant, resp: &Response) -> Next {
        let (name, header) = match resp.status {
            401 => ("WWW-Authenticate", "Authorization"),
            _ => ("Proxy-Authenticate", "Proxy-Authorization"),
        };
        let Some(challenge) = best_challenge(resp.headers.get_all(name)) else { return self.rejected(core, now) };
        let account = &core.cfg.account;
        let mut digest = DigestClient::new(account.auth_user.clone(), account.password.clone());
        let cnonce = core.ids.token();
        let credentials = digest.authorization(&challenge, &Method::Invite, &self.fork.invite.uri, &cnonce);
        let mut invite = self.fork.invite.clone();
        let cseq = invite.headers.cseq().map_or(1, |(n, _)| n + 1);
        invite.headers.set("CSeq", format!("{cseq} INVITE"));
        invite.headers.set("Via", wire::via(core).to_string());
        invite.headers.push(header, credentials);
        self.fork.key = core.tx.send_request(now, invite.clone(), self.fork.dest);
        self.fork.invite = invite;
        self.authenticated = true;
        Next::Continue(self)
    }

    fn rejected(self: Box<Self>, core: &mut Core, now: Instant) -> Next {
        Next::Ended(self.end(core, now, EndReason::Rejected))
    }
}

/// Who answered, for the `answered` event: P-Asserted-Identity, else the
/// 200's Contact, else the dialog's remote URI.
fn answerer(resp: &Response, dialog: &Dialog) -> String {
    asserted(resp).or_else(|| resp.headers.contact().map(|c| c.uri)).unwrap_or_else(|| dialog.remote_uri().to_string())
}

fn asserted(resp: &Response) -> Option<String> {
    ds_sip::NameAddr::parse(resp.headers.get("P-Asserted-Identity")?).map(|n| n.uri)
}

/// Who may have answered, for the unlock allow-list: the dialog's remote URI
/// (the INVITE's To: the button's target), the P-Asserted-Identity a trusted
/// proxy adds, and the answering device's Contact.
fn identities(resp: &Response, dialog: &Dialog) -> Vec<String> {
    let mut ids = vec![dialog.remote_uri().to_string()];
    ids.extend(asserted(resp));
    ids.extend(resp.headers.contact().map(|c| c.uri));
    ids
}
