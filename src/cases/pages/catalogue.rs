//! The catalogue admin: categories, their fields and routes.

use super::*;

pub(super) struct CategoryView {
    pub(super) k: Category,
    pub(super) name: String,
    pub(super) routes: Vec<(String, String)>,
    pub(super) fields: Vec<String>,
}

#[derive(Template)]
#[template(path = "cases/catalogue.html")]
pub(super) struct CataloguePage {
    pub(super) l: Layout,
    pub(super) cats: Vec<CategoryView>,
    pub(super) days: Vec<crate::cases::calendar::CalendarDay>,
    pub(super) year: i32,
    pub(super) editable: bool,
    pub(super) error: Option<String>,
    /// The residents' bodies a category can be left to (留白).
    pub(super) bodies: &'static [&'static str],
}

pub(super) async fn catalogue_with(
    state: &AppState,
    caller: &Caller,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    if !caller.browses_cases() {
        return Err(AppError::forbidden());
    }
    let street = street_of(caller)?;
    let t = Tr(ctx().lang);
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(2026);
    let (cats, days) = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for k in crate::cases::categories(c, street)? {
                let routes = crate::cases::routes_of(c, k.id)?;
                out.push((k, routes));
            }
            Ok((out, crate::cases::calendar::year(c, street, year)?))
        })
        .await?;
    let cats = cats
        .into_iter()
        .map(|(k, routes)| CategoryView {
            name: k.name(t.0).to_string(),
            fields: k.fields.iter().map(|f| f.label(t.0).to_string()).collect(),
            routes,
            k,
        })
        .collect();
    Ok(render(
        &CataloguePage {
            l: Layout::new(Some(caller)),
            cats,
            days,
            year,
            editable: crate::org::access::is_street_admin(caller),
            error,
            bodies: &crate::cases::GOVERNING_BODIES,
        },
        status,
    ))
}

pub(super) async fn catalogue_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    catalogue_with(&state, &caller, None, StatusCode::OK).await
}

/// Changes a category's deadlines and settings (street administrators); its names and extra
/// fields stay as they are.
pub(super) async fn catalogue_save(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    if !crate::org::access::is_street_admin(&caller) {
        return Err(AppError::forbidden());
    }
    let street = street_of(&caller)?;
    let num = |k: &str| get(k).parse::<i64>().unwrap_or(-1);
    let (accept, resolve, priority, radius) = (
        num("accept_hours"),
        num("resolve_hours"),
        num("priority"),
        num("dup_radius_m"),
    );
    let (verify, public) = (get("verify_required") == "1", get("public") == "1");
    let about_people = get("about_people") == "1";
    let governed_by = get("governed_by");
    let r = state
        .db
        .write_tx(move |c| -> Result<(), crate::cases::CaseError> {
            let k = crate::cases::category_by_code(c, street, &code)?
                .ok_or(crate::cases::CaseError::NotFound)?;
            crate::cases::save_category(
                c,
                street,
                &crate::cases::NewCategory {
                    code: k.code,
                    name_zh: k.name_zh,
                    name_en: k.name_en,
                    group: k.group,
                    fields: k.fields,
                    accept_hours: accept,
                    resolve_hours: resolve,
                    priority,
                    dup_radius_m: radius,
                    verify_required: verify,
                    public,
                    about_people: Some(about_people),
                    governed_by: Some(governed_by),
                },
            )?;
            Ok(())
        })
        .await;
    match r {
        Ok(()) => Ok(Redirect::to("/cases/catalogue").into_response()),
        Err(e) => {
            let e = AppError::from(e);
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND {
                let msg = e.message(ctx().lang);
                catalogue_with(&state, &caller, Some(msg), e.status).await
            } else {
                Err(e)
            }
        }
    }
}
