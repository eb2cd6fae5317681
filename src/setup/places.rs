//! Places by hand (issue 21 part 2): a street administrator, or a community worker within her
//! community, creates, changes, moves and retires communities, grids, buildings and units.
//! Each use case: check the caller → one transaction → a version → the audit log.

use serde_json::json;

use crate::audit::{Action, NewEntry};
use crate::kernel::i18n::Tr;
use crate::kernel::{AppError, AppResult, StatusCode};
use crate::org::place_edit::{self, Fields};
use crate::org::{Caller, access, hooks, places};
use crate::state::AppState;
use crate::store::{Conn, StoreError, now_ms};

/// A unit's uses (`use.*` in the catalogue).
pub const USES: [&str; 4] = ["self_occupied", "rented", "vacant", "commercial"];

/// A new place as a form or the API gives it.
#[derive(Clone, Debug, Default)]
pub struct NewPlace {
    pub parent_id: i64,
    pub code: String,
    pub name: String,
    pub fields: Fields,
}

/// Checks the optional numbers and the shape of a place's fields.
pub fn check_fields(kind: &str, f: &Fields) -> Result<(), &'static str> {
    for v in [f.floors, f.stairwells, f.floor_no, f.stairwell_no]
        .into_iter()
        .flatten()
    {
        if !(0..=300).contains(&v) {
            return Err("setup.error.number");
        }
    }
    if let Some(a) = f.area_m2
        && !(a.is_finite() && (0.0..=100_000.0).contains(&a))
    {
        return Err("setup.error.area");
    }
    for t in [&f.address, &f.estate, &f.unit_use].into_iter().flatten() {
        if t.chars().count() > 128 {
            return Err("setup.error.name_long");
        }
        crate::kernel::text::check_line(t)?;
    }
    if let Some(u) = &f.unit_use
        && !USES.contains(&u.as_str())
    {
        return Err("setup.error.use");
    }
    if let Some(g) = &f.geojson {
        let shape = crate::org::geometry::Shape::parse(g).ok_or("setup.error.geometry")?;
        let wants_area = matches!(kind, "street" | "community" | "grid");
        if wants_area && shape.outline().is_none() {
            return Err("setup.error.geometry");
        }
    }
    Ok(())
}

fn conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(_) => AppError::new(
            StatusCode::CONFLICT,
            crate::kernel::error::Code::Conflict,
            "setup.error.code_taken",
        ),
        e => e.into(),
    }
}

/// Creates a place under a parent the caller may edit; returns the new place.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    np: NewPlace,
    source: &'static str,
) -> AppResult<places::Place> {
    let code = place_edit::check_code(&np.code).map_err(AppError::invalid)?;
    let name = place_edit::check_name(&np.name).map_err(AppError::invalid)?;
    let editor = place_edit_paths(caller);
    let scope = caller.scope.places.clone();
    let by = caller.user_id;
    let place = state
        .db
        .write_tx(move |c| -> AppResult<places::Place> {
            let parent = places::get(c, &scope, np.parent_id)?.ok_or_else(AppError::not_found)?;
            if !crate::org::Scope::covers(&editor, &parent.path) {
                return Err(AppError::forbidden());
            }
            if place_edit::is_retired(c, parent.id)? {
                return Err(AppError::invalid("setup.error.parent_retired"));
            }
            let kind = place_edit::child_kind(&parent.kind)
                .filter(|k| *k != "street")
                .ok_or_else(|| AppError::invalid("setup.error.no_children"))?;
            check_fields(kind, &np.fields).map_err(AppError::invalid)?;
            let now = now_ms();
            let id = place_edit::insert(c, Some(&parent), kind, &code, &name, &np.fields, now)
                .map_err(conflict)?;
            let place = places::by_id_unscoped(c, id)?.ok_or_else(AppError::not_found)?;
            let mut changes = json!({"code": [null, code], "name": [null, name]});
            for (k, v) in field_json(&np.fields) {
                changes[k] = json!([null, v]);
            }
            place_edit::record_version(c, &place, Some(by), source, &changes, now)?;
            Ok(place)
        })
        .await?;
    audit_change(state, caller, &place, "create").await?;
    Ok(place)
}

