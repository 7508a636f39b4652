//! The unlock sequencer: DTMF digits from a call in, "open the door" (or why
//! not) out.
//!
//! A sans-IO state machine like the rest of the station core: the caller passes
//! `now`, the call's id and the caller's URI with each digit, calls
//! [`UnlockSequencer::handle_timeout`] at [`UnlockSequencer::next_timeout`], and
//! pulses the relay when a digit returns [`UnlockOutcome::Opened`]. Digits may
//! come from RFC 4733 telephone-events, SIP INFO or SIP MESSAGE; the sequencer
//! does not care, but it expects each key press once (duplicates removed).
//!
//! # Rules
//!
//! - **Code.** A single digit (`#`) opens on that digit; any other digit is a
//!   wrong entry. A PIN ending in `#` (`1234#`) collects digits per call until
//!   `#`, then compares them in constant time. A lone `#` with nothing before it
//!   is not an entry and is ignored.
//! - **Per call.** Each call has its own digit buffer (keyed by call id), so two
//!   calls typing at once do not mix digits. [`UnlockSequencer::end_call`] drops
//!   a call's buffer.
//! - **Inter-digit timeout.** A partial PIN with no digit for
//!   `inter_digit_timeout` is cleared. An abandoned entry is not a failure; a
//!   complete wrong entry is.
//! - **Allow-list.** Only callers on the list can open. Entries are
//!   `sip:user@domain` (matched on user and host; scheme `sip`/`sips`, port, URI
//!   parameters and headers are ignored; the host is case-insensitive, the user
//!   is not) or `*@domain` (any user at exactly that domain). A caller not on the
//!   list gets [`UnlockOutcome::NotAllowed`] for each complete entry and never
//!   opens, even with the right code. Its entries are never compared with the
//!   code, so they reveal nothing and do not count towards the lockout.
//! - **Lockout.** `max_failures` wrong entries within `lockout` (a sliding
//!   window of the same length) lock the door for `lockout`: every entry, even
//!   the right code from an allowed caller, gets [`UnlockOutcome::LockedOut`].
//!   The count is global to the door, not per caller, because a caller's
//!   identity is only what the caller claims. A successful open clears the
//!   count. `max_failures = 0` disables the lockout.
//!
//! The caller URI is whatever identity the station trusts (the From URI of an
//! authenticated call); checking that identity is not this module's job.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Longest PIN accepted, and most digits buffered per call.
pub const MAX_PIN_DIGITS: usize = 32;

/// A bad `[unlock]` setting.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnlockError {
    /// The code is empty.
    #[error("unlock code is empty: use a single digit such as \"#\" or a PIN ending in '#' such as \"1234#\"")]
    EmptyCode,
    /// A code of several digits that does not end in `#`.
    #[error("unlock code {code:?}: a PIN must end in '#' (for example \"{code}#\")")]
    PinWithoutHash {
        /// The code as configured.
        code: String,
    },
    /// A character that is not a DTMF key, or a `#` before the end.
    #[error("unlock code {code:?}: {found:?} is not allowed here (keys are 0-9, *, A-D, and # only at the end)")]
    BadKey {
        /// The code as configured.
        code: String,
        /// The offending character.
        found: char,
    },
    /// A PIN longer than [`MAX_PIN_DIGITS`].
    #[error("unlock code has {len} digits; at most {MAX_PIN_DIGITS} are allowed")]
    PinTooLong {
        /// Digits before the `#`.
        len: usize,
    },
    /// An allow-list entry that is neither `sip:user@domain` nor `*@domain`.
    #[error("allow-list entry {entry:?}: {reason} (write \"sip:user@domain\" or \"*@domain\")")]
    BadAllowEntry {
        /// The entry as configured.
        entry: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The code that opens the door.
#[derive(Clone, PartialEq, Eq)]
pub enum UnlockCode {
    /// One key opens.
    Digit(char),
    /// These keys followed by `#` open (the `#` is not stored).
    Pin(String),
}

impl std::fmt::Debug for UnlockCode {
    /// Never prints the PIN itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnlockCode::Digit(_) => f.write_str("Digit(..)"),
            UnlockCode::Pin(pin) => write!(f, "Pin({} digits)", pin.len()),
        }
    }
}

