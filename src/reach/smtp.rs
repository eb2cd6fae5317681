//! E-mail over SMTP through lettre: STARTTLS (required, not opportunistic), implicit TLS or
//! plain (a relay on the street's own network), with authentication when a user is set; plain
//! text plus HTML. One pooled transport per street's settings, so a burst of messages reuses
//! its connections.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// A street's SMTP server, as its administrator set it (the password decrypted).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Server {
    pub host: String,
    pub port: u16,
    /// starttls, tls, plain
    pub security: String,
    pub user: String,
    pub password: String,
    pub from: String,
}

type Transport = AsyncSmtpTransport<Tokio1Executor>;

fn transport(s: &Server) -> Result<Transport, String> {
    static CACHE: Mutex<Option<HashMap<Server, Transport>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = cache.get_or_insert_with(HashMap::new);
    if let Some(t) = map.get(s) {
        return Ok(t.clone());
    }
    let mut b = Transport::builder_dangerous(s.host.as_str())
        .port(s.port)
        .timeout(Some(Duration::from_secs(10)))
        // As many connections as the outbox sends at once (`delivery::PARALLEL`): a burst never
        // waits for a connection while another stands idle.
        .pool_config(PoolConfig::new().max_size(16));
    let params = || TlsParameters::new(s.host.clone()).map_err(|e| format!("TLS: {e}"));
    b = match s.security.as_str() {
        "tls" => b.tls(Tls::Wrapper(params()?)),
        "plain" => b.tls(Tls::None),
        _ => b.tls(Tls::Required(params()?)),
    };
    if !s.user.is_empty() {
        b = b.credentials(Credentials::new(s.user.clone(), s.password.clone()));
    }
    let t = b.build();
    if map.len() > 32 {
        map.clear();
    }
    map.insert(s.clone(), t.clone());
    Ok(t)
}

/// The HTML part: the text escaped, lines kept, the link made a link.
fn html(text: &str, link: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::from("<!doctype html><html><body style=\"font-family:sans-serif\">");
    for line in text.lines() {
        out.push_str(&format!("<p>{}</p>", esc(line)));
    }
    if !link.is_empty() {
        out.push_str(&format!(
            "<p><a href=\"{0}\" style=\"display:inline-block;padding:12px 18px;background:#0b6e4f;color:#fff;text-decoration:none;border-radius:6px\">{0}</a></p>",
            esc(link)
        ));
    }
    out.push_str("</body></html>");
    out
}

/// Sends one e-mail; `idem` becomes its Message-ID, so a receiver that sees it twice (a
/// process killed in the middle of a send) can tell.
pub async fn send(
    s: &Server,
    to: &str,
    subject: &str,
    text: &str,
    link: &str,
    idem: &str,
) -> Result<(), String> {
    let from: Mailbox = s
        .from
        .parse()
        .map_err(|e| format!("the sender address {:?} is not valid: {e}", s.from))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| format!("the address is not valid: {e}"))?;
    let plain = if link.is_empty() {
        text.to_string()
    } else {
        format!("{text}\n\n{link}")
    };
    let domain = s.from.rsplit('@').next().unwrap_or("linli");
    let id: String = idem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mail = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{id}@{domain}>")))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    lettre::message::SinglePart::builder()
                        .header(header::ContentType::TEXT_PLAIN)
                        .body(plain),
                )
                .singlepart(
                    lettre::message::SinglePart::builder()
                        .header(header::ContentType::TEXT_HTML)
                        .body(html(text, link)),
                ),
        )
        .map_err(|e| format!("composing the e-mail: {e}"))?;
    let t = transport(s)?;
    t.send(mail).await.map(|_| ()).map_err(|e| {
        let mut m = format!("SMTP: {e}");
        if let Some(code) = e.status() {
            m = format!("SMTP {code}: {e}");
        }
        m
    })
}
