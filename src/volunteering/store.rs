//! The volunteering area's tables besides the ledger: the street's settings, activities and
//! their sign-ups, the catalogue and its redemptions.

use serde::Serialize;
use utoipa::ToSchema;

use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

// ---- settings --------------------------------------------------------------------------------

/// A street's rules for points.
#[derive(Clone, Debug, Serialize, ToSchema, serde::Deserialize)]
#[schema(as = VolunteeringSettings)]
pub struct Settings {
    /// Points may pass between people.
    pub transfers: bool,
    /// Residents of an activity's community may sign up, not only volunteers.
    pub residents: bool,
}

pub fn settings(c: &mut dyn Conn, street_id: i64) -> Result<Settings> {
    Ok(c.query_opt(
        "SELECT transfers, residents FROM vol_settings WHERE street_id = $1",
        params![street_id],
    )?
    .map(|r| Settings {
        transfers: r.i64(0) == 1,
        residents: r.i64(1) == 1,
    })
    .unwrap_or(Settings {
        transfers: false,
        residents: true,
    }))
}

pub fn save_settings(c: &mut dyn Conn, street_id: i64, s: &Settings, now: i64) -> Result<()> {
    c.exec(
        "INSERT INTO vol_settings (street_id, transfers, residents, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (street_id) DO UPDATE SET transfers = $2, residents = $3, updated_at = $4",
        params![street_id, s.transfers as i64, s.residents as i64, now],
    )?;
    Ok(())
}

// ---- activities ------------------------------------------------------------------------------

/// An activity as stored (its check-in code is not in it: only its organisers see that).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringActivity)]
pub struct Activity {
    pub id: i64,
    pub street_id: i64,
    pub community_id: i64,
    pub community_path: String,
    /// Where: the community, a grid or a building of it.
    pub place_id: i64,
    pub place_path: String,
    pub title: String,
    /// Unix ms.
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    /// Skill codes wanted (call-ups' list); empty for any.
    pub skills: Vec<String>,
    /// Points per hour.
    pub rate: i64,
    /// `open` or `cancelled`.
    pub state: String,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: i64,
    #[serde(skip)]
    pub code: String,
}

const ACTIVITY: &str = "SELECT id, street_id, community_id, community_path, place_id, place_path, title, starts_at, \
     ends_at, capacity, skills, rate, state, created_by, created_by_name, created_at, code FROM vol_activities";

fn activity(r: &Row) -> Activity {
    Activity {
        id: r.i64(0),
        street_id: r.i64(1),
        community_id: r.i64(2),
        community_path: r.str(3),
        place_id: r.i64(4),
        place_path: r.str(5),
        title: r.str(6),
        starts_at: r.i64(7),
        ends_at: r.i64(8),
        capacity: r.i64(9),
        skills: crate::callups::store::split_skills(&r.str(10)),
        rate: r.i64(11),
        state: r.str(12),
        created_by: r.i64(13),
        created_by_name: r.str(14),
        created_at: r.i64(15),
        code: r.str(16),
    }
}

pub struct NewActivity<'a> {
    pub street_id: i64,
    pub community_id: i64,
    pub community_path: &'a str,
    pub place_id: i64,
    pub place_path: &'a str,
    pub title: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub skills: &'a [String],
    pub rate: i64,
    pub code: &'a str,
    pub created_by: i64,
    pub created_by_name: &'a str,
}

pub fn insert_activity(c: &mut dyn Conn, n: &NewActivity, now: i64) -> Result<i64> {
    c.query_i64(
        "INSERT INTO vol_activities (street_id, community_id, community_path, place_id, place_path, title, starts_at, \
         ends_at, capacity, skills, rate, code, state, created_by, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13, $14, $15) RETURNING id",
        params![
            n.street_id,
            n.community_id,
            n.community_path,
            n.place_id,
            n.place_path,
            n.title,
            n.starts_at,
            n.ends_at,
            n.capacity,
            crate::callups::store::join_skills(n.skills),
            n.rate,
            n.code,
            n.created_by,
            n.created_by_name,
            now
        ],
    )
}

pub fn activity_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Activity>> {
    Ok(
        c.query_opt(&format!("{ACTIVITY} WHERE id = $1"), params![id])?
            .as_ref()
            .map(activity),
    )
}

