//! The sans-IO registrar (RFC 3261 §10.3).
//!
//! [`Registrar::register`] takes an authenticated REGISTER (the caller has
//! checked the domain and the credentials) and returns the response; it
//! never reads a clock: time is `now_s`, seconds since the UNIX epoch, so
//! bindings keep their meaning across restarts. After a change,
//! [`Registrar::take_dirty`] is true and [`Registrar::snapshot`] is what the
//! shell persists with [`store::save`].
//!
//! Rules applied, in RFC order: `*` only alone and with `Expires: 0` (400);
//! per contact, expiry from its `expires` parameter, else the `Expires`
//! header, else the default; a non-zero expiry below the minimum is refused
//! with 423 and `Min-Expires`, one above the maximum is shortened; a binding
//! for the same contact with the same Call-ID and a CSeq not above the stored
//! one aborts the whole request (500); otherwise the request is applied as a
//! whole. The 200 lists every binding of the AOR with its remaining expiry.

pub mod store;

use std::collections::{BTreeMap, BTreeSet};

use ds_sip::transaction::Peer;
use ds_sip::{NameAddr, Request, Response};

use crate::reply::answer;
use crate::routes::Aor;

/// At most this many contacts per AOR; beyond, those expiring first are dropped.
pub const MAX_BINDINGS_PER_AOR: usize = 16;

/// Expiry limits from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryLimits {
    /// Below this (and not 0): 423.
    pub min_s: u32,
    /// Above this: shortened.
    pub max_s: u32,
    /// When the request names none.
    pub default_s: u32,
}

/// One contact bound to an AOR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The contact as registered (`<sip:alice@10.0.0.5:5060>;+sip.instance=...`), without `expires`/`q`.
    pub contact: NameAddr,
    /// q-value in thousandths (1000 = 1.0, the default).
    pub q_milli: u16,
    /// Expiry, seconds since the UNIX epoch.
    pub expires_at_s: u64,
    /// Call-ID of the REGISTER that made or refreshed it.
    pub call_id: String,
    /// CSeq of that REGISTER.
    pub cseq: u32,
    /// Where that REGISTER came from: requests go there (flow reuse, NAT).
    pub source: Peer,
}

/// Why a REGISTER was refused; [`RegisterError::status`] is the response code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// `*` mixed with other contacts or with a non-zero expiry.
    #[error("Contact * needs Expires: 0 and no other contact")]
    BadWildcard,
    /// A Contact that does not parse, or a bad q or expires value.
    #[error("bad Contact {value:?}")]
    BadContact {
        /// The value as written.
        value: String,
    },
    /// A non-zero expiry below the minimum.
    #[error("expiry {asked} s is below the minimum {min} s")]
    TooBrief {
        /// What was asked.
        asked: u32,
        /// The minimum.
        min: u32,
    },
    /// Same Call-ID, CSeq not increasing.
    #[error("CSeq {got} is not above {stored} for Call-ID {call_id}")]
    OutOfOrder {
        /// The Call-ID.
        call_id: String,
        /// The stored CSeq.
        stored: u32,
        /// The CSeq received.
        got: u32,
    },
}

impl RegisterError {
    /// The status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::BadWildcard | RegisterError::BadContact { .. } => 400,
            RegisterError::TooBrief { .. } => 423,
            RegisterError::OutOfOrder { .. } => 500,
        }
    }
}

/// A contact of the request with its computed expiry.
struct Update {
    contact: NameAddr,
    q_milli: u16,
    expires_s: u32,
}

/// All bindings, by AOR.
#[derive(Debug, Clone)]
pub struct Registrar {
    limits: ExpiryLimits,
    bindings: BTreeMap<Aor, Vec<Binding>>,
    /// Every binding's expiry with its AOR, soonest first: expiry and the next
    /// wake-up visit only what is due instead of scanning every binding.
    expiries: BTreeSet<(u64, Aor)>,
    dirty: bool,
}

