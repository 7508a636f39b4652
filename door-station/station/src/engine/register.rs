//! Registration (RFC 3261 §10): REGISTER with digest, refreshed at half the
//! granted lifetime, retried with exponential backoff after a failure.
//!
//! States: `Off` (no registrar, or unregistered), `Pending` (a REGISTER is
//! out), `Bound` (registered, refresh due at a time), `Backoff` (failed,
//! retry due).

use std::time::{Duration, Instant};

use ds_sip::digest::{Challenge, ChallengeOutcome, DigestClient, best_challenge};
use ds_sip::transaction::{Peer, TransactionKey};
use ds_sip::{Method, Response};

use super::wire::{self, Fresh};
use super::{Core, Event};

/// The shortest refresh interval, so a registrar granting 1 s cannot make us spin.
const MIN_REFRESH: Duration = Duration::from_secs(1);

enum State {
    Off,
    Pending { key: TransactionKey },
    Bound { refresh_at: Instant },
    Backoff { retry_at: Instant },
}

/// The challenge being answered in this round. It is dropped after the
/// round: a refresh starts without credentials, because registrars that
/// challenge every REGISTER with a fresh, non-stale nonce would otherwise
/// read our pre-emptive answer as a wrong password.
struct Auth {
    challenge: Challenge,
    header: &'static str,
}

/// The registration state machine.
pub(crate) struct Registration {
    state: State,
    call_id: String,
    from_tag: String,
    cseq: u32,
    expires: u32,
    digest: DigestClient,
    auth: Option<Auth>,
    failures: u32,
    bound_until: Option<Instant>,
    /// Unregistering (Expires 0): no refresh and no retry afterwards.
    leaving: bool,
}

impl Registration {
    /// Starts registering at once when a registrar is configured.
    pub fn start(core: &mut Core, now: Instant) -> Registration {
        let account = &core.cfg.account;
        let digest = DigestClient::new(account.auth_user.clone(), account.password.clone());
        let expires = u32::try_from(core.cfg.register_expires.as_secs()).unwrap_or(u32::MAX);
        let call_id = format!("{}@{}", core.ids.token(), core.cfg.local_addr.ip());
        let mut reg = Registration {
            state: State::Off,
            call_id,
            from_tag: core.ids.token(),
            cseq: 0,
            expires,
            digest,
            auth: None,
            failures: 0,
            bound_until: None,
            leaving: false,
        };
        if core.cfg.registrar.is_some() {
            reg.send(core, now);
        }
        reg
    }

    /// True while a binding granted by the registrar has not expired.
    pub fn is_registered(&self) -> bool {
        self.bound_until.is_some()
    }

    /// True when `key` is our REGISTER transaction.
    pub fn owns(&self, key: &TransactionKey) -> bool {
        matches!(&self.state, State::Pending { key: k } if k == key)
    }

    /// When the next refresh or retry is due.
    pub fn deadline(&self) -> Option<Instant> {
        let next = match self.state {
            State::Bound { refresh_at } => Some(refresh_at),
            State::Backoff { retry_at } => Some(retry_at),
            State::Off | State::Pending { .. } => None,
        };
        [next, self.bound_until].into_iter().flatten().min()
    }

    /// Refresh or retry when due; forget an expired binding.
    pub fn on_timeout(&mut self, core: &mut Core, now: Instant) {
        if self.bound_until.is_some_and(|t| t <= now) {
            self.bound_until = None;
        }
        let due = match self.state {
            State::Bound { refresh_at: at } | State::Backoff { retry_at: at } => at <= now,
            State::Off | State::Pending { .. } => false,
        };
        if due {
            self.send(core, now);
        }
    }

    /// A response to our REGISTER.
    pub fn on_response(&mut self, core: &mut Core, now: Instant, resp: Response) {
        match resp.status {
            100..=199 => {}
            200..=299 => self.bound(core, now, &resp),
            401 | 407 => self.challenged(core, now, &resp),
            423 => self.too_brief(core, now, &resp),
            status => self.failed(core, now, status, retry_after(&resp)),
        }
    }

    /// Timer F or a transport error.
    pub fn on_failure(&mut self, core: &mut Core, now: Instant) {
        self.failed(core, now, 0, None);
    }

    /// Removes the binding (REGISTER with Expires 0) when one is in force
    /// or being made; nothing is retried afterwards.
    pub fn unregister(&mut self, core: &mut Core, now: Instant) {
        let active = self.bound_until.is_some() || matches!(self.state, State::Pending { .. });
        self.leaving = true;
        self.expires = 0;
        if active {
            self.send(core, now);
        } else {
            self.state = State::Off;
        }
    }

