//! The Flexisip-compatible static records file.
//!
//! ```text
//! # comment
//! <sip:everyone@home> <sip:alice@home>, <sip:bob@home>, <sip:carol@cloud.example>
//! ```
//! Each line maps an address (the alias) to its members. A request for the
//! alias rings every member: members in our domains through their
//! registrations, foreign ones through the upstream proxy.

use std::collections::BTreeMap;

/// A SIP address reduced to what routing compares: `user@host`, host lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Aor(pub String);

impl Aor {
    /// The AOR of a `sip:` / `sips:` URI (port and parameters dropped).
    pub fn of_uri(uri: &str) -> Option<Aor> {
        let (user, host) = user_host(uri)?;
        Some(Aor(format!("{user}@{}", host.to_ascii_lowercase())))
    }

    /// The user part.
    pub fn user(&self) -> &str {
        self.0.split_once('@').map_or("", |(u, _)| u)
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

/// `(user, host)` of `sip:user@host:port;params`; the user may be empty.
pub fn user_host(uri: &str) -> Option<(&str, &str)> {
    let uri = uri.trim();
    let rest = uri.strip_prefix("sip:").or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?']).next()?;
    let (user, host_port) = match rest.rsplit_once('@') {
        Some((u, h)) => (u.split(':').next().unwrap_or(u), h),
        None => ("", rest),
    };
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.split(':').next()?,
    };
    (!host.is_empty()).then_some((user, host))
}

/// The parsed file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    records: BTreeMap<Aor, Vec<String>>,
}

/// A line of the routes file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutesError {
    /// The alias is not a `<sip:user@domain>`.
    #[error(
        "line {line}: the alias {found:?} is not <sip:user@domain>; fix: start the line with e.g. <sip:everyone@home>"
    )]
    Alias {
        /// 1-based line.
        line: usize,
        /// What was there.
        found: String,
    },
    /// A member is not a `sip:` URI.
    #[error(
        "line {line}: the member {found:?} is not a sip: URI; fix: write members as <sip:user@domain>, comma-separated"
    )]
    Member {
        /// 1-based line.
        line: usize,
        /// What was there.
        found: String,
    },
    /// An alias without members.
    #[error("line {line}: {alias} has no members; fix: list at least one <sip:...> after it")]
    Empty {
        /// 1-based line.
        line: usize,
        /// The alias.
        alias: String,
    },
}

impl Routes {
    /// Parses the file text.
    pub fn parse(text: &str) -> Result<Routes, RoutesError> {
        let mut records = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let (alias, members) = parse_line(line, content)?;
            records.insert(alias, members);
        }
        Ok(Routes { records })
    }

    /// The members of `aor`, if it is an alias.
    pub fn members(&self, aor: &Aor) -> Option<&[String]> {
        self.records.get(aor).map(Vec::as_slice)
    }

    /// Number of aliases.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when there is no alias.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

fn parse_line(line: usize, content: &str) -> Result<(Aor, Vec<String>), RoutesError> {
    let alias_end = content.find('>').map_or(content.len(), |i| i + 1);
    let alias_text = &content[..alias_end];
    let alias = alias_text
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .and_then(Aor::of_uri)
        .filter(|a| !a.user().is_empty())
        .ok_or_else(|| RoutesError::Alias { line, found: alias_text.to_string() })?;
    let mut members = Vec::new();
    for part in content[alias_end..].split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let uri = part.trim_start_matches('<').trim_end_matches('>').trim();
        if user_host(uri).is_none() {
            return Err(RoutesError::Member { line, found: part.to_string() });
        }
        members.push(uri.to_string());
    }
    if members.is_empty() {
        return Err(RoutesError::Empty { line, alias: alias.0 });
    }
    Ok((alias, members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_file_parses() {
        let routes = Routes::parse(include_str!("../../../assets/routes")).unwrap();
        let members = routes.members(&Aor("everyone@home".into())).unwrap();
        assert_eq!(members, ["sip:alice@home", "sip:bob@home", "sip:carol@cloud.example"]);
    }

    #[test]
    fn aliases_compare_without_port_and_case() {
        let r = Routes::parse("<sip:Flat@HOME:5060> <sip:a@home>,<sip:b@[::1]:5070;transport=tcp>\n").unwrap();
        let members = r.members(&Aor::of_uri("sip:Flat@home;user=phone").unwrap()).unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(user_host(&members[1]), Some(("b", "::1")));
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(
            Routes::parse("\n<tel:123> <sip:a@h>").unwrap_err(),
            RoutesError::Alias { line: 2, found: "<tel:123>".into() }
        );
        assert!(matches!(Routes::parse("<sip:e@h> <mailto:x>").unwrap_err(), RoutesError::Member { line: 1, .. }));
        assert!(matches!(Routes::parse("<sip:e@h>").unwrap_err(), RoutesError::Empty { line: 1, .. }));
    }
}
