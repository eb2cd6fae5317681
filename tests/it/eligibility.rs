//! Policy finds the person (issue 23 part 6): a rule over the registry's attributes, previewed
//! (a count per community equal to the records', a masked sample, audited), switched on (one
//! to-do per person found, never twice), versioned on every change, its to-dos read and closed
//! within the worker's places only, conditions refused with where they went wrong, a resident
//! told when the rule says so; and who may do what (403 for other roles, 404 for another
//! street's rule or a to-do outside her places).

use chrono::Datelike;
use serde_json::{Value, json};

use crate::support::{self, TestApp};

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
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
    send(app, token, reqwest::Method::POST, path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, reqwest::Method::GET, path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The admin's street.
async fn street(app: &TestApp) -> i64 {
    app.db
        .read(|c| c.query_i64("SELECT street_id FROM users WHERE username = 'admin'", &[]))
        .await
        .unwrap()
}

/// Persons of the street aged at least `age` today and not gone, counted from the records
/// with a date computed here (not by linli's criteria).
async fn aged_at_least(app: &TestApp, street: i64, age: i32, under: Option<String>) -> i64 {
    let today = linli::kernel::time::today();
    let born_by = chrono::NaiveDate::from_ymd_opt(today.year() - age, today.month(), today.day())
        .unwrap_or_else(|| {
            chrono::NaiveDate::from_ymd_opt(today.year() - age, today.month(), 28).unwrap()
        })
        .to_string();
    let under = under.unwrap_or_default();
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM persons WHERE street_id = $1 AND residence <> 'left' \
                 AND birth_date <= $2 AND (place_path = $3 OR place_path LIKE $4 OR $3 = '')",
                linli::params![street, born_by, under.clone(), format!("{under}/%")],
            )
        })
        .await
        .unwrap()
}

async fn grid_of(app: &TestApp, user: &'static str) -> String {
    app.db
        .read(move |c| {
            c.query_one(
                "SELECT p.path FROM user_roles r JOIN users u ON u.id = r.user_id \
                 JOIN places p ON p.id = r.place_id WHERE u.username = $1 LIMIT 1",
                linli::params![user],
            )
        })
        .await
        .unwrap()
        .str(0)
}

