//! Free text typed at the edge — names, addresses, descriptions, notes — checked the same way
//! everywhere: no control characters (they hide text, break CSV and log lines) and no bidi
//! overrides or isolates (U+202A–U+202E, U+2066–U+2069, "Trojan Source": they make
//! `…\u{202E}gpj.exe` read as `…exe.jpg` on a page or in an export). A multi-line note keeps
//! its line breaks and tabs.

/// The catalogue key of the refusal, shared by every area.
pub const REFUSED: &str = "error.text_control";

/// Whether `c` may not stand in a one-line name (`multi_line: false`) or a note (`true`).
pub fn refused_char(c: char, multi_line: bool) -> bool {
    match c {
        '\n' | '\t' | '\r' if multi_line => false,
        // C0 controls and DEL, C1 controls.
        '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' => true,
        // Bidi embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI,
        // FSI, PDI).
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// A one-line value (a name, an address, a title): `Err(REFUSED)` if it holds a control or
/// bidi character.
pub fn check_line(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| refused_char(c, false)) {
        return Err(REFUSED);
    }
    Ok(())
}

/// A multi-line note or description: line breaks and tabs are kept, everything else as
/// [`check_line`].
pub fn check_note(s: &str) -> Result<(), &'static str> {
    if s.chars().any(|c| refused_char(c, true)) {
        return Err(REFUSED);
    }
    Ok(())
}

/// Full-width ASCII (as some input methods type digits and letters) and the ideographic space
/// become their ASCII selves; ends are trimmed.
pub fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// `张三丰` → `张**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_notes() {
        assert!(check_line("王小明").is_ok());
        assert!(check_line("Anne-Marie O'Neil").is_ok());
        for bad in [
            "王\u{202E}明",
            "a\u{2066}b",
            "a\u{2069}",
            "a\u{0}b",
            "a\u{1B}[31m",
            "a\u{85}b",
            "a\u{7F}",
            "a\nb",
            "a\tb",
        ] {
            assert_eq!(check_line(bad), Err(REFUSED), "{bad:?}");
        }
        assert!(check_note("第一行\r\n第二行\t缩进").is_ok());
        assert_eq!(check_note("备注\u{202D}"), Err(REFUSED));
        assert_eq!(check_note("bell\u{7}"), Err(REFUSED));
        // Marks and joiners that scripts need are not overrides.
        assert!(check_line("a\u{200D}b\u{200E}").is_ok());
    }
}
