//! Rental registrations (出租房备案) with their tenants.

use super::*;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Rental {
    pub id: i64,
    pub unit_id: i64,
    pub address: Option<String>,
    /// 备案编号.
    pub reg_no: String,
    pub landlord: PersonRef,
    pub tenants: Vec<PersonRef>,
    pub start_date: String,
    pub end_date: String,
    /// active, ended or cancelled.
    pub state: String,
    /// True when active but past its end date: the registration needs renewing.
    pub expired: bool,
    pub notes: String,
}

pub(super) fn rentals_where(
    c: &mut dyn Conn,
    cond: &str,
    mut p: Vec<Val>,
    limit: i64,
) -> Result<Vec<Rental>> {
    p.push(Val::Int(limit));
    let rows = c.query(
        &format!(
            "SELECT r.id, r.unit_id, u.address, r.reg_no, l.id, l.name, l.id_number_masked, r.start_date, r.end_date, r.state, r.notes \
             FROM rentals r JOIN places u ON u.id = r.unit_id JOIN persons l ON l.id = r.landlord_id \
             WHERE {cond} ORDER BY r.end_date DESC, r.id DESC LIMIT ${}",
            p.len()
        ),
        &p,
    )?;
    let today = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = r.i64(0);
        let tenants = c
            .query(
                "SELECT p.id, p.name, p.id_number_masked FROM rental_tenants t JOIN persons p ON p.id = t.person_id \
                 WHERE t.rental_id = $1 ORDER BY p.id",
                params![id],
            )?
            .iter()
            .map(|t| PersonRef {
                id: t.i64(0),
                name: t.str(1),
                id_number_masked: t.opt_str(2),
            })
            .collect();
        let state = r.str(9);
        let end = r.str(8);
        out.push(Rental {
            id,
            unit_id: r.i64(1),
            address: r.opt_str(2),
            reg_no: r.str(3),
            landlord: PersonRef {
                id: r.i64(4),
                name: r.str(5),
                id_number_masked: r.opt_str(6),
            },
            tenants,
            start_date: r.str(7),
            expired: state == "active" && end < today,
            end_date: end,
            state,
            notes: r.str(10),
        });
    }
    Ok(out)
}

/// Rental registrations within the scope, optionally only in one state or only those whose
/// end date falls within `expiring_days`: a page of `limit` in their order (latest end first),
/// starting after the key `after` (`id:end_date`, the `next` of the page before), with the
/// key of the next page when more follow.
pub fn rentals(
    c: &mut dyn Conn,
    scope: &Scope,
    state: Option<&str>,
    expiring_days: Option<i64>,
    limit: i64,
    after: Option<&str>,
) -> Result<(Vec<Rental>, Option<String>)> {
    let mut p = Vec::new();
    let mut conds = vec![under_paths("r.place_path", &scope.registry, 1, &mut p)];
    // A scope within one street walks that street's rentals in list order
    // (`rentals_street_end`), which stops after a page instead of sorting them all.
    if let Some(street) = one_street(c, scope)? {
        p.push(Val::Int(street));
        conds.push(format!("r.street_id = ${}", p.len()));
    }
    if let Some((id, end)) = after.and_then(rental_key) {
        p.push(Val::Text(end));
        p.push(Val::Int(id));
        conds.push(format!(
            "(r.end_date < ${e} OR (r.end_date = ${e} AND r.id < ${i}))",
            e = p.len() - 1,
            i = p.len()
        ));
    }
    if let Some(s) = state {
        p.push(Val::Text(s.to_string()));
        conds.push(format!("r.state = ${}", p.len()));
    }
    if let Some(days) = expiring_days {
        let until = crate::kernel::time::today() + chrono::Days::new(days.clamp(0, 3650) as u64);
        p.push(Val::Text(until.format("%Y-%m-%d").to_string()));
        conds.push(format!("r.state = 'active' AND r.end_date <= ${}", p.len()));
    }
    let mut page = rentals_where(c, &conds.join(" AND "), p, limit + 1)?;
    let more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let next = page
        .last()
        .filter(|_| more)
        .map(|r| format!("{}:{}", r.id, r.end_date));
    Ok((page, next))
}

/// The street every path of the scope lies in, if there is one (a district's scope spans
/// several).
pub(super) fn one_street(c: &mut dyn Conn, scope: &Scope) -> Result<Option<i64>> {
    let streets: std::collections::BTreeSet<String> = scope
        .registry
        .iter()
        .map(|p| {
            let mut parts = p.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(d), Some(s)) => format!("{d}/{s}"),
                _ => p.clone(),
            }
        })
        .collect();
    let mut it = streets.into_iter();
    match (it.next(), it.next()) {
        (Some(path), None) => Ok(c
            .query_opt(
                "SELECT id FROM places WHERE path = $1 AND kind = 'street'",
                params![path],
            )?
            .map(|r| r.i64(0))),
        _ => Ok(None),
    }
}

/// A rentals page key, `id:end_date`.
pub fn rental_key(s: &str) -> Option<(i64, String)> {
    let (id, end) = s.split_once(':')?;
    Some((id.parse().ok()?, end.to_string()))
}

