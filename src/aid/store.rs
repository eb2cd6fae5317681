//! Mutual aid's tables: posts, conversations and their messages, blocks and reports; and
//! the places a resident's home lies under (communities and buildings, with their points).

use std::collections::HashMap;

use super::model::{Conversation, Direction, Kind, Message, Post, State};
use crate::params;
use crate::store::{Conn, Result, Row, Val};

/// A place above a resident's flat.
#[derive(Clone, Debug)]
pub struct Above {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub street_id: i64,
}

/// The places at these paths (a flat's ancestors), shallowest first.
pub fn places_at(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<Above>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=paths.len()).map(|i| format!("${i}")).collect();
    let vals: Vec<Val> = paths.iter().map(|p| Val::Text(p.clone())).collect();
    Ok(c.query(
        &format!(
            "SELECT id, kind, name, path, COALESCE(street_id, id) FROM places WHERE path IN ({}) ORDER BY depth",
            marks.join(", ")
        ),
        &vals,
    )?
    .iter()
    .map(|r| Above {
        id: r.i64(0),
        kind: r.str(1),
        name: r.str(2),
        path: r.str(3),
        street_id: r.i64(4),
    })
    .collect())
}

/// A building's name and point `(lat, lon)`, when it is on the map.
pub type Building = (String, Option<(f64, f64)>);

/// Buildings' names and points, by id.
pub fn buildings(c: &mut dyn Conn, ids: &[i64]) -> Result<HashMap<i64, Building>> {
    let mut out = HashMap::new();
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let vals: Vec<Val> = chunk.iter().map(|i| Val::Int(*i)).collect();
        for r in c.query(
            &format!(
                "SELECT id, name, geojson FROM places WHERE id IN ({})",
                marks.join(", ")
            ),
            &vals,
        )? {
            let point = r
                .opt_str(2)
                .and_then(|g| crate::org::geometry::Shape::parse(&g))
                .and_then(|s| s.centre());
            out.insert(r.i64(0), (r.str(1), point));
        }
    }
    Ok(out)
}

pub struct NewPost<'a> {
    pub street_id: i64,
    pub community_id: i64,
    pub community_path: &'a str,
    pub building_id: Option<i64>,
    pub poster_person: i64,
    pub poster_user: Option<i64>,
    pub poster_label: &'a str,
    pub direction: Direction,
    pub kind: Kind,
    pub title: &'a str,
    pub body: &'a str,
    pub return_on: Option<String>,
    pub expiry_on: Option<String>,
    pub expires_at: i64,
    pub now: i64,
}

pub fn insert_post(c: &mut dyn Conn, n: &NewPost<'_>) -> Result<i64> {
    let opt = |s: &Option<String>| s.clone().map(Val::Text).unwrap_or(Val::Null);
    c.query_i64(
        "INSERT INTO aid_posts (street_id, community_id, community_path, building_id, poster_person, poster_user, \
         poster_label, direction, kind, title, body, return_on, expiry_on, state, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'open', $14, $15, $15) RETURNING id",
        params![
            n.street_id,
            n.community_id,
            n.community_path,
            n.building_id.map(Val::Int).unwrap_or(Val::Null),
            n.poster_person,
            n.poster_user.map(Val::Int).unwrap_or(Val::Null),
            n.poster_label,
            n.direction.as_str(),
            n.kind.as_str(),
            n.title,
            n.body,
            opt(&n.return_on),
            opt(&n.expiry_on),
            n.expires_at,
            n.now
        ],
    )
}

const POST: &str = "SELECT id, street_id, community_id, community_path, building_id, poster_person, poster_user, \
     poster_label, direction, kind, title, body, return_on, expiry_on, state, expires_at, responder_person, \
     responder_user, responder_label, poster_done_at, responder_done_at, reports, hidden_reason, created_at \
     FROM aid_posts";

