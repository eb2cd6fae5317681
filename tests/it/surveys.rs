//! Surveys (issue 22, part 2): an audience as for notices, frozen at publication; one answer
//! per account, also under concurrent submission; an anonymous survey's answers hold no
//! account; results that count the answers; the XLSX export, audited; who may see what (404
//! outside the audience, 403 for those who may not write, 404 for another scope's worker); bad
//! input refused in Chinese and English; and a community satisfaction survey's mean beside the
//! case ratings on the case figures.

use serde_json::{Value, json};

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
        "PUT" => c.put(app.url(path)),
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

/// A building of the community with residents, other than the demo resident's.
async fn other_building(app: &TestApp, community: String) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT b.id FROM places b WHERE b.kind = 'building' AND b.path LIKE $1 \
                 AND NOT EXISTS (SELECT 1 FROM users a JOIN persons p ON p.id = a.person_id \
                   WHERE a.username = 'jumin' AND p.place_path LIKE b.path || '/%') \
                 AND EXISTS (SELECT 1 FROM persons p WHERE p.place_path LIKE b.path || '/%' AND p.residence <> 'left') \
                 ORDER BY b.path LIMIT 1",
                linli::params![format!("{community}/%")],
            )
        })
        .await
        .unwrap()
}

fn questions() -> Value {
    json!([
        {"kind": "single", "prompt": "是否赞成？", "options": ["赞成", "反对"], "required": true},
        {"kind": "multiple", "prompt": "哪些时间方便？", "options": ["上午", "下午", "晚上"]},
        {"kind": "scale", "prompt": "满意度", "required": true},
        {"kind": "text", "prompt": "其他意见"}
    ])
}

fn survey(title: &str, places: &[i64], anonymous: bool) -> Value {
    json!({
        "title": title,
        "intro": "请花一分钟填写。",
        "questions": questions(),
        "audience": {"places": places},
        "anonymous": anonymous,
        "publish": true,
    })
}

fn sheet(choice: usize, times: &[usize], scale: i64, text: &str) -> Value {
    json!({"answers": [
        {"question": 0, "choices": [choice]},
        {"question": 1, "choices": times},
        {"question": 2, "value": scale},
        {"question": 3, "text": text}
    ]})
}

