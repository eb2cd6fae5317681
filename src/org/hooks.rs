//! What other areas do when the hierarchy changes, without org knowing them (registered by
//! `app::wire`, run inside org's own transaction):
//!
//! - **uses**: before a place is retired, every area counts what it still keeps there
//!   (residents, open cases, devices); any count refuses the retirement, with the counts.
//! - **org uses**: before an organisation is retired, every area counts what still depends on
//!   it (open cases it handles, categories routed to it); any count refuses the retirement.
//! - **repath**: when a place moves, every area that copies places' paths into its own rows
//!   rewrites them from the old prefix to the new one, so scoped reads keep finding them.
//! - **people** (one provider, the registry's): the household a person lives in (a caller's
//!   own household joins her scope) and the households and residents under a place (the places
//!   pages' counts). Without a provider (a tool that never wired the areas) nobody has a
//!   household and every place counts nobody: nothing is shown that is not there.

use std::sync::RwLock;

use crate::store::{Conn, Result};

/// Counts what an area keeps under a path: `(catalogue key of the label, count)` pairs, only
/// those above zero.
pub type Uses = fn(&mut dyn Conn, &str) -> Result<Vec<(&'static str, i64)>>;

/// Rewrites an area's copies of paths under `old` to lie under `new`; returns the rows changed.
pub type Repath = fn(&mut dyn Conn, &str, &str) -> Result<u64>;

/// Counts what an area keeps with an organisation (by id), like [`Uses`].
pub type OrgUses = fn(&mut dyn Conn, i64) -> Result<Vec<(&'static str, i64)>>;

/// The household of a person (`None` when she has none or is unknown).
pub type HouseholdOf = fn(&mut dyn Conn, i64) -> Result<Option<i64>>;

/// Households and residents (not counting those who left) under a path.
pub type CountsUnder = fn(&mut dyn Conn, &str) -> Result<(i64, i64)>;

static HOUSEHOLD_OF: RwLock<Option<HouseholdOf>> = RwLock::new(None);
static COUNTS_UNDER: RwLock<Option<CountsUnder>> = RwLock::new(None);

/// Registers the registry's answers about people: a person's household, the counts under a place.
pub fn provide_people(household_of: HouseholdOf, counts_under: CountsUnder) {
    *HOUSEHOLD_OF.write().unwrap_or_else(|e| e.into_inner()) = Some(household_of);
    *COUNTS_UNDER.write().unwrap_or_else(|e| e.into_inner()) = Some(counts_under);
}

/// The household person `id` lives in, by the registered provider.
pub fn household_of(c: &mut dyn Conn, id: i64) -> Result<Option<i64>> {
    let f = *HOUSEHOLD_OF.read().unwrap_or_else(|e| e.into_inner());
    match f {
        Some(f) => f(c, id),
        None => Ok(None),
    }
}

/// Households and residents under `path`, by the registered provider.
pub fn counts_under(c: &mut dyn Conn, path: &str) -> Result<(i64, i64)> {
    let f = *COUNTS_UNDER.read().unwrap_or_else(|e| e.into_inner());
    match f {
        Some(f) => f(c, path),
        None => Ok((0, 0)),
    }
}

static USES: RwLock<Vec<Uses>> = RwLock::new(Vec::new());
static ORG_USES: RwLock<Vec<OrgUses>> = RwLock::new(Vec::new());
static REPATH: RwLock<Vec<Repath>> = RwLock::new(Vec::new());

/// Registers a count of what an area keeps at a place (once per function).
pub fn on_uses(f: Uses) {
    let mut v = USES.write().unwrap_or_else(|e| e.into_inner());
    if !v.iter().any(|g| std::ptr::fn_addr_eq(*g, f)) {
        v.push(f);
    }
}

/// Registers a count of what an area keeps with an organisation (once per function).
pub fn on_org_uses(f: OrgUses) {
    let mut v = ORG_USES.write().unwrap_or_else(|e| e.into_inner());
    if !v.iter().any(|g| std::ptr::fn_addr_eq(*g, f)) {
        v.push(f);
    }
}

/// Everything the areas keep with organisation `id`.
pub fn org_uses(c: &mut dyn Conn, id: i64) -> Result<Vec<(&'static str, i64)>> {
    let hooks = ORG_USES.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out = Vec::new();
    for h in hooks {
        out.extend(h(c, id)?.into_iter().filter(|(_, n)| *n > 0));
    }
    Ok(out)
}

/// Registers a rewrite of an area's paths when a place moves (once per function).
pub fn on_repath(f: Repath) {
    let mut v = REPATH.write().unwrap_or_else(|e| e.into_inner());
    if !v.iter().any(|g| std::ptr::fn_addr_eq(*g, f)) {
        v.push(f);
    }
}

/// Everything the areas keep under `path`.
pub fn uses(c: &mut dyn Conn, path: &str) -> Result<Vec<(&'static str, i64)>> {
    let hooks = USES.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut out = Vec::new();
    for h in hooks {
        out.extend(h(c, path)?.into_iter().filter(|(_, n)| *n > 0));
    }
    Ok(out)
}

/// Runs every area's rewrite; returns the rows changed in all.
pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    let hooks = REPATH.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut n = 0;
    for h in hooks {
        n += h(c, old, new)?;
    }
    Ok(n)
}

/// The rewrite every area's hook runs on each table that copies paths: one statement per
/// table and column, the old prefix replaced by the new one.
pub fn repath_column(
    c: &mut dyn Conn,
    table: &str,
    col: &str,
    old: &str,
    new: &str,
) -> Result<u64> {
    let mut p = vec![
        crate::store::Val::Text(new.to_string()),
        crate::store::Val::Int(old.chars().count() as i64 + 1),
    ];
    let cond = crate::store::under_paths(col, &[old.to_string()], 3, &mut p);
    c.exec(
        &format!("UPDATE {table} SET {col} = $1 || substr({col}, $2) WHERE {cond}"),
        &p,
    )
}
