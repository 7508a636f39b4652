//! The RFC 4475 torture messages, read from `tests/rfc4475/`.
#![allow(dead_code)]

use std::path::PathBuf;

/// One line of `INDEX.tsv`.
pub struct Entry {
    pub file: String,
    pub class: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rfc4475")
}

/// Every entry of the index, in order.
pub fn index() -> Vec<Entry> {
    let text = std::fs::read_to_string(dir().join("INDEX.tsv")).expect("INDEX.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Entry { file: cols[0].to_string(), class: cols[2].to_string() }
        })
        .collect()
}

/// The bytes of one torture message.
pub fn load(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A small deterministic generator (xorshift64*), so the fuzz-style tests
/// are reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
