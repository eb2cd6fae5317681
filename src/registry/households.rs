//! Households and their members, read only within the caller's scope. Personal fields leave
//! the store masked; the ciphertexts never do.

use serde::Serialize;

use crate::org::Scope;
use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: i64,
    pub name: String,
    /// M or F.
    pub sex: String,
    pub birth_year: i64,
    pub age: i64,
    /// Relation to the head: head, spouse, child, parent, grandchild, sibling, tenant, other.
    pub relation: String,
    /// e.g. `310115********123X`: the birth date is never shown.
    pub id_number_masked: Option<String>,
    /// e.g. `138****1234`.
    pub phone_masked: Option<String>,
    pub hukou_registered: bool,
    pub residence: String,
    pub presence: String,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Household {
    pub id: i64,
    pub unit_id: i64,
    pub unit_path: String,
    pub address: Option<String>,
    pub registered: bool,
    pub members: Vec<Member>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdBrief {
    pub id: i64,
    pub head_name: String,
    pub members: i64,
}

/// The condition that keeps a household row (`h`) within the scope.
fn scope_cond(scope: &Scope, first: usize, p: &mut Vec<Val>) -> String {
    let cond = under_paths("h.place_path", &scope.registry, first, p);
    match scope.own_household {
        Some(own) => {
            p.push(Val::Int(own));
            format!("({cond} OR h.id = ${})", p.len())
        }
        None => cond,
    }
}

fn age_on(birth: &str, today: chrono::NaiveDate) -> (i64, i64) {
    let d = chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap_or(today);
    let years = today.years_since(d).unwrap_or(0) as i64;
    (chrono::Datelike::year(&d) as i64, years)
}

/// One household with its members, or `None` when it does not exist or lies outside the scope.
pub fn get(c: &mut dyn Conn, scope: &Scope, id: i64) -> Result<Option<Household>> {
    let mut p = vec![Val::Int(id)];
    let cond = scope_cond(scope, 2, &mut p);
    let Some(h) = c.query_opt(
        &format!(
            "SELECT h.id, h.unit_id, h.place_path, u.address, h.registered FROM households h \
             JOIN places u ON u.id = h.unit_id WHERE h.id = $1 AND {cond}"
        ),
        &p,
    )?
    else {
        return Ok(None);
    };
    let today = crate::kernel::time::today();
    let rows = c.query(
        "SELECT id, name, sex, birth_date, relation, id_number_masked, phone_masked, \
         hukou_registered, residence, presence FROM persons WHERE household_id = $1 \
         ORDER BY CASE relation WHEN 'head' THEN 0 WHEN 'spouse' THEN 1 ELSE 2 END, birth_date",
        params![id],
    )?;
    let mut members = Vec::with_capacity(rows.len());
    for r in rows {
        let (birth_year, age) = age_on(&r.str(3), today);
        let tags = c
            .query(
                "SELECT tag FROM person_tags WHERE person_id = $1 ORDER BY tag",
                params![r.i64(0)],
            )?
            .iter()
            .map(|t| t.str(0))
            .collect();
        members.push(Member {
            id: r.i64(0),
            name: r.str(1),
            sex: r.str(2),
            birth_year,
            age,
            relation: r.str(4),
            id_number_masked: r.opt_str(5),
            phone_masked: r.opt_str(6),
            hukou_registered: r.bool(7),
            residence: r.str(8),
            presence: r.str(9),
            tags,
        });
    }
    Ok(Some(Household {
        id: h.i64(0),
        unit_id: h.i64(1),
        unit_path: h.str(2),
        address: h.opt_str(3),
        registered: h.bool(4),
        members,
    }))
}

/// The households living in a unit, within the scope.
pub fn in_unit(c: &mut dyn Conn, scope: &Scope, unit_id: i64) -> Result<Vec<HouseholdBrief>> {
    let mut p = vec![Val::Int(unit_id)];
    let cond = scope_cond(scope, 2, &mut p);
    let rows = c.query(
        &format!(
            "SELECT h.id, COALESCE(hp.name, ''), (SELECT COUNT(*) FROM persons m WHERE m.household_id = h.id) \
             FROM households h LEFT JOIN persons hp ON hp.id = h.head_person_id \
             WHERE h.unit_id = $1 AND {cond} ORDER BY h.id"
        ),
        &p,
    )?;
    Ok(rows
        .iter()
        .map(|r| HouseholdBrief {
            id: r.i64(0),
            head_name: r.str(1),
            members: r.i64(2),
        })
        .collect())
}

/// Aggregate figures under a path, for home pages: residents, aged 60+, tagged counts.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub households: i64,
    pub residents: i64,
    pub aged_60_plus: i64,
    pub elderly_alone: i64,
    pub disabled: i64,
    pub renters: i64,
}

/// Read from the kept counts (`registry::counts`) when the place's streets are counted: then
/// tags count as `/stats` counts them, valid today and held by residents who have not left.
pub fn figures(c: &mut dyn Conn, path: &str) -> Result<Figures> {
    if let Some(kept) = super::counts::at(c, path)? {
        let get = |dim: &str, key: &str| {
            kept.get(&(dim.to_string(), key.to_string()))
                .copied()
                .unwrap_or(0)
        };
        return Ok(Figures {
            households: get("households", ""),
            residents: get("all", ""),
            aged_60_plus: get("age", "60-79") + get("age", "80+"),
            elderly_alone: get("tag", "elderly_alone"),
            disabled: get("tag", "disabled"),
            renters: get("tag", "renter"),
        });
    }
    let mut p = Vec::new();
    let cond = under_paths("place_path", &[path.to_string()], 1, &mut p);
    let (households, residents) = super::counts::counts_under(c, path)?;
    let cutoff = crate::kernel::time::today() - chrono::Months::new(60 * 12);
    let mut p60 = p.clone();
    p60.push(Val::Text(cutoff.format("%Y-%m-%d").to_string()));
    let aged = c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM persons WHERE residence <> 'left' AND {cond} AND birth_date <= ${}",
            p60.len()
        ),
        &p60,
    )?;
    let mut tag = |t: &str| -> Result<i64> {
        let mut pt = p.clone();
        pt.push(Val::Text(t.to_string()));
        let cond_t = cond.replace("place_path", "pp.place_path");
        c.query_i64(
            &format!(
                "SELECT COUNT(*) FROM person_tags t JOIN persons pp ON pp.id = t.person_id \
                 WHERE {cond_t} AND t.tag = ${}",
                pt.len()
            ),
            &pt,
        )
    };
    Ok(Figures {
        households,
        residents,
        aged_60_plus: aged,
        elderly_alone: tag("elderly_alone")?,
        disabled: tag("disabled")?,
        renters: tag("renter")?,
    })
}
