//! Issue 19, item 7: each page speaks the viewer's language only. Every role walks the pages it
//! can reach from its home page (following the links it is shown, a few of each kind) in
//! Chinese and in English; a page fails on a catalogue key shown as text, on the other
//! language's catalogue text, or (in Chinese) on an English phrase; and a link it is shown
//! must not lead to a 403.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::support::{self, PASSWORD, TestApp};

const ROLES: [&str; 7] = [
    "admin", "shegong", "wangge", "bumen", "wuye", "zhiyuan", "jumin",
];
/// Pages per role and language; a few of each shape (`/persons/{n}`, `/cases?state=…`).
const MAX_PAGES: usize = 70;
const PER_SHAPE: usize = 2;

/// Links not to follow: what changes state on GET, downloads, assets, the language switch.
fn skip(path: &str) -> bool {
    path.starts_with("/static")
        || path.starts_with("/logout")
        || path.starts_with("/lang/")
        || path.starts_with("/api/")
        || path.contains("/download")
        || path.contains("/photos/")
        || path.starts_with("/me/data.")
        || path.ends_with(".csv")
        || path.ends_with(".xlsx")
        || path.contains("format=")
        || path.starts_with("/open311")
}

/// The page's shape: numbers replaced, so that 200 residents are two visits, not 200.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for ch in path.chars() {
        if ch.is_ascii_digit() {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(ch);
        }
    }
    out
}

fn decode(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
}

/// The text a reader sees or hears: text between tags (no scripts, styles or SVG paths), and
/// the attributes read aloud or shown (title, placeholder, aria-label, alt, value of buttons).
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = &rest[i..];
        let lower = rest.get(..8).unwrap_or("").to_ascii_lowercase();
        for (open, close) in [("<script", "</script>"), ("<style", "</style>")] {
            if lower.starts_with(open)
                && let Some(e) = rest.find(close)
            {
                rest = &rest[e..];
            }
        }
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        // What people wrote (a notice's text) is marked `translate="no"`: it is in the
        // language its author wrote it in, whatever the page's.
        if tag.contains("translate=\"no\"") {
            let name: String = tag[1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let close = format!("</{name}>");
            if let Some(e) = rest.find(&close) {
                rest = &rest[e + close.len()..];
                continue;
            }
        }
        for attr in ["title=\"", "placeholder=\"", "aria-label=\"", "alt=\""] {
            if let Some(a) = tag.find(attr) {
                let v = &tag[a + attr.len()..];
                if let Some(q) = v.find('"') {
                    out.push_str(&v[..q]);
                    out.push(' ');
                }
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    decode(&out)
}

fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in html.match_indices("href=\"") {
        let v = &html[i + 6..];
        let Some(q) = v.find('"') else { continue };
        let href = decode(&v[..q]);
        if href.starts_with('/') && !href.starts_with("//") {
            out.push(href.split('#').next().unwrap_or("").to_string());
        }
    }
    out
}

struct Catalogues {
    keys: HashSet<String>,
    /// Chinese texts an English page must not show (three characters or more).
    zh: Vec<String>,
    /// English texts a Chinese page must not show (two words or more).
    en: Vec<String>,
}

fn catalogues() -> Catalogues {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let zh = linli::kernel::i18n::flatten(&std::fs::read_to_string(root.join("zh.toml")).unwrap());
    let en = linli::kernel::i18n::flatten(&std::fs::read_to_string(root.join("en.toml")).unwrap());
    let keys = zh.keys().chain(en.keys()).cloned().collect();
    let frag = |v: &str| -> Vec<String> {
        // The fixed parts of a message with placeholders.
        v.split(['{', '}'])
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, p)| p.trim().to_string())
            .collect()
    };
    // Words that are also the demo's data (tag names, device names, a worker's note) are not
    // the interface speaking the wrong language when they appear as data.
    let data_words = |k: &str| {
        ["tag.", "fig.", "stats.", "sensing.type_"]
            .iter()
            .any(|f| k.starts_with(f))
    };
    let mut zh_texts: Vec<String> = zh
        .iter()
        .filter(|(k, _)| !data_words(k))
        .flat_map(|(_, v)| frag(v))
        .filter(|v| {
            v.chars()
                .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
                .count()
                >= 3
        })
        .collect();
    let mut en_texts: Vec<String> = en
        .values()
        .flat_map(|v| frag(v))
        .filter(|v| {
            v.split_whitespace()
                .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()) && w.len() >= 2)
                .count()
                >= 2
        })
        .collect();
    // Texts the two catalogues share (names of things, units) are not the other language.
    let shared: HashSet<String> = zh
        .values()
        .filter(|v| en.values().any(|e| e == *v))
        .cloned()
        .collect();
    zh_texts.retain(|v| !shared.contains(v));
    en_texts.retain(|v| !shared.contains(v));
    zh_texts.sort();
    zh_texts.dedup();
    en_texts.sort();
    en_texts.dedup();
    Catalogues {
        keys,
        zh: zh_texts,
        en: en_texts,
    }
}

