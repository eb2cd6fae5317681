//! What the registry contributes to the cockpit: residents and the care tags (elderly living
//! alone, disabled) per grid, read from the kept population figures (`registry::counts`);
//! a street never counted is read from its records until the registry's job counts it.

use crate::params;
use crate::store::{Conn, Result};

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

pub fn residents(c: &mut dyn Conn, _street: i64, paths: &[String]) -> Result<Option<f64>> {
    count(c, paths, None)
}

pub fn elderly_alone(c: &mut dyn Conn, _street: i64, paths: &[String]) -> Result<Option<f64>> {
    count(c, paths, Some("elderly_alone"))
}

pub fn disabled(c: &mut dyn Conn, _street: i64, paths: &[String]) -> Result<Option<f64>> {
    count(c, paths, Some("disabled"))
}

/// A path in a link's query.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
