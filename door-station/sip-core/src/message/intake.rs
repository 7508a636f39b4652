//! Intake: bytes to a [`Message`], an answer ready to send, or a reason to
//! drop.
//!
//! # The layer
//! Every SIP message the station or the proxy receives passes here before the
//! transaction layer sees it. Intake owns the message level of RFC 3261 §25:
//! - framing: one message per datagram ([`parse_datagram`]); Content-Length
//!   framing on streams ([`StreamFramer`]), which tells "need more bytes"
//!   (`None`) from "this stream cannot be framed" ([`FramingError`]) and skips
//!   CRLF keep-alives (RFC 5626 §3.5.1);
//! - the start line: single SP between elements, method token, Request-URI
//!   without LWS or `<>` and without headers, SIP/2.0 only (else 505), a
//!   three-digit status code 100–699, a reason phrase that may be UTF-8 or
//!   empty;
//! - header fields: token names, folded lines joined, compact forms expanded
//!   (see [`canonical_name`](super::canonical_name)), and the value grammar of
//!   the fields every layer relies on (To, From, Contact, Route,
//!   Record-Route, Via, CSeq, Call-ID, Max-Forwards, Expires, Content-Length,
//!   Content-Type, Date, option tags), with their ranges;
//! - message rules: required fields, single-value fields, CSeq method equal to
//!   the request method, a Content-Length that fits the datagram.
//!
//! A request that fails is answered ([`Intake::Reject`], 400 or 505, with a
//! `Warning: 399` naming the defect) when it has a Via to answer along and is
//! not an ACK; a response that fails is dropped (RFC 3261 §18.1.2). Policy
//! that depends on what the element is (416, 420, 415, 483, 501, 401, 406)
//! is [`check_semantics`], run by the caller with its [`Role`].
//!
//! Max-Forwards may be missing: RFC 3261 §8.1.1 requires it, but RFC 2543
//! peers omit it and RFC 4475 §3.4.1 asks that they be served, so a
//! forwarding element reads a missing one as 70. Content-Length is consumed
//! here: the body is exactly that many bytes, and
//! [`Message::to_bytes`](super::Message::to_bytes) writes it back.
//!
//! # Why rsip does not frame or parse messages
//! `rsip::SipMessage::try_from` rejects 6 of the 13 valid RFC 4475 messages
//! (wsinv, intmeth, esc01, longreq and semiuri fail in its tokenizer; esc02
//! because it refuses extension methods) and accepts 11 of the 19
//! invalid ones, and it cannot tell an incomplete stream from a broken one.
//! `tests/rfc4475.rs` records its result for every torture message. rsip stays
//! behind [`NameAddr::rsip_uri`](super::NameAddr::rsip_uri) for typed access
//! to URIs intake has already checked. Its URI parser is not a validator
//! either: it cannot read IPv6 references, accepts spaces, and drops the
//! host of `sip:user;par=u%40example.net@example.com`, so intake checks URIs
//! with its own grammar.

use super::fields::{self, Boundary};
use super::reply;
use super::start_line::{self, is_status_line};
use super::{Headers, Message, Method, Request, Response, checks};

pub use super::framing::{FramingError, StreamFramer};
pub use super::semantics::{BODY_TYPES, Role, URI_SCHEMES, check_semantics};

/// What intake made of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// A well-formed message.
    Message(Message),
    /// A malformed request and the answer to send (400 or 505).
    Reject(Response),
    /// Nothing to deliver or answer.
    Drop(DropReason),
}

/// Why intake dropped bytes without an answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Only CRLF keep-alives (or nothing).
    KeepAlive,
    /// No start line and header section could be found.
    Unreadable(IntakeError),
    /// A malformed response: responses are never answered.
    BadResponse(IntakeError),
    /// A malformed request that cannot be answered: an ACK, or no Via.
    Unanswerable(IntakeError),
    /// A response whose Via sent-by is the broadcast address (RFC 4475 §3.3.10).
    BroadcastVia {
        /// The sent-by host.
        host: String,
    },
}

/// A syntax or message-rule violation: what was expected and what came.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// No empty line ends the header section.
    #[error("header section not terminated by an empty line")]
    Incomplete,
    /// A datagram's header section ends without the empty line.
    #[error("no empty line after the header fields")]
    NoEmptyLine,
    /// Lines must end in CRLF.
    #[error("bare CR or LF in the message head")]
    LineEnding,
    /// A continuation line before any header field.
    #[error("folded line directly after the start line")]
    FoldedFirstLine,
    /// A header line without a colon.
    #[error("header line without ':': {line:?}")]
    HeaderLine {
        /// The line.
        line: String,
    },
    /// A header name that is not a token.
    #[error("header name is not a token: {name:?}")]
    HeaderName {
        /// The name.
        name: String,
    },
    /// A header value that is not UTF-8.
    #[error("{name} value is not UTF-8")]
    NotUtf8 {
        /// The header name.
        name: String,
    },
    /// The start line does not have the expected shape.
    #[error("start line: expected {expected}")]
    StartLine {
        /// What the grammar wanted.
        expected: &'static str,
    },
    /// The method is not a token.
    #[error("method is not a token: {method:?}")]
    Method {
        /// The method as written.
        method: String,
    },
    /// A well-formed SIP version other than 2.0 (answered with 505).
    #[error("SIP version {version} not supported")]
    VersionNotSupported {
        /// The version as written.
        version: String,
    },
    /// A malformed Request-URI.
    #[error("Request-URI {uri:?}: expected {expected}")]
    RequestUri {
        /// The URI as written.
        uri: String,
        /// What the grammar wanted.
        expected: &'static str,
    },
    /// A status code that is not three digits in 100–699.
    #[error("status code {code:?} is not 100-699")]
    StatusCode {
        /// The code as written.
        code: String,
    },
    /// A header value that does not follow its grammar or range.
    #[error("{name}: expected {expected}")]
    Header {
        /// The canonical header name.
        name: String,
        /// What the grammar wanted.
        expected: &'static str,
    },
    /// A required header field is missing.
    #[error("missing {name}")]
    Missing {
        /// The header name.
        name: &'static str,
    },
    /// A single-value header field appears more than once.
    #[error("{name} appears more than once")]
    Repeated {
        /// The header name.
        name: &'static str,
    },
    /// The CSeq method differs from the request method.
    #[error("CSeq method {cseq} does not match request method {request}")]
    CseqMethod {
        /// The request-line method.
        request: String,
        /// The CSeq method.
        cseq: String,
    },
    /// Content-Length is larger than the bytes that follow the head.
    #[error("Content-Length {content_length} but {available} bytes follow")]
    BodyTruncated {
        /// The declared length.
        content_length: usize,
        /// The bytes present.
        available: usize,
    },
}

