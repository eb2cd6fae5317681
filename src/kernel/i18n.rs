//! The translation catalogues: every UI string lives in `locales/zh.toml` (the default) and
//! `locales/en.toml`, under the same keys (a test checks they match).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
    /// Picks a language from an `Accept-Language` header (first supported, by q order).
    pub fn from_accept_language(h: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in h.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }
}

pub const ZH_SOURCE: &str = include_str!("../../locales/zh.toml");
pub const EN_SOURCE: &str = include_str!("../../locales/en.toml");

/// Flattens `[section] key = "v"` into `section.key`.
pub fn flatten(src: &str) -> HashMap<String, String> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut HashMap<String, String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(sub) => walk(&key, sub, out),
                toml::Value::String(s) => {
                    out.insert(key, s.clone());
                }
                other => {
                    out.insert(key, other.to_string());
                }
            }
        }
    }
    let table: toml::Table = toml::from_str(src).expect("translation catalogue is valid TOML");
    let mut out = HashMap::new();
    walk("", &table, &mut out);
    out
}

type Catalogue = HashMap<String, &'static str>;

fn catalogues() -> &'static (Catalogue, Catalogue) {
    static CATS: OnceLock<(Catalogue, Catalogue)> = OnceLock::new();
    CATS.get_or_init(|| {
        let leak = |m: HashMap<String, String>| -> Catalogue {
            m.into_iter()
                .map(|(k, v)| (k, &*Box::leak(v.into_boxed_str())))
                .collect()
        };
        (leak(flatten(ZH_SOURCE)), leak(flatten(EN_SOURCE)))
    })
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// One language of a message written in both, "中文 / English" (parsers' and validators' own
/// messages; several joined by "；"): the reader's half of each. A message in one language only
/// is given back as it is.
pub fn pick(msg: &str, lang: Lang) -> String {
    let parts: Vec<String> = msg
        .split('；')
        .map(|part| {
            let mut at = 0;
            while let Some(i) = part[at..].find(" / ") {
                let split = at + i;
                let (zh, en) = (&part[..split], &part[split + 3..]);
                if has_cjk(zh) && !en.trim().is_empty() {
                    return if lang == Lang::En { en } else { zh }.trim().to_string();
                }
                at = split + 3;
            }
            part.trim().to_string()
        })
        .collect();
    parts.join(if lang == Lang::En { "; " } else { "；" })
}

/// A message from the catalogue in both languages, "中文 / English", with its arguments filled:
/// for a message kept before it is read (an import's row problems, a record's refusal), of
/// which [`pick`] gives the reader's half.
pub fn both(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    format!(
        "{} / {}",
        Tr(Lang::Zh).fill(key, args),
        Tr(Lang::En).fill(key, args)
    )
}

/// The same, English first, "English / 中文": an operator's message read in a terminal or a
/// log (the command line, the configuration, the audit log's verification, the store's
/// refusals at start), which keeps both languages whole.
pub fn en_zh(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    format!(
        "{} / {}",
        Tr(Lang::En).fill(key, args),
        Tr(Lang::Zh).fill(key, args)
    )
}

/// The text for `key`; the key itself when missing (a test keeps that from happening).
pub fn tr(lang: Lang, key: &str) -> &'static str {
    let (zh, en) = catalogues();
    let cat = if lang == Lang::En { en } else { zh };
    match cat.get(key) {
        Some(v) => v,
        None => {
            tracing::warn!(key, "missing translation");
            Box::leak(key.to_string().into_boxed_str())
        }
    }
}

/// What templates call: `{{ t.s("login.title") }}`.
#[derive(Clone, Copy, Debug)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn s(&self, key: &str) -> &'static str {
        tr(self.0, key)
    }
    /// A translated label for a code in a family, e.g. `t.k("kind", "grid")`.
    pub fn k(&self, family: &str, code: &str) -> &'static str {
        tr(self.0, &format!("{family}.{code}"))
    }
    /// The label for a code when the catalogue has one, else the code itself (data that is
    /// not a code, such as a name, passes through).
    pub fn k_or(&self, family: &str, code: &str) -> String {
        let (zh, en) = catalogues();
        let cat = if self.0 == Lang::En { en } else { zh };
        cat.get(&format!("{family}.{code}"))
            .map(|v| v.to_string())
            .unwrap_or_else(|| code.to_string())
    }
    /// Replaces `{n}` in a message.
    pub fn n(&self, key: &str, n: i64) -> String {
        self.s(key).replace("{n}", &n.to_string())
    }
    /// Replaces each `{name}` in a message by its value: `t.fill("k", &[("n", &3)])`.
    /// One pass over the message, so a value that itself holds `{name}` stays as it is.
    pub fn fill(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut rest = self.s(key);
        let mut out = String::with_capacity(rest.len());
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let arg = after.find('}').and_then(|close| {
                let name = &after[..close];
                args.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (close, v))
            });
            match arg {
                Some((close, v)) => {
                    out.push_str(&v.to_string());
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    pub fn lang(&self) -> &'static str {
        self.0.code()
    }
}

/// A whole number with thousands separated by commas, as both languages print counts:
/// `12345` → `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod thousands_tests {
    #[test]
    fn groups_by_three() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::thousands(-12345), "-12,345");
    }
}