/// Catalogue keys shown as text: `tag.low_income`, `case.state.open`.
fn keys_in(text: &str, keys: &HashSet<String>) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| w.contains('.') && keys.contains(*w))
        .map(str::to_string)
        .collect()
}

/// English phrases on a Chinese page: two or more English words in a row (names of standards
/// and formats aside).
fn english_in(text: &str) -> Vec<String> {
    const ALLOWED: [&str; 8] = [
        "linli",
        "open311",
        "georeport",
        "csv",
        "xlsx",
        "json",
        "mqtt",
        "http",
    ];
    let mut found = Vec::new();
    // Raw JSON and code words (`absence_s`, `low_income`) are never the interface.
    if text.contains("{\"") {
        found.push("raw JSON".to_string());
    }
    for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let lower = w.chars().any(|c| c.is_ascii_lowercase());
        if lower
            && (w.contains('_') || (w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase())))
            && !ALLOWED.contains(&w)
        {
            found.push(w.to_string());
        }
    }
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut run: Vec<&str> = Vec::new();
        for w in words.iter().chain(std::iter::once(&"")) {
            let word = w.trim_matches(|c: char| ",.:;!?()·/\"'".contains(c));
            let english = word.len() >= 2
                && word.chars().all(|c| c.is_ascii_alphabetic())
                && word.chars().any(|c| c.is_ascii_lowercase())
                && !ALLOWED.contains(&word.to_ascii_lowercase().as_str());
            if english {
                run.push(word);
            } else {
                if run.len() >= 2 {
                    found.push(run.join(" "));
                }
                run.clear();
            }
        }
    }
    found
}