impl UnlockCode {
    /// Parses `unlock.code`: `"#"`, `"5"`, `"1234#"`. Lower-case `a`–`d` are
    /// taken as `A`–`D`.
    pub fn parse(code: &str) -> Result<Self, UnlockError> {
        let keys: Vec<char> = code.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        let bad = |found| UnlockError::BadKey { code: code.to_owned(), found };
        match keys.as_slice() {
            [] => Err(UnlockError::EmptyCode),
            [key] => dtmf_key(*key).map(UnlockCode::Digit).ok_or_else(|| bad(*key)),
            [pin @ .., '#'] => {
                if let Some(&found) = pin.iter().find(|&&k| k == '#' || dtmf_key(k).is_none()) {
                    return Err(bad(found));
                }
                if pin.len() > MAX_PIN_DIGITS {
                    return Err(UnlockError::PinTooLong { len: pin.len() });
                }
                Ok(UnlockCode::Pin(pin.iter().collect()))
            }
            _ => Err(UnlockError::PinWithoutHash { code: code.to_owned() }),
        }
    }
}

/// The DTMF key for `c` (`0`-`9`, `*`, `#`, `A`-`D`, lower case accepted).
fn dtmf_key(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

/// Who a SIP URI names: user (percent-decoded) and lower-case host.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    user: String,
    host: String,
}

/// Reads the identity from `sip:user@host[:port][;params][?headers]`, also
/// inside `<...>` (a name-addr). `None` for anything else.
fn identity(uri: &str) -> Option<Identity> {
    let uri = uri.trim();
    let uri = match uri.find('<') {
        Some(open) => {
            let inner = &uri[open + 1..];
            &inner[..inner.find('>')?]
        }
        None => uri,
    };
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return None;
    }
    let (userinfo, hostport) = rest.split_once('@')?;
    let user = percent_decode(userinfo.split(':').next()?)?;
    let hostport = hostport.split([';', '?']).next()?;
    let host = host_of(hostport)?;
    (!user.is_empty()).then(|| Identity { user, host: host.to_ascii_lowercase() })
}

/// The host of `host[:port]` or `[v6][:port]`, without the port.
fn host_of(hostport: &str) -> Option<&str> {
    let host = match hostport.strip_prefix('[') {
        Some(v6) => &hostport[..v6.find(']')? + 2],
        None => hostport.split(':').next()?,
    };
    let valid = !host.is_empty() && !host.contains(['@', '<', '>', ' ', '*', ';', '?', ',']);
    valid.then_some(host)
}

/// Decodes `%XX` escapes; `None` if one is malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// One allow-list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowEntry {
    /// Exactly this user at this host (`sip:alice@home`).
    User {
        /// The user part, percent-decoded, case-sensitive.
        user: String,
        /// The host, lower case.
        host: String,
    },
    /// Any user at this host (`*@home`).
    Domain(String),
}

impl AllowEntry {
    /// Parses `sip:user@domain` or `*@domain`.
    pub fn parse(entry: &str) -> Result<Self, UnlockError> {
        let bad = |reason| UnlockError::BadAllowEntry { entry: entry.to_owned(), reason };
        let trimmed = entry.trim();
        if let Some(domain) = trimmed.strip_prefix("*@") {
            let host = host_of(domain).filter(|h| h.len() == domain.len());
            return host.map(|h| AllowEntry::Domain(h.to_ascii_lowercase())).ok_or_else(|| bad("bad domain"));
        }
        if trimmed.contains('<') {
            return Err(bad("write the bare URI, without <>"));
        }
        let id = identity(trimmed).ok_or_else(|| bad("not a sip: URI with a user and a domain"))?;
        Ok(AllowEntry::User { user: id.user, host: id.host })
    }

