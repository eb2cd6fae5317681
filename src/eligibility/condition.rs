//! A rule's condition as a worker types it, in either language:
//!
//! ```text
//! age >= 80
//! 年龄 >= 60 且 标签 = 独居老人
//! tag = disabled and residence = permanent
//! age <= 0                      (a newborn: under one year)
//! sex = 女 and age >= 50 and tag != low_income
//! ```
//!
//! Clauses are joined by `and` (`且`, `并且`, `&&`); each is a field, an operator and a value.
//! Fields: `age`/`年龄` (`>=`, `<=`, `>`, `<`, `=`, whole years), `sex`/`性别` (`=`: M, F,
//! 男, 女), `tag`/`标签` (`=`, `!=`: a tag's code or its Chinese name), `residence`/`居住状态`
//! (`=`: permanent/常住, temporary/暂住), `hukou`/`户籍` (`=`: yes/本地/是, no/外地/否).
//! A condition that cannot be parsed is refused with the character where it went wrong.

use crate::kernel::i18n;
use crate::registry::criteria::Criteria;

/// Why a condition was refused: a message in both languages ("中文 / English").
#[derive(Clone, Debug, PartialEq)]
pub struct Refused(pub String);

/// The longest condition kept.
pub const MAX_LEN: usize = 400;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Num(u32),
    Op(&'static str),
}

/// Splits into tokens with their 1-based character positions.
fn tokens(s: &str) -> Result<Vec<(usize, Tok)>, Refused> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        let at = i + 1;
        if ch.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            ">=" => Some((">=", 2)),
            "<=" => Some(("<=", 2)),
            "!=" => Some(("!=", 2)),
            "&&" => {
                out.push((at, Tok::Word("and".into())));
                i += 2;
                continue;
            }
            _ => match ch {
                '≥' => Some((">=", 1)),
                '≤' => Some(("<=", 1)),
                '≠' => Some(("!=", 1)),
                '>' | '＞' => Some((">", 1)),
                '<' | '＜' => Some(("<", 1)),
                '=' | '＝' => Some(("=", 1)),
                _ => None,
            },
        };
        if let Some((op, n)) = op {
            out.push((at, Tok::Op(op)));
            i += n;
            continue;
        }
        if ch.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            let n = digits
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 150)
                .ok_or_else(|| {
                    Refused(i18n::both(
                        "eligibility.err_cond_number",
                        &[("at", &at), ("found", &digits)],
                    ))
                })?;
            out.push((at, Tok::Num(n)));
            continue;
        }
        if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((at, Tok::Word(chars[start..i].iter().collect())));
            continue;
        }
        return Err(Refused(i18n::both(
            "eligibility.err_cond_char",
            &[("at", &at), ("found", &ch)],
        )));
    }
    Ok(out)
}

fn field(w: &str) -> Option<&'static str> {
    Some(match w.to_lowercase().as_str() {
        "age" | "年龄" => "age",
        "sex" | "性别" => "sex",
        "tag" | "标签" => "tag",
        "residence" | "居住状态" => "residence",
        "hukou" | "户籍" => "hukou",
        _ => return None,
    })
}

fn is_and(t: &Tok) -> bool {
    matches!(t, Tok::Word(w) if matches!(w.to_lowercase().as_str(), "and" | "且" | "并且"))
}

