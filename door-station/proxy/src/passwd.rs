//! The Flexisip-compatible user file.
//!
//! ```text
//! version:1
//!
//! alice@home md5:<HA1 hex> sha256:<HA1 hex> ;
//! bob@home clrtxt:secret ;
//! ```
//! One user per line: the identity `user@domain`, then one or more
//! `scheme:value` credentials (`md5:` and `sha256:` hold
//! `HA1 = H(user ":" domain ":" password)`, `clrtxt:` the password itself),
//! then `;` and an optional alias (a phone number in Flexisip) that is kept
//! but not used. `#` starts a comment. A `clrtxt:` entry is accepted with a
//! warning; [`crate::setup::add_user`] writes only hashes.

use std::collections::BTreeMap;

use ds_sip::digest::{Algorithm, ha1};

/// The credentials stored for one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserEntry {
    /// `md5:` HA1, lower-case hex.
    pub md5: Option<String>,
    /// `sha256:` HA1, lower-case hex.
    pub sha256: Option<String>,
    /// `clrtxt:` password.
    pub clrtxt: Option<String>,
    /// The text after `;`, if any.
    pub alias: Option<String>,
}

impl UserEntry {
    /// HA1 for `alg`, from the stored hash or computed from a clear-text password.
    pub fn ha1(&self, alg: Algorithm, user: &str, realm: &str) -> Option<String> {
        let stored = match alg {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        };
        stored.clone().or_else(|| self.clrtxt.as_ref().map(|pw| ha1(alg, user, realm, pw)))
    }
}

/// The parsed file: users by `user@domain` (lower-cased domain).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passwd {
    users: BTreeMap<String, UserEntry>,
}

/// A line of the passwd file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswdError {
    /// The first non-comment line is not `version:1`.
    #[error("line {line}: expected \"version:1\", found {found:?}; fix: start the file with version:1")]
    Version {
        /// 1-based line.
        line: usize,
        /// What was there.
        found: String,
    },
    /// The identity is not `user@domain`.
    #[error("line {line}: {found:?} is not user@domain; fix: write e.g. alice@home")]
    Identity {
        /// 1-based line.
        line: usize,
        /// What was there.
        found: String,
    },
    /// A credential that is not `md5:`, `sha256:` or `clrtxt:`, or a hash of the wrong length.
    #[error("line {line}: bad credential {found:?}; fix: use md5:<32 hex>, sha256:<64 hex> or clrtxt:<password>")]
    Credential {
        /// 1-based line.
        line: usize,
        /// What was there.
        found: String,
    },
    /// A user line without the closing `;`.
    #[error("line {line}: no ';' after the credentials; fix: end the line with \" ;\"")]
    MissingSemicolon {
        /// 1-based line.
        line: usize,
    },
    /// The same identity twice.
    #[error("line {line}: {identity} is listed twice; fix: keep one line per user")]
    Duplicate {
        /// 1-based line.
        line: usize,
        /// The identity.
        identity: String,
    },
}

/// What parsing produced besides the users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings(pub Vec<String>);

impl Passwd {
    /// Parses the file text. Clear-text entries produce a warning each.
    pub fn parse(text: &str) -> Result<(Passwd, Warnings), PasswdError> {
        let mut users = BTreeMap::new();
        let mut warnings = Warnings::default();
        let mut seen_version = false;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            if !seen_version {
                if content.replace(' ', "") != "version:1" {
                    return Err(PasswdError::Version { line, found: content.to_string() });
                }
                seen_version = true;
                continue;
            }
            let (identity, entry) = parse_user(line, content)?;
            if entry.clrtxt.is_some() {
                warnings.0.push(format!("line {line}: {identity} has a clear-text password; re-add it with `intercom-proxy adduser {identity}` to store only hashes"));
            }
            if users.insert(identity.clone(), entry).is_some() {
                return Err(PasswdError::Duplicate { line, identity });
            }
        }
        Ok((Passwd { users }, warnings))
    }

    /// The entry for `user@domain`.
    pub fn get(&self, user: &str, domain: &str) -> Option<&UserEntry> {
        self.users.get(&identity(user, domain))
    }

    /// True when the domain has this user.
    pub fn contains(&self, user: &str, domain: &str) -> bool {
        self.get(user, domain).is_some()
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Adds or replaces a user with the hashes of `password` for realm `domain`.
    pub fn set_password(&mut self, user: &str, domain: &str, password: &str) {
        let entry = UserEntry {
            md5: Some(ha1(Algorithm::Md5, user, domain, password)),
            sha256: Some(ha1(Algorithm::Sha256, user, domain, password)),
            clrtxt: None,
            alias: self.get(user, domain).and_then(|e| e.alias.clone()),
        };
        self.users.insert(identity(user, domain), entry);
    }

    /// The file text: `version:1`, then one line per user in identity order.
    pub fn to_text(&self) -> String {
        let mut out = String::from("version:1\n\n");
        for (id, e) in &self.users {
            out.push_str(id);
            let creds = [("md5", &e.md5), ("sha256", &e.sha256), ("clrtxt", &e.clrtxt)];
            for (scheme, value) in creds {
                if let Some(v) = value {
                    out.push_str(&format!(" {scheme}:{v}"));
                }
            }
            out.push_str(" ;");
            if let Some(a) = &e.alias {
                out.push_str(&format!(" {a}"));
            }
            out.push('\n');
        }
        out
    }
}

