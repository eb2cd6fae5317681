//! Call-ups (issue 23 part 5): a call reaches the volunteers of its community, grid or
//! building with one of its skills, frozen when sent (a volunteer added later never gets it),
//! each told through reach's outbox; answers change until the call closes; the organiser sees
//! who is coming and reveals a phone only with a purpose, audited; other places 404, other
//! roles 403.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};
use crate::visits::{get, message, post, send};

/// The demo volunteers' community, its two first buildings (the second volunteers cover the
/// first), and another community of the street.
async fn places(app: &TestApp) -> (i64, i64, i64, i64) {
    let community = support::place_of(app, "zhiyuan").await;
    let c = community.clone();
    app.db
        .read(move |conn| {
            let bs: Vec<i64> = conn
                .query(
                    "SELECT id FROM places WHERE kind = 'building' AND path LIKE $1 ORDER BY path LIMIT 2",
                    linli::params![format!("{c}/%")],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            let id = conn.query_i64(
                "SELECT id FROM places WHERE path = $1",
                linli::params![c.clone()],
            )?;
            let other = conn.query_i64(
                "SELECT id FROM places WHERE kind = 'community' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![c],
            )?;
            Ok((id, bs[0], bs[1], other))
        })
        .await
        .unwrap()
}

/// Makes an account holding `role` at a place (of the demo street) and signs it in.
async fn account(app: &TestApp, name: &str, role: linli::org::Role, place: i64) -> (i64, String) {
    let n = name.to_string();
    let id = app
        .db
        .write(move |c| {
            let street = c.query_i64(
                "SELECT COALESCE(street_id, id) FROM places WHERE id = $1",
                linli::params![place],
            )?;
            let username = linli::org::users::Username::parse(&n).unwrap();
            let hash = linli::org::users::hash_password(PASSWORD);
            let id = linli::org::users::create(
                c,
                linli::org::users::NewUser {
                    username: &username,
                    display_name: &n,
                    password_hash: &hash,
                    street_id: Some(street),
                    person_id: None,
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(c, id, role, Some(place), None, Some(street), None)?;
            Ok(id)
        })
        .await
        .unwrap();
    (id, app.token(name).await)
}

async fn user_id(app: &TestApp, name: &'static str) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT id FROM users WHERE username = $1",
                linli::params![name],
            )
        })
        .await
        .unwrap()
}

fn call(title: &str, audience: i64, place: i64, skills: &[&str]) -> Value {
    let when = (chrono::Utc::now() + chrono::Duration::days(1))
        .with_timezone(&linli::kernel::time::zone())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    json!({"title": title, "needs": "帮忙搬运饮用水上楼", "starts_at": when, "place_id": place,
           "where_note": "东门集合", "audience_id": audience, "skills": skills, "wanted": 3,
           "urgency": "urgent"})
}

/// The accounts a call was sent to, by its reach outbox rows (one message per recipient).
async fn told(app: &TestApp, id: i64) -> Vec<String> {
    let mut v: Vec<String> = app
        .db
        .read(move |c| {
            c.query(
                "SELECT idem FROM reach_messages WHERE source = $1 ORDER BY idem",
                linli::params![format!("callup:{id}")],
            )
        })
        .await
        .unwrap()
        .iter()
        .map(|r| r.str(0))
        .collect();
    v.sort();
    v
}

fn idems(id: i64, users: &[i64]) -> Vec<String> {
    let mut v: Vec<String> = users
        .iter()
        .map(|u| format!("callup:{id}:user:{u}"))
        .collect();
    v.sort();
    v
}

async fn has_call(app: &TestApp, token: &str, id: i64) -> bool {
    let (s, list) = get(app, token, "/api/v1/callups").await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .any(|i| i["call"]["id"] == id)
}

