//! Residents join (issue 21, part 5): self-registration matched through the blind index, with
//! one answer for every mismatch and limits kept in the database; invitation codes issued,
//! printed with a QR code per household, redeemed once, refused when used, replaced or
//! expired; counts per building; the linked resident's own data and access log; and who may
//! do what.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp, extract_input};

const NEW_PASSWORD: &str = "a-long-walk-home-42";

/// A resident of wangge's grid as the registry has her, with the clear tail of her ID number
/// (read with the test's keys).
#[derive(Clone, Debug)]
struct Resident {
    person: i64,
    name: String,
    tail: String,
    id_number: String,
    unit: i64,
    building: i64,
    room: String,
    address: String,
    household: i64,
}

/// Residents of wangge's grid without an account, one per unit.
async fn residents(app: &TestApp, n: usize) -> Vec<Resident> {
    let grid = support::place_of(app, "wangge").await;
    let rows = app
        .db
        .read(move |c| {
            c.query(
                "SELECT p.id, p.name, p.id_number_enc, p.unit_id, u.parent_id, u.name, u.address, p.household_id \
                 FROM persons p JOIN places u ON u.id = p.unit_id \
                 WHERE p.residence <> 'left' AND p.id_number_enc IS NOT NULL AND p.place_path LIKE $1 \
                 AND p.id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) ORDER BY p.id",
                linli::params![format!("{grid}/%")],
            )
        })
        .await
        .unwrap();
    let mut out: Vec<Resident> = Vec::new();
    for r in rows {
        if out.iter().any(|x| x.unit == r.i64(3)) {
            continue;
        }
        let id_number = app.state.keys.decrypt(&r.blob(2).unwrap()).unwrap();
        out.push(Resident {
            person: r.i64(0),
            name: r.str(1),
            tail: id_number[id_number.len() - 6..].to_string(),
            id_number,
            unit: r.i64(3),
            building: r.i64(4),
            room: r.str(5),
            address: r.opt_str(6).unwrap_or_default(),
            household: r.i64(7),
        });
        if out.len() == n {
            break;
        }
    }
    assert_eq!(
        out.len(),
        n,
        "the demo grid has {n} residents in distinct units"
    );
    out
}

async fn post(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (u16, Value) {
    post_lang(app, token, path, body, "zh-CN").await
}

async fn post_lang(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    body: Value,
    lang: &str,
) -> (u16, Value) {
    let mut r = app
        .client()
        .post(app.url(path))
        .header("accept-language", lang)
        .json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn registration(r: &Resident, username: &str) -> Value {
    json!({
        "name": r.name,
        "id_tail": r.tail,
        "building_id": r.building,
        "room": r.room,
        "username": username,
        "password": NEW_PASSWORD,
    })
}

/// Another unit of the same building.
async fn neighbour_unit(app: &TestApp, r: &Resident) -> (i64, String) {
    let (b, u) = (r.building, r.unit);
    let row = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT id, name FROM places WHERE parent_id = $1 AND id <> $2 ORDER BY id LIMIT 1",
                linli::params![b, u],
            )
        })
        .await
        .unwrap();
    (row.i64(0), row.str(1))
}

/// Another tail than hers (same shape).
fn other_tail(tail: &str) -> String {
    let first = if tail.starts_with('9') { '1' } else { '9' };
    format!("{first}{}", &tail[1..])
}