/// Text on a page that is data, not the interface: (page shape, text, why).
const DATA: &[(&str, &str, &str)] = &[
    // The editors of the two-language vocabularies show both names of each entry.
    (
        "/admin/tags",
        "*",
        "a tag's English name beside its Chinese one",
    ),
    (
        "/cases/catalogue",
        "*",
        "a category's English name beside its Chinese one",
    ),
    // A worker's note, typed in Chinese: "非实际问题，不予受理".
    (
        "/cases/#",
        "不予受理",
        "the demo's note on a rejected report",
    ),
    ("/inbox", "不予受理", "the demo's note on a rejected report"),
    // Account names are identifiers, in Latin letters by nature.
    ("/admin/users", "*", "account names"),
    // A device profile's telemetry keys and its rule templates are the devices' own
    // identifiers (`door`, `door_cycles`, a rule's JSON), as the devices send them.
    ("/device-profiles", "*", "telemetry keys and rule templates"),
    // A CSV file's column names and coded values (`serial`, `paper_form`) are its format.
    ("/devices/import", "*", "the device file's column names"),
    // A vote's title is written by the community who calls it: the demo's, in Chinese.
    ("/votes", "加装电梯", "the demo vote's title"),
    // A sweep's questions and options are written by the community who runs it: the demo's,
    // in Chinese.
    ("/sweeps", "*", "the demo sweep's questions and answers"),
    // A survey's title, questions, options and answers are the words of the community that
    // asks (the demo's satisfaction survey was written from the Chinese template).
    ("/surveys", "*", "the demo surveys' questions and answers"),
    // An eligibility rule's name, benefit, condition and what it tells residents are the
    // street's own words (the demo's, in Chinese).
    ("/eligibility/rules", "*", "the demo rules' names and texts"),
    // Emergency supplies are named by those who keep them.
    ("/supplies", "*", "the demo stock's names"),
    // A sign-up sheet's title, items and notes are the organiser's and residents' words (the
    // demo's, in Chinese).
    ("/sheets", "*", "the demo sheets' titles, items and notes"),
    // A fund's name and its entries' purposes are its representatives' words (the demo's, in
    // Chinese).
    ("/funds", "*", "the demo fund's name and purposes"),
    // Mutual aid posts and messages are the residents' own words (the demo's, in Chinese),
    // and the masked names (王**) and buildings are theirs.
    (
        "/aid",
        "*",
        "the demo posts' words, masked names and buildings",
    ),
    // Gates: the estate's, gates' and units' names, plates, card numbers and visitors' names
    // are the street's and residents' own (the demo's, in Chinese).
    (
        "/gates",
        "*",
        "the demo estate's, gates' and units' names and plates",
    ),
    // A call-up's title, needs and place note are the organiser's words (the demo's, in
    // Chinese), and the volunteers' names are theirs.
    (
        "/callups",
        "*",
        "the demo call-up's words and the volunteers' names",
    ),
    // Volunteer activities, catalogue items and their notes are the organiser's words (the
    // demo's, in Chinese), and the volunteers' names are theirs.
    (
        "/volunteering",
        "*",
        "the demo activities' and items' words and the volunteers' names",
    ),
    (
        "/",
        "社区花园认养日",
        "the demo activity on a volunteer's home card",
    ),
    (
        "/",
        "停电送水上楼",
        "the demo call-up's title on a volunteer's home card",
    ),
    (
        "/",
        "楼下物资点集合",
        "the demo call-up's meeting point on a volunteer's home card",
    ),
];

fn is_data(path: &str, text: &str) -> bool {
    let shape = shape(path);
    DATA.iter().any(|(p, t, _)| {
        shape.starts_with(p)
            && (*t == "*"
                || *t == text
                || t.strip_suffix('*').is_some_and(|pre| text.starts_with(pre)))
    })
}

async fn walk(app: &TestApp, cat: &Catalogues, user: &str, lang: &str) -> Vec<String> {
    let (b, r) = app.login_page(user, PASSWORD).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{user} signs in"
    );
    b.get(app.url(&format!("/lang/{lang}")))
        .send()
        .await
        .unwrap();
    let mut problems = Vec::new();
    let mut queue = vec!["/".to_string()];
    let mut seen: HashSet<String> = HashSet::new();
    let mut shapes: HashMap<String, usize> = HashMap::new();
    let mut visited = 0;
    while let Some(path) = queue.pop() {
        if visited >= MAX_PAGES || !seen.insert(path.clone()) {
            continue;
        }
        let n = shapes.entry(shape(&path)).or_default();
        if *n >= PER_SHAPE {
            continue;
        }
        *n += 1;
        visited += 1;
        let r = b.get(app.url(&path)).send().await.unwrap();
        let status = r.status().as_u16();
        let is_html = r
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/html"));
        if !is_html {
            continue;
        }
        let html = r.text().await.unwrap();
        if status >= 500 {
            problems.push(format!("{user} {lang} {path}: status {status}"));
        }
        // A link the role is shown leads somewhere it may go (issue 19 item 10: a resident's
        // address and the grid on her case map were 403s).
        if status == 403 {
            problems.push(format!(
                "{user} {lang} {path}: a link to a page it may not see (403)"
            ));
        }
        // Every chart and map has a name a screen reader reads (issue 19 item 18).
        for (i, _) in html.match_indices("<svg") {
            let tag = &html[i..i + html[i..].find('>').unwrap_or(0)];
            let decorative = tag.contains("aria-hidden=\"true\"");
            let named = tag
                .find("aria-label=\"")
                .is_some_and(|j| !tag[j + 12..].starts_with('"'));
            if !decorative && !named {
                problems.push(format!(
                    "{user} {lang} {path}: an <svg> without a name: {tag}"
                ));
            }
        }
        // A device's key is a random identifier, not words.
        let text: String = visible(&html)
            .split(' ')
            .filter(|w| !w.trim().starts_with("dev_"))
            .collect::<Vec<_>>()
            .join(" ");
        for k in keys_in(&text, &cat.keys) {
            problems.push(format!("{user} {lang} {path}: catalogue key {k:?}"));
        }
        if lang == "zh" {
            for t in cat
                .en
                .iter()
                .filter(|t| text.contains(t.as_str()) && !is_data(&path, t))
            {
                problems.push(format!("{user} {lang} {path}: English text {t:?}"));
            }
            for t in english_in(&text).into_iter().filter(|t| !is_data(&path, t)) {
                problems.push(format!("{user} {lang} {path}: English phrase {t:?}"));
            }
        } else {
            for t in cat
                .zh
                .iter()
                .filter(|t| text.contains(t.as_str()) && !is_data(&path, t))
            {
                problems.push(format!("{user} {lang} {path}: Chinese text {t:?}"));
            }
        }
        let mut next: Vec<String> = links(&html).into_iter().filter(|l| !skip(l)).collect();
        next.reverse();
        queue.extend(next);
    }
    problems
}

