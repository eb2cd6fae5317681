//! Population figures kept, not recomputed (issue 20): what `/stats`, the home page and the
//! place pages show is read from `population_counts`, a few rows per place, instead of a scan
//! of every resident under the place on every request.
//!
//! Every resident who has not left counts once under each place above their unit (district,
//! street, community, grid, building), in each dimension: `all`, `sex`, `age` (the band on the
//! street's counted day), `presence`, `residence`, `hukou`, `tag` (tags valid that day);
//! households count under the places above their unit. Rows are per street, the tenant key: a
//! district's figure is the sum of its streets'.
//!
//! A write that moves a figure adjusts the rows in its own transaction: [`watch`] the persons
//! before the change, [`Watch::settle`] after it (the difference of what each person added
//! before and after is applied). Age bands and tags' validity move with the calendar, so each
//! street's rows hold for one day (`population_days`); the registry's job recounts a street
//! whose day is not today, and a write to such a street recounts it first. A street never
//! counted (a database from before the counts) is read from the records until it is.

use std::collections::{HashMap, HashSet};

use crate::params;
use crate::store::{Conn, Result, Val};

use super::stats::{AGE_BANDS, years_ago};

/// The dimensions of a kept figure; `all` and `households` have the empty key.
pub const DIMS: [&str; 8] = [
    "all",
    "households",
    "sex",
    "age",
    "presence",
    "residence",
    "hukou",
    "tag",
];

fn day_text(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The age band of a birth date (YYYY-MM-DD) on `day`, as [`AGE_BANDS`] names them.
pub fn band(birth: &str, day: chrono::NaiveDate) -> &'static str {
    for (name, years) in AGE_BANDS.iter().rev() {
        if birth <= years_ago(day, *years).as_str() {
            return name;
        }
    }
    AGE_BANDS[0].0
}

/// The places a record under `path` counts under: every prefix of the path, without the
/// record's own place when that is a unit (units are counted from their few records).
fn above(path: &str, in_unit: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, ch) in path.char_indices() {
        if ch == '/' {
            out.push(path[..i].to_string());
        }
    }
    if !in_unit && !path.is_empty() {
        out.push(path.to_string());
    }
    out
}

/// What one resident adds to the figures.
#[derive(Clone, Debug, PartialEq)]
struct Share {
    street_id: i64,
    paths: Vec<String>,
    keys: Vec<(&'static str, String)>,
}

type CountKey = (i64, String, &'static str, String);

/// Changes to the kept rows, summed before they are written.
#[derive(Default)]
struct Delta(HashMap<CountKey, i64>);

impl Delta {
    fn add(&mut self, s: &Share, sign: i64) {
        for p in &s.paths {
            for (dim, key) in &s.keys {
                *self
                    .0
                    .entry((s.street_id, p.clone(), dim, key.clone()))
                    .or_default() += sign;
            }
        }
    }

    fn flush(self, c: &mut dyn Conn) -> Result<()> {
        let rows: Vec<Vec<Val>> = self
            .0
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .map(|((street, path, dim, key), n)| {
                vec![
                    Val::Int(street),
                    Val::Text(path),
                    Val::Text(dim.to_string()),
                    Val::Text(key),
                    Val::Int(n),
                ]
            })
            .collect();
        for part in rows.chunks(2000) {
            c.insert_rows(
                "population_counts",
                &COLS,
                part,
                " ON CONFLICT (path, dim, key, street_id) DO UPDATE SET n = population_counts.n + excluded.n",
            )?;
        }
        Ok(())
    }
}

const COLS: [&str; 5] = ["street_id", "path", "dim", "key", "n"];

/// The day a street's rows hold for; `None` when it was never counted.
pub fn counted_day(c: &mut dyn Conn, street_id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT day FROM population_days WHERE street_id = $1",
        params![street_id],
    )?
    .map(|r| r.str(0)))
}

/// The keys of one resident's record on `day` (none for a person who has left).
#[allow(clippy::too_many_arguments)]
fn keys_of(
    sex: String,
    birth: &str,
    presence: String,
    residence: String,
    hukou: bool,
    tags: Vec<String>,
    day: chrono::NaiveDate,
) -> Vec<(&'static str, String)> {
    if residence == "left" {
        return Vec::new();
    }
    let mut keys = vec![
        ("all", String::new()),
        ("sex", sex),
        ("age", band(birth, day).to_string()),
        ("presence", presence),
        ("residence", residence),
        (
            "hukou",
            if hukou {
                "registered"
            } else {
                "not_registered"
            }
            .to_string(),
        ),
    ];
    keys.extend(tags.into_iter().map(|t| ("tag", t)));
    keys
}

