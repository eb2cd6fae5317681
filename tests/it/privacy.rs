//! Anomaly rules over the audit log, the retention purge, and residents' correction requests.

use linli::audit::anomaly::{Rules, scan};
use serde_json::Value;

use crate::support::{self, PASSWORD, extract_input};

async fn households(app: &support::TestApp, wangge_inside: bool) -> Vec<i64> {
    let grid = crate::support::place_of(app, "wangge").await;
    let rows = app
        .db
        .read(|c| c.query("SELECT id, place_path FROM households ORDER BY id", &[]))
        .await
        .unwrap();
    rows.iter()
        .filter(|r| r.str(1).starts_with(&format!("{grid}/")) == wangge_inside)
        .map(|r| r.i64(0))
        .collect()
}

async fn run_scan(app: &support::TestApp, rules: Rules) -> usize {
    app.state.audit.flush_index().await.unwrap();
    app.db
        .write(move |c| scan(c, &rules, linli::store::now_ms()))
        .await
        .unwrap()
}

#[tokio::test]
async fn anomalies_become_notices_with_evidence() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    for id in households(&app, true).await.into_iter().take(6) {
        let (s, _) = app
            .get_json(&wangge, &format!("/api/v1/households/{id}"))
            .await;
        assert_eq!(s, 200);
    }
    for id in households(&app, false).await.into_iter().take(3) {
        let (s, _) = app
            .get_json(&wangge, &format!("/api/v1/households/{id}"))
            .await;
        assert_eq!(s, 404);
    }
    // A resident opening her own household (at any hour) is her own data: no notice
    // (issue 19 item 3), so the three below stay three.
    let jumin = app.token("jumin").await;
    let own = app
        .query_i64(
            "SELECT household_id FROM persons WHERE id = (SELECT person_id FROM users WHERE username = 'jumin')",
        )
        .await;
    let (s, _) = app
        .get_json(&jumin, &format!("/api/v1/households/{own}"))
        .await;
    assert_eq!(s, 200);
    // Nor a volunteer, whose role reads others' contacts, opening her own household: it is
    // logged (her household's other members see it) as her own, not as a stranger's record.
    let zhiyuan = app.token("zhiyuan").await;
    let hers = app
        .query_i64(
            "SELECT household_id FROM persons WHERE id = (SELECT person_id FROM users WHERE username = 'zhiyuan')",
        )
        .await;
    let (s, _) = app
        .get_json(&zhiyuan, &format!("/api/v1/households/{hers}"))
        .await;
    assert_eq!(s, 200, "her own household");
    assert_eq!(app.last_audit_entry().await["action"], "read_own");
    // Working hours are judged in the street's zone, not the server's.
    let hour =
        chrono::Timelike::hour(&chrono::Utc::now().with_timezone(&linli::kernel::time::zone()));
    let outside = if hour < 23 { (hour + 1, 24) } else { (0, 23) };
    let rules = Rules {
        max_people_per_hour: 5,
        max_denied_per_hour: 3,
        work_hours: outside,
    };
    assert_eq!(
        run_scan(&app, rules.clone()).await,
        3,
        "volume, after hours and denied"
    );
    assert_eq!(
        run_scan(&app, rules).await,
        0,
        "a second scan repeats nothing"
    );
    // Quiet rules raise nothing.
    assert_eq!(run_scan(&app, Rules::default()).await, 0);

    let admin = app.token("admin").await;
    let (s, notices) = app.get_json(&admin, "/api/v1/security-notices").await;
    assert_eq!(s, 200);
    let kinds: Vec<&str> = notices
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for k in ["anomaly_volume", "anomaly_after_hours", "anomaly_denied"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let volume = notices
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "anomaly_volume")
        .unwrap();
    assert_eq!(volume["actor"], "wangge");
    assert!(volume["evidence"]["distinct_records"].as_i64().unwrap() > 5);
    assert!(
        !volume["evidence"]["entries"].as_array().unwrap().is_empty(),
        "the entries are named"
    );
    // Only administrators read notices.
    let (s, _) = app.get_json(&wangge, "/api/v1/security-notices").await;
    assert_eq!(s, 403);
    // The administrator's home page shows them and marks them read.
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let html = b
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("安全提醒") && html.contains("多次越权访问被拒绝"),
        "notices on the home page"
    );
    let csrf = extract_input(&html, "csrf").unwrap();
    let id = volume["id"].as_i64().unwrap();
    let r = b
        .post(app.url(&format!("/security-notices/{id}/read")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, notices) = app.get_json(&admin, "/api/v1/security-notices").await;
    let v = notices
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .unwrap();
    assert_eq!(v["read"], true);
}

