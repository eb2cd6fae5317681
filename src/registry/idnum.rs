//! Domain types for Chinese resident identity numbers (公民身份号码,
//! GB 11643-1999) and mainland phone numbers.
//!
//! Both types are "parse, don't validate": once you hold an [`IdNumber`] or a
//! [`Phone`], it is known to be well-formed and normalised (ASCII digits,
//! uppercase `X`, canonical separators). Input typed by community workers is
//! tolerated generously: surrounding and embedded spaces, full-width digits
//! (`０-９`), full-width `Ｘ`/`ｘ`, ideographic spaces, `+86` prefixes and
//! assorted dashes.
//!
//! `Debug` for [`IdNumber`] prints the masked form so that numbers do not leak
//! into logs by accident; use [`IdNumber::as_str`] (or `Display`) when the full
//! number is really needed.

use crate::kernel::i18n::both;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

/// ISO 7064 MOD 11-2 weights for the first 17 characters.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters indexed by `sum % 11`.
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Province-level codes (first two digits) in use, including 71 (Taiwan),
/// 81/82 (Hong Kong/Macau residence permits), 83 (Taiwan residence permits)
/// and 91 (foreign permanent residents).
const PROVINCES: [u8; 36] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91,
];

/// Map full-width forms and unusual spaces/dashes to ASCII; everything else is
/// kept as is.
fn to_halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2002}'..='\u{200B}' | '\u{202F}' | '\u{205F}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => '-',
        _ => c,
    }
}

/// Sex as encoded in the 17th character of an identity number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// `"M"` or `"F"`.
    pub fn code(&self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    /// `"男"` or `"女"`.
    pub fn label_zh(&self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }

    /// Inverse of [`Sex::code`] (also accepts lowercase and 男/女).
    pub fn from_code(s: &str) -> Option<Sex> {
        match s.trim() {
            "M" | "m" | "男" => Some(Sex::Male),
            "F" | "f" | "女" => Some(Sex::Female),
            _ => None,
        }
    }
}

/// Why a string is not a valid identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdNumberError {
    /// Neither 18 nor 15 characters long.
    Length,
    /// Contains something other than digits (and a final `X`).
    BadCharacter,
    /// The final check character does not match the first 17.
    BadCheckDigit { expected: char, found: char },
    /// The embedded birth date is not a real date, is in the future or is
    /// before 1900.
    BadBirthDate,
    /// The administrative region code is not plausible.
    BadRegion,
}

impl fmt::Display for IdNumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&match self {
            IdNumberError::Length => both("registry.id_number.length", &[]),
            IdNumberError::BadCharacter => both("registry.id_number.character", &[]),
            IdNumberError::BadCheckDigit { expected, found } => both(
                "registry.id_number.check_digit",
                &[("expected", expected), ("found", found)],
            ),
            IdNumberError::BadBirthDate => both("registry.id_number.birth_date", &[]),
            IdNumberError::BadRegion => both("registry.id_number.region", &[]),
        })
    }
}

impl std::error::Error for IdNumberError {}

/// A validated 18-character identity number (ASCII digits, uppercase `X`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

impl IdNumber {
    /// Parse and validate an identity number, converting 15-digit legacy
    /// numbers to 18 characters.
    pub fn parse(input: &str) -> Result<IdNumber, IdNumberError> {
        Self::parse_on(input, crate::kernel::time::today())
    }

