//! The case queue: the list of cases a user works on, filtered and paged.

use super::*;

#[derive(Template)]
#[template(path = "cases/list.html")]
pub(super) struct ListPage {
    pub(super) l: Layout,
    pub(super) rows: Vec<Row>,
    pub(super) tabs: Vec<(String, &'static str, bool)>,
    pub(super) worker: bool,
    pub(super) can_map: bool,
    pub(super) can_report: bool,
    /// What was searched for.
    pub(super) words: String,
    /// The first page (when this is a later one) and the next, when there is one.
    pub(super) prev: Option<String>,
    pub(super) next: Option<String>,
    /// The steps that may be taken on the ticked cases at once: (action, label, dispatch).
    pub(super) batch: Vec<(&'static str, &'static str, bool)>,
    /// The organisations a batch dispatches to (dispatchers only): (id, name).
    pub(super) orgs: Vec<(i64, String)>,
    /// The open co-handling tasks of the caller's organisations (协办任务), late first:
    /// (case id, task, state label, deadline in words, overdue).
    pub(super) tasks: Vec<(i64, String, &'static str, String, bool)>,
}

/// The states of a report that has ended, the tab a reporter finds it under.
impl ListPage {
    /// The page is the 待我处理 tab: its empty state says so and points to the open cases.
    fn on_my_queue(&self) -> bool {
        self.tabs
            .iter()
            .any(|(href, _, on)| *on && href.contains("waiting=me"))
    }
}

pub(super) const FINISHED: &str = "closed,rated,merged,rejected";

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    pub(super) state: Option<String>,
    pub(super) late: Option<String>,
    pub(super) handling: Option<String>,
    /// `me` or `verify` ([`Filter::waiting`]).
    pub(super) waiting: Option<String>,
    /// A case number (opens it) or words to look for.
    pub(super) q: Option<String>,
    /// The key of this page, as the previous page's "next" link gave it.
    pub(super) after: Option<String>,
    /// Only cases at this place or under it (a building's mark on the case map links here).
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub(super) place: Option<i64>,
}

/// Cases per page of the list.
pub(super) const PAGE: i64 = 100;

pub(super) async fn list_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let viewer = Viewer::of(&caller);
    let worker = viewer.is_worker();
    let can_map = !viewer.verify.is_empty() || !viewer.orgs.is_empty();
    let words = q.q.as_deref().map(str::trim).unwrap_or("").to_string();
    // A case number goes straight to the case (which says so when it is out of sight).
    if let Ok(id) = words.trim_start_matches('#').parse::<i64>() {
        return Ok(Redirect::to(&format!("/cases/{id}")).into_response());
    }
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let chosen = given(&q.state)
        || given(&q.late)
        || given(&q.handling)
        || given(&q.waiting)
        || q.place.is_some()
        || !words.is_empty();
    // A grid worker's, a department's and a property company's queue opens on what waits on
    // them ("待我处理"); a dispatcher's on every open case of her area.
    let dispatcher = !viewer.dispatch.is_empty();
    let waiting = q
        .waiting
        .clone()
        .filter(|w| !w.is_empty())
        .or((worker && !dispatcher && !chosen).then(|| "me".to_string()));
    let viewer_of_rows = viewer.clone();
    let filter = Filter {
        // A search looks through every state unless one is chosen.
        state: q
            .state
            .clone()
            .filter(|s| !s.is_empty())
            .or((words.is_empty() && waiting.is_none()).then(|| "open".into())),
        waiting: waiting.clone(),
        late: q.late.as_deref().map(|v| v == "1"),
        handling: q.handling.as_deref().map(|v| v == "1"),
        mine: (!worker).then_some(true),
        q: (!words.is_empty()).then(|| words.clone()),
        limit: Some(PAGE),
        after: q.after.clone().filter(|a| !a.is_empty()),
        place: q.place,
        ..Filter::default()
    };
    let now = crate::store::now_ms();
    let (cases, next_key) = state
        .db
        .read(move |c| Ok(crate::cases::page(c, &viewer, &filter, now)))
        .await??;
    // The same list from its first page, or from a key on.
    let link = |after: Option<&str>| {
        let mut qs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("state", &q.state),
            ("late", &q.late),
            ("handling", &q.handling),
            ("waiting", &q.waiting),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                qs.push((k, v.to_string()));
            }
        }
        if !words.is_empty() {
            qs.push(("q", words.clone()));
        }
        if let Some(p) = q.place {
            qs.push(("place", p.to_string()));
        }
        if let Some(a) = after {
            qs.push(("after", a.to_string()));
        }
        let enc = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(qs)
            .finish();
        if enc.is_empty() {
            "/cases".to_string()
        } else {
            format!("/cases?{enc}")
        }
    };
    let prev = q
        .after
        .as_deref()
        .is_some_and(|a| !a.is_empty())
        .then(|| link(None));
    let next = next_key.as_deref().map(|k| link(Some(k)));
    let t = Tr(ctx().lang);
    let current = q.state.unwrap_or_default();
    let late = q.late.as_deref() == Some("1");
    let mut tabs = Vec::new();
    if worker {
        // What waits on me first, then what I may check on site, then everything open.
        tabs.push((
            "/cases?waiting=me".to_string(),
            t.s("case.page.waiting_me"),
            waiting.as_deref() == Some("me"),
        ));
        if !viewer_of_rows.verify.is_empty() {
            tabs.push((
                "/cases?waiting=verify".to_string(),
                t.s("case.page.waiting_verify"),
                waiting.as_deref() == Some("verify"),
            ));
        }
        tabs.push((
            "/cases?state=open".to_string(),
            t.s("case.page.open"),
            (current == "open" || (current.is_empty() && waiting.is_none()))
                && !late
                && words.is_empty(),
        ));
    } else {
        tabs.push((
            "/cases".to_string(),
            t.s("case.page.open"),
            current.is_empty() && !late && words.is_empty(),
        ));
        // A reporter follows their reports to the end: a closed one waits for their rating.
        tabs.push((
            format!("/cases?state={FINISHED}"),
            t.s("case.page.finished"),
            current == FINISHED,
        ));
    }
    if worker {
        tabs.push(("/cases?late=1".into(), t.s("case.page.late"), late));
        for s in [
            "new",
            "accepted,returned",
            "dispatched,signed_for",
            "in_progress",
            "resolved,verified",
            "on_hold",
            "closed,rated",
        ] {
            let first = s.split(',').next().unwrap_or(s);
            tabs.push((
                format!("/cases?state={s}"),
                t.k("case.state", first),
                current == s,
            ));
        }
    }
    let mut list_rows = rows(&cases, t, caller.user_id);
    for (row, case) in list_rows.iter_mut().zip(&cases) {
        if let Some((w, me)) = waits_on_text(case, &viewer_of_rows, t) {
            row.waits = w;
            row.waits_me = me;
        }
    }
    // Batch steps: 签收 for handlers, 派单 and 受理并派单 for dispatchers.
    let mut batch = Vec::new();
    // Handlers: departments and property companies, and grid workers, to whom sensor
    // alerts' cases are dispatched.
    if !viewer_of_rows.orgs.is_empty() || (worker && !dispatcher) {
        batch.push(("sign_for", t.k("case.action", "sign_for"), false));
    }
    let orgs = if dispatcher {
        batch.push(("dispatch", t.k("case.action", "dispatch"), false));
        batch.push(("accept", t.k("case.action", "accept_dispatch"), true));
        let street = caller.street_id.unwrap_or(0);
        state
            .db
            .read(move |c| crate::cases::org_choices(c, street))
            .await?
    } else {
        Vec::new()
    };
    let my_orgs = viewer_of_rows.orgs.clone();
    let now = crate::store::now_ms();
    let tasks = state
        .db
        .read(move |c| crate::cases::tasks::for_orgs(c, &my_orgs, now, 50))
        .await?
        .into_iter()
        .map(|k| {
            let due = k.due_at.map(when).unwrap_or_default();
            (
                k.case_id,
                k.task,
                t.k("case.task_state", k.state.as_str()),
                due,
                k.overdue,
            )
        })
        .collect();
    Ok(render(
        &ListPage {
            l: Layout::new(Some(&caller)),
            rows: list_rows,
            tabs,
            worker,
            can_map,
            can_report: caller.street_id.is_some(),
            words,
            prev,
            next,
            batch,
            orgs,
            tasks,
        },
        StatusCode::OK,
    ))
}
