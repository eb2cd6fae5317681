//! What the demo street needs of deliberation: in the demo resident's (`jumin`) building a
//! proposal that reached its supports, in her community one decided at a past meeting of the
//! residents' council with its decision in progress, and the council with its members.

use super::service::{self, Home};
use super::store;
use crate::store::{Conn, Result};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// Homes (with masked labels) of residents under a place other than `skip`, at most `n`.
fn neighbours(c: &mut dyn Conn, path: &str, skip: i64, n: usize) -> Result<Vec<Home>> {
    let mut out = Vec::new();
    for h in crate::registry::residents::households_under(c, path)? {
        for m in crate::registry::residents::members(c, h.id)? {
            if m.id == skip {
                continue;
            }
            if let Some(home) = service::home_of(c, m.id)? {
                out.push(home);
                if out.len() >= n {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

fn support_all(c: &mut dyn Conn, p: i64, street: i64, homes: &[Home], at: i64) -> Result<()> {
    for (i, h) in homes.iter().enumerate() {
        if store::insert_support(
            c,
            street,
            p,
            h.person_id,
            0,
            &h.label,
            at + i as i64 * 60_000,
        )? {
            store::bump_supports(c, p, at + i as i64 * 60_000)?;
        }
    }
    Ok(())
}

/// Seeds the demo's proposals, council and meeting (once, with the demo's accounts made).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let Some(user) = crate::org::users::exists(c, "jumin")? else {
        return Ok(());
    };
    let Some(person) = crate::org::users::by_id(c, user)?.and_then(|u| u.person_id) else {
        return Ok(());
    };
    let Some(home) = service::home_of(c, person)? else {
        return Ok(());
    };
    let (Some(building), Some(community)) = (home.building.clone(), home.community.clone()) else {
        return Ok(());
    };
    let street = home.street_id;

    // 1. The building: the stairwell lights, proposed by a neighbour and supported (jumin has
    // not supported it yet: the demo shows her the button).
    let t0 = now - 6 * DAY;
    let near = neighbours(c, &building.path, person, 8)?;
    let Some((first, rest)) = near.split_first() else {
        return Ok(());
    };
    let a = store::insert_proposal(
        c,
        store::NewProposal {
            street_id: street,
            scope_kind: "building",
            scope_place_id: building.id,
            scope_path: &building.path,
            scope_estate: None,
            scope_name: &building.name,
            place_id: Some(building.id),
            author_user_id: 0,
            author_person_id: first.person_id,
            author_label: &first.label,
            title: "楼道照明坏了三层，建议换成声控灯",
            body: "二至四层楼道灯坏了两个月，晚上老人上下楼很不方便。建议统一换成声控节能灯，并在一楼装一个夜间常亮的小灯。",
            threshold: service::default_threshold("building"),
            now: t0,
        },
    )?;
    store::add_event(c, street, a, "proposed", None, None, None, t0)?;
    support_all(c, a, street, std::slice::from_ref(first), t0)?;
    support_all(c, a, street, rest, t0 + DAY)?;
    let supports = c.query_i64(
        "SELECT supports FROM proposals WHERE id = $1",
        crate::params![a],
    )?;
    if supports >= service::default_threshold("building") {
        store::set_state(c, a, "supported", None, t0 + 2 * DAY)?;
        store::add_event(c, street, a, "supported", None, None, None, t0 + 2 * DAY)?;
    }
    store::insert_comment(
        c,
        street,
        a,
        user,
        Some(person),
        &home.label,
        "三楼的灯是上个月开始坏的，物业说要等统一采购。",
        t0 + DAY,
    )?;

    // 2. The community: charging points for e-bikes, decided at the council's meeting.
    let t1 = now - 30 * DAY;
    let b = store::insert_proposal(
        c,
        store::NewProposal {
            street_id: street,
            scope_kind: "community",
            scope_place_id: community.id,
            scope_path: &community.path,
            scope_estate: None,
            scope_name: &community.name,
            place_id: None,
            author_user_id: user,
            author_person_id: person,
            author_label: &home.label,
            title: "增设电动自行车集中充电点",
            body: "不少居民把电动车推进楼道充电，有火灾隐患。建议在小区内增设两到三处集中充电点，按次收费。",
            threshold: service::default_threshold("community"),
            now: t1,
        },
    )?;
    store::add_event(c, street, b, "proposed", None, None, None, t1)?;
    store::insert_support(c, street, b, person, user, &home.label, t1)?;
    store::bump_supports(c, b, t1)?;
    let many = neighbours(c, &community.path, person, 34)?;
    support_all(c, b, street, &many, t1 + DAY)?;
    store::set_state(c, b, "supported", None, t1 + 5 * DAY)?;
    store::add_event(c, street, b, "supported", None, None, None, t1 + 5 * DAY)?;

    let council = store::insert_body(
        c,
        street,
        "council",
        &format!("议事会（{}）", community.name),
        community.id,
        &community.path,
        None,
        t1,
    )?;
    let term_start = crate::kernel::time::local_date(now - 400 * DAY);
    let term_end = crate::kernel::time::local_date(now + 695 * DAY);
    let mut members = Vec::new();
    for (name, duty) in [
        ("王秀兰", "议事长"),
        ("刘建国", "委员"),
        ("陈美华", "委员"),
        ("赵志强", "委员"),
        ("孙丽娟", "委员"),
    ] {
        members.push(store::insert_member(
            c,
            street,
            council,
            name,
            Some(duty),
            None,
            &term_start,
            Some(&term_end),
            t1,
        )?);
    }
    let held = now - 14 * DAY;
    let meeting = store::insert_meeting(
        c,
        street,
        council,
        "第四季度例会",
        held,
        "社区党群服务中心二楼会议室",
        t1,
    )?;
    store::add_agenda(c, street, meeting, b)?;
    store::set_state(c, b, "on_agenda", None, held - 3 * DAY)?;
    store::add_event(
        c,
        street,
        b,
        "on_agenda",
        None,
        Some(meeting),
        None,
        held - 3 * DAY,
    )?;
    for (i, m) in members.iter().enumerate() {
        let mode = match i {
            3 => "online",
            4 => "absent",
            _ => "in_person",
        };
        store::set_attendance(c, street, meeting, *m, mode)?;
    }
    store::set_minutes(
        c,
        meeting,
        "出席委员4人（线上1人），社区两委、物业列席。\n议题：增设电动自行车集中充电点。\n经讨论，同意在2号楼北侧、6号楼东侧设置两处充电点，由物业负责建设，社区督办。",
        held + 2 * 60 * 60 * 1000,
    )?;
    let due = crate::kernel::time::local_date(now + 30 * DAY);
    let text = "在2号楼北侧、6号楼东侧设置两处集中充电点，月底前完成安装。";
    let d = store::insert_decision(
        c,
        street,
        meeting,
        Some(b),
        text,
        None,
        "物业服务中心",
        &due,
        held,
    )?;
    store::set_state(c, b, "decided", None, held)?;
    store::add_event(
        c,
        street,
        b,
        "decided",
        Some(text),
        Some(meeting),
        Some(d),
        held,
    )?;
    let note = "选址已确定，设备已订购。";
    store::add_progress(c, street, d, note, "社区工作者", now - 5 * DAY)?;
    store::add_event(
        c,
        street,
        b,
        "progress",
        Some(note),
        Some(meeting),
        Some(d),
        now - 5 * DAY,
    )?;
    Ok(())
}