/// What a person adds to their street's figures now; `None` when the person does not exist or
/// their street is not counted.
fn share(c: &mut dyn Conn, person_id: i64) -> Result<Option<Share>> {
    let Some(r) = c.query_opt(
        "SELECT street_id, place_path, unit_id, sex, birth_date, presence, residence, hukou_registered \
         FROM persons WHERE id = $1",
        params![person_id],
    )?
    else {
        return Ok(None);
    };
    let street_id = r.i64(0);
    let Some(day) = counted_day(c, street_id)? else {
        return Ok(None);
    };
    let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
        return Ok(None);
    };
    let tags = c
        .query(
            "SELECT DISTINCT tag FROM person_tags WHERE person_id = $1 AND valid_from <= $2 \
             AND (valid_to IS NULL OR valid_to >= $2)",
            params![person_id, day],
        )?
        .iter()
        .map(|t| t.str(0))
        .collect();
    Ok(Some(Share {
        street_id,
        paths: above(&r.str(1), r.opt_i64(2).is_some()),
        keys: keys_of(r.str(3), &r.str(4), r.str(5), r.str(6), r.bool(7), tags, d),
    }))
}

/// Recounts a street's figures unless they hold for `today`; whether it recounted.
pub fn ensure(c: &mut dyn Conn, street_id: i64, today: chrono::NaiveDate) -> Result<bool> {
    if counted_day(c, street_id)?.as_deref() == Some(day_text(today).as_str()) {
        return Ok(false);
    }
    recount(c, street_id, today)?;
    Ok(true)
}

fn street_of(c: &mut dyn Conn, person_id: i64) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT street_id FROM persons WHERE id = $1",
        params![person_id],
    )?
    .map(|r| r.i64(0)))
}

/// The persons a change is about to touch, with what each adds to the figures before it.
pub struct Watch {
    before: Vec<(i64, Option<Share>)>,
}

/// Notes what the persons `ids` add to the figures before a change (recounting their streets
/// first when their day has passed). Call [`Watch::settle`] after the change, in the same
/// transaction.
pub fn watch(c: &mut dyn Conn, ids: &[i64]) -> Result<Watch> {
    let today = crate::kernel::time::today();
    let mut seen = HashSet::new();
    let mut before = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(street) = street_of(c, id)?
            && seen.insert(street)
        {
            ensure(c, street, today)?;
        }
        before.push((id, share(c, id)?));
    }
    Ok(Watch { before })
}

impl Watch {
    /// Also follows a person the change created (nothing before).
    pub fn created(&mut self, id: i64) {
        self.before.push((id, None));
    }

    /// Applies the difference between what the watched persons add now and what they added
    /// before the change.
    pub fn settle(self, c: &mut dyn Conn) -> Result<()> {
        let today = crate::kernel::time::today();
        // A street whose rows did not hold for today is recounted from the records (which
        // already hold the change): none of its differences are applied on top.
        let mut recounted = HashSet::new();
        let mut checked = HashSet::new();
        for (id, before) in &self.before {
            for street in [before.as_ref().map(|b| b.street_id), street_of(c, *id)?]
                .into_iter()
                .flatten()
            {
                if checked.insert(street) && ensure(c, street, today)? {
                    recounted.insert(street);
                }
            }
        }
        let mut delta = Delta::default();
        for (id, before) in &self.before {
            if let Some(b) = before {
                delta.add(b, -1);
            }
            if let Some(a) = share(c, *id)? {
                delta.add(&a, 1);
            }
        }
        delta
            .0
            .retain(|(street, ..), _| !recounted.contains(street));
        delta.flush(c)
    }
}

/// A household was registered in the unit at `unit_path`.
pub fn household_added(c: &mut dyn Conn, street_id: i64, unit_path: &str) -> Result<()> {
    if ensure(c, street_id, crate::kernel::time::today())? {
        // The recount read it from the records.
        return Ok(());
    }
    let mut d = Delta::default();
    d.add(
        &Share {
            street_id,
            paths: above(unit_path, true),
            keys: vec![("households", String::new())],
        },
        1,
    );
    d.flush(c)
}

