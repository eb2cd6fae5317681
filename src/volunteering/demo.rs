//! What the demo street needs of volunteering: in the demo volunteer's community, a past
//! activity she and a neighbour served at (their points earned), one coming up she signed up
//! to, and a catalogue of two items (the committee's and the property company's), one of
//! which she redeemed.

use super::ledger::{self, Txn};
use super::store::{self, NewActivity, NewItem};
use crate::org::Role;
use crate::store::{Conn, Result, StoreError};

const HOUR: i64 = 3_600_000;

fn db(e: crate::kernel::error::AppError) -> StoreError {
    StoreError::Db(e.key)
}

pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
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
    let by = crate::org::users::exists(c, "shegong")?.unwrap_or(zhiyuan);
    let neighbour = crate::org::users::exists(c, "zhiyuan2")?;
    let skills = vec!["companion".to_string()];
    let code = "482916";
    let past = store::insert_activity(
        c,
        &NewActivity {
            street_id: street,
            community_id: community.id,
            community_path: &community.path,
            place_id: community.id,
            place_path: &community.path,
            title: "重阳节陪伴独居老人",
            starts_at: now - 10 * 24 * HOUR,
            ends_at: now - 10 * 24 * HOUR + 3 * HOUR,
            capacity: 8,
            skills: &skills,
            rate: 10,
            code,
            created_by: by,
            created_by_name: "陈静",
        },
        now - 14 * 24 * HOUR,
    )?;
    let issuing = ledger::account(c, street, "issuing", community.id, &community.path, now)?;
    for uid in std::iter::once(zhiyuan).chain(neighbour) {
        let sid = store::sign_up(c, past, street, uid, "booked", now - 12 * 24 * HOUR)?;
        let start = now - 10 * 24 * HOUR;
        store::check_in(c, sid, start)?;
        let person = ledger::account(c, street, "person", uid, &community.path, now)?;
        let txn = ledger::earn(
            c,
            &Txn {
                street_id: street,
                kind: "earn",
                community_path: &community.path,
                reverses: None,
                reason: &format!("重阳节陪伴独居老人 #{past}"),
                by,
            },
            issuing,
            person,
            30,
            start + 3 * HOUR,
        )
        .map_err(db)?;
        store::check_out(c, sid, start + 3 * HOUR, 180, 30, Some(txn))?;
    }
    let coming = store::insert_activity(
        c,
        &NewActivity {
            street_id: street,
            community_id: community.id,
            community_path: &community.path,
            place_id: community.id,
            place_path: &community.path,
            title: "社区花园认养日",
            starts_at: now + 2 * 24 * HOUR,
            ends_at: now + 2 * 24 * HOUR + 2 * HOUR,
            capacity: 6,
            skills: &[],
            rate: 10,
            code: "305718",
            created_by: by,
            created_by_name: "陈静",
        },
        now,
    )?;
    store::sign_up(c, coming, street, zhiyuan, "booked", now)?;
    let item = store::insert_item(
        c,
        &NewItem {
            street_id: street,
            community_id: community.id,
            community_path: &community.path,
            offer: "committee",
            org_id: None,
            title: "环保洗衣液一瓶",
            note: "居委会服务站领取",
            cost: 20,
            stock: 12,
            created_by: by,
        },
        now,
    )?;
    if let Some(org) = crate::org::orgs::of_street(c, street)?
        .into_iter()
        .find(|o| o.kind == "property" && o.retired_at.is_none())
    {
        store::insert_item(
            c,
            &NewItem {
                street_id: street,
                community_id: community.id,
                community_path: &community.path,
                offer: "shop",
                org_id: Some(org.id),
                title: "物业维修上门一次",
                note: "小件维修，材料另计",
                cost: 50,
                stock: 5,
                created_by: by,
            },
            now,
        )?;
    }
    // She redeemed one bottle a week ago; its code is still to be collected.
    let person = ledger::account(c, street, "person", zhiyuan, &community.path, now)?;
    let to = ledger::account(c, street, "committee", community.id, &community.path, now)?;
    store::take_one(c, item)?;
    let txn = ledger::spend(
        c,
        &Txn {
            street_id: street,
            kind: "spend",
            community_path: &community.path,
            reverses: None,
            reason: &format!("环保洗衣液一瓶 #{item}"),
            by: zhiyuan,
        },
        person,
        to,
        20,
        now - 7 * 24 * HOUR,
    )
    .map_err(db)?;
    store::insert_redemption(
        c,
        street,
        item,
        zhiyuan,
        "7KQ4M2XP",
        20,
        txn,
        now - 7 * 24 * HOUR,
    )?;
    Ok(())
}