#[tokio::test]
async fn self_registration_links_the_right_person_and_refuses_alike() {
    let app = support::spawn().await;
    let rs = residents(&app, 2).await;
    let (r, other) = (&rs[0], &rs[1]);
    let (_, next_room) = neighbour_unit(&app, r).await;

    // Wrong name, wrong tail, wrong unit (her neighbour's), a resident of another unit: one
    // answer, which names no field.
    let mut wrong_name = registration(r, "zhang.wrong");
    wrong_name["name"] = json!(format!("{}某", r.name));
    let mut wrong_tail = registration(r, "zhang.wrong");
    wrong_tail["id_tail"] = json!(other_tail(&r.tail));
    let mut wrong_unit = registration(r, "zhang.wrong");
    wrong_unit["room"] = json!(next_room);
    let mut not_hers = registration(other, "zhang.wrong");
    not_hers["room"] = json!(r.room);
    not_hers["building_id"] = json!(r.building);
    let mut answers = Vec::new();
    for body in [wrong_name, wrong_tail, wrong_unit, not_hers] {
        let (s, v) = post(&app, None, "/api/v1/join/register", body.clone()).await;
        assert_eq!(s, 422, "{body}: {v}");
        answers.push(message(&v));
    }
    assert!(answers.iter().all(|m| *m == answers[0]), "{answers:?}");
    assert!(answers[0].contains("核对不一致"), "{}", answers[0]);
    for field in ["姓名错", "身份证号码不正确", "房屋不正确"] {
        assert!(!answers[0].contains(field));
    }
    // Each refusal is in the audit log, without the number typed.
    let failed = app
        .query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%login_failed%' AND body LIKE '%join: self-registration%'")
        .await;
    assert_eq!(failed, 4);

    // Bad input says what is wrong with it, in both languages.
    let mut short = registration(r, "zhang.short");
    short["id_tail"] = json!("12345");
    let (s, v) = post(&app, None, "/api/v1/join/register", short.clone()).await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("后六位"), "{v}");
    let (_, v) = post_lang(&app, None, "/api/v1/join/register", short, "en").await;
    assert!(message(&v).contains("last six"), "{v}");
    let mut weak = registration(r, "zhang.weak");
    weak["password"] = json!("123");
    let (s, _) = post(&app, None, "/api/v1/join/register", weak).await;
    assert_eq!(s, 422);
    let mut nowhere = registration(r, "zhang.nowhere");
    nowhere["room"] = json!("9999");
    let (s, v) = post(&app, None, "/api/v1/join/register", nowhere).await;
    assert_eq!(s, 422);
    assert!(message(&v).contains("没有找到这个房屋"), "{v}");

    // The right person, by building and room (typed loosely).
    let mut right = registration(r, "zhang.right");
    right["name"] = json!(format!(" {} ", r.name));
    right["id_tail"] = json!(r.tail.to_lowercase());
    let (s, v) = post(&app, None, "/api/v1/join/register", right).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["person_id"], r.person);
    let token = app.token_with("zhang.right", NEW_PASSWORD).await;
    let (s, me) = app.get_json(&token, "/api/v1/me/data").await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["person_id"], r.person);
    assert_eq!(me["id_number"], json!(r.id_number));
    let (s, me) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["grants"][0]["role"], "resident");

    // The same person again, or the same username: refused.
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(r, "zhang.again"),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(message(&v).contains("已经开通"), "{v}");
    let (s, _) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(other, "zhang.right"),
    )
    .await;
    assert_eq!(s, 409);

    // By the typed address.
    if !other.address.is_empty() {
        let body = json!({
            "name": other.name, "id_tail": other.tail, "address": other.address,
            "username": "li.address", "password": NEW_PASSWORD,
        });
        let (s, v) = post(&app, None, "/api/v1/join/register", body).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["person_id"], other.person);
    }

    // No clear ID number or tail is kept by the join area or logged.
    let needle = r.id_number.clone();
    let (hits, tails) = app
        .db
        .read(move |c| {
            let a = c.query_i64(
                "SELECT COUNT(*) FROM audit_entries WHERE body LIKE $1",
                linli::params![format!("%{needle}%")],
            )?;
            let b = c.query_i64(
                "SELECT COUNT(*) FROM join_index WHERE bidx LIKE $1",
                linli::params![format!("%{}%", &needle[needle.len() - 6..])],
            )?;
            Ok((a, b))
        })
        .await
        .unwrap();
    assert_eq!(hits, 0);
    assert_eq!(tails, 0);
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_are_limited_per_unit_and_per_address_in_the_database() {
    let app = support::spawn().await;
    let rs = residents(&app, 3).await;
    let r = &rs[0];
    let mut wrong = registration(r, "wang.try");
    wrong["id_tail"] = json!(other_tail(&r.tail));
    for i in 0..5 {
        let (s, v) = post(&app, None, "/api/v1/join/register", wrong.clone()).await;
        assert_eq!(s, 422, "attempt {i}: {v}");
    }
    // The unit is refused now, even with the right details; the answer says what to do.
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(r, "wang.right"),
    )
    .await;
    assert_eq!(s, 429, "{v}");
    assert!(message(&v).contains("邀请码"), "{v}");
    // Kept in the database: a restart does not reset it.
    let unit = r.unit;
    let locked = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM join_attempts WHERE kind = 'unit' AND target = $1 AND locked_until > $2",
                linli::params![unit.to_string(), linli::store::now_ms()],
            )
        })
        .await
        .unwrap();
    assert_eq!(locked, 1);
    // Another unit still checks, until the address has spent its failures.
    for i in 0..5 {
        let mut w = registration(&rs[1], "wang.try2");
        w["id_tail"] = json!(other_tail(&rs[1].tail));
        let (s, v) = post(&app, None, "/api/v1/join/register", w).await;
        assert_eq!(s, 422, "attempt {i} on another unit: {v}");
    }
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(&rs[2], "wang.third"),
    )
    .await;
    assert_eq!(s, 429, "the address is refused: {v}");
    // An invitation code from that address is refused too.
    let (s, _) = post(
        &app,
        None,
        "/api/v1/join/code",
        json!({"code": "ABCD-EFGH-JKLM"}),
    )
    .await;
    assert_eq!(s, 429);
    app.stop().await;
}

