//! One case: its page, its events and the actions taken on it.

use super::*;

pub(super) struct EventView {
    pub(super) at: String,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) to_state: String,
    pub(super) note: String,
    pub(super) level: Option<i64>,
}

pub(super) struct ActionView {
    pub(super) code: &'static str,
    pub(super) label: &'static str,
    pub(super) note: bool,
    /// The one primary button: what usually comes next.
    pub(super) primary: bool,
    /// 受理并派单: an accept that dispatches too.
    pub(super) dispatch: bool,
}

#[derive(Template)]
#[template(path = "cases/case.html")]
pub(super) struct CasePage {
    pub(super) l: Layout,
    pub(super) c: crate::cases::Case,
    pub(super) category: String,
    pub(super) state_label: &'static str,
    pub(super) channel: &'static str,
    pub(super) level: &'static str,
    pub(super) created: String,
    pub(super) due: String,
    pub(super) events: Vec<EventView>,
    pub(super) actions: Vec<ActionView>,
    pub(super) orgs: Vec<(i64, String, bool)>,
    /// The categories a dispatcher may move the case to (改类): id and label, the
    /// self-governed ones saying so.
    pub(super) categories: Vec<(i64, String)>,
    /// The residents' body a self-governed case is left to, in words.
    pub(super) governed: Option<String>,
    pub(super) extra: Vec<(String, String)>,
    pub(super) duplicates: Vec<crate::cases::dedupe::Suggestion>,
    pub(super) map: Option<String>,
    pub(super) photos: Vec<crate::cases::photos::Photo>,
    pub(super) can_upload: bool,
    /// The caller works on the case and something of it is masked.
    pub(super) can_reveal: bool,
    pub(super) purposes: &'static [&'static str],
    pub(super) reveal_error: Option<String>,
    /// What the step just taken did (`?done=`), said once.
    pub(super) done: Option<String>,
    /// The rating in words.
    pub(super) satisfaction: Option<&'static str>,
    /// The ratings a reporter chooses from: (value, label).
    pub(super) satisfactions: Vec<(&'static str, &'static str)>,
    /// Whom the case waits on, in words.
    pub(super) waits_on: Option<String>,
    /// For the resident whose case it is: her grid worker's name and work phone.
    pub(super) grid_worker: Option<(String, String)>,
    /// Works with cases (else the page leads back to "my reports").
    pub(super) worker: bool,
    /// Residents who said "me too".
    pub(super) supports: i64,
    /// The reporter may add an update (her report is open).
    pub(super) can_update: bool,
    /// The caller dispatches or verifies it: may approve photos for the public page.
    pub(super) can_approve: bool,
    /// The reporter may allow her photos on the public page.
    pub(super) own: bool,
    /// Joint handling (联合处置): the co-handlers' tasks, for those who take part.
    pub(super) tasks: Option<super::tasks::TasksPanel>,
}

/// A case's extra fields as the case page lists them: in the category's order, by their labels
/// in the page's language, whole numbers without a decimal point, choices joined; a value
/// whose field the category no longer has follows under its key.
pub(super) fn extra_rows(
    extra: &serde_json::Value,
    fields: &[crate::cases::FieldDef],
    lang: crate::kernel::i18n::Lang,
) -> Vec<(String, String)> {
    use serde_json::Value;
    let Some(values) = extra.as_object() else {
        return Vec::new();
    };
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map(str::to_string).unwrap_or(x.to_string()))
            .collect::<Vec<_>>()
            .join("、"),
        other => other.to_string(),
    };
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter_map(|f| {
            let v = values.get(&f.key)?;
            Some((f.label(lang).to_string(), show(v)))
        })
        .collect();
    out.extend(
        values
            .iter()
            .filter(|(k, _)| !fields.iter().any(|f| &f.key == *k))
            .map(|(k, v)| (k.clone(), show(v))),
    );
    out
}

#[derive(Deserialize, Default)]
pub(super) struct CaseQuery {
    /// The step just taken, to say it was done.
    pub(super) done: Option<String>,
}

pub(super) async fn case_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<CaseQuery>,
) -> AppResult<Response> {
    case_view(&state, &caller, id, None, q.done.as_deref()).await
}