#[tokio::test]
async fn a_survey_reaches_its_audience_and_takes_one_answer_per_account() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let jumin = app.token("jumin").await;
    let grid = place_id(&app, support::place_of(&app, "wangge").await).await;

    let (s, v) = post(
        &app,
        &wangge,
        "/api/v1/surveys",
        survey("楼道改造意见", &[grid], false),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["state"], "published");
    assert!(
        v["recipients"].as_i64().unwrap() > 10,
        "frozen recipients: {v}"
    );
    assert_eq!(v["answered"], 0);

    // The resident finds it, open and not answered, and sees it on her home page.
    let (s, list) = get(&app, &jumin, "/api/v1/surveys").await;
    assert_eq!(s, 200);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["survey"]["id"] == id)
        .expect("in her list");
    assert_eq!(mine["answered"], false);
    assert_eq!(mine["open"], true);
    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let home = app.page(&browser, "/").await;
    assert!(home.contains("id=\"home-surveys\""), "home card");
    assert!(home.contains("楼道改造意见"));
    let page = app.page(&browser, &format!("/surveys/{id}")).await;
    assert!(page.contains("id=\"answer-form\""), "the answer form");
    assert!(
        page.contains("实名问卷"),
        "the form says it is not anonymous"
    );

    // Two submissions at once: exactly one counts, the other is refused with a reason.
    let answers = format!("/api/v1/surveys/{id}/answers");
    let (a, b) = tokio::join!(
        post(&app, &jumin, &answers, sheet(0, &[0, 2], 4, "希望晚上开会")),
        post(&app, &jumin, &answers, sheet(1, &[1], 2, "")),
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [204, 409], "{a:?} {b:?}");
    let refused = if a.0 == 409 { &a.1 } else { &b.1 };
    assert!(message(refused).contains("只能填写一次"), "{refused}");
    let (s, again) = send(
        &app,
        &jumin,
        "POST",
        &format!("/api/v1/surveys/{id}/answers"),
        Some(sheet(0, &[0], 5, "")),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&again).contains("already answered"), "{again}");
    let sheets = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM survey_responses WHERE survey_id = $1",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(sheets, 1, "one sheet stored");

    // A named survey keeps who answered; its results show her text masked, and that look is
    // audited under her.
    let (s, r) = get(&app, &wangge, &format!("/api/v1/surveys/{id}/results")).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["responses"], 1);
    assert_eq!(r["survey"]["answered"], 1);
    let winner = if a.0 == 204 { 0 } else { 1 };
    let q0 = &r["questions"][0]["counts"];
    assert_eq!(q0[winner]["n"], 1, "{q0}");
    assert_eq!(q0[1 - winner]["n"], 0, "{q0}");
    let texts = r["questions"][3]["texts"].as_array().unwrap();
    if winner == 0 {
        assert_eq!(texts.len(), 1);
        assert!(
            texts[0]["by"].as_str().unwrap().contains('*'),
            "masked: {texts:?}"
        );
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], "list", "{e}");
        assert!(
            e["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s.as_str().unwrap().starts_with("person:"))
        );
    }
    let (s, o) = get(&app, &jumin, &format!("/api/v1/surveys/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(o["answered"], true);
    app.stop().await;
}

#[tokio::test]
async fn an_anonymous_survey_stores_no_account_and_its_results_count_the_answers() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let community = place_id(&app, support::place_of(&app, "shegong").await).await;

    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/surveys",
        survey("垃圾分类时间调整", &[community], true),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["anonymous"], true);

    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let page = app.page(&browser, &format!("/surveys/{id}")).await;
    assert!(
        page.contains("id=\"survey-anonymous\""),
        "the form says it is anonymous"
    );

    let (s, e) = post(
        &app,
        &jumin,
        &format!("/api/v1/surveys/{id}/answers"),
        sheet(1, &[0, 1], 5, "晚上八点前收"),
    )
    .await;
    assert_eq!(s, 204, "{e}");
    // Answers for other recipients, as paper sheets typed in would be: straight into the store.
    let jumin_id = app
        .query_i64("SELECT id FROM users WHERE username = 'jumin'")
        .await;
    let (stored_sheets, named, marker) = app
        .db
        .read(move |c| {
            Ok((
                c.query_i64(
                    "SELECT COUNT(*) FROM survey_responses WHERE survey_id = $1",
                    linli::params![id],
                )?,
                c.query_i64(
                    "SELECT COUNT(*) FROM survey_responses WHERE survey_id = $1 AND \
                     (person_id IS NOT NULL OR user_id IS NOT NULL OR answered_at IS NOT NULL)",
                    linli::params![id],
                )?,
                c.query_i64(
                    "SELECT COUNT(*) FROM survey_answered WHERE survey_id = $1 AND user_id = $2",
                    linli::params![id, jumin_id],
                )?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(stored_sheets, 1);
    assert_eq!(
        named, 0,
        "an anonymous sheet names no person, no account, no time"
    );
    assert_eq!(marker, 1, "only the marker says she answered");
    // Nor do its answers: the table has no column that could.
    let cols = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id \
                 WHERE a.survey_id = $1 AND r.person_id IS NULL AND r.user_id IS NULL",
                linli::params![id],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        cols, 5,
        "one single, two multiple, a scale and a text, all unnamed"
    );

    let (s, r) = get(&app, &shegong, &format!("/api/v1/surveys/{id}/results")).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["responses"], 1);
    assert_eq!(r["questions"][0]["counts"][1]["n"], 1);
    assert_eq!(r["questions"][1]["counts"][0]["n"], 1);
    assert_eq!(r["questions"][1]["counts"][1]["n"], 1);
    assert_eq!(r["questions"][1]["counts"][2]["n"], 0);
    assert_eq!(r["questions"][2]["counts"][4]["n"], 1, "one 5");
    assert_eq!(r["questions"][2]["average"], 5.0);
    assert_eq!(r["questions"][3]["texts"][0]["text"], "晚上八点前收");
    assert_eq!(
        r["questions"][3]["texts"][0]["by"], "",
        "no name on an anonymous text"
    );

    // The results page draws SVG bars; the export downloads, never cached, and is audited.
    let (wb, _) = app.login_page("shegong", support::PASSWORD).await;
    let page = app.page(&wb, &format!("/surveys/{id}/results")).await;
    assert!(page.contains("<svg class=\"chart\""), "SVG charts");
    assert!(page.contains("晚上八点前收"));
    let before = app.query_i64("SELECT COUNT(*) FROM audit_entries").await;
    let x = app
        .client()
        .get(app.url(&format!("/api/v1/surveys/{id}/results.xlsx")))
        .bearer_auth(&shegong)
        .send()
        .await
        .unwrap();
    assert_eq!(x.status(), 200);
    assert_eq!(x.headers()["cache-control"], "no-store");
    assert!(
        x.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = x.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX (zip) file");
    assert!(app.query_i64("SELECT COUNT(*) FROM audit_entries").await > before);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "export", "{e}");
    let page_x = wb
        .get(app.url(&format!("/surveys/{id}/results.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(page_x.status(), 200);
    assert_eq!(page_x.headers()["cache-control"], "no-store");
    app.stop().await;
}

#[tokio::test]
async fn outside_the_audience_or_the_scope_a_survey_does_not_exist() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let wangge = app.token("wangge").await;
    let bumen = app.token("bumen").await;
    let community_path = support::place_of(&app, "shegong").await;
    let building = other_building(&app, community_path.clone()).await;

    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/surveys",
        survey("3 号楼加装电梯意向", &[building], false),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();

    // A resident outside the audience: 404 to read, to answer, and on the page.
    let (s, _) = get(&app, &jumin, &format!("/api/v1/surveys/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &jumin,
        &format!("/api/v1/surveys/{id}/answers"),
        sheet(0, &[0], 3, ""),
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = get(&app, &jumin, "/api/v1/surveys").await;
    assert!(
        !list
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["survey"]["id"] == id)
    );
    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let r = browser
        .get(app.url(&format!("/surveys/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = browser
        .get(app.url(&format!("/surveys/{id}/results")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A resident may not write surveys; nor may a department's handler.
    let (s, _) = post(
        &app,
        &jumin,
        "/api/v1/surveys",
        survey("x", &[building], false),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &bumen,
        "/api/v1/surveys",
        survey("x", &[building], false),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = get(&app, &bumen, "/api/v1/surveys/managed").await;
    assert_eq!(s, 403);
    // Workers of another scope neither read the results nor close it: 404.
    for t in [&wangge, &bumen] {
        let (s, _) = get(&app, t, &format!("/api/v1/surveys/{id}/results")).await;
        assert_eq!(s, 404);
        let r = app
            .client()
            .get(app.url(&format!("/api/v1/surveys/{id}/results.xlsx")))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let (s, _) = post(&app, t, &format!("/api/v1/surveys/{id}/close"), json!({})).await;
        assert_eq!(s, 404);
    }
    // A grid worker names a place outside her grid (her whole community): refused, in words.
    let community = place_id(&app, community_path).await;
    let (s, e) = post(
        &app,
        &wangge,
        "/api/v1/surveys",
        survey("x", &[community], false),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    assert!(!message(&e).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_surveys_and_bad_answers_are_refused_in_both_languages() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let community = place_id(&app, support::place_of(&app, "shegong").await).await;

    // A choice without options, in Chinese and in English; nothing is kept.
    let before = app.query_i64("SELECT COUNT(*) FROM surveys").await;
    let mut bad = survey("空选项", &[community], false);
    bad["questions"] = json!([{"kind": "single", "prompt": "选哪个？", "options": ["", " "]}]);
    let (s, e) = post(&app, &shegong, "/api/v1/surveys", bad.clone()).await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("至少要有两个选项"), "{e}");
    let (s, e) = send(&app, &shegong, "POST", "/api/v1/surveys", Some(bad), "en").await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("at least two options"), "{e}");
    let mut none = survey("无题", &[community], false);
    none["questions"] = json!([]);
    let (s, e) = post(&app, &shegong, "/api/v1/surveys", none).await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("至少要有一道题"), "{e}");
    let mut nobody = survey("无对象", &[], false);
    nobody["audience"] = json!({});
    let (s, _) = post(&app, &shegong, "/api/v1/surveys", nobody).await;
    assert_eq!(s, 422);
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM surveys").await, before);

    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/surveys",
        survey("停车意见", &[community], false),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let path = format!("/api/v1/surveys/{id}/answers");

    // A scale out of range, in both languages.
    let (s, e) = post(&app, &jumin, &path, sheet(0, &[], 6, "")).await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("1 到 5 分"), "{e}");
    let (s, e) = send(
        &app,
        &jumin,
        "POST",
        &path,
        Some(sheet(0, &[], 0, "")),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("from 1 to 5"), "{e}");
    // An option that does not exist, two options on a single choice, a required one left out.
    let (s, e) = post(&app, &jumin, &path, sheet(7, &[], 3, "")).await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = post(
        &app,
        &jumin,
        &path,
        json!({"answers": [{"question": 0, "choices": [0, 1]}, {"question": 2, "value": 3}]}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("只能选一个"), "{e}");
    let (s, e) = post(
        &app,
        &jumin,
        &path,
        json!({"answers": [{"question": 2, "value": 3}]}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("必答题"), "{e}");
    // Nothing of those was kept: she may still answer — after the survey closed, she may not.
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/surveys/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = post(&app, &jumin, &path, sheet(0, &[], 3, "")).await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("问卷已结束"), "{e}");
    let (s, e) = send(
        &app,
        &jumin,
        "POST",
        &path,
        Some(sheet(0, &[], 3, "")),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("closed"), "{e}");
    let (s, e) = post(
        &app,
        &shegong,
        &format!("/api/v1/surveys/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    // The answer form on the page shows the refusal in words too.
    let (browser, _) = app.login_page("jumin", support::PASSWORD).await;
    let page = app.page(&browser, &format!("/surveys/{id}")).await;
    assert!(page.contains("id=\"survey-closed\""), "closed: no form");
    app.stop().await;
}

#[tokio::test]
async fn a_satisfaction_survey_feeds_the_case_figures() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let jumin = app.token("jumin").await;
    let community = place_id(&app, support::place_of(&app, "shegong").await).await;

    // One click: the template as a draft, then published.
    let (s, v) = post(
        &app,
        &shegong,
        "/api/v1/surveys/satisfaction",
        json!({"community": community}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["kind"], "satisfaction");
    assert_eq!(v["state"], "draft");
    assert_eq!(v["anonymous"], true);
    assert_eq!(v["questions"][0]["kind"], "scale");
    assert_eq!(v["questions"][1]["kind"], "scale");
    // A draft is not put to anyone yet.
    let (s, _) = get(&app, &jumin, &format!("/api/v1/surveys/{id}")).await;
    assert_eq!(s, 404);
    let (s, v) = post(
        &app,
        &shegong,
        &format!("/api/v1/surveys/{id}/publish"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, e) = post(&app, &jumin, &format!("/api/v1/surveys/{id}/answers"), json!({"answers": [
        {"question": 0, "value": 5}, {"question": 1, "value": 3}, {"question": 3, "text": "夜间照明"}
    ]}))
    .await;
    assert_eq!(s, 204, "{e}");

    let (s, f) = get(&app, &shegong, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{f}");
    let href = format!("/surveys/{id}/results");
    let ours = f["outside"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["href"] == href.as_str())
        .unwrap_or_else(|| panic!("the survey among the figures: {f}"));
    assert_eq!(ours["average"], 4.0, "(5 + 3) / 2");
    assert_eq!(ours["ratings"], 2);
    assert!(ours["source"].as_str().unwrap().contains("满意度"));
    let (browser, _) = app.login_page("shegong", support::PASSWORD).await;
    let page = app.page(&browser, "/cases/figures").await;
    assert!(
        page.contains("id=\"outside-ratings\""),
        "beside the case ratings"
    );
    assert!(page.contains(&href));
    app.stop().await;
}

#[tokio::test]
async fn the_demo_street_has_an_open_satisfaction_survey_and_a_closed_anonymous_one() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let shegong = app.token("shegong").await;
    let (s, list) = get(&app, &jumin, "/api/v1/surveys").await;
    assert_eq!(s, 200);
    let list = list.as_array().unwrap();
    assert!(
        list.iter().any(|r| r["survey"]["kind"] == "satisfaction"
            && r["open"] == true
            && r["answered"] == false),
        "{list:?}"
    );
    let closed = list
        .iter()
        .find(|r| r["survey"]["state"] == "closed")
        .expect("a closed survey");
    assert_eq!(closed["survey"]["anonymous"], true);
    let id = closed["survey"]["id"].as_i64().unwrap();
    let (s, r) = get(&app, &shegong, &format!("/api/v1/surveys/{id}/results")).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["responses"].as_i64().unwrap() > 0);
    let total: i64 = r["questions"][0]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["n"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total,
        r["responses"].as_i64().unwrap(),
        "a required single choice: one per sheet"
    );
    // The managers' list, the new form and the editor of a draft open.
    let (browser, _) = app.login_page("shegong", support::PASSWORD).await;
    let page = app.page(&browser, "/surveys").await;
    assert!(page.contains("id=\"surveys-managed\""));
    assert!(page.contains("id=\"satisfaction-form\""));
    let page = app.page(&browser, "/surveys/new").await;
    assert!(page.contains("id=\"survey-form\""));
    app.stop().await;
}
