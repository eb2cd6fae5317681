//! What the registry contributes to the cockpit: residents and the care tags (elderly living
//! alone, disabled) per grid, read from the kept population figures (`registry::counts`) of
//! every grid and of the viewer's places in one query; a place never counted is read from its
//! records until the registry's job counts it.

use std::collections::HashMap;

use crate::params;
use crate::store::{Conn, Result, Val};

/// Persons counted at each of a street's `grids` (id, path) and over the viewer's `roots`:
/// residents, or holders of `tag`.
pub type Counted = (Vec<(i64, Option<f64>)>, Option<f64>);

/// Persons counted at each grid and over the viewer's places, from the kept figures of all of
/// them in one query (a place never counted is read from its records).
pub fn persons(
    c: &mut dyn Conn,
    street: i64,
    grids: &[(i64, String)],
    roots: &[String],
    tag: Option<&str>,
) -> Result<Counted> {
    let mut p: Vec<Val> = vec![street.into(), tag.unwrap_or("").into()];
    let list: Vec<String> = grids
        .iter()
        .map(|(_, path)| path)
        .chain(roots)
        .map(|path| {
            p.push(path.as_str().into());
            format!("${}", p.len())
        })
        .collect();
    // A place with its 'all' row is counted; its tag's row is absent when nobody holds it.
    let mut all: HashMap<String, i64> = HashMap::new();
    let mut tagged: HashMap<String, i64> = HashMap::new();
    for r in c.query(
        &format!(
            "SELECT path, dim, CAST(SUM(n) AS BIGINT) FROM population_counts \
             WHERE street_id = $1 AND path IN ({}) \
             AND ((dim = 'all' AND key = '') OR (dim = 'tag' AND key = $2)) GROUP BY path, dim",
            list.join(", ")
        ),
        &p,
    )? {
        let map = if r.str(1) == "all" {
            &mut all
        } else {
            &mut tagged
        };
        map.insert(r.str(0), r.i64(2));
    }
    let value = |c: &mut dyn Conn, path: &String| -> Result<i64> {
        match all.get(path) {
            Some(n) if tag.is_none() => Ok(*n),
            Some(_) => Ok(tagged.get(path).copied().unwrap_or(0)),
            None => Ok(count(c, std::slice::from_ref(path), tag)?.unwrap_or(0.0) as i64),
        }
    };
    let mut out = Vec::with_capacity(grids.len());
    for (id, path) in grids {
        out.push((*id, Some(value(c, path)? as f64)));
    }
    let mut total = 0;
    for path in roots {
        total += value(c, path)?;
    }
    Ok((out, Some(total as f64)))
}

/// (residents, tag → holders) of the place at `path`.
fn figures(c: &mut dyn Conn, path: &str) -> Result<Option<super::stats::Population>> {
    let Some(id) = c
        .query_opt("SELECT id FROM places WHERE path = $1", params![path])?
        .map(|r| r.i64(0))
    else {
        return Ok(None);
    };
    super::stats::population(c, id, crate::kernel::time::today())
}

fn value(p: &super::stats::Population, tag: Option<&str>) -> i64 {
    match tag {
        None => p.residents,
        Some(t) => p
            .by_tag
            .iter()
            .filter(|c| c.key == t)
            .map(|c| c.count)
            .sum(),
    }
}

/// Persons counted under `paths`: residents, or holders of `tag`.
fn count(c: &mut dyn Conn, paths: &[String], tag: Option<&str>) -> Result<Option<f64>> {
    let mut n = 0;
    for path in paths {
        n += figures(c, path)?.map_or(0, |p| value(&p, tag));
    }
    Ok(Some(n as f64))
}

/// A path in a link's query.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
