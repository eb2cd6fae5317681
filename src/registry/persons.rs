//! Persons: one record read within scope, and search by name (any part), ID number or phone
//! (exact, through the blind index), with filters. Personal fields leave the store masked.

use serde::Serialize;

use crate::org::Scope;
use crate::params;
use crate::privacy::FieldKeys;
use crate::registry::idnum::{IdNumber, Phone};
use crate::store::{Conn, Result, Val, under_paths};

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
    pub hukou_registered: bool,
    pub residence: String,
    pub presence: String,
    pub notes: String,
    pub tags: Vec<Tag>,
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
             p.id_number_masked, p.phone_masked, p.hukou_registered, p.residence, p.presence, p.notes \
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
    let (birth_year, age) = age(&r.str(3), chrono::Local::now().date_naive());
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
        hukou_registered: r.bool(10),
        residence: r.str(11),
        presence: r.str(12),
        notes: r.str(13),
        tags,
    }))
}

pub fn exists(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(
        c.query_opt("SELECT id FROM persons WHERE id = $1", params![id])?
            .is_some(),
    )
}

/// Search filters.
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// A name (any part), an ID number or a phone number.
    pub q: Option<String>,
    pub tag: Option<String>,
    pub age_min: Option<i64>,
    pub age_max: Option<i64>,
    pub presence: Option<String>,
    pub under: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Searches within the scope; returns a page and whether more follow.
pub fn search(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    s: &Search,
) -> Result<(Vec<PersonBrief>, bool)> {
    let mut p = Vec::new();
    let mut conds = vec![scope_cond(scope, 1, &mut p)];
    if let Some(q) = s.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if let Ok(id) = IdNumber::parse(q) {
            p.push(Val::Text(keys.blind_index("id_number", id.as_str())));
            conds.push(format!("p.id_number_bidx = ${}", p.len()));
        } else if let Ok(ph) = Phone::parse(q) {
            p.push(Val::Text(keys.blind_index("phone", ph.as_str())));
            conds.push(format!("p.phone_bidx = ${}", p.len()));
        } else {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            p.push(Val::Text(format!("%{escaped}%")));
            conds.push(format!("p.name LIKE ${} ESCAPE '\\'", p.len()));
        }
    }
    if let Some(under) = &s.under {
        let n = p.len() + 1;
        conds.push(under_paths(
            "p.place_path",
            std::slice::from_ref(under),
            n,
            &mut p,
        ));
    }
    if let Some(tag) = &s.tag {
        p.push(Val::Text(tag.clone()));
        conds.push(format!(
            "EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = ${})",
            p.len()
        ));
    }
    if let Some(pr) = &s.presence {
        p.push(Val::Text(pr.clone()));
        conds.push(format!("p.presence = ${}", p.len()));
    }
    let today = chrono::Local::now().date_naive();
    if let Some(min) = s.age_min {
        let d = today - chrono::Months::new((min.max(0) * 12) as u32);
        p.push(Val::Text(d.format("%Y-%m-%d").to_string()));
        conds.push(format!("p.birth_date <= ${}", p.len()));
    }
    if let Some(max) = s.age_max {
        let d = today - chrono::Months::new(((max.max(0) + 1) * 12) as u32);
        p.push(Val::Text(d.format("%Y-%m-%d").to_string()));
        conds.push(format!("p.birth_date > ${}", p.len()));
    }
    p.push(Val::Int(s.limit + 1));
    p.push(Val::Int(s.offset));
    let rows = c.query(
        &format!(
            "SELECT p.id, p.name, p.sex, p.birth_date, u.address, p.id_number_masked, p.phone_masked, p.household_id \
             FROM persons p LEFT JOIN places u ON u.id = p.unit_id WHERE {} \
             ORDER BY p.place_path, p.id LIMIT ${} OFFSET ${}",
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
    Ok((out, more))
}