impl IntakeError {
    /// The status code a request with this defect is answered with.
    pub fn status(&self) -> u16 {
        match self {
            IntakeError::VersionNotSupported { .. } => 505,
            _ => 400,
        }
    }
}

/// One UDP datagram: one message; bytes after Content-Length are ignored, and
/// without Content-Length the body runs to the end (RFC 3261 §18.3).
pub fn parse_datagram(buf: &[u8]) -> Intake {
    let skip = fields::leading_crlf(buf);
    if skip == buf.len() {
        return Intake::Drop(DropReason::KeepAlive);
    }
    parse_message(&buf[skip..], Boundary::EndOfDatagram)
}

/// One message starting at its start line (the stream framer has cut it out).
pub(crate) fn parse_message(buf: &[u8], boundary: Boundary) -> Intake {
    let head = match fields::split_head(buf, boundary) {
        Ok(head) => head,
        Err(e) => return Intake::Drop(DropReason::Unreadable(e)),
    };
    let mut headers = Headers::default();
    for (name, value) in &head.fields {
        headers.push(name, value.as_str());
    }
    let rest = &buf[head.body_offset..];
    if is_status_line(head.start) {
        match build_response(&head, headers, rest) {
            Ok(resp) => screen_response(resp),
            Err(e) => Intake::Drop(DropReason::BadResponse(e)),
        }
    } else {
        match build_request(&head, &headers, rest) {
            Ok(req) => Intake::Message(Message::Request(req)),
            Err(e) => refuse(head.start, headers, e),
        }
    }
}

fn build_request(head: &fields::Head<'_>, headers: &Headers, rest: &[u8]) -> Result<Request, IntakeError> {
    let line = start_line::request_line(head.start)?;
    check_fields(head, headers)?;
    check_cseq_method(headers, &line.method)?;
    let body = body(headers, rest)?.to_vec();
    let mut headers = headers.clone();
    headers.remove("Content-Length");
    Ok(Request { method: line.method, uri: line.uri, headers, body })
}

fn build_response(head: &fields::Head<'_>, mut headers: Headers, rest: &[u8]) -> Result<Response, IntakeError> {
    let line = start_line::status_line(head.start)?;
    check_fields(head, &headers)?;
    let body = body(&headers, rest)?.to_vec();
    headers.remove("Content-Length");
    Ok(Response { status: line.status, reason: line.reason, headers, body })
}

fn check_fields(head: &fields::Head<'_>, headers: &Headers) -> Result<(), IntakeError> {
    checks::check_headers(headers)?;
    head.defect.clone().map_or(Ok(()), Err)
}

fn check_cseq_method(headers: &Headers, method: &Method) -> Result<(), IntakeError> {
    let value = headers.get("CSeq").unwrap_or_default();
    let (_, cseq) = checks::cseq(value).unwrap_or((0, ""));
    if cseq == method.as_str() {
        Ok(())
    } else {
        Err(IntakeError::CseqMethod { request: method.to_string(), cseq: cseq.to_string() })
    }
}

/// The body: Content-Length bytes (already checked to be one number), or the
/// rest of the buffer without one.
fn body<'a>(headers: &Headers, rest: &'a [u8]) -> Result<&'a [u8], IntakeError> {
    let Some(value) = headers.get("Content-Length") else {
        return Ok(rest);
    };
    let declared = value.parse::<usize>().unwrap_or(usize::MAX);
    rest.get(..declared).ok_or(IntakeError::BodyTruncated { content_length: declared, available: rest.len() })
}

/// Answer a malformed request, unless it is an ACK or has no Via.
fn refuse(start: &[u8], headers: Headers, e: IntakeError) -> Intake {
    let method = start_line::method_of(start);
    if method == Method::Ack || headers.get("Via").is_none() {
        return Intake::Drop(DropReason::Unanswerable(e));
    }
    let stub = Request { method, uri: String::new(), headers, body: Vec::new() };
    Intake::Reject(reply::answer(&stub, e.status(), Some(&e.to_string())))
}

/// Drop a response that would be forwarded to a broadcast address.
fn screen_response(resp: Response) -> Intake {
    match resp.headers.vias().into_iter().find(|v| v.host == "255.255.255.255") {
        Some(via) => Intake::Drop(DropReason::BroadcastVia { host: via.host }),
        None => Intake::Message(Message::Response(resp)),
    }
}
