//! Mutual aid (邻里互助): a verified resident posts in her own community; a neighbour sees it
//! (a masked name and a building, never a flat), writes, is chosen, and the post is done when
//! both say so (anyone else 403); bad input refused with a reason in both languages and
//! nothing written; the medicine warning always shown; expiry read from the time; blocks
//! refuse messages both ways and hide posts; reports let the community's workers read the
//! conversation (audited) and hide the post with a reason its poster reads; another
//! community's resident 404, another role 403.

use serde_json::{Value, json};

use crate::support::{self, PASSWORD, TestApp};

async fn send(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let c = app.client();
    let mut r = match &body {
        Some(_) => c.post(app.url(path)),
        None => c.get(app.url(path)),
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
    send(app, token, path, Some(body), "zh-CN").await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app, token, path, None, "zh-CN").await
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The demo resident's person and community path.
async fn jumin_home(app: &TestApp) -> (i64, String) {
    app.db
        .read(|c| {
            let r = c.query_one(
                "SELECT p.id, p.place_path FROM users u JOIN persons p ON p.id = u.person_id WHERE u.username = 'jumin'",
                &[],
            )?;
            let path = r.str(1);
            let parts: Vec<&str> = path.split('/').collect();
            let mut community = String::new();
            for i in 1..=parts.len() {
                let prefix = parts[..i].join("/");
                let k = c.query_opt(
                    "SELECT kind FROM places WHERE path = $1",
                    linli::params![prefix.clone()],
                )?;
                if k.is_some_and(|k| k.str(0) == "community") {
                    community = prefix;
                }
            }
            Ok((r.i64(0), community))
        })
        .await
        .unwrap()
}

/// A resident (not jumin, living, in a household) under `path` or, with `outside`, in
/// another community; the `skip`th such.
async fn resident_person(app: &TestApp, path: String, outside: bool, skip: i64) -> (i64, i64) {
    app.db
        .read(move |c| {
            let sql = if outside {
                "SELECT id, unit_id FROM persons WHERE residence <> 'left' AND unit_id IS NOT NULL \
                 AND place_path NOT LIKE $1 AND id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) \
                 ORDER BY id LIMIT 1 OFFSET $2"
            } else {
                "SELECT id, unit_id FROM persons WHERE residence <> 'left' AND unit_id IS NOT NULL \
                 AND place_path LIKE $1 AND id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) \
                 ORDER BY id DESC LIMIT 1 OFFSET $2"
            };
            let r = c.query_one(sql, linli::params![format!("{path}/%"), skip])?;
            Ok((r.i64(0), r.i64(1)))
        })
        .await
        .unwrap()
}

/// Makes a resident account linked to `person` at her flat and signs it in.
async fn resident(app: &TestApp, name: &str, person: i64, unit: i64) -> String {
    account(app, name, linli::org::Role::Resident, unit, Some(person)).await
}

async fn account(
    app: &TestApp,
    name: &str,
    role: linli::org::Role,
    place: i64,
    person: Option<i64>,
) -> String {
    let n = name.to_string();
    app.db
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
                    person_id: person,
                    created_by: None,
                },
            )?;
            linli::org::users::add_grant(c, id, role, Some(place), None, Some(street), None)?;
            Ok(id)
        })
        .await
        .unwrap();
    app.token(name).await
}

fn in_days(n: i64) -> String {
    linli::kernel::time::local_date(linli::kernel::time::now_ms() + n * 86_400_000)
}

fn drill() -> Value {
    json!({"direction": "offer", "kind": "lend", "title": "冲击电钻出借", "body": "电话 13812345678 可联系",
           "return_on": in_days(7)})
}

struct Cast {
    jumin: String,
    linju: String,
    other: String,
    community: String,
}

/// jumin, a neighbour in her community (linju), another neighbour (pangren).
async fn cast(app: &TestApp) -> Cast {
    let (_, community) = jumin_home(app).await;
    let (p1, u1) = resident_person(app, community.clone(), false, 0).await;
    let (p2, u2) = resident_person(app, community.clone(), false, 1).await;
    Cast {
        jumin: app.token("jumin").await,
        linju: resident(app, "linju", p1, u1).await,
        other: resident(app, "pangren", p2, u2).await,
        community,
    }
}

async fn count_posts(app: &TestApp) -> i64 {
    app.query_i64("SELECT COUNT(*) FROM aid_posts").await
}

