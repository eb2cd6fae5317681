//! The emergency roster: by building, a building's roster with its helpers (their phones
//! revealed with a purpose), and the sheet printed for a power cut.

use super::*;

// ---- the roster ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "visits/roster.html")]
pub(crate) struct RosterPage {
    l: Layout,
    buildings: Vec<BuildingCount>,
}

impl RosterPage {
    fn count(&self, b: &BuildingCount) -> String {
        self.l.t.fill("roster.count", &[("n", &b.persons)])
    }
    fn without(&self, b: &BuildingCount) -> String {
        self.l
            .t
            .fill("roster.without_helper", &[("n", &b.without_helper)])
    }
}

pub(crate) async fn roster_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let buildings = roster::buildings(&state, &caller).await?;
    Ok(render(&RosterPage {
        l: Layout::new(Some(&caller)),
        buildings,
    }))
}

#[derive(Template)]
#[template(path = "visits/building.html")]
pub(crate) struct BuildingPage {
    l: Layout,
    sheet: Sheet,
    error: Option<String>,
    purposes: &'static [&'static str],
    /// A helper's phone just revealed: (helper, phone).
    revealed: Option<(i64, String)>,
}

impl BuildingPage {
    fn relation(&self, r: &str) -> &'static str {
        self.l.t.s(&format!("roster.relation.{r}"))
    }
    fn relations(&self) -> &'static [&'static str] {
        &roster::RELATIONS
    }
    fn shown(&self, helper: &i64) -> Option<&str> {
        self.revealed
            .as_ref()
            .filter(|(h, _)| h == helper)
            .map(|(_, p)| p.as_str())
    }
}

async fn building_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    done: Option<&str>,
) -> AppResult<Response> {
    building_shown(state, caller, id, error, done, None).await
}

async fn building_shown(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    done: Option<&str>,
    revealed: Option<(i64, String)>,
) -> AppResult<Response> {
    let sheet = roster::building(state, caller, id).await?;
    let mut l = Layout::new(Some(caller));
    flash(&mut l, done);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render(&BuildingPage {
        l,
        sheet,
        error,
        purposes: &crate::registry::access::PURPOSES,
        revealed,
    });
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize)]
pub(crate) struct RevealForm {
    csrf: String,
    building: i64,
    purpose: String,
    #[serde(default)]
    note: String,
}

/// A helper's phone shown on the building's roster after the reveal is logged with its
/// purpose (as the registry reveals a resident's phone).
pub(crate) async fn helper_reveal_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RevealForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let p = roster::Purpose {
        purpose: f.purpose,
        note: f.note,
    };
    match roster::reveal_helper(&state, &caller, id, &p).await {
        Ok(r) => building_shown(&state, &caller, f.building, None, None, Some((id, r.phone))).await,
        Err(e) if e.status.as_u16() == 422 => {
            let msg = e.message(ctx().lang);
            building_shown(&state, &caller, f.building, Some(msg), None, None).await
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn building_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    building_view(&state, &caller, id, None, q.done.as_deref()).await
}

#[derive(Deserialize)]
pub(crate) struct HelperForm {
    csrf: String,
    building: i64,
    name: String,
    relation: String,
    phone: String,
    #[serde(default)]
    reach: String,
}

pub(crate) async fn helper_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<HelperForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let h = NewHelper {
        name: f.name,
        relation: f.relation,
        phone: f.phone,
        reach: f.reach,
    };
    match roster::add_helper(&state, &caller, id, &h).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/roster/buildings/{}?done=helper#p{id}",
            f.building
        ))
        .into_response()),
        Err(e) if e.status.as_u16() == 422 => {
            building_view(
                &state,
                &caller,
                f.building,
                Some(e.message(ctx().lang)),
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct RemoveForm {
    csrf: String,
    building: i64,
}

pub(crate) async fn helper_remove_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<RemoveForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    roster::remove_helper(&state, &caller, id).await?;
    Ok(Redirect::to(&format!("/roster/buildings/{}?done=removed", f.building)).into_response())
}

#[derive(Template)]
#[template(path = "visits/print_ask.html")]
pub(crate) struct PrintAskPage {
    l: Layout,
    id: i64,
    error: Option<String>,
}

pub(crate) async fn print_ask_page(
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    service::keeper(&caller)?;
    Ok(render(&PrintAskPage {
        l: Layout::new(Some(&caller)),
        id,
        error: None,
    }))
}

#[derive(Template)]
#[template(path = "visits/print.html")]
pub(crate) struct PrintPage {
    l: Layout,
    sheet: Sheet,
    printed: String,
}

impl PrintPage {
    fn printed_line(&self) -> String {
        self.l.t.fill("roster.printed", &[("at", &self.printed)])
    }
    fn relation(&self, r: &str) -> &'static str {
        self.l.t.s(&format!("roster.relation.{r}"))
    }
}

#[derive(Deserialize)]
pub(crate) struct PrintForm {
    csrf: String,
    purpose: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn print_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<PrintForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let purpose = Purpose {
        purpose: f.purpose,
        note: f.note,
    };
    match roster::print(&state, &caller, id, &purpose).await {
        Ok(sheet) => Ok(render(&PrintPage {
            l: Layout::new(Some(&caller)),
            sheet,
            printed: local_time(crate::kernel::time::now_ms()),
        })),
        Err(e) if e.status.as_u16() == 422 => Ok((
            e.status,
            render(&PrintAskPage {
                l: Layout::new(Some(&caller)),
                id,
                error: Some(e.message(ctx().lang)),
            }),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}