/// Queues sign-ups to one activity (PostgreSQL; SQLite has one writer anyway).
pub fn lock_activity(c: &mut dyn Conn, id: i64) -> Result<()> {
    c.exec(
        "UPDATE vol_activities SET lock_n = lock_n + 1 WHERE id = $1",
        params![id],
    )?;
    Ok(())
}

/// Activities whose `col` (`place_path` or `community_path`) lies under `paths`, soonest
/// first; `since` drops those that ended before it.
pub fn activities_under(
    c: &mut dyn Conn,
    col: &str,
    paths: &[String],
    since: i64,
    limit: i64,
) -> Result<Vec<Activity>> {
    let mut p: Vec<Val> = vec![Val::Int(since), Val::Int(limit)];
    let col = if col == "community_path" {
        "community_path"
    } else {
        "place_path"
    };
    let cond = under_paths(col, paths, 3, &mut p);
    Ok(c.query(
        &format!("{ACTIVITY} WHERE ends_at >= $1 AND {cond} ORDER BY starts_at, id LIMIT $2"),
        &p,
    )?
    .iter()
    .map(activity)
    .collect())
}

// ---- sign-ups --------------------------------------------------------------------------------

/// A sign-up as stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringSignup)]
pub struct Signup {
    pub id: i64,
    pub activity_id: i64,
    pub user_id: i64,
    /// `booked`, `waiting` or `cancelled`.
    pub state: String,
    pub signed_at: i64,
    pub checked_in_at: Option<i64>,
    pub checked_out_at: Option<i64>,
    /// Minutes of service counted at check-out.
    pub minutes: i64,
    /// Points earned at check-out.
    pub points: i64,
    /// The earning transaction.
    pub txn_id: Option<i64>,
    #[serde(skip)]
    pub code_fails: i64,
}

const SIGNUP: &str = "SELECT id, activity_id, user_id, state, signed_at, checked_in_at, checked_out_at, minutes, \
     points, txn_id, code_fails FROM vol_signups";

fn signup(r: &Row) -> Signup {
    Signup {
        id: r.i64(0),
        activity_id: r.i64(1),
        user_id: r.i64(2),
        state: r.str(3),
        signed_at: r.i64(4),
        checked_in_at: r.opt_i64(5),
        checked_out_at: r.opt_i64(6),
        minutes: r.i64(7),
        points: r.i64(8),
        txn_id: r.opt_i64(9),
        code_fails: r.i64(10),
    }
}

pub fn signups(c: &mut dyn Conn, activity_id: i64) -> Result<Vec<Signup>> {
    Ok(c.query(
        &format!("{SIGNUP} WHERE activity_id = $1 ORDER BY signed_at, id"),
        params![activity_id],
    )?
    .iter()
    .map(signup)
    .collect())
}

pub fn signup_of(c: &mut dyn Conn, activity_id: i64, user_id: i64) -> Result<Option<Signup>> {
    Ok(c.query_opt(
        &format!("{SIGNUP} WHERE activity_id = $1 AND user_id = $2"),
        params![activity_id, user_id],
    )?
    .as_ref()
    .map(signup))
}

pub fn signup_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Signup>> {
    Ok(
        c.query_opt(&format!("{SIGNUP} WHERE id = $1"), params![id])?
            .as_ref()
            .map(signup),
    )
}

/// A person's sign-ups (not cancelled), newest activity first.
pub fn signups_of_user(c: &mut dyn Conn, user_id: i64, limit: i64) -> Result<Vec<Signup>> {
    Ok(c.query(
        &format!(
            "{SIGNUP} WHERE user_id = $1 AND state <> 'cancelled' ORDER BY activity_id DESC LIMIT $2"
        ),
        params![user_id, limit],
    )?
    .iter()
    .map(signup)
    .collect())
}

/// Counts by state of an activity: `(booked, waiting)`.
pub fn counts(c: &mut dyn Conn, activity_id: i64) -> Result<(i64, i64)> {
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(CASE WHEN state = 'booked' THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN state = 'waiting' THEN 1 ELSE 0 END), 0) AS BIGINT) \
         FROM vol_signups WHERE activity_id = $1",
        params![activity_id],
    )?;
    Ok((r.i64(0), r.i64(1)))
}

