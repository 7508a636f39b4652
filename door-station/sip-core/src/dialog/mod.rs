//! Dialogs (RFC 3261 §12): early and confirmed, route sets, CSeq, targets.
//!
//! A dialog is plain data the transaction user keeps next to its call. It is
//! not driven by time: the TU feeds it what the transaction layer reported
//! and asks it to build the next request.
//!
//! ```text
//! UAC:  TxEvent::Response(1xx with To tag) -> Dialog::uac (Early)        one per To tag:
//!       TxEvent::Response(2xx)             -> Dialog::uac or update (Confirmed)  a forked
//!       dialog.ack(cseq, via)  -> send_stateless;  dialog.request(BYE, via) -> send_request
//! UAS:  TxEvent::Request(INVITE)           -> Dialog::uas (Early); update(&our_2xx) -> Confirmed
//!       TxEvent::Request(in-dialog)        -> dialog.on_request (CSeq order, target refresh)
//! ```
//! A forked INVITE can create several early dialogs (one per To tag) and,
//! when several callees answer, several confirmed ones: the UAC keeps one and
//! ends the others with ACK + BYE (RFC 3261 §13.2.2.4).

mod request;

#[cfg(test)]
mod tests;

use crate::message::{Message, Method, NameAddr, Request, Response};

/// The dialog identifier (§12): Call-ID and both tags, from our point of view.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// Call-ID.
    pub call_id: String,
    /// Our tag (From tag as UAC, To tag as UAS).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

/// Early (after a 1xx with a To tag) or confirmed (after a 2xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DialogState {
    /// Created by a provisional response; may still fail or be replaced.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// Errors building or updating a dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// Only 101–299 responses create dialogs (§12.1.2).
    #[error("status {status} does not create a dialog (need 101-299)")]
    NotDialogCreating {
        /// The status that came.
        status: u16,
    },
    /// A header the dialog needs is missing or does not parse.
    #[error("missing or malformed {name}")]
    MissingHeader {
        /// Its name.
        name: &'static str,
    },
    /// The response has no To tag, so it cannot name a dialog.
    #[error("response has no To tag")]
    NoToTag,
    /// An in-dialog request arrived with a CSeq lower than the last one (§12.2.2: answer 500).
    #[error("CSeq {got} is lower than the last one seen, {last}")]
    CSeqOutOfOrder {
        /// The last remote CSeq.
        last: u32,
        /// The CSeq that arrived.
        got: u32,
    },
    /// The message belongs to another dialog.
    #[error("message does not belong to this dialog")]
    NotThisDialog,
}

/// Whether we sent the INVITE (UAC) or received it (UAS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Uac,
    Uas,
}

/// One dialog (§12). See the [module docs](self) for how it is fed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// Our address-of-record with our tag (From as UAC).
    local: NameAddr,
    /// The peer's address-of-record with its tag.
    remote: NameAddr,
    /// Where in-dialog requests go: the peer's Contact URI.
    remote_target: String,
    /// Route set, in the order requests use it.
    route_set: Vec<NameAddr>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    /// Our Contact header value, sent in target-refresh requests.
    local_contact: Option<String>,
}

fn header<T>(v: Option<T>, name: &'static str) -> Result<T, DialogError> {
    v.ok_or(DialogError::MissingHeader { name })
}

impl Dialog {
    /// The UAC side of the dialog a response to our INVITE creates: a 1xx
    /// with a To tag (early) or a 2xx (confirmed). `None` for anything else.
    pub fn uac(invite: &Request, resp: &Response) -> Option<Dialog> {
        Dialog::try_uac(invite, resp).ok()
    }

    /// [`uac`](Self::uac), with the reason when there is no dialog.
    pub fn try_uac(invite: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        if !(101..300).contains(&resp.status) {
            return Err(DialogError::NotDialogCreating { status: resp.status });
        }
        let local = header(invite.headers.from(), "From")?;
        let remote = header(resp.headers.to(), "To")?;
        let remote_tag = remote.tag().ok_or(DialogError::NoToTag)?.to_string();
        let id = DialogId {
            call_id: header(invite.headers.call_id(), "Call-ID")?.to_string(),
            local_tag: local.tag().unwrap_or_default().to_string(),
            remote_tag,
        };
        let (local_cseq, _) = header(invite.headers.cseq(), "CSeq")?;
        let remote_target = resp.headers.contact().map(|c| c.uri).unwrap_or_else(|| invite.uri.clone());
        Ok(Dialog {
            id,
            role: Role::Uac,
            state: if resp.status < 200 { DialogState::Early } else { DialogState::Confirmed },
            local,
            remote,
            remote_target,
            route_set: resp.headers.record_route().into_iter().rev().collect(),
            local_cseq,
            remote_cseq: None,
            local_contact: invite.headers.get("Contact").map(str::to_string),
        })
    }

    /// The UAS side for an INVITE we received: `local_tag` goes into the To
    /// of every response, `local_contact` (a Contact header value) into the
    /// dialog-creating ones. The dialog starts early; [`update`](Self::update)
    /// with our 2xx confirms it. `None` when the INVITE lacks From, To,
    /// Call-ID, CSeq or Contact.
    pub fn uas(invite: &Request, local_tag: &str, local_contact: &str) -> Option<Dialog> {
        Dialog::try_uas(invite, local_tag, local_contact).ok()
    }

