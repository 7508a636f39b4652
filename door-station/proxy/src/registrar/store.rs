//! The bindings store: a JSON-lines snapshot, one binding per line,
//! rewritten as a whole on change.
//!
//! Why this and not redb or sled: a house has tens of bindings, changed a few
//! times an hour, so the whole snapshot is a few kilobytes. Writing it to
//! `<file>.tmp`, `fsync`ing it and renaming it over the old file is
//! crash-safe (a crash leaves the old or the new snapshot, never a mix), needs
//! no dependency beyond serde_json, and the file can be read and edited with
//! a text editor. A line that does not parse is skipped with a warning, so
//! one damaged line does not lose the other bindings.

use std::net::SocketAddr;
use std::path::Path;

use ds_sip::NameAddr;
use ds_sip::transaction::{Peer, Transport};
use serde::{Deserialize, Serialize};

use super::Binding;
use crate::routes::Aor;

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Line {
    aor: String,
    contact: String,
    q_milli: u16,
    expires_at_s: u64,
    call_id: String,
    cseq: u32,
    source: SocketAddr,
    transport: String,
}

impl Line {
    fn of(aor: &Aor, b: &Binding) -> Line {
        Line {
            aor: aor.0.clone(),
            contact: b.contact.to_string(),
            q_milli: b.q_milli,
            expires_at_s: b.expires_at_s,
            call_id: b.call_id.clone(),
            cseq: b.cseq,
            source: b.source.addr,
            transport: b.source.transport.via_token().to_string(),
        }
    }

    fn binding(self) -> Option<(Aor, Binding)> {
        let transport = Transport::from_via_token(&self.transport)?;
        let contact = NameAddr::parse(&self.contact)?;
        let source = Peer { addr: self.source, transport };
        let b = Binding {
            contact,
            q_milli: self.q_milli.min(1000),
            expires_at_s: self.expires_at_s,
            call_id: self.call_id,
            cseq: self.cseq,
            source,
        };
        Some((Aor(self.aor), b))
    }
}

/// Bindings read from a file, and one warning per line skipped.
pub type Loaded = (Vec<(Aor, Binding)>, Vec<String>);

/// The file text for `bindings`.
pub fn to_text(bindings: &[(Aor, Binding)]) -> String {
    let mut out = String::new();
    for (aor, b) in bindings {
        // Serialising plain strings and numbers cannot fail.
        if let Ok(json) = serde_json::to_string(&Line::of(aor, b)) {
            out.push_str(&json);
            out.push('\n');
        }
    }
    out
}

/// The bindings in a file text, and one warning per line skipped.
pub fn from_text(text: &str) -> Loaded {
    let (mut bindings, mut warnings) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Line>(line).ok().and_then(Line::binding) {
            Some(b) => bindings.push(b),
            None => warnings.push(format!("line {}: not a binding, skipped", i + 1)),
        }
    }
    (bindings, warnings)
}

/// Writes the snapshot atomically: temporary file, fsync, rename, fsync of the directory.
pub fn save(path: &Path, bindings: &[(Aor, Binding)]) -> std::io::Result<()> {
    crate::setup::write_atomically(path, to_text(bindings).as_bytes())
}

/// Reads the snapshot; a missing file is an empty store.
pub fn load(path: &Path) -> std::io::Result<Loaded> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(from_text(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), Vec::new())),
        Err(e) => Err(e),
    }
}
