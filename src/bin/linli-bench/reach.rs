//! `linli-bench reach`: issue 24's targets for messages out, in process on SQLite, against an
//! SMTP server this bench starts on 127.0.0.1 (it takes every message and answers at once).
//!
//! 1. N messages (default 10,000) queued to N accounts' e-mail addresses in one transaction,
//!    then delivered by reach's own delivery round (claim → send through the pooled SMTP
//!    transport → record) until none is left (target: under 30 s). Baseline in the same run:
//!    the same SMTP transport sending N/10 messages directly, with the same parallelism and no
//!    outbox, so the outbox's own cost shows.
//! 2. A care alert's first message: a chain started in a write transaction (as sensing does
//!    when an alert is raised), with reach's delivery loop running as in the server; the time
//!    from the commit to the SMTP server taking the message, K times (target: p99 under 1 s).
//!
//! ```text
//! cargo build --release --bins
//! ./target/release/linli-bench reach [--messages 10000] [--alerts 100]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Args, Debug, Clone)]
pub struct ReachArgs {
    /// Messages queued and delivered.
    #[arg(long, default_value_t = 10_000)]
    messages: usize,
    /// Care alerts whose first message is timed.
    #[arg(long, default_value_t = 100)]
    alerts: usize,
}

const DELIVERY_TARGET: Duration = Duration::from_secs(30);
const FIRST_MESSAGE_P99_TARGET: Duration = Duration::from_secs(1);

/// An SMTP server that takes everything: counts messages, and sends each recipient's arrival
/// time down `arrivals`.
async fn smtp_sink(
    taken: Arc<AtomicUsize>,
    arrivals: tokio::sync::mpsc::UnboundedSender<(String, Instant)>,
) -> Result<u16> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = l.local_addr()?.port();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let (taken, arrivals) = (taken.clone(), arrivals.clone());
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 bench ESMTP\r\n").await;
                let mut rcpt = Vec::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let up = line.to_ascii_uppercase();
                    let answer: &[u8] = if up.starts_with("EHLO") {
                        b"250-bench\r\n250 8BITMIME\r\n"
                    } else if up.starts_with("RCPT TO") {
                        rcpt.push(line[8..].trim().to_string());
                        b"250 ok\r\n"
                    } else if up.starts_with("MAIL FROM") {
                        rcpt.clear();
                        b"250 ok\r\n"
                    } else if up.starts_with("DATA") {
                        let _ = w.write_all(b"354 go on\r\n").await;
                        loop {
                            let mut l = String::new();
                            if r.read_line(&mut l).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if l == ".\r\n" {
                                break;
                            }
                        }
                        let now = Instant::now();
                        for to in rcpt.drain(..) {
                            taken.fetch_add(1, Ordering::Relaxed);
                            let _ = arrivals.send((to, now));
                        }
                        b"250 queued\r\n"
                    } else if up.starts_with("QUIT") {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    if w.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(port)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub fn run(args: ReachArgs) -> Result<std::process::ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(bench(args))
}

