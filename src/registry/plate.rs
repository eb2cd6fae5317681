//! Vehicle plates (机动车号牌, GA 36) and floor areas, parsed at the edge into domain types.
//!
//! A plate is a province's one-character abbreviation, the issuing office's letter, then
//! either five characters (ordinary plates; the last may be 挂, 学, 警, 港 or 澳) or, on
//! green new-energy plates, six: a small car's energy letter (D, A, B, C, E for pure electric;
//! F, G, H, J, K for the others) before five more, or five digits and then D or F on large
//! vehicles. Letters I and O never appear (they read as 1 and 0).

use std::fmt;

use super::import::normalise;
use crate::kernel::i18n::both;

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const SUFFIXES: &str = "挂学警港澳";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plate {
    text: String,
    new_energy: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlateError {
    #[error("{}", both("registry.plate.empty", &[]))]
    Empty,
    #[error("{}", both("registry.plate.province", &[]))]
    Province,
    #[error("{}", both("registry.plate.office", &[]))]
    Office,
    #[error("{}", both("registry.plate.length", &[]))]
    Length,
    #[error("{}", both("registry.plate.serial", &[]))]
    Serial,
    #[error("{}", both("registry.plate.new_energy", &[]))]
    NewEnergy,
}

fn serial_char(c: char) -> bool {
    c.is_ascii_digit() || (c.is_ascii_uppercase() && c != 'I' && c != 'O')
}

impl Plate {
    /// Parses a plate as people type it: spaces, a middle dot or a hyphen after the office
    /// letter, lower case and full-width characters are all accepted.
    pub fn parse(input: &str) -> Result<Plate, PlateError> {
        let s: String = normalise(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '·' | '•' | '.' | '-' | '・'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let chars: Vec<char> = s.chars().collect();
        if chars.is_empty() {
            return Err(PlateError::Empty);
        }
        if !PROVINCES.contains(chars[0]) {
            return Err(PlateError::Province);
        }
        if chars.len() < 2 || !(chars[1].is_ascii_uppercase() && chars[1] != 'I' && chars[1] != 'O')
        {
            return Err(PlateError::Office);
        }
        let serial = &chars[2..];
        match serial.len() {
            5 => {
                let (body, last) = serial.split_at(4);
                if !body.iter().all(|c| serial_char(*c))
                    || !(serial_char(last[0]) || SUFFIXES.contains(last[0]))
                {
                    return Err(PlateError::Serial);
                }
                Ok(Plate {
                    text: s,
                    new_energy: false,
                })
            }
            6 => {
                if !serial.iter().all(|c| serial_char(*c)) {
                    return Err(PlateError::Serial);
                }
                let small = "DABCEFGHJK".contains(serial[0])
                    && serial[2..].iter().all(|c| c.is_ascii_digit());
                let large =
                    serial[..5].iter().all(|c| c.is_ascii_digit()) && "DF".contains(serial[5]);
                if !(small || large) {
                    return Err(PlateError::NewEnergy);
                }
                Ok(Plate {
                    text: s,
                    new_energy: true,
                })
            }
            _ => Err(PlateError::Length),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A green new-energy plate (8 characters).
    pub fn is_new_energy(&self) -> bool {
        self.new_energy
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A floor area in square metres, to the hundredth.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Area(f64);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("{}", both("registry.plate.area_not_number", &[]))]
    NotANumber,
    #[error("{}", both("registry.plate.area_range", &[]))]
    OutOfRange,
}

impl Area {
    /// Parses `85.5`, `85.5㎡`, `85.5 平方米`, `85.5m2`, full-width digits included.
    pub fn parse(input: &str) -> Result<Area, AreaError> {
        let s = normalise(input).to_lowercase();
        let s = s.trim();
        let number = ["平方米", "平米", "㎡", "m²", "m2", "sqm"]
            .iter()
            .find_map(|u| s.strip_suffix(u))
            .unwrap_or(s)
            .trim()
            .replace([',', '，'], "");
        if number.is_empty() {
            return Err(AreaError::NotANumber);
        }
        let v: f64 = number.parse().map_err(|_| AreaError::NotANumber)?;
        if !v.is_finite() || v <= 0.0 || v >= 100_000.0 {
            return Err(AreaError::OutOfRange);
        }
        Ok(Area((v * 100.0).round() / 100.0))
    }

    pub fn m2(self) -> f64 {
        self.0
    }
}

/// What a housing unit is used for.
pub const UNIT_USES: [&str; 4] = ["self_occupied", "rented", "vacant", "commercial"];

/// A unit use from its code or its Chinese name.
pub fn unit_use(input: &str) -> Option<&'static str> {
    let s = normalise(input);
    let s = s.trim();
    let zh = [
        ("自住", "self_occupied"),
        ("出租", "rented"),
        ("空置", "vacant"),
        ("商用", "commercial"),
        ("商业", "commercial"),
    ];
    UNIT_USES
        .iter()
        .copied()
        .find(|u| *u == s)
        .or_else(|| zh.iter().find(|(z, _)| *z == s).map(|(_, c)| *c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plates_people_write() {
        let p = Plate::parse("沪A12345").unwrap();
        assert_eq!(p.as_str(), "沪A12345");
        assert!(!p.is_new_energy());
        assert_eq!(Plate::parse(" 沪a·1234５ ").unwrap().as_str(), "沪A12345");
        assert_eq!(Plate::parse("京B-A12C3").unwrap().as_str(), "京BA12C3");
        assert!(Plate::parse("苏E1234挂").is_ok());
        let g = Plate::parse("沪AD12345").unwrap();
        assert!(g.is_new_energy());
        assert!(Plate::parse("粤BFA1234").unwrap().is_new_energy());
        assert!(Plate::parse("浙A12345D").unwrap().is_new_energy());
        assert_eq!(Plate::parse(""), Err(PlateError::Empty));
        assert_eq!(Plate::parse("AA12345"), Err(PlateError::Province));
        assert_eq!(Plate::parse("沪I12345"), Err(PlateError::Office));
        assert_eq!(Plate::parse("沪A1234"), Err(PlateError::Length));
        assert_eq!(Plate::parse("沪A1O345"), Err(PlateError::Serial));
        assert_eq!(Plate::parse("沪AZ12345"), Err(PlateError::NewEnergy));
        assert_eq!(Plate::parse("沪AD1234X"), Err(PlateError::NewEnergy));
    }

    #[test]
    fn areas_people_write() {
        assert_eq!(Area::parse("85.5").unwrap().m2(), 85.5);
        assert_eq!(Area::parse("８５．５㎡").unwrap().m2(), 85.5);
        assert_eq!(Area::parse("120 平方米").unwrap().m2(), 120.0);
        assert_eq!(Area::parse("1,203.456m2").unwrap().m2(), 1203.46);
        assert_eq!(Area::parse("abc"), Err(AreaError::NotANumber));
        assert_eq!(Area::parse(""), Err(AreaError::NotANumber));
        assert_eq!(Area::parse("0"), Err(AreaError::OutOfRange));
        assert_eq!(Area::parse("-3"), Err(AreaError::OutOfRange));
        assert_eq!(Area::parse("NaN"), Err(AreaError::OutOfRange));
        assert_eq!(unit_use("出租"), Some("rented"));
        assert_eq!(unit_use("vacant"), Some("vacant"));
        assert_eq!(unit_use("仓库"), None);
    }

    fn serial() -> impl Strategy<Value = char> {
        prop::sample::select(
            "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
                .chars()
                .collect::<Vec<_>>(),
        )
    }

    fn province() -> impl Strategy<Value = char> {
        prop::sample::select(PROVINCES.chars().collect::<Vec<_>>())
    }

    proptest! {
        #[test]
        fn every_ordinary_plate_parses_and_round_trips(
            p in province(), o in prop::char::range('A', 'Z'), s in prop::collection::vec(serial(), 5)
        ) {
            prop_assume!(o != 'I' && o != 'O');
            let text: String = std::iter::once(p).chain(std::iter::once(o)).chain(s).collect();
            let plate = Plate::parse(&text).unwrap();
            prop_assert_eq!(plate.as_str(), text.as_str());
            prop_assert!(!plate.is_new_energy());
            // How a person may type it does not matter.
            let typed = format!(" {}·{} ", &text[..4], text[4..].to_lowercase());
            prop_assert_eq!(Plate::parse(&typed).unwrap(), plate);
        }

        #[test]
        fn every_small_new_energy_plate_parses(
            p in province(), e in prop::sample::select("DABCEFGHJK".chars().collect::<Vec<_>>()),
            s in serial(), d in 0u32..10000
        ) {
            let text = format!("{p}A{e}{s}{d:04}");
            prop_assert!(Plate::parse(&text).unwrap().is_new_energy());
        }

        #[test]
        fn a_plate_with_i_or_o_in_its_serial_is_refused(
            p in province(), s in prop::collection::vec(serial(), 4), at in 0usize..5,
            bad in prop::sample::select(vec!['I', 'O'])
        ) {
            let mut serial: Vec<char> = s;
            serial.insert(at, bad);
            let text: String = [p, 'A'].into_iter().chain(serial).collect();
            prop_assert!(Plate::parse(&text).is_err());
        }

        #[test]
        fn the_parser_never_panics(s in "\\PC{0,12}") {
            let _ = Plate::parse(&s);
            let _ = Area::parse(&s);
        }

        #[test]
        fn areas_round_to_the_hundredth(v in 0.01f64..99_999.0) {
            let a = Area::parse(&format!("{v}㎡")).unwrap();
            prop_assert!((a.m2() - v).abs() <= 0.005 + 1e-9);
        }
    }
}