    /// Like [`IdNumber::parse`], judging "birth date in the future" against
    /// `today` (useful for tests and for deterministic imports).
    pub fn parse_on(input: &str, today: NaiveDate) -> Result<IdNumber, IdNumberError> {
        let mut s = String::with_capacity(18);
        for c in input.chars().map(to_halfwidth) {
            if c.is_whitespace() {
                continue;
            }
            s.push(c.to_ascii_uppercase());
        }
        let n = s.chars().count();
        if n != 18 && n != 15 {
            return Err(IdNumberError::Length);
        }
        let b = s.as_bytes();
        if b.len() != n {
            // some non-ASCII character survived normalisation
            return Err(IdNumberError::BadCharacter);
        }
        let digits_ok = if n == 18 {
            b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'X')
        } else {
            b.iter().all(u8::is_ascii_digit)
        };
        if !digits_ok {
            return Err(IdNumberError::BadCharacter);
        }
        if n == 15 {
            // legacy: RRRRRR YYMMDD SSS -> RRRRRR 19YYMMDD SSS C
            let mut first17 = String::with_capacity(18);
            first17.push_str(&s[..6]);
            first17.push_str("19");
            first17.push_str(&s[6..15]);
            s = first17;
        }
        // First digit 1–8 (9 only for 91, foreign permanent residents) and
        // a province code that exists.
        let r = s.as_bytes();
        let province = (r[0] - b'0') * 10 + (r[1] - b'0');
        if !PROVINCES.contains(&province) {
            return Err(IdNumberError::BadRegion);
        }
        let birth = birth_from(&s[6..14]).ok_or(IdNumberError::BadBirthDate)?;
        let min = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
        if birth < min || birth > today {
            return Err(IdNumberError::BadBirthDate);
        }
        let expected = check_char(&s[..17]);
        if n == 15 {
            s.push(expected);
        } else {
            let found = s.as_bytes()[17] as char;
            if found != expected {
                return Err(IdNumberError::BadCheckDigit { expected, found });
            }
        }
        Ok(IdNumber(s))
    }

    /// Compose a valid number from a 6-digit region code, a birth date and a
    /// sequence number `0..=999` (odd = male, even = female).
    ///
    /// # Panics
    /// If `region` is not 6 ASCII digits, `seq > 999` or the birth year is not
    /// in `1000..=9999`. This is meant for generators and tests, not for user
    /// input.
    pub fn build(region: &str, birth: NaiveDate, seq: u16) -> IdNumber {
        assert!(
            region.len() == 6 && region.bytes().all(|c| c.is_ascii_digit()),
            "region code must be 6 digits: {region:?}"
        );
        assert!(seq <= 999, "sequence must be 0..=999, got {seq}");
        assert!(
            (1000..=9999).contains(&birth.year()),
            "birth year out of range"
        );
        let mut s = String::with_capacity(18);
        use std::fmt::Write as _;
        let _ = write!(
            s,
            "{region}{:04}{:02}{:02}{seq:03}",
            birth.year(),
            birth.month(),
            birth.day()
        );
        let c = check_char(&s);
        s.push(c);
        IdNumber(s)
    }

    /// The full 18-character number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        birth_from(&self.0[6..14]).expect("validated at construction")
    }

    /// Sex encoded by the parity of the 17th character (odd = male).
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The 6-digit administrative region code where the number was issued.
    pub fn region(&self) -> &str {
        &self.0[..6]
    }

    /// Masked for display: the region, eight asterisks and the last four
    /// characters, e.g. `310115********123X`. The birth date is never shown.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }

    /// Age in completed years on `date` (0 if `date` is before the birth).
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        age_between(self.birth_date(), date)
    }
}

/// Completed years between `birth` and `date` (0 if `date < birth`).
pub fn age_between(birth: NaiveDate, date: NaiveDate) -> u32 {
    if date < birth {
        return 0;
    }
    let mut years = date.year() - birth.year();
    if (date.month(), date.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

fn birth_from(yyyymmdd: &str) -> Option<NaiveDate> {
    let y: i32 = yyyymmdd.get(0..4)?.parse().ok()?;
    let m: u32 = yyyymmdd.get(4..6)?.parse().ok()?;
    let d: u32 = yyyymmdd.get(6..8)?.parse().ok()?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The ISO 7064 MOD 11-2 check character for the first 17 digits.
///
/// # Panics
/// If `first17` has fewer than 17 characters or contains non-digits among
/// them (only the first 17 are used).
pub fn check_char(first17: &str) -> char {
    let b = first17.as_bytes();
    assert!(b.len() >= 17, "need 17 digits");
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(&c, w)| {
            assert!(c.is_ascii_digit(), "need 17 digits");
            u32::from(c - b'0') * w
        })
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// The full number. Prefer [`IdNumber::masked`] for anything shown in lists.
impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdNumber {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdNumber::parse(s)
    }
}

impl AsRef<str> for IdNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for IdNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for IdNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IdNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------

/// Why a string is not an acceptable phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneError {
    /// Nothing was entered.
    Empty,
    /// Contains letters or other symbols.
    BadCharacter,
    /// A mobile number that is not 11 digits or not starting with 13–19.
    BadMobile,
    /// A landline whose area code or local number has the wrong length.
    BadLandline,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&both(
            match self {
                PhoneError::Empty => "registry.phone.empty",
                PhoneError::BadCharacter => "registry.phone.character",
                PhoneError::BadMobile => "registry.phone.mobile",
                PhoneError::BadLandline => "registry.phone.landline",
            },
            &[],
        ))
    }
}