/// Rewrites a street's rows from its records, as of `day`.
pub fn recount(c: &mut dyn Conn, street_id: i64, day: chrono::NaiveDate) -> Result<()> {
    let day_s = day_text(day);
    c.exec(
        "DELETE FROM population_counts WHERE street_id = $1",
        params![street_id],
    )?;
    let mut d = Delta::default();
    // Every place above the units gets its `all` row, even at zero: a row says "counted".
    for r in c.query(
        "SELECT path FROM places WHERE street_id = $1 AND kind <> 'unit'",
        params![street_id],
    )? {
        for p in above(&r.str(0), false) {
            d.0.entry((street_id, p, "all", String::new())).or_default();
        }
    }
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for t in c.query(
        "SELECT DISTINCT t.person_id, t.tag FROM person_tags t WHERE t.street_id = $1 \
         AND t.valid_from <= $2 AND (t.valid_to IS NULL OR t.valid_to >= $2)",
        params![street_id, day_s.clone()],
    )? {
        tags.entry(t.i64(0)).or_default().push(t.str(1));
    }
    for r in c.query(
        "SELECT id, place_path, unit_id, sex, birth_date, presence, residence, hukou_registered \
         FROM persons WHERE street_id = $1 AND residence <> 'left'",
        params![street_id],
    )? {
        let held = tags.remove(&r.i64(0)).unwrap_or_default();
        d.add(
            &Share {
                street_id,
                paths: above(&r.str(1), r.opt_i64(2).is_some()),
                keys: keys_of(
                    r.str(3),
                    &r.str(4),
                    r.str(5),
                    r.str(6),
                    r.bool(7),
                    held,
                    day,
                ),
            },
            1,
        );
    }
    for r in c.query(
        "SELECT place_path FROM households WHERE street_id = $1",
        params![street_id],
    )? {
        d.add(
            &Share {
                street_id,
                paths: above(&r.str(0), true),
                keys: vec![("households", String::new())],
            },
            1,
        );
    }
    // Written as plain inserts (the street's rows were just deleted); the zero rows too.
    let rows: Vec<Vec<Val>> =
        d.0.into_iter()
            .filter(|((_, _, dim, _), n)| *n != 0 || *dim == "all")
            .map(|((street, path, dim, key), n)| {
                vec![
                    Val::Int(street),
                    Val::Text(path),
                    Val::Text(dim.to_string()),
                    Val::Text(key),
                    Val::Int(n),
                ]
            })
            .collect();
    for part in rows.chunks(2000) {
        c.insert_many("population_counts", &COLS, part)?;
    }
    c.exec(
        "INSERT INTO population_days (street_id, day, counted_at) VALUES ($1, $2, $3) \
         ON CONFLICT (street_id) DO UPDATE SET day = excluded.day, counted_at = excluded.counted_at",
        params![street_id, day_s, crate::store::now_ms()],
    )?;
    Ok(())
}

/// The streets whose rows do not hold for `today` (or were never counted).
pub fn stale_streets(c: &mut dyn Conn, today: chrono::NaiveDate) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT s.id FROM places s LEFT JOIN population_days d ON d.street_id = s.id \
             WHERE s.kind = 'street' AND (d.day IS NULL OR d.day <> $1) ORDER BY s.id",
        params![day_text(today)],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Recounts every street whose rows do not hold for `today`; how many.
pub fn recount_stale(c: &mut dyn Conn, today: chrono::NaiveDate) -> Result<usize> {
    let streets = stale_streets(c, today)?;
    for s in &streets {
        recount(c, *s, today)?;
    }
    Ok(streets.len())
}

/// The kept figures of the place at `path`: (dimension, key) → count, or `None` when some
/// street under it (or its own street) was never counted, so the records must be read.
pub fn at(c: &mut dyn Conn, path: &str) -> Result<Option<Figures>> {
    if !kept(c, path)? {
        return Ok(None);
    }
    let mut out = HashMap::new();
    for r in c.query(
        "SELECT dim, key, CAST(SUM(n) AS BIGINT) FROM population_counts WHERE path = $1 GROUP BY dim, key",
        params![path],
    )? {
        out.insert((r.str(0), r.str(1)), r.i64(2));
    }
    Ok(Some(out))
}