#[tokio::test]
async fn every_page_speaks_the_viewers_language_only() {
    let app = support::spawn().await;
    let cat = catalogues();
    // What a street's first week leaves on its pages: a reveal for an emergency, a correction
    // asked for, a record changed (its history), a case reported.
    let wangge = app.token("wangge").await;
    let jumin_person = app
        .query_i64("SELECT person_id FROM users WHERE username = 'jumin'")
        .await;
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/persons/{jumin_person}/reveal")))
        .bearer_auth(&wangge)
        .json(
            &serde_json::json!({"field": "id_number", "purpose": "emergency", "note": "联系不上"}),
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let r = app
        .client()
        .patch(app.url(&format!("/api/v1/persons/{jumin_person}")))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"notes": "腿脚不便，住三楼"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    // A street's own tag (低保户, defined in the tags table, not the catalogue) on a
    // household the resident herself opens.
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/persons/{jumin_person}/tags")))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"tag": "low_income", "source": "民政"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let jumin = app.token("jumin").await;
    let r = app
        .client()
        .post(app.url("/api/v1/me/corrections"))
        .bearer_auth(&jumin)
        .json(&serde_json::json!({"field": "phone", "message": "手机号换了"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let mut problems: BTreeSet<String> = BTreeSet::new();
    for user in ROLES {
        for lang in ["zh", "en"] {
            problems.extend(walk(&app, &cat, user, lang).await);
        }
    }
    let list: Vec<&String> = problems.iter().collect();
    assert!(
        list.is_empty(),
        "{} problems:\n{}",
        list.len(),
        list.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Issue 19, item 10: an error page keeps the signed-in visitor's navigation and sign-out, in
/// her language; a visitor not signed in still gets the plain page.
#[tokio::test]
async fn error_pages_keep_the_navigation_and_the_sign_out() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    for (path, status) in [
        ("/admin/users", 403),
        ("/cases/99999999", 404),
        ("/no-such-page", 404),
    ] {
        let r = b.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"logout\""), "{path}: the sign-out");
        assert!(
            html.contains("class=\"main-nav\"") && html.contains("href=\"/me/access-log\""),
            "{path}: the navigation"
        );
    }
    let r = app
        .client()
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(!r.text().await.unwrap().contains("id=\"logout\""));
}

/// Issue 19, item 18: a skip link to the content, and the navigation says where the visitor is.
#[tokio::test]
async fn pages_have_a_skip_link_and_mark_where_you_are() {
    let app = support::spawn().await;
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let html = app.page(&b, "/cases").await;
    assert!(html.contains("class=\"skip\" href=\"#main\"") && html.contains("<main id=\"main\""));
    let nav = &html[html.find("class=\"main-nav\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    assert_eq!(nav.matches("aria-current=\"page\"").count(), 1, "{nav}");
    assert!(
        nav.contains("href=\"/cases\" id=\"nav-cases\" aria-current=\"page\""),
        "{nav}"
    );
    let home = app.page(&b, "/").await;
    assert!(home.contains("<a href=\"/\" aria-current=\"page\">"));
}
