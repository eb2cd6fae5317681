//! The tags a street defines and the persons who carry them.

use super::*;

/// The tags every street has.
pub const BUILTIN_TAGS: [(&str, &str, &str); 7] = [
    ("elderly_alone", "独居老人", "elderly living alone"),
    ("disabled", "残疾人", "disabled"),
    ("party_member", "党员", "party member"),
    ("volunteer", "志愿者", "volunteer"),
    ("renter", "租户", "renter"),
    ("key_care", "重点关爱", "key care"),
    ("home_quarantine", "居家隔离", "under home quarantine"),
];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TagDef {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// One of the tags every street has (not removable).
    pub builtin: bool,
    /// People holding it now.
    pub holders: i64,
}

/// The tags a street knows, without counting their holders: the built-in ones, then those
/// its administrators defined.
pub(super) fn known_tags(c: &mut dyn Conn, street_id: Option<i64>) -> Result<Vec<TagDef>> {
    let mut out: Vec<TagDef> = BUILTIN_TAGS
        .iter()
        .map(|(code, zh, en)| TagDef {
            code: code.to_string(),
            name_zh: zh.to_string(),
            name_en: en.to_string(),
            builtin: true,
            holders: 0,
        })
        .collect();
    for r in c.query(
        "SELECT code, name_zh, name_en FROM tag_defs WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) ORDER BY id",
        params![street_id],
    )? {
        out.push(TagDef {
            code: r.str(0),
            name_zh: r.str(1),
            name_en: r.str(2),
            builtin: false,
            holders: 0,
        });
    }
    Ok(out)
}

/// The street's tags as (code, name in the language asked for), for forms and labels.
pub fn tag_names(
    c: &mut dyn Conn,
    street_id: Option<i64>,
    en: bool,
) -> Result<Vec<(String, String)>> {
    Ok(known_tags(c, street_id)?
        .into_iter()
        .map(|t| (t.code, if en { t.name_en } else { t.name_zh }))
        .collect())
}

/// The tags a street knows with how many people hold each (the tag administration's list).
pub fn tag_defs(c: &mut dyn Conn, street_id: Option<i64>) -> Result<Vec<TagDef>> {
    let counts: std::collections::HashMap<String, i64> = c
        .query(
            "SELECT tag, COUNT(*) FROM person_tags WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) GROUP BY tag",
            params![street_id],
        )?
        .iter()
        .map(|r| (r.str(0), r.i64(1)))
        .collect();
    let mut out = known_tags(c, street_id)?;
    for t in &mut out {
        t.holders = counts.get(&t.code).copied().unwrap_or(0);
    }
    Ok(out)
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTag {
    /// Lower-case letters, digits and `_`, e.g. `low_income`.
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: Option<String>,
}

pub fn create_tag(
    c: &mut dyn Conn,
    street_id: i64,
    t: &NewTag,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let code = t.code.trim().to_ascii_lowercase();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        || !code.starts_with(|ch: char| ch.is_ascii_lowercase())
    {
        return invalid("registry.refusal.tag_code");
    }
    let zh = t.name_zh.trim();
    if zh.is_empty() || zh.chars().count() > 20 {
        return invalid("registry.refusal.tag_name");
    }
    let en = t
        .name_en
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&code);
    if BUILTIN_TAGS
        .iter()
        .any(|(c2, z, _)| *c2 == code || *z == zh)
        || c.query_opt(
            "SELECT id FROM tag_defs WHERE street_id = $1 AND (code = $2 OR name_zh = $3)",
            params![street_id, code.clone(), zh],
        )?
        .is_some()
    {
        return conflict("registry.refusal.tag_exists");
    }
    let id = c
        .query_one(
            "INSERT INTO tag_defs (street_id, code, name_zh, name_en, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            params![street_id, code.clone(), zh, en, who.user_id, now_ms()],
        )?
        .i64(0);
    let mut ch = serde_json::Map::new();
    ch.insert(
        "tag".into(),
        serde_json::json!([null, format!("{code} {zh}")]),
    );
    keep_version(c, street_id, "tag", id, who, ch)?;
    Ok(Ok(()))
}

