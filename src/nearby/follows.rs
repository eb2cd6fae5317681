//! What residents follow, and the messages a case's steps send them. A resident follows a
//! report (her own without asking) or an area (a community or a grid) and a category; each
//! step that matters to the public (accepted, dispatched, resolved, closed, reopened, an update
//! from the reporter …) writes a message through `reach::tell` in the step's own transaction,
//! on the channels she chose. Every message carries a link signed over the follow's nonce
//! with the street's secret (HMAC-SHA256): it shows the report and unfollows without signing
//! in; altered, it is refused; following again makes a fresh nonce, so old links stop working.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

use crate::cases::hooks::Stepped;
use crate::cases::public::PublicReport;
use crate::kernel::i18n::Lang;
use crate::params;
use crate::store::{Conn, Result};

/// One thing a resident follows.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyFollow)]
pub struct Follow {
    pub id: i64,
    /// `case` (a report) or `area` (a community or grid, and a category).
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_id: Option<i64>,
    /// The category's code; empty for every category.
    pub category: String,
    /// Followed without asking (her own report).
    pub auto: bool,
    pub active: bool,
    pub created_at: i64,
    #[serde(skip)]
    pub street_id: i64,
    #[serde(skip)]
    pub user_id: i64,
    #[serde(skip)]
    pub area_path: String,
    #[serde(skip)]
    pub nonce: String,
}

const COLS: &str = "id, kind, case_id, area_id, category, auto, active, created_at, street_id, \
                    user_id, area_path, nonce";

fn from_row(r: &crate::store::Row) -> Follow {
    Follow {
        id: r.i64(0),
        kind: r.str(1),
        case_id: r.opt_i64(2),
        area_id: r.opt_i64(3),
        category: r.str(4),
        auto: r.i64(5) == 1,
        active: r.i64(6) == 1,
        created_at: r.i64(7),
        street_id: r.i64(8),
        user_id: r.i64(9),
        area_path: r.str(10),
        nonce: r.str(11),
    }
}

fn nonce() -> String {
    crate::kernel::ids::random_token("")[..22].to_string()
}

/// A user's follow of a case, if there is one (active or not).
pub fn of_case(c: &mut dyn Conn, case_id: i64, user: i64) -> Result<Option<Follow>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM nearby_follows WHERE kind = 'case' AND case_id = $1 AND user_id = $2"),
        params![case_id, user],
    )?
    .as_ref()
    .map(from_row))
}

pub fn by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Follow>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM nearby_follows WHERE id = $1"),
        params![id],
    )?
    .as_ref()
    .map(from_row))
}

/// A user's follows, active ones first, newest first.
pub fn of_user(c: &mut dyn Conn, user: i64) -> Result<Vec<Follow>> {
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM nearby_follows WHERE user_id = $1 AND active = 1 ORDER BY id DESC LIMIT 500"
        ),
        params![user],
    )?
    .iter()
    .map(from_row)
    .collect())
}

/// Follows a case (again, with a fresh nonce when it was followed before); returns it.
pub fn follow_case(
    c: &mut dyn Conn,
    street: i64,
    user: i64,
    case_id: i64,
    auto: bool,
    now: i64,
) -> Result<Follow> {
    match of_case(c, case_id, user)? {
        Some(f) if f.active => return Ok(f),
        Some(f) => {
            c.exec(
                "UPDATE nearby_follows SET active = 1, nonce = $2, ended_at = NULL WHERE id = $1",
                params![f.id, nonce()],
            )?;
        }
        None => {
            c.exec(
                "INSERT INTO nearby_follows (street_id, user_id, kind, case_id, auto, active, nonce, created_at) \
                 VALUES ($1, $2, 'case', $3, $4, 1, $5, $6) ON CONFLICT DO NOTHING",
                params![street, user, case_id, auto, nonce(), now],
            )?;
        }
    }
    of_case(c, case_id, user)?.ok_or_else(|| crate::store::StoreError::Db("follow lost".into()))
}