fn post(r: &Row, now: i64) -> Post {
    let stored = r.str(14);
    Post {
        id: r.i64(0),
        street_id: r.i64(1),
        community_id: r.i64(2),
        community_path: r.str(3),
        building_id: r.opt_i64(4),
        poster_person: r.i64(5),
        poster_user: r.opt_i64(6),
        poster: r.str(7),
        direction: Direction::parse(&r.str(8)).unwrap_or(Direction::Offer),
        kind: Kind::parse(&r.str(9)).unwrap_or(Kind::Goods),
        title: r.str(10),
        body: r.str(11),
        return_on: r.opt_str(12),
        expiry_on: r.opt_str(13),
        state: State::at(&stored, r.i64(15), now),
        stored_state: stored,
        expires_at: r.i64(15),
        responder_person: r.opt_i64(16),
        responder_user: r.opt_i64(17),
        responder: r.opt_str(18),
        poster_done: r.opt_i64(19).is_some(),
        responder_done: r.opt_i64(20).is_some(),
        reports: r.i64(21),
        hidden_reason: r.opt_str(22),
        created_at: r.i64(23),
        building: None,
        distance_m: None,
        fits: false,
        warning: None,
    }
}

pub fn get(c: &mut dyn Conn, id: i64, now: i64) -> Result<Option<Post>> {
    Ok(c.query_opt(&format!("{POST} WHERE id = $1"), params![id])?
        .map(|r| post(&r, now)))
}

/// Locks a post's row for a change (PostgreSQL queues concurrent changes; SQLite has one
/// writer) and reads it.
pub fn get_for_change(c: &mut dyn Conn, id: i64, now: i64) -> Result<Option<Post>> {
    c.exec(
        "UPDATE aid_posts SET updated_at = updated_at WHERE id = $1",
        params![id],
    )?;
    get(c, id, now)
}

/// A community's open posts, not past their time, newest first.
pub fn open_in(c: &mut dyn Conn, community: i64, now: i64, limit: i64) -> Result<Vec<Post>> {
    Ok(c.query(
        &format!(
            "{POST} WHERE community_id = $1 AND state = 'open' AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ),
        params![community, now, limit],
    )?
    .iter()
    .map(|r| post(r, now))
    .collect())
}

/// A resident's own posts and those she was chosen for, newest first.
pub fn of_person(c: &mut dyn Conn, person: i64, now: i64, limit: i64) -> Result<Vec<Post>> {
    Ok(c.query(
        &format!(
            "{POST} WHERE poster_person = $1 OR responder_person = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ),
        params![person, limit],
    )?
    .iter()
    .map(|r| post(r, now))
    .collect())
}

/// The posts of communities under these paths (a worker's), reported first, newest first.
pub fn in_places(c: &mut dyn Conn, paths: &[String], now: i64, limit: i64) -> Result<Vec<Post>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = vec![Val::Int(limit)];
    let cond = crate::store::under_paths("community_path", paths, 2, &mut p);
    Ok(c.query(
        &format!(
            "{POST} WHERE {cond} ORDER BY CASE WHEN reports > 0 AND state <> 'hidden' THEN 0 ELSE 1 END, \
             created_at DESC, id DESC LIMIT $1"
        ),
        &p,
    )?
    .iter()
    .map(|r| post(r, now))
    .collect())
}

pub fn set_matched(c: &mut dyn Conn, id: i64, conv: &Conversation, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE aid_posts SET state = 'matched', responder_person = $2, responder_user = $3, responder_label = $4, \
         updated_at = $5 WHERE id = $1 AND state = 'open'",
        params![
            id,
            conv.responder_person,
            conv.responder_user.map(Val::Int).unwrap_or(Val::Null),
            conv.responder.clone(),
            now
        ],
    )
}