/// Writes a sign-up (or renews a cancelled one) in `state`.
pub fn sign_up(
    c: &mut dyn Conn,
    activity_id: i64,
    street_id: i64,
    user_id: i64,
    state: &str,
    now: i64,
) -> Result<i64> {
    if let Some(s) = signup_of(c, activity_id, user_id)? {
        c.exec(
            "UPDATE vol_signups SET state = $2, signed_at = $3 WHERE id = $1",
            params![s.id, state, now],
        )?;
        return Ok(s.id);
    }
    c.query_i64(
        "INSERT INTO vol_signups (activity_id, street_id, user_id, state, signed_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![activity_id, street_id, user_id, state, now],
    )
}

pub fn set_state(c: &mut dyn Conn, id: i64, state: &str) -> Result<()> {
    c.exec(
        "UPDATE vol_signups SET state = $2 WHERE id = $1",
        params![id, state],
    )?;
    Ok(())
}

/// The first on the waiting list of an activity.
pub fn first_waiting(c: &mut dyn Conn, activity_id: i64) -> Result<Option<Signup>> {
    Ok(c.query_opt(
        &format!(
            "{SIGNUP} WHERE activity_id = $1 AND state = 'waiting' ORDER BY signed_at, id LIMIT 1"
        ),
        params![activity_id],
    )?
    .as_ref()
    .map(signup))
}

/// Checks a booked person in; whether she was booked and not yet in.
pub fn check_in(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE vol_signups SET checked_in_at = $2 WHERE id = $1 AND state = 'booked' AND checked_in_at IS NULL",
        params![id, now],
    )? == 1)
}

/// Checks a person out with her minutes and points; whether she was in and not yet out.
pub fn check_out(
    c: &mut dyn Conn,
    id: i64,
    now: i64,
    minutes: i64,
    points: i64,
    txn: Option<i64>,
) -> Result<bool> {
    Ok(c.exec(
        "UPDATE vol_signups SET checked_out_at = $2, minutes = $3, points = $4, txn_id = $5 \
         WHERE id = $1 AND checked_in_at IS NOT NULL AND checked_out_at IS NULL",
        params![id, now, minutes, points, txn],
    )? == 1)
}

pub fn code_failed(c: &mut dyn Conn, id: i64) -> Result<()> {
    c.exec(
        "UPDATE vol_signups SET code_fails = code_fails + 1 WHERE id = $1",
        params![id],
    )?;
    Ok(())
}