impl Registrar {
    /// An empty registrar.
    pub fn new(limits: ExpiryLimits) -> Registrar {
        Registrar { limits, bindings: BTreeMap::new(), expiries: BTreeSet::new(), dirty: false }
    }

    /// A registrar holding `bindings` (from the store), minus those expired at `now_s`.
    pub fn restore(limits: ExpiryLimits, bindings: Vec<(Aor, Binding)>, now_s: u64) -> Registrar {
        let mut r = Registrar::new(limits);
        for (aor, b) in bindings.into_iter().filter(|(_, b)| b.expires_at_s > now_s) {
            r.expiries.insert((b.expires_at_s, aor.clone()));
            r.bindings.entry(aor).or_default().push(b);
        }
        r
    }

    /// Applies a REGISTER for `aor` received from `source`, and answers it.
    pub fn register(&mut self, now_s: u64, req: &Request, aor: &Aor, source: Peer) -> Response {
        self.expire(now_s);
        match self.apply(now_s, req, aor, source) {
            Ok(()) => self.ok(now_s, req, aor),
            Err(e) => {
                let mut resp = answer(req, e.status());
                if let RegisterError::TooBrief { min, .. } = e {
                    resp.headers.push("Min-Expires", min.to_string());
                }
                resp.headers.push("Warning", format!("399 - \"{e}\""));
                resp
            }
        }
    }

    fn apply(&mut self, now_s: u64, req: &Request, aor: &Aor, source: Peer) -> Result<(), RegisterError> {
        let call_id = req.headers.call_id().unwrap_or_default().to_string();
        let cseq = req.headers.cseq().map_or(0, |(n, _)| n);
        let current = self.bindings.get(aor).map(Vec::as_slice).unwrap_or_default();
        let wildcard = is_wildcard(req)?;
        let updates = if wildcard { Vec::new() } else { self.updates(req)? };
        let touched: Vec<&Binding> = if wildcard {
            current.iter().collect()
        } else {
            current.iter().filter(|b| updates.iter().any(|u| same_uri(&u.contact, &b.contact))).collect()
        };
        if let Some(b) = touched.iter().find(|b| b.call_id == call_id && cseq <= b.cseq) {
            return Err(RegisterError::OutOfOrder { call_id, stored: b.cseq, got: cseq });
        }
        let list = self.bindings.entry(aor.clone()).or_default();
        for b in list.iter() {
            self.expiries.remove(&(b.expires_at_s, aor.clone()));
        }
        if wildcard {
            list.clear();
        }
        for u in updates {
            list.retain(|b| !same_uri(&b.contact, &u.contact));
            if u.expires_s > 0 {
                let expires_at_s = now_s + u64::from(u.expires_s);
                let (call_id, contact) = (call_id.clone(), u.contact);
                list.push(Binding { contact, q_milli: u.q_milli, expires_at_s, call_id, cseq, source });
            }
        }
        if list.len() > MAX_BINDINGS_PER_AOR {
            list.sort_by_key(|b| std::cmp::Reverse(b.expires_at_s));
            list.truncate(MAX_BINDINGS_PER_AOR);
        }
        self.expiries.extend(list.iter().map(|b| (b.expires_at_s, aor.clone())));
        if list.is_empty() {
            self.bindings.remove(aor);
        }
        self.dirty |= wildcard || req.headers.get("Contact").is_some();
        Ok(())
    }

    /// The contacts of a non-wildcard REGISTER with their expiry (§10.3 step 7).
    fn updates(&self, req: &Request) -> Result<Vec<Update>, RegisterError> {
        let header_expires = req.headers.expires();
        let raw: Vec<&str> = req.headers.get_all("Contact").collect();
        let contacts = req.headers.contacts();
        if contacts.len() < raw.len() {
            return Err(RegisterError::BadContact { value: raw.join(", ") });
        }
        contacts.into_iter().map(|c| self.update(c, header_expires)).collect()
    }

