//! Cleaning an uploaded file's name: the last path component only, no control characters, at
//! most `MAX_NAME_CHARS` characters, and a fallback when nothing is left.

/// Longest name kept, in characters (contract §12).
pub const MAX_NAME_CHARS: usize = 200;

/// The name given to a file whose own name is absent or cleans to nothing.
pub const FALLBACK_NAME: &str = "attachment";

/// The name as stored and shown: whatever follows the last `/` or `\`, with control characters
/// (and the invisible bidirectional overrides that disguise extensions) removed, trimmed, cut to
/// `MAX_NAME_CHARS` characters; `.` and `..` and empty names become `FALLBACK_NAME`.
pub fn clean_name(raw: Option<&str>) -> String {
    let raw = raw.unwrap_or_default();
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let cut: String = cleaned.trim().chars().take(MAX_NAME_CHARS).collect();
    let cut = cut.trim().to_string();
    if cut.is_empty() || cut == "." || cut == ".." {
        FALLBACK_NAME.to_string()
    } else {
        cut
    }
}

/// Unicode's bidirectional embedding, override and isolate controls (U+202A–U+202E,
/// U+2066–U+2069): `invoice\u{202E}gnp.exe` would show as `invoiceexe.png`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_control_characters_are_stripped() {
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("C:\\Users\\me\\shot.png")), "shot.png");
        assert_eq!(clean_name(Some("a\u{0}b\r\n.txt")), "ab.txt");
        assert_eq!(clean_name(Some("invoice\u{202E}gnp.exe")), "invoicegnp.exe");
        assert_eq!(clean_name(Some("dir/")), FALLBACK_NAME);
        assert_eq!(clean_name(Some("..")), FALLBACK_NAME);
        assert_eq!(clean_name(None), FALLBACK_NAME);
    }

    #[test]
    fn long_names_are_cut_to_200_characters() {
        let long = "é".repeat(300);
        assert_eq!(clean_name(Some(&long)).chars().count(), MAX_NAME_CHARS);
    }
}
