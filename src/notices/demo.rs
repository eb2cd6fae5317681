//! The demo street's notices, so that the first run shows what receipts look like: the street
//! office's notice to every resident asking to be acknowledged (opened by about half, some
//! told at the door by the building leader, still unread by the demo resident), a community's
//! notice read by most, a work notice to the grid and community workers, and a grid worker's
//! notice scheduled for tomorrow.

use super::model::{Audience, Kind, State};
use super::service::{new_code, recipients, resolve};
use super::store::{self, NewNotice};
use crate::org::{Role, users};
use crate::params;
use crate::store::{Conn, Result, StoreError};

const HOUR: i64 = 60 * 60 * 1000;
const DAY: i64 = 24 * HOUR;

/// A demo account as an author: id, name, the place she writes for, its street.
fn author(c: &mut dyn Conn, username: &str) -> Result<Option<(i64, String, String, i64)>> {
    let Some(id) = users::exists(c, username)? else {
        return Ok(None);
    };
    let Some(u) = users::by_id(c, id)? else {
        return Ok(None);
    };
    let Some(place) = u.grants.iter().find_map(|g| g.place.clone()) else {
        return Ok(None);
    };
    Ok(u.street_id.map(|s| (id, u.display_name, place.path, s)))
}

struct Seed<'a> {
    username: &'a str,
    title: &'a str,
    body: &'a str,
    audience: Audience,
    ack_wanted: bool,
    /// Hours before now it went out (negative: scheduled that far ahead).
    hours_ago: i64,
    /// Per cent of recipients who opened it, acknowledged it, were told at the door.
    read: i64,
    ack: i64,
    told: i64,
    /// Whether the demo resident has opened it.
    jumin_read: bool,
}

fn app_err(e: crate::kernel::AppError) -> StoreError {
    StoreError::Db(format!("demo notice: {}", e.key))
}