fn field_json(f: &Fields) -> Vec<(&'static str, serde_json::Value)> {
    let mut v = Vec::new();
    let mut put = |k: &'static str, x: serde_json::Value| {
        if !x.is_null() {
            v.push((k, x));
        }
    };
    put("address", json!(f.address));
    put("estate", json!(f.estate));
    put("floors", json!(f.floors));
    put("stairwells", json!(f.stairwells));
    put("floor_no", json!(f.floor_no));
    put("stairwell_no", json!(f.stairwell_no));
    put("area_m2", json!(f.area_m2));
    put("unit_use", json!(f.unit_use));
    if f.geojson.is_some() {
        put("geojson", json!("…"));
    }
    v
}

fn place_edit_paths(caller: &Caller) -> Vec<String> {
    access::place_editor_paths(caller)
}

/// Loads a place the caller may edit: 404 outside what she browses, 403 when she only reads it.
fn editable(
    c: &mut dyn Conn,
    caller_scope: &[String],
    editor: &[String],
    id: i64,
) -> AppResult<places::Place> {
    let place = places::get(c, caller_scope, id)?.ok_or_else(AppError::not_found)?;
    if !crate::org::Scope::covers(editor, &place.path) {
        return Err(AppError::forbidden());
    }
    Ok(place)
}

/// Changes a place's name and fields; returns the place and what changed.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut fields: Fields,
    source: &'static str,
) -> AppResult<(places::Place, serde_json::Map<String, serde_json::Value>)> {
    if let Some(n) = &fields.name {
        fields.name = Some(place_edit::check_name(n).map_err(AppError::invalid)?);
    }
    let editor = place_edit_paths(caller);
    let scope = caller.scope.places.clone();
    let by = caller.user_id;
    let (place, changes) = state
        .db
        .write_tx(move |c| -> AppResult<_> {
            let place = editable(c, &scope, &editor, id)?;
            if place_edit::is_retired(c, place.id)? {
                return Err(AppError::invalid("setup.error.retired"));
            }
            check_fields(&place.kind, &fields).map_err(AppError::invalid)?;
            let changes = place_edit::update(c, &place, &fields)?;
            if !changes.is_empty() {
                place_edit::record_version(
                    c,
                    &place,
                    Some(by),
                    source,
                    &serde_json::Value::Object(changes.clone()),
                    now_ms(),
                )?;
            }
            let place = places::by_id_unscoped(c, id)?.ok_or_else(AppError::not_found)?;
            Ok((place, changes))
        })
        .await?;
    if !changes.is_empty() {
        audit_change(state, caller, &place, "update").await?;
    }
    Ok((place, changes))
}

