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
        if let Some((at, described)) = describe_type_error(self.text, span.clone(), &message) {
            return self.at(at..at, &described);
        }
        let message = match describe_input(self.text, span.start, &message) {
            Some(described) => described,
            None => explain_toml_message(&message),
        };
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
                let (shown, caret) = window(text, column.saturating_sub(1));
                format!(
                    "\n{:width$} |\n{line} | {shown}\n{:width$} | {}^",
                    "",
                    "",
                    " ".repeat(caret)
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

/// Characters of a snippet shown on each side of the column: a 10 MB line must not become
/// 20 MB of stderr.
const WINDOW: usize = 60;

/// The part of `line` shown in a snippet, control characters escaped, and the caret's column
/// in it: a window of [`WINDOW`] characters around `column` (0-based characters), with `...`
/// where the line is cut.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let from = column.saturating_sub(WINDOW);
    let to = (column + WINDOW).min(chars.len());
    let mut shown = String::new();
    let mut caret = 0;
    if from > 0 {
        shown.push_str("...");
    }
    for (i, &c) in chars.iter().enumerate().take(to).skip(from) {
        if i == column {
            caret = shown.chars().count();
        }
        shown.push_str(&visible(c));
    }
    if column >= to {
        caret = shown.chars().count();
    }
    if to < chars.len() {
        shown.push_str("...");
    }
    (shown, caret)
}

/// A character as a snippet shows it: control characters escaped (`\r`, `\u{1}`), so that
/// nothing raw reaches the terminal.
fn visible(c: char) -> String {
    match c {
        '\t' => "\t".into(),
        '\r' => "\\r".into(),
        c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
        c => c.to_string(),
    }
}

/// Says what is at `offset` when toml's own message is empty or speaks of something that is not
/// there ("invalid string" where no string is written): a control character, a key without a
/// value, a value that is not one, or a file that ends inside a value.
pub(super) fn describe_input(text: &str, offset: usize, message: &str) -> Option<String> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    // A control character on the line (toml points at or just past it).
    let control = line.char_indices().find(|&(i, c)| {
        c.is_control()
            && c != '\t'
            && !(c == '\r' && line_start + i + 1 == line_end && line_end < text.len())
    });
    if let Some((i, c)) = control {
        let in_comment = line[..i].contains('#');
        return Some(if c == '\r' {
            "a carriage return (\\r) without a newline; save the file with \\n or \\r\\n line endings".into()
        } else {
            format!(
                "control character U+{:04X}{}; delete it (only tabs may appear in a line)",
                c as u32,
                if in_comment { " in a comment" } else { "" }
            )
        });
    }
    let vague = message.is_empty()
        || message.starts_with("invalid string")
        || message.starts_with("invalid inline table")
        || message.starts_with("invalid array");
    if !vague {
        return None;
    }
    let assignment = line.split_once('=').map(|(k, v)| (k.trim(), v.trim()));
    match assignment {
        Some((key, "")) => Some(format!(
            "\"{key} =\" has no value; write one after the =, e.g. {key} = {}",
            example_value(key.trim_matches('"'))
        )),
        Some((key, value))
            if !value.starts_with(['[', '{', '"', '\''])
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c)) =>
        {
            Some(format!(
                "{value:?} is not a value for {key}: write a number, a \"quoted string\", true or false"
            ))
        }
        _ if text[offset..].trim().is_empty() => Some(
            "the file ends inside a value; finish it and close every [ and { that is open".into(),
        ),
        _ if message.is_empty() => Some(format!(
            "this line does not parse as TOML: {:?}",
            line.chars().take(80).collect::<String>()
        )),
        _ => None,
    }
}

