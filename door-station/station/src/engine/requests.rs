//! Requests from the network: which dialog or call they belong to, and the
//! answer RFC 3261 asks for when they belong to none.
//!
//! - ACK: to the incoming call it confirms; otherwise dropped (never answered).
//! - CANCEL: 200 when the INVITE's transaction exists (it has been answered
//!   already: the station answers at once), else 481 (§9.2).
//! - With a To tag: to the dialog it names, else 481 (§12.2.2); CSeq out of
//!   order: 500. A re-INVITE or UPDATE goes to the dialog's media session
//!   (200, 488 or 491); in the bell call's early dialogs it gets 491.
//! - INVITE without a To tag: a new incoming call; OPTIONS: 200 with Allow;
//!   MESSAGE: 200 (the unlock word counts when it comes from the caller of
//!   the current call).
//! - Out-of-dialog BYE, INFO, UPDATE, PRACK, NOTIFY: 481; REGISTER,
//!   SUBSCRIBE, PUBLISH, REFER: 405; unknown methods: 501 (from the intake's
//!   UAS checks, which run first).

use std::time::Instant;

use ds_sip::dialog::DialogError;
use ds_sip::message::intake::{Role, check_semantics};
use ds_sip::transaction::{Peer, TransactionKey};
use ds_sip::{Message, Method, Request};

use super::config::user_host;
use super::incoming::{self, IncomingCall};
use super::{Call, CallId, DtmfVia, Engine};
use super::{dtmf, wire};

/// One request the transaction layer passed up.
pub(crate) struct Received {
    pub key: TransactionKey,
    pub req: Request,
    pub from: Peer,
}

/// Handles one request. The checks of RFC 3261 §8.2 come first (unknown
/// method 501, Require 420, unknown body 415, ...), answered through the
/// request's server transaction.
pub(crate) fn dispatch(e: &mut Engine, now: Instant, r: Received) {
    let msg = Message::Request(r.req);
    if let Some(answer) = check_semantics(&msg, Role::Endpoint, &[]) {
        return e.core.tx.send_response(now, &r.key, answer);
    }
    let Message::Request(req) = msg else { return };
    let r = Received { req, ..r };
    match &r.req.method {
        Method::Ack => ack(e, now, &r.req),
        Method::Cancel => cancel(e, now, &r),
        _ if wire::in_dialog(&r.req) => in_dialog(e, now, r),
        Method::Invite => invite(e, now, r),
        Method::Options => respond(e, now, &r, 200, "OK"),
        Method::Message => message(e, now, r),
        Method::Register | Method::Subscribe | Method::Publish | Method::Refer => {
            respond(e, now, &r, 405, "Method Not Allowed")
        }
        Method::Extension(_) => respond(e, now, &r, 501, "Not Implemented"),
        _ => respond(e, now, &r, 481, "Call/Transaction Does Not Exist"),
    }
}

/// Sends a bodiless response; 200 to OPTIONS and every 405/501 carry Allow.
fn respond(e: &mut Engine, now: Instant, r: &Received, status: u16, reason: &str) {
    let tag = e.core.ids.token();
    let mut resp = wire::reply(&e.core.cfg, &r.req, status, reason, &tag);
    if matches!(status, 200 | 405 | 501) {
        resp.headers.push("Allow", wire::allow());
    }
    if r.req.method == Method::Options {
        resp.headers.push("Accept", "application/sdp");
    }
    e.core.tx.send_response(now, &r.key, resp);
}

fn ack(e: &mut Engine, now: Instant, req: &Request) {
    match &mut e.call {
        Some(Call::Incoming(call)) => call.on_ack(&mut e.core, now, req),
        Some(Call::Bell(call)) => call.on_ack(&mut e.core, now, req),
        None => {}
    }
}

fn cancel(e: &mut Engine, now: Instant, r: &Received) {
    let invite = r.key.for_method(&Method::Invite);
    if e.core.tx.contains(&invite) {
        respond(e, now, r, 200, "OK");
    } else {
        respond(e, now, r, 481, "Call/Transaction Does Not Exist");
    }
}