/// Follows an area (a community or grid) and a category ('' for every one).
pub fn follow_area(
    c: &mut dyn Conn,
    street: i64,
    user: i64,
    area: (i64, &str),
    category: &str,
    now: i64,
) -> Result<Follow> {
    let found = c.query_opt(
        &format!("SELECT {COLS} FROM nearby_follows WHERE kind = 'area' AND user_id = $1 AND area_id = $2 AND category = $3"),
        params![user, area.0, category],
    )?;
    let id = match found.as_ref().map(from_row) {
        Some(f) if f.active => return Ok(f),
        Some(f) => {
            c.exec(
                "UPDATE nearby_follows SET active = 1, nonce = $2, ended_at = NULL WHERE id = $1",
                params![f.id, nonce()],
            )?;
            f.id
        }
        None => c.query_i64(
            "INSERT INTO nearby_follows (street_id, user_id, kind, area_id, area_path, category, active, nonce, created_at) \
             VALUES ($1, $2, 'area', $3, $4, $5, 1, $6, $7) RETURNING id",
            params![street, user, area.0, area.1, category, nonce(), now],
        )?,
    };
    by_id(c, id)?.ok_or_else(|| crate::store::StoreError::Db("follow lost".into()))
}

/// Ends a follow; false when it had already ended.
pub fn end(c: &mut dyn Conn, id: i64, now: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE nearby_follows SET active = 0, ended_at = $2 WHERE id = $1 AND active = 1",
        params![id, now],
    )? == 1)
}

/// The street's signing secret, made on first use.
fn secret(c: &mut dyn Conn, street: i64, now: i64) -> Result<String> {
    if let Some(r) = c.query_opt(
        "SELECT secret FROM nearby_secrets WHERE street_id = $1",
        params![street],
    )? {
        return Ok(r.str(0));
    }
    c.exec(
        "INSERT INTO nearby_secrets (street_id, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        params![street, crate::kernel::ids::random_token(""), now],
    )?;
    Ok(c.query_one(
        "SELECT secret FROM nearby_secrets WHERE street_id = $1",
        params![street],
    )?
    .str(0))
}

fn mac(secret: &str, id: i64, nonce: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(format!("nearby.unfollow\0{id}.{nonce}").as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

/// The signed token of a follow's link: `id.mac`.
pub fn token(c: &mut dyn Conn, f: &Follow, now: i64) -> Result<String> {
    let s = secret(c, f.street_id, now)?;
    Ok(format!("{}.{}", f.id, mac(&s, f.id, &f.nonce)))
}

/// What a link's token is.
pub enum Link {
    /// Not ours: no such follow, or the signature does not match (altered, forged, or made
    /// before she followed again).
    Forged,
    /// The follow, active or already ended.
    Found(Follow),
}

/// Checks a link's token against the follow's nonce and the street's secret.
pub fn check(c: &mut dyn Conn, token: &str, now: i64) -> Result<Link> {
    let Some((id, sig)) = token.split_once('.') else {
        return Ok(Link::Forged);
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(Link::Forged);
    };
    let Some(f) = by_id(c, id)? else {
        return Ok(Link::Forged);
    };
    let want = mac(&secret(c, f.street_id, now)?, f.id, &f.nonce);
    if !crate::kernel::ct_eq(want.as_bytes(), sig.as_bytes()) {
        return Ok(Link::Forged);
    }
    Ok(Link::Found(f))
}

/// The message key for a step that matters to followers.
fn key_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "accept" => "nearby.msg.accepted",
        "dispatch" => "nearby.msg.dispatched",
        "resolve" => "nearby.msg.resolved",
        "close" => "nearby.msg.closed",
        "reject" => "nearby.msg.rejected",
        "merge" => "nearby.msg.merged",
        "reopen" => "nearby.msg.reopened",
        "update" => "nearby.msg.updated",
        _ => return None,
    })
}

/// What a reporter hears of her own report when it is done: the outcome with the handler's
/// note (the public hear only the state). Reporters of duplicates merged into it hear the
/// resolution and the close too.
fn reporter_key_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "resolve" => "reach.msg.case_resolved",
        "close" => "reach.msg.case_closed",
        "reject" => "reach.msg.case_rejected",
        _ => return None,
    })
}