/// Moves a place under a new parent of the kind its old parent was, within the caller's
/// places; everything under it and every area's copies of its path follow.
pub async fn move_to(
    state: &AppState,
    caller: &Caller,
    id: i64,
    to: i64,
    source: &'static str,
) -> AppResult<places::Place> {
    let editor = place_edit_paths(caller);
    let scope = caller.scope.places.clone();
    let by = caller.user_id;
    let place = state
        .db
        .write_tx(move |c| -> AppResult<places::Place> {
            let place = editable(c, &scope, &editor, id)?;
            if matches!(place.kind.as_str(), "district" | "street") {
                return Err(AppError::invalid("setup.error.move_kind"));
            }
            let target = places::get(c, &scope, to)?.ok_or_else(AppError::not_found)?;
            if !crate::org::Scope::covers(&editor, &target.path) {
                return Err(AppError::forbidden());
            }
            if place_edit::child_kind(&target.kind) != Some(place.kind.as_str()) {
                return Err(AppError::invalid("setup.error.move_kind"));
            }
            if target.street_id != place.street_id {
                return Err(AppError::invalid("setup.error.move_street"));
            }
            if place_edit::is_retired(c, target.id)? || place_edit::is_retired(c, place.id)? {
                return Err(AppError::invalid("setup.error.retired"));
            }
            if Some(target.id) == place.parent_id {
                return Ok(place);
            }
            let (old, new) = place_edit::move_under(c, &place, &target).map_err(conflict)?;
            hooks::repath(c, &old, &new)?;
            let from = place
                .parent_id
                .and_then(|p| places::by_id_unscoped(c, p).ok().flatten())
                .map(|p| p.name)
                .unwrap_or_default();
            place_edit::record_version(
                c,
                &place,
                Some(by),
                source,
                &json!({"parent": [from, target.name], "path": [old, new]}),
                now_ms(),
            )?;
            places::by_id_unscoped(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    audit_change(state, caller, &place, "move").await?;
    Ok(place)
}

/// Retires a place and everything under it, refused (with the counts) while residents, open
/// cases or devices remain there.
pub async fn retire(
    state: &AppState,
    caller: &Caller,
    id: i64,
    source: &'static str,
) -> AppResult<places::Place> {
    let editor = place_edit_paths(caller);
    let scope = caller.scope.places.clone();
    let by = caller.user_id;
    let lang = crate::kernel::ctx().lang;
    let place = state
        .db
        .write_tx(move |c| -> AppResult<places::Place> {
            let place = editable(c, &scope, &editor, id)?;
            if matches!(place.kind.as_str(), "district" | "street") {
                return Err(AppError::invalid("setup.error.retire_kind"));
            }
            if place_edit::is_retired(c, place.id)? {
                return Err(AppError::invalid("setup.error.retired"));
            }
            let uses = hooks::uses(c, &place.path)?;
            if !uses.is_empty() {
                return Err(in_use(lang, "setup.error.in_use", &uses));
            }
            let now = now_ms();
            let n = place_edit::retire(c, &place, now)?;
            place_edit::record_version(
                c,
                &place,
                Some(by),
                source,
                &json!({"retired": [false, true], "places": n}),
                now,
            )?;
            Ok(place)
        })
        .await?;
    audit_change(state, caller, &place, "retire").await?;
    Ok(place)
}

/// The 409 of a retirement refused for what the areas still keep (`org::hooks`): the message
/// `key` with the counts named in the reader's language.
pub(crate) fn in_use(
    lang: crate::kernel::i18n::Lang,
    key: &str,
    uses: &[(&'static str, i64)],
) -> AppError {
    let t = Tr(lang);
    let what: Vec<String> = uses
        .iter()
        .map(|(k, n)| format!("{} {n}", t.s(k)))
        .collect();
    let sep = if lang == crate::kernel::i18n::Lang::En {
        ", "
    } else {
        "、"
    };
    AppError::with_message(
        StatusCode::CONFLICT,
        crate::kernel::error::Code::StateConflict,
        t.fill(key, &[("what", &what.join(sep))]),
    )
}

/// Logs a change to the hierarchy (no person's data: the place is named in the purpose).
async fn audit_change(
    state: &AppState,
    caller: &Caller,
    place: &places::Place,
    what: &str,
) -> AppResult<()> {
    state.places_changed();
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .purpose(format!("{what} {} {}", place.kind, place.path)),
        )
        .await?;
    Ok(())
}

/// A place the caller may see, with its versions, for the edit page and the API.
pub async fn versions(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<(places::Place, Vec<place_edit::PlaceVersion>)> {
    let scope = caller.scope.places.clone();
    state
        .db
        .read(move |c| {
            let Some(place) = places::get(c, &scope, id)? else {
                return Ok(None);
            };
            let v = place_edit::versions(c, id)?;
            Ok(Some((place, v)))
        })
        .await?
        .ok_or_else(AppError::not_found)
}