impl std::error::Error for PhoneError {}

/// A mainland mobile number (`13812341234`) or a landline with area code
/// (`021-58881234`), normalised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

impl Phone {
    /// Parse a mobile or landline number; see the module docs for what is
    /// tolerated.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let mut s = String::with_capacity(input.len());
        for c in input.chars().map(to_halfwidth) {
            match c {
                c if c.is_whitespace() => {}
                '(' | ')' | '.' => {}
                '0'..='9' | '+' | '-' => s.push(c),
                _ => return Err(PhoneError::BadCharacter),
            }
        }
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        // A '+' may only appear as the very first character.
        if s[1..].contains('+') {
            return Err(PhoneError::BadCharacter);
        }
        let trimmed = s.trim_start_matches('-');
        let digits: String = trimmed.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }

        // International prefix: +86, 0086, or a bare 86 in front of a mobile.
        let (intl, rest): (bool, &str) = if let Some(r) = trimmed.strip_prefix("+86") {
            (true, r)
        } else if trimmed.starts_with('+') {
            return Err(PhoneError::BadCharacter);
        } else if let Some(r) = trimmed.strip_prefix("0086") {
            (true, r)
        } else if digits.len() == 13 && digits.starts_with("861") {
            (true, &trimmed[2..])
        } else {
            (false, trimmed)
        };
        let rest = rest.trim_start_matches('-');
        let rest_digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();

        if rest_digits.starts_with('1') {
            return Self::mobile(&rest_digits);
        }
        if intl {
            // +86 21 5888 1234: area code written without its leading 0
            if rest_digits.starts_with('0') {
                return Self::landline(rest);
            }
            return Self::landline(&format!("0{rest}"));
        }
        if rest_digits.starts_with('0') {
            return Self::landline(rest);
        }
        if rest_digits.len() == 11 {
            return Err(PhoneError::BadMobile);
        }
        Err(PhoneError::BadLandline)
    }

    fn mobile(d: &str) -> Result<Phone, PhoneError> {
        let b = d.as_bytes();
        if b.len() != 11 || b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(PhoneError::BadMobile);
        }
        Ok(Phone(d.to_string()))
    }

    /// `s` starts with '0' (possibly with dashes inside).
    fn landline(s: &str) -> Result<Phone, PhoneError> {
        let dashed_area = s.split_once('-').filter(|(a, _)| {
            (3..=4).contains(&a.len())
                && a.starts_with('0')
                && a.bytes().all(|c| c.is_ascii_digit())
        });
        let (area, local): (String, String) = match dashed_area {
            Some((a, l)) => (a.to_string(), l.replace('-', "")),
            None => {
                let d: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
                // 010 and 020–029 are the only three-character area codes.
                let alen = match d.as_bytes().get(1) {
                    Some(b'1') | Some(b'2') => 3,
                    _ => 4,
                };
                if d.len() <= alen {
                    return Err(PhoneError::BadLandline);
                }
                (d[..alen].to_string(), d[alen..].to_string())
            }
        };
        let area_ok = (3..=4).contains(&area.len())
            && area.starts_with('0')
            && !area[1..].starts_with('0')
            && area.bytes().all(|c| c.is_ascii_digit());
        let local_ok = (7..=8).contains(&local.len())
            && local.bytes().all(|c| c.is_ascii_digit())
            && !local.starts_with('0')
            && !local.starts_with('1');
        if !area_ok || !local_ok {
            return Err(PhoneError::BadLandline);
        }
        Ok(Phone(format!("{area}-{local}")))
    }

    /// The normalised number: `13812341234` or `021-58881234`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a mobile number (as opposed to a landline).
    pub fn is_mobile(&self) -> bool {
        !self.0.contains('-')
    }

    /// Masked for display: `138****1234` or `021-****1234`.
    pub fn masked(&self) -> String {
        match self.0.split_once('-') {
            Some((area, local)) => format!("{area}-****{}", &local[local.len() - 4..]),
            None => format!("{}****{}", &self.0[..3], &self.0[7..]),
        }
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn known_good_numbers() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), d(1949, 12, 31));
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.region(), "110105");
        assert_eq!(id.age_on(d(2024, 12, 30)), 74);
        assert_eq!(id.age_on(d(2024, 12, 31)), 75);
        assert_eq!(check_char("11010519491231002"), 'X');

        // lowercase x, spaces around and inside
        let id = IdNumber::parse("  110105 19491231 002x ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");

        // a male example (17th digit odd), built and re-parsed
        let s17 = "44052419800101001";
        let id = IdNumber::parse(&format!("{s17}{}", check_char(s17))).unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_date(), d(1980, 1, 1));
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(IdNumber::parse(""), Err(IdNumberError::Length));
        assert_eq!(
            IdNumber::parse("1101051949123100"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002A"),
            Err(IdNumberError::BadCharacter)
        );
        assert_eq!(
            IdNumber::parse("1101051949123X002X"),
            Err(IdNumberError::BadCharacter)
        );
        assert_eq!(
            IdNumber::parse("110105194912310023"),
            Err(IdNumberError::BadCheckDigit {
                expected: 'X',
                found: '3'
            })
        );
        // 1949-02-30 does not exist
        let s17 = "11010519490230002";
        let s = format!("{s17}{}", check_char(s17));
        assert_eq!(IdNumber::parse(&s), Err(IdNumberError::BadBirthDate));
        // before 1900
        let s17 = "11010518991231002";
        let s = format!("{s17}{}", check_char(s17));
        assert_eq!(IdNumber::parse(&s), Err(IdNumberError::BadBirthDate));
        // in the future
        let s17 = "11010520300101002";
        let s = format!("{s17}{}", check_char(s17));
        assert_eq!(
            IdNumber::parse_on(&s, d(2025, 1, 1)),
            Err(IdNumberError::BadBirthDate)
        );
        // region starting with 0, and an unknown province 19
        let s17 = "01010519491231002";
        let s = format!("{s17}{}", check_char(s17));
        assert_eq!(IdNumber::parse(&s), Err(IdNumberError::BadRegion));
        let s17 = "19010519491231002";
        let s = format!("{s17}{}", check_char(s17));
        assert_eq!(IdNumber::parse(&s), Err(IdNumberError::BadRegion));
    }

    #[test]
    fn error_messages_are_bilingual() {
        let e = IdNumberError::BadCheckDigit {
            expected: 'X',
            found: '3',
        };
        let m = e.to_string();
        assert!(m.contains("应为 X，实为 3"), "{m}");
        assert!(m.contains("expected X, found 3"), "{m}");
        for e in [
            IdNumberError::Length,
            IdNumberError::BadCharacter,
            IdNumberError::BadBirthDate,
            IdNumberError::BadRegion,
        ] {
            let m = e.to_string();
            assert!(m.contains(" / "), "{m}");
            assert!(m.chars().any(|c| c > '\u{2E80}'), "{m}");
        }
        let _: &dyn std::error::Error = &e;
        assert!(PhoneError::BadMobile.to_string().contains("11"));
    }

    #[test]
    fn legacy_15_digit_numbers() {
        // 15-digit: 310115 490101 123 -> 310115 19490101 123 C
        let id = IdNumber::parse("310115490101123").unwrap();
        let first17 = "31011519490101123";
        assert_eq!(id.as_str(), format!("{first17}{}", check_char(first17)));
        assert_eq!(id.birth_date(), d(1949, 1, 1));
        assert_eq!(id.sex(), Sex::Male);
        // the converted number parses again as an 18-digit number
        assert_eq!(IdNumber::parse(id.as_str()).unwrap(), id);
        assert_eq!(
            IdNumber::parse("310115490230123"),
            Err(IdNumberError::BadBirthDate)
        );
        assert_eq!(
            IdNumber::parse("31011549010112X"),
            Err(IdNumberError::BadCharacter)
        );
    }

    #[test]
    fn full_width_input() {
        let id = IdNumber::parse("１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        let id =
            IdNumber::parse("\u{3000}１１０１０５　１９４９１２３１　００２Ｘ\u{3000}").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            "１１０１０５１９４９１２３１００２Ｘ"
                .parse::<IdNumber>()
                .unwrap(),
            id
        );
    }

    #[test]
    fn masking_hides_birth_date() {
        let id = IdNumber::build("310115", d(1956, 7, 21), 123);
        let m = id.masked();
        assert_eq!(m.len(), 18);
        assert!(m.starts_with("310115********123"));
        assert!(!m.contains("1956"));
        assert_eq!(&m[14..], &id.as_str()[14..]);
        assert!(!format!("{id:?}").contains("19560721"));
        assert_eq!(id.to_string(), id.as_str());
    }

    #[test]
    fn build_parse_roundtrip_property() {
        let mut rng = StdRng::seed_from_u64(0x1d_2024);
        let today = d(2025, 6, 1);
        let regions = ["310115", "110105", "440524", "510104", "650102", "820000"];
        let lo = d(1900, 1, 1).num_days_from_ce();
        let hi = today.num_days_from_ce();
        for _ in 0..20_000 {
            let region = regions[rng.gen_range(0..regions.len())];
            let birth = NaiveDate::from_num_days_from_ce_opt(rng.gen_range(lo..=hi)).unwrap();
            let seq: u16 = rng.gen_range(0..=999);
            let id = IdNumber::build(region, birth, seq);
            let back = IdNumber::parse_on(id.as_str(), today).unwrap();
            assert_eq!(back, id);
            assert_eq!(back.birth_date(), birth);
            assert_eq!(back.region(), region);
            let male = seq % 2 == 1;
            assert_eq!(back.sex(), if male { Sex::Male } else { Sex::Female });
            // any single-digit change of the check character is detected
            let mut wrong = id.as_str().to_string();
            let good = wrong.pop().unwrap();
            let bad = if good == '0' { '1' } else { '0' };
            wrong.push(bad);
            assert_eq!(
                IdNumber::parse_on(&wrong, today),
                Err(IdNumberError::BadCheckDigit {
                    expected: good,
                    found: bad
                })
            );
        }
        // random 17-digit prefixes: the computed check char always validates
        for _ in 0..20_000 {
            let mut s: String = (0..17)
                .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
                .collect();
            let c = check_char(&s);
            s.push(c);
            match IdNumber::parse_on(&s, today) {
                Ok(id) => assert_eq!(id.as_str(), s),
                Err(e) => assert!(
                    matches!(e, IdNumberError::BadBirthDate | IdNumberError::BadRegion),
                    "{s}: {e:?}"
                ),
            }
        }
    }

    #[test]
    fn sex_codes() {
        assert_eq!(Sex::Male.code(), "M");
        assert_eq!(Sex::Female.code(), "F");
        assert_eq!(Sex::Male.label_zh(), "男");
        assert_eq!(Sex::Female.label_zh(), "女");
        assert_eq!(Sex::from_code("女"), Some(Sex::Female));
    }

    #[test]
    fn serde_roundtrip() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        let j = serde_json::to_string(&id).unwrap();
        assert_eq!(j, "\"11010519491231002X\"");
        assert_eq!(serde_json::from_str::<IdNumber>(&j).unwrap(), id);
        assert!(serde_json::from_str::<IdNumber>("\"110105194912310023\"").is_err());
        let p: Phone = serde_json::from_str("\"+86 138 1234 5678\"").unwrap();
        assert_eq!(p.as_str(), "13812345678");
    }

    #[test]
    fn phone_mobile() {
        for s in [
            "13812341234",
            "138 1234 1234",
            "138-1234-1234",
            "+86 138 1234 1234",
            "+86-13812341234",
            "0086 13812341234",
            "8613812341234",
            "１３８１２３４１２３４",
            "\u{3000}138\u{3000}1234\u{3000}1234 ",
            "＋８６ １３８１２３４１２３４",
        ] {
            let p = Phone::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.as_str(), "13812341234", "{s}");
            assert!(p.is_mobile());
            assert_eq!(p.masked(), "138****1234");
        }
        assert_eq!(Phone::parse("12812341234"), Err(PhoneError::BadMobile));
        assert_eq!(Phone::parse("1381234123"), Err(PhoneError::BadMobile));
        assert_eq!(Phone::parse("138123412345"), Err(PhoneError::BadMobile));
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("  "), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("138abc"), Err(PhoneError::BadCharacter));
        assert_eq!(Phone::parse("+1 2025550123"), Err(PhoneError::BadCharacter));
    }

    #[test]
    fn phone_landline() {
        for s in [
            "021-58881234",
            "02158881234",
            "021 5888 1234",
            "(021) 5888-1234",
            "０２１－５８８８１２３４",
            "+86 21 58881234",
            "0086-21-58881234",
        ] {
            let p = Phone::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.as_str(), "021-58881234", "{s}");
            assert!(!p.is_mobile());
            assert_eq!(p.masked(), "021-****1234");
        }
        assert_eq!(
            Phone::parse("057187654321").unwrap().as_str(),
            "0571-87654321"
        );
        assert_eq!(
            Phone::parse("0571-8765432").unwrap().as_str(),
            "0571-8765432"
        );
        assert_eq!(
            Phone::parse("010-6512345").unwrap().masked(),
            "010-****2345"
        );
        assert_eq!(Phone::parse("58881234"), Err(PhoneError::BadLandline));
        assert_eq!(Phone::parse("021-588812"), Err(PhoneError::BadLandline));
        assert_eq!(Phone::parse("021-588812345"), Err(PhoneError::BadLandline));
        assert_eq!(Phone::parse("00-58881234"), Err(PhoneError::BadLandline));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn birth() -> impl Strategy<Value = NaiveDate> {
        (0i64..36_000).prop_map(|d| {
            NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(d as u64)
        })
    }

    proptest! {
        #[test]
        fn a_built_number_parses_to_its_parts(b in birth(), seq in 1u16..999,
            region in prop::sample::select(vec!["110105", "310115", "320583", "440524", "510104", "650102"])) {
            let region = region.to_string();
            let id = IdNumber::build(&region, b, seq);
            let parsed = IdNumber::parse(id.as_str()).unwrap();
            prop_assert_eq!(parsed.birth_date(), b);
            prop_assert_eq!(parsed.region(), region.as_str());
            prop_assert_eq!(parsed.sex() == Sex::Female, seq % 2 == 0);
            prop_assert!(!parsed.masked().contains(&b.format("%Y%m%d").to_string()));
        }

        #[test]
        fn any_single_wrong_digit_is_caught(b in birth(), seq in 1u16..999, at in 0usize..17, delta in 1u8..10) {
            let id = IdNumber::build("310115", b, seq);
            let mut chars: Vec<u8> = id.as_str().bytes().collect();
            chars[at] = b'0' + (chars[at] - b'0' + delta) % 10;
            let typo = String::from_utf8(chars).unwrap();
            prop_assert!(IdNumber::parse(&typo).is_err(), "{} passed", typo);
        }

        #[test]
        fn a_legacy_15_digit_number_becomes_its_18_digit_form(b in (0i64..29_000).prop_map(|d| NaiveDate::from_ymd_opt(1920, 1, 1).unwrap() + chrono::Days::new(d as u64)), seq in 1u16..999) {
            let id = IdNumber::build("310115", b, seq);
            prop_assume!(b.format("%Y").to_string().starts_with("19"));
            let s = id.as_str();
            let legacy = format!("{}{}{}", &s[..6], &s[8..17], "");
            prop_assert_eq!(legacy.len(), 15);
            prop_assert_eq!(IdNumber::parse(&legacy).unwrap(), id);
        }

        #[test]
        fn every_mobile_number_parses_and_masks(second in 3u8..10, rest in 0u64..1_000_000_000) {
            let n = format!("1{second}{rest:09}");
            let p = Phone::parse(&format!(" {}-{}-{} ", &n[..3], &n[3..7], &n[7..])).unwrap();
            prop_assert_eq!(p.as_str(), n.as_str());
            prop_assert!(p.is_mobile());
            prop_assert_eq!(p.masked(), format!("{}****{}", &n[..3], &n[7..]));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,24}") {
            let _ = IdNumber::parse(&s);
            let _ = Phone::parse(&s);
        }
    }
}
