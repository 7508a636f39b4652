//! The SIP message model (RFC 3261 §7) and intake.
//!
//! [`Message`] is an owned request or response: a start line, the header
//! fields in wire order with their canonical (long-form) names, and the body.
//! [`intake`] turns bytes into a `Message` or says why not (see
//! [`intake::Intake`]); [`Message::to_bytes`] writes one back.

mod checks;
mod fields;
mod framing;
mod grammar;
mod headers;
pub mod intake;
mod reply;
mod semantics;
mod start_line;
mod typed;

pub use headers::{Headers, canonical_name};
pub use typed::{NameAddr, Via};

use std::fmt;

/// A SIP method. Methods this stack does not know are kept as
/// [`Method::Extension`] with their exact token (RFC 3261 §7.1: methods are
/// case-sensitive, so `RE%47IST%45R` is not `REGISTER`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Message,
    Prack,
    Update,
    Subscribe,
    Notify,
    Refer,
    Publish,
    /// Any other token.
    Extension(String),
}

impl Method {
    /// The method for a token, exactly as written (case-sensitive).
    pub fn from_token(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "PUBLISH" => Method::Publish,
            other => Method::Extension(other.to_string()),
        }
    }

    /// The token as it goes on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Publish => "PUBLISH",
            Method::Extension(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method of the request line.
    pub method: Method,
    /// The Request-URI, as written (validated by intake).
    pub uri: String,
    /// Header fields in wire order.
    pub headers: Headers,
    /// The body (Content-Length bytes).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, 100–699.
    pub status: u16,
    /// Reason phrase (may be empty, may be UTF-8).
    pub reason: String,
    /// Header fields in wire order.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request { method, uri: uri.into(), headers: Headers::default(), body: Vec::new() }
    }

    /// Builder: append a header field.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push(name, value);
        self
    }

    /// Builder: set the body and its Content-Type.
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Request {
        self.headers.set("Content-Type", content_type);
        self.body = body.into();
        self
    }

    /// The wire form. Content-Length is written from the body, replacing any.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} SIP/2.0", self.method, self.uri);
        write_message(&start, &self.headers, &self.body)
    }
}

impl Response {
    /// A response to `req` that copies Via, From, To, Call-ID and CSeq
    /// (RFC 3261 §8.2.6.2). The caller adds a To tag where one is needed.
    pub fn for_request(req: &Request, status: u16, reason: impl Into<String>) -> Response {
        let mut headers = Headers::default();
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for value in req.headers.get_all(name) {
                headers.push(name, value);
            }
        }
        Response { status, reason: reason.into(), headers, body: Vec::new() }
    }

    /// Builder: append a header field.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push(name, value);
        self
    }

    /// Builder: set the body and its Content-Type.
    pub fn with_body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        self.headers.set("Content-Type", content_type);
        self.body = body.into();
        self
    }

    /// The wire form. Content-Length is written from the body, replacing any.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("SIP/2.0 {} {}", self.status, self.reason);
        write_message(&start, &self.headers, &self.body)
    }
}

fn write_message(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter() {
        if name.eq_ignore_ascii_case("Content-Length") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

impl Message {
    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The header fields, mutable.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// Typed access to the headers every layer needs. All return `None` when the
/// header is missing or does not parse; intake has already rejected messages
/// where a required one is malformed.
impl Headers {
    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.get("Call-ID").map(str::trim)
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, Method)> {
        let v = self.get("CSeq")?;
        let mut it = v.split_whitespace();
        let n = it.next()?.parse().ok()?;
        let m = Method::from_token(it.next()?);
        it.next().is_none().then_some((n, m))
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<Via> {
        self.vias().into_iter().next()
    }

    /// Every Via value, top first (comma-separated values are split).
    pub fn vias(&self) -> Vec<Via> {
        self.get_all("Via").flat_map(typed::split_commas).filter_map(|v| Via::parse(&v)).collect()
    }

    /// From.
    pub fn from(&self) -> Option<NameAddr> {
        NameAddr::parse(self.get("From")?)
    }

    /// To.
    pub fn to(&self) -> Option<NameAddr> {
        NameAddr::parse(self.get("To")?)
    }

    /// The first Contact (`*` is returned as a NameAddr whose uri is `*`).
    pub fn contact(&self) -> Option<NameAddr> {
        self.contacts().into_iter().next()
    }

    /// Every Contact value.
    pub fn contacts(&self) -> Vec<NameAddr> {
        self.name_addr_list("Contact")
    }

    /// Record-Route values, in order.
    pub fn record_route(&self) -> Vec<NameAddr> {
        self.name_addr_list("Record-Route")
    }

    /// Route values, in order.
    pub fn route(&self) -> Vec<NameAddr> {
        self.name_addr_list("Route")
    }

    /// Max-Forwards.
    pub fn max_forwards(&self) -> Option<u32> {
        self.get("Max-Forwards")?.trim().parse().ok()
    }

    /// Expires, in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.get("Expires")?.trim().parse().ok()
    }

    /// Content-Type without parameters, lower-cased (`application/sdp`).
    pub fn content_type(&self) -> Option<String> {
        let v = self.get("Content-Type")?;
        Some(v.split(';').next()?.trim().to_ascii_lowercase())
    }

    fn name_addr_list(&self, name: &str) -> Vec<NameAddr> {
        self.get_all(name).flat_map(typed::split_commas).filter_map(|v| NameAddr::parse(&v)).collect()
    }
}
