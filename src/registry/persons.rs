//! Persons: one record read within scope, and search by name (any part), ID number or phone
//! (exact, through the blind index), with filters. Personal fields leave the store masked.

use serde::Serialize;

use crate::org::Scope;
use crate::params;
use crate::registry::idnum::{IdNumber, Phone};
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val, like_containing as like, under_paths};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Tag {
    pub tag: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub source: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub birth_year: i64,
    pub age: i64,
    pub relation: String,
    pub household_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub address: Option<String>,
    pub id_number_masked: Option<String>,
    pub phone_masked: Option<String>,
    /// Her own emergency contact: whom to call when a care alert fires (a name as typed).
    pub emergency_name: Option<String>,
    /// The emergency contact's number, masked; shown in full only through a reveal
    /// (`field: emergency_phone`).
    pub emergency_phone_masked: Option<String>,
    pub hukou_registered: bool,
    pub residence: String,
    pub presence: String,
    pub notes: String,
    pub tags: Vec<Tag>,
    /// Changes to the record, newest first.
    pub history: Vec<Version>,
}

/// A person in a list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PersonBrief {
    pub id: i64,
    pub name: String,
    pub sex: String,
    pub age: i64,
    pub address: Option<String>,
    pub id_number_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub household_id: Option<i64>,
}

fn age(birth: &str, today: chrono::NaiveDate) -> (i64, i64) {
    let d = chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap_or(today);
    (
        chrono::Datelike::year(&d) as i64,
        today.years_since(d).unwrap_or(0) as i64,
    )
}

/// The condition that keeps a person row (`p`) within the scope.
fn scope_cond(scope: &Scope, first: usize, p: &mut Vec<Val>) -> String {
    let cond = under_paths("p.place_path", &scope.registry, first, p);
    match scope.own_household {
        Some(own) => {
            p.push(Val::Int(own));
            format!("({cond} OR p.household_id = ${})", p.len())
        }
        None => cond,
    }
}

pub fn get(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<Person>> {
    let mut p = vec![Val::Int(id)];
    let cond = scope_cond(scope, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!(
            "SELECT p.id, p.name, p.sex, p.birth_date, p.relation, p.household_id, p.unit_id, u.address, \
             p.id_number_masked, p.phone_masked, p.hukou_registered, p.residence, p.presence, p.notes, \
             p.emergency_name, p.emergency_phone_masked \
             FROM persons p LEFT JOIN places u ON u.id = p.unit_id WHERE p.id = $1 AND {cond}"
        ),
        &p,
    )?
    else {
        return Ok(None);
    };
    let tags = c
        .query(
            "SELECT tag, valid_from, valid_to, source FROM person_tags WHERE person_id = $1 ORDER BY tag",
            params![id],
        )?
        .iter()
        .map(|t| Tag {
            tag: t.str(0),
            valid_from: t.str(1),
            valid_to: t.opt_str(2),
            source: t.str(3),
        })
        .collect();
    let (birth_year, age) = age(&r.str(3), crate::kernel::time::today());
    Ok(Some(Person {
        id: r.i64(0),
        name: r.str(1),
        sex: r.str(2),
        birth_year,
        age,
        relation: r.str(4),
        household_id: r.opt_i64(5),
        unit_id: r.opt_i64(6),
        address: r.opt_str(7),
        id_number_masked: r.opt_str(8),
        phone_masked: r.opt_str(9),
        emergency_name: r.opt_str(14),
        emergency_phone_masked: r.opt_str(15),
        hukou_registered: r.bool(10),
        residence: r.str(11),
        presence: r.str(12),
        notes: r.str(13),
        tags,
        history: history(c, id)?,
    }))
}

/// The unit a person lives in (for her own map: her building marked); no personal data.
pub fn home_unit(c: &mut dyn Conn, id: i64) -> Result<Option<i64>> {
    Ok(
        c.query_opt("SELECT unit_id FROM persons WHERE id = $1", params![id])?
            .and_then(|r| r.opt_i64(0)),
    )
}

/// A person holding a tag, at home: who the demo street fits devices for.
#[derive(Clone, Debug, PartialEq)]
pub struct TaggedAtHome {
    pub person_id: i64,
    pub unit_id: i64,
    pub unit_path: String,
    pub household_id: Option<i64>,
}

/// The people of a street who hold `tag` and have not left, with their home unit, by id.
pub fn tagged_at_home(c: &mut dyn Conn, street_id: i64, tag: &str) -> Result<Vec<TaggedAtHome>> {
    Ok(c
        .query(
            "SELECT p.id, p.unit_id, u.path, p.household_id FROM persons p JOIN person_tags t ON t.person_id = p.id \
             JOIN places u ON u.id = p.unit_id WHERE t.tag = $2 AND p.street_id = $1 AND p.residence <> 'left' \
             ORDER BY p.id",
            params![street_id, tag],
        )?
        .iter()
        .map(|r| TaggedAtHome {
            person_id: r.i64(0),
            unit_id: r.i64(1),
            unit_path: r.str(2),
            household_id: r.opt_i64(3),
        })
        .collect())
}

pub fn exists(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(
        c.query_opt("SELECT id FROM persons WHERE id = $1", params![id])?
            .is_some(),
    )
}

/// Search filters.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Search {
    /// A name (any part), an ID number or a phone number.
    pub q: Option<String>,
    /// Any part of the address.
    pub address: Option<String>,
    pub tag: Option<String>,
    pub age_min: Option<i64>,
    pub age_max: Option<i64>,
    pub presence: Option<String>,
    pub under: Option<String>,
    #[serde(skip)]
    pub limit: i64,
    #[serde(skip)]
    pub offset: i64,
    /// Where the page starts: the `next` key of the page before (keyset paging; the offset
    /// is then ignored).
    #[serde(skip)]
    pub after: Option<String>,
}

