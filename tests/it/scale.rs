//! Several linli processes on one database (issue 29): job leases with fencing tokens, the
//! per-address sign-in lock kept in the database, the audit log with two appenders at once
//! (these three on both backends), and two `linli serve` processes on one PostgreSQL database
//! driven at once, one killed with SIGKILL mid-way (PostgreSQL only: several processes on one
//! SQLite file is not a supported setup; CI runs it on its PostgreSQL service).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linli::store::{Db, leases};
use serde_json::{Value, json};

use crate::support::{self, PASSWORD};

/// A second handle on the test's database (its own pool, as another process has).
async fn open(url: &str) -> Db {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || Db::open(&url).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lease_is_held_renewed_taken_over_and_fenced() {
    let t = support::database().await;
    let r =
        t.db.write(|c| {
            let t0 = 1_000_000;
            // A takes the free lease; B is refused while it lasts.
            let a = leases::take(c, "cases.deadlines", "proc_a", t0, t0 + 10_000)?;
            assert_eq!(a, Some(1));
            assert_eq!(
                leases::take(c, "cases.deadlines", "proc_b", t0 + 1, t0 + 10_001)?,
                None
            );
            // A keeps it (same token) and renews it.
            assert_eq!(
                leases::take(c, "cases.deadlines", "proc_a", t0 + 2, t0 + 10_002)?,
                Some(1)
            );
            assert!(leases::renew(
                c,
                "cases.deadlines",
                "proc_a",
                1,
                t0 + 20_000
            )?);
            assert_eq!(
                leases::take(c, "cases.deadlines", "proc_b", t0 + 15_000, t0 + 25_000)?,
                None,
                "renewed: still A's"
            );
            // A stops renewing (killed, or paused): once expired, B takes it over under a new
            // token, and A's next renewal finds it lost.
            assert_eq!(
                leases::take(c, "cases.deadlines", "proc_b", t0 + 20_001, t0 + 30_000)?,
                Some(2)
            );
            assert!(!leases::renew(
                c,
                "cases.deadlines",
                "proc_a",
                1,
                t0 + 40_000
            )?);
            assert_eq!(
                leases::holder(c, "cases.deadlines", t0 + 20_002)?,
                Some(("proc_b".to_string(), 2))
            );
            // Another job's lease is its own.
            assert_eq!(
                leases::take(c, "audit.sign_head", "proc_a", t0 + 20_002, t0 + 30_000)?,
                Some(1)
            );
            // B stops: its leases are free at once, and the next holder's token is higher.
            assert_eq!(leases::release_all(c, "proc_b")?, 1);
            assert_eq!(
                leases::take(c, "cases.deadlines", "proc_a", t0 + 20_003, t0 + 30_000)?,
                Some(3)
            );
            Ok(())
        })
        .await;
    r.unwrap();
}

#[tokio::test]
async fn an_address_refused_for_an_account_is_refused_by_every_process() {
    let t = support::database().await;
    // Two handles (two pools, as two processes have) on one database.
    let other = open(&t.url).await;
    let window = 15 * 60_000;
    let now = linli::store::now_ms();
    for i in 0..5 {
        // Failures alternate between the processes; all count.
        let db = if i % 2 == 0 { &t.db } else { &other };
        let ok = db
            .write(move |c| {
                linli::org::users::reserve_client(c, "10.0.0.1", "wang", 5, window, now + i)
            })
            .await
            .unwrap();
        assert!(ok, "attempt {i} is allowed");
    }
    let sixth = other
        .write(move |c| {
            linli::org::users::reserve_client(c, "10.0.0.1", "wang", 5, window, now + 9)
        })
        .await
        .unwrap();
    assert!(!sixth, "the sixth is refused");
    let (again, elsewhere, other_account, later) =
        t.db.write(move |c| {
            Ok((
                linli::org::users::reserve_client(c, "10.0.0.1", "wang", 5, window, now + 10)?,
                linli::org::users::reserve_client(c, "10.0.0.2", "wang", 5, window, now + 10)?,
                linli::org::users::reserve_client(c, "10.0.0.1", "li", 5, window, now + 10)?,
                // The lock ends with its window, and counting starts over.
                linli::org::users::reserve_client(
                    c,
                    "10.0.0.1",
                    "wang",
                    5,
                    window,
                    now + 10 + window,
                )?,
            ))
        })
        .await
        .unwrap();
    assert!(!again, "refused in the first process too");
    assert!(elsewhere, "another address still may");
    assert!(other_account, "and this address on another account");
    assert!(later, "after the lock's window");
    tokio::task::spawn_blocking(move || other.close())
        .await
        .unwrap();
}

/// Entries two appenders (two pools, as two processes have) write at once keep one gap-free
/// sequence, one tree and a complete subject index.
#[tokio::test]
async fn two_appenders_keep_one_audit_log() {
    let t = support::database().await;
    let other = open(&t.url).await;
    let mut tasks = Vec::new();
    for (w, db) in [t.db.clone(), other.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                let entries: Vec<linli::audit::NewEntry> = (0..3)
                    .map(|k| {
                        linli::audit::NewEntry::anonymous(linli::audit::Action::Read, "tester")
                            .subjects([linli::audit::person(1000 + w as i64 * 100 + k)])
                    })
                    .collect();
                let _ = i;
                db.write(move |c| linli::audit::append(c, entries))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let keys = tempfile::tempdir().unwrap();
    let key = linli::audit::LogKey::load_or_create(keys.path()).unwrap();
    let (report, problems) =
        t.db.write(move |c| {
            linli::audit::sign_head(c, &key)?;
            let seqs = c.query_i64("SELECT COUNT(*) - MAX(seq) - 1 FROM audit_entries", &[])?;
            assert_eq!(seqs, 0, "the sequence has no gap");
            linli::audit::verify::verify(
                c,
                &key.public(),
                &linli::audit::verify::Options::default(),
                &mut |_| {},
            )
        })
        .await
        .unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(report.entries, 240);
    let indexed =
        t.db.read(|c| {
            c.query_i64(
                "SELECT COUNT(*) FROM audit_subjects WHERE subject LIKE 'person:1%'",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(indexed, 240, "every entry's subject is indexed");
    tokio::task::spawn_blocking(move || other.close())
        .await
        .unwrap();
}

/// A `linli serve` process of the two-process test.
struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str, data: &std::path::Path, keys: &std::path::Path, log: &std::path::Path) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linli"))
        .env_remove("LINLI_DATA")
        .env_remove("LINLI_LISTEN")
        .env("LINLI_JOB_LEASE_SECONDS", "3")
        .env("LINLI_LOG", "info")
        .args(["--data"])
        .arg(data)
        .args(["--key-dir"])
        .arg(keys)
        .args(["--database-url", url, "--listen", "127.0.0.1:0", "serve"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("linli listening on ")
        .unwrap_or_else(|| panic!("no listening line: {line:?}"))
        .to_string();
    // Keep reading what it prints, so it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Proc { child, base }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

async fn token(base: &str, user: &str, password: &str) -> Result<String, u16> {
    let r = client()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        return Err(r.status().as_u16());
    }
    let v: Value = r.json().await.unwrap();
    Ok(v["token"].as_str().unwrap().to_string())
}

async fn post(base: &str, token: &str, path: &str, body: Value) -> Result<(u16, Value), String> {
    let r = client()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let s = r.status().as_u16();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

async fn get(base: &str, token: &str, path: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Reads an SSE stream into `buf` until `done` holds of it, for at most `within`.
async fn read_until(
    stream: &mut reqwest::Response,
    buf: &mut String,
    within: Duration,
    done: impl Fn(&str) -> bool,
) -> bool {
    tokio::time::timeout(within, async {
        while !done(buf) {
            match stream.chunk().await {
                Ok(Some(b)) => buf.push_str(&String::from_utf8_lossy(&b)),
                _ => return false,
            }
        }
        true
    })
    .await
    .unwrap_or(false)
}

/// The job leases held now: (job, holder).
async fn holders(db: &Db) -> Vec<(String, String)> {
    let now = linli::store::now_ms();
    db.read(move |c| {
        Ok(c.query(
            "SELECT job, holder FROM job_leases WHERE expires_at >= $1 ORDER BY job",
            linli::params![now],
        )?
        .iter()
        .map(|r| (r.str(0), r.str(1)))
        .collect())
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn two_processes_share_one_postgresql_database() {
    // PostgreSQL only: SQLite serves one process (its file is not shared between servers).
    if support::pg_url().is_none() {
        return;
    }
    let t0 = Instant::now();
    let t = support::database().await;
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let (db, kd) = (t.db.clone(), keys_dir.clone());
    tokio::task::spawn_blocking(move || {
        let keys = linli::store::keys::FieldKeys::load_or_create(&kd).unwrap();
        linli::audit::LogKey::load_or_create(&kd).unwrap();
        let today = chrono::Local::now().date_naive();
        linli::demo::build(
            &db,
            &keys,
            linli::demo::synth::DemoSize::Small,
            7,
            PASSWORD,
            today,
            &|_, _| {},
        )
        .unwrap();
    })
    .await
    .unwrap();
    for d in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
    }
    let logs = [dir.path().join("a.log"), dir.path().join("b.log")];
    let show_logs = || {
        for l in &logs {
            eprintln!(
                "--- {}:\n{}",
                l.display(),
                std::fs::read_to_string(l).unwrap_or_default()
            );
        }
    };

    // A starts first and takes every job's lease; then B, which takes none.
    let mut a = serve(&t.url, &dir.path().join("a"), &keys_dir, &logs[0]);
    // Every job's lease taken: the count stops growing.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = (0, Instant::now());
    while Instant::now() < deadline {
        let n = holders(&t.db).await.len();
        if n != seen.0 {
            seen = (n, Instant::now());
        } else if n > 0 && seen.1.elapsed() > Duration::from_millis(1500) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = holders(&t.db).await;
    let a_id = before.first().map(|h| h.1.clone()).expect("A holds leases");
    assert!(before.iter().all(|h| h.1 == a_id), "{before:?}");
    let b = serve(&t.url, &dir.path().join("b"), &keys_dir, &logs[1]);
    let (ta, tb) = (
        token(&a.base, "admin", PASSWORD).await.unwrap(),
        token(&b.base, "admin", PASSWORD).await.unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        holders(&t.db).await.iter().all(|h| h.1 == a_id),
        "B waits for A's leases"
    );

    // A sign-out on A holds on B at once (B's cache of callers is cleared).
    let tmp = token(&a.base, "shegong", PASSWORD).await.unwrap();
    assert_eq!(get(&b.base, &tmp, "/api/v1/me").await.0, 200);
    let r = client()
        .delete(format!("{}/api/v1/session", a.base))
        .bearer_auth(&tmp)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&b.base, &tmp, "/api/v1/me").await.0, 401);

    // An address refused on one process is refused on the other.
    for _ in 0..5 {
        assert_eq!(token(&a.base, "wangge", "wrong-password").await, Err(401));
    }
    assert_eq!(
        token(&b.base, "wangge", PASSWORD).await,
        Err(401),
        "the sixth attempt from this address, on B, with the right password"
    );
    assert!(token(&b.base, "zhiyuan", PASSWORD).await.is_ok());

    // SSE clients on B; rules made on A, readings sent to A raise alerts B's clients see.
    let mut stream = client()
        .get(format!("{}/api/v1/alerts/stream", b.base))
        .bearer_auth(&tb)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let mut buf = String::new();
    assert!(
        read_until(&mut stream, &mut buf, Duration::from_secs(5), |b| b
            .contains("event: ready"))
        .await
    );
    let (_, v) = get(
        &a.base,
        &ta,
        "/api/v1/devices?limit=1000&device_type=door_magnet",
    )
    .await;
    let devices: Vec<(i64, String)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap(),
                d["token"].as_str().unwrap().to_string(),
            )
        })
        .take(12)
        .collect();
    assert!(devices.len() >= 12, "the demo has door magnets");
    for (id, _) in &devices {
        let (s, v) = post(
            &a.base,
            &ta,
            "/api/v1/rules",
            json!({"name": format!("烟雾{id}"), "kind": "event", "severity": "critical", "device_id": id,
                   "ack_minutes": 30, "category": "fire_safety", "params": {"key": "smoke", "equals": 1}}),
        )
        .await
        .unwrap();
        assert_eq!(s, 201, "{v}");
    }
    let mut latencies = Vec::new();
    for (i, (id, dev_token)) in devices.iter().enumerate() {
        // Half the readings go to B: its rules were read again when A made them.
        let to = if i % 2 == 0 { &a.base } else { &b.base };
        let (s, v) = post(
            to,
            dev_token,
            "/api/v1/telemetry",
            json!({"ts": linli::store::now_ms(), "values": {"smoke": 1}}),
        )
        .await
        .unwrap();
        assert!(s == 200 || s == 202 || s == 204, "{s} {v}");
        let sent = Instant::now();
        let needle = format!("\"device_id\":{id},");
        let seen = read_until(&mut stream, &mut buf, Duration::from_secs(5), |b| {
            b.contains(&needle)
        })
        .await;
        if !seen {
            show_logs();
        }
        assert!(seen, "the alert of device {id} reached B's stream");
        if i % 2 == 0 {
            latencies.push(sent.elapsed());
        }
    }
    latencies.sort();
    eprintln!(
        "alert raised on A seen on B's stream: max {:?} over {} alerts",
        latencies.last().unwrap(),
        latencies.len()
    );
    assert!(*latencies.last().unwrap() < Duration::from_secs(1));

    // Cases reported to both at once while A is killed mid-way: every acknowledged one is kept.
    let place =
        t.db.read(|c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'building' ORDER BY id LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap();
    let acked_so_far = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = |base: String, tok: String, tag: &'static str| {
        let so_far = acked_so_far.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..40 {
                if tag == "甲" {
                    so_far.store(acked.len(), std::sync::atomic::Ordering::SeqCst);
                }
                let body = json!({"category": "noise", "description": format!("{tag} 第{i}次 夜间施工噪音"), "place_id": place,
                    "reporter_name": "钱先生", "reporter_contact": "021-5555"});
                match post(&base, &tok, "/api/v1/cases", body).await {
                    Ok((201, v)) => acked.push(v["case"]["id"].as_i64().unwrap()),
                    // Refused for what it is: the test's own mistake, not the process's death.
                    Ok((s, v)) if s < 500 => panic!("{s} {v}"),
                    _ => {}
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            acked
        })
    };
    let wa = writer(a.base.clone(), ta.clone(), "甲");
    let wb = writer(b.base.clone(), tb.clone(), "乙");
    // A is killed once it has acknowledged a few (its first report loads the word segmenter).
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked_so_far.load(std::sync::atomic::Ordering::SeqCst) < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Cases past their deadlines: the escalation sweep (a job A holds) has due work.
    let now = linli::store::now_ms();
    let (overdue, last_event) = t
        .db
        .write(move |c| {
            let last_event = c.query_i64("SELECT COALESCE(MAX(id), 0) FROM case_events", &[])?;
            let ids: Vec<i64> = c
                .query(
                    "SELECT id FROM cases WHERE state NOT IN ('closed', 'rated', 'merged', 'rejected') \
                     AND due_at IS NOT NULL ORDER BY id LIMIT 5",
                    &[],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            for id in &ids {
                c.exec(
                    "UPDATE cases SET warn_at = $1, due_at = $1, warned = 0, level = 0, next_alarm_at = $1 WHERE id = $2",
                    linli::params![now - 60_000, *id],
                )?;
            }
            Ok((ids, last_event))
        })
        .await
        .unwrap();
    assert_eq!(overdue.len(), 5);
    unsafe {
        libc::kill(a.child.id() as i32, libc::SIGKILL);
    }
    let _ = a.child.wait();
    let killed = Instant::now();

    // B takes every job over within the lease (3 s) and a beat, and sweeps the due work once.
    let deadline = killed + Duration::from_secs(8);
    loop {
        let h = holders(&t.db).await;
        if h.len() >= before.len() && h.iter().all(|x| x.1 != a_id) {
            let b_id = &h[0].1;
            assert!(h.iter().all(|x| &x.1 == b_id), "{h:?}");
            eprintln!(
                "B took {} jobs over {:?} after A was killed",
                h.len(),
                killed.elapsed()
            );
            break;
        }
        if Instant::now() > deadline {
            show_logs();
            panic!("B did not take the jobs over: {h:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every case A or B acknowledged is there (all of B's: it never stopped).
    let acked_a = wa.await.unwrap();
    let acked_b = wb.await.unwrap();
    assert!(
        !acked_a.is_empty() && acked_b.len() == 40,
        "{} {}",
        acked_a.len(),
        acked_b.len()
    );
    let all: Vec<i64> = acked_a.iter().chain(acked_b.iter()).copied().collect();
    let n = all.len() as i64;
    let present =
        t.db.read(move |c| {
            let marks: Vec<String> = (1..=all.len()).map(|i| format!("${i}")).collect();
            let p: Vec<linli::store::Val> =
                all.iter().map(|&i| linli::store::Val::Int(i)).collect();
            c.query_i64(
                &format!(
                    "SELECT COUNT(*) FROM cases WHERE id IN ({})",
                    marks.join(", ")
                ),
                &p,
            )
        })
        .await
        .unwrap();
    assert_eq!(present, n, "every acknowledged case is kept");
    let tokens =
        t.db.read(|c| c.query_i64("SELECT MIN(token) FROM job_leases", &[]))
            .await
            .unwrap();
    assert!(tokens >= 2, "each takeover has a new fencing token");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ids = overdue.clone();
        let counts = t
            .db
            .read(move |c| {
                let mut out = Vec::new();
                for id in &ids {
                    out.push(c.query_i64(
                        "SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND action = 'escalated' AND id > $2",
                        linli::params![*id, last_event],
                    )?);
                }
                Ok(out)
            })
            .await
            .unwrap();
        if counts.iter().all(|&n| n == 1) {
            break;
        }
        assert!(
            counts.iter().all(|&n| n <= 1),
            "escalated once, not twice: {counts:?}"
        );
        if Instant::now() > deadline {
            show_logs();
            panic!("the due escalations were not swept: {counts:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // B still serves, and raises alerts on its own stream.
    let (id, dev_token) = devices[1].clone();
    post(
        &b.base,
        &dev_token,
        "/api/v1/telemetry",
        json!({"ts": linli::store::now_ms(), "values": {"smoke": 0}}),
    )
    .await
    .unwrap();
    let _ = id;
    assert_eq!(get(&b.base, &tb, "/api/v1/me").await.0, 200);

    // B stops gracefully; the log of both verifies, subject index included.
    // (A live stream is a request in flight a graceful stop would wait for.)
    drop(stream);
    unsafe {
        libc::kill(b.child.id() as i32, libc::SIGTERM);
    }
    let mut b = b;
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = b.child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            show_logs();
            panic!("B did not stop within 15 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "B stops gracefully: {status:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_linli"))
        .env_remove("LINLI_DATA")
        .arg("--data")
        .arg(dir.path().join("a"))
        .arg("--key-dir")
        .arg(&keys_dir)
        .args(["--database-url", &t.url, "audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("two-process test: {:?}", t0.elapsed());
}