/// Issues codes for a building over the API as `who`; the letters.
async fn issue(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    post(app, Some(token), "/api/v1/join/invitations", body).await
}

#[tokio::test]
async fn invitation_letters_are_printed_redeemed_once_and_link_the_resident() {
    let app = support::spawn().await;
    let r = residents(&app, 1).await.remove(0);
    let wangge = app.token("wangge").await;

    // The print page: a letter with a QR code per household of the building.
    let building = r.building;
    let households = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM households h JOIN places u ON u.id = h.unit_id WHERE u.parent_id = $1",
                linli::params![building],
            )
        })
        .await
        .unwrap();
    assert!(households > 0);
    let (b, _) = app.login_page("wangge", PASSWORD).await;
    let admin = app.page(&b, "/join/admin").await;
    assert!(admin.contains("居民开通情况"), "{admin}");
    assert!(admin.contains(&format!("id=\"letters-{building}\"")));
    let csrf = extract_input(&admin, "csrf").unwrap();
    let res = b
        .post(app.url("/join/admin/letters"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("place_id", &building.to_string()),
            ("days", "30"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"].to_str().unwrap(), "no-store");
    let html = res.text().await.unwrap();
    assert_eq!(
        html.matches("<svg class=\"qr\"").count() as i64,
        households,
        "one QR code per household"
    );
    assert_eq!(html.matches("class=\"letter\"").count() as i64, households);
    assert!(html.contains("class=\"url\">http://") && html.contains("/join</p>"));
    assert!(html.contains("class=\"sheet\""));
    assert!(!html.contains("<script"), "a print page of its own");
    // Kept hashed: no code of the page is in the database.
    let first_code = {
        let i = html.find("class=\"code\">").unwrap() + "class=\"code\">".len();
        html[i..i + 14].to_string()
    };
    let c2 = first_code.clone();
    let stored = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM join_invitations WHERE code_hash LIKE $1",
                linli::params![format!("%{}%", c2.replace('-', ""))],
            )
        })
        .await
        .unwrap();
    assert_eq!(stored, 0);

    // Issued again over the API for her household: the letter's earlier code is withdrawn.
    let (s, v) = issue(&app, &wangge, json!({"household_id": r.household})).await;
    assert_eq!(s, 201, "{v}");
    let letters = v["letters"].as_array().unwrap();
    assert_eq!(letters.len(), 1);
    let code = letters[0]["code"].as_str().unwrap().to_string();
    let hh = r.household;
    let old_codes = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM join_invitations WHERE household_id = $1 AND withdrawn_at IS NOT NULL",
                linli::params![hh],
            )
        })
        .await
        .unwrap();
    assert_eq!(old_codes, 1);

    // The code opens her household: members masked, with their relation.
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/code",
        json!({"code": code.to_lowercase().replace('-', " ")}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let members = v["members"].as_array().unwrap();
    let me = members
        .iter()
        .find(|m| m["person_id"] == r.person)
        .expect("she is a member");
    let masked = me["name_masked"].as_str().unwrap();
    assert!(
        masked.contains('*') && !masked.contains(&r.name),
        "{masked}"
    );
    assert!(masked.starts_with(r.name.chars().next().unwrap()));
    let entry = app.last_audit_entry().await;
    assert_eq!(entry["action"], "list");
    assert!(
        entry["subjects"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("person:{}", r.person)))
    );

    // Redeemed: the account is hers.
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/redeem",
        json!({"code": code, "person_id": r.person, "username": "chen.code", "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["person_id"], r.person);

    // Reused: refused, saying what to do, in both languages.
    let again = json!({"code": code, "person_id": r.person, "username": "chen.again", "password": NEW_PASSWORD});
    let (s, v) = post(&app, None, "/api/v1/join/redeem", again.clone()).await;
    assert_eq!(s, 410, "{v}");
    assert!(
        message(&v).contains("已经使用过") && message(&v).contains("楼栋长"),
        "{v}"
    );
    let (s, v) = post_lang(&app, None, "/api/v1/join/code", json!({"code": code}), "en").await;
    assert_eq!(s, 410);
    assert!(
        message(&v).contains("already been used") && message(&v).contains("building leader"),
        "{v}"
    );
    // The withdrawn code of the printed letter.
    let (s, v) = post(&app, None, "/api/v1/join/code", json!({"code": first_code})).await;
    if s != 200 {
        assert_eq!(s, 410, "{v}");
    }

    // A worker reveals her record; she sees her data and the reveal in her access log.
    let res = app
        .client()
        .post(app.url(&format!("/api/v1/persons/{}/reveal", r.person)))
        .bearer_auth(&wangge)
        .json(&json!({"field": "id_number", "purpose": "service", "note": "核对补贴"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let token = app.token_with("chen.code", NEW_PASSWORD).await;
    let (s, data) = app.get_json(&token, "/api/v1/me/data").await;
    assert_eq!(s, 200, "{data}");
    assert_eq!(data["person_id"], r.person);
    let (s, log) = app.get_json(&token, "/api/v1/me/access-log").await;
    assert_eq!(s, 200);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reveal" && e["role"] == "grid_worker"),
        "{log}"
    );
    let (rb, _) = app.login_page("chen.code", NEW_PASSWORD).await;
    let page = app.page(&rb, "/me/access-log").await;
    assert!(page.contains("谁查看了我的信息") && page.contains("网格员"));
    let page = app.page(&rb, "/me/data").await;
    assert!(page.contains(&r.name), "her own record, in full");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_code_is_refused_with_what_to_do() {
    let app = support::spawn().await;
    let r = residents(&app, 1).await.remove(0);
    let wangge = app.token("wangge").await;
    let (s, v) = issue(
        &app,
        &wangge,
        json!({"household_id": r.household, "days": 7}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let code = v["letters"][0]["code"].as_str().unwrap().to_string();
    let until = v["letters"][0]["expires_at"].as_i64().unwrap();
    let now = linli::store::now_ms();
    assert!((until - now - 7 * 86_400_000).abs() < 60_000);
    app.exec(
        "UPDATE join_invitations SET expires_at = $1",
        &[linli::store::Val::Int(now - 1)],
    )
    .await;
    let (s, v) = post(&app, None, "/api/v1/join/code", json!({"code": code})).await;
    assert_eq!(s, 410, "{v}");
    assert!(
        message(&v).contains("过期") && message(&v).contains("新的邀请码"),
        "{v}"
    );
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/redeem",
        json!({"code": code, "person_id": r.person, "username": "expired.one", "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(s, 410, "{v}");
    // Unknown codes are counted against the address, and say what to do.
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/code",
        json!({"code": "2345-6789-ABCD"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert!(message(&v).contains("邀请码不正确"), "{v}");
    // Bad days.
    let (s, _) = issue(
        &app,
        &wangge,
        json!({"household_id": r.household, "days": 400}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = issue(&app, &wangge, json!({})).await;
    assert_eq!(s, 422);
    app.stop().await;
}

#[tokio::test]
async fn counts_per_building_and_who_may_see_and_issue() {
    let app = support::spawn().await;
    let rs = residents(&app, 2).await;
    let wangge = app.token("wangge").await;
    let (s, before) = app.get_json(&wangge, "/api/v1/join/buildings").await;
    assert_eq!(s, 200, "{before}");
    let row = |v: &Value, id: i64| -> Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let b0 = row(&before, rs[0].building);
    assert!(b0["households"].as_i64().unwrap() > 0, "{b0}");
    assert_eq!(b0["accounts"], 0);
    for r in &rs {
        let (s, v) = post(
            &app,
            None,
            "/api/v1/join/register",
            registration(r, &format!("res.{}", r.person)),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    let (_, after) = app.get_json(&wangge, "/api/v1/join/buildings").await;
    let total: i64 = after
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["accounts"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2);
    assert!(
        row(&after, rs[0].building)["households_joined"]
            .as_i64()
            .unwrap()
            >= 1
    );
    // Counts only: no names, no codes, no passwords.
    let text = after.to_string();
    assert!(!text.contains(&rs[0].name) && !text.contains("argon2"));
    // The community worker sees the same buildings among hers.
    let shegong = app.token("shegong").await;
    let (s, v) = app.get_json(&shegong, "/api/v1/join/buildings").await;
    assert_eq!(s, 200);
    assert_eq!(
        row(&v, rs[0].building)["accounts"],
        row(&after, rs[0].building)["accounts"]
    );

    // Roles without the registry: 403; a worker outside the place: 404.
    for who in ["jumin", "bumen", "wuye", "zhiyuan"] {
        let t = app.token(who).await;
        let (s, _) = app.get_json(&t, "/api/v1/join/buildings").await;
        assert_eq!(s, 403, "{who} reads the counts");
        let (s, _) = issue(&app, &t, json!({"place_id": rs[0].building})).await;
        assert_eq!(s, 403, "{who} issues codes");
        let (b, _) = app.login_page(who, PASSWORD).await;
        let r = b.get(app.url("/join/admin")).send().await.unwrap();
        assert_eq!(r.status(), 403, "{who} opens the join admin page");
    }
    let grid = support::place_of(&app, "wangge").await;
    let outside = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("path", &[grid], 1, &mut p);
            c.query_i64(
                &format!("SELECT MIN(id) FROM places WHERE kind = 'building' AND NOT ({cond})"),
                &p,
            )
        })
        .await
        .unwrap();
    let (s, _) = issue(&app, &wangge, json!({"place_id": outside})).await;
    assert_eq!(s, 404, "a building outside her grid");
    let (s, v) = issue(&app, &shegong, json!({"place_id": outside})).await;
    assert!(s == 201 || s == 404, "{v}");
    let (s, _) = app.get_json("", "/api/v1/join/buildings").await;
    assert_eq!(s, 401);
    let (s, _) = issue(&app, "nobody", json!({"place_id": rs[0].building})).await;
    assert_eq!(s, 401);
    app.stop().await;
}

#[tokio::test]
async fn an_account_keeps_working_when_her_person_moves_household() {
    let app = support::spawn().await;
    let rs = residents(&app, 2).await;
    let (r, other) = (&rs[0], &rs[1]);
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(r, "mover"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let token = app.token_with("mover", NEW_PASSWORD).await;
    let (_, before) = app.get_json(&token, "/api/v1/me/data").await;
    assert_eq!(before["household"]["id"], r.household);
    // A worker moves her into the other resident's household.
    let wangge = app.token("wangge").await;
    let (s, v) = post(
        &app,
        Some(&wangge),
        &format!("/api/v1/persons/{}/move", r.person),
        json!({"household_id": other.household, "relation": "other"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // The account she had signed in with still works; signed in again, she is in her new
    // household (a token's caller is cached for a few seconds).
    let (s, _) = app.get_json(&token, "/api/v1/me/data").await;
    assert_eq!(s, 200);
    let token = app.token_with("mover", NEW_PASSWORD).await;
    let (s, after) = app.get_json(&token, "/api/v1/me/data").await;
    assert_eq!(s, 200, "{after}");
    assert_eq!(after["person_id"], r.person);
    assert_eq!(after["household"]["id"], other.household);
    let (s, _) = app.get_json(&token, "/api/v1/me/access-log").await;
    assert_eq!(s, 200);
    // She counts where she lives now.
    let (_, figures) = app.get_json(&wangge, "/api/v1/join/buildings").await;
    let accounts = |id: i64| -> i64 {
        figures
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .map(|b| b["accounts"].as_i64().unwrap())
            .unwrap_or(0)
    };
    assert_eq!(accounts(other.building), 1);
    if other.building != r.building {
        assert_eq!(accounts(r.building), 0);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_renamed_person_is_found_by_her_new_name() {
    let app = support::spawn().await;
    let r = residents(&app, 1).await.remove(0);
    let wangge = app.token("wangge").await;
    let res = app
        .client()
        .patch(app.url(&format!("/api/v1/persons/{}", r.person)))
        .bearer_auth(&wangge)
        .json(&json!({"name": "欧阳新名"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let (s, _) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(&r, "old.name"),
    )
    .await;
    assert_eq!(s, 422, "the old name no longer matches");
    let mut renamed = r.clone();
    renamed.name = "欧阳新名".into();
    let (s, v) = post(
        &app,
        None,
        "/api/v1/join/register",
        registration(&renamed, "new.name"),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    app.stop().await;
}

#[tokio::test]
async fn the_join_pages_in_both_languages_with_their_form_token() {
    let app = support::spawn().await;
    let r = residents(&app, 1).await.remove(0);
    // The login page links to the join page.
    let login = app
        .client()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("href=\"/join\""));
    let b = app.browser();
    let page = b
        .get(app.url("/join"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("开通居民账号")
            && page.contains("id=\"code-form\"")
            && page.contains("id=\"self-form\"")
    );
    let en = b
        .get(app.url("/join"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("Invitation code") && en.contains("Choose your building"),
        "{en}"
    );
    // Without the form's token: refused.
    let res = app
        .client()
        .post(app.url("/join/register"))
        .form(&[("name", r.name.as_str()), ("id_tail", r.tail.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A mismatch on the page: one message, the form kept (not the tail).
    // The newest page's token is the one kept.
    let token = extract_input(&en, "join_csrf").unwrap();
    let wrong = other_tail(&r.tail);
    let form = |tail: &str, user: &str| {
        vec![
            ("join_csrf".to_string(), token.clone()),
            ("name".into(), r.name.clone()),
            ("id_tail".into(), tail.to_string()),
            ("building_id".into(), r.building.to_string()),
            ("room".into(), r.room.clone()),
            ("address".into(), String::new()),
            ("username".into(), user.to_string()),
            ("password".into(), NEW_PASSWORD.to_string()),
            ("password2".into(), NEW_PASSWORD.to_string()),
        ]
    };
    let res = b
        .post(app.url("/join/register"))
        .form(&form(&wrong, "page.user"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("核对不一致")
            && html.contains("value=\"page.user\"")
            && !html.contains(&wrong)
    );
    let token2 = extract_input(&html, "join_csrf").unwrap();
    let mut f = form(&r.tail, "page.user");
    f[0].1 = token2;
    let mut mismatch = f.clone();
    mismatch[8].1 = "another-password-9".into();
    let res = b
        .post(app.url("/join/register"))
        .form(&mismatch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("两次输入的密码不一致"));
    f[0].1 = extract_input(&html, "join_csrf").unwrap();
    let res = b
        .post(app.url("/join/register"))
        .form(&f)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    assert!(html.contains("账号已开通") && html.contains("/me/data"));
    // Signed in: her data.
    let data = b.get(app.url("/me/data")).send().await.unwrap();
    assert_eq!(data.status(), 200);
    assert!(data.text().await.unwrap().contains(&r.name));

    // The code form: a wrong code says so; a good one lists the household masked.
    let wangge = app.token("wangge").await;
    let rs = residents(&app, 1).await;
    let (_, v) = issue(&app, &wangge, json!({"household_id": rs[0].household})).await;
    let code = v["letters"][0]["code"].as_str().unwrap().to_string();
    let b2 = app.browser();
    let page = b2
        .get(app.url(&format!("/join?code={code}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("value=\"{code}\"")));
    let token = extract_input(&page, "join_csrf").unwrap();
    let res = b2
        .post(app.url("/join/code"))
        .form(&[("join_csrf", token.as_str()), ("code", "ZZZZ-ZZZZ-ZZZZ")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("邀请码不正确"));
    let token = extract_input(&html, "join_csrf").unwrap();
    let res = b2
        .post(app.url("/join/code"))
        .form(&[("join_csrf", token.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"redeem-form\"") && html.contains('*'));
    assert!(!html.contains(&rs[0].name), "names masked");
    let token = extract_input(&html, "join_csrf").unwrap();
    let res = b2
        .post(app.url("/join/redeem"))
        .form(&[
            ("join_csrf", token.as_str()),
            ("code", code.as_str()),
            ("username", "page.code"),
            ("password", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "no member chosen");
    let html = res.text().await.unwrap();
    assert!(html.contains("请选择您是这户中的哪一位"));
    let token = extract_input(&html, "join_csrf").unwrap();
    let res = b2
        .post(app.url("/join/redeem"))
        .form(&[
            ("join_csrf", token.as_str()),
            ("code", code.as_str()),
            ("person_id", &rs[0].person.to_string()),
            ("username", "page.code"),
            ("password", NEW_PASSWORD),
            ("password2", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // The worker's page counts them.
    let (wb, _) = app.login_page("wangge", PASSWORD).await;
    let html = app.page(&wb, "/join/admin").await;
    assert!(html.contains("id=\"join-buildings\"") && !html.contains("id=\"join-none-yet\""));
    app.stop().await;
}
