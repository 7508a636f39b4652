//! The SDP parser (RFC 8866 §5, §9). Total: every input gives a
//! description or an [`SdpError`] with the 1-based line number.
//!
//! Leniency, on purpose: LF-only and CRLF line ends, blank lines, trailing
//! whitespace, session-level lines in any order, a missing `s=` or `t=`, and
//! `m=` lines without formats are accepted. Unknown line types, lines that
//! are not `x=...`, and malformed `o=`, `c=`, `m=`, `t=`, `a=rtpmap` and
//! `a=fmtp` are errors.

use super::{Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SdpError, SessionDescription};

/// A media section being read, with its own direction attribute if any.
struct MediaDraft {
    media: MediaDescription,
    direction: Option<Direction>,
}

/// The description being read.
#[derive(Default)]
struct Draft {
    origin: Option<Origin>,
    name: Option<String>,
    connection: Option<Connection>,
    bandwidths: Vec<String>,
    times: Vec<(u64, u64)>,
    direction: Option<Direction>,
    attributes: Vec<Attribute>,
    other: Vec<(char, String)>,
    media: Vec<MediaDraft>,
}

pub(super) fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l.trim_end())).filter(|(_, l)| !l.is_empty());
    let (n, first) = lines.next().ok_or(SdpError::Empty)?;
    if first != "v=0" {
        return Err(SdpError::Version { line: n, text: first.to_string() });
    }
    let mut draft = Draft::default();
    for (n, line) in lines {
        let (letter, value) = split_line(n, line)?;
        if letter == 'm' {
            draft.media.push(media_line(n, value)?);
        } else if let Some(m) = draft.media.last_mut() {
            media_field(m, n, letter, value)?;
        } else {
            draft.session_field(n, letter, value)?;
        }
    }
    draft.finish()
}

/// `x=value` → (x, value).
fn split_line(n: usize, line: &str) -> Result<(char, &str), SdpError> {
    let malformed = || SdpError::Malformed { line: n, text: line.to_string() };
    let mut chars = line.chars();
    let letter = chars.next().filter(char::is_ascii_lowercase).ok_or_else(malformed)?;
    if chars.next() != Some('=') {
        return Err(malformed());
    }
    Ok((letter, &line[2..]))
}

fn bad(line: usize, field: &'static str, value: &str) -> SdpError {
    SdpError::BadField { line, field, value: value.to_string() }
}

impl Draft {
    fn session_field(&mut self, n: usize, letter: char, value: &str) -> Result<(), SdpError> {
        match letter {
            'o' => self.origin = Some(origin(n, value)?),
            's' => self.name = Some(value.to_string()),
            'c' => self.connection = Some(connection(n, "c= line", value)?),
            'b' => self.bandwidths.push(value.to_string()),
            't' => self.times.push(times(n, value)?),
            'a' => {
                let a = attribute(value);
                match direction_of(&a) {
                    Some(d) => self.direction = Some(d),
                    None => self.attributes.push(a),
                }
            }
            'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => self.other.push((letter, value.to_string())),
            'v' => return Err(SdpError::OutOfPlace { line: n, letter }),
            _ => return Err(SdpError::UnknownType { line: n, letter }),
        }
        Ok(())
    }

    fn finish(self) -> Result<SessionDescription, SdpError> {
        let session_direction = self.direction;
        let media = self
            .media
            .into_iter()
            .map(|mut d| {
                d.media.direction = d.direction.or(session_direction).unwrap_or_default();
                d.media
            })
            .collect();
        Ok(SessionDescription {
            origin: self.origin.ok_or(SdpError::Missing { letter: 'o' })?,
            name: self.name.unwrap_or_else(|| "-".to_string()),
            connection: self.connection,
            bandwidths: self.bandwidths,
            times: self.times,
            direction: self.direction,
            attributes: self.attributes,
            other: self.other,
            media,
        })
    }
}