fn identity(user: &str, domain: &str) -> String {
    format!("{user}@{}", domain.to_ascii_lowercase())
}

fn parse_user(line: usize, content: &str) -> Result<(String, UserEntry), PasswdError> {
    let (creds, alias) = content.split_once(';').ok_or(PasswdError::MissingSemicolon { line })?;
    let mut words = creds.split_whitespace();
    let id = words.next().unwrap_or("");
    let (user, domain) = id
        .split_once('@')
        .filter(|(u, d)| !u.is_empty() && !d.is_empty() && !d.contains('@'))
        .ok_or_else(|| PasswdError::Identity { line, found: id.to_string() })?;
    let alias = Some(alias.trim().to_string()).filter(|a| !a.is_empty());
    let mut entry = UserEntry { alias, ..UserEntry::default() };
    for word in words {
        add_credential(&mut entry, word).ok_or_else(|| PasswdError::Credential { line, found: word.to_string() })?;
    }
    if entry.md5.is_none() && entry.sha256.is_none() && entry.clrtxt.is_none() {
        return Err(PasswdError::Credential { line, found: String::new() });
    }
    Ok((identity(user, domain), entry))
}

fn add_credential(entry: &mut UserEntry, word: &str) -> Option<()> {
    let (scheme, value) = word.split_once(':')?;
    let is_hex = |n: usize| value.len() == n && value.bytes().all(|b| b.is_ascii_hexdigit());
    match scheme {
        "md5" if is_hex(32) => entry.md5 = Some(value.to_ascii_lowercase()),
        "sha256" if is_hex(64) => entry.sha256 = Some(value.to_ascii_lowercase()),
        "clrtxt" if !value.is_empty() => entry.clrtxt = Some(value.to_string()),
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn hashes_clear_text_and_aliases() {
        let sha = "ab".repeat(32);
        let text =
            format!("# users\nversion:1\n\nalice@Home md5:{MD5} sha256:{sha} ;\nbob@home clrtxt:pw ; +3312345\n");
        let (p, warnings) = Passwd::parse(&text).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get("alice", "home").unwrap().md5.as_deref(), Some(MD5));
        let bob = p.get("bob", "HOME").unwrap();
        assert_eq!(bob.alias.as_deref(), Some("+3312345"));
        assert_eq!(bob.ha1(Algorithm::Md5, "bob", "home").unwrap(), ha1(Algorithm::Md5, "bob", "home", "pw"));
        assert_eq!(warnings.0.len(), 1);
        assert!(warnings.0[0].contains("bob@home"));
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(
            Passwd::parse("alice@home md5:x ;").unwrap_err(),
            PasswdError::Version { line: 1, found: "alice@home md5:x ;".into() }
        );
        let bad_hash = Passwd::parse("version:1\nalice@home md5:1234 ;\n").unwrap_err();
        assert_eq!(bad_hash, PasswdError::Credential { line: 2, found: "md5:1234".into() });
        let no_semi = format!("version:1\n\nalice@home md5:{MD5}\n");
        assert_eq!(Passwd::parse(&no_semi).unwrap_err(), PasswdError::MissingSemicolon { line: 3 });
        assert!(matches!(
            Passwd::parse("version:1\nalice md5:x ;").unwrap_err(),
            PasswdError::Identity { line: 2, .. }
        ));
        let dup = format!("version:1\na@h md5:{MD5} ;\na@h md5:{MD5} ;\n");
        assert!(matches!(Passwd::parse(&dup).unwrap_err(), PasswdError::Duplicate { line: 3, .. }));
        assert!(matches!(Passwd::parse("version:1\na@h ;").unwrap_err(), PasswdError::Credential { line: 2, .. }));
    }

    #[test]
    fn set_password_writes_only_hashes_and_round_trips() {
        let (mut p, _) = Passwd::parse("version:1\nbob@home clrtxt:old ;\n").unwrap();
        p.set_password("bob", "home", "new");
        p.set_password("alice", "home", "secret");
        let text = p.to_text();
        assert!(!text.contains("clrtxt") && !text.contains("new") && !text.contains("secret"), "{text}");
        let (again, warnings) = Passwd::parse(&text).unwrap();
        assert_eq!(again, p);
        assert!(warnings.0.is_empty());
        let alice = again.get("alice", "home").unwrap();
        assert_eq!(
            alice.ha1(Algorithm::Sha256, "alice", "home").unwrap(),
            ha1(Algorithm::Sha256, "alice", "home", "secret")
        );
    }
}