#[tokio::test]
async fn a_call_reaches_volunteers_by_skill_and_building_frozen_when_sent() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let (community, b1, b2, _) = places(&app).await;
    let zhiyuan = user_id(&app, "zhiyuan").await;
    let zhiyuan2 = user_id(&app, "zhiyuan2").await;
    let (va, va_t) = account(&app, "vol_a", linli::org::Role::Volunteer, community).await;
    // She says what she can do and where she goes, herself.
    let (s, p) = send(
        &app,
        &va_t,
        "PUT",
        "/api/v1/callups/profile",
        Some(json!({"skills": ["medical"], "buildings": [b2], "phone": "13800005555"})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["phone_masked"], "138****5555");
    assert_eq!(p["buildings"][0]["id"], b2);
    let (s, e) = send(
        &app,
        &va_t,
        "PUT",
        "/api/v1/callups/profile",
        Some(json!({"skills": ["flying"]})),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("skills from the list"), "{e}");

    // Skills: the community's volunteers with medical skills, nobody else.
    let (s, k) = post(
        &app,
        &shegong,
        "/api/v1/callups",
        call("义诊帮手", community, b1, &["medical"]),
    )
    .await;
    assert_eq!(s, 201, "{k}");
    let first = k["id"].as_i64().unwrap();
    assert_eq!(told(&app, first).await, idems(first, &[zhiyuan2, va]));
    assert!(has_call(&app, &va_t, first).await);
    let zt = app.token("zhiyuan").await;
    assert!(!has_call(&app, &zt, first).await, "no medical skill");

    // A building: those who cover it, and those who cover no building in particular.
    let (s, k) = post(
        &app,
        &shegong,
        "/api/v1/callups",
        call("楼道清理", b2, b2, &[]),
    )
    .await;
    assert_eq!(s, 201, "{k}");
    let second = k["id"].as_i64().unwrap();
    assert_eq!(told(&app, second).await, idems(second, &[zhiyuan, va]));
    let z2 = app.token("zhiyuan2").await;
    assert!(
        !has_call(&app, &z2, second).await,
        "covers another building"
    );

    // Frozen: a medical volunteer who joins afterwards does not receive the first call.
    let (_, late_t) = account(&app, "vol_late", linli::org::Role::Volunteer, community).await;
    let (s, _) = send(
        &app,
        &late_t,
        "PUT",
        "/api/v1/callups/profile",
        Some(json!({"skills": ["medical"]})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    assert!(!has_call(&app, &late_t, first).await);
    assert_eq!(
        get(&app, &late_t, &format!("/api/v1/callups/{first}"))
            .await
            .0,
        404
    );
    let (s, _) = post(
        &app,
        &late_t,
        &format!("/api/v1/callups/{first}/answer"),
        json!({"answer": "coming"}),
    )
    .await;
    assert_eq!(s, 404);
    assert_eq!(told(&app, first).await.len(), 2);

    // Nobody with the skills there: refused, nothing sent; bad input in both languages.
    let (s, e) = send(
        &app,
        &shegong,
        "POST",
        "/api/v1/callups",
        Some(call("翻译", b1, b1, &["translation"])),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("没有具备所选技能"), "{e}");
    let mut bad = call("", community, b1, &[]);
    let (s, e) = send(
        &app,
        &shegong,
        "POST",
        "/api/v1/callups",
        Some(bad.clone()),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("title"), "{e}");
    bad["title"] = json!("x");
    bad["starts_at"] = json!("明天上午");
    let (s, e) = send(
        &app,
        &shegong,
        "POST",
        "/api/v1/callups",
        Some(bad),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("时间格式"), "{e}");
    let n = app.query_i64("SELECT COUNT(*) FROM callups").await;
    assert_eq!(n, 3, "the demo's call and the two sent");
    app.stop().await;
}

#[tokio::test]
async fn answers_change_until_closed_and_phones_are_revealed_with_a_purpose() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let (community, b1, _, _) = places(&app).await;
    let z2 = user_id(&app, "zhiyuan2").await;
    let z3 = user_id(&app, "zhiyuan3").await;
    let (s, k) = post(
        &app,
        &shegong,
        "/api/v1/callups",
        call("停电值守", community, b1, &["medical", "electrician"]),
    )
    .await;
    assert_eq!(s, 201, "{k}");
    let id = k["id"].as_i64().unwrap();
    let t2 = app.token("zhiyuan2").await;
    let t3 = app.token("zhiyuan3").await;
    let answer = |t: String, a: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                &t,
                &format!("/api/v1/callups/{id}/answer"),
                json!({"answer": a, "note": "晚点到"}),
            )
            .await
            .0
        }
    };
    assert_eq!(answer(t2.clone(), "coming").await, 204);
    assert_eq!(answer(t3.clone(), "not_available").await, 204);
    assert_eq!(answer(t3.clone(), "coming").await, 204, "changed her mind");
    assert_eq!(answer(t3.clone(), "maybe").await, 422);
    let (_, mine) = get(&app, &t3, &format!("/api/v1/callups/{id}")).await;
    assert_eq!(mine["item"]["answer"], "coming");
    assert_eq!(mine["organiser"], false);
    assert!(mine["answers"].as_array().unwrap().is_empty());

    // The organiser: counts, who is coming, phones masked; the look audited with them.
    let (s, d) = get(&app, &shegong, &format!("/api/v1/callups/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["item"]["counts"]["coming"], 2);
    assert_eq!(d["item"]["counts"]["not_available"], 0);
    assert_eq!(d["item"]["counts"]["no_answer"], 0);
    assert_eq!(d["item"]["counts"]["wanted"], 3);
    let names: Vec<&str> = d["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"王丽华") && names.contains(&"赵强"), "{d}");
    assert!(d.to_string().contains("139****2222"));
    assert!(!d.to_string().contains("13900002222"));
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| *s == format!("user:{z2}"))
    );

    // A phone only with a purpose; audited as a reveal, the number not in the log.
    let path = format!("/api/v1/callups/{id}/recipients/{z2}/reveal");
    let (s, _) = post(&app, &shegong, &path, json!({"purpose": "other"})).await;
    assert_eq!(s, 422);
    let (s, _) = post(&app, &t3, &path, json!({"purpose": "emergency"})).await;
    assert_eq!(s, 403, "a recipient does not reveal others");
    let (s, r) = post(
        &app,
        &shegong,
        &path,
        json!({"purpose": "emergency", "note": "联系到岗"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["phone"], "13900002222");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "reveal");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| *s == format!("user:{z2}"))
    );
    assert!(!e.to_string().contains("13900002222"));
    let jumin = user_id(&app, "jumin").await;
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/callups/{id}/recipients/{jumin}/reveal"),
        json!({"purpose": "emergency"}),
    )
    .await;
    assert_eq!(s, 404, "not a recipient");

    // Closing: only the organiser, with a reason; afterwards no answer is taken.
    let close = format!("/api/v1/callups/{id}/close");
    let (s, _) = post(
        &app,
        &t2,
        &close,
        json!({"outcome": "filled", "reason": "够了"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &shegong,
        &close,
        json!({"outcome": "filled", "reason": ""}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, c) = post(
        &app,
        &shegong,
        &close,
        json!({"outcome": "filled", "reason": "人已够"}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["state"], "filled");
    let (s, e) = send(
        &app,
        &t3,
        "POST",
        &format!("/api/v1/callups/{id}/answer"),
        Some(json!({"answer": "not_available"})),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("closed"), "{e}");
    let (s, _) = post(
        &app,
        &shegong,
        &close,
        json!({"outcome": "cancelled", "reason": "再关"}),
    )
    .await;
    assert_eq!(s, 409);
    let (_, d) = get(&app, &shegong, &format!("/api/v1/callups/{id}")).await;
    assert_eq!(
        d["item"]["counts"]["coming"], 2,
        "answers kept as they were"
    );
    let _ = z3;
    app.stop().await;
}

#[tokio::test]
async fn other_places_get_404_and_other_roles_403() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let (community, b1, _, other) = places(&app).await;
    let (s, k) = post(
        &app,
        &shegong,
        "/api/v1/callups",
        call("搬运", community, b1, &[]),
    )
    .await;
    assert_eq!(s, 201, "{k}");
    let id = k["id"].as_i64().unwrap();
    let z2 = user_id(&app, "zhiyuan2").await;
    // Another community's worker: not found, and she cannot send to this community.
    let (_, t) = account(&app, "shegong_b", linli::org::Role::CommunityWorker, other).await;
    assert!(!has_call(&app, &t, id).await);
    assert_eq!(get(&app, &t, &format!("/api/v1/callups/{id}")).await.0, 404);
    for (path, body) in [
        (
            format!("/api/v1/callups/{id}/close"),
            json!({"outcome": "cancelled", "reason": "x"}),
        ),
        (
            format!("/api/v1/callups/{id}/recipients/{z2}/reveal"),
            json!({"purpose": "emergency"}),
        ),
    ] {
        assert_eq!(post(&app, &t, &path, body).await.0, 404, "{path}");
    }
    let (s, _) = post(
        &app,
        &t,
        "/api/v1/callups",
        call("越界", community, b1, &[]),
    )
    .await;
    assert_eq!(s, 422);
    // The grid worker organises within her grid only: a community's call is not hers.
    let wangge = app.token("wangge").await;
    assert_eq!(
        get(&app, &wangge, &format!("/api/v1/callups/{id}")).await.0,
        404
    );
    // A resident and a department: 403 everywhere.
    for who in ["jumin", "bumen"] {
        let t = app.token(who).await;
        for path in [
            "/api/v1/callups".to_string(),
            format!("/api/v1/callups/{id}"),
            "/api/v1/callups/profile".into(),
            "/api/v1/callups/volunteers".into(),
        ] {
            assert_eq!(get(&app, &t, &path).await.0, 403, "{who} {path}");
        }
        let (s, _) = post(&app, &t, "/api/v1/callups", call("x", community, b1, &[])).await;
        assert_eq!(s, 403, "{who}");
        let (s, _) = post(
            &app,
            &t,
            &format!("/api/v1/callups/{id}/answer"),
            json!({"answer": "coming"}),
        )
        .await;
        assert_eq!(s, 403, "{who}");
    }
    // A volunteer does not send calls nor list volunteers.
    let zt = app.token("zhiyuan").await;
    let (s, _) = post(&app, &zt, "/api/v1/callups", call("x", community, b1, &[])).await;
    assert_eq!(s, 403);
    assert_eq!(get(&app, &zt, "/api/v1/callups/volunteers").await.0, 403);
    // The community worker sees her volunteers' skills, audited.
    let (s, list) = get(&app, &shegong, "/api/v1/callups/volunteers").await;
    assert_eq!(s, 200);
    let z = list
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["user_id"] == z2)
        .expect("zhiyuan2 listed")
        .clone();
    assert_eq!(z["skills"], json!(["medical", "companion"]));
    assert_eq!(z["phone_masked"], "139****2222");
    assert_eq!(app.last_audit_entry().await["action"], "list");
    let (_, list) = get(&app, &t, "/api/v1/callups/volunteers").await;
    assert!(!list.as_array().unwrap().iter().any(|v| v["user_id"] == z2));
    app.stop().await;
}

#[tokio::test]
async fn a_volunteer_answers_from_her_home_card_and_the_organiser_reveals_on_the_page() {
    let app = support::spawn().await;
    // The demo's open call waits on the demo volunteer's home page, with one-tap answers.
    let (b, _) = app.login_page("zhiyuan", PASSWORD).await;
    let home = app.page(&b, "/").await;
    assert!(home.contains("待回复的召集"), "{home}");
    assert!(home.contains("停电送水上楼"));
    let id = app
        .query_i64("SELECT id FROM callups WHERE title = '停电送水上楼'")
        .await;
    let csrf = support::extract_input(&home, "csrf").expect("csrf");
    let r = b
        .post(app.url(&format!("/callups/{id}/answer")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("answer", "coming"),
            ("back", "home"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let home = app.page(&b, "/").await;
    assert!(!home.contains("停电送水上楼"), "answered: off the card");
    let page = app.page(&b, &format!("/callups/{id}")).await;
    assert!(page.contains("answer-not-available"), "she may change it");
    let profile = app.page(&b, "/callups/profile").await;
    assert!(
        profile.contains("搬运") && profile.contains("139****1111"),
        "{profile}"
    );

    // The organiser's page: who is coming, her phone masked, revealed with a purpose.
    let (w, _) = app.login_page("shegong", PASSWORD).await;
    let page = app.page(&w, &format!("/callups/{id}")).await;
    assert!(page.contains("139****1111"), "{page}");
    assert!(!page.contains("13900001111"));
    let zhiyuan = user_id(&app, "zhiyuan").await;
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let reveals = "SELECT COUNT(*) FROM audit_entries WHERE action = 'reveal'";
    let before = app.query_i64(reveals).await;
    let r = w
        .post(app.url(&format!("/callups/{id}/recipients/{zhiyuan}/reveal")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("purpose", "emergency"),
            ("note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("tel:13900001111"), "{page}");
    assert_eq!(
        app.query_i64(reveals).await,
        before + 1,
        "the reveal is logged"
    );
    for path in ["/callups", "/callups/volunteers"] {
        let p = app.page(&w, path).await;
        assert!(p.contains("停电送水上楼") || p.contains("王丽华"), "{path}");
    }
    app.stop().await;
}

/// The next `weekday` (after today) at `hour`, in the street's time, as a call is typed.
fn next(weekday: chrono::Weekday, hour: u32) -> String {
    use chrono::Datelike;
    let mut d = linli::kernel::time::today() + chrono::Duration::days(1);
    while d.weekday() != weekday {
        d += chrono::Duration::days(1);
    }
    format!("{} {hour:02}:00", d.format("%Y-%m-%d"))
}

async fn an_organisation(app: &TestApp, place: i64) -> i64 {
    app.db
        .read(move |c| {
            c.query_i64(
                "SELECT o.id FROM organisations o JOIN places p ON p.id = $1 \
                 WHERE o.street_id = COALESCE(p.street_id, p.id) ORDER BY o.id LIMIT 1",
                linli::params![place],
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_volunteer_says_who_she_is_and_when_she_is_free_and_organisers_find_her_by_it() {
    let app = support::spawn().await;
    let shegong = app.token("shegong").await;
    let (community, b1, _, _) = places(&app).await;
    let (va, va_t) = account(&app, "vol_party", linli::org::Role::Volunteer, community).await;
    let (vb, vb_t) = account(&app, "vol_unit", linli::org::Role::Volunteer, community).await;
    let zhiyuan = user_id(&app, "zhiyuan").await;
    let put = |token: String, body: Value, lang: &'static str| {
        let app = &app;
        async move {
            send(
                app,
                &token,
                "PUT",
                "/api/v1/callups/profile",
                Some(body),
                lang,
            )
            .await
        }
    };
    let (s, _) = put(va_t.clone(), json!({"skills": ["medical"]}), "zh-CN").await;
    assert_eq!(s, 200);

    // Refused with a reason in both languages, and nothing of it written.
    for (body, zh, en) in [
        (
            json!({"skills": ["driving"], "affiliation": "party_member", "party_registered_on": "2026-03-05"}),
            "工作单位",
            "employer",
        ),
        (
            json!({"skills": ["driving"], "affiliation": "party_member", "party_org": "区财政局机关党支部",
                   "party_registered_on": "2099-01-01"}),
            "不能晚于今天",
            "after today",
        ),
        (
            json!({"skills": ["driving"], "affiliation": "unit_staff"}),
            "驻区单位",
            "organisations registered in the street",
        ),
        (
            json!({"skills": ["driving"], "affiliation": "unit_staff", "unit_org_id": 999_999}),
            "驻区单位",
            "organisations registered in the street",
        ),
        (
            json!({"skills": ["driving"], "affiliation": "mayor"}),
            "身份",
            "Affiliation",
        ),
        (
            json!({"skills": ["driving"], "availability": ["mon_noon"]}),
            "上午",
            "morning",
        ),
    ] {
        let (s, e) = put(va_t.clone(), body.clone(), "zh-CN").await;
        assert_eq!(s, 422, "{body} {e}");
        assert!(message(&e).contains(zh), "{body} {e}");
        let (s, e) = put(va_t.clone(), body.clone(), "en").await;
        assert_eq!(s, 422);
        assert!(message(&e).contains(en), "{body} {e}");
    }
    let (_, p) = get(&app, &va_t, "/api/v1/callups/profile").await;
    assert_eq!(p["skills"], json!(["medical"]), "nothing half-written: {p}");
    assert_eq!(p["affiliation"], "resident");

    let (s, p) = put(
        va_t.clone(),
        json!({"skills": ["medical"], "affiliation": "party_member", "party_org": "区财政局机关党支部",
               "party_registered_on": "2026-03-05", "availability": ["sat_morning", "mon_evening", "sat_morning"],
               "availability_note": "单周周末不行"}),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["affiliation"], "party_member");
    assert_eq!(p["party_org"], "区财政局机关党支部");
    assert_eq!(p["availability"], json!(["mon_evening", "sat_morning"]));
    // Absent keeps what she said.
    let (_, p) = put(
        va_t.clone(),
        json!({"skills": ["medical", "driving"]}),
        "zh-CN",
    )
    .await;
    assert_eq!(p["affiliation"], "party_member");
    assert_eq!(p["availability_note"], "单周周末不行");
    let unit = an_organisation(&app, community).await;
    let (s, p) = put(
        vb_t.clone(),
        json!({"affiliation": "unit_staff", "unit_org_id": unit, "availability": ["sat_morning"]}),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["unit_org_id"], unit);
    assert!(!p["unit_org"].as_str().unwrap().is_empty());

    // The organiser lists them by affiliation and by a slot they are free in (audited).
    let ids = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["user_id"].as_i64().unwrap())
            .collect()
    };
    let (s, l) = get(
        &app,
        &shegong,
        "/api/v1/callups/volunteers?affiliation=party_member",
    )
    .await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(ids(&l), vec![va]);
    assert_eq!(l[0]["affiliation_org"], "区财政局机关党支部");
    assert_eq!(l[0]["party_registered_on"], "2026-03-05");
    let (_, l) = get(
        &app,
        &shegong,
        "/api/v1/callups/volunteers?available=sat_morning",
    )
    .await;
    let mut got = ids(&l);
    got.sort();
    assert_eq!(got, vec![va, vb]);
    assert!(!ids(&l).contains(&zhiyuan), "said no slot");
    assert_eq!(app.last_audit_entry().await["action"], "list");
    let (s, e) = send(
        &app,
        &shegong,
        "GET",
        "/api/v1/callups/volunteers?available=someday",
        None,
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("weekday"), "{e}");
    let (s, _) = get(
        &app,
        &shegong,
        "/api/v1/callups/volunteers?affiliation=boss",
    )
    .await;
    assert_eq!(s, 422);
    // Neither a volunteer nor a resident lists them.
    for t in [va_t.clone(), app.token("jumin").await] {
        let (s, _) = get(&app, &t, "/api/v1/callups/volunteers?available=sat_morning").await;
        assert_eq!(s, 403);
    }
    let (w, _) = app.login_page("shegong", PASSWORD).await;
    let page = app
        .page(&w, "/callups/volunteers?affiliation=unit_staff")
        .await;
    assert!(
        page.contains("驻区单位 1 人") && page.contains("在职党员 1 人"),
        "{page}"
    );
    assert!(
        page.contains("周六上午") && !page.contains("区财政局机关党支部"),
        "{page}"
    );

    // A call to those free then: Saturday morning reaches the two, a Tuesday night nobody.
    let mut k = call("周六义诊", community, b1, &[]);
    k["starts_at"] = json!(next(chrono::Weekday::Sat, 9));
    k["only_available"] = json!(true);
    let (s, made) = post(&app, &shegong, "/api/v1/callups", k.clone()).await;
    assert_eq!(s, 201, "{made}");
    let id = made["id"].as_i64().unwrap();
    assert_eq!(told(&app, id).await, idems(id, &[va, vb]));
    k["starts_at"] = json!(next(chrono::Weekday::Tue, 20));
    let (s, e) = post(&app, &shegong, "/api/v1/callups", k).await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("有空"), "{e}");

    // Her own page: she changes who she is and when she is free by the form.
    let (b, _) = app.login_page("vol_party", PASSWORD).await;
    let page = app.page(&b, "/callups/profile").await;
    assert!(
        page.contains("slot-sat_morning") && page.contains("区财政局机关党支部"),
        "{page}"
    );
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let r = b
        .post(app.url("/callups/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("skill", "medical"),
            ("affiliation", "resident"),
            ("party_org", ""),
            ("party_registered_on", ""),
            ("unit_org_id", ""),
            ("slot", "tue_afternoon"),
            ("slot", "sun_evening"),
            ("availability_note", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, p) = get(&app, &va_t, "/api/v1/callups/profile").await;
    assert_eq!(p["affiliation"], "resident");
    assert_eq!(p["party_org"], "");
    assert_eq!(p["availability"], json!(["tue_afternoon", "sun_evening"]));
    let r = b
        .post(app.url("/callups/profile"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("affiliation", "unit_staff"),
            ("unit_org_id", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("profile-error") && page.contains("驻区单位"),
        "{page}"
    );
    app.stop().await;
}
