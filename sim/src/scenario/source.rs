//! Source positions: byte spans and `[[server]]` keys turned into `file:line:column: message`
//! with the offending line and a caret.

use super::ScenarioError;

/// A file's text and name, to turn byte spans into `file:line:column` messages.
pub(crate) struct Source<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a str,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str, origin: &'a str) -> Self {
        Source { text, origin }
    }

    pub(super) fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let mut span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        // Inside a [[server]] table toml points at the whole table; find the key's own line.
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            && let Some(at) = find_key(self.text, span.clone(), key)
        {
            span = at..at;
        }
        let message = explain_toml_message(&message);
        self.at(span, &message)
    }

    /// An error at a byte span.
    pub(crate) fn at(&self, span: std::ops::Range<usize>, message: &str) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let (line, column) = line_column(self.text, start);
        self.at_line(line, column, message)
    }

    pub(crate) fn at_line(&self, line: usize, column: usize, message: &str) -> ScenarioError {
        let snippet = match self.text.lines().nth(line.saturating_sub(1)) {
            Some(text) if !text.trim().is_empty() => {
                let width = line.to_string().len();
                format!(
                    "\n{:width$} |\n{line} | {text}\n{:width$} | {}^",
                    "",
                    "",
                    " ".repeat(column.saturating_sub(1))
                )
            }
            _ => String::new(),
        };
        ScenarioError::At {
            origin: self.origin.to_string(),
            line,
            column,
            message: message.to_string(),
            snippet,
        }
    }

    /// An error about `key` of the `index`-th `[[server]]` table (or about the table itself
    /// when the key is not written there). Internally tagged tables carry no spans, so the
    /// position comes from the text: the table header, then the key's line.
    pub(super) fn at_server(
        &self,
        index: usize,
        key: Option<&str>,
        message: &str,
    ) -> ScenarioError {
        let (line, column) = locate_server(self.text, index, key);
        self.at_line(line, column, message)
    }

    /// An error about `key` of a table whose value toml placed at `span`: pointed at the key
    /// itself (the first line from the value's line on that assigns it), else at the span.
    pub(super) fn at_key(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: &str,
    ) -> ScenarioError {
        let start = span.start.min(self.text.len());
        let line_start = self
            .text
            .get(..start)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        match find_key(self.text, line_start..self.text.len(), key) {
            Some(at) => self.at(at..at, message),
            None => self.at(span, message),
        }
    }

    /// An error about the key itself (not its value) of the `index`-th `[[server]]`: an
    /// unknown key is pointed at where it is written.
    pub(super) fn at_server_key(&self, index: usize, key: &str, message: &str) -> ScenarioError {
        let (line, _) = locate_server(self.text, index, Some(key));
        let column = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map_or(1, |text| {
                text.chars().count() - text.trim_start().chars().count() + 1
            });
        self.at_line(line, column, message)
    }
}

/// Byte offset of a line inside `span` that assigns `key` (`key = ...`).
fn find_key(text: &str, span: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let region = text.get(span.clone())?;
    let mut offset = span.start;
    for line in region.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + line.len() - trimmed.len());
        }
        offset += line.len();
    }
    None
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Where `key` of the `index`-th `[[server]]` is written (1-based line and column of its
/// value), or the table's header when the key is absent.
fn locate_server(text: &str, index: usize, key: Option<&str>) -> (usize, usize) {
    let mut seen = 0usize;
    let mut header: Option<usize> = None;
    for (number, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if header.is_some() {
                break; // The next table starts: the key is not written.
            }
            if trimmed.starts_with("[[server]]") {
                if seen == index {
                    header = Some(number + 1);
                }
                seen += 1;
            }
            continue;
        }
        if header.is_none() {
            continue;
        }
        if let Some(key) = key
            && let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let indent = line.len() - trimmed.len();
            let eq = key.len() + rest.len() - rest.trim_start().len();
            let value = trimmed[eq + 1..].len() - trimmed[eq + 1..].trim_start().len();
            let byte = indent + eq + 1 + value;
            return (number + 1, line[..byte].chars().count() + 1);
        }
    }
    (header.unwrap_or(1), 1)
}

/// toml's messages name the problem; add what to write where they do not.
pub(super) fn explain_toml_message(message: &str) -> String {
    if message.starts_with("missing field `server`") {
        return "the scenario has no server; add at least one table like\n[[server]]\nlabel = \"threads\"\nmodel = \"thread_per_request\"\nthreads = 40".into();
    }
    if message.starts_with("missing field `model`") {
        return "this [[server]] has no model; write model = \"thread_per_request\", \"preemptive\" or \"cooperative\"".into();
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!(
            "missing key {rest}; add it (see `sim show recipe-api` for a complete file)"
        );
    }
    if message.starts_with("invalid type: integer") && message.contains("expected a string") {
        return format!(
            "{message}; durations and sizes are strings with units, e.g. \"5ms\" or \"20KiB\""
        );
    }
    message.to_string()
}

/// Where a value was written: a byte span, or a key of the n-th `[[server]]` table.
#[derive(Debug, Clone)]
pub(super) enum Loc {
    Span(std::ops::Range<usize>),
    Server(usize, &'static str),
}

impl Source<'_> {
    pub(super) fn at_loc(&self, loc: &Loc, message: &str) -> ScenarioError {
        match loc {
            Loc::Span(span) => self.at(span.clone(), message),
            Loc::Server(index, key) => self.at_server(*index, Some(key), message),
        }
    }
}