/// Marks a party's "done"; the post is done when both have.
pub fn mark_done(c: &mut dyn Conn, id: i64, poster: bool, now: i64) -> Result<()> {
    let col = if poster {
        "poster_done_at"
    } else {
        "responder_done_at"
    };
    c.exec(
        &format!("UPDATE aid_posts SET {col} = COALESCE({col}, $2), updated_at = $2 WHERE id = $1"),
        params![id, now],
    )?;
    c.exec(
        "UPDATE aid_posts SET state = 'done' WHERE id = $1 AND state = 'matched' \
         AND poster_done_at IS NOT NULL AND responder_done_at IS NOT NULL",
        params![id],
    )?;
    Ok(())
}

pub fn set_state(c: &mut dyn Conn, id: i64, state: State, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE aid_posts SET state = $2, updated_at = $3 WHERE id = $1",
        params![id, state.as_str(), now],
    )
}

pub fn hide(c: &mut dyn Conn, id: i64, by: i64, reason: &str, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE aid_posts SET hidden_from = state, state = 'hidden', hidden_reason = $2, hidden_by = $3, hidden_at = $4, \
         updated_at = $4 WHERE id = $1 AND state <> 'hidden'",
        params![id, reason, by, now],
    )
}

/// Puts a hidden post back in the state it was hidden from, with the reason; whether it was
/// hidden.
pub fn restore(c: &mut dyn Conn, id: i64, by: i64, reason: &str, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE aid_posts SET state = COALESCE(hidden_from, 'open'), hidden_from = NULL, hidden_reason = NULL, \
         restored_reason = $2, restored_by = $3, restored_at = $4, updated_at = $4 WHERE id = $1 AND state = 'hidden'",
        params![id, reason, by, now],
    )? > 0)
}

/// Open posts past their time, not yet marked (at most `limit`).
pub fn due_to_expire(c: &mut dyn Conn, now: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT id FROM aid_posts WHERE state = 'open' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
        params![now, limit],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Marks an open post past its time expired; whether this call marked it (so that two
/// instances on one database tell its poster once), and whether it was never marked before
/// (a restored post marked again is not told twice).
pub fn mark_expired(c: &mut dyn Conn, id: i64, now: i64) -> Result<Option<bool>> {
    let first = c
        .query_opt(
            "SELECT expired_at FROM aid_posts WHERE id = $1",
            params![id],
        )?
        .map(|r| r.opt_i64(0).is_none())
        .unwrap_or(false);
    let n = c.exec(
        "UPDATE aid_posts SET state = 'expired', expired_at = COALESCE(expired_at, $2), updated_at = $2 \
         WHERE id = $1 AND state = 'open' AND expires_at <= $2",
        params![id, now],
    )?;
    Ok((n > 0).then_some(first))
}

/// Whether a resident reported a post.
pub fn reported_by(c: &mut dyn Conn, post: i64, person: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM aid_reports WHERE post_id = $1 AND reporter_person = $2",
        params![post, person],
    )?
    .is_some())
}

/// Takes a resident's report of a post back; whether there was one.
pub fn unreport(c: &mut dyn Conn, post: i64, person: i64) -> Result<bool> {
    let n = c.exec(
        "DELETE FROM aid_reports WHERE post_id = $1 AND reporter_person = $2",
        params![post, person],
    )?;
    if n > 0 {
        c.exec(
            "UPDATE aid_posts SET reports = reports - 1 WHERE id = $1 AND reports > 0",
            params![post],
        )?;
    }
    Ok(n > 0)
}

/// Keeps a resident's report of a post (once per resident); whether it is new.
pub fn report(
    c: &mut dyn Conn,
    street: i64,
    post: i64,
    person: i64,
    reason: &str,
    now: i64,
) -> Result<bool> {
    let n = c.exec(
        "INSERT INTO aid_reports (street_id, post_id, reporter_person, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (post_id, reporter_person) DO NOTHING",
        params![street, post, person, reason, now],
    )?;
    if n > 0 {
        c.exec(
            "UPDATE aid_posts SET reports = reports + 1 WHERE id = $1",
            params![post],
        )?;
    }
    Ok(n > 0)
}