/// Writes the demo notices (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let Some((_, _, street_path, _)) = author(c, "admin")? else {
        return Ok(());
    };
    let community = author(c, "shegong")?.map(|a| a.2);
    let grid = author(c, "wangge")?.map(|a| a.2);
    let place_id = |c: &mut dyn Conn, path: Option<String>| -> Result<Vec<i64>> {
        Ok(match path {
            Some(p) => c
                .query_opt("SELECT id FROM places WHERE path = $1", params![p])?
                .map(|r| vec![r.i64(0)])
                .unwrap_or_default(),
            None => Vec::new(),
        })
    };
    let street_place = place_id(c, Some(street_path))?;
    let community_place = place_id(c, community)?;
    let grid_place = place_id(c, grid)?;
    let jumin = users::exists(c, "jumin")?
        .and_then(|id| users::by_id(c, id).ok().flatten())
        .and_then(|u| u.person_id);
    let seeds = [
        Seed {
            username: "admin",
            title: "关于开展冬季燃气安全入户检查的通知",
            body: "各位居民：\n为保障冬季用气安全，街道将联合燃气公司于本月 10 日至 20 日开展入户安全检查，\
                   检查人员佩戴工作证，不收取任何费用。请家中留人配合；不便的请与网格员预约时间。\n\
                   燃气泄漏请立即开窗、关阀，到户外拨打 96777。\n\
                   检查须知详见 https://www.gov.cn/ 。",
            audience: Audience {
                places: street_place,
                ..Audience::default()
            },
            ack_wanted: true,
            hours_ago: 50,
            read: 56,
            ack: 38,
            told: 6,
            jumin_read: false,
        },
        Seed {
            username: "shegong",
            title: "社区 12 月活动安排",
            body: "12 月 14 日（周六）上午 9:00 社区党群服务中心举办义诊和理发服务；\n\
                   12 月 21 日（周六）下午 2:00 冬至包饺子活动，欢迎报名。",
            audience: Audience {
                places: community_place,
                ..Audience::default()
            },
            ack_wanted: false,
            hours_ago: 120,
            read: 71,
            ack: 0,
            told: 0,
            jumin_read: true,
        },
        Seed {
            username: "admin",
            title: "本周末防寒保暖走访安排",
            body: "寒潮将至。请各网格员于周六 18:00 前完成独居老人、困难家庭的电话或上门走访，\
                   发现问题当场上报；社区干部周日抽查。",
            audience: Audience {
                roles: vec![
                    Role::GridWorker.as_str().into(),
                    Role::CommunityWorker.as_str().into(),
                ],
                ..Audience::default()
            },
            ack_wanted: true,
            hours_ago: 20,
            read: 0,
            ack: 0,
            told: 0,
            jumin_read: false,
        },
        Seed {
            username: "wangge",
            title: "楼道堆物清理提醒",
            body: "消防检查前，请各户于本周内清理楼道内堆放的杂物和电动自行车。",
            audience: Audience {
                places: grid_place,
                ..Audience::default()
            },
            ack_wanted: false,
            hours_ago: -20,
            read: 0,
            ack: 0,
            told: 0,
            jumin_read: false,
        },
    ];
    for s in seeds {
        let Some((author_id, name, path, street)) = author(c, s.username)? else {
            continue;
        };
        if s.audience.places.is_empty() && s.audience.roles.is_empty() {
            continue;
        }
        let r = resolve(
            c,
            &s.audience,
            None,
            (Some(street), std::slice::from_ref(&path)),
        )
        .map_err(app_err)?;
        let at = now - s.hours_ago * HOUR;
        let scheduled = s.hours_ago < 0;
        let code = new_code(c).map_err(app_err)?;
        let id = store::insert(
            c,
            &NewNotice {
                street_id: r.street_id,
                kind: s.audience.kind(),
                code: &code,
                title: s.title,
                body: s.body,
                audience: &s.audience,
                audience_label: &r.label,
                ack_wanted: s.ack_wanted,
                ack_by: s.ack_wanted.then_some(at + 7 * DAY),
                state: if scheduled {
                    State::Scheduled
                } else {
                    State::Draft
                },
                publish_at: scheduled.then_some(at),
                expires_at: Some(at + 30 * DAY),
                author_id,
                author: &name,
                author_path: &path,
                now: at.min(now),
            },
        )?;
        if scheduled {
            continue;
        }
        let to = recipients(c, &r, &s.audience, author_id).map_err(app_err)?;
        store::publish(c, id, r.street_id, &to, at)?;
        // Receipts spread over the hours since, chosen by the recipient's number so the
        // demo is the same every time; the demo resident's as the seed says.
        let skip = if s.audience.kind() == Kind::Residents && !s.jumin_read {
            jumin.unwrap_or(0)
        } else {
            0
        };
        let span = (s.hours_ago * HOUR).max(1);
        c.exec(
            "UPDATE notice_recipients SET read_at = $1 + (seq * 7919) % $2 \
             WHERE notice_id = $3 AND (seq * 37) % 100 < $4 AND COALESCE(person_id, 0) <> $5",
            params![at, span, id, s.read, skip],
        )?;
        c.exec(
            "UPDATE notice_recipients SET ack_at = read_at + 60000 \
             WHERE notice_id = $1 AND read_at IS NOT NULL AND (seq * 37) % 100 < $2",
            params![id, s.ack],
        )?;
        if s.jumin_read
            && let Some(p) = jumin
        {
            c.exec(
                "UPDATE notice_recipients SET read_at = $1 WHERE notice_id = $2 AND person_id = $3 AND read_at IS NULL",
                params![at + HOUR, id, p],
            )?;
        }
        if s.told > 0 {
            let leader = users::exists(c, "zhiyuan")?.unwrap_or(author_id);
            let leader_name = users::by_id(c, leader)?
                .map(|u| u.display_name)
                .unwrap_or_default();
            c.exec(
                "UPDATE notice_recipients SET told_at = $1, told_how = CASE WHEN seq % 2 = 0 THEN 'in_person' ELSE 'paper' END, \
                 told_by = $2, told_by_name = $3 \
                 WHERE notice_id = $4 AND read_at IS NULL AND (seq * 53) % 100 < $5 AND COALESCE(person_id, 0) <> $6",
                params![at + s.hours_ago * HOUR / 2, leader, leader_name, id, s.told, skip],
            )?;
        }
        store::recount(c, id)?;
    }
    Ok(())
}