/// Active area follows covering a place, of a category (or every one).
fn area_followers(
    c: &mut dyn Conn,
    street: i64,
    place_path: &str,
    category: &str,
) -> Result<Vec<Follow>> {
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM nearby_follows WHERE street_id = $1 AND kind = 'area' AND active = 1 \
             AND (category = '' OR category = $2)"
        ),
        params![street, category],
    )?
    .iter()
    .map(from_row)
    .filter(|f| crate::org::Scope::covers(std::slice::from_ref(&f.area_path), place_path))
    .collect())
}

/// Active follows of a case.
fn case_followers(c: &mut dyn Conn, case_id: i64) -> Result<Vec<Follow>> {
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM nearby_follows WHERE kind = 'case' AND case_id = $1 AND active = 1"
        ),
        params![case_id],
    )?
    .iter()
    .map(from_row)
    .collect())
}

/// The hook cases runs on every step: tells each follower once, in the step's transaction.
/// The reporter follows her own report without asking (unless she unfollowed it); others
/// hear only of published reports (a public category, no personal data in the message: the
/// category, the building and the state).
pub fn on_case_step(c: &mut dyn Conn, s: &Stepped<'_>) -> Result<()> {
    let Some(key) = key_of(s.action) else {
        return Ok(());
    };
    let case = s.case;
    let id = case.id.0;
    let published: Option<PublicReport> =
        crate::cases::public::report(c, case.street_id, id, Lang::Zh, s.at)?;
    // Who is told: (account, her follow, a reporter of this report).
    let mut told: Vec<(i64, Follow, bool)> = Vec::new();
    // Her own report she follows without asking (and so does the reporter of a duplicate
    // merged into it, for its outcome), unless she unfollowed it.
    let mut reporters: Vec<i64> = case.reporter_id.into_iter().collect();
    if matches!(s.action, "resolve" | "close") {
        reporters.extend(crate::cases::public::merged_reporters(c, id)?);
    }
    for r in reporters {
        if s.by == Some(r) || told.iter().any(|(x, ..)| *x == r) {
            continue;
        }
        let f = match of_case(c, id, r)? {
            Some(f) => f,
            None => follow_case(c, case.street_id, r, id, true, s.at)?,
        };
        if f.active {
            told.push((r, f, true));
        }
    }
    if published.is_some() {
        let mut others = case_followers(c, id)?;
        others.extend(area_followers(
            c,
            case.street_id,
            &case.place_path,
            &case.category,
        )?);
        for f in others {
            let u = f.user_id;
            if Some(u) == s.by || Some(u) == case.reporter_id || told.iter().any(|(x, ..)| *x == u)
            {
                continue;
            }
            told.push((u, f, false));
        }
    }
    let category = format!("{} / {}", case.category_name_zh, case.category_name_en);
    let place = published
        .as_ref()
        .map(|p| p.place_name.clone())
        .unwrap_or_default();
    for (u, f, reporter) in told {
        let token = token(c, &f, s.at)?;
        let mut args = vec![("id", id.to_string()), ("category", category.clone())];
        let key = match reporter_key_of(s.action) {
            Some(own) if reporter => {
                args.push(("note", s.note.to_string()));
                own
            }
            _ => {
                args.push(("place", place.clone()));
                key
            }
        };
        crate::reach::tell(
            c,
            &crate::reach::Message {
                street_id: case.street_id,
                to: crate::reach::Recipient::User(u),
                urgency: crate::reach::Urgency::Normal,
                body: crate::reach::Body::Key { key, args },
                // The landing page of the message: the report as the public sees it, and
                // the button to unfollow, without signing in.
                link: Some(format!("/nearby/unfollow/{token}")),
                idem: format!("nearby:{id}:{}:{}:follow:{}", s.action, s.at, f.id),
                source: format!("case:{id}"),
                sender: s.by,
            },
        )?;
    }
    Ok(())
}