/// serde's "invalid type: floating point `1000000000.0`, expected i64" in plain words, at the
/// key that holds the value (toml points at a whole `[[server]]` table for those): the key's
/// byte offset and the message.
fn describe_type_error(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
) -> Option<(usize, String)> {
    let rest = message.strip_prefix("invalid type: ")?;
    let (found, expected) = rest.split_once(", expected ")?;
    let whole = ["i64", "u64", "i32", "u32", "usize", "u16", "u8"]
        .iter()
        .any(|t| expected.trim() == *t);
    if !whole {
        return None;
    }
    // Which written value is meant: a float equal to the one serde saw, or the quoted string.
    let matches: Box<dyn Fn(&str) -> bool> = if let Some(x) = found
        .strip_prefix("floating point `")
        .and_then(|f| f.strip_suffix('`'))
        .and_then(|f| f.parse::<f64>().ok())
    {
        Box::new(move |v: &str| {
            v.replace('_', "")
                .parse::<f64>()
                .is_ok_and(|w| w == x || (w.is_nan() && x.is_nan()))
        })
    } else if let Some(s) = found.strip_prefix("string ") {
        let s = s.to_string();
        Box::new(move |v: &str| v == s || v.trim_matches('\'') == s.trim_matches('"'))
    } else {
        return None;
    };
    let region_start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut region_end = span.end.clamp(span.start, text.len());
    let at_header = text[region_start..].trim_start().starts_with('[');
    // At a table header (internally tagged tables have no spans of their own) the value is
    // somewhere in the table: up to the next header.
    if at_header {
        let body = text[region_start..]
            .find('\n')
            .map_or(text.len(), |i| region_start + i);
        region_end = text[body..].find("\n[").map_or(text.len(), |i| body + i);
    }
    let mut offset = region_start;
    for line in text[region_start..].split_inclusive('\n') {
        if offset > region_end {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim();
            let value = value.split('#').next().unwrap_or("").trim();
            if !key.is_empty() && matches(value) {
                // A value's own span is kept; a table's is narrowed to the key.
                let at = if at_header {
                    offset + line.len() - line.trim_start().len()
                } else {
                    span.start
                };
                return Some((at, whole_number_message(key, value)));
            }
        }
        offset += line.len();
    }
    None
}

/// "`key` must be a whole number between .. and .., not `written`", with how to write it.
pub(super) fn whole_number_message(key: &str, written: &str) -> String {
    let range = match key {
        "loops" | "workers" | "threads" | "offload" | "connections" | "concurrency"
        | "requests" => format!(" between 1 and {}", crate::validation::MAX_ENTITIES),
        "processes" => format!(" between 1 and {}", crate::validation::MAX_PROCESSES),
        "cores" => format!(" between 1 and {}", super::MAX_CORES),
        "seed" | "max_events" => format!(" between 0 and {}", u64::MAX),
        _ => String::new(),
    };
    let unquoted = written.trim_matches(['"', '\'']);
    let how = if written.starts_with(['"', '\'']) && unquoted.parse::<f64>().is_ok() {
        format!("; write it without quotes: {key} = {unquoted}")
    } else {
        String::new()
    };
    format!("{key} must be a whole number{range}, not {written}{how}")
}

/// The key of a `[[server]]` table whose value serde refused as "invalid type: floating point
/// `X`" or "string \"S\"" where a whole number was expected, with the message in plain words.
pub(super) fn server_type_error(table: &toml::Table, message: &str) -> Option<(String, String)> {
    let rest = message.strip_prefix("invalid type: ")?;
    let (found, _) = rest.split_once(", expected ")?;
    table.iter().find_map(|(key, value)| {
        let (same, shown) = match value {
            toml::Value::Float(f) => (
                found
                    .strip_prefix("floating point `")
                    .and_then(|x| x.strip_suffix('`'))
                    .and_then(|x| x.parse::<f64>().ok())
                    .is_some_and(|x| x == *f),
                format!("{f}"),
            ),
            toml::Value::String(s) => (found == format!("string {s:?}"), format!("{s:?}")),
            _ => return None,
        };
        same.then(|| (key.clone(), whole_number_message(key, &shown)))
    })
}

/// A plausible value for a key, for "has no value" messages.
fn example_value(key: &str) -> &'static str {
    match key {
        "requests" | "connections" => "10000",
        "rate" => "1000",
        "concurrency" => "50",
        "cores" | "loops" | "workers" | "threads" | "machines" | "processes" => "4",
        "seed" => "1",
        "name" | "label" => "\"my-api\"",
        "model" => "\"cooperative\"",
        "kind" => "\"open\"",
        "cpu" | "io" | "rtt" | "quantum" | "duration" | "think" | "interval" => "\"1ms\"",
        _ => "1 or \"1ms\"",
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