/// The key of the last person of a page in the order a search reads its rows: the
/// person's place path, residence and id. Written `id:residence:path`.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub path: String,
    pub residence: String,
    pub id: i64,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let mut it = s.splitn(3, ':');
        let id = it.next()?.parse().ok()?;
        let residence = it.next()?.to_string();
        let path = it.next()?.to_string();
        Some(Key {
            path,
            residence,
            id,
        })
    }

    pub fn text(&self) -> String {
        format!("{}:{}:{}", self.id, self.residence, self.path)
    }
}

/// The conditions of a search's filters on a person row `p` (joined to its unit `u`), apart
/// from the scope; shared by the search and by the export of a search's result.
pub fn filter_conds(keys: &FieldKeys, s: &Search, p: &mut Vec<Val>) -> Vec<String> {
    let mut conds = Vec::new();
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if let Ok(id) = IdNumber::parse(q) {
            p.push(Val::Text(keys.blind_index("id_number", id.as_str())));
            conds.push(format!("p.id_number_bidx = ${}", p.len()));
        } else if let Ok(ph) = Phone::parse(q) {
            p.push(Val::Text(keys.blind_index("phone", ph.as_str())));
            conds.push(format!("p.phone_bidx = ${}", p.len()));
        } else {
            p.push(Val::Text(like(q)));
            conds.push(format!("p.name LIKE ${} ESCAPE '\\'", p.len()));
        }
    }
    if let Some(a) = s
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        p.push(Val::Text(like(a)));
        conds.push(format!(
            "p.unit_id IN (SELECT id FROM places WHERE kind = 'unit' AND address LIKE ${} ESCAPE '\\')",
            p.len()
        ));
    }
    if let Some(under) = &s.under {
        let n = p.len() + 1;
        conds.push(under_paths(
            "p.place_path",
            std::slice::from_ref(under),
            n,
            p,
        ));
    }
    let today = crate::kernel::time::today();
    if let Some(tag) = &s.tag {
        p.push(Val::Text(tag.clone()));
        p.push(Val::Text(today.format("%Y-%m-%d").to_string()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = ${} \
             AND t.valid_from <= ${n} AND (t.valid_to IS NULL OR t.valid_to >= ${n}))",
            p.len() - 1,
            n = p.len()
        ));
    }
    if let Some(pr) = &s.presence {
        p.push(Val::Text(pr.clone()));
        conds.push(format!("p.presence = ${}", p.len()));
    }
    if let Some(min) = s.age_min {
        let d = today - chrono::Months::new((min.clamp(0, 150) * 12) as u32);
        p.push(Val::Text(d.format("%Y-%m-%d").to_string()));
        conds.push(format!("p.birth_date <= ${}", p.len()));
    }
    if let Some(max) = s.age_max {
        let d = today - chrono::Months::new(((max.clamp(0, 150) + 1) * 12) as u32);
        p.push(Val::Text(d.format("%Y-%m-%d").to_string()));
        conds.push(format!("p.birth_date > ${}", p.len()));
    }
    conds
}