/// The message for a step just taken (`?done=`), when it is one.
pub(super) fn done_message(t: Tr, done: &str, state: crate::cases::State) -> Option<String> {
    let label = match done {
        "accept_dispatch" | "report" | "photo" | "update" | "photo_approved" | "task_added"
        | "consultation" | "task_accept" | "task_decline" | "task_done" | "task_release"
        | "task_reopen" => t.k("case.action", done),
        other => t.k("case.action", Action::parse(other)?.as_str()),
    };
    Some(
        t.s("case.page.done")
            .replace("{action}", label)
            .replace("{state}", t.k("case.state", state.as_str())),
    )
}

/// Whom a case waits on, in words: the handler by name, "you" when it is the viewer.
pub fn waits_on_text(case: &crate::cases::Case, viewer: &Viewer, t: Tr) -> Option<(String, bool)> {
    use crate::cases::lifecycle::Actor;
    let who = crate::cases::lifecycle::waits_on(case)?;
    let actors = viewer.actors(case);
    let me = match who {
        Actor::Verifier => {
            actors.contains(&Actor::Verifier)
                && !viewer.handles(case)
                && case.resolver_id != Some(viewer.user_id)
        }
        a => actors.contains(&a),
    };
    if me {
        return Some((t.s("case.page.waits_me").to_string(), true));
    }
    let text = match who {
        Actor::Handler => case
            .handler_org_name
            .clone()
            .or(case.handler_user_name.clone())
            .unwrap_or_else(|| t.k("case.waits", "handler").to_string()),
        a => t.k("case.waits", a.as_str()).to_string(),
    };
    Some((text, false))
}

#[derive(Deserialize)]
pub(super) struct RevealForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) purpose: String,
    #[serde(default)]
    pub(super) note: String,
}

/// Shows the case page with its personal data in full, for a purpose (audited), or with the
/// reason a reveal was refused.
pub(super) async fn reveal_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    case_view(&state, &caller, id, Some((&f.purpose, &f.note)), None).await
}