fn media_field(m: &mut MediaDraft, n: usize, letter: char, value: &str) -> Result<(), SdpError> {
    let media = &mut m.media;
    match letter {
        'c' => media.connection = Some(connection(n, "c= line", value)?),
        'b' => media.bandwidths.push(value.to_string()),
        'i' | 'k' => media.other.push((letter, value.to_string())),
        'a' => {
            let a = attribute(value);
            match (a.name.as_str(), &a.value) {
                ("rtpmap", Some(v)) => media.rtpmap.push(rtpmap(n, v)?),
                ("fmtp", Some(v)) => media.fmtp.push(fmtp(n, v)?),
                _ => match direction_of(&a) {
                    Some(d) => m.direction = Some(d),
                    None => media.attributes.push(a),
                },
            }
        }
        'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' => {
            return Err(SdpError::OutOfPlace { line: n, letter });
        }
        _ => return Err(SdpError::UnknownType { line: n, letter }),
    }
    Ok(())
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
fn origin(n: usize, value: &str) -> Result<Origin, SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [username, id, version, rest @ ..] = fields.as_slice() else {
        return Err(bad(n, "o= line", value));
    };
    if rest.len() != 3 {
        return Err(bad(n, "o= line", value));
    }
    Ok(Origin {
        username: username.to_string(),
        session_id: id.to_string(),
        session_version: version.to_string(),
        connection: connection(n, "o= address", &rest.join(" "))?,
    })
}

/// `<nettype> <addrtype> <address>`.
fn connection(n: usize, field: &'static str, value: &str) -> Result<Connection, SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [net_type, addr_type, address] = fields.as_slice() else {
        return Err(bad(n, field, value));
    };
    Ok(Connection { net_type: net_type.to_string(), addr_type: addr_type.to_string(), address: address.to_string() })
}

/// `t=<start> <stop>`.
fn times(n: usize, value: &str) -> Result<(u64, u64), SdpError> {
    let mut fields = value.split_ascii_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next(), fields.next()) {
        (Some(Ok(start)), Some(Ok(stop)), None) => Ok((start, stop)),
        _ => Err(bad(n, "t= line", value)),
    }
}

/// `m=<media> <port>[/<count>] <proto> <fmt> ...`.
fn media_line(n: usize, value: &str) -> Result<MediaDraft, SdpError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad(n, "m= line", value));
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, c)) => (p, Some(c.parse().map_err(|_| bad(n, "m= port count", c))?)),
        None => (port, None),
    };
    let media = MediaDescription {
        kind: kind.to_string(),
        port: port.parse().map_err(|_| bad(n, "m= port", port))?,
        port_count,
        proto: proto.to_string(),
        formats: fields.map(str::to_string).collect(),
        connection: None,
        bandwidths: Vec::new(),
        direction: Direction::default(),
        rtpmap: Vec::new(),
        fmtp: Vec::new(),
        attributes: Vec::new(),
        other: Vec::new(),
    };
    Ok(MediaDraft { media, direction: None })
}

/// The direction a property attribute names, if it is one.
fn direction_of(a: &Attribute) -> Option<Direction> {
    a.value.is_none().then(|| Direction::from_token(&a.name)).flatten()
}

/// `a=name[:value]`.
fn attribute(value: &str) -> Attribute {
    match value.split_once(':') {
        Some((name, v)) => Attribute { name: name.to_string(), value: Some(v.to_string()) },
        None => Attribute { name: value.to_string(), value: None },
    }
}

/// `<pt> <encoding>/<clock>[/<channels>]`.
fn rtpmap(n: usize, value: &str) -> Result<RtpMap, SdpError> {
    let err = || bad(n, "a=rtpmap", value);
    let (pt, spec) = value.trim().split_once(' ').ok_or_else(err)?;
    let mut parts = spec.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty()).ok_or_else(err)?;
    let clock = parts.next().and_then(|c| c.parse().ok()).ok_or_else(err)?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().map_err(|_| err())?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(err());
    }
    Ok(RtpMap {
        pt: pt.parse().ok().filter(|pt| *pt < 128).ok_or_else(err)?,
        encoding: encoding.to_string(),
        clock,
        channels,
    })
}

/// `<format> <parameters>`; the parameters may be empty.
fn fmtp(n: usize, value: &str) -> Result<(String, String), SdpError> {
    let value = value.trim();
    let (format, params) = value.split_once(' ').unwrap_or((value, ""));
    if format.is_empty() {
        return Err(bad(n, "a=fmtp", value));
    }
    Ok((format.to_string(), params.trim().to_string()))
}