#[tokio::test]
async fn a_rule_is_previewed_switched_on_versioned_and_its_todos_closed_in_scope() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let street = street(&app).await;

    let (s, rule) = post(
        &app,
        &admin,
        "/api/v1/eligibility/rules",
        json!({"name": "七十五岁体检", "benefit": "75 周岁以上免费体检", "condition": "年龄 >= 75"}),
    )
    .await;
    assert_eq!(s, 201, "{rule}");
    assert_eq!(rule["state"], "draft");
    assert_eq!(rule["version"], 1);
    let id = rule["id"].as_i64().unwrap();

    // The preview counts what the records hold, per community, with a masked sample.
    let expected = aged_at_least(&app, street, 75, None).await;
    assert!(
        expected > 0,
        "the demo street has residents aged 75 and over"
    );
    let (s, p) = post(
        &app,
        &admin,
        "/api/v1/eligibility/preview",
        json!({"condition": "age >= 75"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["total"].as_i64(), Some(expected));
    let per: i64 = p["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(per, expected, "the communities add up to the total");
    assert!(
        p["communities"][0]["name"]
            .as_str()
            .unwrap()
            .contains("社区")
    );
    let sample = p["sample"].as_array().unwrap();
    assert_eq!(sample.len() as i64, expected.min(10));
    for x in sample {
        assert!(x["name_masked"].as_str().unwrap().ends_with('*'), "{x}");
    }
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list", "{e}");
    assert_eq!(
        e["subjects"].as_array().map(|s| s.len()),
        Some(sample.len()),
        "the sample's persons are the look's subjects: {e}"
    );

    // Switched on: one to-do per person found; again is refused; the hourly run adds none.
    let (s, sw) = post(
        &app,
        &admin,
        &format!("/api/v1/eligibility/rules/{id}/state"),
        json!({"state": "on"}),
    )
    .await;
    assert_eq!(s, 200, "{sw}");
    assert_eq!(sw["added"].as_i64(), Some(expected));
    assert_eq!(sw["rule"]["open"].as_i64(), Some(expected));
    let (s, again) = post(
        &app,
        &admin,
        &format!("/api/v1/eligibility/rules/{id}/state"),
        json!({"state": "on"}),
    )
    .await;
    assert_eq!(s, 409, "{again}");
    assert!(message(&again).contains("已经启用"));
    assert_eq!(
        linli::eligibility::service::run(&app.state, id)
            .await
            .unwrap(),
        0,
        "a person is found once per rule"
    );

    // A change is a new version; the old ones are kept.
    let (s, changed) = send(
        &app,
        &admin,
        reqwest::Method::PUT,
        &format!("/api/v1/eligibility/rules/{id}"),
        Some(json!({"name": "七十五岁体检", "benefit": "75 周岁以上免费体检（含眼科）", "condition": "年龄 >= 75"})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200, "{changed}");
    let (s, view) = get(&app, &admin, &format!("/api/v1/eligibility/rules/{id}")).await;
    assert_eq!(s, 200);
    let versions: Vec<i64> = view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![3, 2, 1]);
    assert_eq!(view["versions"][2]["benefit"], "75 周岁以上免费体检");
    assert_eq!(view["versions"][1]["state"], "on");

    // The grid worker sees the to-dos of her grid only, and the list is audited.
    let grid = grid_of(&app, "wangge").await;
    let wangge = app.token("wangge").await;
    let (s, list) = get(
        &app,
        &wangge,
        &format!("/api/v1/eligibility/todos?rule={id}&state=open"),
    )
    .await;
    assert_eq!(s, 200, "{list}");
    let mine = aged_at_least(&app, street, 75, Some(grid.clone())).await;
    assert_eq!(list["total"].as_i64(), Some(mine));
    assert!(mine > 0, "her grid has residents aged 75 and over");
    let todos = list["todos"].as_array().unwrap().clone();
    if let Some(first) = todos.first() {
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], "list", "{e}");
        let tid = first["id"].as_i64().unwrap();
        let (s, bad) = post(
            &app,
            &wangge,
            &format!("/api/v1/eligibility/todos/{tid}/close"),
            json!({"outcome": "maybe"}),
        )
        .await;
        assert_eq!(s, 422);
        assert!(message(&bad).contains("请选择结果"), "{bad}");
        let (s, closed) = post(
            &app,
            &wangge,
            &format!("/api/v1/eligibility/todos/{tid}/close"),
            json!({"outcome": "applied", "note": "已帮助递交申请"}),
        )
        .await;
        assert_eq!(s, 200, "{closed}");
        assert_eq!(closed["state"], "applied");
        assert_eq!(closed["closed_by_name"], "李敏");
        let e = app.last_audit_entry().await;
        assert_eq!(e["action"], "change");
        assert_eq!(
            e["subjects"][0],
            format!("person:{}", first["person_id"].as_i64().unwrap())
        );
        let (s, _) = post(
            &app,
            &wangge,
            &format!("/api/v1/eligibility/todos/{tid}/close"),
            json!({"outcome": "declined"}),
        )
        .await;
        assert_eq!(s, 409, "an outcome is recorded once");
    }
    // A to-do outside her grid is not found for her.
    let grid2 = grid.clone();
    let outside: Option<i64> = app
        .db
        .read(move |c| {
            Ok(c.query_opt(
                "SELECT id FROM elig_todos WHERE rule_id = $1 AND place_path NOT LIKE $2 LIMIT 1",
                linli::params![id, format!("{grid2}/%")],
            )?
            .map(|r| r.i64(0)))
        })
        .await
        .unwrap();
    assert!(outside.is_some(), "the street has to-dos outside her grid");
    if let Some(o) = outside {
        let (s, _) = post(
            &app,
            &wangge,
            &format!("/api/v1/eligibility/todos/{o}/close"),
            json!({"outcome": "applied"}),
        )
        .await;
        assert_eq!(s, 404);
    }

    // Other roles: a community worker reads but does not write rules; a department, a
    // property company, a volunteer and a resident neither.
    let shegong = app.token("shegong").await;
    assert_eq!(
        get(&app, &shegong, "/api/v1/eligibility/rules").await.0,
        200
    );
    let (s, _) = post(
        &app,
        &shegong,
        "/api/v1/eligibility/rules",
        json!({"name": "x", "benefit": "y", "condition": "age >= 1"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/eligibility/rules/{id}/state"),
        json!({"state": "off"}),
    )
    .await;
    assert_eq!(s, 403);
    for who in ["bumen", "wuye", "zhiyuan", "jumin"] {
        let t = app.token(who).await;
        assert_eq!(
            get(&app, &t, "/api/v1/eligibility/rules").await.0,
            403,
            "{who}"
        );
        assert_eq!(
            get(&app, &t, "/api/v1/eligibility/todos").await.0,
            403,
            "{who}"
        );
        let (s, _) = post(
            &app,
            &t,
            "/api/v1/eligibility/preview",
            json!({"condition": "age >= 1"}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }

    // Another street's rule is not found.
    let other = app
        .db
        .write(|c| {
            let d = c.query_one(
                "SELECT id, path FROM places WHERE kind = 'district' ORDER BY id LIMIT 1",
                &[],
            )?;
            let s = c.query_i64(
                "INSERT INTO places (parent_id, kind, code, name, path, depth, created_at) \
                 VALUES ($1, 'street', 'elig-other', '另一街道', $2, 1, 0) RETURNING id",
                linli::params![d.i64(0), format!("{}/elig-other", d.str(1))],
            )?;
            c.query_i64(
                "INSERT INTO elig_rules (street_id, name, benefit, condition, created_at, updated_at) \
                 VALUES ($1, '别街规则', '别街', '年龄 >= 1', 0, 0) RETURNING id",
                linli::params![s],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        get(&app, &admin, &format!("/api/v1/eligibility/rules/{other}"))
            .await
            .0,
        404
    );
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/eligibility/rules/{other}/state"),
        json!({"state": "on"}),
    )
    .await;
    assert_eq!(s, 404);
    app.stop().await;
}

#[tokio::test]
async fn conditions_that_cannot_be_parsed_are_refused_with_where_in_both_languages() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let cases = [
        (
            "age >= 80 or tag = disabled",
            "第 11 个字符",
            "character 11",
        ),
        ("年龄 >= 80 且 标签 = 外星人", "外星人", "外星人"),
        ("age >> 80", "第 6 个字符", "character 6"),
        ("age >= 80 and age < 60", "不可能", "contradict"),
        ("", "请填写条件", "Write a condition"),
    ];
    for (cond, zh, en) in cases {
        for (lang, want) in [("zh-CN", zh), ("en", en)] {
            let (s, v) = send(
                &app,
                &admin,
                reqwest::Method::POST,
                "/api/v1/eligibility/rules",
                Some(json!({"name": "坏规则", "benefit": "无", "condition": cond})),
                lang,
            )
            .await;
            assert_eq!(s, 422, "{cond}: {v}");
            let m = message(&v);
            assert!(m.contains(want), "{cond} in {lang}: {m}");
            assert!(!m.contains(" / "), "one language only: {m}");
        }
    }
    // The same name twice is refused; a missing name too.
    let body = json!({"name": "重名", "benefit": "x", "condition": "age >= 90"});
    assert_eq!(
        post(&app, &admin, "/api/v1/eligibility/rules", body.clone())
            .await
            .0,
        201
    );
    let (s, v) = post(&app, &admin, "/api/v1/eligibility/rules", body).await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/eligibility/rules",
        json!({"name": " ", "benefit": "x", "condition": "age >= 90"}),
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("规则名称"), "{v}");
    // Telling the resident needs the words she is told.
    let (s, v) = post(
        &app,
        &admin,
        "/api/v1/eligibility/rules",
        json!({"name": "提示", "benefit": "x", "condition": "age >= 90", "tell_resident": true}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn a_resident_a_rule_finds_is_told_on_her_home_page_and_the_pages_walk() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    // A rule that finds the demo resident: her sex, any age.
    let sex = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT p.sex FROM persons p JOIN users u ON u.person_id = p.id WHERE u.username = 'jumin'",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let (s, rule) = post(
        &app,
        &admin,
        "/api/v1/eligibility/rules",
        json!({"name": "家庭医生签约", "benefit": "家庭医生签约服务", "condition": format!("sex = {sex} and age >= 0"),
               "tell_resident": true, "resident_text": "您可以免费签约家庭医生，请到社区卫生服务中心办理。"}),
    )
    .await;
    assert_eq!(s, 201, "{rule}");
    let id = rule["id"].as_i64().unwrap();

    // The page refuses to switch on before the preview was seen; after, it does.
    let (b, _) = app.login_page("admin", support::PASSWORD).await;
    let page = app.page(&b, &format!("/eligibility/rules/{id}")).await;
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/eligibility/rules/{id}/state")))
        .form(&[("csrf", csrf.as_str()), ("to", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("预览"));
    let page = app
        .page(&b, &format!("/eligibility/rules/{id}?preview=1"))
        .await;
    assert!(page.contains("id=\"preview-total\""), "{page}");
    assert!(page.contains("id=\"rule-on\""));
    let r = b
        .post(app.url(&format!("/eligibility/rules/{id}/state")))
        .form(&[("csrf", csrf.as_str()), ("to", "on"), ("previewed", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app
        .page(&b, r.headers()["location"].to_str().unwrap())
        .await;
    assert!(page.contains("id=\"rule-added\""), "{page}");
    for path in ["/eligibility", "/eligibility/rules", "/"] {
        let page = app
            .page(&b, path)
            .await
            .replace("/static/eligibility.css", "");
        assert!(!page.contains("eligibility."), "no raw keys on {path}");
    }

    // The resident reads it on her home page; the pages of workers are not hers.
    let (r, _) = app.login_page("jumin", support::PASSWORD).await;
    let home = app.page(&r, "/").await;
    assert!(home.contains("您可以免费签约家庭医生"), "{home}");
    let res = r.get(app.url("/eligibility")).send().await.unwrap();
    assert_eq!(res.status(), 403);

    // The grid worker's home card counts her open to-dos; her list page shows them masked.
    let (w, _) = app.login_page("wangge", support::PASSWORD).await;
    let home = app.page(&w, "/").await;
    assert!(home.contains("id=\"home-eligibility-link\""), "{home}");
    let list = app.page(&w, &format!("/eligibility?rule={id}")).await;
    assert!(list.contains("id=\"todos\""), "{list}");
    assert!(list.contains("**"));
    app.stop().await;
}