#[tokio::test]
async fn an_offer_is_answered_chosen_and_done_by_both() {
    let app = support::spawn().await;
    let c = cast(&app).await;

    let (s, p) = post(&app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["state"], "open");
    assert!(p["return_on"].is_string());
    // A phone typed into the post is masked as it is kept.
    assert!(!p["body"].as_str().unwrap().contains("13812345678"), "{p}");

    // The neighbour sees it: masked name and building, no flat.
    let (s, b) = get(&app, &c.linju, "/api/v1/aid").await;
    assert_eq!(s, 200, "{b}");
    let seen = b["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .cloned()
        .expect("the neighbour sees the post");
    assert!(seen["poster"].as_str().unwrap().contains('*'), "{seen}");
    assert!(seen.get("place_path").is_none() && seen.get("poster_person").is_none());

    // She writes; the poster is told out of app and sees one unread message.
    let (s, m) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "我想借用，周六还，我的电话是 13900001111"}),
    )
    .await;
    assert_eq!(s, 201, "{m}");
    assert!(!m["body"].as_str().unwrap().contains("13900001111"));
    let told = app
        .query_i64("SELECT COUNT(*) FROM reach_messages WHERE key = 'aid.msg_new'")
        .await;
    assert_eq!(told, 1);
    let (_, b) = get(&app, &c.jumin, "/api/v1/aid").await;
    // One more than the demo's waiting answer to her ladder request.
    assert_eq!(b["unread"], 2, "{b}");
    let (s, v) = get(&app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(s, 200, "{v}");
    let conv = v["thread"]["conversation"]["id"].as_i64().unwrap();
    assert_eq!(v["thread"]["messages"].as_array().unwrap().len(), 1);
    let (_, b) = get(&app, &c.jumin, "/api/v1/aid").await;
    assert_eq!(b["unread"], 1, "reading marks read");

    // Done before a responder is chosen: the wrong state.
    let (s, e) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{e}");

    // She chooses the neighbour; the other neighbour can no longer write.
    let (s, p) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/match"),
        json!({"conversation_id": conv}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "matched");
    let (s, _) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "我也想借"}),
    )
    .await;
    assert!(s == 409 || s == 404, "{s}");

    // Marking done by someone not a party: 403 with the reason.
    let (s, e) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/posts/{id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert!(message(&e).contains("发布人"), "{e}");

    let (s, p) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "matched");
    assert_eq!(p["responder_done"], true);
    let (s, _) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409);
    let (s, p) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "done");
    let done_audits = app
        .query_i64(
            "SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%Mutual aid #%: confirmed done%'",
        )
        .await;
    assert_eq!(done_audits, 2);

    // The pages show it, in both languages.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, &format!("/aid/{id}")).await;
    assert!(
        page.contains("冲击电钻出借") && page.contains("已完成"),
        "{page}"
    );
    let page = app.page(&b, "/aid/mine").await;
    assert!(page.contains("冲击电钻出借"));
    let _ = c.community;
    app.stop().await;
}