fn invite(e: &mut Engine, now: Instant, r: Received) {
    if e.call.is_some() {
        respond(e, now, &r, 486, "Busy Here");
        incoming::refused(&mut e.core, &r.req);
        return;
    }
    match IncomingCall::accept(&mut e.core, now, &r.key, &r.req, r.from) {
        Ok((call, ok)) => {
            e.core.tx.send_response(now, &r.key, ok);
            e.call = Some(Call::Incoming(call));
        }
        Err(refusal) => {
            respond(e, now, &r, refusal.status, refusal.reason);
            incoming::refused(&mut e.core, &r.req);
        }
    }
}

/// The current call, when `req` belongs to one of its dialogs; the dialog
/// checks the CSeq order. `Err` carries the status to answer.
fn dialog_of(e: &mut Engine, req: &Request) -> Result<CallId, (u16, &'static str)> {
    let (id, dialog) = match &mut e.call {
        Some(Call::Bell(b)) => (b.call_id().clone(), b.dialog_for(req)),
        Some(Call::Incoming(i)) => (i.call_id().clone(), i.dialog_for(req)),
        None => return Err((481, "Call/Transaction Does Not Exist")),
    };
    match dialog.map(|d| d.on_request(req)) {
        Some(Ok(())) => Ok(id),
        Some(Err(DialogError::CSeqOutOfOrder { .. })) => Err((500, "Server Internal Error")),
        Some(Err(_)) => Err((400, "Bad Request")),
        None => Err((481, "Call/Transaction Does Not Exist")),
    }
}

fn in_dialog(e: &mut Engine, now: Instant, r: Received) {
    let call = match dialog_of(e, &r.req) {
        Ok(call) => call,
        Err((status, reason)) => return respond(e, now, &r, status, reason),
    };
    match &r.req.method {
        Method::Bye => {
            respond(e, now, &r, 200, "OK");
            remote_bye(e, now, &r.req);
        }
        Method::Info => {
            respond(e, now, &r, 200, "OK");
            let ct = r.req.headers.content_type().unwrap_or_default();
            if let Some(digit) = dtmf::info_digit(&ct, &r.req.body) {
                e.dtmf(now, &call, digit, DtmfVia::Info);
            }
        }
        Method::Message => {
            respond(e, now, &r, 200, "OK");
            e.message(now, &call, &String::from_utf8_lossy(&r.req.body));
        }
        Method::Invite | Method::Update => reoffer(e, now, &r),
        Method::Options => respond(e, now, &r, 200, "OK"),
        Method::Extension(_) => respond(e, now, &r, 501, "Not Implemented"),
        _ => respond(e, now, &r, 405, "Method Not Allowed"),
    }
}

fn remote_bye(e: &mut Engine, now: Instant, req: &Request) {
    match e.call.take() {
        Some(Call::Bell(b)) => {
            let next = b.remote_bye(&mut e.core, now, req);
            e.settle_bell(next);
        }
        Some(Call::Incoming(i)) => i.remote_bye(&mut e.core),
        None => {}
    }
}

/// A re-INVITE or UPDATE in the current call (see [`super::session`]). In
/// the bell call's early dialogs our INVITE is still pending: 491 (RFC 3261
/// §14.2).
fn reoffer(e: &mut Engine, now: Instant, r: &Received) {
    let session = match &mut e.call {
        Some(Call::Bell(b)) => b.session(),
        Some(Call::Incoming(i)) => Some(i.session()),
        None => None,
    };
    let answered = match session {
        Some((session, limits)) => session.renegotiate(&mut e.core, now, (&r.key, &r.req), limits),
        None => Err((491, "Request Pending")),
    };
    if let Err((status, reason)) = answered {
        respond(e, now, r, status, reason);
    }
}

/// A MESSAGE outside any dialog: the unlock word counts when its sender is
/// the remote side of the current call.
fn message(e: &mut Engine, now: Instant, r: Received) {
    respond(e, now, &r, 200, "OK");
    let sender = r.req.headers.from().and_then(|f| user_host(&f.uri));
    let call = match &e.call {
        Some(Call::Bell(b)) => Some(b.call_id().clone()),
        Some(Call::Incoming(i)) => Some(i.call_id().clone()),
        None => None,
    };
    let Some(call) = call else { return };
    let same = e.remote_identity(&call).unwrap_or_default().iter().any(|id| user_host(id) == sender);
    if sender.is_some() && same {
        e.message(now, &call, &String::from_utf8_lossy(&r.req.body));
    }
}