    fn update(&self, mut contact: NameAddr, header_expires: Option<u32>) -> Result<Update, RegisterError> {
        let bad = |c: &NameAddr| RegisterError::BadContact { value: c.to_string() };
        let asked = match contact.param("expires") {
            Some(v) => v.parse::<u32>().map_err(|_| bad(&contact))?,
            None => header_expires.unwrap_or(self.limits.default_s),
        };
        let q_milli = match contact.param("q") {
            Some(v) => parse_q(v).ok_or_else(|| bad(&contact))?,
            None => 1000,
        };
        if !contact.uri.starts_with("sip:") && !contact.uri.starts_with("sips:") {
            return Err(bad(&contact));
        }
        if asked != 0 && asked < self.limits.min_s {
            return Err(RegisterError::TooBrief { asked, min: self.limits.min_s });
        }
        contact.params.retain(|(k, _)| !k.eq_ignore_ascii_case("expires") && !k.eq_ignore_ascii_case("q"));
        Ok(Update { contact, q_milli, expires_s: asked.min(self.limits.max_s) })
    }

    fn ok(&self, now_s: u64, req: &Request, aor: &Aor) -> Response {
        let mut resp = answer(req, 200);
        for b in self.lookup(now_s, aor) {
            let mut c = b.contact.clone();
            c.set_param("expires", Some(b.expires_at_s.saturating_sub(now_s).to_string()));
            if b.q_milli != 1000 {
                c.set_param("q", Some(format_q(b.q_milli)));
            }
            resp.headers.push("Contact", c.to_string());
        }
        resp
    }

    /// Live bindings of `aor`, highest q first, most recent first among equals.
    pub fn lookup(&self, now_s: u64, aor: &Aor) -> Vec<&Binding> {
        let mut live: Vec<&Binding> =
            self.bindings.get(aor).into_iter().flatten().filter(|b| b.expires_at_s > now_s).collect();
        live.sort_by(|a, b| b.q_milli.cmp(&a.q_milli).then(b.expires_at_s.cmp(&a.expires_at_s)));
        live
    }

    /// Drops bindings expired at `now_s`: only the AORs with a binding due are visited.
    pub fn expire(&mut self, now_s: u64) {
        while let Some((at, _)) = self.expiries.first()
            && *at <= now_s
        {
            let Some((_, aor)) = self.expiries.pop_first() else { break };
            let Some(list) = self.bindings.get_mut(&aor) else { continue };
            let before = list.len();
            list.retain(|b| b.expires_at_s > now_s);
            self.dirty |= list.len() != before;
            if list.is_empty() {
                self.bindings.remove(&aor);
            }
        }
    }

    /// The earliest expiry, to wake the core for [`Registrar::expire`].
    pub fn next_expiry_s(&self) -> Option<u64> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// True once after each change; the shell then saves [`Registrar::snapshot`].
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Every binding, for the store.
    pub fn snapshot(&self) -> Vec<(Aor, Binding)> {
        self.bindings.iter().flat_map(|(a, l)| l.iter().map(|b| (a.clone(), b.clone()))).collect()
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.bindings.values().map(Vec::len).sum()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

/// `Contact: *` handling (§10.3 step 6).
fn is_wildcard(req: &Request) -> Result<bool, RegisterError> {
    let values: Vec<&str> = req.headers.get_all("Contact").flat_map(|v| v.split(',')).map(str::trim).collect();
    if !values.contains(&"*") {
        return Ok(false);
    }
    if values.len() == 1 && req.headers.expires() == Some(0) { Ok(true) } else { Err(RegisterError::BadWildcard) }
}

/// Contact URIs compared without case in scheme and host (a simplification of §19.1.4).
fn same_uri(a: &NameAddr, b: &NameAddr) -> bool {
    a.uri.eq_ignore_ascii_case(&b.uri)
}

/// `q = "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ]` (RFC 3261 §20.10) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_milli: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_milli),
        "1" if frac_milli == 0 => Some(1000),
        _ => None,
    }
}

fn format_q(q: u16) -> String {
    let s = format!("{}.{:03}", q / 1000, q % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests;