    /// [`uas`](Self::uas), with the reason when there is no dialog.
    pub fn try_uas(invite: &Request, local_tag: &str, local_contact: &str) -> Result<Dialog, DialogError> {
        let remote = header(invite.headers.from(), "From")?;
        let mut local = header(invite.headers.to(), "To")?;
        local.set_param("tag", Some(local_tag.to_string()));
        let (remote_cseq, _) = header(invite.headers.cseq(), "CSeq")?;
        let remote_target = header(invite.headers.contact(), "Contact")?.uri;
        let id = DialogId {
            call_id: header(invite.headers.call_id(), "Call-ID")?.to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: remote.tag().unwrap_or_default().to_string(),
        };
        Ok(Dialog {
            id,
            role: Role::Uas,
            state: DialogState::Early,
            local,
            remote,
            remote_target,
            route_set: invite.headers.record_route(),
            local_cseq: 0,
            remote_cseq: Some(remote_cseq),
            local_contact: Some(local_contact.to_string()),
        })
    }

    /// A response in this dialog: a later 1xx or the 2xx of the INVITE (as
    /// UAC: early → confirmed, route set recomputed from the 2xx, §13.2.2.4),
    /// a 2xx to a re-INVITE (target refresh from its Contact, §12.2.1.2), or,
    /// as UAS, the 2xx we send (early → confirmed). Responses of other
    /// dialogs are ignored.
    pub fn update(&mut self, resp: &Response) {
        let is_2xx = (200..300).contains(&resp.status);
        if self.role == Role::Uas {
            if is_2xx {
                self.state = DialogState::Confirmed;
            }
            return;
        }
        if !self.matches(&Message::Response(resp.clone())) {
            return;
        }
        let invite = matches!(resp.headers.cseq(), Some((_, Method::Invite)));
        if is_2xx && invite && self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
            self.route_set = resp.headers.record_route().into_iter().rev().collect();
        }
        if invite || matches!(resp.headers.cseq(), Some((_, Method::Update))) {
            self.refresh_target(resp.headers.contact());
        }
    }

    /// A request the peer sent in this dialog (§12.2.2): checks the CSeq
    /// order and takes a new remote target from a re-INVITE or UPDATE. On
    /// `CSeqOutOfOrder` the TU answers 500.
    pub fn on_request(&mut self, req: &Request) -> Result<(), DialogError> {
        if !self.matches(&Message::Request(req.clone())) {
            return Err(DialogError::NotThisDialog);
        }
        let (got, method) = header(req.headers.cseq(), "CSeq")?;
        if matches!(method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(last) = self.remote_cseq
            && got < last
        {
            return Err(DialogError::CSeqOutOfOrder { last, got });
        }
        self.remote_cseq = Some(got);
        if matches!(method, Method::Invite | Method::Update) {
            self.refresh_target(req.headers.contact());
        }
        Ok(())
    }

    /// Target refresh (§12.2): a new Contact replaces the remote target.
    fn refresh_target(&mut self, contact: Option<NameAddr>) {
        if let Some(c) = contact {
            self.remote_target = c.uri;
        }
    }

    /// True when the message carries this dialog's Call-ID and tags: a
    /// request from the peer has its tag in From, a response to us in To.
    pub fn matches(&self, msg: &Message) -> bool {
        let we_are_uac = matches!(msg, Message::Response(_));
        dialog_id_of(msg, we_are_uac).is_some_and(|id| id == self.id)
    }

    /// The dialog identifier.
    pub fn id(&self) -> DialogId {
        self.id.clone()
    }

    /// Early or confirmed.
    pub fn state(&self) -> DialogState {
        self.state
    }

    /// The peer's tag.
    pub fn remote_tag(&self) -> &str {
        &self.id.remote_tag
    }

    /// Our tag.
    pub fn local_tag(&self) -> &str {
        &self.id.local_tag
    }

    /// The Call-ID.
    pub fn call_id(&self) -> &str {
        &self.id.call_id
    }

    /// Our URI (without the tag).
    pub fn local_uri(&self) -> &str {
        &self.local.uri
    }

    /// The peer's URI.
    pub fn remote_uri(&self) -> &str {
        &self.remote.uri
    }

    /// Where in-dialog requests are addressed (the peer's Contact).
    pub fn remote_target(&self) -> &str {
        &self.remote_target
    }

    /// The route set, first hop first.
    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    /// The CSeq number of the last request we sent in the dialog.
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }

    /// The CSeq number of the last request the peer sent, if any.
    pub fn remote_cseq(&self) -> Option<u32> {
        self.remote_cseq
    }
}

/// The dialog identifier a message names. `we_are_uac` says whether we sent
/// (or are sending) the request the message belongs to: then our tag is the
/// From tag; otherwise (a request we received, or a response we send) it is
/// the To tag. `None` without a Call-ID, a From, a To, or with an empty To tag.
pub fn dialog_id_of(msg: &Message, we_are_uac: bool) -> Option<DialogId> {
    let h = msg.headers();
    let from_tag = h.from()?.tag().unwrap_or_default().to_string();
    let to_tag = h.to()?.tag()?.to_string();
    let call_id = h.call_id()?.to_string();
    let (local_tag, remote_tag) = if we_are_uac { (from_tag, to_tag) } else { (to_tag, from_tag) };
    Some(DialogId { call_id, local_tag, remote_tag })
}
