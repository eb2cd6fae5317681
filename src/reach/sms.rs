//! SMS through the street's HTTP gateway: a request template (URL, headers, a JSON or form
//! body) with `{phone}` and `{text}` where the number and the words go, so a street plugs in
//! the provider it has a contract with; and a success condition on the provider's answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A gateway's request template and what a successful answer looks like.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Reach_SmsTemplate)]
pub struct Template {
    /// The gateway's URL; `{phone}` and `{text}` may appear (URL-encoded when filled).
    pub url: String,
    /// Headers, each value a template too (an API key, a content type).
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub headers: Vec<(String, String)>,
    /// `json` (values filled as JSON string contents) or `form` (URL-encoded).
    pub format: String,
    /// The body with `{phone}` and `{text}`.
    pub body: String,
    /// Empty: any 2xx answer. `json:PATH=VALUE` (e.g. `json:code=0`, `json:result.status=OK`):
    /// the answer's JSON at that dotted path equals the value. `contains:TEXT`: the answer
    /// holds the text.
    #[serde(default)]
    pub success: String,
}

/// What a template renders to: URL, headers, body.
pub type Request = (String, Vec<(String, String)>, Vec<u8>);

fn json_inner(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn url_enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Template {
    /// Checks a template as an administrator saves it (the reason as a catalogue key).
    pub fn check(&self) -> Result<(), &'static str> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://"))
            || self.url.len() > 1000
        {
            return Err("reach.err.url");
        }
        if !matches!(self.format.as_str(), "json" | "form") {
            return Err("reach.err.sms_format");
        }
        let all = format!(
            "{}{}{}",
            self.url,
            self.body,
            self.headers
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<String>()
        );
        if !all.contains("{phone}") || !all.contains("{text}") {
            return Err("reach.err.sms_placeholders");
        }
        if self
            .headers
            .iter()
            .any(|(k, v)| k.is_empty() || k.contains([':', '\r', '\n']) || v.contains(['\r', '\n']))
        {
            return Err("reach.err.sms_header");
        }
        if !(self.success.is_empty()
            || self.success.starts_with("contains:")
            || self
                .success
                .strip_prefix("json:")
                .is_some_and(|r| r.contains('=')))
        {
            return Err("reach.err.sms_success");
        }
        self.render("13800138000", "测试 \"test\" & more")
            .map(|_| ())
            .map_err(|_| "reach.err.sms_render")
    }

    /// Fills the template for one message; a JSON body that does not parse once filled is
    /// refused (the delivery keeps the reason and is retried).
    pub fn render(&self, phone: &str, text: &str) -> Result<Request, String> {
        let url = self
            .url
            .replace("{phone}", &url_enc(phone))
            .replace("{text}", &url_enc(text));
        let body = match self.format.as_str() {
            "json" => {
                let b = self
                    .body
                    .replace("{phone}", &json_inner(phone))
                    .replace("{text}", &json_inner(text));
                serde_json::from_str::<serde_json::Value>(&b)
                    .map_err(|e| format!("the SMS template does not render to JSON: {e}"))?;
                b
            }
            "form" => self
                .body
                .replace("{phone}", &url_enc(phone))
                .replace("{text}", &url_enc(text)),
            other => return Err(format!("unknown SMS body format {other:?}")),
        };
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{phone}", phone).replace("{text}", "")))
            .collect();
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push((
                "content-type".into(),
                if self.format == "json" {
                    "application/json".into()
                } else {
                    "application/x-www-form-urlencoded".into()
                },
            ));
        }
        Ok((url, headers, body.into_bytes()))
    }

    /// Whether the provider's answer is a success by the template's condition.
    pub fn succeeded(&self, status: u16, body: &str) -> Result<(), String> {
        let short = || body.chars().take(200).collect::<String>();
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}: {}", short()));
        }
        if let Some(needle) = self.success.strip_prefix("contains:") {
            return if body.contains(needle) {
                Ok(())
            } else {
                Err(format!("the gateway did not confirm: {}", short()))
            };
        }
        if let Some((path, want)) = self
            .success
            .strip_prefix("json:")
            .and_then(|r| r.split_once('='))
        {
            let v: serde_json::Value = serde_json::from_str(body)
                .map_err(|_| format!("the gateway answered no JSON: {}", short()))?;
            let got = path
                .split('.')
                .try_fold(&v, |v, k| v.get(k))
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            return if got.as_deref() == Some(want) {
                Ok(())
            } else {
                Err(format!("the gateway refused: {}", short()))
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_answers_are_checked() {
        let t = Template {
            url: "https://sms.example/send?to={phone}".into(),
            headers: vec![("X-Key".into(), "k1".into())],
            format: "json".into(),
            body: r#"{"to":"{phone}","msg":"{text}"}"#.into(),
            success: "json:result.code=OK".into(),
        };
        assert!(t.check().is_ok());
        let (url, h, b) = t.render("13800138000", "门 \"未开\"").unwrap();
        assert_eq!(url, "https://sms.example/send?to=13800138000");
        assert!(
            h.iter()
                .any(|(k, v)| k == "content-type" && v == "application/json")
        );
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["msg"], "门 \"未开\"");
        assert!(t.succeeded(200, r#"{"result":{"code":"OK"}}"#).is_ok());
        assert!(t.succeeded(200, r#"{"result":{"code":"LIMIT"}}"#).is_err());
        assert!(t.succeeded(503, "").is_err());
        let bad = Template {
            body: r#"{"to":"{phone}","msg":{text}}"#.into(),
            ..t.clone()
        };
        assert_eq!(bad.check(), Err("reach.err.sms_render"));
        let none = Template {
            body: "{}".into(),
            url: "https://x/".into(),
            ..t
        };
        assert_eq!(none.check(), Err("reach.err.sms_placeholders"));
    }
}
