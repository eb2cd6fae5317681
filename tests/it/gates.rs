//! Gates, visitors and parking (issue 28): a pass's signature, window and entries (a replayed
//! pass refused, an altered one refused as forged); gate passages with a device token, the
//! access log for the estate's keepers only (a resident 403, another community's worker 404),
//! audited; the retention purge, after which `linli audit verify` still passes; a space
//! assigned twice refused; an unknown plate recorded as a visitor; a rule without an approved
//! owners' vote refused; a breach of a rule opening a self-governed case.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::sheets::account;
use crate::support::{self, TestApp};
use linli::org::Role;

async fn send(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let c = app.client();
    let mut r = match &body {
        Some(_) => c.post(app.url(path)),
        None => c.get(app.url(path)),
    }
    .bearer_auth(token)
    .header("accept-language", "zh-CN");
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, path, Some(body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, path, None).await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn now() -> i64 {
    linli::kernel::time::now_ms()
}

/// The demo estate (jumin's), as the property manager sees it.
async fn demo_estate(app: &TestApp, wuye: &str) -> i64 {
    let (s, v) = get(app, wuye, "/api/v1/gates/estates").await;
    assert_eq!(s, 200, "{v}");
    v[0]["id"].as_i64().expect("the demo estate")
}

#[tokio::test]
async fn a_pass_is_signed_windowed_and_taken_once() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let wuye = app.token("wuye").await;
    let (s, v) = post(
        &app,
        &jumin,
        "/api/v1/gates/passes",
        json!({"visitor": "王阿姨", "valid_until": now() + 2 * 3_600_000, "entries": 1}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let code = v["code"].as_str().unwrap().to_string();
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let unit = v["pass"]["host_unit"].as_str().unwrap().to_string();
    assert!(!unit.is_empty());

    // A resident does not act as the guard.
    let (s, _) = post(&app, &jumin, "/api/v1/gates/check", json!({"code": code})).await;
    assert_eq!(s, 403);

    // Accepted once, with the host's unit only; the second time refused as used up.
    let (s, v) = post(&app, &wuye, "/api/v1/gates/check", json!({"code": code})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["host_unit"], unit.as_str());
    assert!(
        !v.to_string().contains("王阿姨"),
        "the guard sees the unit only"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "read", "{e}");
    let (s, v) = post(&app, &wuye, "/api/v1/gates/check", json!({"code": code})).await;
    assert_eq!(s, 200);
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("用完"), "{v}");

    // An altered pass (more entries, a later end) is forged; so is garbage.
    let (p, sig) = code.split_once('.').unwrap();
    let text = String::from_utf8(B64.decode(p).unwrap()).unwrap();
    let mut f: Vec<String> = text.split(':').map(str::to_string).collect();
    f[5] = "9".into();
    let altered = format!("{}.{sig}", B64.encode(f.join(":")));
    for bad in [altered.as_str(), "not-a-pass", ""] {
        let (s, v) = post(&app, &wuye, "/api/v1/gates/check", json!({"code": bad})).await;
        assert_eq!(s, 200);
        assert_eq!(v["valid"], false);
        assert!(v["reason"].as_str().unwrap().contains("改动"), "{v}");
    }

    // Outside its window: a pass that ended, and one not yet valid (signed with the key).
    let key = linli::gates::service::key(&app.state).unwrap().clone();
    let estate = demo_estate(&app, &wuye).await;
    for (from, until, why) in [
        (now() - 3 * 3_600_000, now() - 3_600_000, "过期"),
        (now() + 3_600_000, now() + 2 * 3_600_000, "尚未"),
    ] {
        let id = app
            .db
            .write(move |c| {
                let street = c.query_i64(
                    "SELECT street_id FROM gate_estates WHERE id = $1",
                    linli::params![estate],
                )?;
                linli::gates::store::insert_pass(
                    c,
                    &linli::gates::store::NewPass {
                        street_id: street,
                        estate_id: estate,
                        kind: "invited",
                        host_person: None,
                        host_unit: "1号楼 101",
                        visitor: "访客",
                        valid_from: from,
                        valid_until: until,
                        entries: 1,
                        used: 0,
                        created_by: 1,
                        now: from,
                    },
                )
            })
            .await
            .unwrap();
        let code = linli::gates::model::sign(
            &key,
            &linli::gates::model::Claims {
                pass_id: id,
                estate_id: estate,
                valid_from: from,
                valid_until: until,
                entries: 1,
            },
        );
        let (_, v) = post(&app, &wuye, "/api/v1/gates/check", json!({"code": code})).await;
        assert_eq!(v["valid"], false);
        assert!(v["reason"].as_str().unwrap().contains(why), "{v}");
    }

    // Bad input to the invitation: no window, too many entries, not a resident.
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/gates/passes",
        json!({"valid_until": now() - 1, "entries": 1}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/gates/passes",
        json!({"valid_until": now() + 3_600_000, "entries": 99}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &wuye,
        "/api/v1/gates/passes",
        json!({"valid_until": now() + 3_600_000, "entries": 1}),
    )
    .await;
    assert_eq!(s, 403);
    // Her own passes, with codes.
    let (s, v) = get(&app, &jumin, "/api/v1/gates/passes").await;
    assert_eq!(s, 200);
    assert!(!v.as_array().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn passages_are_logged_for_keepers_and_purged_after_retention() {
    let app = support::spawn().await;
    let wuye = app.token("wuye").await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let estate = demo_estate(&app, &wuye).await;
    let (s, v) = post(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/gates"),
        json!({"name": "西门", "kind": "pedestrian"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();

    // A gate reports with its device token; an old passage and two recent ones.
    let old = now() - 40 * 86_400_000;
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .bearer_auth(&token)
        .json(&json!([
            {"ts": old, "direction": "in", "by": "card", "id": "C-9001"},
            {"direction": "in", "by": "resident", "id": "R-77"},
            {"direction": "out", "by": "card", "id": "C-9002"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["accepted"], 3);
    // No token, a wrong token, bad input.
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .json(&json!({"direction": "in", "by": "card", "id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .bearer_auth(&token)
        .json(&json!({"direction": "up", "by": "card", "id": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .bearer_auth(&token)
        .json(&json!({"direction": "in", "by": "face", "image": "..."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "never an image");

    // The property manager and the community's worker read the log, audited.
    for t in [&wuye, &shegong] {
        let (s, v) = get(&app, t, &format!("/api/v1/gates/estates/{estate}/log")).await;
        assert_eq!(s, 200, "{v}");
        assert!(v.to_string().contains("C-9001"));
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], "list", "{e}");
    }
    // A resident: 403; another community's worker: 404.
    let (s, _) = get(&app, &jumin, &format!("/api/v1/gates/estates/{estate}/log")).await;
    assert_eq!(s, 403);
    let page = app
        .client()
        .get(app.url(&format!("/gates/estates/{estate}")))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 403);
    let other = support::last_community(&app).await;
    let stranger = account(&app, "gates_other", Role::CommunityWorker, other, None).await;
    for path in [
        format!("/api/v1/gates/estates/{estate}/log"),
        format!("/api/v1/gates/estates/{estate}"),
        format!("/api/v1/gates/estates/{estate}/occupancy"),
    ] {
        let (s, _) = get(&app, &stranger, &path).await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = post(
        &app,
        &stranger,
        &format!("/api/v1/gates/estates/{estate}/gates"),
        json!({"name": "x", "kind": "pedestrian"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, v) = get(&app, &stranger, "/api/v1/gates/estates").await;
    assert_eq!(s, 200);
    assert_eq!(v, json!([]));

    // After the retention (30 days), the old passage is gone, the recent ones stay, and the
    // audit log still verifies.
    let db = app.db.clone();
    let count = || {
        db.read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM gate_passages WHERE estate_id = $1 AND credential LIKE 'C-900%'",
                linli::params![estate],
            )
        })
    };
    assert_eq!(count().await.unwrap(), 2);
    let n = linli::gates::service::purge_due(&app.state, now())
        .await
        .unwrap();
    assert!(n >= 1);
    assert_eq!(count().await.unwrap(), 1);
    let e = app.last_audit_entry().await;
    assert!(e["purpose"].as_str().unwrap().contains("保存期"), "{e}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--data")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(&app.database_url)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    app.stop().await;
}

#[tokio::test]
async fn spaces_plates_and_rules() {
    let app = support::spawn().await;
    let wuye = app.token("wuye").await;
    let jumin = app.token("jumin").await;
    let estate = demo_estate(&app, &wuye).await;
    let (s, v) = post(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/spaces"),
        json!([{"code": "Z-01", "kind": "owned", "row": 9, "col": 0},
               {"code": "Z-02", "kind": "visitor", "row": 9, "col": 1}]),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/spaces"),
        json!([{"code": "Z-01", "kind": "owned", "row": 9, "col": 0}]),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    let space = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM parking_spaces WHERE estate_id = $1 AND code = 'Z-01'",
                linli::params![estate],
            )
        })
        .await
        .unwrap();
    let assign = format!("/api/v1/gates/spaces/{space}/assignment");
    let (s, v) = post(
        &app,
        &wuye,
        &assign,
        json!({"plate": "沪B·77777", "holder": "5号楼 202"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = post(&app, &wuye, &assign, json!({"plate": "沪B88888"})).await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("已分配"), "{v}");
    let (s, _) = post(&app, &jumin, &assign, json!({"plate": "沪B88888"})).await;
    assert_eq!(s, 403);

    // A rule without a vote, or with a vote that is not an approved vote of the estate.
    let rules = format!("/api/v1/gates/estates/{estate}/rules");
    let (s, v) = post(
        &app,
        &wuye,
        &rules,
        json!({"kind": "visitor_limit", "a": 120}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("业主表决"), "{v}");
    let vote = app
        .db
        .read(|c| c.query_i64("SELECT COALESCE(MAX(id), 0) FROM votes", &[]))
        .await
        .unwrap();
    let (s, v) = post(
        &app,
        &wuye,
        &rules,
        json!({"kind": "visitor_limit", "a": 120, "vote_id": vote}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, v) = post(
        &app,
        &wuye,
        &rules,
        json!({"kind": "visitor_limit", "a": 120, "vote_id": 999_999}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("业主表决"), "{v}");
    let (_, v) = get(&app, &wuye, &rules).await;
    assert_eq!(v, json!([]));

    // A barrier: the assigned plate takes its space; an unknown plate is let in as a visitor.
    let (s, v) = post(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/gates"),
        json!({"name": "东门道闸", "kind": "barrier"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    // A visitor limit of 60 minutes as if voted (the vote's own path is the votes area's).
    app.db
        .write(move |c| {
            c.exec(
                "INSERT INTO gate_rules (street_id, estate_id, kind, vote_id, a, b, note, created_at) \
                 SELECT street_id, id, 'visitor_limit', 1, 60, 0, '', 0 FROM gate_estates WHERE id = $1",
                linli::params![estate],
            )
        })
        .await
        .unwrap();
    let (_, before) = get(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/occupancy"),
    )
    .await;
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .bearer_auth(&token)
        .json(&json!([
            {"ts": now() - 3 * 3_600_000, "direction": "in", "by": "plate", "id": "沪B77777"},
            {"ts": now() - 3 * 3_600_000, "direction": "in", "by": "plate", "id": "浙C12345"}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, after) = get(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/occupancy"),
    )
    .await;
    assert_eq!(
        after["inside"].as_i64().unwrap(),
        before["inside"].as_i64().unwrap() + 2,
        "{after}"
    );
    let (_, log) = get(
        &app,
        &wuye,
        &format!("/api/v1/gates/estates/{estate}/log?limit=200"),
    )
    .await;
    let visitor = log
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["credential"] == "浙C12345")
        .unwrap();
    assert_eq!(visitor["visitor"], true);
    let known = log
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["credential"] == "沪B77777")
        .unwrap();
    assert_eq!(known["visitor"], false);
    let taken = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT occupied FROM parking_spaces WHERE id = $1",
                linli::params![space],
            )
        })
        .await
        .unwrap();
    assert_eq!(taken, 1);

    // The visitor leaves after three hours: a breach of the 60 minutes, a self-governed case.
    let r = app
        .client()
        .post(app.url("/api/v1/gates/passages"))
        .bearer_auth(&token)
        .json(&json!({"direction": "out", "by": "plate", "id": "浙C12345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cases = app
        .db
        .read(|c| {
            c.query_i64(
                "SELECT COUNT(*) FROM cases k JOIN case_categories g ON g.id = k.category_id \
                 WHERE g.code = 'parking_rule' AND k.self_governed = 1",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(cases, 1);

    // The plan draws every space, in well under 50 ms for this car park.
    let page = app
        .client()
        .get(app.url(&format!("/gates/estates/{estate}/plan.svg")))
        .bearer_auth(&wuye)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let svg = page.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Z-02"));
    assert!(!svg.contains("沪B77777"), "no plates on the plan");
    app.stop().await;
}

#[test]
fn the_plan_of_2000_spaces_draws_in_under_50_ms() {
    let spaces: Vec<linli::gates::store::Space> = (0..2000)
        .map(|i| linli::gates::store::Space {
            id: i,
            code: format!("P-{i:04}"),
            kind: ["owned", "rented", "shared", "visitor"][(i % 4) as usize].into(),
            row: i / 50,
            col: i % 50,
            occupied: i % 3 == 0,
            plate: None,
        })
        .collect();
    let t = linli::kernel::i18n::Tr(linli::kernel::i18n::Lang::Zh);
    let start = std::time::Instant::now();
    let svg = linli::gates::service::plan_svg(&spaces, &t);
    let took = start.elapsed();
    assert!(svg.matches("<rect").count() == 2000);
    assert!(took.as_millis() < 50, "{took:?}");
}
