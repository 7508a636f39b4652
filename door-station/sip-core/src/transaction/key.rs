//! Transaction keys and matching (RFC 3261 §17.1.3, §17.2.3).

use super::build::MAGIC_COOKIE;
use crate::message::{Headers, Message, Method, Request, Response, Via};
use std::fmt;

/// Identifies one transaction. Client and server keys never collide, so one
/// layer can hold both sides of a request that loops through it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionKey(Repr);

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    /// §17.1.3: branch of the top Via and the CSeq method.
    Client { branch: String, method: String },
    /// §17.2.3: branch, sent-by of the top Via, and the method (ACK as INVITE).
    Server { branch: String, sent_by: String, method: String },
    /// RFC 2543 peers (no magic cookie): the fields of §17.2.3's fallback.
    Legacy { fingerprint: String, method: String },
}

/// The method a request matches transactions by: an ACK belongs to the INVITE.
fn match_method(method: &Method) -> String {
    match method {
        Method::Ack => Method::Invite.as_str().to_string(),
        m => m.as_str().to_string(),
    }
}

fn sent_by(via: &Via) -> String {
    let port = via.port.unwrap_or(if via.transport == "TLS" { 5061 } else { 5060 });
    format!("{}/{}:{}", via.transport, via.host.to_ascii_lowercase(), port)
}

impl TransactionKey {
    /// The client key for a request we send: its top Via branch and method.
    /// `None` when the request has no top Via with a branch.
    pub fn client_for_request(req: &Request) -> Option<TransactionKey> {
        let branch = req.headers.top_via()?.branch()?.to_string();
        Some(TransactionKey(Repr::Client { branch, method: match_method(&req.method) }))
    }

    /// The key reported for a request that could not start a transaction.
    pub(crate) fn without_branch(method: &Method) -> TransactionKey {
        TransactionKey(Repr::Client { branch: String::new(), method: match_method(method) })
    }

    /// The client key a response matches (§17.1.3): top Via branch and the CSeq method.
    pub fn client_for_response(resp: &Response) -> Option<TransactionKey> {
        let branch = resp.headers.top_via()?.branch()?.to_string();
        let (_, method) = resp.headers.cseq()?;
        Some(TransactionKey(Repr::Client { branch, method: match_method(&method) }))
    }

    /// The server key a request matches (§17.2.3). Branches with the
    /// `z9hG4bK` cookie match on branch, sent-by and method; others fall back
    /// to the RFC 2543 fields (Request-URI, From tag, Call-ID, CSeq number,
    /// top Via). `None` when the request has no top Via.
    pub fn server_for_request(req: &Request) -> Option<TransactionKey> {
        let via = req.headers.top_via()?;
        let method = match_method(&req.method);
        match via.branch() {
            // A bare cookie carries no id (RFC 4475 "badbranch"): fall back to RFC 2543.
            Some(b) if b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len() => {
                let (branch, sent_by) = (b.to_string(), sent_by(&via));
                Some(TransactionKey(Repr::Server { branch, sent_by, method }))
            }
            _ => Some(TransactionKey(Repr::Legacy { fingerprint: legacy_fingerprint(req, &via)?, method })),
        }
    }

    /// The same transaction identity with another method: the INVITE a
    /// CANCEL (or an ACK) refers to is `cancel_key.for_method(&Method::Invite)`.
    pub fn for_method(&self, method: &Method) -> TransactionKey {
        let m = match_method(method);
        TransactionKey(match &self.0 {
            Repr::Client { branch, .. } => Repr::Client { branch: branch.clone(), method: m },
            Repr::Server { branch, sent_by, .. } => {
                Repr::Server { branch: branch.clone(), sent_by: sent_by.clone(), method: m }
            }
            Repr::Legacy { fingerprint, .. } => Repr::Legacy { fingerprint: fingerprint.clone(), method: m },
        })
    }

    /// True for a client transaction's key.
    pub fn is_client(&self) -> bool {
        matches!(self.0, Repr::Client { .. })
    }

    /// The branch parameter, when the key has one (not for RFC 2543 keys).
    pub fn branch(&self) -> Option<&str> {
        match &self.0 {
            Repr::Client { branch, .. } | Repr::Server { branch, .. } => Some(branch),
            Repr::Legacy { .. } => None,
        }
    }

    /// The method the key matches (ACK shows as INVITE).
    pub fn method(&self) -> Method {
        match &self.0 {
            Repr::Client { method, .. } | Repr::Server { method, .. } | Repr::Legacy { method, .. } => {
                Method::from_token(method)
            }
        }
    }

    /// The key of a message arriving from the network: a response matches a
    /// client transaction, a request a server one.
    pub fn for_incoming(msg: &Message) -> Option<TransactionKey> {
        match msg {
            Message::Request(r) => TransactionKey::server_for_request(r),
            Message::Response(r) => TransactionKey::client_for_response(r),
        }
    }
}

/// RFC 3261 §17.2.3, RFC 2543 matching: Request-URI, From tag, Call-ID, CSeq
/// number and the whole top Via. The To tag is left out: an INVITE has none
/// and its ACK carries ours, and the other fields already tell transactions
/// of one peer apart.
fn legacy_fingerprint(req: &Request, via: &Via) -> Option<String> {
    let h: &Headers = &req.headers;
    let from_tag = h.from().and_then(|f| f.tag().map(str::to_string)).unwrap_or_default();
    let (cseq, _) = h.cseq()?;
    let call_id = h.call_id()?;
    Some(format!("{}|{}|{}|{}|{}", req.uri, from_tag, call_id, cseq, via))
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Client { branch, method } => write!(f, "client {method} {branch}"),
            Repr::Server { branch, sent_by, method } => write!(f, "server {method} {branch} {sent_by}"),
            Repr::Legacy { fingerprint, method } => write!(f, "server {method} rfc2543 {fingerprint}"),
        }
    }
}