/// The reasons residents gave when reporting a post, newest first.
pub fn report_reasons(c: &mut dyn Conn, post: i64) -> Result<Vec<(String, i64)>> {
    Ok(c.query(
        "SELECT reason, created_at FROM aid_reports WHERE post_id = $1 ORDER BY created_at DESC, id DESC",
        params![post],
    )?
    .iter()
    .map(|r| (r.str(0), r.i64(1)))
    .collect())
}

const CONV: &str = "SELECT v.id, v.post_id, v.street_id, v.responder_person, v.responder_user, v.responder_label, \
     p.title, p.poster_label, v.last_at, p.poster_person FROM aid_conversations v JOIN aid_posts p ON p.id = v.post_id";

/// A conversation as `reader` sees it (the other party named, her unread count filled later).
fn conv(r: &Row, reader: i64) -> Conversation {
    let poster_person = r.i64(9);
    let responder = r.str(5);
    Conversation {
        id: r.i64(0),
        post_id: r.i64(1),
        street_id: r.i64(2),
        responder_person: r.i64(3),
        responder_user: r.opt_i64(4),
        title: r.str(6),
        with: if reader == poster_person {
            responder.clone()
        } else {
            r.str(7)
        },
        responder,
        unread: 0,
        last_at: r.i64(8),
    }
}

pub fn conversation(c: &mut dyn Conn, id: i64, reader: i64) -> Result<Option<Conversation>> {
    Ok(
        c.query_opt(&format!("{CONV} WHERE v.id = $1"), params![id])?
            .map(|r| conv(&r, reader)),
    )
}

pub fn conversation_of(
    c: &mut dyn Conn,
    post: i64,
    responder: i64,
) -> Result<Option<Conversation>> {
    Ok(c.query_opt(
        &format!("{CONV} WHERE v.post_id = $1 AND v.responder_person = $2"),
        params![post, responder],
    )?
    .map(|r| conv(&r, responder)))
}

/// A post's conversations, latest first, as `reader` sees them.
pub fn conversations_of_post(
    c: &mut dyn Conn,
    post: i64,
    reader: i64,
) -> Result<Vec<Conversation>> {
    let mut out: Vec<Conversation> = c
        .query(
            &format!("{CONV} WHERE v.post_id = $1 ORDER BY v.last_at DESC, v.id DESC"),
            params![post],
        )?
        .iter()
        .map(|r| conv(r, reader))
        .collect();
    fill_unread(c, &mut out, reader)?;
    Ok(out)
}

/// The conversations a resident is a party to, latest first.
pub fn conversations_for(c: &mut dyn Conn, person: i64, limit: i64) -> Result<Vec<Conversation>> {
    let mut out: Vec<Conversation> = c
        .query(
            &format!(
                "{CONV} WHERE v.responder_person = $1 OR p.poster_person = $1 \
                 ORDER BY v.last_at DESC, v.id DESC LIMIT $2"
            ),
            params![person, limit],
        )?
        .iter()
        .map(|r| conv(r, person))
        .collect();
    fill_unread(c, &mut out, person)?;
    Ok(out)
}

pub fn fill_unread(c: &mut dyn Conn, list: &mut [Conversation], reader: i64) -> Result<()> {
    for v in list.iter_mut() {
        v.unread = c.query_i64(
            "SELECT COUNT(*) FROM aid_messages WHERE conversation_id = $1 AND sender_person <> $2 AND read_at IS NULL",
            params![v.id, reader],
        )?;
    }
    Ok(())
}

/// Messages to a resident she has not read, in all her conversations.
pub fn unread_for(c: &mut dyn Conn, person: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM aid_messages m JOIN aid_conversations v ON v.id = m.conversation_id \
         JOIN aid_posts p ON p.id = v.post_id \
         WHERE (v.responder_person = $1 OR p.poster_person = $1) AND m.sender_person <> $1 AND m.read_at IS NULL",
        params![person],
    )
}