    fn send(&mut self, core: &mut Core, now: Instant) {
        let Some(registrar) = core.cfg.registrar else {
            self.state = State::Off;
            return;
        };
        self.cseq += 1;
        let uri = format!("sip:{}", core.cfg.account.domain);
        let aor = format!("<{}>", core.cfg.account.aor());
        let fresh = Fresh {
            method: Method::Register,
            uri: &uri,
            to: &aor,
            call_id: &self.call_id,
            cseq: self.cseq,
            from_tag: &self.from_tag,
        };
        let mut req = wire::fresh_request(core, fresh).with_header("Expires", self.expires.to_string());
        if let Some(auth) = &self.auth {
            let cnonce = core.ids.token();
            let value = self.digest.authorization(&auth.challenge, &Method::Register, &uri, &cnonce);
            req.headers.push(auth.header, value);
        }
        let dest = Peer { addr: registrar, transport: core.cfg.transport };
        let key = core.tx.send_request(now, req, dest);
        self.state = State::Pending { key };
    }

    fn bound(&mut self, core: &mut Core, now: Instant, resp: &Response) {
        let granted = granted_expires(resp, &wire::contact_uri(&core.cfg)).unwrap_or(self.expires);
        self.digest.on_success();
        self.auth = None;
        self.failures = 0;
        if self.leaving {
            self.bound_until = None;
            self.state = State::Off;
            return;
        }
        if granted == 0 {
            self.bound_until = None;
            self.failed(core, now, resp.status, None);
            return;
        }
        let lifetime = Duration::from_secs(u64::from(granted));
        self.bound_until = Some(now + lifetime);
        self.state = State::Bound { refresh_at: now + (lifetime / 2).max(MIN_REFRESH) };
        core.emit(Event::Registered { aor: core.cfg.account.aor(), expires: granted });
    }

    fn challenged(&mut self, core: &mut Core, now: Instant, resp: &Response) {
        let (name, header) = match resp.status {
            401 => ("WWW-Authenticate", "Authorization"),
            _ => ("Proxy-Authenticate", "Proxy-Authorization"),
        };
        let Some(challenge) = best_challenge(resp.headers.get_all(name)) else {
            return self.failed(core, now, resp.status, None);
        };
        match self.digest.on_challenge(&challenge) {
            ChallengeOutcome::Fresh | ChallengeOutcome::Stale => {
                self.auth = Some(Auth { challenge, header });
                self.send(core, now);
            }
            _ => self.failed(core, now, resp.status, None),
        }
    }

    /// 423 Interval Too Brief: ask again with the registrar's Min-Expires.
    fn too_brief(&mut self, core: &mut Core, now: Instant, resp: &Response) {
        match resp.headers.get("Min-Expires").and_then(|v| v.trim().parse::<u32>().ok()) {
            Some(min) if min > self.expires => {
                self.expires = min;
                self.send(core, now);
            }
            _ => self.failed(core, now, resp.status, None),
        }
    }

    fn failed(&mut self, core: &mut Core, now: Instant, status: u16, retry_after: Option<Duration>) {
        if self.leaving {
            self.state = State::Off;
            return;
        }
        self.failures += 1;
        self.auth = None;
        self.digest.on_success();
        let delay = core.cfg.backoff.delay(self.failures).max(retry_after.unwrap_or_default());
        self.state = State::Backoff { retry_at: now + delay };
        core.emit(Event::RegistrationFailed { status, retry_in_s: delay.as_secs() });
    }
}

/// The lifetime the registrar granted: the `expires` parameter of our
/// Contact in the 200 (URI parameters aside; the only Contact when there is
/// one), else its Expires header (RFC 3261 §10.2.4).
fn granted_expires(resp: &Response, our_contact: &str) -> Option<u32> {
    let bare = |uri: &str| uri.split(';').next().unwrap_or_default().to_ascii_lowercase();
    let contacts = resp.headers.contacts();
    let ours = contacts
        .iter()
        .find(|c| bare(&c.uri) == bare(our_contact))
        .or_else(|| (contacts.len() == 1).then(|| &contacts[0]));
    ours.and_then(|c| c.param("expires")?.parse().ok()).or_else(|| resp.headers.expires())
}

/// `Retry-After: 120 (comment);duration=...`: the seconds.
fn retry_after(resp: &Response) -> Option<Duration> {
    let value = resp.headers.get("Retry-After")?;
    let digits: String = value.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(Duration::from_secs)
}