/// Searches within the scope; returns a page and, when more follow, the key the next page
/// starts after. Pages are read by key (`after`), so a page deep in a long list costs what
/// the first costs; an offset is still read (the API's `offset`) but walks the rows before it.
pub fn search(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    s: &Search,
) -> Result<(Vec<PersonBrief>, Option<String>)> {
    let mut p = Vec::new();
    let mut conds = vec![scope_cond(scope, 1, &mut p)];
    conds.extend(filter_conds(keys, s, &mut p));
    let today = crate::kernel::time::today();
    // A name fragment reads its gram's rows within the scope, already in display order (see
    // grams.rs); anything else walks the scope in the order of the persons_path index. Either
    // way a page stops being read once it is full.
    // The most selective indexed filter drives: a name fragment, else a tag, else an unusual
    // presence. An ID number or phone is exact through its own index and needs none.
    let q = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let exact = q.is_some_and(|q| IdNumber::parse(q).is_ok() || Phone::parse(q).is_ok());
    let driver = if exact {
        None
    } else {
        q.and_then(super::grams::query_gram)
            .or_else(|| s.tag.as_deref().map(super::grams::tag_gram))
            .or_else(|| s.presence.as_deref().and_then(super::grams::presence_gram))
    };
    let after = s.after.as_deref().and_then(Key::parse);
    let (from, order) = match driver {
        Some(g) => {
            p.push(Val::Text(g));
            let n = p.len();
            let n2 = p.len() + 1;
            let range = under_paths("g.place_path", &scope.registry, n2, &mut p);
            if let Some(k) = &after {
                p.push(Val::Text(k.path.clone()));
                p.push(Val::Int(k.id));
                conds.push(format!(
                    "(g.place_path > ${a} OR (g.place_path = ${a} AND g.person_id > ${b}))",
                    a = p.len() - 1,
                    b = p.len()
                ));
            }
            (
                format!(
                    "person_grams g JOIN persons p ON p.id = g.person_id LEFT JOIN places u ON u.id = p.unit_id WHERE g.gram = ${n} AND {range} AND"
                ),
                "g.place_path, g.person_id",
            )
        }
        None => {
            if let Some(k) = &after {
                p.push(Val::Text(k.path.clone()));
                p.push(Val::Text(k.residence.clone()));
                p.push(Val::Int(k.id));
                conds.push(format!(
                    "(p.place_path > ${a} OR (p.place_path = ${a} AND (p.residence > ${b} OR (p.residence = ${b} AND p.id > ${c}))))",
                    a = p.len() - 2,
                    b = p.len() - 1,
                    c = p.len()
                ));
            }
            (
                "persons p LEFT JOIN places u ON u.id = p.unit_id WHERE".to_string(),
                "p.place_path, p.residence, p.id",
            )
        }
    };
    p.push(Val::Int(s.limit + 1));
    p.push(Val::Int(if after.is_some() { 0 } else { s.offset }));
    let rows = c.query(
        &format!(
            "SELECT p.id, p.name, p.sex, p.birth_date, u.address, p.id_number_masked, p.phone_masked, p.household_id, \
             p.place_path, p.residence FROM {from} {} ORDER BY {order} LIMIT ${} OFFSET ${}",
            conds.join(" AND "),
            p.len() - 1,
            p.len()
        ),
        &p,
    )?;
    let mut out: Vec<PersonBrief> = rows
        .iter()
        .map(|r| PersonBrief {
            id: r.i64(0),
            name: r.str(1),
            sex: r.str(2),
            age: age(&r.str(3), today).1,
            address: r.opt_str(4),
            id_number_masked: r.opt_str(5),
            phone_masked: r.opt_str(6),
            household_id: r.opt_i64(7),
        })
        .collect();
    let more = out.len() as i64 > s.limit;
    out.truncate(s.limit as usize);
    let next = match rows.get(s.limit as usize - 1) {
        Some(r) if more => Some(
            Key {
                path: r.str(8),
                residence: r.str(9),
                id: r.i64(0),
            }
            .text(),
        ),
        _ => None,
    };
    Ok((out, next))
}

