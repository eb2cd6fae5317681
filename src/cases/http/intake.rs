//! Reporting a case over the API, and the duplicates a reporter is shown.

use super::*;

#[derive(Deserialize, ToSchema)]
pub struct CaseRequest {
    /// A category code from `/api/v1/case-categories`.
    pub category: String,
    pub description: String,
    /// A place of the street: building, unit, grid... Either this or a point.
    #[serde(default)]
    pub place_id: Option<i64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub address: String,
    /// The category's extra fields, by key.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// resident, hotline, patrol or api; defaults from the caller's role.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// For a hotline call: the caller's name and phone.
    #[serde(default)]
    pub reporter_name: String,
    #[serde(default)]
    pub reporter_contact: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedCase {
    pub case: Case,
    /// Open cases that may be the same problem, as the caller may see them: cases in her
    /// scope for a worker, similar reports nearby without personal data for anyone else.
    pub duplicates: Vec<Shown>,
}

/// The channels a caller may report through, the first being the default.
pub fn channels_for(caller: &Caller) -> Vec<Channel> {
    let dispatcher = caller.has(Role::StreetAdmin)
        || caller.has(Role::CommunityWorker)
        || caller.has(Role::DistrictAdmin);
    if caller.has(Role::GridWorker) {
        vec![Channel::Patrol, Channel::Hotline, Channel::Api]
    } else if dispatcher {
        vec![Channel::Hotline, Channel::Patrol, Channel::Api]
    } else if caller.has(Role::DeptHandler) || caller.has(Role::PropertyManager) {
        vec![Channel::Api]
    } else {
        vec![Channel::Resident, Channel::Api]
    }
}

/// Opens a case from a signed-in caller (API or form), returning it with likely duplicates.
pub async fn intake(state: &AppState, caller: &Caller, r: CaseRequest) -> AppResult<CreatedCase> {
    let street = street_of(caller)?;
    let allowed = channels_for(caller);
    let channel = match r.channel {
        Some(ch) if allowed.contains(&ch) => ch,
        Some(_) => return Err(AppError::invalid("case.err_channel")),
        None => allowed[0],
    };
    let (name, contact) = if channel == Channel::Hotline {
        if r.reporter_name.trim().is_empty() {
            return Err(AppError::invalid("case.err_hotline_reporter"));
        }
        (r.reporter_name, r.reporter_contact)
    } else {
        (caller.display_name.clone(), r.reporter_contact)
    };
    let reporter_id = (channel != Channel::Hotline).then_some(caller.user_id);
    let contact = crate::cases::Contact::seal(&state.keys, &contact)?;
    let new = NewCase {
        category: r.category,
        description: r.description,
        place_id: r.place_id,
        lat: r.lat,
        lon: r.lon,
        address: r.address,
        extra: r.extra,
        reporter_id,
        reporter_name: name,
        reporter_contact: contact,
        open311_key_id: None,
        terms_later: false,
        from_sensor: false,
    };
    // Everything but the inserts runs on a reader, in parallel with other requests:
    // segmentation, validation, place, routing, deadlines and the duplicate search. On SQLite
    // there is one writer, and it only inserts.
    dedupe::ready().await;
    let now = now_ms();
    let viewer = Viewer::of(caller);
    let (new, prepared, duplicates) = state
        .db
        .read(move |c| -> crate::store::Result<Result<_, CaseError>> {
            let run = |c: &mut dyn crate::store::Conn| -> Result<_, CaseError> {
                let p = crate::cases::prepare(c, street, &new, now)?;
                let found = dedupe::suggest(
                    c,
                    &dedupe::Probe {
                        street_id: street,
                        category_id: p.category.id,
                        radius_m: p.category.dup_radius_m,
                        building_id: p.located.building_id,
                        lat: p.located.lat,
                        lon: p.located.lon,
                        terms: &p.terms,
                        exclude: None,
                    },
                    now,
                )?;
                let dups = dedupe::shown_to(c, &viewer, &p.category, found, now)?;
                Ok((new, p, dups))
            };
            Ok(run(c))
        })
        .await??;
    let case = state
        .db
        .write_tx(move |c| -> Result<Case, CaseError> {
            let id = crate::cases::store(c, street, channel, &new, &prepared, now)?;
            crate::cases::get(c, id.0, now)?.ok_or(CaseError::NotFound)
        })
        .await?;
    Ok(CreatedCase { case, duplicates })
}

/// Reports a problem. The channel defaults from the caller's role (resident, patrol for grid
/// workers, hotline for the operations centre, who then give the caller's name).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseRequest, security(("bearer" = [])),
    responses((status = 201, body = CreatedCase), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<CaseRequest>,
) -> AppResult<(StatusCode, Json<CreatedCase>)> {
    let out = intake(&state, &caller, r).await?;
    record_shown(&state, &caller, &out.duplicates).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Audits likely duplicates shown to a caller, as a list of the cases (and of the reporters
/// whose words were shown).
pub async fn record_shown(state: &AppState, caller: &Caller, shown: &[Shown]) -> AppResult<()> {
    if shown.is_empty() {
        return Ok(());
    }
    state
        .audit
        .record(
            NewEntry::by(caller, audit::Action::List)
                .subjects(dedupe::audit_subjects(shown))
                .purpose("duplicates"),
        )
        .await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct DuplicateProbe {
    pub category: String,
    pub description: String,
    #[serde(default)]
    pub place_id: Option<i64>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
}

/// Open cases that may be the same problem as a report being written (before it is sent): to
/// a worker, the cases in her scope (`kind: case`); to anyone else, similar reports nearby of
/// categories that may be published, without personal data (`kind: nearby`). Audited.
#[utoipa::path(post, path = "/api/v1/cases/duplicates", tag = "cases", request_body = DuplicateProbe, security(("bearer" = [])),
    responses((status = 200, body = [Shown]), (status = 422, body = ErrorBody)))]
pub async fn duplicates(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(p): ApiJson<DuplicateProbe>,
) -> AppResult<Json<Vec<Shown>>> {
    let street = street_of(&caller)?;
    let now = now_ms();
    let viewer = Viewer::of(&caller);
    let out = state
        .db
        .read(move |c| -> crate::store::Result<Result<_, CaseError>> {
            let run = |c: &mut dyn crate::store::Conn| -> Result<_, CaseError> {
                let cat = crate::cases::category_by_code(c, street, &p.category)?
                    .ok_or(CaseError::Invalid("case.err_category"))?;
                let loc = crate::cases::locate(c, street, p.place_id, p.lat, p.lon)?;
                let found = dedupe::suggest(
                    c,
                    &dedupe::Probe {
                        street_id: street,
                        category_id: cat.id,
                        radius_m: cat.dup_radius_m,
                        building_id: loc.building_id,
                        lat: loc.lat,
                        lon: loc.lon,
                        terms: &dedupe::segment(&p.description),
                        exclude: None,
                    },
                    now,
                )?;
                Ok(dedupe::shown_to(c, &viewer, &cat, found, now)?)
            };
            Ok(run(c))
        })
        .await??;
    record_shown(&state, &caller, &out).await?;
    Ok(Json(out))
}