    fn allows(&self, who: &Identity) -> bool {
        match self {
            AllowEntry::User { user, host } => *user == who.user && *host == who.host,
            AllowEntry::Domain(host) => *host == who.host,
        }
    }
}

/// The callers who may open; the same format serves `calls.allow_callers`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowEntry>,
}

impl AllowList {
    /// Parses every entry; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, UnlockError> {
        let entries = entries.iter().map(|e| AllowEntry::parse(e.as_ref())).collect::<Result<_, _>>()?;
        Ok(AllowList { entries })
    }

    /// Whether the caller with this URI (bare or in `<...>`) is on the list.
    pub fn allows(&self, caller_uri: &str) -> bool {
        identity(caller_uri).is_some_and(|who| self.entries.iter().any(|e| e.allows(&who)))
    }

    /// The parsed entries.
    pub fn entries(&self) -> &[AllowEntry] {
        &self.entries
    }
}

/// The `[unlock]` section, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockConfig {
    /// What opens the door (`unlock.code`).
    pub code: UnlockCode,
    /// Who may open it (`unlock.allow`).
    pub allow: AllowList,
    /// A partial PIN is cleared after this long without a digit
    /// (`unlock.inter_digit_timeout_ms`).
    pub inter_digit_timeout: Duration,
    /// Wrong entries that start a lockout; 0 disables it (`unlock.max_failures`).
    pub max_failures: u32,
    /// How long a lockout lasts, and the window failures are counted in
    /// (`unlock.lockout_s`).
    pub lockout: Duration,
    /// A SIP MESSAGE whose trimmed body equals this counts as the code
    /// (`unlock.message_body`); `None` or an empty body disables unlock by MESSAGE.
    pub message_body: Option<String>,
}

impl UnlockConfig {
    /// The code and allow-list from their config strings, the rest at the
    /// defaults of `station.toml`: 3 s inter-digit timeout, lockout for 60 s
    /// after 3 failures, MESSAGE body `unlock`.
    pub fn new<S: AsRef<str>>(code: &str, allow: &[S]) -> Result<Self, UnlockError> {
        Ok(UnlockConfig {
            code: UnlockCode::parse(code)?,
            allow: AllowList::parse(allow)?,
            inter_digit_timeout: Duration::from_millis(3000),
            max_failures: 3,
            lockout: Duration::from_secs(60),
            message_body: Some("unlock".to_owned()),
        })
    }
}

/// What a complete entry led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockOutcome {
    /// The code was right and the caller allowed: pulse the relay.
    Opened,
    /// The code was wrong (counted towards the lockout).
    WrongCode,
    /// The caller is not on the allow-list.
    NotAllowed,
    /// The door is locked out after too many wrong entries.
    LockedOut,
}

impl UnlockOutcome {
    /// The name used in events and on the control socket (`opened`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            UnlockOutcome::Opened => "opened",
            UnlockOutcome::WrongCode => "wrong_code",
            UnlockOutcome::NotAllowed => "not_allowed",
            UnlockOutcome::LockedOut => "locked_out",
        }
    }
}

/// Digits typed so far in one call.
#[derive(Debug)]
struct Entry {
    keys: String,
    /// More than [`MAX_PIN_DIGITS`] were typed: the entry can only be wrong.
    overflowed: bool,
    last_key: Instant,
}

/// Sans-IO unlock state: per-call digit buffers, failure count, lockout.
#[derive(Debug)]
pub struct UnlockSequencer {
    config: UnlockConfig,
    entries: HashMap<String, Entry>,
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

impl UnlockSequencer {
    /// A sequencer with no entry in progress and no failure counted.
    pub fn new(config: UnlockConfig) -> Self {
        UnlockSequencer { config, entries: HashMap::new(), failures: VecDeque::new(), locked_until: None }
    }

