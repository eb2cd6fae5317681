//! Issue 18, findings 4, 5 and 16: tamper evidence a local rollback cannot fool (witnesses,
//! `verify --against`, columns and subject index checked, `--locate`), a resident's access log
//! paged through all of its history, and reads of a person's device readings audited.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use linli::audit::{Action, NewEntry};
use serde_json::Value;

use crate::support::{self, PASSWORD, TestApp};

fn linli_audit(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--data")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(&app.database_url)
        .arg("audit")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `n` reads of households by the administrator: `n` entries naming people.
async fn make_entries(app: &TestApp, n: usize) {
    let tok = app.token("admin").await;
    let hs = app
        .db
        .read(|c| c.query("SELECT id FROM households ORDER BY id LIMIT 40", &[]))
        .await
        .unwrap();
    for i in 0..n {
        let id = hs[i % hs.len()].i64(0);
        let (s, _) = app
            .get_json(&tok, &format!("/api/v1/households/{id}"))
            .await;
        assert_eq!(s, 200);
    }
}

/// Signs a head with the command line and returns its checkpoint text and size.
fn checkpoint(app: &TestApp) -> (String, u64) {
    let (ok, cp) = linli_audit(app, &["checkpoint"]);
    assert!(ok, "{cp}");
    let size = cp.lines().nth(1).unwrap().parse().unwrap();
    (cp, size)
}

fn keep(app: &TestApp, name: &str, text: &str) -> String {
    let p = app.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

async fn jumin_person(app: &TestApp) -> i64 {
    app.db
        .read(|c| c.query_i64("SELECT person_id FROM users WHERE username = 'jumin'", &[]))
        .await
        .unwrap()
}

/// The address of the link with this id (`<a href="…" id="…">`).
fn href_of(html: &str, id: &str) -> Option<String> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let start = html[..i].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].to_string())
}

fn entry(action: Action, actor: &str, subjects: Vec<String>) -> NewEntry {
    let mut e = NewEntry::anonymous(action, actor);
    e.role = "grid_worker".into();
    e.subjects = subjects;
    e
}

// ---------------------------------------------------------------------------------------------
// Finding 4 (a): every signed head is published to the street's witnesses.

/// The witness the next spawned app is configured with (a file and an endpoint).
static WITNESS: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);

fn with_witness(cfg: &mut linli::config::Config) {
    if let Some((file, url)) = WITNESS.lock().unwrap().clone() {
        cfg.audit_witness.file = Some(file);
        cfg.audit_witness.url = Some(linli::config::Secret::new(url));
    }
}

