//! A report typed before the session expired is not lost (issue 19 item 10): the report form
//! sent without a session keeps what was typed in cookies of the browser that typed it (only
//! `/cases/new` reads them; nothing is stored on the server for a visitor who is not signed
//! in), the sign-in page says the session expired, and after signing in the form comes back
//! filled, ready to send. The photos chosen cannot be kept (a browser does not refill a file
//! input); the form says so.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookies a draft is cut into (a cookie holds about 4 KB).
const PARTS: usize = 6;
const PART_LEN: usize = 3800;
const NAME: &str = "linli_draft_";

/// Fields never kept: the form's token and the photos.
fn kept(name: &str) -> bool {
    !matches!(name, "csrf" | "photo")
}

/// The `Set-Cookie` values that keep a report form's fields for a day; none when they do not
/// fit (a report of the longest kind fits).
pub fn keep(form: &[(String, String)]) -> Vec<HeaderValue> {
    let fields: Vec<&(String, String)> = form.iter().filter(|(k, _)| kept(k)).collect();
    let Ok(json) = serde_json::to_vec(&fields) else {
        return Vec::new();
    };
    let enc = URL_SAFE_NO_PAD.encode(json);
    if enc.len() > PARTS * PART_LEN {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in 0..PARTS {
        let part = enc.get(i * PART_LEN..((i + 1) * PART_LEN).min(enc.len()));
        let v = match part {
            Some(p) if !p.is_empty() => {
                format!("{NAME}{i}={p}; Path=/cases/new; HttpOnly; SameSite=Lax; Max-Age=86400")
            }
            _ => format!("{NAME}{i}=; Path=/cases/new; HttpOnly; SameSite=Lax; Max-Age=0"),
        };
        if let Ok(h) = HeaderValue::from_str(&v) {
            out.push(h);
        }
    }
    out
}

/// The kept fields, if the browser holds a draft.
pub fn restore(headers: &HeaderMap) -> Option<Vec<(String, String)>> {
    let mut enc = String::new();
    for i in 0..PARTS {
        match crate::http::cookie(headers, &format!("{NAME}{i}")) {
            Some(p) if !p.is_empty() => enc.push_str(p),
            _ => break,
        }
    }
    if enc.is_empty() {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(enc.as_bytes()).ok()?;
    let fields: Vec<(String, String)> = serde_json::from_slice(&json).ok()?;
    Some(fields.into_iter().filter(|(k, _)| kept(k)).collect())
}

/// Whether the browser holds a draft.
pub fn held(headers: &HeaderMap) -> bool {
    crate::http::cookie(headers, &format!("{NAME}0")).is_some_and(|p| !p.is_empty())
}

/// The `Set-Cookie` values that forget a draft (once it is sent).
pub fn forget() -> Vec<HeaderValue> {
    (0..PARTS)
        .filter_map(|i| {
            HeaderValue::from_str(&format!(
                "{NAME}{i}=; Path=/cases/new; HttpOnly; SameSite=Lax; Max-Age=0"
            ))
            .ok()
        })
        .collect()
}

/// Adds `Set-Cookie` values to a response.
pub fn set(res: &mut axum::response::Response, cookies: Vec<HeaderValue>) {
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_comes_back_as_typed() {
        let long = "楼道里堆满杂物，".repeat(250);
        let form = vec![
            ("csrf".to_string(), "t".to_string()),
            ("category".into(), "noise".into()),
            ("description".into(), long.clone()),
            ("extra.source".into(), "商铺".into()),
        ];
        let cookies = keep(&form);
        assert_eq!(cookies.len(), PARTS);
        let mut h = HeaderMap::new();
        let pairs: Vec<String> = cookies
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
            .filter(|p| !p.ends_with('='))
            .collect();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&pairs.join("; ")).unwrap(),
        );
        let back = restore(&h).unwrap();
        assert_eq!(back.len(), 3, "the token is not kept");
        assert_eq!(back[1], ("description".to_string(), long));
        assert!(held(&h));
    }
}
