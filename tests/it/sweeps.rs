//! Door-to-door sweeps (issue 23 part 2): a campaign over a community makes every household a
//! door for its grid worker; answers arrive once however often a phone retries (2,000 sent
//! concurrently, some of them cut off after sending and sent again); "nobody home" keeps the
//! door open; the progress equals the answers; a building handed to a volunteer; a repeat
//! compared with the first round; the XLSX export; the retention purge keeps the counts; and
//! who may see and answer what, with the refusals in both languages.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::support::{self, TestApp};

async fn send(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let c = app.client();
    let mut r = match method {
        "POST" => c.post(app.url(path)),
        _ => c.get(app.url(path)),
    }
    .bearer_auth(token)
    .header("accept-language", lang);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, "POST", path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, "GET", path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A place's id by its path.
async fn place_id(app: &TestApp, path: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM places WHERE path = $1",
                linli::params![path],
            )
        })
        .await
        .unwrap()
}

/// The households under a path, as the registry has them.
async fn households_under(app: &TestApp, path: String) -> Vec<i64> {
    app.db
        .read(move |c| {
            Ok(c.query(
                "SELECT id FROM households WHERE place_path = $1 OR place_path LIKE $2 ORDER BY id",
                linli::params![path.clone(), format!("{path}/%")],
            )?
            .iter()
            .map(|r| r.i64(0))
            .collect::<Vec<_>>())
        })
        .await
        .unwrap()
}

fn form() -> Value {
    json!([
        {"label": "家中有无独居老人", "kind": "yes_no"},
        {"label": "燃气报警器", "kind": "choice", "options": ["已安装", "未安装"]},
        {"label": "常住人数", "kind": "number"},
        {"label": "其他情况", "kind": "text"}
    ])
}

/// shegong's community: its path and id.
async fn community(app: &TestApp) -> (String, i64) {
    let path = support::place_of(app, "shegong").await;
    let id = place_id(app, path.clone()).await;
    (path, id)
}

