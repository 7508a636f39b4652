//! The header list: names in canonical long form, values unfolded, wire order kept.

/// Header fields in wire order. Names are stored in canonical form (compact
/// forms expanded, RFC 3261 §7.3.3), so lookups by long name find `v:` too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

const COMPACT: &[(&str, &str)] = &[
    ("i", "Call-ID"),
    ("m", "Contact"),
    ("e", "Content-Encoding"),
    ("l", "Content-Length"),
    ("c", "Content-Type"),
    ("f", "From"),
    ("s", "Subject"),
    ("k", "Supported"),
    ("t", "To"),
    ("v", "Via"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("u", "Allow-Events"),
];

const KNOWN: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Event",
    "Allow-Events",
    "Refer-To",
    "RSeq",
    "RAck",
    "Session-Expires",
    "Min-SE",
    "Path",
    "P-Asserted-Identity",
];

/// The canonical spelling of a header name: compact forms expanded and known
/// names in their RFC spelling; unknown names are kept as written.
pub fn canonical_name(name: &str) -> String {
    if name.len() == 1
        && let Some((_, long)) = COMPACT.iter().find(|(c, _)| c.eq_ignore_ascii_case(name))
    {
        return (*long).to_string();
    }
    KNOWN.iter().find(|k| k.eq_ignore_ascii_case(name)).map(|k| (*k).to_string()).unwrap_or_else(|| name.to_string())
}

impl Headers {
    /// Append a field (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((canonical_name(name), value.into()));
    }

    /// Insert a field before all others (e.g. a new top Via).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(0, (canonical_name(name), value.into()));
    }

    /// Replace every field of that name by one value, keeping the position of the first.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_name(name);
        let value = value.into();
        match self.0.iter().position(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            Some(i) => {
                self.0[i].1 = value;
                let mut j = 0;
                self.0.retain(|(n, _)| {
                    j += 1;
                    j - 1 == i || !n.eq_ignore_ascii_case(&name)
                });
            }
            None => self.0.push((name, value)),
        }
    }

    /// Remove every field of that name.
    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
    }

    /// Remove the first value of that name (e.g. the top Via); a
    /// comma-separated field loses only its first element.
    pub fn remove_first(&mut self, name: &str) {
        let name = canonical_name(name);
        if let Some(i) = self.0.iter().position(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            let parts = super::typed::split_commas(&self.0[i].1);
            if parts.len() > 1 {
                self.0[i].1 = parts[1..].join(", ");
            } else {
                self.0.remove(i);
            }
        }
    }

    /// The first value of that name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every field value of that name, in order (not split at commas).
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = canonical_name(name);
        self.0.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(&name)).map(|(_, v)| v.as_str())
    }

    /// Every field as (name, value), in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