#[tokio::test]
async fn retention_purges_expired_quarantine_and_keeps_the_log_verifiable() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let h = households(&app, true).await[0];
    app.get_json(&wangge, &format!("/api/v1/households/{h}"))
        .await;
    let today = chrono::Local::now().date_naive();
    let old_end = (today - chrono::Days::new(40))
        .format("%Y-%m-%d")
        .to_string();
    let recent_end = (today - chrono::Days::new(10))
        .format("%Y-%m-%d")
        .to_string();
    let (p1, p2) = app
        .db
        .write(move |c| {
            let p1 = c.query_i64("SELECT id FROM persons ORDER BY id LIMIT 1", &[])?;
            let p2 = c.query_i64("SELECT id FROM persons ORDER BY id DESC LIMIT 1", &[])?;
            for (p, end) in [(p1, old_end.clone()), (p2, recent_end.clone())] {
                c.exec(
                    "INSERT INTO person_tags (street_id, person_id, tag, valid_from, valid_to, source, created_at) \
                     SELECT street_id, id, 'home_quarantine', '2026-01-01', $2, 'form', 0 FROM persons WHERE id = $1",
                    linli::params![p, end],
                )?;
            }
            Ok((p1, p2))
        })
        .await
        .unwrap();
    let today2 = today;
    let purged = app
        .db
        .write(move |c| {
            linli::privacy::retention::purge(c, &[("home_quarantine".to_string(), 30)], today2)
        })
        .await
        .unwrap();
    assert_eq!(purged.tags, 1);
    let left = app
        .db
        .read(|c| {
            c.query(
                "SELECT person_id FROM person_tags WHERE tag = 'home_quarantine'",
                &[],
            )
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].i64(0),
        p2,
        "the quarantine that ended 10 days ago is kept"
    );
    assert_ne!(p1, p2);
    let e = app.last_audit_entry().await;
    let purpose = e["purpose"].as_str().unwrap();
    assert!(
        purpose.contains("保留期满") && purpose.contains("Retention"),
        "{purpose}"
    );
    assert_eq!(e["subjects"][0], format!("person:{p1}"));
    assert!(
        !app.db
            .write(|c| linli::privacy::retention::due(c))
            .await
            .unwrap(),
        "not due again today"
    );
    // Deleting personal data never breaks the log.
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
}