/// One version of a person's record.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Version {
    /// Unix milliseconds.
    pub at: i64,
    /// The account that made the change.
    pub actor: Option<String>,
    /// The name she goes by (her account name when she has none).
    pub actor_name: Option<String>,
    /// form, import or api.
    pub source: String,
    /// Field → [old, new]; ID numbers and phones masked.
    pub changes: serde_json::Value,
}

pub fn history(c: &mut dyn Conn, person_id: i64) -> Result<Vec<Version>> {
    let rows = c.query(
        "SELECT v.at, v.actor_id, v.source, v.changes FROM person_versions v \
         WHERE v.person_id = $1 ORDER BY v.id DESC LIMIT 100",
        params![person_id],
    )?;
    // Workers by the name they go by; an account without one by its account name.
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.opt_i64(1)).collect();
    let shown = crate::org::users::display_names(c, ids.iter().copied())?;
    let names = crate::org::users::usernames(c, ids.iter().copied())?;
    Ok(rows
        .iter()
        .map(|r| Version {
            at: r.i64(0),
            actor: r.opt_i64(1).and_then(|id| names.get(&id).cloned()),
            actor_name: r.opt_i64(1).and_then(|id| {
                shown
                    .get(&id)
                    .filter(|n| !n.trim().is_empty())
                    .or_else(|| names.get(&id))
                    .cloned()
            }),
            source: r.str(2),
            changes: serde_json::from_str(&r.str(3)).unwrap_or_default(),
        })
        .collect())
}

/// The fields a worker may change on a record (the ID number, and so sex and birth date,
/// never change: a wrong one is a new record).
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct Patch {
    pub name: Option<String>,
    /// A mobile or landline number; empty to remove it.
    pub phone: Option<String>,
    pub relation: Option<String>,
    pub hukou_registered: Option<bool>,
    /// permanent, temporary or left.
    pub residence: Option<String>,
    /// both, registered_elsewhere_lives_here or registered_here_lives_elsewhere.
    pub presence: Option<String>,
    pub notes: Option<String>,
    /// The emergency contact's name; empty to remove the contact (name and number).
    pub emergency_name: Option<String>,
    /// The emergency contact's number (mobile or landline); empty to remove it.
    pub emergency_phone: Option<String>,
}

pub const RELATIONS: [&str; 8] = [
    "head",
    "spouse",
    "child",
    "parent",
    "grandchild",
    "sibling",
    "tenant",
    "other",
];
pub const RESIDENCES: [&str; 3] = ["permanent", "temporary", "left"];
pub const PRESENCES: [&str; 3] = [
    "both",
    "registered_elsewhere_lives_here",
    "registered_here_lives_elsewhere",
];