pub fn delete_tag(
    c: &mut dyn Conn,
    street_id: i64,
    code: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    if BUILTIN_TAGS.iter().any(|(c2, _, _)| *c2 == code) {
        return invalid("registry.refusal.tag_builtin");
    }
    let Some(r) = c.query_opt(
        "SELECT id FROM tag_defs WHERE street_id = $1 AND code = $2",
        params![street_id, code],
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    if c.query_i64(
        "SELECT COUNT(*) FROM person_tags WHERE street_id = $1 AND tag = $2",
        params![street_id, code],
    )? > 0
    {
        return conflict("registry.refusal.tag_in_use");
    }
    c.exec("DELETE FROM tag_defs WHERE id = $1", params![r.i64(0)])?;
    let mut ch = serde_json::Map::new();
    ch.insert("tag".into(), serde_json::json!([code, null]));
    keep_version(c, street_id, "tag", r.i64(0), who, ch)?;
    Ok(Ok(()))
}

/// Whether a tag code (or Chinese name) is known to the street; returns its code.
pub fn resolve_tag(c: &mut dyn Conn, street_id: Option<i64>, text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if let Some((code, _, _)) = BUILTIN_TAGS.iter().find(|(c2, z, _)| *c2 == t || *z == t) {
        return Ok(Some(code.to_string()));
    }
    Ok(c.query_opt(
        "SELECT code FROM tag_defs WHERE (CAST($1 AS BIGINT) IS NULL OR street_id = $1) AND (code = $2 OR name_zh = $2)",
        params![street_id, t],
    )?
    .map(|r| r.str(0)))
}

#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPersonTag {
    /// A tag's code or Chinese name.
    pub tag: String,
    /// YYYY-MM-DD; today when left out.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// YYYY-MM-DD; open-ended when left out (a home quarantine ends, a disability does not).
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Where the fact comes from: 民政, 残联, 社区走访, …
    #[serde(default)]
    pub source: Option<String>,
}

/// Gives a person (within the scope) a tag with its validity period and source.
pub fn add_person_tag(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    t: &NewPersonTag,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(street) = c
        .query_opt(
            &format!("SELECT street_id FROM persons WHERE id = $1 AND {cond}"),
            &p,
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(code) = resolve_tag(c, Some(street), &t.tag)? else {
        return Ok(Err(Refusal::Invalid(crate::kernel::i18n::both(
            "tags.err_unknown",
            &[("tag", &t.tag.trim())],
        ))));
    };
    let date = |s: &Option<String>| -> std::result::Result<Option<String>, ()> {
        match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_date(s)
                .map(|d| Some(d.format("%Y-%m-%d").to_string()))
                .ok_or(()),
        }
    };
    let (Ok(from), Ok(to)) = (date(&t.valid_from), date(&t.valid_to)) else {
        return invalid("registry.refusal.tag_dates");
    };
    let from = from.unwrap_or_else(|| crate::kernel::time::today().format("%Y-%m-%d").to_string());
    if let Some(to) = &to
        && *to < from
    {
        return invalid("registry.refusal.tag_order");
    }
    if c.query_opt(
        "SELECT id FROM person_tags WHERE person_id = $1 AND tag = $2 AND (valid_to IS NULL OR valid_to >= $3)",
        params![person_id, code.clone(), from.clone()],
    )?
    .is_some()
    {
        return conflict("registry.refusal.tag_held");
    }
    let source = t
        .source
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(who.source)
        .chars()
        .take(50)
        .collect::<String>();
    let watch = crate::registry::counts::watch(c, &[person_id])?;
    c.exec(
        "INSERT INTO person_tags (street_id, person_id, tag, valid_from, valid_to, source, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![street, person_id, code.clone(), from.clone(), to.clone(), source, now_ms()],
    )?;
    watch.settle(c)?;
    crate::registry::grams::reindex(c, person_id)?;
    let changes =
        serde_json::json!({ "tags": [null, format!("+{code} {from}–{}", to.unwrap_or_default())] });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now_ms(), who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}

