//! Configuration errors that say where and how to fix.

use std::fmt;
use std::path::PathBuf;

/// Which key a check is about: `[table] key`, or `[[table]] #n key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyPath {
    /// The table (`sip`) or array of tables (`button`).
    pub table: &'static str,
    /// For an array of tables, the entry (0-based).
    pub index: Option<usize>,
    /// The key inside the table.
    pub key: &'static str,
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "[[{}]] #{} {}", self.table, i + 1, self.key),
            None => write!(f, "[{}] {}", self.table, self.key),
        }
    }
}

/// One failed check, before it is placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    /// The key.
    pub at: KeyPath,
    /// The value as TOML (`"12a#"`, `0`), `None` if the key is absent.
    pub value: Option<String>,
    /// What is wrong.
    pub problem: String,
    /// A line that would be right (`code = "1234#"`).
    pub example: String,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Not TOML, an unknown key, or a value of the wrong type.
    #[error("{file}{}: {}{message}", line_suffix(*line), snippet_prefix(snippet))]
    Syntax {
        /// The file name.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// The offending line, trimmed.
        snippet: String,
        /// What the TOML reader said.
        message: String,
    },
    /// Well-formed, but a value cannot work.
    #[error("{file}{}: {key}{}: {problem}; e.g. {example}", line_suffix(*line), value_suffix(value))]
    Invalid {
        /// The file name.
        file: String,
        /// 1-based line of the key (or of its table when the key is absent).
        line: Option<usize>,
        /// `[table] key`.
        key: String,
        /// The value as written, `None` if absent.
        value: Option<String>,
        /// What is wrong.
        problem: String,
        /// A line that would be right.
        example: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

fn snippet_prefix(snippet: &str) -> String {
    if snippet.is_empty() { String::new() } else { format!("{snippet}: ") }
}

fn value_suffix(value: &Option<String>) -> String {
    match value {
        Some(v) => format!(" = {v}"),
        None => " is not set".to_string(),
    }
}

impl ConfigError {
    /// A TOML reader error, placed at its line.
    pub(crate) fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
        let line = e.span().map(|s| line_of(text, s.start));
        let snippet = line.and_then(|l| text.lines().nth(l - 1)).unwrap_or("").trim().to_string();
        ConfigError::Syntax { file: file.to_string(), line, snippet, message: e.message().trim().to_string() }
    }

    /// A failed check, placed at the key's line.
    pub(crate) fn invalid(file: &str, text: &str, issue: Issue) -> ConfigError {
        ConfigError::Invalid {
            file: file.to_string(),
            line: locate(text, issue.at).map(|offset| line_of(text, offset)),
            key: issue.at.to_string(),
            value: issue.value,
            problem: issue.problem,
            example: issue.example,
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Byte offset of the key, or of its table's header when the key is absent.
fn locate(text: &str, at: KeyPath) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let (table_key, item) = doc.as_table().get_key_value(at.table)?;
    let table = match at.index {
        Some(i) => item.as_array_of_tables()?.get(i)?,
        None => item.as_table()?,
    };
    let key_span = table.get_key_value(at.key).and_then(|(k, _)| k.span());
    let fallback = table.span().or_else(|| table_key.span());
    key_span.or(fallback).map(|s| s.start)
}
