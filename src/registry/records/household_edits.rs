//! Households as editable records: head, address, notes.

use super::*;

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct HouseholdPatch {
    /// A member who becomes the head (户主); their relation becomes `head`.
    #[serde(default)]
    pub head_person_id: Option<i64>,
    /// Whether the household's hukou is registered here.
    #[serde(default)]
    pub registered: Option<bool>,
}

pub(super) fn household_row(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
) -> Result<Option<(i64, Option<i64>, bool)>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    Ok(c.query_opt(
        &format!(
            "SELECT street_id, head_person_id, registered FROM households WHERE id = $1 AND {cond}"
        ),
        &p,
    )?
    .map(|r| (r.i64(0), r.opt_i64(1), r.bool(2))))
}

pub fn update_household(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    patch: &HouseholdPatch,
    who: Actor<'_>,
) -> Result<Outcome<Vec<String>>> {
    let Some((street, head, registered)) = household_row(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut ch = serde_json::Map::new();
    let now = now_ms();
    if let Some(new_head) = patch.head_person_id
        && Some(new_head) != head
    {
        if c.query_opt(
            "SELECT id FROM persons WHERE id = $1 AND household_id = $2 AND residence <> 'left'",
            params![new_head, id],
        )?
        .is_none()
        {
            return invalid("registry.refusal.head_not_member");
        }
        if let Some(old) = head {
            c.exec(
                "UPDATE persons SET relation = 'other', updated_at = $1 WHERE id = $2 AND relation = 'head'",
                params![now, old],
            )?;
        }
        c.exec(
            "UPDATE persons SET relation = 'head', updated_at = $1 WHERE id = $2",
            params![now, new_head],
        )?;
        c.exec(
            "UPDATE households SET head_person_id = $1, updated_at = $2 WHERE id = $3",
            params![new_head, now, id],
        )?;
        ch.insert("head_person_id".into(), serde_json::json!([head, new_head]));
    }
    if let Some(reg) = patch.registered
        && reg != registered
    {
        c.exec(
            "UPDATE households SET registered = $1, updated_at = $2 WHERE id = $3",
            params![reg, now, id],
        )?;
        ch.insert("registered".into(), serde_json::json!([registered, reg]));
    }
    let changed = ch.keys().cloned().collect();
    keep_version(c, street, "household", id, who, ch)?;
    Ok(Ok(changed))
}

/// Opens a new household in a unit (a family moving in beside another, or split off).
pub fn create_household(
    c: &mut dyn Conn,
    scope: &Scope,
    unit_id: i64,
    registered: bool,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let Some(u) = unit_row(c, scope, unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let now = now_ms();
    let id = c
        .query_one(
            "INSERT INTO households (street_id, unit_id, place_path, registered, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            params![u.street_id, u.id, u.path.clone(), registered, now],
        )?
        .i64(0);
    crate::registry::counts::household_added(c, u.street_id, &u.path)?;
    let mut ch = serde_json::Map::new();
    ch.insert(
        "unit".into(),
        serde_json::json!([null, u.address.unwrap_or(u.name)]),
    );
    keep_version(c, u.street_id, "household", id, who, ch)?;
    Ok(Ok(id))
}

/// Moves a person into another household (within the scope), following it to its unit.
pub fn move_person(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    household_id: i64,
    relation: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if !crate::registry::persons::RELATIONS.contains(&relation) {
        return invalid("registry.refusal.relation_unknown");
    }
    let Some((street, head, _)) = household_row(c, scope, household_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!("SELECT household_id, relation FROM persons WHERE id = $1 AND {cond}"),
        &p,
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    if relation == "head" && head.is_some() && head != Some(person_id) {
        return conflict("registry.refusal.head_exists");
    }
    let (unit_id, path) = {
        let h = c.query_one(
            "SELECT unit_id, place_path FROM households WHERE id = $1",
            params![household_id],
        )?;
        (h.i64(0), h.str(1))
    };
    let old_household = r.opt_i64(0);
    let now = now_ms();
    let watch = crate::registry::counts::watch(c, &[person_id])?;
    c.exec(
        "UPDATE persons SET household_id = $1, unit_id = $2, place_path = $3, relation = $4, updated_at = $5 WHERE id = $6",
        params![household_id, unit_id, path.clone(), relation, now, person_id],
    )?;
    watch.settle(c)?;
    // Whoever headed the old household and leaves it leaves it without a head.
    if let Some(old) = old_household {
        c.exec(
            "UPDATE households SET head_person_id = NULL, updated_at = $1 WHERE id = $2 AND head_person_id = $3",
            params![now, old, person_id],
        )?;
    }
    if relation == "head" {
        c.exec(
            "UPDATE households SET head_person_id = $1, updated_at = $2 WHERE id = $3",
            params![person_id, now, household_id],
        )?;
    }
    c.exec(
        "UPDATE vehicles SET place_path = $1 WHERE owner_id = $2",
        params![path, person_id],
    )?;
    crate::registry::grams::reindex(c, person_id)?;
    let changes = serde_json::json!({
        "household_id": [old_household, household_id],
        "relation": [r.str(1), relation],
    });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now, who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}
