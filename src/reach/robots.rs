//! The group robots' webhooks, as their platforms document them: 企业微信 (`msgtype: text`),
//! 钉钉 (`msgtype: text`, with the signed secret: `timestamp` in ms and `sign` =
//! base64(HMAC-SHA256(secret, "timestamp\nsecret")) added to the URL) and 飞书 (`msg_type:
//! text`, with an optional signature: `timestamp` in seconds and `sign` =
//! base64(HMAC-SHA256 keyed by "timestamp\nsecret" over nothing) in the body). Each answers
//! JSON whose `errcode` (企业微信, 钉钉) or `code` (飞书) is 0 on success.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::model::Channel;

fn b64_hmac(key: &[u8], msg: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// 钉钉's signature of a timestamp (ms).
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    b64_hmac(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    )
}

/// 飞书's signature of a timestamp (s).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    b64_hmac(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

/// The URL and JSON body of one text message to a robot.
pub fn request(
    kind: Channel,
    url: &str,
    secret: Option<&str>,
    text: &str,
    now_ms: i64,
) -> (String, serde_json::Value) {
    match kind {
        Channel::Dingtalk => {
            let url = match secret.filter(|s| !s.is_empty()) {
                Some(s) => {
                    let sign = dingtalk_sign(s, now_ms);
                    let enc: String = form_urlencoded::byte_serialize(sign.as_bytes()).collect();
                    let sep = if url.contains('?') { '&' } else { '?' };
                    format!("{url}{sep}timestamp={now_ms}&sign={enc}")
                }
                None => url.to_string(),
            };
            (
                url,
                serde_json::json!({"msgtype": "text", "text": {"content": text}}),
            )
        }
        Channel::Feishu => {
            let mut body = serde_json::json!({"msg_type": "text", "content": {"text": text}});
            if let Some(s) = secret.filter(|s| !s.is_empty()) {
                let ts = now_ms / 1000;
                body["timestamp"] = serde_json::Value::String(ts.to_string());
                body["sign"] = serde_json::Value::String(feishu_sign(s, ts));
            }
            (url.to_string(), body)
        }
        _ => (
            url.to_string(),
            serde_json::json!({"msgtype": "text", "text": {"content": text}}),
        ),
    }
}

/// Whether a robot's answer says the message was taken; the platform's error otherwise.
pub fn accepted(kind: Channel, status: u16, body: &str) -> Result<(), String> {
    if !(200..300).contains(&status) {
        return Err(format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        ));
    }
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| format!("not JSON: {}", body.chars().take(200).collect::<String>()))?;
    let code = match kind {
        Channel::Feishu => v.get("code").or_else(|| v.get("StatusCode")),
        _ => v.get("errcode"),
    };
    match code.and_then(|c| c.as_i64()) {
        Some(0) => Ok(()),
        _ => Err(format!(
            "refused: {}",
            body.chars().take(200).collect::<String>()
        )),
    }
}

/// Checks a robot's URL as typed: http(s), at most 1,000 characters.
pub fn check_url(url: &str) -> Result<String, &'static str> {
    let url = url.trim();
    let ok = url.len() <= 1000
        && (url.starts_with("https://") || url.starts_with("http://"))
        && url.parse::<hyper::Uri>().is_ok_and(|u| u.host().is_some());
    if ok {
        Ok(url.to_string())
    } else {
        Err("reach.err.url")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 钉钉's documented example shape: the signature is base64 of a 32-byte HMAC.
    #[test]
    fn signatures_are_base64_hmacs() {
        let s = dingtalk_sign("SEC123", 1_700_000_000_000);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&s)
            .unwrap();
        assert_eq!(raw.len(), 32);
        let (u, _) = request(
            Channel::Dingtalk,
            "https://x/robot/send?access_token=t",
            Some("SEC123"),
            "hi",
            1_700_000_000_000,
        );
        assert!(u.contains("&timestamp=1700000000000&sign="));
        assert!(accepted(Channel::Wecom, 200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(accepted(Channel::Wecom, 200, r#"{"errcode":93000}"#).is_err());
        assert!(accepted(Channel::Feishu, 200, r#"{"code":0,"msg":"success"}"#).is_ok());
        assert!(accepted(Channel::Feishu, 500, "").is_err());
    }
}
