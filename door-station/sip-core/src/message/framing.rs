//! Framing SIP on a stream transport (TCP, TLS): RFC 3261 §18.3 requires
//! Content-Length there, and it alone says where a message ends. The framer
//! is sans-IO: the shell pushes what it read and pulls messages.

use super::canonical_name;
use super::fields::{self, Boundary, HEAD_END};
use super::intake::{self, Intake, IntakeError};

/// Why a stream cannot be framed any further. After one of these the
/// connection must be closed: there is no way to find the next message.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The head grew past the limit without an empty line.
    #[error("no end of header section within {max} bytes")]
    HeadTooLarge {
        /// The configured limit.
        max: usize,
    },
    /// Head plus Content-Length exceed the limit.
    #[error("message of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Head plus declared body.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// No Content-Length: required on streams (RFC 3261 §18.3).
    #[error("no Content-Length on a stream transport")]
    MissingContentLength,
    /// Content-Length is not one non-negative number.
    #[error("Content-Length {value:?} cannot frame the stream")]
    BadContentLength {
        /// The value(s) as written.
        value: String,
    },
    /// The head's lines cannot be read.
    #[error("unreadable message head: {0}")]
    Head(IntakeError),
}

/// Cuts a byte stream into messages.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max: usize,
    /// Bytes of `buf` already searched for the end of the head.
    searched: usize,
    /// Total length of the message at the front, once its head is read.
    pending: Option<usize>,
    failed: Option<FramingError>,
    crlf_run: usize,
    pings: usize,
}

impl StreamFramer {
    /// A framer refusing messages longer than `max_message` bytes (head and
    /// body; 64 KiB, the largest UDP datagram, is a sensible bound).
    pub fn new(max_message: usize) -> Self {
        StreamFramer {
            buf: Vec::new(),
            max: max_message,
            searched: 0,
            pending: None,
            failed: None,
            crlf_run: 0,
            pings: 0,
        }
    }

    /// Append bytes read from the connection (ignored after a framing error).
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The next message: `None` until a whole one is buffered; an error, once
    /// and then on every call, when the stream cannot be framed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Intake, FramingError>> {
        if let Some(e) = &self.failed {
            return Some(Err(e.clone()));
        }
        self.skip_keepalives();
        match self.frame() {
            Ok(None) => None,
            Ok(Some(len)) => {
                let msg: Vec<u8> = self.buf.drain(..len).collect();
                (self.searched, self.pending) = (0, None);
                Some(Ok(intake::parse_message(&msg, Boundary::EmptyLine)))
            }
            Err(e) => {
                self.buf = Vec::new();
                self.failed = Some(e.clone());
                Some(Err(e))
            }
        }
    }

    /// Keep-alive pings (CRLF CRLF, RFC 5626 §3.5.1) seen since the last call.
    /// A server answers each with one CRLF (a pong).
    pub fn take_pings(&mut self) -> usize {
        std::mem::take(&mut self.pings)
    }

    /// Bytes buffered and not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drop CRLFs before a start line, counting each pair as a ping.
    fn skip_keepalives(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let n = fields::leading_crlf(&self.buf);
        if n == 0 {
            if !self.buf.is_empty() && self.buf != b"\r" {
                self.crlf_run = 0;
            }
            return;
        }
        self.buf.drain(..n);
        self.searched = 0;
        self.crlf_run += n / 2;
        self.pings += self.crlf_run / 2;
        self.crlf_run %= 2;
    }

    /// The length of the message at the front, once all of it is buffered.
    fn frame(&mut self) -> Result<Option<usize>, FramingError> {
        let total = match self.pending {
            Some(total) => total,
            None => match self.find_head()? {
                Some(head_len) => self.measure(head_len)?,
                None => return Ok(None),
            },
        };
        Ok((self.buf.len() >= total).then_some(total))
    }

    /// The head's length, searching only bytes not searched before.
    fn find_head(&mut self) -> Result<Option<usize>, FramingError> {
        let from = self.searched.saturating_sub(HEAD_END.len() - 1);
        if let Some(i) = fields::find_head_end(&self.buf[from..]) {
            return Ok(Some(from + i + HEAD_END.len()));
        }
        self.searched = self.buf.len();
        if self.buf.len() > self.max {
            return Err(FramingError::HeadTooLarge { max: self.max });
        }
        Ok(None)
    }

    fn measure(&mut self, head_len: usize) -> Result<usize, FramingError> {
        let head = fields::split_head(&self.buf[..head_len], Boundary::EmptyLine).map_err(FramingError::Head)?;
        let total = head_len.saturating_add(content_length(&head.fields)?);
        if total > self.max {
            return Err(FramingError::TooLarge { size: total, max: self.max });
        }
        self.pending = Some(total);
        Ok(total)
    }
}

/// The one Content-Length value of a head.
fn content_length(fields: &[(String, String)]) -> Result<usize, FramingError> {
    let values: Vec<&str> =
        fields.iter().filter(|(n, _)| canonical_name(n) == "Content-Length").map(|(_, v)| v.as_str()).collect();
    match values[..] {
        [] => Err(FramingError::MissingContentLength),
        [one] if !one.is_empty() && one.bytes().all(|b| b.is_ascii_digit()) => {
            one.parse().map_err(|_| FramingError::BadContentLength { value: one.to_string() })
        }
        _ => Err(FramingError::BadContentLength { value: values.join(", ") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n\
From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody";

    fn is_message(item: Option<Result<Intake, FramingError>>) -> bool {
        matches!(item, Some(Ok(Intake::Message(Message::Request(_)))))
    }

    #[test]
    fn byte_by_byte_with_keepalives() {
        let mut f = StreamFramer::new(4096);
        let stream = [b"\r\n\r\n".as_slice(), OPTIONS, b"\r\n\r\n", OPTIONS].concat();
        let mut messages = 0;
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(item) = f.next() {
                assert!(is_message(Some(item)));
                messages += 1;
            }
        }
        assert_eq!((messages, f.take_pings(), f.buffered()), (2, 2, 0));
    }

    #[test]
    fn two_messages_in_one_read() {
        let mut f = StreamFramer::new(4096);
        f.push(&[OPTIONS, OPTIONS].concat());
        assert!(is_message(f.next()));
        assert!(is_message(f.next()));
        assert!(f.next().is_none());
    }

    #[test]
    fn errors_are_sticky() {
        let mut f = StreamFramer::new(4096);
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        assert_eq!(f.next(), Some(Err(FramingError::MissingContentLength)));
        f.push(OPTIONS);
        assert_eq!(f.next(), Some(Err(FramingError::MissingContentLength)));
        let mut f = StreamFramer::new(4096);
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n");
        assert!(matches!(f.next(), Some(Err(FramingError::BadContentLength { .. }))));
    }

    #[test]
    fn limits() {
        let mut f = StreamFramer::new(64);
        f.push(&[b'A'; 65]);
        assert_eq!(f.next(), Some(Err(FramingError::HeadTooLarge { max: 64 })));
        let mut f = StreamFramer::new(OPTIONS.len() - 1);
        f.push(OPTIONS);
        assert!(matches!(f.next(), Some(Err(FramingError::TooLarge { .. }))));
        let mut f = StreamFramer::new(4096);
        f.push(&OPTIONS[..OPTIONS.len() - 1]);
        assert_eq!(f.next(), None);
    }
}
