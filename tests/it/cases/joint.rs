//! Joint handling (联合处置, issue 26 part 2): co-handlers' tasks with their own acceptance,
//! deadline and done; consultations that set tasks; the lead resolves only over finished
//! tasks; each task escalates on its own, across a restart; the figures count per task and
//! per organisation; every bad input refused with a reason.

use linli::cases::calendar;
use linli::cases::lifecycle::{Actor, Refusal};
use linli::cases::tasks::{self, TaskAction, TaskState};

use super::*;

/// The task rules as the issue states them, written out independently of `TASK_RULES`:
/// "action: from-states: roles → to".
const SPEC: &[&str] = &[
    "accept: open: co_handler: accepted",
    "decline: open: co_handler: declined",
    "done: accepted: co_handler: done",
    "release: open accepted declined: dispatcher handler: released",
    "reopen: done: dispatcher handler: accepted",
];

#[test]
fn the_task_table_is_exactly_the_rules_every_action_state_and_role() {
    let mut checked = 0;
    for line in SPEC {
        let parts: Vec<&str> = line.split(':').map(str::trim).collect();
        let action = TaskAction::parse(parts[0]).unwrap();
        let from: Vec<TaskState> = parts[1]
            .split(' ')
            .map(|s| TaskState::parse(s).unwrap())
            .collect();
        let roles: Vec<&str> = parts[2].split(' ').collect();
        let to = TaskState::parse(parts[3]).unwrap();
        for state in TaskState::ALL {
            for actor in Actor::ALL {
                let got = tasks::check(action, state, &[actor]);
                let expected = if !roles.contains(&actor.as_str()) {
                    Err(Refusal::Role)
                } else if !from.contains(&state) {
                    Err(Refusal::State)
                } else {
                    Ok(to)
                };
                assert_eq!(
                    got,
                    expected,
                    "{} from {} by {}",
                    parts[0],
                    state.as_str(),
                    actor.as_str()
                );
                checked += 1;
            }
            assert_eq!(tasks::check(action, state, &[]), Err(Refusal::Role));
        }
    }
    assert_eq!(SPEC.len(), TaskAction::ALL.len());
    assert_eq!(
        checked,
        TaskAction::ALL.len() * TaskState::ALL.len() * Actor::ALL.len()
    );
    // The co-handler takes no step on the case itself: no rule of the case's table names it.
    for a in linli::cases::Action::ALL {
        for s in linli::cases::State::ALL {
            assert_eq!(
                linli::cases::lifecycle::check(a, s, &[Actor::CoHandler]).err(),
                Some(Refusal::Role),
                "{a:?} {s:?}"
            );
        }
    }
    // Who plays which part towards a task: the dispatcher and the lead carry over, the
    // co-handler only for its own organisation's task.
    assert_eq!(
        tasks::actors_for(
            &[Actor::Dispatcher, Actor::Verifier, Actor::Reporter],
            &[7],
            9
        ),
        vec![Actor::Dispatcher]
    );
    assert_eq!(
        tasks::actors_for(&[Actor::CoHandler], &[7, 9], 9),
        vec![Actor::CoHandler]
    );
    assert!(tasks::actors_for(&[Actor::CoHandler], &[7], 9).is_empty());
}

