//! The Secure Channel base key on disk: 32 hex digits, written atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::ReaderError;

/// A 16-byte AES-128 Secure Channel base key (SCBK).
pub type Scbk = [u8; 16];

/// Parses 32 hex digits (surrounding whitespace allowed).
pub fn parse_key(text: &str) -> Option<Scbk> {
    let text = text.trim();
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// Formats a key as 32 lowercase hex digits.
pub fn format_key(key: &Scbk) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the reader keeps the key the panel set with `osdp_KEYSET`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// A key file at `path` (`osdp.key_file`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KeyFile { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored key; `None` if the file does not exist.
    pub fn load(&self) -> Result<Option<Scbk>, ReaderError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => parse_key(&text).map(Some).ok_or_else(|| ReaderError::KeyFile {
                path: self.path.clone(),
                reason: "expected 32 hex digits (a 16-byte SCBK)".into(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Stores `key`: written to a temporary file readable by the owner only,
    /// synced, then renamed over the old one, so a power cut leaves either key.
    pub fn store(&self, key: &Scbk) -> Result<(), ReaderError> {
        let tmp = self.path.with_extension("tmp");
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| self.error(e))?;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .and_then(|()| writeln!(file, "{}", format_key(key)))
            .and_then(|()| file.sync_all())
            .and_then(|()| fs::rename(&tmp, &self.path))
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: std::io::Error) -> ReaderError {
        ReaderError::KeyFile { path: self.path.clone(), reason: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_the_file() {
        let dir = std::env::temp_dir().join(format!("ds-osdp-key-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = KeyFile::new(dir.join("scbk"));
        assert_eq!(file.load().unwrap(), None);
        let key: Scbk = core::array::from_fn(|i| (i * 17) as u8);
        file.store(&key).unwrap();
        assert_eq!(file.load().unwrap(), Some(key));
        let mode = fs::metadata(file.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::write(file.path(), "not a key").unwrap();
        assert!(matches!(file.load(), Err(ReaderError::KeyFile { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hex_parsing_is_strict() {
        let key = parse_key(" 303132333435363738393a3b3c3d3e3f\n").unwrap();
        assert_eq!(&key[..4], b"0123");
        assert_eq!(format_key(&key), "303132333435363738393a3b3c3d3e3f");
        for bad in [
            "",
            "00",
            "zz3132333435363738393a3b3c3d3e3f",
            "303132333435363738393a3b3c3d3e3f00",
            "é03132333435363738393a3b3c3d3e",
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }
}
