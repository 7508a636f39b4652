//! SDP rewriting for the relay: every active media line is pointed at a
//! relay port, and the endpoint's own addresses are returned so the relay
//! knows where to send.

use std::net::{IpAddr, SocketAddr};

use ds_sip::sdp::{Connection, SessionDescription};

/// Where one endpoint wants each media line (`None`: the line is disabled, port 0).
pub type Remotes = Vec<Option<SocketAddr>>;

/// The RTP address of every media line of `sdp`, from media- or session-level `c=`.
pub fn remotes(sdp: &SessionDescription) -> Remotes {
    sdp.media
        .iter()
        .map(|m| {
            let conn = m.connection.as_ref().or(sdp.connection.as_ref())?;
            let ip = conn.ip_addr()?;
            (m.port != 0 && !ip.is_unspecified()).then(|| SocketAddr::new(ip, m.port))
        })
        .collect()
}

/// Rewrites `body` so every active media line uses `relay_ip` and the
/// matching even port of `ports` (RTCP on the next one, so `a=rtcp` is
/// dropped). Returns the new body and the endpoint's own addresses, or
/// `None` when the body does not parse or has more lines than `ports`:
/// the caller then forwards it untouched.
pub fn rewrite(body: &[u8], relay_ip: IpAddr, ports: &[u16]) -> Option<(String, Remotes)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut sdp = SessionDescription::parse(text).ok()?;
    if sdp.media.len() > ports.len() {
        return None;
    }
    let found = remotes(&sdp);
    sdp.connection = Some(Connection::ip(relay_ip));
    sdp.origin.connection = Connection::ip(relay_ip);
    for (m, port) in sdp.media.iter_mut().zip(ports) {
        if m.port != 0 {
            m.port = *port;
        }
        m.connection = None;
        m.attributes.retain(|a| a.name != "rtcp");
    }
    Some((sdp.to_string(), found))
}

/// The number of media lines of a body, if it parses.
pub fn media_count(body: &[u8]) -> Option<usize> {
    let sdp = SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()?;
    Some(sdp.media.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=door 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
        m=audio 20000 RTP/AVP 0 101\r\na=rtcp:20009\r\na=rtpmap:101 telephone-event/8000\r\n\
        m=video 20002 RTP/AVP 102\r\nc=IN IP4 10.0.0.10\r\na=sendonly\r\nm=text 0 RTP/AVP 98\r\n";

    #[test]
    fn active_lines_point_at_the_relay() {
        let relay: IpAddr = "192.168.1.2".parse().unwrap();
        let (body, found) = rewrite(OFFER.as_bytes(), relay, &[40000, 40002, 40004]).unwrap();
        assert_eq!(
            found,
            vec![Some("10.0.0.9:20000".parse().unwrap()), Some("10.0.0.10:20002".parse().unwrap()), None]
        );
        let out = SessionDescription::parse(&body).unwrap();
        assert_eq!(
            remotes(&out),
            vec![Some("192.168.1.2:40000".parse().unwrap()), Some("192.168.1.2:40002".parse().unwrap()), None]
        );
        assert!(!body.contains("a=rtcp:"), "{body}");
        assert!(body.contains("a=rtpmap:101 telephone-event/8000") && body.contains("a=sendonly"));
    }

    #[test]
    fn malformed_or_oversized_bodies_are_left_alone() {
        assert_eq!(rewrite(b"not sdp", "127.0.0.1".parse().unwrap(), &[40000]), None);
        assert_eq!(rewrite(OFFER.as_bytes(), "127.0.0.1".parse().unwrap(), &[40000]), None);
        assert_eq!(media_count(OFFER.as_bytes()), Some(3));
    }
}