/// A person's service within `[from, to)`: her checked-out sign-ups with their activities.
pub fn served(
    c: &mut dyn Conn,
    user_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<(Signup, Activity)>> {
    let list: Vec<Signup> = c
        .query(
            &format!(
                "{SIGNUP} WHERE user_id = $1 AND checked_out_at IS NOT NULL AND checked_out_at >= $2 AND checked_out_at < $3 \
                 ORDER BY checked_out_at"
            ),
            params![user_id, from, to],
        )?
        .iter()
        .map(signup)
        .collect();
    let mut out = Vec::new();
    for s in list {
        if let Some(a) = activity_by_id(c, s.activity_id)? {
            out.push((s, a));
        }
    }
    Ok(out)
}

/// Minutes of service per person within `[from, to)` at activities whose place lies under
/// `paths` (checked out then).
pub fn minutes_by_user(
    c: &mut dyn Conn,
    paths: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<(i64, i64)>> {
    let mut p: Vec<Val> = vec![Val::Int(from), Val::Int(to)];
    let cond = under_paths("a.place_path", paths, 3, &mut p);
    Ok(c.query(
        &format!(
            "SELECT s.user_id, CAST(SUM(s.minutes) AS BIGINT) FROM vol_signups s JOIN vol_activities a ON a.id = s.activity_id \
             WHERE s.checked_out_at IS NOT NULL AND s.checked_out_at >= $1 AND s.checked_out_at < $2 AND {cond} \
             GROUP BY s.user_id"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

// ---- the catalogue ---------------------------------------------------------------------------

/// An item offered for points.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringItem)]
pub struct Item {
    pub id: i64,
    pub street_id: i64,
    pub community_id: i64,
    pub community_path: String,
    /// `committee` (the community's own) or `shop` (an organisation's).
    pub offer: String,
    pub org_id: Option<i64>,
    pub title: String,
    pub note: String,
    /// Points per piece.
    pub cost: i64,
    pub stock: i64,
    pub created_by: i64,
    pub created_at: i64,
}

const ITEM: &str = "SELECT id, street_id, community_id, community_path, offer, org_id, title, note, cost, stock, \
     created_by, created_at FROM vol_items";

fn item(r: &Row) -> Item {
    Item {
        id: r.i64(0),
        street_id: r.i64(1),
        community_id: r.i64(2),
        community_path: r.str(3),
        offer: r.str(4),
        org_id: r.opt_i64(5),
        title: r.str(6),
        note: r.str(7),
        cost: r.i64(8),
        stock: r.i64(9),
        created_by: r.i64(10),
        created_at: r.i64(11),
    }
}

pub struct NewItem<'a> {
    pub street_id: i64,
    pub community_id: i64,
    pub community_path: &'a str,
    pub offer: &'a str,
    pub org_id: Option<i64>,
    pub title: &'a str,
    pub note: &'a str,
    pub cost: i64,
    pub stock: i64,
    pub created_by: i64,
}

pub fn insert_item(c: &mut dyn Conn, n: &NewItem, now: i64) -> Result<i64> {
    c.query_i64(
        "INSERT INTO vol_items (street_id, community_id, community_path, offer, org_id, title, note, cost, stock, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        params![
            n.street_id,
            n.community_id,
            n.community_path,
            n.offer,
            n.org_id,
            n.title,
            n.note,
            n.cost,
            n.stock,
            n.created_by,
            now
        ],
    )
}

pub fn item_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Item>> {
    Ok(c.query_opt(&format!("{ITEM} WHERE id = $1"), params![id])?
        .as_ref()
        .map(item))
}

/// The items of communities under `paths`, by title.
pub fn items_under(c: &mut dyn Conn, paths: &[String], limit: i64) -> Result<Vec<Item>> {
    let mut p: Vec<Val> = vec![Val::Int(limit)];
    let cond = under_paths("community_path", paths, 2, &mut p);
    Ok(c.query(
        &format!("{ITEM} WHERE {cond} ORDER BY community_path, title, id LIMIT $1"),
        &p,
    )?
    .iter()
    .map(item)
    .collect())
}

/// Takes one piece from the stock; whether there was one. The condition is part of the
/// update, so of two transactions taking the last piece exactly one succeeds (PostgreSQL
/// re-reads the row after the first commits; SQLite has one writer).
pub fn take_one(c: &mut dyn Conn, id: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE vol_items SET stock = stock - 1 WHERE id = $1 AND stock > 0",
        params![id],
    )? == 1)
}

/// Adds `added` pieces to an item's stock, no more than `max` in all; the stock after, or
/// `None` when it would pass `max` (nothing changed).
pub fn restock(c: &mut dyn Conn, id: i64, added: i64, max: i64) -> Result<Option<i64>> {
    if c.exec(
        "UPDATE vol_items SET stock = stock + $2 WHERE id = $1 AND stock + $2 <= $3",
        params![id, added, max],
    )? != 1
    {
        return Ok(None);
    }
    Ok(Some(c.query_i64(
        "SELECT stock FROM vol_items WHERE id = $1",
        params![id],
    )?))
}

/// A restock of a catalogue item, as logged.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringRestock)]
pub struct Restock {
    pub id: i64,
    pub item_id: i64,
    pub added: i64,
    pub stock_after: i64,
    pub note: String,
    pub by_name: String,
    pub at: i64,
}

pub struct NewRestock<'a> {
    pub street_id: i64,
    pub item_id: i64,
    pub added: i64,
    pub stock_after: i64,
    pub note: &'a str,
    pub by_user: i64,
    pub by_name: &'a str,
}

/// Logs a restock.
pub fn insert_restock(c: &mut dyn Conn, n: &NewRestock<'_>, now: i64) -> Result<i64> {
    c.query_i64(
        "INSERT INTO vol_restocks (street_id, item_id, added, stock_after, note, by_user, by_name, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        params![
            n.street_id,
            n.item_id,
            n.added,
            n.stock_after,
            n.note,
            n.by_user,
            n.by_name,
            now
        ],
    )
}

