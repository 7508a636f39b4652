//! DTMF carried in SIP INFO bodies (`application/dtmf-relay`,
//! `application/dtmf`). Parsers are total: anything unexpected is `None`.
//! (A MESSAGE with the unlock word is the unlock sequencer's business.)

/// A DTMF key: `0`–`9`, `*`, `#`, `A`–`D` (upper case).
pub fn dtmf_key(c: char) -> Option<char> {
    let c = c.to_ascii_uppercase();
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}

/// The digit of an INFO body, by its Content-Type (lower case, no parameters):
/// `application/dtmf-relay` (`Signal=5\r\nDuration=160`) or
/// `application/dtmf` (`5`).
pub fn info_digit(content_type: &str, body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    match content_type {
        "application/dtmf-relay" => dtmf_relay_signal(text),
        "application/dtmf" => signal_value(text.trim()),
        _ => None,
    }
}

fn dtmf_relay_signal(text: &str) -> Option<char> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        key.trim().eq_ignore_ascii_case("signal").then(|| signal_value(value.trim()))?
    })
}

/// One key as written in a body; some phones send `10` for `*` and `11` for
/// `#` (the RFC 4733 event numbers).
fn signal_value(v: &str) -> Option<char> {
    match v {
        "10" => Some('*'),
        "11" => Some('#'),
        _ => {
            let mut chars = v.chars();
            let c = chars.next()?;
            chars.next().is_none().then_some(())?;
            dtmf_key(c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_relay_bodies() {
        assert_eq!(info_digit("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(info_digit("application/dtmf-relay", b"signal = #\nDuration=250"), Some('#'));
        assert_eq!(info_digit("application/dtmf-relay", b"Signal=11\r\n"), Some('#'));
        assert_eq!(info_digit("application/dtmf-relay", b"Duration=160\r\n"), None);
        assert_eq!(info_digit("application/dtmf-relay", b"Signal=55"), None);
        assert_eq!(info_digit("application/dtmf-relay", b"Signal=\xff"), None);
    }

    #[test]
    fn dtmf_bodies() {
        assert_eq!(info_digit("application/dtmf", b"5"), Some('5'));
        assert_eq!(info_digit("application/dtmf", b" * \r\n"), Some('*'));
        assert_eq!(info_digit("application/dtmf", b"a"), Some('A'));
        assert_eq!(info_digit("application/dtmf", b"x"), None);
        assert_eq!(info_digit("application/dtmf", b""), None);
        assert_eq!(info_digit("text/plain", b"5"), None);
    }
}
