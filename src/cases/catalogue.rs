//! The service catalogue: categories with their deadlines and fields, and routing to organisations.

use super::*;

pub(super) const CATEGORY_COLS: &str = "id, street_id, code, name_zh, name_en, group_code, fields, accept_hours, \
     resolve_hours, priority, dup_radius_m, verify_required, public, active, about_people, governed_by";

pub(super) fn category_from(mut r: Row) -> Category {
    Category {
        id: r.i64(0),
        street_id: r.i64(1),
        code: r.take_str(2).unwrap_or_default(),
        name_zh: r.take_str(3).unwrap_or_default(),
        name_en: r.take_str(4).unwrap_or_default(),
        group: r.take_str(5).unwrap_or_default(),
        fields: serde_json::from_str(&r.str(6)).unwrap_or_default(),
        accept_hours: r.i64(7),
        resolve_hours: r.i64(8),
        priority: r.i64(9),
        dup_radius_m: r.i64(10),
        verify_required: r.bool(11),
        public: r.bool(12),
        active: r.bool(13),
        about_people: r.bool(14),
        governed_by: r.take_str(15).unwrap_or_default(),
    }
}

pub fn categories(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Category>, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT {CATEGORY_COLS} FROM case_categories WHERE street_id = $1 ORDER BY group_code, code"
        ),
        params![street_id],
    )?;
    Ok(rows.into_iter().map(category_from).collect())
}

pub fn category_by_code(
    c: &mut dyn Conn,
    street_id: i64,
    code: &str,
) -> Result<Option<Category>, StoreError> {
    Ok(c.query_opt(
        &format!("SELECT {CATEGORY_COLS} FROM case_categories WHERE street_id = $1 AND code = $2"),
        params![street_id, code],
    )?
    .map(category_from))
}

pub fn category_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Category>, StoreError> {
    Ok(c.query_opt(
        &format!("SELECT {CATEGORY_COLS} FROM case_categories WHERE id = $1"),
        params![id],
    )?
    .map(category_from))
}

/// A category as an administrator defines it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewCategory {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    pub accept_hours: i64,
    pub resolve_hours: i64,
    #[serde(default = "default_priority")]
    pub priority: i64,
    #[serde(default = "default_radius")]
    pub dup_radius_m: i64,
    #[serde(default = "yes")]
    pub verify_required: bool,
    #[serde(default = "yes")]
    pub public: bool,
    /// About people (群租, a family dispute, care for an elderly person): never offered or
    /// published, whatever `public` says. When absent, a category keeps what it had (a new
    /// one is not about people).
    #[serde(default)]
    pub about_people: Option<bool>,
    /// Self-governed (留白): the residents' body that handles it, one of
    /// `building_leader`, `owners_committee`, `residents_council`, `property_agent`; empty for
    /// a category with deadlines. When absent, a category keeps what it had (a new one has
    /// deadlines).
    #[serde(default)]
    pub governed_by: Option<String>,
}

pub(super) fn default_priority() -> i64 {
    2
}

pub(super) fn default_radius() -> i64 {
    100
}

pub(super) fn yes() -> bool {
    true
}

/// Adds a category or replaces the one with the same code; returns its id.
pub fn save_category(c: &mut dyn Conn, street_id: i64, k: &NewCategory) -> Result<i64, CaseError> {
    let code_ok = !k.code.is_empty()
        && k.code.len() <= 40
        && k.code
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if !code_ok {
        return Err(CaseError::Invalid("case.err_category_code"));
    }
    if k.name_zh.trim().is_empty() || k.name_en.trim().is_empty() {
        return Err(CaseError::Invalid("case.err_category_name"));
    }
    if !(1..=2000).contains(&k.accept_hours) || !(1..=2000).contains(&k.resolve_hours) {
        return Err(CaseError::Invalid("case.err_hours"));
    }
    if !(1..=3).contains(&k.priority) || !(0..=5000).contains(&k.dup_radius_m) {
        return Err(CaseError::Invalid("case.err_category_numbers"));
    }
    for f in &k.fields {
        let choice = matches!(f.kind, FieldType::Single | FieldType::Multi);
        if f.key.is_empty() || f.label_zh.is_empty() || choice == f.options.is_empty() {
            return Err(CaseError::Invalid("case.err_field_def"));
        }
    }
    if let Some(g) = k.governed_by.as_deref().map(str::trim)
        && !g.is_empty()
        && !GOVERNING_BODIES.contains(&g)
    {
        return Err(CaseError::Invalid("case.err_governed_by"));
    }
    let fields = serde_json::to_string(&k.fields).unwrap_or_else(|_| "[]".into());
    let now = crate::store::now_ms();
    let old = category_by_code(c, street_id, &k.code)?;
    let governed_by = match &k.governed_by {
        Some(g) => g.trim().to_string(),
        None => old
            .as_ref()
            .map(|o| o.governed_by.clone())
            .unwrap_or_default(),
    };
    let about_people = k
        .about_people
        .unwrap_or_else(|| old.as_ref().is_some_and(|o| o.about_people));
    let public = k.public && !about_people;
    if let Some(old) = old {
        c.exec(
            "UPDATE case_categories SET name_zh = $2, name_en = $3, group_code = $4, fields = $5, \
             accept_hours = $6, resolve_hours = $7, priority = $8, dup_radius_m = $9, \
             verify_required = $10, public = $11, about_people = $12, governed_by = $13, active = 1 \
             WHERE id = $1",
            params![
                old.id,
                k.name_zh.trim(),
                k.name_en.trim(),
                k.group.trim(),
                fields,
                k.accept_hours,
                k.resolve_hours,
                k.priority,
                k.dup_radius_m,
                k.verify_required,
                public,
                about_people,
                governed_by
            ],
        )?;
        return Ok(old.id);
    }
    Ok(c.query_i64(
        "INSERT INTO case_categories (street_id, code, name_zh, name_en, group_code, fields, \
         accept_hours, resolve_hours, priority, dup_radius_m, verify_required, public, about_people, \
         active, created_at, governed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15) \
         RETURNING id",
        params![
            street_id,
            k.code.as_str(),
            k.name_zh.trim(),
            k.name_en.trim(),
            k.group.trim(),
            fields,
            k.accept_hours,
            k.resolve_hours,
            k.priority,
            k.dup_radius_m,
            k.verify_required,
            public,
            about_people,
            now,
            governed_by
        ],
    )?)
}