/// The case page; with `reveal` (a purpose and a note), its personal data in full.
pub(super) async fn case_view(
    state: &Arc<AppState>,
    caller: &Caller,
    id: i64,
    reveal: Option<(&str, &str)>,
    done: Option<&str>,
) -> AppResult<Response> {
    let d = detail(state, caller, id).await?;
    let t = Tr(ctx().lang);
    let mut case = d.case;
    let mut timeline = d.timeline;
    // The reveal is logged after the page's own read, so that it is the last word.
    let (revealed, reveal_error, status) = match reveal {
        None => (None, None, StatusCode::OK),
        Some((purpose, note)) => {
            match crate::cases::http::reveal(state, caller, id, purpose, note).await {
                Ok(r) => (Some(r), None, StatusCode::OK),
                Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND => {
                    (None, Some(e.message(ctx().lang)), e.status)
                }
                Err(e) => return Err(e),
            }
        }
    };
    let shown_in_full = revealed.is_some();
    if let Some(r) = revealed {
        case.reporter_contact = r.reporter_contact;
        case.description = r.description;
        case.address = r.address;
        case.rating_comment = r.rating_comment;
        for e in &mut timeline {
            if let Some(n) = r.notes.iter().find(|n| n.event_id == e.id) {
                e.note = n.note.clone();
            }
        }
    }
    // Someone working on the case may see in full what is masked: the reporter's contact,
    // numbers in its text.
    let masked = |s: &str| s.contains("****");
    let can_reveal = !shown_in_full
        && d.roles
            .iter()
            .any(|r| !matches!(r, crate::cases::lifecycle::Actor::Reporter))
        && (case.reporter_contact.is_some()
            || masked(&case.description)
            || masked(&case.address)
            || timeline.iter().any(|e| masked(&e.note)));
    let photos = d.photos;
    let can_upload = case.is_open() && !d.roles.is_empty();
    let own = d.roles.contains(&crate::cases::lifecycle::Actor::Reporter);
    let can_update = own && case.is_open();
    let can_approve = d.roles.iter().any(|r| {
        matches!(
            r,
            crate::cases::lifecycle::Actor::Dispatcher | crate::cases::lifecycle::Actor::Verifier
        )
    });
    let supports = d.supports;
    let viewer_of_page = Viewer::of(caller);
    let dispatching = d.actions.contains(&Action::Dispatch) || d.actions.contains(&Action::Merge);
    // 受理并派单 is offered with 受理: the dispatch's choices too.
    let d_accepting = d.actions.contains(&Action::Accept);
    let recategorising = d.actions.contains(&Action::Recategorise);
    let lang = t.0;
    let (street, cid, path) = (case.street_id, case.id.0, case.place_path.clone());
    let c2 = case.clone();
    let viewer = Viewer::of(caller);
    // The resident whose case it is may call her grid worker.
    let own_report =
        caller.has(crate::org::Role::Resident) && case.reporter_id == Some(caller.user_id);
    let link_grids = caller.can_browse();
    let (orgs, duplicates, map, fields, grid_worker, categories) = state
        .db
        .read(move |c| {
            let category = crate::cases::category_by_id(c, c2.category_id)?;
            let grid_worker = if own_report {
                crate::org::users::grid_worker_phone(c, &c2.place_path)?
            } else {
                None
            };
            let dispatching = dispatching || d_accepting;
            let orgs = if dispatching {
                crate::cases::org_choices(c, street)?
                    .into_iter()
                    .map(|(id, name)| (id, name, Some(id) == c2.suggested_org_id))
                    .collect()
            } else {
                Vec::new()
            };
            let dups = if dispatching {
                // The case's own terms as stored (its description shown here may be masked).
                let terms = crate::cases::case_terms(c, cid)?;
                let found = crate::cases::dedupe::suggest(
                    c,
                    &crate::cases::dedupe::Probe {
                        street_id: street,
                        category_id: c2.category_id,
                        radius_m: category.as_ref().map(|k| k.dup_radius_m).unwrap_or(100),
                        building_id: c2.building_id,
                        lat: c2.lat,
                        lon: c2.lon,
                        terms: &terms,
                        exclude: Some(cid),
                    },
                    crate::store::now_ms(),
                )?;
                crate::cases::dedupe::in_scope(&viewer, found)
            } else {
                Vec::new()
            };
            // The case's grid (the first four levels of its path) with the case on it.
            let grid: Vec<&str> = path.split('/').take(4).collect();
            let map = case_map(c, &grid.join("/"), &c2, link_grids)?;
            let fields = category.map(|k| k.fields).unwrap_or_default();
            let categories: Vec<(i64, String)> = if recategorising {
                let tr = crate::kernel::i18n::Tr(lang);
                crate::cases::categories(c, street)?
                    .into_iter()
                    .filter(|k| k.active && k.id != c2.category_id)
                    .map(|k| {
                        let name = if lang == crate::kernel::i18n::Lang::En {
                            k.name_en.clone()
                        } else {
                            k.name_zh.clone()
                        };
                        let label = if k.self_governed() {
                            format!(
                                "{name} · {}",
                                tr.fill(
                                    "case.page.governed_badge",
                                    &[("body", &tr.k("case.governed", &k.governed_by))]
                                )
                            )
                        } else {
                            name
                        };
                        (k.id, label)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok((orgs, dups, map, fields, grid_worker, categories))
        })
        .await?;
    let shown: Vec<crate::cases::dedupe::Shown> = duplicates
        .iter()
        .cloned()
        .map(crate::cases::dedupe::Shown::Case)
        .collect();
    crate::cases::http::record_shown(state, caller, &shown).await?;
    let events = timeline
        .iter()
        .map(|e| EventView {
            at: when(e.at),
            actor: if e.actor == "system" {
                t.s("case.page.system").to_string()
            } else {
                e.actor.clone()
            },
            action: t.k("case.action", &e.action).to_string(),
            to_state: t.k("case.state", &e.to_state).to_string(),
            note: match e.data.get("from").and_then(|v| v.as_i64()) {
                Some(from) if e.data.get("caught_up").is_some() => {
                    t.fill("case.page.caught_up", &[("from", &from)])
                }
                _ => e.note.clone(),
            },
            level: e
                .data
                .get("level")
                .and_then(|v| v.as_i64())
                .filter(|l| *l > 0),
        })
        .collect();
    let mut actions: Vec<ActionView> = Vec::new();
    for a in &d.actions {
        if *a == Action::Accept {
            // 受理并派单 comes first: accepting is most often followed by dispatching.
            actions.push(ActionView {
                code: "accept",
                label: t.k("case.action", "accept_dispatch"),
                note: false,
                primary: false,
                dispatch: true,
            });
        }
        actions.push(ActionView {
            code: a.as_str(),
            label: t.k("case.action", a.as_str()),
            note: a.needs_note(),
            primary: false,
            dispatch: false,
        });
    }
    actions.sort_by_key(|a| {
        if a.dispatch {
            0
        } else {
            Action::parse(a.code).map(|x| x.usual_rank()).unwrap_or(99) + 1
        }
    });
    if let Some(first) = actions.first_mut() {
        first.primary = true;
    }
    let done = done.and_then(|x| done_message(t, x, case.state));
    let waits_on = waits_on_text(&case, &viewer_of_page, t).map(|(w, _)| w);
    let satisfaction = case
        .satisfaction
        .map(|s| t.k("case.satisfaction", s.as_str()));
    let satisfactions = crate::cases::lifecycle::Satisfaction::ALL
        .iter()
        .map(|s| (s.as_str(), t.k("case.satisfaction", s.as_str())))
        .collect();
    let extra = extra_rows(&case.extra, &fields, t.0);
    let tasks = super::tasks::panel(state, caller, &case).await?;
    let page = CasePage {
        l: Layout::new(Some(caller)),
        category: case.category_name(t.0).to_string(),
        state_label: t.k("case.state", case.state.as_str()),
        channel: t.k("case.channel", case.channel.as_str()),
        level: t.k("case.level", &case.level.to_string()),
        created: when(case.created_at),
        due: match case.clock.as_str() {
            "accept" | "resolve" => case.due_at.map(when).unwrap_or_default(),
            "self" => t.s("case.page.no_deadline").to_string(),
            _ => String::new(),
        },
        governed: case
            .self_governed
            .then(|| t.k("case.governed", &case.governed_by).to_string()),
        categories,
        c: case,
        events,
        actions,
        orgs,
        extra,
        duplicates,
        map,
        photos,
        can_upload,
        can_reveal,
        purposes: &crate::registry::access::PURPOSES,
        reveal_error,
        done,
        satisfaction,
        satisfactions,
        waits_on,
        grid_worker,
        worker: caller.browses_cases(),
        supports,
        can_update,
        can_approve,
        own,
        tasks,
    };
    Ok(render(&page, status))
}

pub(super) async fn step_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    let action =
        Action::parse(&get("action")).ok_or_else(|| AppError::bad_request("error.bad_form"))?;
    let num = |k: &str| get(k).parse::<i64>().ok();
    let satisfaction = match get("satisfaction").as_str() {
        "" => None,
        s => Some(
            crate::cases::lifecycle::Satisfaction::parse(s)
                .ok_or_else(|| AppError::invalid("case.err_rating"))?,
        ),
    };
    let step = Step {
        action,
        note: get("note"),
        org_id: num("org_id"),
        user_id: num("user_id"),
        hours: num("hours"),
        rating: num("rating"),
        satisfaction,
        dispatch: get("dispatch") == "1",
        master_id: num("master_id"),
        category_id: num("category_id"),
    };
    // A step that turns the case away or puts it aside is confirmed on a page of its own
    // first (no script needed), when the caller may take it at all.
    if action.destructive() && get("confirmed") != "1" {
        let d = detail(&state, &caller, id).await?;
        if d.actions.contains(&action) {
            let t = Tr(ctx().lang);
            let fields = form
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "confirmed" | "go"))
                .cloned()
                .collect();
            return Ok(render(
                &ConfirmPage {
                    l: Layout::new(Some(&caller)),
                    id,
                    category: d.case.category_name(t.0).to_string(),
                    description: d.case.description.chars().take(80).collect(),
                    action: t.k("case.action", action.as_str()),
                    warning: t.k("case.confirm", action.as_str()),
                    note: step.note.clone(),
                    fields,
                },
                StatusCode::OK,
            ));
        }
    }
    let done = if step.dispatch && action == Action::Accept {
        "accept_dispatch"
    } else {
        action.as_str()
    };
    take_step(&state, &caller, id, step).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done={done}")).into_response())
}

/// The page that asks to confirm a step that turns a case away or puts it aside.
#[derive(Template)]
#[template(path = "cases/confirm.html")]
pub(super) struct ConfirmPage {
    pub(super) l: Layout,
    pub(super) id: i64,
    pub(super) category: String,
    pub(super) description: String,
    pub(super) action: &'static str,
    pub(super) warning: &'static str,
    pub(super) note: String,
    /// The step's form, sent again with the confirmation.
    pub(super) fields: Vec<(String, String)>,
}

pub(super) async fn photo_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<Response> {
    let u = crate::cases::http::read_upload(m).await?;
    check_csrf(&caller, &u.csrf)?;
    crate::cases::http::add_photo(&state, &caller, id, u.raw, u.share, u.public).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=photo")).into_response())
}