async fn bench(args: ReachArgs) -> Result<std::process::ExitCode> {
    use linli::reach::{Body, Message, Recipient, Urgency};
    let dir = tempfile_dir()?;
    let url = format!("sqlite://{}", dir.join("linli.db").display());
    let db = linli::store::Db::open(&url)?;
    db.migrate_blocking()?;
    let keys = linli::store::keys::FieldKeys::load_or_create(&dir.join("keys"))?;
    let log_key = linli::audit::LogKey::load_or_create(&dir.join("keys"))?;
    let cfg = linli::config::Config {
        data_dir: dir.clone(),
        database_url: linli::config::Secret::new(url.clone()),
        listen: "127.0.0.1:0".into(),
        ..linli::config::Config::default()
    };
    let state = linli::app::state(db.clone(), cfg, keys.clone(), log_key);
    let taken = Arc::new(AtomicUsize::new(0));
    let (tx, mut arrivals) = tokio::sync::mpsc::unbounded_channel();
    let port = smtp_sink(taken.clone(), tx).await?;
    println!(
        "linli-bench reach: {} messages, {} care alerts, SMTP sink on 127.0.0.1:{port}",
        args.messages, args.alerts
    );
    let street = db
        .write(|c| {
            let id = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) VALUES (NULL, NULL, 'street', 'b', '基准街道', 'b', 0, 0) RETURNING id",
                &[],
            )?;
            c.exec("UPDATE places SET street_id = $1 WHERE id = $1", linli::params![id])?;
            Ok(id)
        })
        .await?;
    let settings = linli::reach::settings::Settings {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        smtp_security: "plain".into(),
        smtp_from: "linli@bench.example".into(),
        ..Default::default()
    };
    {
        let keys = keys.clone();
        db.write(move |c| linli::reach::settings::save(c, &keys, street, &settings, 0, 0))
            .await?;
    }
    let server = {
        let keys = keys.clone();
        db.read(move |c| linli::reach::settings::smtp_server(c, &keys, street))
            .await?
            .context("the SMTP server was not saved")?
    };

    // Baseline: the transport alone, N/10 messages, 16 at a time.
    let base_n = (args.messages / 10).max(1);
    let t = Instant::now();
    {
        use futures_util::StreamExt;
        let results: Vec<_> = futures_util::stream::iter((0..base_n).map(|i| {
            let s = server.clone();
            async move {
                linli::reach::smtp::send(
                    &s,
                    &format!("base{i}@bench.example"),
                    "基准",
                    "正文",
                    "",
                    &format!("base-{i}"),
                )
                .await
            }
        }))
        .buffer_unordered(16)
        .collect()
        .await;
        if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
            anyhow::bail!("the baseline could not send: {e}");
        }
    }
    let base = t.elapsed();
    let base_rate = base_n as f64 / base.as_secs_f64();

    // 1. N queued messages delivered.
    let n = args.messages;
    {
        let keys = keys.clone();
        db.write(move |c| {
            let rows: Vec<Vec<linli::store::Val>> = (0..n)
                .map(|i| {
                    let a = format!("u{i}@bench.example");
                    vec![
                        street.into(),
                        (i as i64 + 1_000_000).into(),
                        "email".into(),
                        keys.encrypt(&a).into(),
                        "u***@bench.example".into(),
                        1i64.into(),
                        0i64.into(),
                    ]
                })
                .collect();
            c.insert_many(
                "reach_addresses",
                &[
                    "street_id",
                    "user_id",
                    "channel",
                    "address",
                    "masked",
                    "enabled",
                    "created_at",
                ],
                &rows,
            )?;
            Ok(())
        })
        .await?;
    }
    let tq = Instant::now();
    db.write(move |c| {
        for i in 0..n {
            linli::reach::tell(
                c,
                &Message {
                    street_id: street,
                    to: Recipient::User(i as i64 + 1_000_000),
                    urgency: Urgency::Normal,
                    body: Body::Text(format!("第 {i} 条：3号楼电梯今天下午检修")),
                    link: None,
                    idem: format!("bench-{i}"),
                    source: "bench".into(),
                    sender: None,
                },
            )?;
        }
        Ok(())
    })
    .await?;
    let queued = tq.elapsed();
    let before = taken.load(Ordering::Relaxed);
    let t = Instant::now();
    let mut rounds = 0;
    loop {
        let r = linli::reach::service::deliver_due(&state, linli::store::now_ms(), 200)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.key))?;
        rounds += 1;
        if r.claimed == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("delivery did not finish in 300 s");
        }
    }
    let took = t.elapsed();
    let sent = db
        .read(|c| {
            c.query_i64(
                "SELECT COUNT(*) FROM reach_deliveries WHERE state = 'sent'",
                &[],
            )
        })
        .await? as usize;
    let arrived = taken.load(Ordering::Relaxed) - before;
    let rate = n as f64 / took.as_secs_f64();
    println!();
    println!("1. {n} queued messages delivered to a local SMTP server");
    println!(
        "   queued in one transaction   {:>10.1} ms",
        queued.as_secs_f64() * 1e3
    );
    println!("   delivered (sent / arrived)  {sent} / {arrived} in {rounds} rounds");
    println!(
        "   time                        {:>10.1} ms   ({rate:.0} msg/s)",
        took.as_secs_f64() * 1e3
    );
    println!(
        "   baseline: transport alone   {:>10.1} ms for {base_n}   ({base_rate:.0} msg/s)",
        base.as_secs_f64() * 1e3
    );
    let ok1 = took < DELIVERY_TARGET && sent == n && arrived == n;
    println!(
        "   target < {} s               {}",
        DELIVERY_TARGET.as_secs(),
        if ok1 { "PASS" } else { "FAIL" }
    );
    while arrivals.try_recv().is_ok() {}

    // 2. A care alert's first message leaving the outbox, with the delivery loop running.
    let loop_state = state.clone();
    let looped = tokio::spawn(linli::reach::jobs::deliver(loop_state));
    let mut lat = Vec::with_capacity(args.alerts);
    for k in 0..args.alerts {
        let person = 5_000_000 + k as i64;
        let keys2 = keys.clone();
        db.write(move |c| {
            let _ = linli::reach::settings::add_contact(
                c,
                &keys2,
                street,
                person,
                &linli::reach::settings::NewContact {
                    relation: "family".into(),
                    name: "李小红".into(),
                    channel: linli::reach::Channel::Email,
                    address: format!("family{k}@bench.example"),
                    timeout_min: Some(10),
                    consent_note: "基准".into(),
                },
                0,
                0,
            )?;
            Ok(())
        })
        .await?;
        let t0 = Instant::now();
        db.write(move |c| {
            linli::reach::chains::start(
                c,
                &linli::reach::chains::CareAlert {
                    street_id: street,
                    alert_id: 9_000_000 + k as i64,
                    person_id: person,
                    case_id: None,
                    place_path: "b",
                    what: "门磁 24 小时未开 / door not opened for 24 h",
                    place: "3号楼 305室",
                },
                linli::store::now_ms(),
            )
        })
        .await?;
        let want = format!("family{k}@bench.example");
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some((to, at)) = arrivals.recv().await {
                if to.contains(&want) {
                    return Some(at);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .context("a care alert's first message never arrived")?;
        lat.push(got.saturating_duration_since(t0));
    }
    looped.abort();
    lat.sort();
    let p99 = pct(&lat, 0.99);
    println!();
    println!(
        "2. care alert → first message leaves the outbox ({} alerts, delivery loop as in the server)",
        lat.len()
    );
    println!(
        "   p50 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    let ok2 = p99 < FIRST_MESSAGE_P99_TARGET;
    println!(
        "   target p99 < 1 s            {}",
        if ok2 { "PASS" } else { "FAIL" }
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(if ok1 && ok2 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!(
        "linli-bench-reach-{}-{}",
        std::process::id(),
        linli::store::now_ms()
    ));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