pub fn insert_conversation(
    c: &mut dyn Conn,
    street: i64,
    post: i64,
    responder: (i64, Option<i64>, &str),
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO aid_conversations (street_id, post_id, responder_person, responder_user, responder_label, \
         created_at, last_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        params![
            street,
            post,
            responder.0,
            responder.1.map(Val::Int).unwrap_or(Val::Null),
            responder.2,
            now
        ],
    )
}

pub fn insert_message(
    c: &mut dyn Conn,
    street: i64,
    conversation: i64,
    sender: i64,
    body: &str,
    now: i64,
) -> Result<i64> {
    let id = c.query_i64(
        "INSERT INTO aid_messages (street_id, conversation_id, sender_person, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        params![street, conversation, sender, body, now],
    )?;
    c.exec(
        "UPDATE aid_conversations SET last_at = $2 WHERE id = $1",
        params![conversation, now],
    )?;
    Ok(id)
}

/// A conversation's messages, oldest first, named as `reader` sees them.
pub fn messages(
    c: &mut dyn Conn,
    v: &Conversation,
    poster_label: &str,
    reader: i64,
) -> Result<Vec<Message>> {
    Ok(c.query(
        "SELECT id, sender_person, body, created_at FROM aid_messages WHERE conversation_id = $1 ORDER BY id",
        params![v.id],
    )?
    .iter()
    .map(|r| {
        let sender = r.i64(1);
        Message {
            id: r.i64(0),
            sender_person: sender,
            mine: sender == reader,
            from: if sender == v.responder_person {
                v.responder.clone()
            } else {
                poster_label.to_string()
            },
            body: r.str(2),
            created_at: r.i64(3),
        }
    })
    .collect())
}

/// The reader has read what the other party wrote.
pub fn mark_read(c: &mut dyn Conn, conversation: i64, reader: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE aid_messages SET read_at = $3 WHERE conversation_id = $1 AND sender_person <> $2 AND read_at IS NULL",
        params![conversation, reader, now],
    )
}

/// Whether either of two residents blocked the other.
pub fn blocked_between(c: &mut dyn Conn, a: i64, b: i64) -> Result<bool> {
    Ok(c.query_i64(
        "SELECT COUNT(*) FROM aid_blocks WHERE (blocker_person = $1 AND blocked_person = $2) \
         OR (blocker_person = $2 AND blocked_person = $1)",
        params![a, b],
    )? > 0)
}

/// The residents a resident blocked or was blocked by.
pub fn blocks_around(c: &mut dyn Conn, person: i64) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT blocked_person FROM aid_blocks WHERE blocker_person = $1 \
         UNION SELECT blocker_person FROM aid_blocks WHERE blocked_person = $1",
        params![person],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// Whether `blocker` blocked `blocked`.
pub fn has_blocked(c: &mut dyn Conn, blocker: i64, blocked: i64) -> Result<bool> {
    Ok(c.query_i64(
        "SELECT COUNT(*) FROM aid_blocks WHERE blocker_person = $1 AND blocked_person = $2",
        params![blocker, blocked],
    )? > 0)
}

pub fn block(c: &mut dyn Conn, street: i64, blocker: i64, blocked: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "INSERT INTO aid_blocks (street_id, blocker_person, blocked_person, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (blocker_person, blocked_person) DO NOTHING",
        params![street, blocker, blocked, now],
    )? > 0)
}

/// Lifts `blocker`'s block of `blocked` (a block by the other stays); whether there was one.
pub fn unblock(c: &mut dyn Conn, blocker: i64, blocked: i64) -> Result<bool> {
    Ok(c.exec(
        "DELETE FROM aid_blocks WHERE blocker_person = $1 AND blocked_person = $2",
        params![blocker, blocked],
    )? > 0)
}

/// A community moved in the hierarchy: posts keep a copy of its path (`org::hooks`).
pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    crate::org::hooks::repath_column(c, "aid_posts", "community_path", old, new)
}
