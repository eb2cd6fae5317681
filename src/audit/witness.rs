//! Witnesses: every signed tree head is published outside the database, so that whoever can
//! rewrite the database (restore an old copy, delete the newest heads and their entries) cannot
//! take back what was published. `linli audit verify --against FILE` then checks the log
//! against a kept head with a consistency proof.
//!
//! Two witnesses a street can configure: a file, to which each head's checkpoint text is
//! appended (put it on another disk, or a mount of another machine), and an HTTP endpoint, to
//! which each checkpoint is POSTed as `text/plain`. Each witness has its own mark in `meta`
//! (the size of the last head it took): a failure is logged and the same heads are offered
//! again on the next run, so no head is skipped; a witness configured anew starts with the
//! newest head of the moment it is first seen (which a consistency proof links to every older
//! one).

use std::io::Write;
use std::path::PathBuf;

use ed25519_dalek::VerifyingKey;
use sha2::Digest;

use super::Head;
use crate::config::Secret;
use crate::store::{Db, StoreError};

/// Where heads are published (none by default).
#[derive(Clone, Debug, Default)]
pub struct Witnesses {
    /// An append-only file of checkpoints, on another disk.
    pub file: Option<PathBuf>,
    /// An endpoint that receives each checkpoint as a POST (may carry a token, hence secret).
    pub url: Option<Secret>,
}

impl Witnesses {
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.url.is_none()
    }
}

/// What one run published.
#[derive(Debug, Default)]
pub struct Published {
    /// Heads handed to a witness in this run (counted once per witness).
    pub heads: usize,
    /// Witnesses that failed, with why; their heads are offered again next run.
    pub failed: Vec<String>,
}

/// The `meta` key of a witness's mark: named by a hash of its target, so that a URL's token
/// is not copied into the database, and a witness moved elsewhere starts afresh.
fn mark_key(kind: &str, target: &str) -> String {
    let h = sha2::Sha256::digest(target.as_bytes());
    format!("audit_witness:{kind}:{}", hex::encode(&h[..8]))
}

/// Heads a witness has not taken yet, oldest first. A witness seen for the first time starts
/// with the newest head (a consistency proof links it to every older one): its mark is set
/// just below that head at once, so that heads signed while it keeps failing are all offered.
async fn pending(db: &Db, key: String) -> Result<(String, Vec<Head>), StoreError> {
    db.write(move |c| {
        let done = match crate::store::meta(c, &key)?.and_then(|v| v.parse::<u64>().ok()) {
            Some(done) => done,
            None => {
                let start = super::latest_head(c)?.map(|h| h.size - 1).unwrap_or(0);
                crate::store::set_meta(c, &key, &start.to_string())?;
                start
            }
        };
        Ok((key, super::heads_after(c, done, 500)?))
    })
    .await
}

async fn set_mark(db: &Db, key: String, size: u64) -> Result<(), StoreError> {
    db.write(move |c| crate::store::set_meta(c, &key, &size.to_string()))
        .await
}

/// Publishes every head the configured witnesses have not taken yet. One run at a time in
/// this process (the signer job and an administrator's "sign now" may meet).
pub async fn publish(
    db: &Db,
    witnesses: &Witnesses,
    key: &VerifyingKey,
) -> Result<Published, StoreError> {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE_AT_A_TIME.lock().await;
    let mut out = Published::default();
    if let Some(path) = &witnesses.file {
        let target = path.display().to_string();
        let (mark, heads) = pending(db, mark_key("file", &target)).await?;
        for h in heads {
            let text = h.checkpoint(key);
            let p = path.clone();
            let r = tokio::task::spawn_blocking(move || append_file(&p, &text))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r);
            match r {
                Ok(()) => {
                    set_mark(db, mark.clone(), h.size).await?;
                    out.heads += 1;
                }
                Err(e) => {
                    tracing::warn!(witness = %target, size = h.size, error = %e,
                        "publishing a signed tree head to the witness file failed; retried next run");
                    out.failed.push(format!("file {target}: {e}"));
                    break;
                }
            }
        }
    }
    if let Some(url) = &witnesses.url {
        let (mark, heads) = pending(db, mark_key("url", url.expose())).await?;
        for h in heads {
            match post(url.expose(), h.checkpoint(key)).await {
                Ok(()) => {
                    set_mark(db, mark.clone(), h.size).await?;
                    out.heads += 1;
                }
                Err(e) => {
                    // The URL may carry a token: only its scheme and host are logged.
                    let shown = shown_url(url.expose());
                    tracing::warn!(witness = %shown, size = h.size, error = %e,
                        "publishing a signed tree head to the witness endpoint failed; retried next run");
                    out.failed.push(format!("endpoint {shown}: {e}"));
                    break;
                }
            }
        }
    }
    Ok(out)
}

fn shown_url(url: &str) -> String {
    match url.parse::<hyper::Uri>() {
        Ok(u) => format!(
            "{}://{}",
            u.scheme_str().unwrap_or("?"),
            u.authority().map(|a| a.host()).unwrap_or("?")
        ),
        Err(_) => "(unparsable URL)".into(),
    }
}

/// Appends one checkpoint and waits until it is on the disk. The folder is not created: a
/// witness disk that is not mounted must fail, not fill the data disk.
fn append_file(path: &std::path::Path, text: &str) -> Result<(), String> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    f.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())
}

/// POSTs one checkpoint; any 2xx answer is taken as kept.
async fn post(url: &str, text: String) -> Result<(), String> {
    use http_body_util::Full;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let req = || {
        hyper::Request::post(uri.clone())
            .header("content-type", "text/plain; charset=utf-8")
            .header("user-agent", "linli-witness")
            .body(Full::new(bytes::Bytes::from(text.clone())))
            .map_err(|e| e.to_string())
    };
    let send = async {
        let res = if uri.scheme_str() == Some("https") {
            let tls = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| format!("no CA certificates on this machine for HTTPS: {e}"))?
                .https_only()
                .enable_http1()
                .build();
            Client::builder(TokioExecutor::new())
                .build(tls)
                .request(req()?)
                .await
        } else {
            Client::builder(TokioExecutor::new())
                .build_http()
                .request(req()?)
                .await
        };
        res.map_err(|e| format!("{e:?}"))
    };
    let res = tokio::time::timeout(std::time::Duration::from_secs(10), send)
        .await
        .map_err(|_| "timed out".to_string())??;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {}", res.status().as_u16()))
    }
}
