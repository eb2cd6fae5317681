//! The visits: the due list, recording a visit, a visit, a person's visits and her own,
//! the plans and the street's setting.

use super::*;

// ---- the due list -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits/due.html")]
pub(crate) struct DuePage {
    l: Layout,
    list: DueList,
    all: bool,
    on: String,
}

impl DuePage {
    fn standing(&self, r: &DueRow) -> &'static str {
        self.l
            .t
            .s(&format!("visits.standing.{}", r.standing.as_str()))
    }
    fn floor(&self, r: &DueRow) -> String {
        r.floor
            .map(|f| self.l.t.fill("visits.floor", &[("n", &f)]))
            .unwrap_or_default()
    }
    fn counts(&self) -> String {
        self.l.t.fill(
            "visits.counts",
            &[("overdue", &self.list.overdue), ("due", &self.list.due)],
        )
    }
    fn last(&self, r: &DueRow) -> String {
        match (&r.last_on, &r.last_by) {
            (Some(d), Some(b)) => self.l.t.fill("visits.last", &[("on", d), ("by", b)]),
            _ => self.l.t.s("visits.never").to_string(),
        }
    }
    fn judged(&self) -> String {
        self.l.t.fill("visits.judged_on", &[("on", &self.list.on)])
    }
    /// A new building starts here (the list is grouped by building).
    fn new_building(&self, i: &usize) -> bool {
        *i == 0 || self.list.rows[*i - 1].building != self.list.rows[*i].building
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct DuePageQuery {
    on: Option<String>,
    all: Option<String>,
    done: Option<String>,
    /// Narrow to a place within the caller's scope (the cockpit's drill-down to a grid).
    place: Option<i64>,
}

pub(crate) async fn due_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DuePageQuery>,
) -> AppResult<Response> {
    let all = q.all.as_deref() == Some("1");
    let ask = DueQuery {
        on: q.on.clone(),
        place: q.place,
        all: Some(all),
    }
    .ask()?;
    let list = service::due(&state, &caller, &ask).await?;
    let mut l = Layout::new(Some(&caller));
    flash(&mut l, q.done.as_deref());
    Ok(render(&DuePage {
        l,
        on: q.on.unwrap_or_default(),
        list,
        all,
    }))
}

// ---- recording a visit --------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits/new.html")]
pub(crate) struct NewPage {
    l: Layout,
    person: Option<i64>,
    household: Option<i64>,
    error: Option<String>,
    typed: Vec<(String, String)>,
    categories: Vec<(String, String)>,
}

impl NewPage {
    fn hows(&self) -> &'static [&'static str] {
        &HOWS
    }
    fn ratings(&self) -> &'static [&'static str] {
        &RATINGS
    }
    fn needs(&self) -> &'static [&'static str] {
        &NEEDS
    }
    fn typed(&self, k: &str) -> &str {
        self.typed
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
    fn chosen(&self, k: &str, v: &str, default: bool) -> bool {
        if self.typed.is_empty() {
            return default;
        }
        self.typed.iter().any(|(a, b)| a == k && b == v)
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct NewQuery {
    person: Option<i64>,
    household: Option<i64>,
}

pub(crate) async fn new_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let categories = service::case_categories(&state, &caller).await?;
    Ok(render(&NewPage {
        l: Layout::new(Some(&caller)),
        person: q.person,
        household: q.household,
        error: None,
        typed: Vec::new(),
        categories,
    }))
}

fn form_visit(f: &[(String, String)]) -> (String, NewVisit) {
    let one = |k: &str| {
        f.iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let id = |k: &str| one(k).parse::<i64>().ok();
    let opt = |k: &str| Some(one(k)).filter(|s| !s.is_empty());
    let visited_at = opt("visited_at").and_then(|s| {
        chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|t| {
                use chrono::TimeZone;
                crate::kernel::time::zone()
                    .from_local_datetime(&t)
                    .earliest()
                    .map(|t| t.timestamp_millis())
            })
            // A time that does not parse is refused by the check, not silently made now.
            .or(Some(i64::MAX))
    });
    (
        one("csrf"),
        NewVisit {
            person_id: id("person"),
            household_id: id("household"),
            visited_at,
            how: one("how"),
            health: one("health"),
            living: one("living"),
            needs: f
                .iter()
                .filter(|(a, _)| a == "need")
                .map(|(_, v)| v.clone())
                .collect(),
            notes: one("notes"),
            referral: one("referral"),
            next_on: opt("next_on"),
            case_category: opt("case_category"),
            case_description: opt("case_description"),
        },
    )
}

pub(crate) async fn new_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (csrf, v) = form_visit(&f);
    check_csrf(&caller, &csrf)?;
    match service::record(&state, &caller, &v).await {
        Ok(id) => Ok(Redirect::to(&format!("/visits/{id}?done=recorded")).into_response()),
        Err(e) if e.status.as_u16() == 422 => {
            let error = Some(e.message(ctx().lang));
            let categories = service::case_categories(&state, &caller).await?;
            Ok((
                e.status,
                render(&NewPage {
                    l: Layout::new(Some(&caller)),
                    person: v.person_id,
                    household: v.household_id,
                    error,
                    typed: f,
                    categories,
                }),
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}

// ---- a visit, a person's visits, mine -----------------------------------------------------

#[derive(Template)]
#[template(path = "visits/visit.html")]
pub(crate) struct VisitPage {
    l: Layout,
    v: Visit,
}

trait Words {
    fn tr(&self) -> crate::kernel::i18n::Tr;
    fn how(&self, v: &Visit) -> &'static str {
        self.tr().s(&format!("visits.how.{}", v.how))
    }
    fn rating(&self, r: &str) -> &'static str {
        self.tr().s(&format!("visits.rating.{r}"))
    }
    fn need_names(&self, v: &Visit) -> String {
        let t = self.tr();
        v.needs
            .iter()
            .map(|n| t.s(&format!("visits.need.{n}")))
            .collect::<Vec<_>>()
            .join(t.s("case.list_sep"))
    }
    fn when(&self, v: &Visit) -> String {
        local_time(v.visited_at)
    }
}

impl Words for VisitPage {
    fn tr(&self) -> crate::kernel::i18n::Tr {
        self.l.t
    }
}

pub(crate) async fn visit_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let v = service::detail(&state, &caller, id).await?;
    let mut l = Layout::new(Some(&caller));
    flash(&mut l, q.done.as_deref());
    Ok(render(&VisitPage { l, v }))
}

#[derive(Template)]
#[template(path = "visits/list.html")]
pub(crate) struct ListPage {
    l: Layout,
    title: String,
    list: Vec<Visit>,
    mine: bool,
    person: Option<i64>,
}

impl ListPage {
    fn by(&self, v: &Visit) -> String {
        self.l.t.fill("visits.by", &[("name", &v.visitor_name)])
    }
}

impl Words for ListPage {
    fn tr(&self) -> crate::kernel::i18n::Tr {
        self.l.t
    }
}

pub(crate) async fn person_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let list = service::of_person(&state, &caller, id).await?;
    let l = Layout::new(Some(&caller));
    Ok(render(&ListPage {
        title: l.t.s("visits.person_title").to_string(),
        l,
        list,
        mine: false,
        person: Some(id),
    }))
}

