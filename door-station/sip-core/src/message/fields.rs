//! The message head: start line and header fields (RFC 3261 §7.3), found
//! with CRLF line ends, folded lines joined, values trimmed.

use super::intake::IntakeError;

/// The end of the head: the empty line.
pub const HEAD_END: &[u8] = b"\r\n\r\n";

/// A head split into lines. `defect` records the first problem that still
/// lets the fields be read (a bad name, a value that is not UTF-8), so a
/// request can be answered with 400 rather than dropped.
#[derive(Debug)]
pub struct Head<'a> {
    /// The start line, without its CRLF.
    pub start: &'a [u8],
    /// Fields as (name as written, unfolded value).
    pub fields: Vec<(String, String)>,
    /// Where the body starts in the buffer.
    pub body_offset: usize,
    /// The first recoverable defect.
    pub defect: Option<IntakeError>,
}

/// Position of the first `CRLF CRLF`.
pub fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(HEAD_END.len()).position(|w| w == HEAD_END)
}

/// Bytes of leading CRLFs (RFC 3261 §7.5: ignored before a start line).
pub fn leading_crlf(buf: &[u8]) -> usize {
    let mut n = 0;
    while buf[n..].starts_with(b"\r\n") {
        n += 2;
    }
    n
}

/// Where the head ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Only at an empty line (streams).
    EmptyLine,
    /// At an empty line, or at the end of a datagram whose last header line
    /// ends in CRLF; the missing empty line is then a defect (400).
    EndOfDatagram,
}

/// Split `buf` (starting at the start line) into its head.
pub fn split_head(buf: &[u8], boundary: Boundary) -> Result<Head<'_>, IntakeError> {
    let (end, defect) = match find_head_end(buf) {
        Some(end) => (end, None),
        None if boundary == Boundary::EndOfDatagram && buf.ends_with(b"\r\n") => {
            (buf.len() - 2, Some(IntakeError::NoEmptyLine))
        }
        None => return Err(IntakeError::Incomplete),
    };
    let all = split_crlf(&buf[..end]);
    if all.iter().any(|l| l.contains(&b'\r') || l.contains(&b'\n')) {
        return Err(IntakeError::LineEnding);
    }
    let mut lines = all.into_iter();
    let start = lines.next().filter(|l| !l.is_empty()).ok_or(IntakeError::LineEnding)?;
    let body_offset = (end + HEAD_END.len()).min(buf.len());
    let mut head = Head { start, fields: Vec::new(), body_offset, defect };
    let mut folded: Vec<&[u8]> = Vec::new();
    for line in lines {
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if folded.is_empty() {
                return Err(IntakeError::FoldedFirstLine);
            }
            folded.push(line);
            continue;
        }
        head.add_field(&folded);
        folded = vec![line];
    }
    head.add_field(&folded);
    Ok(head)
}

/// Lines separated by CRLF.
fn split_crlf(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some(i) = bytes.windows(2).position(|w| w == b"\r\n") {
        out.push(&bytes[..i]);
        bytes = &bytes[i + 2..];
    }
    out.push(bytes);
    out
}

impl Head<'_> {
    fn add_field(&mut self, lines: &[&[u8]]) {
        let Some(first) = lines.first() else { return };
        let Some(colon) = first.iter().position(|&b| b == b':') else {
            self.note(IntakeError::HeaderLine { line: String::from_utf8_lossy(first).into_owned() });
            return;
        };
        let name = String::from_utf8_lossy(first[..colon].trim_ascii_end()).into_owned();
        if !super::grammar::is_token(&name) {
            self.note(IntakeError::HeaderName { name: name.clone() });
        }
        let pieces = std::iter::once(&first[colon + 1..]).chain(lines[1..].iter().copied());
        let joined: Vec<&[u8]> = pieces.map(<[u8]>::trim_ascii).filter(|p| !p.is_empty()).collect();
        let raw = joined.join(&b' ');
        let value = match String::from_utf8(raw) {
            Ok(v) => v,
            Err(e) => {
                self.note(IntakeError::NotUtf8 { name: name.clone() });
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        self.fields.push((name, value));
    }

    fn note(&mut self, e: IntakeError) {
        self.defect.get_or_insert(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_head_stream(buf: &[u8]) -> Result<Head<'_>, IntakeError> {
        split_head(buf, Boundary::EmptyLine)
    }

    #[test]
    fn datagram_without_empty_line() {
        let head = split_head(b"A b SIP/2.0\r\nX: y\r\n", Boundary::EndOfDatagram).unwrap();
        assert_eq!(head.fields.len(), 1);
        assert_eq!(head.defect, Some(IntakeError::NoEmptyLine));
        assert!(split_head(b"A b SIP/2.0\r\nX: y", Boundary::EndOfDatagram).is_err());
    }

    #[test]
    fn folding_and_trimming() {
        let buf = b"INVITE sip:a@b SIP/2.0\r\nTO :\r\n sip:a@b ;  tag = 1\r\ns :\r\nX:  a\r\n\t b\r\n\r\nbody";
        let head = split_head_stream(buf).unwrap();
        assert_eq!(head.start, b"INVITE sip:a@b SIP/2.0");
        assert_eq!(head.fields[0], ("TO".to_string(), "sip:a@b ;  tag = 1".to_string()));
        assert_eq!(head.fields[1], ("s".to_string(), String::new()));
        assert_eq!(head.fields[2], ("X".to_string(), "a b".to_string()));
        assert_eq!(&buf[head.body_offset..], b"body");
        assert!(head.defect.is_none());
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(split_head_stream(b"A b SIP/2.0\r\n\r"), Err(IntakeError::Incomplete)));
        assert!(matches!(split_head_stream(b"A b SIP/2.0\r\n x: y\r\n\r\n"), Err(IntakeError::FoldedFirstLine)));
        assert!(matches!(split_head_stream(b"A b SIP/2.0\nX: y\r\n\r\n"), Err(IntakeError::LineEnding)));
        let bad_name = split_head_stream(b"A b SIP/2.0\r\nBad Name: y\r\n\r\n").unwrap();
        assert!(matches!(bad_name.defect, Some(IntakeError::HeaderName { .. })));
    }
}
