//! Population figures (人口统计) under a place: by sex, age band, presence, residence, hukou and
//! tag, and per child place (communities of a street, grids of a community). Other parts — the
//! cockpit, case and sensing pages — reuse them. Counts hold no personal data, so reading them
//! is not an access to anyone's record; people who have left are not counted.

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ChildFigures {
    pub place_id: i64,
    pub name: String,
    pub kind: String,
    pub residents: i64,
    /// Aged 60 and over.
    pub elderly: i64,
    pub elderly_alone: i64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Population {
    pub place_id: i64,
    pub place_name: String,
    pub path: String,
    pub residents: i64,
    pub by_sex: Vec<Count>,
    /// 0-6, 7-17, 18-34, 35-59, 60-79, 80+.
    pub by_age_band: Vec<Count>,
    pub by_presence: Vec<Count>,
    pub by_residence: Vec<Count>,
    /// registered (户籍) and not_registered (非户籍).
    pub by_hukou: Vec<Count>,
    /// Tags valid today.
    pub by_tag: Vec<Count>,
    pub by_child: Vec<ChildFigures>,
}

pub const AGE_BANDS: [(&str, u32); 6] = [
    ("0-6", 0),
    ("7-17", 7),
    ("18-34", 18),
    ("35-59", 35),
    ("60-79", 60),
    ("80+", 80),
];

pub(crate) fn years_ago(today: chrono::NaiveDate, years: u32) -> String {
    (today - chrono::Months::new(years * 12))
        .format("%Y-%m-%d")
        .to_string()
}

fn push(v: &mut Vec<Count>, key: &str, n: i64) {
    match v.iter_mut().find(|c| c.key == key) {
        Some(c) => c.count += n,
        None => v.push(Count {
            key: key.to_string(),
            count: n,
        }),
    }
}

/// The figures for one place (by id); `None` when it does not exist. Read from the kept
/// counts (`registry::counts`) when its streets are counted, else from the records.
pub fn population(
    c: &mut dyn Conn,
    place_id: i64,
    today: chrono::NaiveDate,
) -> Result<Option<Population>> {
    let Some(place) = c.query_opt(
        "SELECT id, name, path, kind FROM places WHERE id = $1",
        params![place_id],
    )?
    else {
        return Ok(None);
    };
    let path = place.str(2);
    let Some(kept) = super::counts::at(c, &path)? else {
        return population_from_records(c, place_id, today);
    };
    let get = |m: &std::collections::HashMap<(String, String), i64>, dim: &str, key: &str| {
        m.get(&(dim.to_string(), key.to_string()))
            .copied()
            .unwrap_or(0)
    };
    let of_dim = |dim: &str| -> Vec<Count> {
        let mut v: Vec<Count> = kept
            .iter()
            .filter(|((d, _), n)| d == dim && **n != 0)
            .map(|((_, k), n)| Count {
                key: k.clone(),
                count: *n,
            })
            .collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    };
    let mut by_tag = of_dim("tag");
    by_tag.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    let mut pop = Population {
        place_id,
        place_name: place.str(1),
        path: path.clone(),
        residents: get(&kept, "all", ""),
        by_sex: of_dim("sex"),
        by_age_band: AGE_BANDS
            .iter()
            .map(|(b, _)| Count {
                key: b.to_string(),
                count: get(&kept, "age", b),
            })
            .collect(),
        by_presence: of_dim("presence"),
        by_residence: of_dim("residence"),
        by_hukou: of_dim("hukou"),
        by_tag,
        by_child: Vec::new(),
    };
    if matches!(place.str(3).as_str(), "district" | "street" | "community") {
        let children = c.query(
            "SELECT id, name, kind, path FROM places WHERE parent_id = $1 ORDER BY code",
            params![place_id],
        )?;
        let figures = super::counts::children_at(c, place_id)?;
        let none = Default::default();
        for ch in &children {
            let m = figures.get(&ch.str(3)).unwrap_or(&none);
            pop.by_child.push(ChildFigures {
                place_id: ch.i64(0),
                name: ch.str(1),
                kind: ch.str(2),
                residents: get(m, "all", ""),
                elderly: get(m, "age", "60-79") + get(m, "age", "80+"),
                elderly_alone: get(m, "tag", "elderly_alone"),
            });
        }
    }
    Ok(Some(pop))
}

/// The figures for one place counted from the records (every resident under the place read):
/// for streets not yet counted, and what the kept figures are checked against.
pub fn population_from_records(
    c: &mut dyn Conn,
    place_id: i64,
    today: chrono::NaiveDate,
) -> Result<Option<Population>> {
    let Some(place) = c.query_opt(
        "SELECT id, name, path, kind FROM places WHERE id = $1",
        params![place_id],
    )?
    else {
        return Ok(None);
    };
    let path = place.str(2);
    // One pass over the residents for every breakdown but tags.
    let mut p: Vec<Val> = Vec::new();
    let mut case = String::from("CASE");
    for (band, years) in AGE_BANDS.iter().rev() {
        p.push(Val::Text(years_ago(today, *years)));
        case.push_str(&format!(" WHEN p.birth_date <= ${} THEN '{band}'", p.len()));
    }
    case.push_str(" ELSE '0-6' END");
    let n = p.len() + 1;
    let cond = under_paths("p.place_path", std::slice::from_ref(&path), n, &mut p);
    let rows = c.query(
        &format!(
            "SELECT p.sex, {case}, p.presence, p.residence, p.hukou_registered, COUNT(*) FROM persons p \
             WHERE p.residence <> 'left' AND {cond} GROUP BY 1, 2, 3, 4, 5"
        ),
        &p,
    )?;
    let mut pop = Population {
        place_id,
        place_name: place.str(1),
        path: path.clone(),
        residents: 0,
        by_sex: Vec::new(),
        by_age_band: AGE_BANDS
            .iter()
            .map(|(b, _)| Count {
                key: b.to_string(),
                count: 0,
            })
            .collect(),
        by_presence: Vec::new(),
        by_residence: Vec::new(),
        by_hukou: Vec::new(),
        by_tag: Vec::new(),
        by_child: Vec::new(),
    };
    for r in &rows {
        let n = r.i64(5);
        pop.residents += n;
        push(&mut pop.by_sex, &r.str(0), n);
        push(&mut pop.by_age_band, &r.str(1), n);
        push(&mut pop.by_presence, &r.str(2), n);
        push(&mut pop.by_residence, &r.str(3), n);
        push(
            &mut pop.by_hukou,
            if r.bool(4) {
                "registered"
            } else {
                "not_registered"
            },
            n,
        );
    }
    for v in [
        &mut pop.by_sex,
        &mut pop.by_presence,
        &mut pop.by_residence,
        &mut pop.by_hukou,
    ] {
        v.sort_by(|a, b| a.key.cmp(&b.key));
    }
    let day = today.format("%Y-%m-%d").to_string();
    let mut p = vec![Val::Text(day)];
    let cond = under_paths("p.place_path", std::slice::from_ref(&path), 2, &mut p);
    pop.by_tag = c
        .query(
            &format!(
                "SELECT t.tag, COUNT(DISTINCT t.person_id) FROM person_tags t JOIN persons p ON p.id = t.person_id \
                 WHERE p.residence <> 'left' AND t.valid_from <= $1 AND (t.valid_to IS NULL OR t.valid_to >= $1) AND {cond} \
                 GROUP BY t.tag ORDER BY 2 DESC, 1"
            ),
            &p,
        )?
        .iter()
        .map(|r| Count {
            key: r.str(0),
            count: r.i64(1),
        })
        .collect();
    // Per child, for the places above buildings.
    if matches!(place.str(3).as_str(), "district" | "street" | "community") {
        let children = c.query(
            "SELECT id, name, kind, path FROM places WHERE parent_id = $1 ORDER BY code",
            params![place_id],
        )?;
        let sixty = years_ago(today, 60);
        for ch in &children {
            let mut p = vec![
                Val::Text(sixty.clone()),
                Val::Text(today.format("%Y-%m-%d").to_string()),
            ];
            let cond = under_paths("p.place_path", &[ch.str(3)], 3, &mut p);
            let r = c.query_one(
                &format!(
                    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN p.birth_date <= $1 THEN 1 ELSE 0 END), 0), \
                     COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.id AND t.tag = 'elderly_alone' \
                       AND t.valid_from <= $2 AND (t.valid_to IS NULL OR t.valid_to >= $2)) THEN 1 ELSE 0 END), 0) \
                     FROM persons p WHERE p.residence <> 'left' AND {cond}"
                ),
                &p,
            )?;
            pop.by_child.push(ChildFigures {
                place_id: ch.i64(0),
                name: ch.str(1),
                kind: ch.str(2),
                residents: r.i64(0),
                elderly: r.i64(1),
                elderly_alone: r.i64(2),
            });
        }
    }
    Ok(Some(pop))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_age_once() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(years_ago(today, 60), "1966-11-29");
        // Thresholds strictly decrease, so the CASE picks exactly one band.
        let t: Vec<String> = AGE_BANDS
            .iter()
            .map(|(_, y)| years_ago(today, *y))
            .collect();
        assert!(t.windows(2).all(|w| w[0] > w[1]));
    }
}
