//! Which file types may be attached, decided from the file's leading bytes (the maintained
//! `infer` crate's signatures) and never from its name or declared type alone: the declared
//! `Content-Type` must be allowed (`limits.attachment_types`) and must be what the bytes are.
//! SVG and HTML are never allowed, whatever the settings say: a browser runs their scripts.

/// The types this checker can confirm from a file's bytes, and so the only ones
/// `limits.attachment_types` may list.
pub const CHECKABLE: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "application/zip",
    "text/plain",
];

/// Types refused whatever the settings say.
pub const NEVER: &[&str] = &["image/svg+xml", "text/html", "application/xhtml+xml"];

/// Why a file was refused, as the `attachments_refused_total` metric's `reason` label and the
/// problem's detail say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The declared type is not allowed (or is never allowed).
    TypeNotAllowed,
    /// The bytes are not what the declared type says.
    ContentMismatch,
}

impl Refusal {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::TypeNotAllowed => "type_not_allowed",
            Refusal::ContentMismatch => "content_mismatch",
        }
    }
}

/// The lower-cased media type of a `Content-Type` value, without parameters:
/// `Text/Plain; charset=utf-8` → `text/plain`.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks that `declared` (an `essence`) is in `allowed` and is what `bytes` are.
pub fn check_type(declared: &str, allowed: &[String], bytes: &[u8]) -> Result<(), Refusal> {
    let mut check = StreamCheck::new(declared, allowed)?;
    check.feed(bytes)?;
    check.finish()
}

/// The same check on a file that arrives in pieces: the first piece (the upload route makes it
/// at least a chunk long, or the whole file) decides the type from its leading bytes; a text file
/// is also checked piece by piece (UTF-8 across the cuts, no control characters).
#[derive(Debug)]
pub struct StreamCheck {
    declared: String,
    /// Whether the leading bytes were seen.
    started: bool,
    /// For text: the bytes of a character cut at the end of the last piece.
    carry: Vec<u8>,
}

impl StreamCheck {
    /// Refuses a `declared` type that is not allowed (or never is).
    pub fn new(declared: &str, allowed: &[String]) -> Result<Self, Refusal> {
        if NEVER.contains(&declared) || !allowed.iter().any(|a| a == declared) {
            return Err(Refusal::TypeNotAllowed);
        }
        Ok(StreamCheck {
            declared: declared.to_string(),
            started: false,
            carry: Vec::new(),
        })
    }

    /// Checks the next piece of the file.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let text = self.declared == "text/plain";
        if !self.started {
            self.started = true;
            let sniffed = infer::get(bytes).map(|t| t.mime_type());
            let head_ok = if text {
                sniffed.is_none() && !is_markup(bytes)
            } else {
                sniffed == Some(self.declared.as_str())
            };
            if !head_ok {
                return Err(Refusal::ContentMismatch);
            }
        }
        if text && !self.plain_text(bytes) {
            return Err(Refusal::ContentMismatch);
        }
        Ok(())
    }

    /// The file ended: a text file may not end inside a character.
    pub fn finish(self) -> Result<(), Refusal> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(Refusal::ContentMismatch)
        }
    }

    /// UTF-8 (a character may continue in the next piece) with no control characters but tab,
    /// newline, carriage return and form feed.
    fn plain_text(&mut self, bytes: &[u8]) -> bool {
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&joined) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() => {
                let (head, tail) = joined.split_at(e.valid_up_to());
                self.carry = tail.to_vec();
                std::str::from_utf8(head).unwrap_or_default()
            }
            Err(_) => return false,
        };
        !valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
    }
}

/// Whether text starts as markup a browser would render (an SVG or HTML document sent as text).
fn is_markup(bytes: &[u8]) -> bool {
    let head: String = String::from_utf8_lossy(bytes)
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    ["<svg", "<!doctype", "<html", "<?xml", "<script"]
        .iter()
        .any(|tag| head.starts_with(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        CHECKABLE.iter().map(|s| s.to_string()).collect()
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

    #[test]
    fn a_png_is_a_png_and_nothing_else() {
        assert_eq!(check_type("image/png", &all(), PNG), Ok(()));
        assert_eq!(
            check_type("text/html", &all(), PNG),
            Err(Refusal::TypeNotAllowed)
        );
        assert_eq!(
            check_type("image/jpeg", &all(), PNG),
            Err(Refusal::ContentMismatch)
        );
        assert_eq!(
            check_type("text/plain", &all(), PNG),
            Err(Refusal::ContentMismatch)
        );
    }

    #[test]
    fn an_exe_named_png_is_refused() {
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0";
        assert_eq!(
            check_type("image/png", &all(), exe),
            Err(Refusal::ContentMismatch)
        );
    }

    #[test]
    fn svg_and_html_never_pass_even_as_text() {
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        let mut allowed = all();
        allowed.push("image/svg+xml".into());
        assert_eq!(
            check_type("image/svg+xml", &allowed, svg),
            Err(Refusal::TypeNotAllowed)
        );
        assert_eq!(
            check_type("text/plain", &all(), svg),
            Err(Refusal::ContentMismatch)
        );
        assert_eq!(
            check_type("text/plain", &all(), b"  <!DOCTYPE html><p>x"),
            Err(Refusal::ContentMismatch)
        );
        assert_eq!(check_type("text/plain", &all(), b"a log\nline 2\n"), Ok(()));
    }

    #[test]
    fn a_type_left_out_of_the_settings_is_refused() {
        let only_png = vec!["image/png".to_string()];
        assert_eq!(
            check_type("text/plain", &only_png, b"hello"),
            Err(Refusal::TypeNotAllowed)
        );
    }

    #[test]
    fn text_in_pieces_may_cut_a_character_but_not_end_inside_one() {
        let text = "caf\u{e9} log\n".as_bytes();
        let (a, b) = text.split_at(4); // inside the two bytes of the e-acute
        let mut check = StreamCheck::new("text/plain", &all()).unwrap_or_else(|_| panic!());
        assert_eq!(check.feed(a), Ok(()));
        assert_eq!(check.feed(b), Ok(()));
        assert_eq!(check.finish(), Ok(()));
        let mut cut = StreamCheck::new("text/plain", &all()).unwrap_or_else(|_| panic!());
        assert_eq!(cut.feed(a), Ok(()));
        assert_eq!(cut.finish(), Err(Refusal::ContentMismatch));
        let mut late = StreamCheck::new("text/plain", &all()).unwrap_or_else(|_| panic!());
        assert_eq!(late.feed(b"fine so far\n"), Ok(()));
        assert_eq!(
            late.feed(b"then a \x00 byte"),
            Err(Refusal::ContentMismatch)
        );
    }

    #[test]
    fn essence_drops_parameters_and_case() {
        assert_eq!(essence("Text/Plain; charset=UTF-8"), "text/plain");
    }
}