/// An HTTP witness that keeps what it is sent, or answers 503 while `down`.
async fn witness_endpoint() -> (String, Arc<Mutex<Vec<String>>>, Arc<AtomicBool>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let down = Arc::new(AtomicBool::new(true));
    let (g, d) = (got.clone(), down.clone());
    let app = axum::Router::new().route(
        "/witness",
        axum::routing::post(move |body: String| {
            let (g, d) = (g.clone(), d.clone());
            async move {
                if d.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                g.lock().unwrap().push(body);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/witness"), got, down)
}

fn sizes(text: &str) -> Vec<u64> {
    linli::audit::parse_checkpoints(text)
        .unwrap()
        .iter()
        .map(|h| h.size)
        .collect()
}

#[tokio::test]
async fn audit_witness_receives_every_signed_head_and_retries_after_a_failure() {
    let witness_dir = tempfile::tempdir().unwrap();
    let file = witness_dir.path().join("linli-heads.txt");
    let (url, got, down) = witness_endpoint().await;
    *WITNESS.lock().unwrap() = Some((file.clone(), url));
    let app = support::spawn_with(support::Options {
        configure: with_witness,
        ..support::Options::default()
    })
    .await;
    *WITNESS.lock().unwrap() = None;
    let key = app.state.audit.key().public();
    // The endpoint is down: the head is signed and kept in the file; the endpoint's failure
    // is reported (and logged), not swallowed.
    make_entries(&app, 4).await;
    let r = linli::audit::jobs::sign_and_publish(app.state.clone()).await;
    assert!(r.is_err(), "a failed witness is reported");
    let s1 = app.state.audit.sign_head().await.unwrap().unwrap().size;
    make_entries(&app, 4).await;
    let r = linli::audit::jobs::sign_and_publish(app.state.clone()).await;
    assert!(r.is_err());
    let s2 = app
        .db
        .read(linli::audit::latest_head)
        .await
        .unwrap()
        .unwrap()
        .size;
    assert!(s2 > s1);
    let kept = std::fs::read_to_string(&file).unwrap();
    let in_file = sizes(&kept);
    assert!(
        in_file.contains(&s1) && in_file.contains(&s2),
        "{in_file:?}"
    );
    for h in linli::audit::parse_checkpoints(&kept).unwrap() {
        assert!(h.verify(&key), "the file's checkpoints are signed");
    }
    assert!(got.lock().unwrap().is_empty());
    // The endpoint is back: the next run hands it every head it missed, oldest first.
    down.store(false, Ordering::SeqCst);
    let r = linli::audit::jobs::sign_and_publish(app.state.clone()).await;
    assert!(r.is_ok(), "{r:?}");
    let posted: Vec<u64> = got.lock().unwrap().iter().flat_map(|t| sizes(t)).collect();
    assert!(posted.contains(&s1) && posted.contains(&s2), "{posted:?}");
    assert!(posted.windows(2).all(|w| w[0] < w[1]), "{posted:?}");
    // Nothing is sent twice.
    let r = linli::audit::jobs::sign_and_publish(app.state.clone()).await;
    assert!(r.is_ok());
    assert_eq!(got.lock().unwrap().len(), posted.len());
    // The witness's file is what `verify --against` takes.
    let (ok, out) = linli_audit(&app, &["verify", "--against", &file.display().to_string()]);
    assert!(ok && out.contains("consistent with"), "{out}");
}

// ---------------------------------------------------------------------------------------------
// Finding 4 (b): a rollback is found against a kept head.

#[tokio::test]
async fn audit_verify_detects_rollback_against_a_kept_head() {
    let app = support::spawn().await;
    make_entries(&app, 10).await;
    let (_, s1) = checkpoint(&app);
    make_entries(&app, 10).await;
    let (cp2, s2) = checkpoint(&app);
    let kept = keep(&app, "kept-head.txt", &cp2);
    let (ok, out) = linli_audit(&app, &["verify", "--against", &kept]);
    assert!(ok, "{out}");
    // The newest head and every entry since the older one deleted, with their index rows:
    // what the log holds is a consistent, signed, older log.
    app.state.audit.flush_index().await.unwrap();
    let s1i = s1 as i64;
    app.db
        .write(move |c| {
            c.exec(
                "DELETE FROM audit_heads WHERE size > $1",
                linli::params![s1i],
            )?;
            c.exec(
                "DELETE FROM audit_entries WHERE seq >= $1",
                linli::params![s1i],
            )?;
            c.exec(
                "DELETE FROM audit_nodes WHERE level = 0 AND idx >= $1",
                linli::params![s1i],
            )?;
            c.exec(
                "DELETE FROM audit_subjects WHERE seq >= $1",
                linli::params![s1i],
            )?;
            linli::store::set_meta(c, "audit_indexed", &s1.to_string())
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "the database alone cannot tell: {out}");
    let (ok, out) = linli_audit(&app, &["verify", "--against", &kept]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "rolled back: the kept tree head covers {s2} entries, the log holds only {s1}"
        )),
        "{out}"
    );
}

#[tokio::test]
async fn audit_verify_against_a_kept_head_detects_a_log_rewritten_with_recomputed_hashes() {
    let app = support::spawn().await;
    make_entries(&app, 12).await;
    let (cp, size) = checkpoint(&app);
    let kept = keep(&app, "kept-head.txt", &cp);
    // Every head deleted and the log written again through linli's own appender, one read
    // turned into a list on the way: hashes, subtrees and index all recomputed, a fresh head
    // signed. Only a head kept elsewhere can tell.
    app.state.audit.flush_index().await.unwrap();
    let victim = app
        .query_i64("SELECT MAX(seq) FROM audit_entries WHERE action = 'read'")
        .await;
    app.db
        .write(move |c| {
            let rows = c.query("SELECT body FROM audit_entries ORDER BY seq", &[])?;
            let mut entries = Vec::new();
            for r in &rows {
                let e: linli::audit::Entry = serde_json::from_str(&r.str(0)).unwrap();
                let action = if e.seq as i64 == victim {
                    Action::List
                } else {
                    e.action
                };
                entries.push(NewEntry {
                    at: e.at,
                    street_id: e.street_id,
                    actor_id: e.actor_id,
                    actor: e.actor,
                    role: e.role,
                    org: e.org,
                    scope: e.scope,
                    action,
                    subjects: e.subjects,
                    purpose: e.purpose,
                    request_id: e.request_id,
                });
            }
            c.batch(
                "DELETE FROM audit_heads; DELETE FROM audit_entries; DELETE FROM audit_nodes; \
                 DELETE FROM audit_subjects;",
            )?;
            linli::store::set_meta(c, "audit_indexed", "0")?;
            linli::audit::append(c, entries).map(|_| ())
        })
        .await
        .unwrap();
    let (_, again) = checkpoint(&app);
    assert_eq!(again, size);
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "the database alone cannot tell: {out}");
    let (ok, out) = linli_audit(&app, &["verify", "--against", &kept]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "not consistent with the kept tree head at size {size}"
        )),
        "{out}"
    );
    // A kept head that was not signed by the log key is refused.
    let forged = cp.replace(&cp.lines().nth(3).unwrap().to_string(), "1");
    let forged = keep(&app, "forged-head.txt", &forged);
    let (ok, out) = linli_audit(&app, &["verify", "--against", &forged]);
    assert!(
        !ok && out.contains("does not verify under the log key"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 4 (c): the queryable columns and the subject index are checked against the bodies.

#[tokio::test]
async fn audit_verify_checks_every_column_against_the_hashed_body() {
    let app = support::spawn().await;
    make_entries(&app, 6).await;
    checkpoint(&app);
    let seq = app
        .query_i64(
            "SELECT MAX(seq) FROM audit_entries WHERE action = 'read' AND actor_id IS NOT NULL",
        )
        .await;
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "{out}");
    // (tamper, restore, column)
    let cases: [(&str, &str, &str); 4] = [
        (
            "UPDATE audit_entries SET action = 'list' WHERE seq = $1",
            "UPDATE audit_entries SET action = 'read' WHERE seq = $1",
            "action",
        ),
        (
            "UPDATE audit_entries SET at = at - 86400000 WHERE seq = $1",
            "UPDATE audit_entries SET at = at + 86400000 WHERE seq = $1",
            "at",
        ),
        (
            "UPDATE audit_entries SET actor_id = actor_id + 1000 WHERE seq = $1",
            "UPDATE audit_entries SET actor_id = actor_id - 1000 WHERE seq = $1",
            "actor_id",
        ),
        (
            "UPDATE audit_entries SET street_id = -street_id WHERE seq = $1",
            "UPDATE audit_entries SET street_id = -street_id WHERE seq = $1",
            "street_id",
        ),
    ];
    for (tamper, restore, column) in cases {
        app.exec(tamper, &[linli::store::Val::Int(seq)]).await;
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(!ok, "{column}: {out}");
        assert!(
            out.contains(&format!("entry {seq}: column {column} holds")),
            "{column}: {out}"
        );
        app.exec(restore, &[linli::store::Val::Int(seq)]).await;
        let (ok, out) = linli_audit(&app, &["verify"]);
        assert!(ok, "{column} restored: {out}");
    }
}

#[tokio::test]
async fn audit_verify_rebuilds_the_subject_index_and_finds_an_altered_row() {
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let subject = format!("person:{person}");
    let seq = app
        .state
        .audit
        .record(entry(Action::Reveal, "wangge", vec![subject.clone()]).purpose("核对养老补贴"))
        .await
        .unwrap();
    app.state.audit.flush_index().await.unwrap();
    checkpoint(&app);
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "{out}");
    let jumin = app.token("jumin").await;
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    assert!(log.as_array().unwrap().iter().any(|r| r["seq"] == seq));
    // One index row deleted: the reveal leaves her access log, and verify names it.
    let s = seq as i64;
    app.db
        .write(move |c| {
            c.exec(
                "DELETE FROM audit_subjects WHERE seq = $1",
                linli::params![s],
            )
        })
        .await
        .unwrap();
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    assert!(!log.as_array().unwrap().iter().any(|r| r["seq"] == seq));
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "the subject index lacks {subject} for entry {seq}"
        )),
        "{out}"
    );
    // Moved to another person instead: both rows are named.
    let other = format!("person:{}", person + 1);
    let o = other.clone();
    app.db
        .write(move |c| {
            c.exec(
                "INSERT INTO audit_subjects (subject, seq) VALUES ($1, $2)",
                linli::params![o, s],
            )
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok);
    assert!(
        out.contains(&format!("lacks {subject} for entry {seq}"))
            && out.contains(&format!("lists {other} for entry {seq}")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 4 (d): an edit with recomputed hashes is located to the exact entry.

#[tokio::test]
async fn audit_verify_locate_names_the_exact_edited_entry() {
    let app = support::spawn().await;
    make_entries(&app, 30).await;
    checkpoint(&app);
    make_entries(&app, 30).await;
    checkpoint(&app);
    let seq = app
        .query_i64(
            "SELECT seq FROM audit_entries WHERE action = 'read' ORDER BY seq DESC LIMIT 1 OFFSET 13",
        )
        .await;
    // The body edited, its leaf hash recomputed and its column made to agree.
    let row = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT body FROM audit_entries WHERE seq = $1",
                linli::params![seq],
            )
        })
        .await
        .unwrap();
    let forged = row.str(0).replace("\"read\"", "\"list\"");
    let leaf = linli::audit::merkle::leaf_hash(forged.as_bytes()).to_vec();
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE audit_entries SET body = $1, leaf_hash = $2, action = 'list' WHERE seq = $3",
                linli::params![forged, leaf, seq],
            )
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok && out.contains("tree head at size"), "{out}");
    assert!(!out.contains("located"), "{out}");
    let (ok, out) = linli_audit(&app, &["verify", "--locate"]);
    assert!(!ok);
    assert!(
        out.contains(&format!("located: entry {seq} differs")),
        "{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 5: a resident pages through all of her access log.

#[tokio::test]
async fn resident_access_log_pages_through_all_history() {
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let subject = format!("person:{person}");
    // One reveal, then 250 routine searches listing her: the reveal is older than 200 entries.
    let reveal = app
        .state
        .audit
        .record(entry(Action::Reveal, "wangge", vec![subject.clone()]).purpose("核对养老补贴"))
        .await
        .unwrap();
    let s = subject.clone();
    app.db
        .write(move |c| {
            // 250 viewers (a list is indexed once per viewer, person and day).
            let list: Vec<NewEntry> = (0..250)
                .map(|i| {
                    let mut e = entry(Action::List, "wangge", vec![s.clone(), "person:1".into()]);
                    e.actor_id = Some(10_000 + i);
                    e
                })
                .collect();
            linli::audit::append(c, list).map(|_| ())
        })
        .await
        .unwrap();
    let jumin = app.token("jumin").await;
    // The API: 200 a page, then the `Link` to the next, until the oldest.
    let c = app.client();
    let mut next = Some("/api/v1/me/access-log".to_string());
    let mut seqs: Vec<u64> = Vec::new();
    let mut pages = 0;
    let mut found_reveal = false;
    while let Some(path) = next.take() {
        let r = c
            .get(app.url(&path))
            .bearer_auth(&jumin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        next = r.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("rel=\"next\""), "{l}");
            l[1..l.find('>').unwrap()].to_string()
        });
        let rows: Value = r.json().await.unwrap();
        let rows = rows.as_array().unwrap();
        assert!(rows.len() <= 200);
        for row in rows {
            seqs.push(row["seq"].as_u64().unwrap());
            found_reveal |= row["seq"] == reveal && row["action"] == "reveal";
        }
        pages += 1;
        assert!(pages < 10);
    }
    assert!(pages >= 2, "{pages}");
    assert!(found_reveal, "the reveal is reached by paging");
    assert!(seqs.len() >= 251, "{}", seqs.len());
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first, no entry twice"
    );
    // Filtered by kind: the reveal at once.
    let (s, rows) = app
        .get_json(&jumin, "/api/v1/me/access-log?kind=reveal,export")
        .await;
    assert_eq!(s, 200);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows[0]["seq"], reveal);
    assert!(
        rows.iter()
            .all(|r| r["action"] == "reveal" || r["action"] == "export")
    );
    let (s, _) = app
        .get_json(&jumin, "/api/v1/me/access-log?kind=nonsense")
        .await;
    assert_eq!(s, 400);
    // Counts per kind over all of it, reveals and exports first.
    let (s, counts) = app.get_json(&jumin, "/api/v1/me/access-log/counts").await;
    assert_eq!(s, 200, "{counts}");
    let kinds = counts["kinds"].as_array().unwrap();
    assert_eq!(kinds[0]["kind"], "reveal");
    assert!(kinds[0]["count"].as_i64().unwrap() >= 1);
    let lists = kinds.iter().find(|k| k["kind"] == "list").unwrap();
    assert!(lists["count"].as_i64().unwrap() >= 250);
    let total: i64 = kinds.iter().map(|k| k["count"].as_i64().unwrap()).sum();
    assert_eq!(counts["total"].as_i64().unwrap(), total);
    assert_eq!(total as usize, seqs.len());
    // Someone else's counts are her own (none of jumin's); without a session, none at all.
    let admin = app.token("admin").await;
    let (_, other) = app.get_json(&admin, "/api/v1/me/access-log/counts").await;
    assert_eq!(other["total"], 0, "{other}");
    let (_, other) = app.get_json(&admin, "/api/v1/me/access-log").await;
    assert!(!other.as_array().unwrap().iter().any(|r| r["seq"] == reveal));
    let r = c
        .get(app.url("/api/v1/me/access-log/counts"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The page: the reveal listed first, the counts, and a link to older entries.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let html = app.page(&b, "/me/access-log").await;
    let sensitive = html.find("id=\"access-sensitive\"").expect("reveals first");
    let everything = html.find("id=\"accesses\"").unwrap();
    assert!(sensitive < everything);
    assert!(html[sensitive..everything].contains(&format!("data-seq=\"{reveal}\"")));
    assert!(html.contains("显示完整号码 1") || html.contains("显示完整号码 "));
    assert!(html.contains("data-kind=\"list\""));
    let older = href_of(&html, "access-older").expect("a link to older entries");
    let html2 = app.page(&b, &older.replace("&amp;", "&")).await;
    assert!(html2.contains("id=\"access-newest\""));
    let html3 = app.page(&b, "/me/access-log?kind=reveal").await;
    assert!(html3.contains(&format!("data-seq=\"{reveal}\"")));
    assert!(!html3.contains("出现在列表中</td>"));
}

// ---------------------------------------------------------------------------------------------
// Finding 16: reading a person's device readings is audited with her as subject.

#[tokio::test]
async fn reading_a_persons_device_readings_is_audited() {
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let (bound, unbound) = app
        .db
        .read(|c| {
            let b = c.query_i64("SELECT MIN(id) FROM devices", &[])?;
            let u = c.query_i64("SELECT MAX(id) FROM devices", &[])?;
            Ok((b, u))
        })
        .await
        .unwrap();
    assert_ne!(bound, unbound);
    // One device bound to jumin (an elderly resident's door magnet, say), another to no one.
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE devices SET person_id = $1, household_id = NULL WHERE id = $2",
                linli::params![person, bound],
            )?;
            c.exec(
                "UPDATE devices SET person_id = NULL, household_id = NULL WHERE id = $1",
                linli::params![unbound],
            )
        })
        .await
        .unwrap();
    let admin = app.token("admin").await;
    let before = app.query_i64("SELECT COUNT(*) FROM audit_entries").await;
    let (s, _) = app
        .get_json(&admin, &format!("/api/v1/devices/{unbound}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM audit_entries").await,
        before,
        "a device bound to no one reads no one"
    );
    // The API.
    let (s, d) = app
        .get_json(&admin, &format!("/api/v1/devices/{bound}"))
        .await;
    assert_eq!(s, 200, "{d}");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "read");
    assert_eq!(e["actor"], "admin");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("person:{person}")))
    );
    assert!(
        e["purpose"]
            .as_str()
            .unwrap()
            .starts_with("device readings")
    );
    let api_seq = e["seq"].as_u64().unwrap();
    // The page.
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let html = app.page(&b, &format!("/devices/{bound}")).await;
    assert!(!html.contains("error"), "the device page renders");
    let e = app.last_audit_entry().await;
    assert!(e["seq"].as_u64().unwrap() > api_seq);
    assert!(
        e["purpose"]
            .as_str()
            .unwrap()
            .starts_with("device readings")
    );
    // She sees both reads in her access log.
    let jumin = app.token("jumin").await;
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    let reads: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["action"] == "read"
                && r["purpose"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("device readings"))
        })
        .collect();
    assert!(reads.len() >= 2, "{log}");
    // She cannot read the device herself.
    let (s, _) = app
        .get_json(&jumin, &format!("/api/v1/devices/{bound}"))
        .await;
    assert!(s == 403 || s == 404, "{s}");
}

