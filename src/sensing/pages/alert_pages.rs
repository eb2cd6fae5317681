//! The alerts list (live), one alert with who to call, acknowledging and clearing.

#[allow(unused_imports)]
use super::*;

#[derive(Template)]
#[template(path = "sensing/alerts.html")]
pub(super) struct AlertsPage {
    l: Layout,
    alerts: Vec<Alert>,
    active_only: bool,
    /// The case whose alerts are listed (a grouped case).
    case_id: Option<i64>,
}

impl AlertsPage {
    fn title(&self) -> String {
        match self.case_id {
            Some(c) => self.l.t.n("alert.case_filter", c),
            None => self.l.t.s("alert.title").to_string(),
        }
    }
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
}

#[derive(Deserialize)]
pub(super) struct AlertsPageQuery {
    all: Option<String>,
    /// Only the alerts of this case (a grouped case lists several).
    case: Option<i64>,
    /// Only the alerts at this place or under it (the cockpit's grids link here).
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    place: Option<i64>,
}

pub(super) async fn alerts_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<AlertsPageQuery>,
) -> AppResult<Response> {
    worker(&caller)?;
    let active_only = q.all.is_none() && q.case.is_none();
    let aq = AlertQuery {
        active: active_only.then_some(true),
        case_id: q.case,
        limit: 300,
        ..AlertQuery::default()
    };
    let mut scope = caller.scope.registry.clone();
    if let Some(id) = q.place {
        let within = scope.clone();
        let place = state
            .db
            .read(move |c| crate::org::places::get(c, &within, id))
            .await?
            .ok_or_else(AppError::not_found)?;
        scope = vec![place.path];
    }
    let alerts = state.db.read(move |c| alerts::list(c, &scope, &aq)).await?;
    crate::sensing::audit_listed(
        &state,
        &caller,
        alerts.iter().map(|a| a.person_id),
        [],
        crate::audit::Action::List,
    )
    .await?;
    Ok(render(&AlertsPage {
        l: Layout::new(Some(&caller)),
        alerts: Alert::localised(alerts, ctx().lang),
        active_only,
        case_id: q.case,
    }))
}

#[derive(Template)]
#[template(path = "sensing/alert.html")]
pub(super) struct AlertPage {
    l: Layout,
    a: Alert,
    history: Vec<AlertHistory>,
    who: Option<WhoToCall>,
    /// A phone just revealed for a call: (person, whose: her own or her emergency contact's, number).
    revealed: Option<(i64, Field, String)>,
    error: Option<String>,
    purposes: &'static [&'static str],
}

impl AlertPage {
    fn when(&self, ms: &i64) -> String {
        when(*ms)
    }
    /// A history entry's note in the viewer's language: the system's notes by their words,
    /// a worker's note as written; a new alert's note is its sentence, shown above already.
    fn note(&self, h: &AlertHistory) -> String {
        match (h.action.as_str(), h.note.as_str()) {
            ("raised" | "case_requested" | "escalated", _) => String::new(),
            ("grouped", n) => n.split_whitespace().next().unwrap_or_default().to_string(),
            (_, "case closed") => self.l.t.s("alert.n_case_closed").to_string(),
            (_, "condition no longer holds") => self.l.t.s("alert.n_condition_gone").to_string(),
            (_, "device deactivated") => self.l.t.s("alert.n_device_deactivated").to_string(),
            (_, "rule changed") => self.l.t.s("alert.n_rule_changed").to_string(),
            (_, "rule deleted") => self.l.t.s("alert.n_rule_deleted").to_string(),
            (_, "rule disabled") => self.l.t.s("alert.n_rule_disabled").to_string(),
            (_, "the awaited event happened") => self.l.t.s("alert.n_event_happened").to_string(),
            (_, "the device is back online") => self.l.t.s("alert.n_back_online").to_string(),
            (_, "value back in range") => self.l.t.s("alert.n_back_in_range").to_string(),
            (_, n) => n.to_string(),
        }
    }
    fn shown(&self, person: &i64) -> Option<&str> {
        match &self.revealed {
            Some((p, Field::Phone, v)) if p == person => Some(v.as_str()),
            _ => None,
        }
    }
    fn shown_emergency(&self, person: &i64) -> Option<&str> {
        match &self.revealed {
            Some((p, Field::EmergencyPhone, v)) if p == person => Some(v.as_str()),
            _ => None,
        }
    }
    /// The number as a `tel:` address: digits and a leading `+` only.
    fn tel(&self, number: &str) -> String {
        number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    }
}

/// Whom a care alert asks the worker to call: where, who lives there, her household's other
/// members (the registry's emergency contacts), and the workers responsible for the place.
pub(super) struct WhoToCall {
    /// The building, or "" when the device is on a building or higher.
    building: String,
    /// The unit (room), or the place's name.
    unit: String,
    person: Option<Contact>,
    household: Vec<Contact>,
    /// (name, role key) of the grid and community workers responsible.
    helpers: Vec<(String, String)>,
    /// The person's own emergency contact: (name, number masked).
    emergency: Option<(String, Option<String>)>,
}