/// Makes `org_id` responsible for a category at a place and everything under it.
pub fn set_route(
    c: &mut dyn Conn,
    category_id: i64,
    place_id: i64,
    org_id: i64,
) -> Result<(), StoreError> {
    let p = c.query_one(
        "SELECT street_id, path FROM places WHERE id = $1",
        params![place_id],
    )?;
    let street = p.opt_i64(0).unwrap_or(place_id);
    c.exec(
        "DELETE FROM category_routes WHERE category_id = $1 AND place_id = $2",
        params![category_id, place_id],
    )?;
    c.exec(
        "INSERT INTO category_routes (street_id, category_id, place_id, place_path, org_id) VALUES ($1, $2, $3, $4, $5)",
        params![street, category_id, place_id, p.str(1), org_id],
    )?;
    Ok(())
}

/// The organisation responsible for a category at a place: the route of the most specific
/// place that contains it.
pub fn route(
    c: &mut dyn Conn,
    category_id: i64,
    place_path: &str,
) -> Result<Option<i64>, StoreError> {
    let rows = c.query(
        "SELECT place_path, org_id FROM category_routes WHERE category_id = $1",
        params![category_id],
    )?;
    Ok(rows
        .iter()
        .filter(|r| crate::org::Scope::covers(&[r.str(0)], place_path))
        .max_by_key(|r| r.str(0).len())
        .map(|r| r.i64(1)))
}

/// The routes of a category, for the catalogue page: (place name, organisation name).
pub fn routes_of(c: &mut dyn Conn, category_id: i64) -> Result<Vec<(String, String)>, StoreError> {
    let rows = c.query(
        "SELECT p.name, r.org_id FROM category_routes r JOIN places p ON p.id = r.place_id \
         WHERE r.category_id = $1 ORDER BY r.place_path",
        params![category_id],
    )?;
    let names = crate::org::orgs::names(c, rows.iter().map(|r| r.i64(1)))?;
    // A route names an organisation by a foreign key, so every name is found.
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.str(0), names.get(&r.i64(1))?.clone())))
        .collect())
}

/// One route to an organisation, for its page.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteTo {
    pub category_id: i64,
    pub name_zh: String,
    pub name_en: String,
    pub place_id: i64,
    pub place_name: String,
}

/// The routes to an organisation, by category then place.
pub fn routes_to(c: &mut dyn Conn, org_id: i64) -> Result<Vec<RouteTo>, StoreError> {
    Ok(c.query(
        "SELECT k.id, k.name_zh, k.name_en, p.id, p.name FROM category_routes r \
             JOIN case_categories k ON k.id = r.category_id JOIN places p ON p.id = r.place_id \
             WHERE r.org_id = $1 ORDER BY k.code, r.place_path",
        params![org_id],
    )?
    .iter()
    .map(|r| RouteTo {
        category_id: r.i64(0),
        name_zh: r.str(1),
        name_en: r.str(2),
        place_id: r.i64(3),
        place_name: r.str(4),
    })
    .collect())
}

/// Removes one route (a category at a place); false when there was none to this organisation.
pub fn remove_route(
    c: &mut dyn Conn,
    category_id: i64,
    place_id: i64,
    org_id: i64,
) -> Result<bool, StoreError> {
    Ok(c.exec(
        "DELETE FROM category_routes WHERE category_id = $1 AND place_id = $2 AND org_id = $3",
        params![category_id, place_id, org_id],
    )? == 1)
}
