//! The SDP writer: RFC 8866 §5 line order, CRLF line ends.
//!
//! Session-level `i=`, `u=`, `e=`, `p=` follow `s=`; `r=`, `z=`, `k=` follow
//! the `t=` lines. A media section writes `c=`, `b=`, then `a=rtpmap`,
//! `a=fmtp`, the other attributes and last its direction. Parsing the
//! output gives back an equal description (see the round-trip tests).

use std::fmt::{self, Display, Formatter};

use super::{Attribute, Connection, MediaDescription, RtpMap, SessionDescription};

impl Display for Connection {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "a={}:{v}\r\n", self.name),
            None => write!(f, "a={}\r\n", self.name),
        }
    }
}

impl Display for RtpMap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "a=rtpmap:{} {}/{}", self.pt, self.encoding, self.clock)?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        f.write_str("\r\n")
    }
}

fn other_lines(f: &mut Formatter<'_>, lines: &[(char, String)], letters: &str) -> fmt::Result {
    for (letter, value) in lines.iter().filter(|(l, _)| letters.contains(*l)) {
        write!(f, "{letter}={value}\r\n")?;
    }
    Ok(())
}

fn connection_and_bandwidth(
    f: &mut Formatter<'_>,
    connection: &Option<Connection>,
    bandwidths: &[String],
) -> fmt::Result {
    if let Some(c) = connection {
        write!(f, "c={c}\r\n")?;
    }
    for b in bandwidths {
        write!(f, "b={b}\r\n")?;
    }
    Ok(())
}

impl Display for SessionDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        f.write_str("v=0\r\n")?;
        write!(f, "o={} {} {} {}\r\n", o.username, o.session_id, o.session_version, o.connection)?;
        write!(f, "s={}\r\n", self.name)?;
        other_lines(f, &self.other, "iuep")?;
        connection_and_bandwidth(f, &self.connection, &self.bandwidths)?;
        if self.times.is_empty() {
            f.write_str("t=0 0\r\n")?;
        }
        for (start, stop) in &self.times {
            write!(f, "t={start} {stop}\r\n")?;
        }
        other_lines(f, &self.other, "rzk")?;
        if let Some(d) = self.direction {
            write!(f, "a={}\r\n", d.token())?;
        }
        for a in &self.attributes {
            a.fmt(f)?;
        }
        for m in &self.media {
            m.fmt(f)?;
        }
        Ok(())
    }
}

impl Display for MediaDescription {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str("\r\n")?;
        other_lines(f, &self.other, "i")?;
        connection_and_bandwidth(f, &self.connection, &self.bandwidths)?;
        other_lines(f, &self.other, "k")?;
        for map in &self.rtpmap {
            map.fmt(f)?;
        }
        for (format, params) in &self.fmtp {
            write!(f, "a=fmtp:{format} {params}\r\n")?;
        }
        for a in &self.attributes {
            a.fmt(f)?;
        }
        write!(f, "a={}\r\n", self.direction.token())
    }
}