// Finding 16, the lists: a list of devices or alerts names the people they watch over, so
// showing one is a list read of those people, in her access log; a device or alert about no one
// writes nothing.
#[tokio::test]
async fn lists_of_a_persons_devices_and_alerts_are_audited() {
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let (device, alert) = app
        .db
        .write(move |c| {
            let d = c.query_i64("SELECT MIN(id) FROM devices", &[])?;
            c.exec("UPDATE devices SET person_id = NULL, household_id = NULL", &[])?;
            c.exec(
                "UPDATE devices SET person_id = $1 WHERE id = $2",
                linli::params![person, d],
            )?;
            c.exec("DELETE FROM alerts", &[])?;
            let rule = c.query_i64("SELECT MIN(id) FROM rules", &[])?;
            c.exec(
                "INSERT INTO alerts (street_id, rule_id, device_id, person_id, place_id, place_path, kind, \
                 severity, category, state, active, message, details, first_at, last_at, updated_at) \
                 SELECT street_id, $1, id, person_id, place_id, place_path, 'absence', 'major', 'elderly_care', \
                 'active_unack', 1, 'no opening', '{}', 1, 1, 1 FROM devices WHERE id = $2",
                linli::params![rule, d],
            )?;
            let a = c.query_i64("SELECT MAX(id) FROM alerts", &[])?;
            Ok((d, a))
        })
        .await
        .unwrap();
    let subject = Value::from(format!("person:{person}"));
    let names_her = |e: &Value| e["subjects"].as_array().unwrap().contains(&subject);
    let admin = app.token("admin").await;
    for (path, action) in [
        ("/api/v1/devices?limit=500".to_string(), "list"),
        ("/api/v1/alerts".to_string(), "list"),
        (format!("/api/v1/alerts/{alert}"), "read"),
    ] {
        let (s, body) = app.get_json(&admin, &path).await;
        assert_eq!(s, 200, "{path}: {body}");
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], action, "{path}");
        assert!(names_her(&e), "{path}: {e}");
    }
    let (b, _) = app.login_page("admin", PASSWORD).await;
    for path in ["/devices", "/alerts"] {
        let before = app.query_i64("SELECT MAX(seq) FROM audit_entries").await;
        app.page(&b, path).await;
        let e = app.last_audit_entry().await;
        assert!(
            e["seq"].as_i64().unwrap() > before,
            "{path} writes an entry"
        );
        assert_eq!(e["action"], "list", "{path}");
        assert!(names_her(&e), "{path}: {e}");
    }
    // About no one: nothing is written.
    app.exec("UPDATE devices SET person_id = NULL", &[]).await;
    app.exec("UPDATE alerts SET person_id = NULL", &[]).await;
    let before = app.query_i64("SELECT COUNT(*) FROM audit_entries").await;
    app.get_json(&admin, "/api/v1/devices?limit=500").await;
    app.get_json(&admin, "/api/v1/alerts").await;
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM audit_entries").await,
        before
    );
    // She sees the lists in her access log.
    let jumin = app.token("jumin").await;
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log?limit=50").await;
    let lists = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "list")
        .count();
    // Lists show once per viewer and day (finding 15): the administrator's four are one.
    assert!(lists >= 1, "{log}");
    let _ = device;
}