pub fn rental(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<Rental>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("r.place_path", &scope.registry, 2, &mut p);
    Ok(rentals_where(c, &format!("r.id = $1 AND {cond}"), p, 1)?
        .into_iter()
        .next())
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewRental {
    pub unit_id: i64,
    /// 备案编号; generated when left out.
    #[serde(default)]
    pub reg_no: Option<String>,
    pub landlord: PersonPick,
    #[serde(default)]
    pub tenants: Vec<PersonPick>,
    /// YYYY-MM-DD (or as sheets write dates).
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Registers a rental. The landlord must own a share of the unit when its owners are known;
/// the unit's use becomes "rented".
pub fn create_rental(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    r: &NewRental,
    who: Actor<'_>,
) -> Result<Outcome<i64>> {
    let Some(u) = unit_row(c, scope, r.unit_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (Some(start), Some(end)) = (parse_date(&r.start_date), parse_date(&r.end_date)) else {
        return invalid("registry.refusal.rental_dates");
    };
    if end <= start {
        return invalid("registry.refusal.rental_order");
    }
    let landlord = match find_person(
        c,
        keys,
        scope,
        Some(u.street_id),
        &r.landlord,
        NOT_REGISTERED,
    )? {
        Ok(p) => p.person,
        Err(e) => return Ok(Err(e)),
    };
    let owners = owners(c, u.id)?;
    if !owners.is_empty() && !owners.iter().any(|o| o.person.id == landlord.id) {
        return invalid("registry.refusal.landlord_not_owner");
    }
    if r.tenants.is_empty() {
        return invalid("registry.refusal.rental_no_tenant");
    }
    let mut tenants = Vec::new();
    for t in &r.tenants {
        match find_person(c, keys, scope, Some(u.street_id), t, NOT_REGISTERED)? {
            Ok(p) if p.person.id == landlord.id => {
                return invalid("registry.refusal.landlord_tenant");
            }
            Ok(p) => tenants.push(p.person),
            Err(e) => return Ok(Err(e)),
        }
    }
    tenants.sort_by_key(|t| t.id);
    tenants.dedup_by_key(|t| t.id);
    let (start, end) = (
        start.format("%Y-%m-%d").to_string(),
        end.format("%Y-%m-%d").to_string(),
    );
    if c.query_opt(
        "SELECT id FROM rentals WHERE unit_id = $1 AND state = 'active' AND start_date < $2 AND end_date > $3",
        params![u.id, end.clone(), start.clone()],
    )?
    .is_some()
    {
        return conflict("registry.refusal.rental_overlap");
    }
    let reg_no = match r.reg_no.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) if n.chars().count() <= 40 => n.to_string(),
        Some(_) => return invalid("registry.refusal.rental_number_long"),
        None => {
            let n = c.query_i64(
                "SELECT COUNT(*) FROM rentals WHERE street_id = $1",
                params![u.street_id],
            )?;
            format!("ZL{}{:05}", &start[..4], n + 1)
        }
    };
    if c.query_opt(
        "SELECT id FROM rentals WHERE street_id = $1 AND reg_no = $2",
        params![u.street_id, reg_no.clone()],
    )?
    .is_some()
    {
        return conflict("registry.refusal.rental_number_used");
    }
    let now = now_ms();
    let notes = r.notes.clone().unwrap_or_default();
    let id = c
        .query_one(
            "INSERT INTO rentals (street_id, unit_id, place_path, reg_no, landlord_id, start_date, end_date, state, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9, $9) RETURNING id",
            params![u.street_id, u.id, u.path.clone(), reg_no.clone(), landlord.id, start.clone(), end.clone(), notes, now],
        )?
        .i64(0);
    for t in &tenants {
        c.exec(
            "INSERT INTO rental_tenants (street_id, rental_id, person_id) VALUES ($1, $2, $3)",
            params![u.street_id, id, t.id],
        )?;
    }
    let mut ch = serde_json::Map::new();
    ch.insert("reg_no".into(), serde_json::json!([null, reg_no]));
    ch.insert("landlord".into(), serde_json::json!([null, landlord.name]));
    ch.insert(
        "tenants".into(),
        serde_json::json!([
            null,
            tenants
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
                .join("、")
        ]),
    );
    ch.insert(
        "period".into(),
        serde_json::json!([null, format!("{start} – {end}")]),
    );
    keep_version(c, u.street_id, "rental", id, who, ch)?;
    if u.unit_use.as_deref() != Some("rented") {
        c.exec(
            "UPDATE places SET unit_use = 'rented' WHERE id = $1",
            params![u.id],
        )?;
        let mut ch = serde_json::Map::new();
        ch.insert("unit_use".into(), serde_json::json!([u.unit_use, "rented"]));
        keep_version(c, u.street_id, "unit", u.id, who, ch)?;
    }
    Ok(Ok(id))
}

/// Ends (the tenants moved out) or cancels (registered in error) an active registration.
pub fn close_rental(
    c: &mut dyn Conn,
    scope: &Scope,
    id: i64,
    to: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if !matches!(to, "ended" | "cancelled") {
        return invalid("registry.refusal.rental_end_how");
    }
    let Some(r) = rental(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    if r.state != "active" {
        return conflict("registry.refusal.rental_not_active");
    }
    let street = c.query_i64("SELECT street_id FROM rentals WHERE id = $1", params![id])?;
    let today = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let end = if to == "ended" && today < r.end_date {
        today
    } else {
        r.end_date.clone()
    };
    c.exec(
        "UPDATE rentals SET state = $1, end_date = $2, updated_at = $3 WHERE id = $4",
        params![to, end.clone(), now_ms(), id],
    )?;
    let mut ch = serde_json::Map::new();
    ch.insert("state".into(), serde_json::json!(["active", to]));
    if end != r.end_date {
        ch.insert("end_date".into(), serde_json::json!([r.end_date, end]));
    }
    keep_version(c, street, "rental", id, who, ch)?;
    Ok(Ok(()))
}
