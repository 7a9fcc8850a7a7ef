//! A look at a scenario's raw text before TOML parses it: the parser holds the whole document
//! in memory at about a hundred times the file's size, so a file that must be refused anyway
//! (more steps than any request may have) is refused before it is parsed.

use super::request::MAX_STEPS;
use super::{ScenarioError, Source};

/// Inline tables (`{ ... }`) a scenario may hold: room for the steps of `[request]` and of one
/// server at the largest request, plus the pools and proxies around them.
const MAX_INLINE_TABLES: usize = 2 * MAX_STEPS + 1024;

/// Refuses a text with more inline tables than [`MAX_INLINE_TABLES`], at the first one too many.
/// Braces inside strings and comments do not count.
pub(super) fn check_inline_tables(source: &Source) -> Result<(), ScenarioError> {
    let mut count = 0usize;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    let mut escaped = false;
    for (offset, &b) in source.text.as_bytes().iter().enumerate() {
        match (quote, b) {
            (_, b'\n') => {
                comment = false;
                escaped = false;
            }
            _ if comment => {}
            (Some(q), _) => {
                if escaped {
                    escaped = false;
                } else if b == b'\\' && q == b'"' {
                    escaped = true;
                } else if b == q {
                    quote = None;
                }
            }
            (None, b'#') => comment = true,
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'{') => {
                count += 1;
                if count > MAX_INLINE_TABLES {
                    return Err(source.at(
                        offset..offset,
                        &format!(
                            "more than {MAX_INLINE_TABLES} inline tables; a request has at most {MAX_STEPS} steps, so this file cannot be a valid scenario"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        let many = "{".repeat(MAX_INLINE_TABLES + 1);
        let text = format!("a = \"{many}\" # {many}\n");
        assert!(check_inline_tables(&Source::new(&text, "x.toml")).is_ok());
        let text = format!("a = [{}]\n", "{ b = 1 },".repeat(MAX_INLINE_TABLES + 1));
        let e = check_inline_tables(&Source::new(&text, "x.toml")).unwrap_err();
        assert!(e.to_string().contains("x.toml:1:"), "{e}");
    }
}
