//! The demo street's gates: the demo resident's estate with a pedestrian gate and a car
//! barrier (devices of sensing's `gate` profile), a car park of 60 spaces (owned, rented,
//! shared, visitor) with a dozen assigned, and a few passages of the last hours — cards, a
//! pass, plates of residents and one unknown plate recorded as a visitor. Deterministic.

use super::model::{self, Passage};
use super::service::{provision, store_passages};
use super::store;
use crate::org::users;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, StoreError};

fn app_err(e: crate::kernel::AppError) -> StoreError {
    StoreError::Db(format!("demo gates: {}", e.key))
}

/// Writes the demo estate (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, keys: &FieldKeys, now: i64) -> Result<()> {
    let Some(uid) = users::exists(c, "jumin")? else {
        return Ok(());
    };
    let Some(person) = users::by_id(c, uid)?.and_then(|u| u.person_id) else {
        return Ok(());
    };
    let Some(r) = crate::registry::residents::resident(c, person)? else {
        return Ok(());
    };
    let parts: Vec<&str> = r.place_path.split('/').collect();
    let prefixes: Vec<String> = (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
    let above = store::places_at(c, &prefixes)?;
    let Some(community) = above.iter().find(|p| p.1 == "community") else {
        return Ok(());
    };
    let name = above
        .iter()
        .find(|p| p.1 == "building")
        .and_then(|b| b.5.clone())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| community.2.clone());
    let id = store::insert_estate(c, community.4, (community.0, &community.3), &name, 30, now)?;
    let Some(e) = store::estate(c, id)? else {
        return Ok(());
    };
    let (walk, _) = provision(c, keys, &e, "南门人行门", "pedestrian", now).map_err(app_err)?;
    let (car, _) = provision(c, keys, &e, "北门车辆道闸", "barrier", now).map_err(app_err)?;
    let mut spaces = Vec::new();
    for row in 0..6i64 {
        for col in 0..10i64 {
            let kind = match row {
                0 | 1 => "owned",
                2 | 3 => "rented",
                4 => "shared",
                _ => "visitor",
            };
            let code = format!("{}-{:02}", (b'A' + row as u8) as char, col + 1);
            spaces.push((code, kind.to_string(), row, col));
        }
    }
    store::insert_spaces(c, &e, &spaces, now)?;
    let ids: Vec<i64> = store::spaces(c, e.id)?.iter().map(|s| s.id).collect();
    for (i, s) in ids.iter().take(12).enumerate() {
        let plate = format!("沪A{:05}", 10_200 + i * 37);
        store::assign(c, &e, *s, &plate, &format!("业主 {}", i + 1), uid, now)?;
    }
    let p = |ago_min: i64, direction: &str, by: &str, id: &str| Passage {
        ts: Some(now - ago_min * 60_000),
        direction: direction.into(),
        by: by.into(),
        id: id.into(),
    };
    let check = |v: Vec<Passage>| -> Vec<model::Checked> {
        v.iter().filter_map(|x| model::check(x, now).ok()).collect()
    };
    let people = check(vec![
        p(300, "out", "card", "C-0012"),
        p(240, "in", "resident", "R-3101"),
        p(180, "in", "qr", "visitor pass"),
        p(120, "out", "card", "C-0040"),
        p(45, "in", "card", "C-0012"),
    ]);
    store_passages(c, &walk, people, now - 45 * 60_000).map_err(app_err)?;
    let cars = check(vec![
        p(290, "in", "plate", "沪A10200"),
        p(260, "in", "plate", "沪A10237"),
        p(200, "in", "plate", "苏E8K512"),
        p(150, "out", "plate", "沪A10237"),
        p(90, "in", "plate", "沪A10274"),
        p(30, "out", "plate", "苏E8K512"),
    ]);
    store_passages(c, &car, cars, now - 30 * 60_000).map_err(app_err)?;
    Ok(())
}