#[tokio::test]
async fn correction_requests_reach_the_community_and_come_back() {
    let app = support::spawn().await;
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let page = jb
        .get(app.url("/me/access-log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("申请更正我的信息"));
    let csrf = extract_input(&page, "csrf").unwrap();
    // Bad input: a message is needed.
    let r = jb
        .post(app.url("/me/corrections"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("field", "phone"),
            ("message", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("请填写说明"));
    let r = jb
        .post(app.url("/me/corrections"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("field", "phone"),
            ("message", "手机号已更换为新号码"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The community worker sees it on her home page and closes it.
    let (sb, _) = app.login_page("shegong", PASSWORD).await;
    let home = sb
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("手机号已更换为新号码"),
        "the task is on the worker's home page"
    );
    let shegong = app.token("shegong").await;
    let (_, list) = app.get_json(&shegong, "/api/v1/corrections").await;
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(list[0]["state"], "open");
    // Someone without the resident in scope cannot close it.
    let bumen = app.token("bumen").await;
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/corrections/{id}")))
        .bearer_auth(&bumen)
        .json(&serde_json::json!({"state": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let csrf = extract_input(&home, "csrf").unwrap();
    let r = sb
        .post(app.url(&format!("/corrections/{id}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("state", "done"),
            ("reply", "已核实并更新"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = jb
        .get(app.url("/me/access-log"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已核实并更新") && page.contains("已更正"));
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/corrections/{id}")))
        .bearer_auth(&shegong)
        .json(&serde_json::json!({"state": "maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn exports_need_approval_from_one_level_up() {
    let app = support::spawn().await;
    let c = app.client();
    let wangge = app.token("wangge").await;
    let grid = crate::support::place_of(&app, "wangge").await;
    let g = grid.clone();
    let building = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("path", std::slice::from_ref(&g), 1, &mut p);
            c.query_one(&format!("SELECT path FROM places WHERE kind = 'building' AND {cond} ORDER BY path LIMIT 1"), &p)
        })
        .await
        .unwrap()
        .str(0);
    let request = |body: Value, tok: String| {
        let c = c.clone();
        let u = app.url("/api/v1/exports");
        async move { c.post(u).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    // No purpose: refused.
    let r = request(
        serde_json::json!({"place": building, "reason": " "}),
        wangge.clone(),
    )
    .await;
    assert_eq!(r.status(), 422);
    // Outside her scope: refused.
    let r = request(
        serde_json::json!({"place": "310115/310115004", "reason": "x"}),
        wangge.clone(),
    )
    .await;
    assert_eq!(r.status(), 422);
    // Masked, small: approved at once and downloadable as CSV with masked numbers.
    let r = request(
        serde_json::json!({"place": building, "reason": "走访名单"}),
        wangge.clone(),
    )
    .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], "approved");
    let records = v["records"].as_i64().unwrap();
    assert!(records > 0 && records <= 200);
    let r = c
        .get(app.url(&format!("/api/v1/exports/{}/download", v["id"])))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let bytes = r.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a BOM so Excel reads Chinese"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("身份证号"));
    assert_eq!(lines.len() as i64, records + 1);
    assert!(lines[1..].iter().all(|l| l.contains("********")), "masked");

    // Unmasked: pending until someone one level up decides.
    let r = request(
        serde_json::json!({"place": building, "reason": "发放补贴", "unmasked": true}),
        wangge.clone(),
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], "pending");
    let id = v["id"].as_i64().unwrap();
    let r = c
        .get(app.url(&format!("/api/v1/exports/{id}/download")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let decide = |tok: String, body: Value| {
        let c = c.clone();
        let u = app.url(&format!("/api/v1/exports/{id}/decision"));
        async move { c.post(u).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    // Not by herself, not by a department.
    assert_eq!(
        decide(wangge.clone(), serde_json::json!({"approve": true}))
            .await
            .status(),
        403
    );
    assert_eq!(
        decide(
            app.token("bumen").await,
            serde_json::json!({"approve": true})
        )
        .await
        .status(),
        403
    );
    // The community worker above her sees it and approves.
    let shegong = app.token("shegong").await;
    let (_, lists) = app.get_json(&shegong, "/api/v1/exports").await;
    assert!(
        lists["awaiting"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id)
    );
    assert_eq!(
        decide(
            shegong.clone(),
            serde_json::json!({"approve": true, "comment": "同意"})
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        decide(
            shegong.clone(),
            serde_json::json!({"approve": false, "comment": "再看"})
        )
        .await
        .status(),
        409
    );
    // Only the requester downloads it; the numbers are in full.
    let r = c
        .get(app.url(&format!("/api/v1/exports/{id}/download")))
        .bearer_auth(&shegong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let text = c
        .get(app.url(&format!("/api/v1/exports/{id}/download")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first = text.lines().nth(1).unwrap();
    let id_cell = first.split(',').nth(1).unwrap();
    assert!(
        linli::registry::idnum::IdNumber::parse(id_cell).is_ok(),
        "full number: {id_cell}"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "export");
    assert!(e["purpose"].as_str().unwrap().starts_with("unmasked"));
    assert_eq!(e["subjects"].as_array().unwrap().len() as i64, records + 1);
    // Expired: no longer downloadable.
    app.db
        .write(move |c| {
            c.exec(
                "UPDATE export_requests SET expires_at = 1 WHERE id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    let r = c
        .get(app.url(&format!("/api/v1/exports/{id}/download")))
        .bearer_auth(&wangge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Rejection needs a comment, and the page shows the outcome.
    let r = request(
        serde_json::json!({"place": grid, "reason": "全网格名单", "unmasked": true}),
        wangge.clone(),
    )
    .await;
    let id2 = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = c
        .post(app.url(&format!("/api/v1/exports/{id2}/decision")))
        .bearer_auth(&shegong)
        .json(&serde_json::json!({"approve": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let (sb, _) = app.login_page("shegong", PASSWORD).await;
    let page = sb
        .get(app.url("/exports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("全网格名单"), "awaiting on the page");
    let csrf = extract_input(&page, "csrf").unwrap();
    let r = sb
        .post(app.url(&format!("/exports/{id2}/decision")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("decision", "reject"),
            ("comment", "范围过大"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (wb, _) = app.login_page("wangge", PASSWORD).await;
    let page = wb
        .get(app.url("/exports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("已驳回") && page.contains("范围过大"));
}

/// Issue 19, items 2 and 3: a grid worker paging through the lists of her own grid is not
/// "many residents in an hour" (only records opened, reveals and exports count); a notice
/// reads as a sentence naming the person and her role, the count against the threshold and
/// her usual, with a page of the accesses behind it — no JSON, no account name.
#[tokio::test]
async fn security_notices_are_sentences_and_lists_do_not_count() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let rules = Rules {
        max_people_per_hour: 5,
        max_denied_per_hour: 100,
        work_hours: (0, 24),
    };
    // Pages of her grid's residents: dozens of people listed, none opened.
    for page in 0..3 {
        let (s, v) = app
            .get_json(
                &wangge,
                &format!("/api/v1/persons?limit=50&offset={}", page * 50),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    assert_eq!(run_scan(&app, rules.clone()).await, 0, "lists do not count");
    // Records opened: they count.
    for id in households(&app, true).await.into_iter().take(7) {
        let (s, _) = app
            .get_json(&wangge, &format!("/api/v1/households/{id}"))
            .await;
        assert_eq!(s, 200);
    }
    assert_eq!(run_scan(&app, rules).await, 1, "seven households opened");

    let admin = app.token("admin").await;
    let (_, notices) = app.get_json(&admin, "/api/v1/security-notices").await;
    let id = notices[0]["id"].as_i64().unwrap();
    assert_eq!(notices[0]["kind"], "anomaly_volume");
    assert!(notices[0]["evidence"]["usual_per_hour"].is_i64());

    for (lang, name, words) in [
        ("zh", "李敏（网格员）", "提醒阈值 5"),
        ("en", "李敏 (Grid worker)", "threshold 5"),
    ] {
        let (b, _) = app.login_page("admin", PASSWORD).await;
        b.get(app.url(&format!("/lang/{lang}")))
            .send()
            .await
            .unwrap();
        let home = b
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let card = &home[home.find("id=\"notices\"").expect("the notices card")..];
        let card = &card[..card.find("</section>").unwrap()];
        assert!(
            card.contains(name),
            "{lang}: the person and her role: {card}"
        );
        assert!(card.contains(words), "{lang}: {card}");
        assert!(
            !card.contains("wangge") && !card.contains('{'),
            "{lang}: no account name, no JSON: {card}"
        );
        assert!(card.contains(&format!("/security-notices/{id}")));
        let page = b
            .get(app.url(&format!("/security-notices/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("id=\"notice-accesses\""));
        assert!(
            page.contains("/households/"),
            "links to the records behind it"
        );
    }
    // Only the street's administrators read it.
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/security-notices/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (b, _) = app.login_page("admin", PASSWORD).await;
    let r = b
        .get(app.url("/security-notices/999999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Issue 19 item 8: "download my data" is a page she can read and a workbook (her record, her
/// household, her reports, who looked at her data), each look audited; no record, no page.
#[tokio::test]
async fn a_resident_reads_her_data_as_a_page_and_a_workbook() {
    use calamine::{Reader, Xlsx};
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let grid = support::place_of(&app, "wangge").await;
    let building = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY id LIMIT 1",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap();
    let r = app
        .client()
        .post(app.url("/api/v1/cases"))
        .bearer_auth(&jumin)
        .json(&serde_json::json!({"category": "noise", "description": "楼下深夜装修，电钻声", "place_id": building}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (jb, _) = app.login_page("jumin", PASSWORD).await;
    let html = app.page(&jb, "/me/data").await;
    for want in [
        "我的登记信息",
        "我的家庭",
        "我的上报",
        "楼下深夜装修，电钻声",
        "待受理",
        "谁查看了我的信息",
        "/me/data.xlsx",
    ] {
        assert!(html.contains(want), "the page shows {want}");
    }
    assert!(
        !html.contains("case.state") && !html.contains("mydata."),
        "no raw keys"
    );
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "self_export");
    // The workbook: one sheet per part, in her language.
    let r = jb.get(app.url("/me/data.xlsx")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(r.bytes().await.unwrap().to_vec()))
            .unwrap();
    let names = book.sheet_names();
    for want in ["我的登记信息", "我的家庭", "我的上报", "谁查看了我的信息"] {
        assert!(names.iter().any(|n| n == want), "sheet {want} in {names:?}");
    }
    let cases = book.worksheet_range("我的上报").unwrap();
    assert!(
        cases
            .rows()
            .any(|row| row.iter().any(|c| *c == "楼下深夜装修，电钻声"))
    );
    let access = book.worksheet_range("谁查看了我的信息").unwrap();
    assert!(
        access.rows().count() >= 2,
        "her own look at the page is listed"
    );
    assert_eq!(app.last_audit_entry().await["action"], "self_export");
    // In English, the headers are English.
    let r = jb
        .get(app.url("/me/data.xlsx"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(r.bytes().await.unwrap().to_vec()))
            .unwrap();
    assert!(
        book.sheet_names().iter().any(|n| n == "My reports"),
        "{:?}",
        book.sheet_names()
    );
    // Someone with no record of her own has no such page.
    let (ab, _) = app.login_page("admin", PASSWORD).await;
    let r = ab.get(app.url("/me/data")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