// ---------------------------------------------------------------------------------------------
// Finding 15: the subject index grows with people seen, not with pages turned.

/// Index rows of the entries `seqs`.
async fn index_rows_of(app: &TestApp, seqs: &[u64]) -> Vec<(String, i64)> {
    let list = seqs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    app.db
        .read(move |c| {
            c.query(
                &format!(
                    "SELECT subject, seq FROM audit_subjects WHERE seq IN ({list}) ORDER BY seq, subject"
                ),
                &[],
            )
        })
        .await
        .unwrap()
        .iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect()
}

#[tokio::test]
async fn lists_index_one_row_per_viewer_person_and_day() {
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let (her, other) = (format!("person:{person}"), format!("person:{}", person + 1));
    let list = |actor_id: i64, at: i64, subjects: Vec<String>| {
        let mut e = entry(Action::List, "wangge", subjects);
        e.actor_id = Some(actor_id);
        e.at = at;
        e
    };
    let day = 86_400_000i64;
    let t = linli::kernel::time::now_ms();
    let mut seqs = Vec::new();
    // The same viewer lists the same two people five times today: two rows, on the first list.
    for i in 0..5 {
        let s = app
            .state
            .audit
            .record(list(
                7001,
                t + i,
                vec![her.clone(), other.clone(), her.clone()],
            ))
            .await
            .unwrap();
        seqs.push(s);
    }
    // Another viewer the same day: rows of her own. A read (not a list) always has its row.
    let by_other = app
        .state
        .audit
        .record(list(7002, t + 10, vec![her.clone()]))
        .await
        .unwrap();
    let read = app
        .state
        .audit
        .record(entry(Action::Read, "wangge", vec![her.clone()]))
        .await
        .unwrap();
    app.state.audit.flush_index().await.unwrap();
    let rows = index_rows_of(&app, &seqs).await;
    assert_eq!(
        rows,
        vec![
            (her.clone(), seqs[0] as i64),
            (other.clone(), seqs[0] as i64)
        ],
        "five lists of two people by one viewer in one day index two rows"
    );
    assert_eq!(index_rows_of(&app, &[by_other]).await.len(), 1);
    assert_eq!(index_rows_of(&app, &[read]).await.len(), 1);
    // She still sees that the viewer had her on a list, and who else did.
    let jumin = app.token("jumin").await;
    let (_, log) = app.get_json(&jumin, "/api/v1/me/access-log").await;
    let seen: Vec<u64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(seen.contains(&seqs[0]) && seen.contains(&by_other) && seen.contains(&read));

    // The next day the same viewer's list indexes her again (the marks of two days ago go).
    let tomorrow = app
        .state
        .audit
        .record(list(7001, t + day, vec![her.clone()]))
        .await
        .unwrap();
    app.state.audit.flush_index().await.unwrap();
    assert_eq!(index_rows_of(&app, &[tomorrow]).await.len(), 1);
    let pruned = app
        .db
        .write(move |c| linli::audit::lists::prune(c, t + 2 * day))
        .await
        .unwrap();
    assert!(pruned >= 3, "yesterday's marks pruned: {pruned}");

    // verify recomputes the rule: the log and index agree; a forged row for a later list
    // of the same day is named.
    checkpoint(&app);
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "{out}");
    let forged = seqs[3] as i64;
    let f = her.clone();
    app.db
        .write(move |c| {
            c.exec(
                "INSERT INTO audit_subjects (subject, seq) VALUES ($1, $2)",
                linli::params![f, forged],
            )
        })
        .await
        .unwrap();
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("lists {her} for entry {forged}")),
        "{out}"
    );
}

#[tokio::test]
async fn lists_index_after_a_crash_as_they_were_appended() {
    // Entries appended, their index rows not yet written (the process died before the flush):
    // catching up reads the first-of-day marks back and writes the same rows.
    let app = support::spawn().await;
    let person = jumin_person(&app).await;
    let her = format!("person:{person}");
    app.state.audit.flush_index().await.unwrap();
    let t = linli::kernel::time::now_ms();
    let entries: Vec<NewEntry> = (0..3)
        .map(|i| {
            let mut e = entry(Action::List, "wangge", vec![her.clone()]);
            e.actor_id = Some(7003);
            e.at = t + i;
            e
        })
        .collect();
    let seqs = app
        .db
        .write(move |c| {
            let (seqs, _, _) = linli::audit::append_from(c, entries, None)?;
            Ok(seqs)
        })
        .await
        .unwrap();
    assert!(index_rows_of(&app, &seqs).await.is_empty());
    app.db.write(linli::audit::catch_up_index).await.unwrap();
    assert_eq!(
        index_rows_of(&app, &seqs).await,
        vec![(her, seqs[0] as i64)]
    );
    checkpoint(&app);
    let (ok, out) = linli_audit(&app, &["verify"]);
    assert!(ok, "{out}");
}