/// Ends a person's tag today (the row stays, with its period, as history).
pub fn end_person_tag(
    c: &mut dyn Conn,
    scope: &Scope,
    person_id: i64,
    tag: &str,
    who: Actor<'_>,
) -> Result<Outcome<()>> {
    let mut p = vec![Val::Int(person_id)];
    let cond = under_paths("place_path", &scope.registry, 2, &mut p);
    let Some(street) = c
        .query_opt(
            &format!("SELECT street_id FROM persons WHERE id = $1 AND {cond}"),
            &p,
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(Err(Refusal::NotFound));
    };
    let today = crate::kernel::time::today();
    let yesterday = (today - chrono::Days::new(1))
        .format("%Y-%m-%d")
        .to_string();
    let today = today.format("%Y-%m-%d").to_string();
    let Some(r) = c.query_opt(
        "SELECT id, valid_from FROM person_tags WHERE person_id = $1 AND tag = $2 AND (valid_to IS NULL OR valid_to >= $3)",
        params![person_id, tag, today.clone()],
    )?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    // A tag given today and ended today never held; otherwise it held until yesterday.
    let end = if r.str(1) >= today {
        r.str(1)
    } else {
        yesterday
    };
    let watch = crate::registry::counts::watch(c, &[person_id])?;
    c.exec(
        "UPDATE person_tags SET valid_to = $1 WHERE id = $2",
        params![end.clone(), r.i64(0)],
    )?;
    watch.settle(c)?;
    let changes = serde_json::json!({ "tags": [tag, format!("-{tag} ({end})")] });
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, person_id, now_ms(), who.user_id, who.source, changes.to_string()],
    )?;
    Ok(Ok(()))
}

/// The tags valid on `today` (`YYYY-MM-DD`) of a person and of the people living in a unit
/// (a device's person and the flat it is in), each once, in order.
pub fn tags_at(
    c: &mut dyn Conn,
    street_id: i64,
    person_id: Option<i64>,
    unit_id: i64,
    today: &str,
) -> Result<Vec<String>> {
    let mut p = params![street_id, unit_id, today].to_vec();
    let person = match person_id {
        Some(id) => {
            p.push(Val::Int(id));
            "person_id = $4 OR "
        }
        None => "",
    };
    Ok(c.query(
        &format!(
            "SELECT DISTINCT tag FROM person_tags WHERE street_id = $1 \
                 AND ({person}person_id IN (SELECT id FROM persons WHERE unit_id = $2)) \
                 AND valid_from <= $3 AND (valid_to IS NULL OR valid_to >= $3) ORDER BY tag"
        ),
        &p,
    )?
    .into_iter()
    .map(|r| r.str(0))
    .collect())
}

/// Deletes the tags `tag` that ended before `cutoff` (`YYYY-MM-DD`), for the retention
/// purge: the people who held them (to name in the audit log) and how many were deleted.
pub fn purge_ended_tags(c: &mut dyn Conn, tag: &str, cutoff: &str) -> Result<(Vec<i64>, u64)> {
    let people: Vec<i64> = c
        .query(
            "SELECT person_id FROM person_tags WHERE tag = $1 AND valid_to IS NOT NULL AND valid_to < $2",
            params![tag, cutoff],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    if people.is_empty() {
        return Ok((people, 0));
    }
    let n = c.exec(
        "DELETE FROM person_tags WHERE tag = $1 AND valid_to IS NOT NULL AND valid_to < $2",
        params![tag, cutoff],
    )?;
    Ok((people, n))
}

/// The uses a unit can have, for forms.
pub fn unit_uses() -> &'static [&'static str] {
    &UNIT_USES
}
