//! Masking of numbers people type into free text (a case's description, a worker's note, an
//! Open311 report): mobile numbers as `138****1234`, landlines as `021-****1234`, ID numbers as
//! `310115********123X` (the birth date never shown), like the registry's own fields. Masked
//! text is what anyone but the writer reads unless the numbers are revealed (and audited).

/// What a run of digits in free text is, and how it is shown.
fn masked_number(digits: &str, x_suffix: bool) -> Option<String> {
    let b = digits.as_bytes();
    match (b.len(), x_suffix) {
        // A mainland mobile number: 1, then 3–9, then nine digits (GB/T 37656 numbering).
        (11, false) if b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) => {
            Some(format!("{}****{}", &digits[..3], &digits[7..]))
        }
        // An 18-character resident ID number (GB 11643): 17 digits and a check character.
        (18, false) | (17, true) => Some(format!(
            "{}********{}{}",
            &digits[..6],
            &digits[14..],
            if x_suffix { "X" } else { "" }
        )),
        // The older 15-digit ID number: region, YYMMDD, three digits.
        (15, false) => Some(format!("{}******{}", &digits[..6], &digits[12..])),
        _ => None,
    }
}

/// Phone and ID numbers in free text masked; everything else as written.
pub fn free_text(text: &str) -> String {
    mask(text, false)
}

/// What a public view may show of free text: phone and ID numbers masked as by
/// [`free_text`], and flat numbers too (`201室`, `3号楼2单元201`, `5-201`), so that a report
/// published names the building at most.
pub fn public_text(text: &str) -> String {
    mask(text, true)
}

fn mask(text: &str, flats: bool) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        // A landline written with its area code: 0xx(x)-xxxxxxx(x).
        if digits.starts_with('0') && (3..=4).contains(&digits.len()) && chars.get(i) == Some(&'-')
        {
            let mut j = i + 1;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let local: String = chars[i + 1..j].iter().collect();
            if (7..=8).contains(&local.len()) && !chars.get(j).is_some_and(char::is_ascii_digit) {
                out.push_str(&format!("{digits}-****{}", &local[local.len() - 4..]));
                i = j;
                continue;
            }
        }
        let x = matches!(chars.get(i), Some('X' | 'x')) && digits.len() == 17;
        if let Some(m) = masked_number(&digits, x) {
            out.push_str(&m);
            if x {
                i += 1;
            }
            continue;
        }
        if flats && is_flat_number(&chars, start, i) {
            out.push_str("**");
            continue;
        }
        out.push_str(&digits);
    }
    out
}

/// Whether the digits at `start..end` name a flat: followed by 室, 房 or 户, after 单元, or
/// the last part of a building-unit-flat number such as `5-201` or `3-2-1201`.
fn is_flat_number(chars: &[char], start: usize, end: usize) -> bool {
    let after = chars.get(end).copied();
    if matches!(after, Some('室' | '房' | '户')) {
        return true;
    }
    let before: String = chars[start.saturating_sub(2)..start].iter().collect();
    if before == "单元" {
        return true;
    }
    let joined_before = start > 1 && chars[start - 1] == '-' && chars[start - 2].is_ascii_digit();
    let joined_after = after == Some('-') && chars.get(end + 1).is_some_and(char::is_ascii_digit);
    if !joined_before || joined_after {
        return false;
    }
    // Building and unit numbers before it are short; a date (2026-11-29) starts with a year.
    let mut dash = start - 1;
    loop {
        let mut g = dash;
        while g > 0 && chars[g - 1].is_ascii_digit() {
            g -= 1;
        }
        if dash - g > 3 {
            return false;
        }
        if g >= 2 && chars[g - 1] == '-' && chars[g - 2].is_ascii_digit() {
            dash = g - 1;
        } else {
            return true;
        }
    }
}

/// A reporter's phone or e-mail (or both, as Open311 gives them) masked for display: phone
/// numbers as [`free_text`] masks them, an e-mail as `l***@example.org`, anything else but
/// its last two characters hidden.
pub fn contact(text: &str) -> String {
    text.split_whitespace()
        .map(|part| {
            if let Some((user, domain)) = part.split_once('@') {
                let first: String = user.chars().take(1).collect();
                return format!("{first}***@{domain}");
            }
            let digits: String = part.chars().filter(char::is_ascii_digit).collect();
            if let Ok(p) = crate::registry::idnum::Phone::parse(part) {
                return p.masked();
            }
            if let Some(m) = masked_number(&digits, false) {
                return m;
            }
            let n = part.chars().count();
            let tail: String = part.chars().skip(n.saturating_sub(2)).collect();
            format!("****{tail}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_masked_in_text() {
        assert_eq!(
            free_text("请联系王阿姨女儿13812341234，谢谢"),
            "请联系王阿姨女儿138****1234，谢谢"
        );
        assert_eq!(free_text("13812341234"), "138****1234");
        // Not a mobile number: twelve digits, a leading 2, or a 1 then 2.
        assert_eq!(free_text("138123412345"), "138123412345");
        assert_eq!(free_text("23812341234"), "23812341234");
        assert_eq!(free_text("12812341234"), "12812341234");
        assert_eq!(free_text("电话 021-58881234"), "电话 021-****1234");
        assert_eq!(free_text("0571-8888123"), "0571-****8123");
    }

    #[test]
    fn id_numbers_are_masked_in_text() {
        assert_eq!(
            free_text("身份证11010519491231002X办理"),
            "身份证110105********002X办理"
        );
        assert_eq!(
            free_text("id 11010519491231002x."),
            "id 110105********002X."
        );
        assert_eq!(free_text("310115199001011234"), "310115********1234");
        assert_eq!(
            free_text("老证号 110105491231002"),
            "老证号 110105******002"
        );
        // Other numbers stay: a year, a count, a plate's digits, a flat, a date.
        assert_eq!(
            free_text("2026年有3辆车停在5号楼201室门口，沪A12345"),
            "2026年有3辆车停在5号楼201室门口，沪A12345"
        );
        assert_eq!(free_text("2026-11-29 报"), "2026-11-29 报");
    }

    #[test]
    fn public_text_also_hides_the_flat() {
        assert_eq!(
            public_text("5号楼201室门口路灯坏了"),
            "5号楼**室门口路灯坏了"
        );
        assert_eq!(public_text("3号楼2单元1201漏水"), "3号楼2单元**漏水");
        assert_eq!(public_text("住在5-201的"), "住在5-**的");
        assert_eq!(public_text("3-2-1201"), "3-2-**");
        assert_eq!(public_text("2026-11-29"), "2026-11-29");
        assert_eq!(
            public_text("联系13812341234，在201室"),
            "联系138****1234，在**室"
        );
        // The building and a street number are coarse places, kept.
        assert_eq!(public_text("浦东南路201号5号楼"), "浦东南路201号5号楼");
    }

    #[test]
    fn contacts_are_masked_like_phones() {
        assert_eq!(contact("13912345678"), "139****5678");
        assert_eq!(contact("021-58881234"), "021-****1234");
        assert_eq!(contact("lin@example.org"), "l***@example.org");
        assert_eq!(
            contact("13912345678 lin@example.org"),
            "139****5678 l***@example.org"
        );
        assert_eq!(contact("021-5555"), "****55");
        assert_eq!(contact(""), "");
    }
}