/// A case dispatched to the property company (the lead), in progress.
async fn case_in_progress(app: &TestApp) -> (i64, i64) {
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let wuye_org = org_of(app, "wuye").await;
    let b = buildings(app).await;
    let id = report(
        app,
        &admin,
        json!({"category": "city_appearance", "description": "消防通道被车辆堵塞，还堆了杂物", "place_id": b[0],
               "channel": "patrol", "extra": {"kind": "垃圾堆放"}}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    step_ok(
        app,
        &admin,
        id,
        json!({"action": "accept", "dispatch": true, "org_id": wuye_org}),
    )
    .await;
    step_ok(app, &wuye, id, json!({"action": "sign_for"})).await;
    step_ok(app, &wuye, id, json!({"action": "start"})).await;
    (id, wuye_org)
}

async fn task_step(app: &TestApp, token: &str, id: i64, task: i64, body: Value) -> (u16, Value) {
    post(
        app,
        token,
        &format!("/api/v1/cases/{id}/tasks/{task}/steps"),
        body,
    )
    .await
}

#[tokio::test]
async fn a_consultation_sets_tasks_and_the_lead_resolves_only_over_finished_ones() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let wuye = app.token("wuye").await;
    let bumen = app.token("bumen").await;
    let jumin = app.token("jumin").await;
    let bumen_org = org_of(&app, "bumen").await;
    let bumen_id = user_id(&app, "bumen").await;
    let (id, _) = case_in_progress(&app).await;

    // Before it is set a task, the department does not see the case.
    let (s, _) = app.get_json(&bumen, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 404);

    // 会商: who took part, what was decided, who does what — one task for the department.
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/consultations"),
        json!({"participants": "物业公司、城管中队、街道城运中心", "decision": "物业清理杂物，城管负责劝离车辆",
               "tasks": [{"org_id": bumen_org, "task": "劝离占用消防通道的车辆", "hours": 8}]}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let task = v["task_ids"][0].as_i64().unwrap();
    let inbox = app
        .db
        .read(move |c| c.query_i64("SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND case_id = $2 AND kind = 'task_added'", linli::params![bumen_id, id]))
        .await
        .unwrap();
    assert_eq!(inbox, 1, "the co-handler is told");

    // The department now sees the case and its task, and finds it in its own task list.
    let (s, d) = app.get_json(&bumen, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["roles"], json!(["co_handler"]));
    assert!(
        d["actions"].as_array().unwrap().is_empty(),
        "no step on the case itself"
    );
    let (_, mine) = app.get_json(&bumen, "/api/v1/case-tasks").await;
    assert!(
        mine.as_array().unwrap().iter().any(|t| t["id"] == task),
        "{mine}"
    );
    let (_, t) = app
        .get_json(&bumen, &format!("/api/v1/cases/{id}/tasks"))
        .await;
    assert_eq!(t["tasks"][0]["state"], "open");
    assert_eq!(t["tasks"][0]["clock"], "accept");
    assert_eq!(t["tasks"][0]["actions"], json!(["accept", "decline"]));
    assert_eq!(
        t["consultations"][0]["participants"],
        "物业公司、城管中队、街道城运中心"
    );
    assert_eq!(t["may_set"], false);

    // The lead may not resolve while the task is open (409, with the reason).
    let (s, v) = step(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "已清理"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("协办任务"),
        "{v}"
    );

    // The lead may not accept the department's task (403); the department accepts, its own
    // deadline starts; it may not mark it done without saying what was done.
    let (s, _) = task_step(&app, &wuye, id, task, json!({"action": "accept"})).await;
    assert_eq!(s, 403);
    let (s, v) = task_step(&app, &bumen, id, task, json!({"action": "accept"})).await;
    assert_eq!((s, &v["state"]), (200, &json!("accepted")), "{v}");
    let (_, t) = app
        .get_json(&admin, &format!("/api/v1/cases/{id}/tasks"))
        .await;
    assert_eq!(t["tasks"][0]["clock"], "resolve");
    assert!(
        t["tasks"][0]["due_at"].as_i64().unwrap() > t["tasks"][0]["created_at"].as_i64().unwrap()
    );
    let (s, _) = task_step(&app, &bumen, id, task, json!({"action": "done"})).await;
    assert_eq!(s, 422);
    let (s, _) = task_step(
        &app,
        &bumen,
        id,
        task,
        json!({"action": "done", "note": "车辆已全部劝离"}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = task_step(
        &app,
        &bumen,
        id,
        task,
        json!({"action": "done", "note": "再来一次"}),
    )
    .await;
    assert_eq!(s, 409, "done twice");

    // The resident who reported nothing here sees no tasks (404), another role 403 to set one.
    let (s, _) = app
        .get_json(&jumin, &format!("/api/v1/cases/{id}/tasks"))
        .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &app,
        &wuye,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": bumen_org, "task": "再派一个"}),
    )
    .await;
    assert_eq!(s, 403);

    // Now the lead resolves; the timeline tells the whole story.
    step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "杂物清理完毕，通道畅通"}),
    )
    .await;
    let (_, d) = app.get_json(&admin, &format!("/api/v1/cases/{id}")).await;
    let actions: Vec<&str> = d["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "consultation",
        "task_added",
        "task_accept",
        "task_done",
        "resolve",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    // Once resolved, no task may be set (409).
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": bumen_org, "task": "补一个任务"}),
    )
    .await;
    assert_eq!(s, 409);
}