    /// One key pressed in call `call_id` by `caller_uri`. Returns an outcome
    /// when the key completes an entry, `None` while a PIN is being typed and
    /// for characters that are not DTMF keys.
    pub fn handle_digit(
        &mut self,
        now: Instant,
        call_id: &str,
        caller_uri: &str,
        digit: char,
    ) -> Option<UnlockOutcome> {
        let key = dtmf_key(digit)?;
        self.handle_timeout(now);
        let entered = match &self.config.code {
            UnlockCode::Digit(code) => constant_time_eq(&[key as u8], &[*code as u8]),
            UnlockCode::Pin(_) if key != '#' => {
                self.push_key(now, call_id, key);
                return None;
            }
            UnlockCode::Pin(pin) => {
                let entry = self.entries.remove(call_id)?;
                !entry.overflowed && constant_time_eq(entry.keys.as_bytes(), pin.as_bytes())
            }
        };
        Some(self.complete(now, caller_uri, entered))
    }

    /// A SIP MESSAGE from `caller_uri`: an entry of the right code if its
    /// trimmed body equals `message_body`, otherwise not an entry (`None`).
    pub fn handle_message(&mut self, now: Instant, caller_uri: &str, body: &str) -> Option<UnlockOutcome> {
        let expected = self.config.message_body.as_deref().map(str::trim).filter(|b| !b.is_empty())?;
        constant_time_eq(body.trim().as_bytes(), expected.as_bytes()).then(|| self.complete(now, caller_uri, true))
    }

    fn push_key(&mut self, now: Instant, call_id: &str, key: char) {
        let entry = self.entries.entry(call_id.to_owned()).or_insert_with(|| Entry {
            keys: String::new(),
            overflowed: false,
            last_key: now,
        });
        entry.last_key = now;
        if entry.keys.len() < MAX_PIN_DIGITS {
            entry.keys.push(key);
        } else {
            entry.overflowed = true;
        }
    }

    /// Decides a complete entry; `right` says whether it matched the code.
    fn complete(&mut self, now: Instant, caller_uri: &str, right: bool) -> UnlockOutcome {
        if !self.config.allow.allows(caller_uri) {
            return UnlockOutcome::NotAllowed;
        }
        if self.is_locked_out(now) {
            return UnlockOutcome::LockedOut;
        }
        if right {
            self.failures.clear();
            return UnlockOutcome::Opened;
        }
        self.count_failure(now);
        UnlockOutcome::WrongCode
    }

    fn count_failure(&mut self, now: Instant) {
        let window = self.config.lockout;
        self.failures.retain(|&at| now.saturating_duration_since(at) < window);
        self.failures.push_back(now);
        let max = self.config.max_failures as usize;
        if max > 0 && self.failures.len() >= max {
            self.locked_until = Some(now + self.config.lockout);
            self.failures.clear();
            self.entries.clear();
        }
    }

    /// Clears partial PINs whose inter-digit timeout has passed, and an ended
    /// lockout.
    pub fn handle_timeout(&mut self, now: Instant) {
        let timeout = self.config.inter_digit_timeout;
        self.entries.retain(|_, e| now < e.last_key + timeout);
        if self.locked_until.is_some_and(|until| now >= until) {
            self.locked_until = None;
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to do: the
    /// earliest inter-digit deadline or the end of the lockout.
    pub fn next_timeout(&self) -> Option<Instant> {
        let timeout = self.config.inter_digit_timeout;
        let digits = self.entries.values().map(|e| e.last_key + timeout);
        digits.chain(self.locked_until).min()
    }

    /// Whether every entry is refused at `now`.
    pub fn is_locked_out(&self, now: Instant) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// When the current lockout ends, if there is one.
    pub fn locked_until(&self) -> Option<Instant> {
        self.locked_until
    }

    /// Forgets the digits typed in a call that ended.
    pub fn end_call(&mut self, call_id: &str) {
        self.entries.remove(call_id);
    }

    /// The configuration in force.
    pub fn config(&self) -> &UnlockConfig {
        &self.config
    }
}

/// Compares without an early exit, so the time taken does not tell how many
/// leading keys were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[path = "unlock/tests.rs"]
mod tests;
