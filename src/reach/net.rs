//! One HTTP request out, for the robots and the SMS gateway: to an address the street's
//! `webhook_allow` permits only (as cases' webhooks: no loopback, private or link-local
//! address unless allowed), HTTPS checked against the system's CA certificates, ten seconds
//! at most.

use std::net::IpAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};

/// What the server answered: its status and (the first 64 KiB of) its body.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

type Body = Full<bytes::Bytes>;
type Https = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Body,
>;
type Plain =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

fn https() -> Option<&'static Https> {
    static C: std::sync::OnceLock<Option<Https>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .ok()?;
        Some(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(tls.https_or_http().enable_http1().build()),
        )
    })
    .as_ref()
}

fn plain() -> &'static Plain {
    static C: std::sync::OnceLock<Plain> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new())
    })
}

/// Checks where `url` goes: every address its host is (or resolves to) must be permitted.
pub async fn check_destination(
    url: &str,
    permits: &(dyn Fn(&str, IpAddr) -> bool + Sync),
) -> Result<(), String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err("the URL must start with http:// or https://".into());
    }
    let host = uri
        .host()
        .unwrap_or("")
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::time::timeout(
            Duration::from_secs(3),
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| format!("resolving {host} timed out"))?
        .map_err(|e| format!("resolving {host}: {e}"))?
        .map(|a| a.ip())
        .collect(),
    };
    match addrs.iter().find(|ip| !permits(&host, **ip)) {
        Some(ip) => Err(format!(
            "{host} is {ip}, an address of this machine or a private network; \
             allow it with webhook_allow in linli.toml if it is meant"
        )),
        None => Ok(()),
    }
}

/// Sends one request and reads the answer.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    permits: &(dyn Fn(&str, IpAddr) -> bool + Sync),
) -> Result<Answer, String> {
    check_destination(url, permits).await?;
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let mut req = hyper::Request::builder()
        .method(if method.eq_ignore_ascii_case("GET") {
            "GET"
        } else {
            "POST"
        })
        .uri(uri)
        .header("user-agent", "linli-reach");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("bad request: {e}"))?;
    let go = async {
        let res = match https() {
            Some(c) => c.request(req).await,
            None if url.starts_with("https://") => {
                return Err("no CA certificates on this machine for HTTPS".to_string());
            }
            None => plain().request(req).await,
        }
        .map_err(|e| format!("{e:?}"))?;
        let status = res.status().as_u16();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        let cut = &bytes[..bytes.len().min(64 * 1024)];
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(cut).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(10), go)
        .await
        .map_err(|_| "timed out after 10 s".to_string())?
}