/// Starts a campaign over `places` as `token`; returns its id.
async fn started(app: &TestApp, token: &str, title: &str, places: &[i64]) -> i64 {
    let (s, v) = post(
        app,
        token,
        "/api/v1/sweeps",
        json!({"title": title, "questions": form(), "places": places, "start": true}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["state"], "open");
    v["id"].as_i64().unwrap()
}

/// A count over one campaign's rows (`$1` is its id).
async fn count(app: &TestApp, sql: &'static str, id: i64) -> i64 {
    app.db
        .read(move |c| c.query_i64(sql, linli::params![id]))
        .await
        .unwrap()
}

fn cid(n: impl std::fmt::Display) -> String {
    format!("client-{n}-0000")
}

#[tokio::test]
async fn a_sweep_goes_door_by_door_and_its_figures_equal_the_answers() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let wangge = app.token("wangge").await;
    let (cpath, cid_) = community(&app).await;
    let grid = support::place_of(&app, "wangge").await;
    let all = households_under(&app, cpath.clone()).await;
    let mine = households_under(&app, grid.clone()).await;
    assert!(!mine.is_empty() && mine.len() < all.len());

    let id = started(&app, &shegong, "入户排摸", &[cid_]).await;
    let (s, c) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(c["households"].as_i64().unwrap(), all.len() as i64);

    // Every door of wangge's grid is hers; her list is by building and floor, names masked,
    // and audited with the households it names.
    let (s, doors) = get(&app, &wangge, &format!("/api/v1/sweeps/{id}/doors")).await;
    assert_eq!(s, 200, "{doors}");
    let doors = doors.as_array().unwrap().clone();
    assert_eq!(doors.len(), mine.len());
    assert!(doors.iter().all(|d| d["state"] == "open"));
    let named: Vec<&str> = doors
        .iter()
        .filter_map(|d| d["head_masked"].as_str())
        .collect();
    assert!(named.iter().any(|n| n.contains('*')), "{named:?}");
    let last = app.last_audit_entry().await;
    assert_eq!(last["action"], "list");
    assert!(
        last["subjects"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("household:{}", mine[0])))
    );
    let buildings: Vec<i64> = doors
        .iter()
        .map(|d| d["building_id"].as_i64().unwrap())
        .collect();
    let mut sorted = buildings.clone();
    sorted.dedup();
    let mut seen = sorted.clone();
    seen.sort();
    seen.dedup();
    assert_eq!(sorted.len(), seen.len(), "doors grouped by building");

    // Answer the first three, nobody home at the fourth (twice), and the fifth after a miss.
    let h: Vec<i64> = doors
        .iter()
        .map(|d| d["household_id"].as_i64().unwrap())
        .collect();
    for (i, hh) in h.iter().take(3).enumerate() {
        let (s, v) = post(
            &app,
            &wangge,
            &format!("/api/v1/sweeps/{id}/answers"),
            json!({"household_id": hh, "client_id": cid(i), "outcome": "answered",
                   "answers": {"q1": i == 0, "q2": "已安装", "q3": 2 + i, "q4": "无"}}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "done");
        assert_eq!(v["repeated"], false);
    }
    let last = app.last_audit_entry().await;
    assert_eq!(last["action"], "change");
    assert_eq!(last["subjects"], json!([format!("household:{}", h[2])]));
    for n in 0..2 {
        let (s, v) = post(
            &app,
            &wangge,
            &format!("/api/v1/sweeps/{id}/answers"),
            json!({"household_id": h[3], "client_id": cid(format!("nobody{n}")), "outcome": "nobody_home"}),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["state"], "nobody_home");
        assert_eq!(v["attempts"], n + 1);
    }
    post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{id}/answers"),
        json!({"household_id": h[4], "client_id": cid("miss4"), "outcome": "nobody_home"}),
    )
    .await;
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{id}/answers"),
        json!({"household_id": h[4], "client_id": cid("hit4"), "outcome": "answered",
               "answers": {"q2": "未安装"}}),
    )
    .await;
    assert_eq!(
        (s, v["state"].clone(), v["attempts"].clone()),
        (200, json!("done"), json!(1))
    );

    // The progress equals the answers: in total, in her grid, building by building.
    let (s, p) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["counts"]["total"].as_i64().unwrap(), all.len() as i64);
    assert_eq!(p["counts"]["done"], 4);
    assert_eq!(p["counts"]["nobody_home"], 1);
    assert_eq!(p["counts"]["open"].as_i64().unwrap(), all.len() as i64 - 5);
    assert_eq!(p["attempts"], 3);
    let grids = p["grids"].as_array().unwrap();
    let sum = |k: &str| -> i64 {
        grids
            .iter()
            .flat_map(|g| g["buildings"].as_array().unwrap())
            .map(|b| b["counts"][k].as_i64().unwrap())
            .sum()
    };
    assert_eq!((sum("done"), sum("nobody_home")), (4, 1));
    let hers = grids
        .iter()
        .find(|g| g["worker"] == "李敏")
        .expect("her grid");
    assert_eq!(hers["counts"]["done"], 4);
    assert_eq!(hers["counts"]["total"].as_i64().unwrap(), mine.len() as i64);

    // Tallies.
    let (s, t) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/results")).await;
    assert_eq!(s, 200);
    assert_eq!(t[0]["options"][0], json!({"option": "yes", "count": 1}));
    assert_eq!(t[1]["options"][1], json!({"option": "未安装", "count": 1}));
    assert_eq!(t[2]["answered"], 3);

    // The pages: the organiser's progress and her door list on a phone.
    let (b, _) = app.login_page("shegong", support::PASSWORD).await;
    let html = app.page(&b, &format!("/sweeps/{id}")).await;
    assert!(html.contains("data-k=\"t.done\">4<"), "progress page");
    assert!(html.contains("李敏"));
    let (wb, _) = app.login_page("wangge", support::PASSWORD).await;
    let html = app.page(&wb, &format!("/sweeps/{id}/doors")).await;
    assert!(html.contains("id=\"sweep-queued\""));
    assert!(html.contains(&format!("id=\"door-{}\"", h[0])));
    assert!(html.contains("无人在家"));
    let js = app.page(&wb, "/static/sweeps.js").await;
    assert!(js.contains("localStorage"));
    // A form sent without the script records too (and again with the same id adds nothing).
    let page = app.page(&wb, &format!("/sweeps/{id}/doors")).await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    for _ in 0..2 {
        let r = wb
            .post(app.url(&format!("/sweeps/{id}/doors/{}", h[5])))
            .form(&[
                ("csrf", csrf.as_str()),
                ("client_id", "formclient55"),
                ("outcome", "nobody_home"),
            ])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success() || r.status().is_redirection());
    }
    let (_, p) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    assert_eq!(
        (p["counts"]["nobody_home"].clone(), p["attempts"].clone()),
        (json!(2), json!(4))
    );

    // The export: an XLSX, not kept by the browser, audited with every household.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/sweeps/{id}/export.xlsx")))
        .bearer_auth(&shegong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX (zip) file");
    let last = app.last_audit_entry().await;
    assert_eq!(last["action"], "export");
    assert_eq!(
        last["subjects"].as_array().unwrap().len(),
        all.len(),
        "every household exported is a subject"
    );

    // Close, repeat, answer the repeat differently and compare.
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, r) = post(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{id}/repeat"),
        json!({"title": "第二轮入户排摸", "start": true}),
    )
    .await;
    assert_eq!(s, 201, "{r}");
    let second = r["id"].as_i64().unwrap();
    assert_eq!(r["previous_id"], id);
    assert_eq!(r["questions"], c["questions"]);
    assert_eq!(r["households"], c["households"]);
    for (i, hh) in h.iter().take(2).enumerate() {
        let (s, _) = post(
            &app,
            &wangge,
            &format!("/api/v1/sweeps/{second}/answers"),
            json!({"household_id": hh, "client_id": cid(format!("r2-{i}")), "outcome": "answered",
                   "answers": {"q1": true, "q2": "已安装", "q3": 5}}),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (s, cmp) = get(&app, &shegong, &format!("/api/v1/sweeps/{second}/compare")).await;
    assert_eq!(s, 200, "{cmp}");
    assert_eq!(cmp["previous_id"], id);
    assert_eq!(cmp["counts"]["done"], 2);
    assert_eq!(cmp["counts_before"]["done"], 4);
    assert_eq!(
        cmp["changes"][0]["options"][0],
        json!({"option": "yes", "now": 2, "before": 1})
    );
    assert_eq!(cmp["changes"][2]["mean"], "5.0");
    let html = app.page(&b, &format!("/sweeps/{second}")).await;
    assert!(html.contains("id=\"comparison-table\""));
    // The first campaign, compared with nothing, says so.
    let (s, v) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/compare")).await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("没有可对比"), "{v}");
}

/// Adds a building of `n` single-household units under `grid`; returns the building's id.
async fn big_building(app: &TestApp, grid: String, n: usize) -> i64 {
    app.db
        .write(move |c| {
            let g = c.query_one(
                "SELECT id, street_id, depth FROM places WHERE path = $1",
                linli::params![grid.clone()],
            )?;
            let (gid, street, depth) = (g.i64(0), g.i64(1), g.i64(2));
            let bpath = format!("{grid}/sweepb");
            let b = c.query_i64(
                "INSERT INTO places (street_id, parent_id, kind, code, name, path, depth, created_at) \
                 VALUES ($1, $2, 'building', 'sweepb', '99号楼', $3, $4, 0) RETURNING id",
                linli::params![street, gid, bpath.clone(), depth + 1],
            )?;
            let units: Vec<Vec<linli::store::Val>> = (0..n)
                .map(|i| {
                    linli::params![
                        street,
                        b,
                        "unit",
                        format!("u{i}"),
                        format!("{}室", 101 + i),
                        format!("{bpath}/u{i}"),
                        depth + 2,
                        (i / 10) as i64 + 1,
                        0
                    ]
                    .to_vec()
                })
                .collect();
            c.insert_many(
                "places",
                &["street_id", "parent_id", "kind", "code", "name", "path", "depth", "floor_no", "created_at"],
                &units,
            )?;
            let rows: Vec<Vec<linli::store::Val>> = c
                .query(
                    "SELECT id, path FROM places WHERE parent_id = $1",
                    linli::params![b],
                )?
                .iter()
                .map(|r| linli::params![street, r.i64(0), r.str(1), 0, 0].to_vec())
                .collect();
            c.insert_many(
                "households",
                &["street_id", "unit_id", "place_path", "created_at", "updated_at"],
                &rows,
            )?;
            Ok(b)
        })
        .await
        .unwrap()
}

/// Sends an answer over a bare connection and closes it right after sending, before any
/// answer: a phone losing the network mid-request.
async fn send_and_drop(base: &str, token: &str, path: &str, body: &str) {
    let addr = base.trim_start_matches("http://");
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(req.as_bytes()).await;
    let _ = s.flush().await;
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_answers_with_dropped_connections_lose_none_and_duplicate_none() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let building = big_building(&app, grid, 2_000).await;
    let id = started(&app, &shegong, "两千户排摸", &[building]).await;
    let households = households_under(
        &app,
        format!("{}/sweepb", support::place_of(&app, "wangge").await),
    )
    .await;
    assert_eq!(households.len(), 2_000);

    let app = Arc::new(app);
    let gate = Arc::new(tokio::sync::Semaphore::new(48));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, hh) in households.iter().copied().enumerate() {
        let (app, token, gate) = (app.clone(), wangge.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let path = format!("/api/v1/sweeps/{id}/answers");
            let body = json!({"household_id": hh, "client_id": cid(format!("bulk{i}")),
                              "outcome": "answered",
                              "answers": {"q1": i % 2 == 0, "q2": "已安装", "q3": 1 + i % 3}});
            // One in four is cut off after sending, then sent again with the same id; one in
            // ten is answered and then sent again anyway (a retry whose answer was lost).
            if i % 4 == 0 {
                send_and_drop(&app.base, &token, &path, &body.to_string()).await;
            }
            let mut tries = 0;
            loop {
                tries += 1;
                let r = app
                    .client()
                    .post(app.url(&path))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => break,
                    Ok(r) if r.status() == 503 && tries < 20 => {}
                    Ok(r) => panic!("answer {i}: {} {}", r.status(), r.text().await.unwrap()),
                    Err(e) if tries < 20 => eprintln!("answer {i}: {e}, retrying"),
                    Err(e) => panic!("answer {i}: {e}"),
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if i % 10 == 0 {
                let r = app
                    .client()
                    .post(app.url(&path))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["repeated"], true, "a retry adds nothing");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }

    // None lost, none doubled: one submission and one answered door per household.
    let submissions = count(
        &app,
        "SELECT COUNT(*) FROM sweep_submissions WHERE campaign_id = $1",
        id,
    )
    .await;
    let done = count(
        &app,
        "SELECT COUNT(*) FROM sweep_tasks WHERE campaign_id = $1 AND state = 'done' AND answers IS NOT NULL",
        id,
    )
    .await;
    assert_eq!((submissions, done), (2_000, 2_000));
    let (s, p) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    assert_eq!(s, 200);
    assert_eq!(
        p["counts"],
        json!({"total": 2000, "done": 2000, "nobody_home": 0, "open": 0})
    );
    assert_eq!(p["grids"][0]["buildings"][0]["building_id"], building);
    assert_eq!(p["grids"][0]["buildings"][0]["counts"]["done"], 2000);
    let (_, t) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/results")).await;
    assert_eq!(
        t[0]["options"][0]["count"].as_i64().unwrap()
            + t[0]["options"][1]["count"].as_i64().unwrap(),
        2000
    );
    assert_eq!(t[1]["options"][0]["count"], 2000);
}

#[tokio::test]
async fn bad_answers_and_other_scopes_are_refused_in_both_languages() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    let zhiyuan = app.token("zhiyuan").await;
    let (cpath, community_id) = community(&app).await;
    let grid = support::place_of(&app, "wangge").await;
    let mine = households_under(&app, grid.clone()).await;
    let all = households_under(&app, cpath.clone()).await;
    let other = *all
        .iter()
        .find(|h| !mine.contains(h))
        .expect("a household in another grid");
    let grid_id = place_id(&app, grid.clone()).await;

    // A campaign over wangge's grid only: a household of another grid is not in it.
    let id = started(&app, &shegong, "网格排摸", &[grid_id]).await;
    let url = format!("/api/v1/sweeps/{id}/answers");
    let answer = |h: i64, c: &str| json!({"household_id": h, "client_id": cid(c), "outcome": "answered", "answers": {"q1": true}});
    let (s, v) = post(&app, &wangge, &url, answer(other, "x1")).await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("不在本次排摸范围内"), "{v}");
    let (s, v) = send(&app, &wangge, "POST", &url, Some(answer(other, "x2")), "en").await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("not in this sweep"), "{v}");
    let (s, v) = post(&app, &wangge, &url, answer(999_999_999, "x3")).await;
    assert_eq!(s, 422, "{v}");

    // Bad answers: a wrong kind, an unknown question, an empty answer, a bad client id.
    for (body, key) in [
        (
            json!({"household_id": mine[0], "client_id": cid("b1"), "outcome": "answered", "answers": {"q1": "maybe"}}),
            "类型不对",
        ),
        (
            json!({"household_id": mine[0], "client_id": cid("b2"), "outcome": "answered", "answers": {"q2": "坏了"}}),
            "类型不对",
        ),
        (
            json!({"household_id": mine[0], "client_id": cid("b3"), "outcome": "answered", "answers": {"zz": 1}}),
            "没有的问题",
        ),
        (
            json!({"household_id": mine[0], "client_id": cid("b4"), "outcome": "answered", "answers": {}}),
            "无人在家",
        ),
        (
            json!({"household_id": mine[0], "client_id": "x", "outcome": "answered", "answers": {"q1": true}}),
            "提交编号",
        ),
    ] {
        let (s, v) = post(&app, &wangge, &url, body).await;
        assert_eq!(s, 422, "{v}");
        assert!(message(&v).contains(key), "{key}: {v}");
    }
    let (s, _) = post(
        &app,
        &wangge,
        &url,
        json!({"household_id": mine[0], "outcome": "answered"}),
    )
    .await;
    assert!(s == 400 || s == 422);

    // Others: a resident and a department handler see nothing; they may not organise.
    for t in [&jumin, &bumen, &zhiyuan] {
        let (s, _) = get(&app, t, &format!("/api/v1/sweeps/{id}")).await;
        assert_eq!(s, 404);
        let (s, _) = get(&app, t, &format!("/api/v1/sweeps/{id}/doors")).await;
        assert_eq!(s, 404);
        let (s, _) = get(&app, t, &format!("/api/v1/sweeps/{id}/progress")).await;
        assert_eq!(s, 404);
        let (s, _) = post(&app, t, &url, answer(mine[0], "o1")).await;
        assert_eq!(s, 404);
        let (s, v) = post(
            &app,
            t,
            "/api/v1/sweeps",
            json!({"title": "x", "questions": form(), "places": [community_id]}),
        )
        .await;
        assert_eq!(s, 403, "{v}");
        let (s, list) = get(&app, t, "/api/v1/sweeps").await;
        assert_eq!((s, list), (200, json!([])));
    }
    // The grid worker knocks but does not manage: no export, no closing, no results.
    let (s, _) = get(&app, &wangge, &format!("/api/v1/sweeps/{id}/export.xlsx")).await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403);
    // A grid worker may not sweep places outside her grid.
    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/sweeps",
        json!({"title": "越界", "questions": form(), "places": [community_id]}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("超出"), "{v}");
    // A bad form.
    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/sweeps",
        json!({"title": "x", "questions": [{"label": "选一个", "kind": "choice", "options": ["只有一个"]}], "places": [community_id]}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("2–8"), "{v}");

    // A campaign over the whole community: a door of another grid is not wangge's to answer.
    let wide = started(&app, &shegong, "社区排摸", &[community_id]).await;
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{wide}/answers"),
        answer(other, "w1"),
    )
    .await;
    assert_eq!(s, 403);
    assert!(message(&v).contains("不在你的走访范围内"), "{v}");

    // Handing a building to the volunteer: she then sees and answers its doors, only those.
    let (_, doors) = get(&app, &wangge, &format!("/api/v1/sweeps/{id}/doors")).await;
    let building = doors[0]["building_id"].as_i64().unwrap();
    let in_building: Vec<i64> = doors
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["building_id"] == building)
        .map(|d| d["household_id"].as_i64().unwrap())
        .collect();
    let outside = doors
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["building_id"] != building)
        .map(|d| d["household_id"].as_i64().unwrap());
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{id}/handovers"),
        json!({"building_id": building, "volunteer": "nobody-here"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("志愿者"), "{v}");
    let (s, v) = post(
        &app,
        &jumin,
        &format!("/api/v1/sweeps/{id}/handovers"),
        json!({"building_id": building, "volunteer": "zhiyuan"}),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = post(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{id}/handovers"),
        json!({"building_id": building, "volunteer": "zhiyuan"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, vd) = get(&app, &zhiyuan, &format!("/api/v1/sweeps/{id}/doors")).await;
    assert_eq!(s, 200);
    assert_eq!(vd.as_array().unwrap().len(), in_building.len());
    let (s, v) = post(&app, &zhiyuan, &url, answer(in_building[0], "v1")).await;
    assert_eq!(s, 200, "{v}");
    if let Some(o) = outside {
        let (s, _) = post(&app, &zhiyuan, &url, answer(o, "v2")).await;
        assert_eq!(s, 403);
    }
    let (_, p) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    let b = p["grids"][0]["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["building_id"] == building)
        .unwrap()
        .clone();
    assert!(
        b["volunteer"].as_str().is_some_and(|v| !v.is_empty()),
        "{b}"
    );

    // A closed campaign takes no more answers, in either language; a retry of an answer it
    // kept still answers as before.
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = post(&app, &wangge, &url, answer(mine[1], "c1")).await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("已经结束"), "{v}");
    let (s, v) = send(
        &app,
        &wangge,
        "POST",
        &url,
        Some(answer(mine[1], "c2")),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&v).contains("closed"), "{v}");
    let (s, v) = post(&app, &zhiyuan, &url, answer(in_building[0], "v1")).await;
    assert_eq!((s, v["repeated"].clone()), (200, json!(true)));
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);

    // The pages refuse the same way.
    let (b, _) = app.login_page("jumin", support::PASSWORD).await;
    let r = b
        .get(app.url(&format!("/sweeps/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = b.get(app.url("/sweeps/new")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn personal_answers_are_purged_when_the_retention_ends_and_the_counts_stay() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let grid_id = place_id(&app, grid.clone()).await;
    let mine = households_under(&app, grid).await;
    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/sweeps",
        json!({"title": "短期排摸", "questions": form(), "places": [grid_id], "start": true, "retention_days": 7}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    for (i, h) in mine.iter().take(4).enumerate() {
        let outcome = if i == 3 { "nobody_home" } else { "answered" };
        let (s, _) = post(
            &app,
            &wangge,
            &format!("/api/v1/sweeps/{id}/answers"),
            json!({"household_id": h, "client_id": cid(i), "outcome": outcome, "answers": {"q2": "已安装", "q3": 2}}),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (_, before) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    let (_, tallies) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/results")).await;
    let (s, c) = post(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let purge_at = c["purge_at"].as_i64().unwrap();
    assert_eq!(purge_at - c["closed_at"].as_i64().unwrap(), 7 * 86_400_000);

    // Not yet due: nothing happens.
    linli::sweeps::jobs::retention(app.state.clone())
        .await
        .unwrap();
    let doors = count(
        &app,
        "SELECT COUNT(*) FROM sweep_tasks WHERE campaign_id = $1",
        id,
    )
    .await;
    assert_eq!(doors, mine.len() as i64);

    // Due: the doors and submissions go, the counts and tallies stay.
    app.exec(
        "UPDATE sweep_campaigns SET purge_at = $1 WHERE id = $2",
        linli::params![linli::store::now_ms() - 1, id],
    )
    .await;
    let said = linli::sweeps::jobs::retention(app.state.clone())
        .await
        .unwrap();
    assert!(said.unwrap_or_default().contains('1'));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM sweep_tasks WHERE campaign_id = $1",
            id
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM sweep_submissions WHERE campaign_id = $1",
            id
        )
        .await,
        0
    );
    // The demo's campaigns keep theirs.
    assert!(app.query_i64("SELECT COUNT(*) FROM sweep_tasks").await > 0);
    let (s, c) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}")).await;
    assert_eq!(s, 200);
    assert!(c["purged_at"].as_i64().is_some());
    let (_, after) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/progress")).await;
    assert_eq!(after, before);
    assert_eq!(after["counts"]["done"], 3);
    let (_, kept) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/results")).await;
    assert_eq!(kept, tallies);
    // The detail is gone: the export says so.
    let (s, v) = get(&app, &shegong, &format!("/api/v1/sweeps/{id}/export.xlsx")).await;
    assert_eq!(s, 410);
    assert!(message(&v).contains("删除"), "{v}");
    // A second pass does nothing more.
    let said = linli::sweeps::jobs::retention(app.state.clone())
        .await
        .unwrap();
    assert!(said.is_none());
    // The purge is in the audit log.
    let last = app.last_audit_entry().await;
    assert!(
        last["purpose"]
            .as_str()
            .unwrap_or_default()
            .contains("purged"),
        "{last}"
    );
}

#[tokio::test]
async fn the_demo_street_has_a_finished_sweep_and_one_in_progress() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let (s, list) = get(&app, &shegong, "/api/v1/sweeps").await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    let open = list
        .iter()
        .find(|c| c["state"] == "open")
        .expect("one in progress");
    let closed = list
        .iter()
        .find(|c| c["state"] == "closed")
        .expect("one finished");
    assert_eq!(open["previous_id"], closed["id"]);
    let (_, p) = get(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{}/progress", closed["id"]),
    )
    .await;
    assert!(
        p["counts"]["done"].as_i64().unwrap() * 10 > p["counts"]["total"].as_i64().unwrap() * 9
    );
    let (_, p) = get(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{}/progress", open["id"]),
    )
    .await;
    let (done, total) = (
        p["counts"]["done"].as_i64().unwrap(),
        p["counts"]["total"].as_i64().unwrap(),
    );
    assert!(done > 0 && done < total && p["counts"]["nobody_home"].as_i64().unwrap() > 0);
    let (s, cmp) = get(
        &app,
        &shegong,
        &format!("/api/v1/sweeps/{}/compare", open["id"]),
    )
    .await;
    assert_eq!(s, 200, "{cmp}");
    // The grid worker has doors of the one in progress.
    let wangge = app.token("wangge").await;
    let (s, doors) = get(
        &app,
        &wangge,
        &format!("/api/v1/sweeps/{}/doors", open["id"]),
    )
    .await;
    assert_eq!(s, 200);
    assert!(!doors.as_array().unwrap().is_empty());
}