#[tokio::test]
async fn bad_tasks_are_refused_with_a_reason_and_nothing_is_half_written() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let bumen_org = org_of(&app, "bumen").await;
    let (id, wuye_org) = case_in_progress(&app).await;
    let count = || async {
        count_of(
            &app,
            format!("SELECT COUNT(*) FROM case_tasks WHERE case_id = {id}"),
        )
        .await
            + count_of(
                &app,
                format!("SELECT COUNT(*) FROM case_consultations WHERE case_id = {id}"),
            )
            .await
    };
    // An organisation of another street: a second street with its own department.
    let other = app
        .db
        .write(|c| {
            let p = c.query_one(
                "INSERT INTO places (parent_id, kind, code, name, path, depth, created_at) VALUES (NULL, 'street', 'other-street', '邻街道', 'other-street', 1, 0) RETURNING id",
                &[],
            )?;
            let s = p.i64(0);
            c.query_one(
                "INSERT INTO organisations (street_id, kind, code, name, created_at) VALUES ($1, 'department', 'other-dept', '邻街道城管', 0) RETURNING id",
                linli::params![s],
            )
            .map(|r| r.i64(0))
        })
        .await
        .unwrap();
    for (body, status, words) in [
        (
            json!({"org_id": other, "task": "外街道协办"}),
            422,
            "本街道",
        ),
        (
            json!({"org_id": wuye_org, "task": "牵头单位自己协办"}),
            422,
            "牵头",
        ),
        (json!({"org_id": bumen_org, "task": "x"}), 422, "任务的内容"),
        (
            json!({"org_id": bumen_org, "task": "劝离车辆", "hours": 0}),
            422,
            "工作小时",
        ),
    ] {
        let (s, v) = post(
            &app,
            &admin,
            &format!("/api/v1/cases/{id}/tasks"),
            body.clone(),
        )
        .await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap_or("").contains(words),
            "{body}: {v}"
        );
    }
    // In English too.
    let (s, v) = post_lang(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": wuye_org, "task": "lead as co-handler"}),
        "en",
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("lead"),
        "{v}"
    );
    // A consultation whose second task is bad writes nothing: not the minutes, not the first task.
    let (s, v) = post(&app, &admin, &format!("/api/v1/cases/{id}/consultations"),
        json!({"participants": "物业、城管", "decision": "分头处理",
               "tasks": [{"org_id": bumen_org, "task": "劝离车辆"}, {"org_id": wuye_org, "task": "牵头单位"}]})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(count().await, 0);
    // Two open tasks for one organisation: the second refused (409).
    let (s, _) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": bumen_org, "task": "劝离车辆"}),
    )
    .await;
    assert_eq!(s, 201);
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": bumen_org, "task": "再劝离一次"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    // The co-handler declines with a reason; the task blocks the lead until released.
    let task = count_of(
        &app,
        format!("SELECT id FROM case_tasks WHERE case_id = {id}"),
    )
    .await;
    let (s, _) = task_step(&app, &bumen, id, task, json!({"action": "decline"})).await;
    assert_eq!(s, 422, "a reason is needed");
    let (s, _) = task_step(
        &app,
        &bumen,
        id,
        task,
        json!({"action": "decline", "note": "不属于我们的职责"}),
    )
    .await;
    assert_eq!(s, 200);
    let wuye = app.token("wuye").await;
    let (s, _) = step(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "已处理"}),
    )
    .await;
    assert_eq!(s, 409);
    // The co-handler cannot release its own task (403); the lead can, with a reason.
    let (s, _) = task_step(
        &app,
        &bumen,
        id,
        task,
        json!({"action": "release", "note": "算了"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = task_step(
        &app,
        &wuye,
        id,
        task,
        json!({"action": "release", "note": "车辆已自行驶离"}),
    )
    .await;
    assert_eq!(s, 200);
    step_ok(
        &app,
        &wuye,
        id,
        json!({"action": "resolve", "note": "已处理"}),
    )
    .await;

    // A self-governed case takes no tasks (409).
    let jumin = app.token("jumin").await;
    let b = buildings(&app).await;
    let g = report(
        &app,
        &jumin,
        json!({"category": "stairwell_clutter", "description": "楼道堆物", "place_id": b[0]}),
    )
    .await;
    let gid = g["case"]["id"].as_i64().unwrap();
    step_ok(&app, &admin, gid, json!({"action": "accept"})).await;
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{gid}/tasks"),
        json!({"org_id": bumen_org, "task": "城管协助"}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
}

#[tokio::test]
async fn a_task_escalates_on_its_own_neither_missed_nor_repeated_across_a_restart() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let bumen_org = org_of(&app, "bumen").await;
    let bumen_id = user_id(&app, "bumen").await;
    let (id, _) = case_in_progress(&app).await;
    let (s, v) = post(
        &app,
        &admin,
        &format!("/api/v1/cases/{id}/tasks"),
        json!({"org_id": bumen_org, "task": "劝离车辆", "hours": 4}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let task = v["id"].as_i64().unwrap();
    let (due, warn) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT due_at, warn_at FROM case_tasks WHERE id = $1",
                linli::params![task],
            )?;
            Ok((r.i64(0), r.i64(1)))
        })
        .await
        .unwrap();
    let street = street_of(&app).await;
    let cal = app
        .db
        .read(move |c| calendar::Calendar::load(c, street))
        .await
        .unwrap();
    let th = linli::cases::escalation::thresholds(&cal, due);
    let sweep = |db: &Db, now: i64| {
        let db = db.clone();
        async move { db.write(move |c| tasks::sweep(c, now)).await.unwrap() }
    };
    let events = |db: &Db| {
        let db = db.clone();
        async move {
            db.read(move |c| {
                Ok(c.query(
                    "SELECT action, data FROM case_events WHERE case_id = $1 ORDER BY id",
                    linli::params![id],
                )?
                .iter()
                .map(|r| {
                    (
                        r.str(0),
                        serde_json::from_str::<Value>(&r.str(1)).unwrap_or(Value::Null),
                    )
                })
                .collect::<Vec<_>>())
            })
            .await
            .unwrap()
        }
    };
    let count = |ev: &[(String, Value)], a: &str| ev.iter().filter(|(x, _)| x == a).count();
    sweep(&app.db, warn - 1).await;
    assert_eq!(count(&events(&app.db).await, "task_warning"), 0);
    sweep(&app.db, warn + 1).await;
    sweep(&app.db, warn + 2).await;
    assert_eq!(count(&events(&app.db).await, "task_warning"), 1);
    sweep(&app.db, due + 1).await;
    sweep(&app.db, due + 2).await;
    let ev = events(&app.db).await;
    assert_eq!(count(&ev, "task_escalated"), 1);
    // The case's own clock is the lead's: the case did not escalate with its task.
    assert_eq!(count(&ev, "escalated"), 0);
    let supervision = app
        .db
        .read(move |c| c.query_i64("SELECT COUNT(*) FROM inbox WHERE user_id = $1 AND case_id = $2 AND kind = 'task_supervision'", linli::params![bumen_id, id]))
        .await
        .unwrap();
    assert_eq!(supervision, 1);
    // "Restart" after days of downtime: one catch-up to level 3, said once.
    let url = app.database_url.clone();
    let db2 = tokio::task::spawn_blocking(move || Db::open(&url).unwrap())
        .await
        .unwrap();
    sweep(&db2, th[2] + 1).await;
    sweep(&db2, th[2] + 5).await;
    let ev = events(&db2).await;
    let levels: Vec<i64> = ev
        .iter()
        .filter(|(a, _)| a == "task_escalated")
        .map(|(_, d)| d["level"].as_i64().unwrap())
        .collect();
    assert_eq!(levels, vec![1, 3]);
    let last = ev
        .iter()
        .rev()
        .find(|(a, _)| a == "task_escalated")
        .unwrap();
    assert_eq!(last.1["caught_up"], true);
    assert_eq!(last.1["task_id"], task);
    let (level, late, next) = db2
        .read(move |c| {
            let r = c.query_one(
                "SELECT level, late, next_alarm_at FROM case_tasks WHERE id = $1",
                linli::params![task],
            )?;
            Ok((r.i64(0), r.i64(1), r.opt_i64(2)))
        })
        .await
        .unwrap();
    assert_eq!((level, late, next), (3, 1, None));

    // The figures count the task late for the department, and overdue now.
    let (s, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    assert_eq!(s, 200, "{f}");
    let row = f["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["org_id"] == bumen_org)
        .unwrap()
        .clone();
    assert_eq!(row["added"], 1, "{row}");
    assert_eq!(row["late"], 1, "{row}");
    assert_eq!(row["open"], 1, "{row}");
    // The department reads its own row; the community worker reads none.
    let bumen = app.token("bumen").await;
    let (_, f) = app.get_json(&bumen, "/api/v1/cases/figures").await;
    assert!(
        f["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["org_id"] == bumen_org),
        "{f}"
    );
}

#[tokio::test]
async fn task_figures_equal_a_count_from_the_tasks() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let bumen = app.token("bumen").await;
    let wuye = app.token("wuye").await;
    let bumen_org = org_of(&app, "bumen").await;
    let mut done = 0;
    for i in 0..4 {
        let (id, _) = case_in_progress(&app).await;
        let (_, v) = post(
            &app,
            &admin,
            &format!("/api/v1/cases/{id}/tasks"),
            json!({"org_id": bumen_org, "task": format!("第{i}项协办")}),
        )
        .await;
        let task = v["id"].as_i64().unwrap();
        match i % 4 {
            0 => {
                task_step(&app, &bumen, id, task, json!({"action": "accept"})).await;
                task_step(
                    &app,
                    &bumen,
                    id,
                    task,
                    json!({"action": "done", "note": "完成"}),
                )
                .await;
                done += 1;
            }
            1 => {
                task_step(
                    &app,
                    &wuye,
                    id,
                    task,
                    json!({"action": "release", "note": "不需要了"}),
                )
                .await;
            }
            2 => {
                task_step(
                    &app,
                    &bumen,
                    id,
                    task,
                    json!({"action": "decline", "note": "非本单位职责"}),
                )
                .await;
            }
            _ => {}
        }
    }
    let direct = |sql: &'static str| {
        let app = &app;
        async move {
            count_of(
                app,
                format!("SELECT COUNT(*) FROM case_tasks WHERE org_id = {bumen_org} AND {sql}"),
            )
            .await
        }
    };
    let (_, f) = app.get_json(&admin, "/api/v1/cases/figures").await;
    let row = f["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["org_id"] == bumen_org)
        .unwrap()
        .clone();
    assert_eq!(row["added"].as_i64().unwrap(), direct("1 = 1").await);
    assert_eq!(
        row["done"].as_i64().unwrap(),
        direct("state = 'done'").await
    );
    assert_eq!(row["done"].as_i64().unwrap(), done);
    assert_eq!(
        row["on_time"].as_i64().unwrap(),
        direct("state = 'done' AND late = 0").await
    );
    assert_eq!(
        row["open"].as_i64().unwrap(),
        direct("state IN ('open', 'accepted')").await
    );
    assert_eq!(
        row["released"].as_i64().unwrap(),
        direct("state = 'released'").await
    );
    assert_eq!(
        row["declined"].as_i64().unwrap(),
        direct("state = 'declined'").await
    );
}

/// One number from the database (a test's own query).
async fn count_of(app: &TestApp, sql: String) -> i64 {
    app.db.read(move |c| c.query_i64(&sql, &[])).await.unwrap()
}

async fn post_form(app: &TestApp, b: &reqwest::Client, path: &str, form: &[(&str, &str)]) -> u16 {
    let r = b.post(app.url(path)).form(form).send().await.unwrap();
    let s = r.status().as_u16();
    assert_eq!(s, 303, "{path}: {}", r.text().await.unwrap_or_default());
    s
}

#[tokio::test]
async fn the_case_page_shows_tasks_and_takes_them_through_forms() {
    let app = support::spawn().await;
    let bumen_org = org_of(&app, "bumen").await;
    let (id, _) = case_in_progress(&app).await;
    let (admin, _) = app.login_page("admin", PASSWORD).await;
    let page = app.page(&admin, &format!("/cases/{id}")).await;
    assert!(
        page.contains("id=\"tasks-empty\""),
        "the empty state says what to do"
    );
    let csrf = extract_input(&page, "csrf").unwrap();
    let org = bumen_org.to_string();
    post_form(
        &app,
        &admin,
        &format!("/cases/{id}/consultations"),
        &[
            ("csrf", csrf.as_str()),
            ("participants", "物业、城管中队"),
            ("decision", "城管劝离车辆"),
            ("org_1", &org),
            ("task_1", "劝离占道车辆"),
            ("hours_1", ""),
            ("org_2", ""),
            ("task_2", ""),
        ],
    )
    .await;
    let page = app.page(&admin, &format!("/cases/{id}")).await;
    assert!(
        page.contains("劝离占道车辆") && page.contains("待签收"),
        "{page}"
    );
    assert!(page.contains("城管劝离车辆"));
    // The department accepts through its form; its queue lists the task.
    let (bumen, _) = app.login_page("bumen", PASSWORD).await;
    let list = app.page(&bumen, "/cases").await;
    assert!(
        list.contains("id=\"my-tasks\"") && list.contains("劝离占道车辆"),
        "{list}"
    );
    let page = app.page(&bumen, &format!("/cases/{id}")).await;
    let task = count_of(
        &app,
        format!("SELECT id FROM case_tasks WHERE case_id = {id}"),
    )
    .await;
    assert!(
        page.contains(&format!("id=\"task-{task}-accept\"")),
        "{page}"
    );
    let csrf = extract_input(&page, "csrf").unwrap();
    post_form(
        &app,
        &bumen,
        &format!("/cases/{id}/tasks/{task}/step"),
        &[("csrf", csrf.as_str()), ("action", "accept")],
    )
    .await;
    let page = app.page(&bumen, &format!("/cases/{id}")).await;
    assert!(page.contains("办理中"), "{page}");
    // In English, no raw keys.
    let en = admin
        .get(app.url(&format!("/cases/{id}")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("Joint handling") && en.contains("being done"),
        "{en}"
    );
    assert!(
        !en.contains("case.tasks.") && !en.contains("case.task_state."),
        "raw keys"
    );
}
