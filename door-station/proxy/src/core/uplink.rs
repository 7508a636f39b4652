//! Registering house users at the upstream (cloud) proxy, so calls to their
//! cloud address come to the house: REGISTER with our own Contact, answer
//! 401/407 with ds-sip's `DigestClient`, refresh at 80 % of the granted
//! expiry, retry a minute after a failure. Calls the cloud then sends to
//! `sip:<local>@<our address>` are routed like any call to `<local>@<first domain>`.

use std::time::{Duration, Instant};

use ds_sip::digest::{ChallengeOutcome, DigestClient, best_challenge};
use ds_sip::transaction::TransactionKey;
use ds_sip::{Method, Request, Response};

use super::Proxy;
use super::forward::{branch, via_value};
use crate::routes::user_host;

/// One account at the upstream proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAccount {
    /// The cloud address, `sip:door@cloud.example`.
    pub aor: String,
    /// Digest username.
    pub user: String,
    /// Digest password.
    pub password: String,
    /// The house user calls to this address go to (the Contact's user part).
    pub local: String,
    /// Expiry asked for.
    pub expires_s: u32,
}

/// After a refusal or a timeout, try again this much later.
const RETRY: Duration = Duration::from_secs(60);

/// The registration state of one account.
#[derive(Debug)]
pub struct Uplink {
    account: UpstreamAccount,
    client: DigestClient,
    call_id: String,
    cseq: u32,
    pending: Option<TransactionKey>,
    next_at: Option<Instant>,
    /// Until when the upstream holds our binding.
    pub registered_until: Option<Instant>,
}

impl Uplink {
    /// An account to register at once; `n` makes its Call-ID unique.
    pub fn new(account: UpstreamAccount, now: Instant, n: u64) -> Uplink {
        let client = DigestClient::new(account.user.clone(), account.password.clone());
        let call_id = format!("up{n:x}-{}", account.user);
        Uplink { account, client, call_id, cseq: 0, pending: None, next_at: Some(now), registered_until: None }
    }

    /// When this account needs the core next.
    pub fn next_at(&self) -> Option<Instant> {
        self.next_at.filter(|_| self.pending.is_none())
    }
}

impl Proxy {
    /// Sends the REGISTERs that are due.
    pub(super) fn refresh_uplinks(&mut self, now: Instant) {
        for i in 0..self.uplinks.len() {
            if self.uplinks[i].next_at().is_some_and(|t| t <= now) {
                self.send_uplink_register(now, i, None);
            }
        }
    }

    fn send_uplink_register(&mut self, now: Instant, i: usize, auth: Option<(&str, String)>) {
        let (Some(dest), Some(me)) = (self.settings.locality.upstream, self.settings.locality.local.first().copied())
        else {
            return;
        };
        let b = branch(0, self.next_n());
        let up = &mut self.uplinks[i];
        up.cseq += 1;
        let a = &up.account;
        let registrar = user_host(&a.aor).map_or_else(|| a.aor.clone(), |(_, host)| format!("sip:{host}"));
        let mut req = Request::new(Method::Register, registrar)
            .with_header("Via", via_value(me, &b))
            .with_header("Max-Forwards", "70")
            .with_header("From", format!("<{}>;tag=up{:x}", a.aor, crate::reply::fnv_strs([up.call_id.as_str()])))
            .with_header("To", format!("<{}>", a.aor))
            .with_header("Call-ID", up.call_id.clone())
            .with_header("CSeq", format!("{} REGISTER", up.cseq))
            .with_header(
                "Contact",
                format!("<sip:{}@{};transport={}>", a.local, me.addr, me.transport.via_token().to_ascii_lowercase()),
            )
            .with_header("Expires", a.expires_s.to_string());
        if let Some((name, value)) = auth {
            req.headers.push(name, value);
        }
        match self.layer.try_send_request(now, req, dest) {
            Ok(key) => up.pending = Some(key),
            Err(e) => {
                tracing::warn!("REGISTER for {} not sent: {e}", up.account.aor);
                up.next_at = Some(now + RETRY);
            }
        }
    }

    /// A response for one of our REGISTERs; false when `key` is not ours.
    pub(super) fn on_uplink_response(&mut self, now: Instant, key: &TransactionKey, resp: &Response) -> bool {
        let Some(i) = self.uplinks.iter().position(|u| u.pending.as_ref() == Some(key)) else { return false };
        if resp.status < 200 {
            return true;
        }
        self.uplinks[i].pending = None;
        match resp.status {
            200..=299 => self.uplink_registered(now, i, resp),
            401 | 407 => self.answer_uplink_challenge(now, i, resp),
            _ => self.uplink_failed(now, i, resp.status),
        }
        true
    }

    /// Timer F for one of our REGISTERs; false when `key` is not ours.
    pub(super) fn on_uplink_lost(&mut self, now: Instant, key: &TransactionKey) -> bool {
        let Some(i) = self.uplinks.iter().position(|u| u.pending.as_ref() == Some(key)) else { return false };
        self.uplinks[i].pending = None;
        self.uplink_failed(now, i, 408);
        true
    }

    fn uplink_registered(&mut self, now: Instant, i: usize, resp: &Response) {
        let up = &mut self.uplinks[i];
        up.client.on_success();
        let granted = resp
            .headers
            .contacts()
            .iter()
            .find(|c| c.uri.starts_with(&format!("sip:{}@", up.account.local)))
            .and_then(|c| c.param("expires").and_then(|e| e.parse().ok()))
            .or(resp.headers.expires())
            .unwrap_or(up.account.expires_s);
        up.registered_until = Some(now + Duration::from_secs(granted.into()));
        up.next_at = Some(now + Duration::from_secs((u64::from(granted) * 4 / 5).max(30)));
        tracing::info!("registered {} upstream for {} s", up.account.aor, granted);
    }

    fn answer_uplink_challenge(&mut self, now: Instant, i: usize, resp: &Response) {
        let (header, answer) = if resp.status == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let Some(ch) = best_challenge(resp.headers.get_all(header)) else {
            return self.uplink_failed(now, i, resp.status);
        };
        let up = &mut self.uplinks[i];
        if up.client.on_challenge(&ch) == ChallengeOutcome::Rejected {
            return self.uplink_failed(now, i, 403);
        }
        let registrar =
            user_host(&up.account.aor).map_or_else(|| up.account.aor.clone(), |(_, host)| format!("sip:{host}"));
        let cnonce = format!("{:x}", crate::reply::fnv_strs([up.call_id.as_str(), &up.cseq.to_string()]));
        let value = up.client.authorization(&ch, &Method::Register, &registrar, &cnonce);
        self.send_uplink_register(now, i, Some((answer, value)));
    }

    fn uplink_failed(&mut self, now: Instant, i: usize, status: u16) {
        let up = &mut self.uplinks[i];
        tracing::warn!(
            "upstream REGISTER for {} failed with {status}; retrying in {} s",
            up.account.aor,
            RETRY.as_secs()
        );
        up.client = DigestClient::new(up.account.user.clone(), up.account.password.clone());
        up.next_at = Some(now + RETRY);
    }

    /// Upward registrations, to read.
    pub fn uplinks(&self) -> &[Uplink] {
        &self.uplinks
    }
}