pub(super) struct Contact {
    id: i64,
    name: String,
    /// The relation's translation key (`relation.child`), empty for the person herself.
    relation: String,
    phone_masked: Option<String>,
}

/// Where the alert is, and (for a device bound to a person) whom to call: her record and her
/// household are read through the registry, so each read is scope-checked and audited as
/// the person's page is.
pub(super) async fn who_to_call(
    state: &AppState,
    caller: &Caller,
    a: &Alert,
) -> AppResult<WhoToCall> {
    let (place_id, path) = (a.place_id, a.place_path.clone());
    let (building, unit, helpers) = state
        .db
        .read(move |c| {
            let place = places::by_id_unscoped(c, place_id)?;
            let (building, unit) = match place {
                Some(p) if p.kind == "unit" => {
                    let b = match p.parent_id {
                        Some(b) => places::by_id_unscoped(c, b)?.map(|b| b.name),
                        None => None,
                    };
                    (b.unwrap_or_default(), p.name)
                }
                Some(p) => (String::new(), p.name),
                None => (String::new(), String::new()),
            };
            let helpers = crate::org::users::workers_for(c, &path)?
                .into_iter()
                .map(|(n, r)| (n, format!("role.{}", r.as_str())))
                .collect::<Vec<_>>();
            Ok((building, unit, helpers))
        })
        .await?;
    let mut who = WhoToCall {
        building,
        unit,
        person: None,
        household: Vec::new(),
        helpers,
        emergency: None,
    };
    let Some(pid) = a.person_id else {
        return Ok(who);
    };
    let person = match crate::registry::access::person(state, caller, pid).await {
        Ok(p) => p,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(who),
        Err(e) => return Err(e),
    };
    who.person = Some(Contact {
        id: person.id,
        name: person.name.clone(),
        relation: String::new(),
        phone_masked: person.phone_masked.clone(),
    });
    who.emergency =
        (person.emergency_name.clone()).map(|n| (n, person.emergency_phone_masked.clone()));
    if let Some(hid) = person.household_id {
        match crate::registry::access::household(state, caller, hid).await {
            Ok(h) => {
                who.household = h
                    .members
                    .into_iter()
                    .filter(|m| m.id != pid)
                    .map(|m| Contact {
                        id: m.id,
                        name: m.name,
                        relation: format!("relation.{}", m.relation),
                        phone_masked: m.phone_masked,
                    })
                    .collect();
            }
            Err(e) if e.status == StatusCode::NOT_FOUND => {}
            Err(e) => return Err(e),
        }
    }
    Ok(who)
}

pub(super) async fn alert_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    alert_with(&state, &caller, id, None, None, None, StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn alert_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    who: Option<WhoToCall>,
    revealed: Option<(i64, Field, String)>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    worker(caller)?;
    let scope = caller.scope.registry.clone();
    let (mut a, history) = state
        .db
        .read(move |c| {
            let Some(a) = alerts::get(c, &scope, id)? else {
                return Ok(None);
            };
            Ok(Some((a, alerts::history(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    a.localise(ctx().lang);
    let who = match who {
        Some(w) => Some(w),
        None => Some(who_to_call(state, caller, &a).await?),
    };
    Ok(render_status(
        &AlertPage {
            l: Layout::new(Some(caller)),
            a,
            history,
            who,
            revealed,
            error,
            purposes: &crate::registry::access::PURPOSES,
        },
        status,
    ))
}

#[derive(Deserialize)]
pub(super) struct RevealForm {
    #[serde(default)]
    csrf: String,
    person: i64,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    note: String,
    /// `emergency_phone` for the person's emergency contact; her own phone otherwise.
    #[serde(default)]
    field: String,
}

/// Reveals the phone of the alert's person or of a member of her household, for a call: the
/// registry's reveal with a purpose ("紧急联系" preselected), audited as every reveal is.
pub(super) async fn reveal_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    worker(&caller)?;
    let scope = caller.scope.registry.clone();
    let a = state
        .db
        .read(move |c| alerts::get(c, &scope, id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let who = who_to_call(&state, &caller, &a).await?;
    let callable = who
        .person
        .iter()
        .chain(who.household.iter())
        .any(|p| p.id == f.person);
    if !callable {
        return Err(AppError::not_found());
    }
    use crate::registry::access::reveal;
    let field = match f.field.as_str() {
        "emergency_phone" if who.person.as_ref().is_some_and(|p| p.id == f.person) => {
            Field::EmergencyPhone
        }
        _ => Field::Phone,
    };
    match reveal(&state, &caller, f.person, field, &f.purpose, &f.note).await {
        Ok(v) => {
            let shown = Some((f.person, field, v));
            alert_with(&state, &caller, id, Some(who), shown, None, StatusCode::OK).await
        }
        Err(e) if e.status.is_client_error() => {
            let (status, msg) = (e.status, Some(e.message(ctx().lang)));
            alert_with(&state, &caller, id, Some(who), None, msg, status).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn ack_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::sensing::http::act(&state, &caller, id, true, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}

pub(super) async fn clear_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<ActionForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::sensing::http::act(&state, &caller, id, false, f.note).await?;
    Ok(Redirect::to(&format!("/alerts/{id}")).into_response())
}