/// Whether the figures of the place at `path` are kept (its streets were counted and the
/// place existed then).
pub fn kept(c: &mut dyn Conn, path: &str) -> Result<bool> {
    population_kept(c, path)
}

/// Households and residents (not counting those who have left) under a path.
pub fn counts_under(c: &mut dyn Conn, path: &str) -> Result<(i64, i64)> {
    if population_kept(c, path)? {
        let (mut households, mut residents) = (0, 0);
        for r in c.query(
            "SELECT dim, CAST(SUM(n) AS BIGINT) FROM population_counts WHERE path = $1 AND key = '' \
             AND dim IN ('all', 'households') GROUP BY dim",
            params![path],
        )? {
            match r.str(0).as_str() {
                "all" => residents = r.i64(1),
                _ => households = r.i64(1),
            }
        }
        return Ok((households, residents));
    }
    let mut p = Vec::new();
    let cond = crate::store::under_paths("place_path", &[path.to_string()], 1, &mut p);
    let households = c.query_i64(&format!("SELECT COUNT(*) FROM households WHERE {cond}"), &p)?;
    let residents = c.query_i64(
        &format!("SELECT COUNT(*) FROM persons WHERE residence <> 'left' AND {cond}"),
        &p,
    )?;
    Ok((households, residents))
}

/// Whether the registry keeps the population figures of the place at `path`
/// (`registry::counts`, issue 20): the place is above the units and each street under it (or
/// its own street) has the place's `all` row, written by a recount. Otherwise figures are
/// counted from the records.
pub fn population_kept(c: &mut dyn Conn, path: &str) -> Result<bool> {
    let Some(p) = c.query_opt(
        "SELECT id, kind, street_id FROM places WHERE path = $1",
        params![path],
    )?
    else {
        return Ok(false);
    };
    let marked = "SELECT 1 FROM population_counts pc WHERE pc.path = $1 AND pc.dim = 'all' AND pc.key = '' AND pc.street_id = $2";
    Ok(match p.str(1).as_str() {
        "unit" => false,
        "district" => {
            c.query_i64(
                &format!(
                    "SELECT COUNT(*) FROM places s WHERE s.parent_id = $2 AND s.kind = 'street' AND NOT EXISTS ({})",
                    marked.replace("$2", "s.id")
                ),
                params![path, p.i64(0)],
            )? == 0
        }
        kind => {
            let street = if kind == "street" {
                p.i64(0)
            } else {
                match p.opt_i64(2) {
                    Some(s) => s,
                    None => return Ok(false),
                }
            };
            c.query_opt(marked, params![path, street])?.is_some()
        }
    })
}

/// Kept figures of one place: (dimension, key) → count.
pub type Figures = HashMap<(String, String), i64>;

/// The kept `all`, age and tag rows of the children of a place: child path → figures.
pub fn children_at(c: &mut dyn Conn, parent_id: i64) -> Result<HashMap<String, Figures>> {
    let mut out: HashMap<String, Figures> = HashMap::new();
    for r in c.query(
        "SELECT pc.path, pc.dim, pc.key, CAST(SUM(pc.n) AS BIGINT) FROM places ch \
         JOIN population_counts pc ON pc.path = ch.path \
         WHERE ch.parent_id = $1 AND pc.dim IN ('all', 'age', 'tag') GROUP BY pc.path, pc.dim, pc.key",
        params![parent_id],
    )? {
        out.entry(r.str(0))
            .or_default()
            .insert((r.str(1), r.str(2)), r.i64(3));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_counts_under_the_places_above_it() {
        assert_eq!(
            above("310115/310115004/c01/g01/b01/u0101", true),
            vec![
                "310115",
                "310115/310115004",
                "310115/310115004/c01",
                "310115/310115004/c01/g01",
                "310115/310115004/c01/g01/b01"
            ]
        );
        assert_eq!(above("a/b", false), vec!["a", "a/b"]);
    }

    #[test]
    fn bands_follow_the_birthday() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        assert_eq!(band("1966-11-29", day), "60-79");
        assert_eq!(band("1966-11-30", day), "35-59");
        assert_eq!(band("2026-01-01", day), "0-6");
        assert_eq!(band("1900-01-01", day), "80+");
    }
}
