//! What the demo street needs of call-ups: the demo volunteer and two more volunteers of her
//! community with skills and buildings, and one open call (water carried up in a power cut)
//! that the demo volunteer has not answered yet.

use super::store::{self, NewCall};
use crate::org::Role;
use crate::store::{Conn, Result, StoreError};

pub fn seed(
    c: &mut dyn Conn,
    keys: &crate::store::keys::FieldKeys,
    hash: &str,
    now: i64,
) -> Result<()> {
    let Some(zhiyuan) = crate::org::users::exists(c, "zhiyuan")? else {
        return Ok(());
    };
    let Some(u) = crate::org::users::by_id(c, zhiyuan)? else {
        return Ok(());
    };
    let (Some(street), Some(community)) = (
        u.street_id,
        u.grants
            .iter()
            .find(|g| g.role == Role::Volunteer)
            .and_then(|g| g.place.clone()),
    ) else {
        return Ok(());
    };
    let buildings = crate::org::places::list(
        c,
        std::slice::from_ref(&community.path),
        &crate::org::places::ListQuery {
            kind: Some("building".into()),
            under: None,
            limit: 3,
            offset: 0,
            with_total: false,
        },
    )?
    .items;
    let Some(first) = buildings.first() else {
        return Ok(());
    };
    let phone = |n: &str| {
        let p =
            crate::registry::idnum::Phone::parse(n).map_err(|e| StoreError::Db(e.to_string()))?;
        Ok::<_, StoreError>(Some((keys.encrypt(p.as_str()), p.masked())))
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    store::save_profile(
        c,
        zhiyuan,
        street,
        &s(&["carrying", "companion"]),
        &[],
        Some(phone("13900001111")?),
        now,
    )?;
    let mut others = Vec::new();
    for (name, display, skills, mobile) in [
        (
            "zhiyuan2",
            "王丽华",
            ["medical", "companion"],
            "13900002222",
        ),
        (
            "zhiyuan3",
            "赵强",
            ["driving", "electrician"],
            "13900003333",
        ),
    ] {
        let username =
            crate::org::users::Username::parse(name).map_err(|e| StoreError::Db(e.to_string()))?;
        let id = crate::org::users::create(
            c,
            crate::org::users::NewUser {
                username: &username,
                display_name: display,
                password_hash: hash,
                street_id: Some(street),
                person_id: None,
                created_by: None,
            },
        )?;
        crate::org::users::add_grant(
            c,
            id,
            Role::Volunteer,
            Some(community.id),
            None,
            Some(street),
            None,
        )?;
        store::save_profile(
            c,
            id,
            street,
            &s(&skills),
            &[(first.id, first.path.clone())],
            Some(phone(mobile)?),
            now,
        )?;
        others.push(id);
    }
    let by = crate::org::users::exists(c, "shegong")?.unwrap_or(zhiyuan);
    let skills = s(&["carrying"]);
    let call = NewCall {
        street_id: street,
        title: "停电送水上楼",
        needs: "电梯停运，帮独居老人把饮用水搬上楼，每户两桶。",
        starts_at: now + 24 * 60 * 60 * 1000,
        place_id: first.id,
        where_note: "楼下物资点集合",
        audience_id: community.id,
        audience_path: &community.path,
        skills: &skills,
        wanted: 4,
        urgency: "urgent",
        created_by: by,
        created_by_name: "陈静",
    };
    store::insert(c, &call, &[zhiyuan], now)?;
    Ok(())
}