/// What is wrong with a patch, as a translation key or a parser's own bilingual message.
pub enum PatchError {
    Key(&'static str),
    Message(String),
}

/// Applies a patch to a person within the scope, keeping a version; `Ok(None)` when the
/// person is not in the scope, `Ok(Some(changed fields))` otherwise.
pub fn update(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    id: i64,
    patch: &Patch,
    actor: i64,
    source: &str,
) -> Result<Option<std::result::Result<Vec<String>, PatchError>>> {
    let mut p = vec![Val::Int(id)];
    let cond = scope_cond(scope, 2, &mut p);
    let Some(r) = c.query_opt(
        &format!(
            "SELECT p.street_id, p.name, p.phone_bidx, p.relation, p.hukou_registered, p.residence, p.presence, p.notes, \
             p.emergency_name, p.emergency_phone_enc, p.emergency_phone_masked \
             FROM persons p WHERE p.id = $1 AND {cond}"
        ),
        &p,
    )?
    else {
        return Ok(None);
    };
    let mut changes: Vec<(String, serde_json::Value)> = Vec::new();
    let mut sets: Vec<(&str, Val)> = Vec::new();
    macro_rules! bad {
        ($k:expr) => {
            return Ok(Some(Err(PatchError::Key($k))))
        };
    }
    if let Some(name) = &patch.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 50 {
            bad!("error.person_name");
        }
        if let Err(k) = crate::kernel::text::check_line(name) {
            bad!(k);
        }
        if name != r.str(1) {
            changes.push(("name".into(), serde_json::json!([r.str(1), name])));
            sets.push(("name", Val::Text(name.to_string())));
        }
    }
    if let Some(phone) = &patch.phone {
        if phone.trim().is_empty() {
            if r.opt_str(2).is_some() {
                changes.push(("phone".into(), serde_json::json!(["***", ""])));
                sets.extend([
                    ("phone_enc", Val::Null),
                    ("phone_bidx", Val::Null),
                    ("phone_masked", Val::Null),
                ]);
            }
        } else {
            let ph = match Phone::parse(phone) {
                Ok(p) => p,
                Err(e) => return Ok(Some(Err(PatchError::Message(e.to_string())))),
            };
            let bidx = keys.blind_index("phone", ph.as_str());
            if Some(&bidx) != r.opt_str(2).as_ref() {
                changes.push(("phone".into(), serde_json::json!(["***", ph.masked()])));
                sets.extend([
                    ("phone_enc", Val::Blob(keys.encrypt(ph.as_str()))),
                    ("phone_bidx", Val::Text(bidx)),
                    ("phone_masked", Val::Text(ph.masked())),
                ]);
            }
        }
    }
    // The emergency contact: a name of up to 50 characters and a number, kept like her own.
    let mut emergency_name = r.opt_str(8);
    if let Some(name) = &patch.emergency_name {
        let name = name.trim();
        if name.chars().count() > 50 {
            bad!("error.emergency_name");
        }
        if let Err(k) = crate::kernel::text::check_line(name) {
            bad!(k);
        }
        let new = (!name.is_empty()).then(|| name.to_string());
        if new != emergency_name {
            changes.push((
                "emergency_name".into(),
                serde_json::json!([emergency_name.clone().unwrap_or_default(), name]),
            ));
            sets.push((
                "emergency_name",
                new.clone().map(Val::Text).unwrap_or(Val::Null),
            ));
            emergency_name = new;
        }
    }
    let had_phone = r.blob(9).is_some();
    let phone = match &patch.emergency_phone {
        Some(p) if !p.trim().is_empty() && emergency_name.is_none() => {
            bad!("error.emergency_no_name")
        }
        Some(p) => Some(p.trim().to_string()),
        // No number without a name: removing the name removes the number.
        None if emergency_name.is_none() && had_phone => Some(String::new()),
        None => None,
    };
    if let Some(phone) = phone {
        if phone.is_empty() {
            if had_phone {
                changes.push(("emergency_phone".into(), serde_json::json!(["***", ""])));
                sets.extend([
                    ("emergency_phone_enc", Val::Null),
                    ("emergency_phone_masked", Val::Null),
                ]);
            }
        } else {
            let ph = match Phone::parse(&phone) {
                Ok(p) => p,
                Err(e) => return Ok(Some(Err(PatchError::Message(e.to_string())))),
            };
            let same = r
                .blob(9)
                .and_then(|b| keys.decrypt(&b))
                .is_some_and(|old| old == ph.as_str());
            if !same {
                changes.push((
                    "emergency_phone".into(),
                    serde_json::json!(["***", ph.masked()]),
                ));
                sets.extend([
                    ("emergency_phone_enc", Val::Blob(keys.encrypt(ph.as_str()))),
                    ("emergency_phone_masked", Val::Text(ph.masked())),
                ]);
            }
        }
    }
    let mut choice = |field: &'static str,
                      new: &Option<String>,
                      allowed: &[&str],
                      old: String,
                      key: &'static str|
     -> std::result::Result<(), PatchError> {
        if let Some(v) = new {
            if !allowed.contains(&v.as_str()) {
                return Err(PatchError::Key(key));
            }
            if *v != old {
                changes.push((field.into(), serde_json::json!([old, v])));
                sets.push((field, Val::Text(v.clone())));
            }
        }
        Ok(())
    };
    for (field, new, allowed, old, key) in [
        (
            "relation",
            &patch.relation,
            &RELATIONS[..],
            r.str(3),
            "error.person_relation",
        ),
        (
            "residence",
            &patch.residence,
            &RESIDENCES[..],
            r.str(5),
            "error.person_residence",
        ),
        (
            "presence",
            &patch.presence,
            &PRESENCES[..],
            r.str(6),
            "error.person_presence",
        ),
    ] {
        if let Err(e) = choice(field, new, allowed, old, key) {
            return Ok(Some(Err(e)));
        }
    }
    if let Some(h) = patch.hukou_registered
        && h != r.bool(4)
    {
        changes.push(("hukou_registered".into(), serde_json::json!([r.bool(4), h])));
        sets.push(("hukou_registered", Val::from(h)));
    }
    if let Some(n) = &patch.notes {
        if n.chars().count() > 1000 {
            bad!("error.person_notes");
        }
        if let Err(k) = crate::kernel::text::check_note(n) {
            bad!(k);
        }
        if *n != r.str(7) {
            changes.push(("notes".into(), serde_json::json!([r.str(7), n])));
            sets.push(("notes", Val::Text(n.clone())));
        }
    }
    if sets.is_empty() {
        return Ok(Some(Ok(Vec::new())));
    }
    let mut vals: Vec<Val> = Vec::new();
    let assigns: Vec<String> = sets
        .into_iter()
        .map(|(col, v)| {
            vals.push(v);
            format!("{col} = ${}", vals.len())
        })
        .collect();
    vals.push(Val::Int(crate::store::now_ms()));
    vals.push(Val::Int(id));
    let watch = super::counts::watch(c, &[id])?;
    c.exec(
        &format!(
            "UPDATE persons SET {}, updated_at = ${} WHERE id = ${}",
            assigns.join(", "),
            vals.len() - 1,
            vals.len()
        ),
        &vals,
    )?;
    watch.settle(c)?;
    if changes.iter().any(|(f, _)| f == "name" || f == "presence") {
        super::grams::reindex(c, id)?;
    }
    if changes.iter().any(|(f, _)| f == "name") {
        super::residents::saved(c, keys, &[id])?;
    }
    let json: serde_json::Map<String, serde_json::Value> = changes.iter().cloned().collect();
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![r.i64(0), id, crate::store::now_ms(), actor, source, serde_json::Value::Object(json).to_string()],
    )?;
    Ok(Some(Ok(changes.into_iter().map(|(f, _)| f).collect())))
}

/// The grids under `scope` (within `street` when given), as (path, name), for the person list's
/// filter. Within a street the grids are read by (street, kind), not by walking every place of
/// the street down to its units (issue 20).
pub fn grids_for_filter(
    c: &mut dyn Conn,
    scope: &[String],
    street: Option<i64>,
) -> Result<Vec<(String, String)>> {
    let mut p = Vec::new();
    let mut cond = under_paths("path", scope, 1, &mut p);
    if let Some(s) = street {
        p.push(Val::Int(s));
        cond = format!("street_id = ${} AND {cond}", p.len());
    }
    Ok(c.query(
        &format!(
            "SELECT path, name FROM places WHERE kind = 'grid' AND {cond} ORDER BY path LIMIT 500"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.str(0), r.str(1)))
    .collect())
}