/// Parses a condition against the street's tags (`(code, name_zh, name_en)`).
pub fn parse(text: &str, tags: &[(String, String, String)]) -> Result<Criteria, Refused> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refused(i18n::both("eligibility.err_cond_empty", &[])));
    }
    if text.chars().count() > MAX_LEN {
        return Err(Refused(i18n::both(
            "eligibility.err_cond_long",
            &[("max", &MAX_LEN)],
        )));
    }
    let toks = tokens(text)?;
    let end = text.chars().count() + 1;
    let mut c = Criteria::default();
    let mut i = 0;
    loop {
        // field
        let (at, t) = toks
            .get(i)
            .cloned()
            .unwrap_or((end, Tok::Word(String::new())));
        let typed = shown(&t);
        let f = match &t {
            Tok::Word(w) => field(w),
            _ => None,
        }
        .ok_or_else(|| {
            Refused(i18n::both(
                "eligibility.err_cond_field",
                &[("at", &at), ("found", &shown(&t))],
            ))
        })?;
        // operator
        let (at, t) = toks
            .get(i + 1)
            .cloned()
            .unwrap_or((end, Tok::Word(String::new())));
        let op = match t {
            Tok::Op(op) => op,
            other => {
                return Err(Refused(i18n::both(
                    "eligibility.err_cond_op",
                    &[("at", &at), ("found", &shown(&other))],
                )));
            }
        };
        let allowed: &[&str] = match f {
            "age" => &[">=", "<=", ">", "<", "="],
            "tag" => &["=", "!="],
            _ => &["="],
        };
        if !allowed.contains(&op) {
            return Err(Refused(i18n::both(
                "eligibility.err_cond_op_for",
                &[("at", &at), ("op", &op), ("field", &typed)],
            )));
        }
        // value
        let (at, v) = toks
            .get(i + 2)
            .cloned()
            .unwrap_or((end, Tok::Word(String::new())));
        let bad_value = |v: &Tok| {
            Refused(i18n::both(
                "eligibility.err_cond_value",
                &[("at", &at), ("field", &typed), ("found", &shown(v))],
            ))
        };
        match (f, &v) {
            ("age", Tok::Num(n)) => {
                let n = *n;
                let (lo, hi) = match op {
                    ">=" => (Some(n), None),
                    ">" => (Some(n + 1), None),
                    "<=" => (None, Some(n)),
                    "<" if n == 0 => {
                        return Err(Refused(i18n::both("eligibility.err_cond_never", &[])));
                    }
                    "<" => (None, Some(n - 1)),
                    _ => (Some(n), Some(n)),
                };
                if let Some(lo) = lo {
                    c.min_age = Some(c.min_age.map_or(lo, |m| m.max(lo)));
                }
                if let Some(hi) = hi {
                    c.max_age = Some(c.max_age.map_or(hi, |m| m.min(hi)));
                }
            }
            ("sex", Tok::Word(w)) => {
                let s = match w.to_uppercase().as_str() {
                    "M" | "男" => "M",
                    "F" | "女" => "F",
                    _ => return Err(bad_value(&v)),
                };
                if c.sex.as_deref().is_some_and(|x| x != s) {
                    return Err(Refused(i18n::both("eligibility.err_cond_never", &[])));
                }
                c.sex = Some(s.to_string());
            }
            ("tag", Tok::Word(w)) => {
                let code = tags
                    .iter()
                    .find(|t| t.0 == *w || t.1 == *w)
                    .map(|t| t.0.clone())
                    .ok_or_else(|| {
                        Refused(i18n::both(
                            "eligibility.err_cond_tag",
                            &[("at", &at), ("found", w)],
                        ))
                    })?;
                let list = if op == "=" {
                    &mut c.tags
                } else {
                    &mut c.without_tags
                };
                if !list.contains(&code) {
                    list.push(code);
                }
            }
            ("residence", Tok::Word(w)) => {
                let r = match w.to_lowercase().as_str() {
                    "permanent" | "常住" => "permanent",
                    "temporary" | "暂住" => "temporary",
                    _ => return Err(bad_value(&v)),
                };
                c.residence = Some(r.to_string());
            }
            ("hukou", Tok::Word(w)) => {
                c.hukou = Some(match w.to_lowercase().as_str() {
                    "yes" | "是" | "本地" => true,
                    "no" | "否" | "外地" => false,
                    _ => return Err(bad_value(&v)),
                });
            }
            _ => return Err(bad_value(&v)),
        }
        i += 3;
        match toks.get(i) {
            None => break,
            Some((_, t)) if is_and(t) => {
                i += 1;
            }
            Some((at, t)) => {
                return Err(Refused(i18n::both(
                    "eligibility.err_cond_and",
                    &[("at", at), ("found", &shown(t))],
                )));
            }
        }
    }
    if let (Some(lo), Some(hi)) = (c.min_age, c.max_age)
        && lo > hi
    {
        return Err(Refused(i18n::both("eligibility.err_cond_never", &[])));
    }
    if c.tags.iter().any(|t| c.without_tags.contains(t)) {
        return Err(Refused(i18n::both("eligibility.err_cond_never", &[])));
    }
    Ok(c)
}

/// A token as the message quotes it; the end of the text as "…".
fn shown(t: &Tok) -> String {
    match t {
        Tok::Word(w) if w.is_empty() => "…".to_string(),
        Tok::Word(w) => w.clone(),
        Tok::Num(n) => n.to_string(),
        Tok::Op(o) => o.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> Vec<(String, String, String)> {
        vec![
            ("disabled".into(), "残疾人".into(), "disabled".into()),
            (
                "elderly_alone".into(),
                "独居老人".into(),
                "elderly living alone".into(),
            ),
        ]
    }

    #[test]
    fn both_languages_parse_to_the_same_criteria() {
        let a = parse("age >= 80 and tag = elderly_alone", &tags()).unwrap();
        let b = parse("年龄 ≥ 80 且 标签 = 独居老人", &tags()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.min_age, Some(80));
        assert_eq!(a.tags, vec!["elderly_alone".to_string()]);
    }

    #[test]
    fn ages_become_inclusive_bounds() {
        let c = parse("age > 59 && age < 70", &tags()).unwrap();
        assert_eq!((c.min_age, c.max_age), (Some(60), Some(69)));
        let c = parse("age <= 0", &tags()).unwrap();
        assert_eq!((c.min_age, c.max_age), (None, Some(0)));
        let c = parse("年龄 = 1", &tags()).unwrap();
        assert_eq!((c.min_age, c.max_age), (Some(1), Some(1)));
    }

    #[test]
    fn refusals_say_where() {
        let e = parse("age >= 80 or tag = disabled", &tags()).unwrap_err();
        assert!(e.0.contains("11"), "{}", e.0);
        let e = parse("age => 80", &tags()).unwrap_err();
        assert!(e.0.contains('6'), "{}", e.0);
        let e = parse("tag = unknown_tag", &tags()).unwrap_err();
        assert!(e.0.contains("unknown_tag"), "{}", e.0);
        let e = parse("sex > F", &tags()).unwrap_err();
        assert!(e.0.contains('5'), "{}", e.0);
        assert!(parse("age >= 80 and", &tags()).is_err());
        assert!(parse("age >= 80 and age < 60", &tags()).is_err());
        assert!(parse("", &tags()).is_err());
        assert!(parse("age >= 999", &tags()).is_err());
        assert!(parse("age >= 80; drop", &tags()).is_err());
    }
}
