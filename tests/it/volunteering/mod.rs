//! Volunteers and points (issue 25 part 1): an activity's sign-ups, waiting list and
//! check-in/out (by the organiser or by the code shown at the place) earning hours × rate
//! points; the double-entry ledger (a property test over random earn/spend/transfer/reverse);
//! redemption with stock and balance checked in the write transaction (two concurrent
//! redemptions of the last piece: one winner); codes confirmed by the committee or the shop;
//! the certificate; bad input refused in Chinese and English; other roles 403, other places
//! 404; audit entries.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};
use crate::visits::{get, message, post, send};

/// The demo volunteers' community (its id and path), its street, and another community.
struct Places {
    community: i64,
    path: String,
    street: i64,
    other: i64,
}

async fn places(app: &TestApp) -> Places {
    let path = support::place_of(app, "zhiyuan").await;
    let p = path.clone();
    let (community, street, other) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT id, street_id FROM places WHERE path = $1",
                linli::params![p.clone()],
            )?;
            let other = c.query_i64(
                "SELECT id FROM places WHERE kind = 'community' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![p],
            )?;
            Ok((r.i64(0), r.i64(1), other))
        })
        .await
        .unwrap();
    Places {
        community,
        path,
        street,
        other,
    }
}

/// Makes an account holding `role` at a place (or for an organisation) and signs it in.
async fn account(
    app: &TestApp,
    name: &str,
    role: linli::org::Role,
    place: Option<i64>,
    org: Option<i64>,
    street: i64,
) -> (i64, String) {
    let n = name.to_string();
    let id = app
        .db
        .write(move |c| {
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
            linli::org::users::add_grant(c, id, role, place, org, Some(street), None)?;
            Ok(id)
        })
        .await
        .unwrap();
    (id, app.token(name).await)
}

fn when(offset_min: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(offset_min))
        .with_timezone(&linli::kernel::time::zone())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn activity(title: &str, place: i64, capacity: i64) -> Value {
    json!({"title": title, "starts_at": when(10), "ends_at": when(130), "place_id": place,
           "capacity": capacity, "skills": ["companion"], "rate": 10})
}

const A: &str = "/api/v1/volunteering";

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, a) = post(app, token, &format!("{A}/activities"), body).await;
    assert_eq!(s, 201, "{a}");
    a["id"].as_i64().unwrap()
}

async fn act(app: &TestApp, token: &str, id: i64, what: &str) -> (u16, Value) {
    post(
        app,
        token,
        &format!("{A}/activities/{id}/{what}"),
        json!({}),
    )
    .await
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let (s, p) = get(app, token, &format!("{A}/points")).await;
    assert_eq!(s, 200, "{p}");
    p["balance"].as_i64().unwrap()
}