#[tokio::test]
async fn bad_posts_are_refused_with_a_reason_and_nothing_is_written() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let before = count_posts(&app).await;
    let cases = [
        (
            json!({"direction": "offer", "kind": "lend", "title": "梯子"}),
            "归还日期",
            "return date",
        ),
        (
            json!({"direction": "offer", "kind": "lend", "title": "梯子", "return_on": in_days(0)}),
            "今天之后",
            "after today",
        ),
        (
            json!({"direction": "offer", "kind": "medicine", "title": "降压药"}),
            "有效期",
            "expiry",
        ),
        (
            json!({"direction": "offer", "kind": "medicine", "title": "降压药", "expiry_on": in_days(-1)}),
            "过有效期",
            "expired",
        ),
        (
            json!({"direction": "offer", "kind": "goods", "title": "旧书", "days": 90}),
            "1 到 60",
            "between 1 and 60",
        ),
        (
            json!({"direction": "offer", "kind": "goods", "title": ""}),
            "标题",
            "title",
        ),
        (
            json!({"direction": "sideways", "kind": "goods", "title": "旧书"}),
            "提供",
            "offer",
        ),
        (
            json!({"direction": "offer", "kind": "medicine", "title": "降压药", "expiry_on": "31/03/2027"}),
            "年-月-日",
            "year-month-day",
        ),
    ];
    for (body, zh, en) in cases {
        let (s, e) = send(
            &app,
            &c.jumin,
            "/api/v1/aid/posts",
            Some(body.clone()),
            "zh-CN",
        )
        .await;
        assert_eq!(s, 422, "{body} {e}");
        assert!(message(&e).contains(zh), "{body}: {e}");
        let (s, e) = send(
            &app,
            &c.jumin,
            "/api/v1/aid/posts",
            Some(body.clone()),
            "en",
        )
        .await;
        assert_eq!(s, 422);
        assert!(message(&e).contains(en), "{body}: {e}");
    }
    // Posting in another community: refused.
    let other = app
        .db
        .read(move |cn| {
            cn.query_i64(
                "SELECT id FROM places WHERE kind = 'community' AND path <> $1 ORDER BY path LIMIT 1",
                linli::params![c.community.clone()],
            )
        })
        .await
        .unwrap();
    let mut d = drill();
    d["community_id"] = json!(other);
    let (s, e) = post(&app, &c.jumin, "/api/v1/aid/posts", d).await;
    assert_eq!(s, 403, "{e}");
    assert!(message(&e).contains("居住的社区"), "{e}");
    assert_eq!(count_posts(&app).await, before, "nothing half-written");

    // A worker or another role does not post: 403 with the reason.
    let shegong = app.token("shegong").await;
    let (s, e) = post(&app, &shegong, "/api/v1/aid/posts", drill()).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(count_posts(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn medicine_carries_the_warning_and_posts_expire() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let (s, p) = post(
        &app,
        &c.jumin,
        "/api/v1/aid/posts",
        json!({"direction": "offer", "kind": "medicine", "title": "多余的降压药", "expiry_on": in_days(3)}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert!(p["warning"].as_str().unwrap().contains("处方"), "{p}");
    // The post comes down when the medicine expires.
    assert!(p["expires_at"].as_i64().unwrap() <= linli::kernel::time::now_ms() + 4 * 86_400_000);
    let (_, v) = send(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}"),
        None,
        "en",
    )
    .await;
    assert!(
        v["post"]["warning"]
            .as_str()
            .unwrap()
            .contains("prescription"),
        "{v}"
    );
    let (b, _) = app.login_page("linju", PASSWORD).await;
    let page = app.page(&b, &format!("/aid/{id}")).await;
    assert!(
        page.contains("aid-warning") && page.contains("处方药"),
        "{page}"
    );

    // Past its time it is expired: off the board, no new messages.
    app.exec(
        "UPDATE aid_posts SET expires_at = 1 WHERE id = $1",
        &[linli::store::Val::Int(id)],
    )
    .await;
    let (_, b) = get(&app, &c.linju, "/api/v1/aid").await;
    assert!(b["posts"].as_array().unwrap().iter().all(|x| x["id"] != id));
    let (_, v) = get(&app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["state"], "expired");
    let (s, _) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "还有吗"}),
    )
    .await;
    assert!(s == 404 || s == 409, "{s}");
    app.stop().await;
}

#[tokio::test]
async fn other_communities_get_404_and_other_roles_403() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let (_, p) = post(&app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    let id = p["id"].as_i64().unwrap();

    let (p3, u3) = resident_person(&app, c.community.clone(), true, 0).await;
    let far = resident(&app, "yuanfang", p3, u3).await;
    let (s, b) = get(&app, &far, "/api/v1/aid").await;
    assert_eq!(s, 200, "{b}");
    assert!(b["posts"].as_array().unwrap().iter().all(|x| x["id"] != id));
    let (s, _) = get(&app, &far, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &far,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "你好"}),
    )
    .await;
    assert_eq!(s, 404);

    let bumen = app.token("bumen").await;
    let (s, e) = get(&app, &bumen, "/api/v1/aid").await;
    assert_eq!(s, 403, "{e}");
    let (s, _) = get(&app, &bumen, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &app,
        &bumen,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403);

    // A grid worker keeps only her grid: not the community's posts.
    let wangge = app.token("wangge").await;
    let (s, _) = post(
        &app,
        &wangge,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    // A resident does not hide: 403 (she is a neighbour, not staff).
    let (s, e) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    // Nor does a neighbour withdraw another's post.
    let (s, _) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, p) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/withdraw"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p["state"], "withdrawn");
    let (s, _) = get(&app, &c.linju, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(
        s, 404,
        "a withdrawn post she never wrote about is gone for her"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_block_refuses_messages_both_ways_and_hides_posts() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let (_, p) = post(&app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "可以借吗"}),
    )
    .await;
    assert_eq!(s, 201);
    let (_, v) = get(&app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    let conv = v["thread"]["conversation"]["id"].as_i64().unwrap();
    // A stranger to the conversation cannot block through it.
    let (s, _) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/conversations/{conv}/block"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, r) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/conversations/{conv}/block"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200, "{r}");

    let (s, e) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "为什么不回"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");
    assert!(message(&e).contains("屏蔽"), "{e}");
    let (s, e) = send(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        Some(json!({"body": "hello"})),
        "en",
    )
    .await;
    assert_eq!(s, 403);
    assert!(message(&e).contains("blocked"), "{e}");
    let (s, _) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "好的", "conversation_id": conv}),
    )
    .await;
    assert_eq!(s, 403, "refused both ways");
    let (_, b) = get(&app, &c.linju, "/api/v1/aid").await;
    assert!(b["posts"].as_array().unwrap().iter().all(|x| x["id"] != id));
    // The other neighbour still sees it.
    let (_, b) = get(&app, &c.other, "/api/v1/aid").await;
    assert!(b["posts"].as_array().unwrap().iter().any(|x| x["id"] == id));
    app.stop().await;
}