pub(crate) async fn mine_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let list = service::mine(&state, &caller).await?;
    let l = Layout::new(Some(&caller));
    Ok(render(&ListPage {
        title: l.t.s("visits.mine_title").to_string(),
        l,
        list,
        mine: true,
        person: None,
    }))
}

// ---- plans and the setting ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits/plans.html")]
pub(crate) struct PlansPage {
    l: Layout,
    plans: Vec<Plan>,
    admin: bool,
    notes_to_resident: bool,
    tags: Vec<(String, String)>,
    error: Option<String>,
}

impl PlansPage {
    fn every(&self, p: &Plan) -> String {
        self.l.t.fill("visits.every_n", &[("n", &p.every_months)])
    }
}

async fn plans_view(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    done: Option<&str>,
) -> AppResult<Response> {
    let plans = service::plans(state, caller).await?;
    let notes_to_resident = service::settings(state, caller).await?;
    let admin = crate::org::access::is_street_admin(caller);
    let street = caller.street_id;
    let lang = ctx().lang;
    let tags = state
        .db
        .read(move |c| {
            crate::registry::records::tag_names(c, street, lang == crate::kernel::i18n::Lang::En)
        })
        .await?;
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    Ok(render(&PlansPage {
        l,
        plans,
        admin,
        notes_to_resident,
        tags,
        error,
    }))
}

pub(crate) async fn plans_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    plans_view(&state, &caller, None, q.done.as_deref()).await
}

#[derive(Deserialize)]
pub(crate) struct PlanForm {
    csrf: String,
    tag: String,
    every_months: String,
    #[serde(default)]
    soon_days: String,
}

pub(crate) async fn plan_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<PlanForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let plan = NewPlan {
        tag: f.tag,
        every_months: f.every_months.trim().parse().unwrap_or(0),
        soon_days: match f.soon_days.trim() {
            "" => None,
            s => Some(s.parse().unwrap_or(-1)),
        },
    };
    match service::create_plan(&state, &caller, &plan).await {
        Ok(_) => Ok(Redirect::to("/visits/plans?done=plan").into_response()),
        Err(e) if e.status.as_u16() == 422 => {
            plans_view(&state, &caller, Some(e.message(ctx().lang)), None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

pub(crate) async fn plan_end_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::retire_plan(&state, &caller, id).await?;
    Ok(Redirect::to("/visits/plans?done=ended").into_response())
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    csrf: String,
    #[serde(default)]
    notes_to_resident: Option<String>,
}

pub(crate) async fn settings_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<SettingsForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::set_settings(&state, &caller, f.notes_to_resident.is_some()).await?;
    Ok(Redirect::to("/visits/plans?done=settings").into_response())
}