/// An item's restocks, newest first.
pub fn restocks(c: &mut dyn Conn, item_id: i64, limit: i64) -> Result<Vec<Restock>> {
    Ok(c.query(
        "SELECT id, item_id, added, stock_after, note, by_name, at FROM vol_restocks \
         WHERE item_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        params![item_id, limit],
    )?
    .iter()
    .map(|r| Restock {
        id: r.i64(0),
        item_id: r.i64(1),
        added: r.i64(2),
        stock_after: r.i64(3),
        note: r.str(4),
        by_name: r.str(5),
        at: r.i64(6),
    })
    .collect())
}

// ---- redemptions -----------------------------------------------------------------------------

/// A redemption: the code the holder shows, and whether the offerer confirmed it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringRedemption)]
pub struct Redemption {
    pub id: i64,
    pub street_id: i64,
    pub item_id: i64,
    pub user_id: i64,
    pub code: String,
    pub cost: i64,
    pub txn_id: i64,
    /// `issued` or `confirmed`.
    pub state: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
}

const REDEMPTION: &str = "SELECT id, street_id, item_id, user_id, code, cost, txn_id, state, created_at, confirmed_at \
     FROM vol_redemptions";

fn redemption(r: &Row) -> Redemption {
    Redemption {
        id: r.i64(0),
        street_id: r.i64(1),
        item_id: r.i64(2),
        user_id: r.i64(3),
        code: r.str(4),
        cost: r.i64(5),
        txn_id: r.i64(6),
        state: r.str(7),
        created_at: r.i64(8),
        confirmed_at: r.opt_i64(9),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_redemption(
    c: &mut dyn Conn,
    street_id: i64,
    item_id: i64,
    user_id: i64,
    code: &str,
    cost: i64,
    txn_id: i64,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO vol_redemptions (street_id, item_id, user_id, code, cost, txn_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'issued', $7) RETURNING id",
        params![street_id, item_id, user_id, code, cost, txn_id, now],
    )
}

pub fn redemption_by_code(
    c: &mut dyn Conn,
    street_id: i64,
    code: &str,
) -> Result<Option<Redemption>> {
    Ok(c.query_opt(
        &format!("{REDEMPTION} WHERE street_id = $1 AND code = $2"),
        params![street_id, code],
    )?
    .as_ref()
    .map(redemption))
}

pub fn redemption_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Redemption>> {
    Ok(
        c.query_opt(&format!("{REDEMPTION} WHERE id = $1"), params![id])?
            .as_ref()
            .map(redemption),
    )
}

pub fn redemptions_of(c: &mut dyn Conn, user_id: i64, limit: i64) -> Result<Vec<Redemption>> {
    Ok(c.query(
        &format!("{REDEMPTION} WHERE user_id = $1 ORDER BY id DESC LIMIT $2"),
        params![user_id, limit],
    )?
    .iter()
    .map(redemption)
    .collect())
}

/// Confirms an issued redemption; whether it was issued.
pub fn confirm(c: &mut dyn Conn, id: i64, by: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE vol_redemptions SET state = 'confirmed', confirmed_at = $2, confirmed_by = $3 WHERE id = $1 AND state = 'issued'",
        params![id, now, by],
    )? == 1)
}

/// Marks a redemption whose spending was reversed, and puts its piece back on the shelf.
pub fn cancel_by_txn(c: &mut dyn Conn, txn_id: i64) -> Result<()> {
    if let Some(r) = c.query_opt(
        "SELECT id, item_id FROM vol_redemptions WHERE txn_id = $1 AND state = 'issued'",
        params![txn_id],
    )? {
        c.exec(
            "UPDATE vol_redemptions SET state = 'reversed' WHERE id = $1",
            params![r.i64(0)],
        )?;
        c.exec(
            "UPDATE vol_items SET stock = stock + 1 WHERE id = $1",
            params![r.i64(1)],
        )?;
    }
    Ok(())
}
