//! Building the station's own requests and responses: Via, From, Contact,
//! and the headers every message of ours carries.

use ds_sip::message::intake::Role;
use ds_sip::transaction::{Transport, branch_from};
use ds_sip::{Method, Request, Response, Via};

use super::Core;
use super::config::EngineConfig;

/// Methods the station accepts, for the Allow header.
pub fn allow() -> String {
    Role::Endpoint.allowed_methods().join(", ")
}

/// A Via for a new transaction from the station, with a fresh branch.
pub fn via(core: &mut Core) -> Via {
    let branch = branch_from(core.ids.next());
    let cfg = &core.cfg;
    Via {
        transport: cfg.transport.via_token().to_string(),
        host: cfg.local_addr.ip().to_string(),
        port: Some(cfg.local_addr.port()),
        params: vec![("branch".into(), Some(branch)), ("rport".into(), None)],
    }
}

/// Our From (or, in responses, To) value with a tag.
pub fn local_party(cfg: &EngineConfig, tag: &str) -> String {
    let aor = cfg.account.aor();
    match cfg.account.display_name.as_str() {
        "" => format!("<{aor}>;tag={tag}"),
        name => format!("\"{}\" <{aor}>;tag={tag}", name.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// The Contact URI: where the station can be reached.
pub fn contact_uri(cfg: &EngineConfig) -> String {
    let host = match cfg.local_addr {
        std::net::SocketAddr::V4(a) => a.to_string(),
        std::net::SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    let param = match cfg.transport {
        Transport::Udp => "",
        Transport::Tcp => ";transport=tcp",
        Transport::Tls => ";transport=tls",
    };
    format!("sip:{}@{host}{param}", cfg.account.user)
}

/// Fields of a request outside any dialog.
pub struct Fresh<'a> {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: &'a str,
    /// To value (no tag).
    pub to: &'a str,
    /// Call-ID.
    pub call_id: &'a str,
    /// CSeq number.
    pub cseq: u32,
    /// Our From tag.
    pub from_tag: &'a str,
}

/// A request outside any dialog, with a fresh Via, Max-Forwards 70 and Contact.
pub fn fresh_request(core: &mut Core, f: Fresh<'_>) -> Request {
    let via = via(core);
    let cfg = &core.cfg;
    Request::new(f.method.clone(), f.uri)
        .with_header("Via", via.to_string())
        .with_header("Max-Forwards", "70")
        .with_header("From", local_party(cfg, f.from_tag))
        .with_header("To", f.to)
        .with_header("Call-ID", f.call_id)
        .with_header("CSeq", format!("{} {}", f.cseq, f.method))
        .with_header("Contact", format!("<{}>", contact_uri(cfg)))
        .with_header("User-Agent", cfg.user_agent.clone())
}

/// A response to `req`; a To tag is added when the request had none (every
/// final response to an out-of-dialog request needs one, RFC 3261 §8.2.6.2).
pub fn reply(cfg: &EngineConfig, req: &Request, status: u16, reason: &str, tag: &str) -> Response {
    let mut resp = Response::for_request(req, status, reason).with_header("Server", cfg.user_agent.clone());
    if status > 100
        && let Some(mut to) = req.headers.to().filter(|to| to.tag().is_none())
    {
        to.set_param("tag", Some(tag.to_string()));
        resp.headers.set("To", to.to_string());
    }
    resp
}

/// True when the request's To has a tag (it belongs to a dialog).
pub fn in_dialog(req: &Request) -> bool {
    req.headers.to().is_some_and(|to| to.tag().is_some())
}

/// True when the message carries an SDP body.
pub fn has_sdp(content_type: Option<String>, body: &[u8]) -> bool {
    !body.is_empty() && content_type.as_deref() == Some("application/sdp")
}