#[tokio::test]
async fn reports_open_the_conversation_to_workers_who_hide_with_a_reason() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let shegong = app.token("shegong").await;
    let (_, p) = post(&app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    let id = p["id"].as_i64().unwrap();
    post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "先付押金 500 元"}),
    )
    .await;
    // Before a report the worker sees the post but not the messages.
    let (s, v) = get(&app, &shegong, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert!(v["conversations"].as_array().unwrap().is_empty());
    assert!(v["thread"].is_null());
    let (s, b) = get(&app, &shegong, "/api/v1/aid").await;
    assert_eq!(s, 200);
    assert!(
        b["moderation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id)
    );

    // A report needs a reason; then the worker reads the conversation, audited.
    let (s, _) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/posts/{id}/report"),
        json!({"reason": ""}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, _) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}/report"),
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(s, 403, "the poster does not report her own post");
    let (s, p) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/posts/{id}/report"),
        json!({"reason": "疑似收押金骗钱"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["reports"], 0, "residents do not see report counts");
    let (_, v) = get(&app, &shegong, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["reports"], 1);
    assert_eq!(v["report_reasons"][0], "疑似收押金骗钱");
    let conv = v["conversations"][0]["id"].as_i64().unwrap();
    let before = app
        .query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%messages of a reported post read%'")
        .await;
    let (s, v) = get(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}?conversation={conv}"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["thread"]["messages"][0]["body"], "先付押金 500 元");
    let after = app
        .query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%messages of a reported post read%'")
        .await;
    assert_eq!(after, before + 1);

    // Hiding needs a reason; the poster reads it, neighbours no longer see the post.
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": " "}),
    )
    .await;
    assert_eq!(s, 422);
    let (s, p) = post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "涉嫌收取押金，已联系双方核实"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "hidden");
    let (_, v) = get(&app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["hidden_reason"], "涉嫌收取押金，已联系双方核实");
    let (s, _) = get(&app, &c.other, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(s, 404);
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app.page(&b, &format!("/aid/{id}")).await;
    assert!(page.contains("涉嫌收取押金"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn the_demo_street_has_posts_and_a_waiting_message() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (s, b) = get(&app, &jumin, "/api/v1/aid").await;
    assert_eq!(s, 200, "{b}");
    let posts = b["posts"].as_array().unwrap();
    assert!(posts.len() >= 5, "{b}");
    assert!(
        posts
            .iter()
            .any(|p| p["kind"] == "medicine" && p["warning"].is_string())
    );
    assert!(posts.iter().any(|p| p["distance_m"].is_i64()), "{b}");
    assert_eq!(b["unread"], 1);
    assert!(
        b["mine"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["state"] == "done")
    );
    let (br, _) = app.login_page("jumin", PASSWORD).await;
    let home = app.page(&br, "/").await;
    assert!(home.contains("home-aid"), "the home card tells her");
    let page = app.page(&br, "/aid").await;
    assert!(
        page.contains("aid-board") && !page.contains("aid.kind.") && !page.contains("aid.state."),
        "{page}"
    );
    app.stop().await;
}

/// A post jumin offers, and the conversation linju opens on it.
async fn drill_with_conversation(app: &TestApp, c: &Cast) -> (i64, i64) {
    let (_, p) = post(app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    let id = p["id"].as_i64().unwrap();
    let (s, _) = post(
        app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "可以借吗"}),
    )
    .await;
    assert_eq!(s, 201);
    let (_, v) = get(app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    (id, v["thread"]["conversation"]["id"].as_i64().unwrap())
}

#[tokio::test]
async fn the_one_who_blocked_lifts_her_block_and_nobody_else_can() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let (id, conv) = drill_with_conversation(&app, &c).await;
    let (s, _) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/conversations/{conv}/block"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    // The blocked one has no block of hers to lift; a stranger is not in the conversation.
    let (s, e) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/conversations/{conv}/unblock"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "{e}");
    assert!(message(&e).contains("没有屏蔽"), "{e}");
    let (s, e) = send(
        &app,
        &c.linju,
        &format!("/api/v1/aid/conversations/{conv}/unblock"),
        Some(json!({})),
        "en",
    )
    .await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("not blocked"), "{e}");
    let (s, _) = post(
        &app,
        &c.other,
        &format!("/api/v1/aid/conversations/{conv}/unblock"),
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let shegong = app.token("shegong").await;
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/aid/conversations/{conv}/unblock"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403, "a worker is no party of a conversation");
    let (s, e) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "还在吗"}),
    )
    .await;
    assert_eq!(s, 403, "{e}");

    // On the page: the one who blocked sees "unblock" and lifts it; they write again.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let page = app
        .page(&b, &format!("/aid/{id}?conversation={conv}"))
        .await;
    assert!(page.contains("aid-unblock"), "{page}");
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let r = b
        .post(app.url(&format!("/aid/conversations/{conv}/unblock")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, v) = get(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/posts/{id}?conversation={conv}"),
    )
    .await;
    assert_eq!(v["thread"]["blocked"], false, "lifted: {v}");
    assert!(
        app.query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%unblocked%'")
            .await
            >= 1
    );
    let (s, _) = post(
        &app,
        &c.linju,
        &format!("/api/v1/aid/posts/{id}/messages"),
        json!({"body": "还在吗"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = post(
        &app,
        &c.jumin,
        &format!("/api/v1/aid/conversations/{conv}/unblock"),
        json!({}),
    )
    .await;
    assert_eq!(s, 409, "nothing left to lift");
    app.stop().await;
}

#[tokio::test]
async fn a_reporter_takes_her_report_back_and_a_worker_restores_a_hidden_post() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let shegong = app.token("shegong").await;
    let (id, _) = drill_with_conversation(&app, &c).await;
    let report = format!("/api/v1/aid/posts/{id}/report");
    let (s, _) = post(&app, &c.other, &report, json!({"reason": "疑似骗钱"})).await;
    assert_eq!(s, 200);
    let unreport = |token: String| {
        let app = &app;
        let path = report.clone();
        async move {
            let r = app
                .client()
                .delete(app.url(&path))
                .bearer_auth(token)
                .header("accept-language", "en")
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The poster never reported; a neighbour who did not report has none to take back.
    assert_eq!(unreport(c.jumin.clone()).await.0, 403);
    let (s, e) = unreport(c.linju.clone()).await;
    assert_eq!(s, 409);
    assert!(message(&e).contains("not reported"), "{e}");
    let (s, p) = unreport(c.other.clone()).await;
    assert_eq!(s, 200, "{p}");
    let (_, v) = get(&app, &shegong, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["reports"], 0);
    assert!(v["report_reasons"].as_array().unwrap().is_empty());
    assert_eq!(unreport(c.other.clone()).await.0, 409, "taken back once");
    // She may report again.
    let (s, _) = post(&app, &c.other, &report, json!({"reason": "还是觉得有问题"})).await;
    assert_eq!(s, 200);

    // Hidden, then restored with a reason: back as it was, its poster told, audited.
    let (s, _) = post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "核实中"}),
    )
    .await;
    assert_eq!(s, 200);
    let restore = format!("/api/v1/aid/posts/{id}/restore");
    let (s, e) = post(&app, &shegong, &restore, json!({"reason": ""})).await;
    assert_eq!(s, 422);
    assert!(message(&e).contains("原因"), "{e}");
    let (s, _) = post(&app, &c.jumin, &restore, json!({"reason": "我的"})).await;
    assert_eq!(s, 403, "a resident does not restore");
    let other_community = {
        let community = c.community.clone();
        app.db
            .read(move |conn| {
                conn.query_i64(
                    "SELECT id FROM places WHERE kind = 'community' AND path <> $1 ORDER BY path LIMIT 1",
                    linli::params![community],
                )
            })
            .await
            .unwrap()
    };
    let far = account(
        &app,
        "shegong_far",
        linli::org::Role::CommunityWorker,
        other_community,
        None,
    )
    .await;
    let (s, _) = post(&app, &far, &restore, json!({"reason": "x"})).await;
    assert_eq!(s, 404, "another community's worker");
    let (_, v) = get(&app, &shegong, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(
        v["post"]["state"], "hidden",
        "nothing written by the refusals"
    );
    let (s, p) = post(
        &app,
        &shegong,
        &restore,
        json!({"reason": "已与双方核实，无问题"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "open");
    assert!(p["hidden_reason"].is_null(), "{p}");
    let (s, _) = post(&app, &shegong, &restore, json!({"reason": "再来"})).await;
    assert_eq!(s, 409, "not hidden any more");
    let (_, b) = get(&app, &c.linju, "/api/v1/aid").await;
    assert!(b["posts"].as_array().unwrap().iter().any(|x| x["id"] == id));
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM reach_messages WHERE idem LIKE 'aid:restored:%'")
            .await,
        1
    );
    assert!(
        app.query_i64("SELECT COUNT(*) FROM audit_entries WHERE body LIKE '%shown again%'")
            .await
            >= 1
    );
    // On the page: the worker's restore form on a hidden post, the reporter's take-back.
    post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "再次核实"}),
    )
    .await;
    let (w, _) = app.login_page("shegong", PASSWORD).await;
    let page = app.page(&w, &format!("/aid/{id}")).await;
    assert!(page.contains("aid-restore-form"), "{page}");
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let r = w
        .post(app.url(&format!("/aid/{id}/restore")))
        .form(&[("csrf", csrf.as_str()), ("reason", "核实完毕")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (o, _) = app.login_page("pangren", PASSWORD).await;
    let page = app.page(&o, &format!("/aid/{id}")).await;
    assert!(page.contains("aid-unreport"), "{page}");
    let csrf = support::extract_input(&page, "csrf").expect("csrf");
    let r = o
        .post(app.url(&format!("/aid/{id}/unreport")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, v) = get(&app, &shegong, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["reports"], 0, "taken back on the page");
    app.stop().await;
}

#[tokio::test]
async fn the_expiry_job_marks_posts_expired_and_tells_the_poster_once() {
    let app = support::spawn().await;
    let c = cast(&app).await;
    let (_, p) = post(&app, &c.jumin, "/api/v1/aid/posts", drill()).await;
    let id = p["id"].as_i64().unwrap();
    let (_, q) = post(
        &app,
        &c.linju,
        "/api/v1/aid/posts",
        json!({"direction": "request", "kind": "help",
        "title": "求陪同去医院"}),
    )
    .await;
    let fresh = q["id"].as_i64().unwrap();
    app.exec(
        "UPDATE aid_posts SET expires_at = 1 WHERE id = $1",
        &[linli::store::Val::Int(id)],
    )
    .await;
    let before: i64 = app
        .query_i64("SELECT COUNT(*) FROM aid_posts WHERE state = 'expired'")
        .await;
    let n = linli::aid::service::expire_due(&app.state).await.unwrap();
    assert!(n >= 1);
    let stored = app
        .query_i64("SELECT COUNT(*) FROM aid_posts WHERE state = 'expired'")
        .await;
    assert_eq!(stored, before + n as i64);
    let told = "SELECT COUNT(*) FROM reach_messages WHERE idem LIKE 'aid:expired:%'";
    let first = app.query_i64(told).await;
    assert!(first >= 1);
    assert_eq!(
        linli::aid::service::expire_due(&app.state).await.unwrap(),
        0
    );
    assert_eq!(app.query_i64(told).await, first, "told once");
    let (_, v) = get(&app, &c.jumin, &format!("/api/v1/aid/posts/{id}")).await;
    assert_eq!(v["post"]["state"], "expired");
    let (_, v) = get(&app, &c.linju, &format!("/api/v1/aid/posts/{fresh}")).await;
    assert_eq!(v["post"]["state"], "open", "a post in its time stays open");
    // Hidden and restored after it expired: expired again, not told twice.
    let shegong = app.token("shegong").await;
    post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/hide"),
        json!({"reason": "查看"}),
    )
    .await;
    let (s, p) = post(
        &app,
        &shegong,
        &format!("/api/v1/aid/posts/{id}/restore"),
        json!({"reason": "无问题"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["state"], "expired");
    linli::aid::service::expire_due(&app.state).await.unwrap();
    assert_eq!(app.query_i64(told).await, first);
    app.stop().await;
}