/// Gives a person points earned at the community (straight through the ledger).
async fn earn(app: &TestApp, p: &Places, user: i64, points: i64) {
    let (street, community, path) = (p.street, p.community, p.path.clone());
    app.db
        .write_tx(move |c| -> linli::kernel::error::AppResult<()> {
            use linli::volunteering::ledger;
            let now = linli::kernel::time::now_ms();
            let i = ledger::account(c, street, "issuing", community, &path, now)?;
            let a = ledger::account(c, street, "person", user, &path, now)?;
            ledger::earn(
                c,
                &ledger::Txn {
                    street_id: street,
                    kind: "earn",
                    community_path: &path,
                    reverses: None,
                    reason: "test",
                    by: user,
                },
                i,
                a,
                points,
                now,
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

fn subjects_have(e: &Value, user: i64) -> bool {
    e["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| *s == format!("user:{user}"))
}

#[tokio::test]
async fn an_activity_from_sign_up_to_points_with_a_waiting_list_and_the_code() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let vol = linli::org::Role::Volunteer;
    let (va, va_t) = account(&app, "vol_a", vol, Some(p.community), None, p.street).await;
    let (vb, vb_t) = account(&app, "vol_b", vol, Some(p.community), None, p.street).await;
    let jumin = app.token("jumin").await;
    let id = create(&app, &shegong, activity("楼道清扫", p.community, 1)).await;

    // One place: the first is booked, the second waits, the third finds both full.
    let (s, a) = act(&app, &va_t, id, "signup").await;
    assert_eq!((s, a["state"].as_str()), (200, Some("booked")), "{a}");
    let (s, e) = act(&app, &va_t, id, "signup").await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("已经报名"), "{e}");
    let (s, b) = act(&app, &vb_t, id, "signup").await;
    assert_eq!((s, b["state"].as_str()), (200, Some("waiting")), "{b}");
    let (s, e) = send(
        &app,
        &jumin,
        "POST",
        &format!("{A}/activities/{id}/signup"),
        None,
        "en",
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("waiting list are full"), "{e}");
    let (s, e) = act(&app, &jumin, id, "signup").await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("名额和候补都已满"), "{e}");

    // The organiser sees the code and who signed up; the look is audited with them.
    let (s, d) = get(&app, &shegong, &format!("{A}/activities/{id}")).await;
    assert_eq!(s, 200, "{d}");
    let code = d["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert!(subjects_have(&e, va) && subjects_have(&e, vb), "{e}");
    // A participant does not see the code.
    let (s, d) = get(&app, &va_t, &format!("{A}/activities/{id}")).await;
    assert_eq!(s, 200);
    assert!(
        d["code"].is_null() && d["signups"].as_array().unwrap().is_empty(),
        "{d}"
    );

    // Checking out before checking in, or checking in someone waiting: refused with reasons.
    let sa = d["item"]["mine"]["id"].as_i64().unwrap();
    let sb = b["id"].as_i64().unwrap();
    let (s, e) = send(
        &app,
        &shegong,
        "POST",
        &format!("{A}/activities/{id}/signups/{sa}/check-out"),
        None,
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("Not checked in"), "{e}");
    let (s, e) = post(
        &app,
        &shegong,
        &format!("{A}/activities/{id}/signups/{sa}/check-out"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("尚未签到"), "{e}");
    let (s, e) = post(
        &app,
        &shegong,
        &format!("{A}/activities/{id}/signups/{sb}/check-in"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("候补"), "{e}");

    // A wrong code is refused; the right one checks her in, then out.
    let (s, e) = post(
        &app,
        &va_t,
        &format!("{A}/activities/{id}/code"),
        json!({"code": "000000x"}),
    )
    .await;
    assert_eq!(s, 422, "{e}");
    let (s, r) = post(
        &app,
        &va_t,
        &format!("{A}/activities/{id}/code"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["checked_in_at"].is_i64());
    let e = app.last_audit_entry().await;
    assert!(subjects_have(&e, va));
    let (s, _) = post(
        &app,
        &shegong,
        &format!("{A}/activities/{id}/signups/{sa}/check-in"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "checked in twice");
    // Two hours served (the clock moved back for the test): 120 minutes × 10 an hour.
    app.exec(
        "UPDATE vol_signups SET checked_in_at = checked_in_at - 7200000 WHERE id = $1",
        &[linli::store::Val::Int(sa)],
    )
    .await;
    let (s, r) = post(
        &app,
        &va_t,
        &format!("{A}/activities/{id}/code"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["minutes"], 120);
    assert_eq!(r["points"], 20);
    let (s, _) = post(
        &app,
        &va_t,
        &format!("{A}/activities/{id}/code"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(s, 409, "checked out twice");
    assert_eq!(balance(&app, &va_t).await, 20);
    let (_, m) = get(&app, &va_t, &format!("{A}/points")).await;
    assert_eq!(m["entries"][0]["kind"], "earn");
    assert_eq!(m["entries"][0]["amount"], 20);
    // She cannot cancel once in.
    let (s, _) = act(&app, &va_t, id, "cancel").await;
    assert_eq!(s, 409);

    // Her certificate lists the activity, hours and points.
    let (s, c) = get(&app, &va_t, &format!("{A}/certificate")).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["lines"].as_array().unwrap().len(), 1);
    assert_eq!(
        (c["minutes"].as_i64(), c["points"].as_i64()),
        (Some(120), Some(20))
    );
    let (s, e) = send(
        &app,
        &va_t,
        "GET",
        &format!("{A}/certificate?from=2026-13-01"),
        None,
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("2026-01-01"), "{e}");
    let (b2, _) = app.login_page("vol_a", PASSWORD).await;
    let page = app.page(&b2, "/volunteering/certificate").await;
    assert!(
        page.contains("志愿服务证明") && page.contains("楼道清扫"),
        "{page}"
    );
    // Her affiliation on the certificate; the organiser's figure counts her hours by it.
    assert!(page.contains("身份：居民"), "{page}");
    let (s, _) = send(
        &app,
        &va_t,
        "PUT",
        "/api/v1/callups/profile",
        Some(
            json!({"affiliation": "party_member", "party_org": "区税务局党支部",
                    "party_registered_on": "2026-01-05"}),
        ),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    let (_, c) = get(&app, &va_t, &format!("{A}/certificate")).await;
    assert_eq!(c["affiliation"], "party_member");
    assert_eq!(c["affiliation_org"], "区税务局党支部");
    let (w, _) = app.login_page("shegong", PASSWORD).await;
    let list = app.page(&w, "/volunteering").await;
    assert!(
        list.contains("vol-affiliation-hours") && list.contains("在职党员（报到） 1 人 2.0 小时"),
        "{list}"
    );
    let page = app.page(&w, &format!("/volunteering/{id}")).await;
    assert!(page.contains("/callups/volunteers?available="), "{page}");
    let page = app.page(&b2, "/").await;
    assert!(page.contains("home-volunteering"), "the home card");

    // The waiting list moves up when someone booked cancels, and she is told.
    let id2 = create(&app, &shegong, activity("敬老院陪伴", p.community, 1)).await;
    assert_eq!(act(&app, &vb_t, id2, "signup").await.1["state"], "booked");
    assert_eq!(act(&app, &jumin, id2, "signup").await.1["state"], "waiting");
    let (s, _) = act(&app, &vb_t, id2, "cancel").await;
    assert_eq!(s, 204);
    let (_, d) = get(&app, &jumin, &format!("{A}/activities/{id2}")).await;
    assert_eq!(d["item"]["mine"]["state"], "booked", "{d}");
    let told = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM reach_messages WHERE source = $1",
                linli::params![format!("vol:{id2}")],
            )
        })
        .await
        .unwrap();
    assert_eq!(told, 1);
    // Cancelled, she may sign up again (behind those waiting).
    let (s, r) = act(&app, &vb_t, id2, "signup").await;
    assert_eq!((s, r["state"].as_str()), (200, Some("waiting")), "{r}");
}

#[tokio::test]
async fn bad_activities_are_refused_in_both_languages() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"title": ""}), "请填写名称", "Give a name"),
        (
            json!({"title": "一".repeat(41)}),
            "40 个字",
            "40 characters",
        ),
        (
            json!({"starts_at": "明天"}),
            "2026-12-05 09:00",
            "2026-12-05 09:00",
        ),
        (
            json!({"ends_at": when(5)}),
            "结束时间须晚于",
            "end must come after",
        ),
        (
            json!({"starts_at": when(-24 * 60), "ends_at": when(-23 * 60)}),
            "已经过去",
            "has passed",
        ),
        (json!({"capacity": 0}), "1 到 500", "between 1 and 500"),
        (json!({"rate": 1000}), "1 到 100", "between 1 and 100"),
        (
            json!({"skills": ["flying"]}),
            "技能",
            "skills from the list",
        ),
        (json!({"place_id": p.other}), "您辖区内", "of your places"),
    ];
    for (patch, zh, en) in cases {
        let mut body = activity("义诊", p.community, 5);
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        for (lang, want) in [("zh-CN", zh), ("en", en)] {
            let (s, e) = send(
                &app,
                &shegong,
                "POST",
                &format!("{A}/activities"),
                Some(body.clone()),
                lang,
            )
            .await;
            assert_eq!(s, 422, "{body} {e}");
            assert!(message(&e).contains(want), "{lang} {body}: {e}");
        }
    }
    let n = app
        .query_i64("SELECT COUNT(*) FROM vol_activities WHERE title = '义诊'")
        .await;
    assert_eq!(n, 0, "nothing half-written");
}

#[tokio::test]
async fn other_roles_get_403_and_other_places_404() {
    let app = support::spawn().await;
    let p = places(&app).await;
    let shegong = app.token("shegong").await;
    let id = create(&app, &shegong, activity("社区花园", p.community, 3)).await;
    let bumen = app.token("bumen").await;
    for path in [
        "activities",
        "points",
        "balances",
        "redemptions",
        "certificate",
    ] {
        let (s, _) = get(&app, &bumen, &format!("{A}/{path}")).await;
        assert_eq!(s, 403, "{path}");
    }
    let (s, _) = get(&app, &bumen, &format!("{A}/activities/{id}")).await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &bumen,
        &format!("{A}/activities"),
        activity("x", p.community, 1),
    )
    .await;
    assert_eq!(s, 403);
    // A worker and a volunteer of another community do not see it.
    let (_, other_w) = account(
        &app,
        "sg_other",
        linli::org::Role::CommunityWorker,
        Some(p.other),
        None,
        p.street,
    )
    .await;
    let (_, other_v) = account(
        &app,
        "vol_other",
        linli::org::Role::Volunteer,
        Some(p.other),
        None,
        p.street,
    )
    .await;
    for t in [&other_w, &other_v] {
        let (s, _) = get(&app, t, &format!("{A}/activities/{id}")).await;
        assert_eq!(s, 404);
        let (s, _) = act(&app, t, id, "signup").await;
        assert_eq!(s, 404);
    }
    let (_, list) = get(&app, &other_v, &format!("{A}/activities")).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["activity"]["id"] != id)
    );
    let (s, _) = post(
        &app,
        &other_w,
        &format!("{A}/activities/{id}/signups/1/check-in"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    // A volunteer cannot check people in, nor reverse, nor list balances, nor add items.
    let z = app.token("zhiyuan").await;
    let (s, _) = post(
        &app,
        &z,
        &format!("{A}/activities/{id}/signups/1/check-in"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &z,
        &format!("{A}/transactions/1/reverse"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = get(&app, &z, &format!("{A}/balances")).await;
    assert_eq!(s, 403);
    let (s, _) = post(&app, &z, &format!("{A}/items"), json!({"community_id": p.community, "offer": "committee", "title": "x", "cost": 1, "stock": 1})).await;
    assert_eq!(s, 403);
    let (s, _) = send(
        &app,
        &z,
        "PUT",
        &format!("{A}/settings"),
        Some(json!({"transfers": true, "residents": true})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 403);
    // Residents may sign up only while the street allows it.
    let admin = app.token("admin").await;
    let (s, _) = send(
        &app,
        &admin,
        "PUT",
        &format!("{A}/settings"),
        Some(json!({"transfers": false, "residents": false})),
        "zh-CN",
    )
    .await;
    assert_eq!(s, 200);
    let jumin = app.token("jumin").await;
    let (s, _) = act(&app, &jumin, id, "signup").await;
    assert_eq!(s, 404);
    // Pages: the same walls.
    let (b, _) = app.login_page("bumen", PASSWORD).await;
    let r = b.get(app.url("/volunteering")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let (b, _) = app.login_page("sg_other", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/volunteering/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

mod ledger;
