//! The join area's use cases, shared by the pages and the API: a resident registers by herself
//! or redeems a household's invitation code; a worker issues codes and sees who has joined.
//!
//! Every refusal of a self-registration is one answer whatever was wrong (name, ID tail or
//! unit), counted per client address and per unit in the database (so a restart does not reset
//! it) and written to the audit log. A code that is unknown counts against the address too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use rand::Rng;
use serde::Serialize;

use super::{index, store};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::org::{Caller, Role, Scope, users};
use crate::registry::residents;
use crate::state::AppState;

/// Failed self-registrations or unknown codes from one client address (an IPv6 /64) before it
/// is refused for `store::WINDOW_MS`.
pub const MAX_PER_ADDRESS: i64 = 10;
/// Failed self-registrations naming one unit before it is refused for `store::WINDOW_MS`.
pub const MAX_PER_UNIT: i64 = 5;
/// How long a code is valid unless the worker says otherwise, and at most.
pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 90;
/// The most households one issue may cover.
pub const MAX_LETTERS: usize = 20_000;
/// Address rows are kept for every street at once.
const ANY_STREET: i64 = 0;

fn locked_error() -> AppError {
    AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Code::RateLimited,
        "join.locked",
    )
}

fn gone(key: &str) -> AppError {
    AppError::new(StatusCode::GONE, Code::Gone, key)
}

fn now() -> i64 {
    crate::store::now_ms()
}

/// How a resident names her unit.
#[derive(Clone, Debug, Default)]
pub struct UnitChoice {
    pub building_id: Option<i64>,
    pub room: Option<String>,
    pub address: Option<String>,
}

/// A self-registration as typed.
#[derive(Clone, Debug, Default)]
pub struct SelfRegistration {
    pub name: String,
    pub id_tail: String,
    pub unit: UnitChoice,
    pub username: String,
    pub password: String,
}

/// An account that joined.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Joined {
    pub user_id: i64,
    pub person_id: i64,
    pub username: String,
}

fn client_target(client: IpAddr) -> String {
    crate::org::login::client_key(client).to_string()
}

fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .collect::<String>()
        .to_uppercase()
}

fn room_key(s: &str) -> String {
    let f = fold(s);
    let f = f.strip_suffix('室').unwrap_or(&f);
    f.trim_start_matches('0').to_string()
}

/// Finds the unit a resident named: a room of a building, or an address.
fn find_unit(c: &mut dyn crate::store::Conn, u: &UnitChoice) -> AppResult<store::Spot> {
    if let Some(b) = u.building_id {
        let room = u.room.as_deref().map(room_key).unwrap_or_default();
        if room.is_empty() {
            return Err(AppError::invalid("join.need_room"));
        }
        let building = store::place(c, b)?
            .filter(|p| p.kind == "building")
            .ok_or_else(|| AppError::invalid("join.no_unit"))?;
        return store::units_of(c, building.id)?
            .into_iter()
            .find(|unit| {
                room_key(&unit.name) == room
                    || room_key(unit.path.rsplit('/').next().unwrap_or("")) == room
            })
            .ok_or_else(|| AppError::invalid("join.no_unit"));
    }
    let address = u.address.as_deref().map(fold).unwrap_or_default();
    if address.is_empty() {
        return Err(AppError::invalid("join.need_unit"));
    }
    let mut found = store::units_at(c, &address)?;
    if found.is_empty() && !address.ends_with('室') {
        found = store::units_at(c, &format!("{address}室"))?;
    }
    match found.len() {
        0 => Err(AppError::invalid("join.no_unit")),
        1 => Ok(found.remove(0)),
        _ => Err(AppError::invalid("join.address_ambiguous")),
    }
}

/// Checks a new account's name and password as the organisation area's policy says.
fn check_account(username: &str, password: &str) -> AppResult<users::Username> {
    let username = users::Username::parse(username).map_err(AppError::invalid)?;
    users::check_password_policy(password).map_err(AppError::invalid)?;
    Ok(username)
}

async fn hash(password: &str) -> AppResult<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || users::hash_password(&pw))
        .await
        .map_err(|e| AppError::internal("hashing", e))
}

/// Creates a resident's account linked to her person, in the caller's transaction.
fn create_account(
    c: &mut dyn crate::store::Conn,
    username: &users::Username,
    password_hash: &str,
    person: &residents::Resident,
    how: &str,
) -> AppResult<i64> {
    if users::exists(c, username.as_str())?.is_some() {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "error.username_taken",
        ));
    }
    if store::has_account(c, person.id)? {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "join.already",
        ));
    }
    let id = users::create(
        c,
        users::NewUser {
            username,
            display_name: &person.name,
            password_hash,
            street_id: Some(person.street_id),
            person_id: Some(person.id),
            created_by: None,
        },
    )
    .map_err(|e| match e {
        crate::store::StoreError::Conflict(_) => {
            AppError::new(StatusCode::CONFLICT, Code::Conflict, "error.username_taken")
        }
        e => e.into(),
    })?;
    users::add_grant(
        c,
        id,
        Role::Resident,
        person.unit_id,
        None,
        Some(person.street_id),
        None,
    )?;
    store::record_account(c, id, person.id, person.street_id, how, now())?;
    Ok(id)
}

async fn audit_joined(state: &AppState, j: &Joined, street_id: i64, how: &str) -> AppResult<()> {
    let mut e = NewEntry::anonymous(Action::PermissionChange, &j.username)
        .subjects([
            crate::audit::user(j.user_id),
            crate::audit::person(j.person_id),
        ])
        .purpose(format!("join: {how}"));
    e.actor_id = Some(j.user_id);
    e.street_id = Some(street_id);
    state.audit.record(e).await?;
    Ok(())
}

/// A resident registers by herself: her name, the last six characters of her ID number and her
/// unit must name a person living there (not left) in the registry.
pub async fn register_self(
    state: &AppState,
    client: IpAddr,
    r: SelfRegistration,
) -> AppResult<Joined> {
    let name = r.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::invalid("join.need_name"));
    }
    crate::kernel::text::check_line(&name).map_err(AppError::invalid)?;
    let tail = index::parse_tail(&r.id_tail).ok_or_else(|| AppError::invalid("join.bad_tail"))?;
    let username = check_account(&r.username, &r.password)?;
    let addr = client_target(client);
    let t = now();
    let (a, unit_choice) = (addr.clone(), r.unit.clone());
    let unit = state
        .db
        .read(move |c| -> crate::store::Result<AppResult<store::Spot>> {
            if store::locked(c, ANY_STREET, "addr", &a, t)? {
                return Ok(Err(locked_error()));
            }
            Ok(find_unit(c, &unit_choice))
        })
        .await??;
    let bidx = index::of(&state.keys, &name, &tail);
    let u = unit.clone();
    let found = state
        .db
        .read(
            move |c| -> crate::store::Result<AppResult<Option<residents::Resident>>> {
                if store::locked(c, u.street_id, "unit", &u.id.to_string(), t)? {
                    return Ok(Err(locked_error()));
                }
                for pid in index::find(c, u.street_id, &bidx)? {
                    if let Some(p) = residents::resident(c, pid)?
                        && p.unit_id == Some(u.id)
                        && p.residence != "left"
                    {
                        return Ok(Ok(Some(p)));
                    }
                }
                Ok(Ok(None))
            },
        )
        .await??;
    let Some(person) = found else {
        let (a, u) = (addr.clone(), unit.clone());
        state
            .db
            .write(move |c| {
                store::fail(c, ANY_STREET, "addr", &a, MAX_PER_ADDRESS, t)?;
                store::fail(c, u.street_id, "unit", &u.id.to_string(), MAX_PER_UNIT, t)
            })
            .await?;
        let mut e = NewEntry::anonymous(Action::LoginFailed, username.as_str()).purpose(format!(
            "join: self-registration matched no resident of unit {}",
            unit.path
        ));
        e.street_id = Some(unit.street_id);
        state.audit.record(e).await?;
        return Err(AppError::invalid("join.no_match"));
    };
    let hash = hash(&r.password).await?;
    let (p, u) = (person.clone(), unit.clone());
    let uname = username.clone();
    let user_id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let id = create_account(c, &uname, &hash, &p, "self")?;
            store::forgive(c, u.street_id, "unit", &u.id.to_string())?;
            Ok(id)
        })
        .await?;
    let j = Joined {
        user_id,
        person_id: person.id,
        username: username.as_str().to_string(),
    };
    audit_joined(state, &j, person.street_id, "self-registration").await?;
    Ok(j)
}

// ---- invitation codes -----------------------------------------------------------------------

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const CODE_LEN: usize = 12;

/// A fresh code, `XXXX-XXXX-XXXX` (60 bits, no 0/O or 1/I to misread).
pub fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let raw: String = (0..CODE_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
}

/// A code as typed, or `None` when it cannot be one.
pub fn normalise_code(s: &str) -> Option<String> {
    let c: String = fold(s)
        .chars()
        .filter(|c| *c != '-' && *c != '_' && *c != '—')
        .collect();
    (c.len() == CODE_LEN && c.bytes().all(|b| ALPHABET.contains(&b))).then_some(c)
}

fn code_hash(state: &AppState, normalised: &str) -> String {
    state.keys.blind_index("join_code", normalised)
}

/// A member of a household as a code holder sees her: the name masked, the relation.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MemberChoice {
    pub person_id: i64,
    /// e.g. `张**`.
    pub name_masked: String,
    /// head, spouse, child, …
    pub relation: String,
    /// She already has an account.
    pub joined: bool,
}

/// What a valid code opens.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CodeHousehold {
    /// The unit's name (e.g. `302室`).
    pub unit: String,
    /// Unix milliseconds.
    pub expires_at: i64,
    pub members: Vec<MemberChoice>,
}

pub use crate::kernel::text::mask_name;

/// Finds a valid code's invitation, or says why it is not one (counting an unknown code
/// against the client's address).
async fn valid_invitation(
    state: &AppState,
    client: IpAddr,
    code: &str,
) -> AppResult<store::Invitation> {
    let addr = client_target(client);
    let t = now();
    let a = addr.clone();
    if state
        .db
        .read(move |c| store::locked(c, ANY_STREET, "addr", &a, t))
        .await?
    {
        return Err(locked_error());
    }
    let hash = normalise_code(code).map(|n| code_hash(state, &n));
    let inv = match hash {
        Some(h) => state.db.read(move |c| store::by_hash(c, &h)).await?,
        None => None,
    };
    let Some(inv) = inv else {
        state
            .db
            .write(move |c| store::fail(c, ANY_STREET, "addr", &addr, MAX_PER_ADDRESS, t))
            .await?;
        state
            .audit
            .record(
                NewEntry::anonymous(Action::LoginFailed, "")
                    .purpose("join: unknown invitation code"),
            )
            .await?;
        return Err(AppError::invalid("join.code_unknown"));
    };
    if inv.used_at.is_some() {
        return Err(gone("join.code_used"));
    }
    if inv.withdrawn_at.is_some() {
        return Err(gone("join.code_withdrawn"));
    }
    if inv.expires_at <= t {
        return Err(gone("join.code_expired"));
    }
    Ok(inv)
}

/// The household a code opens, its members masked (written to the audit log: the holder of
/// the code saw that these persons live there).
pub async fn look_up_code(
    state: &AppState,
    client: IpAddr,
    code: &str,
) -> AppResult<CodeHousehold> {
    let inv = valid_invitation(state, client, code).await?;
    let (hid, uid) = (inv.household_id, inv.unit_id);
    let (members, joined, unit) = state
        .db
        .read(move |c| {
            let m = residents::members(c, hid)?;
            let ids: Vec<i64> = m.iter().map(|p| p.id).collect();
            let j: HashSet<i64> = store::joined_of(c, &ids)?.into_iter().collect();
            let unit = store::place(c, uid)?.map(|p| p.name).unwrap_or_default();
            Ok((m, j, unit))
        })
        .await?;
    if members.is_empty() {
        return Err(AppError::invalid("join.code_nobody"));
    }
    let mut e = NewEntry::anonymous(Action::List, "")
        .subjects(members.iter().map(|p| crate::audit::person(p.id)))
        .purpose("join: household members shown masked to the holder of its invitation code");
    e.street_id = Some(inv.street_id);
    state.audit.record(e).await?;
    Ok(CodeHousehold {
        unit,
        expires_at: inv.expires_at,
        members: members
            .iter()
            .map(|p| MemberChoice {
                person_id: p.id,
                name_masked: mask_name(&p.name),
                relation: p.relation.clone(),
                joined: joined.contains(&p.id),
            })
            .collect(),
    })
}

/// Redeems a code: the account is linked to the member of the household she says she is.
pub async fn redeem(
    state: &AppState,
    client: IpAddr,
    code: &str,
    person_id: i64,
    username: &str,
    password: &str,
) -> AppResult<Joined> {
    let username = check_account(username, password)?;
    let inv = valid_invitation(state, client, code).await?;
    let hid = inv.household_id;
    let person = state
        .db
        .read(move |c| {
            Ok(residents::members(c, hid)?
                .into_iter()
                .find(|p| p.id == person_id))
        })
        .await?
        .ok_or_else(|| AppError::invalid("join.pick_member"))?;
    let hash = hash(password).await?;
    let (p, uname, inv_id) = (person.clone(), username.clone(), inv.id);
    let user_id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let id = create_account(c, &uname, &hash, &p, "invitation")?;
            if !store::use_code(c, inv_id, id, now())? {
                return Err(gone("join.code_used"));
            }
            Ok(id)
        })
        .await?;
    let j = Joined {
        user_id,
        person_id: person.id,
        username: username.as_str().to_string(),
    };
    audit_joined(state, &j, person.street_id, "invitation code").await?;
    Ok(j)
}

/// One household's letter: where it goes, its code (shown once) and until when.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Letter {
    pub household_id: i64,
    pub building: String,
    pub unit: String,
    pub address: Option<String>,
    pub code: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// What a worker issues codes for: every household under a place (a building, a grid …) or
/// one household.
#[derive(Clone, Copy, Debug)]
pub enum IssueFor {
    Place(i64),
    Household(i64),
}

/// Issues a code for each household (withdrawing their unused ones) and returns the letters;
/// the codes are not kept in clear and cannot be shown again.
pub async fn issue(
    state: &AppState,
    caller: &Caller,
    target: IssueFor,
    days: Option<i64>,
) -> AppResult<Vec<Letter>> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::invalid("join.bad_days"));
    }
    let scope = caller.scope.registry.clone();
    let (households, names) = state
        .db
        .read(move |c| -> crate::store::Result<AppResult<_>> {
            let (path, households) = match target {
                IssueFor::Place(id) => {
                    let Some(p) = store::place(c, id)?.filter(|p| Scope::covers(&scope, &p.path))
                    else {
                        return Ok(Err(AppError::not_found()));
                    };
                    let h = residents::households_under(c, &p.path)?;
                    (p.path, h)
                }
                IssueFor::Household(id) => {
                    let Some(h) = residents::household(c, id)?
                        .filter(|h| Scope::covers(&scope, &h.unit_path))
                    else {
                        return Ok(Err(AppError::not_found()));
                    };
                    (h.unit_path.clone(), vec![h])
                }
            };
            let names = store::unit_names_under(c, &path)?;
            Ok(Ok((households, names)))
        })
        .await??;
    if households.is_empty() {
        return Err(AppError::invalid("join.no_households"));
    }
    if households.len() > MAX_LETTERS {
        return Err(AppError::invalid("join.too_many_letters"));
    }
    let issued_at = now();
    let expires_at = issued_at + days * 86_400_000;
    let mut letters = Vec::with_capacity(households.len());
    let mut rows = Vec::with_capacity(households.len());
    for h in &households {
        let code = new_code();
        let hash = code_hash(state, &normalise_code(&code).unwrap_or_default());
        let (building, unit, address) = names.get(&h.unit_id).cloned().unwrap_or_default();
        letters.push(Letter {
            household_id: h.id,
            building,
            unit,
            address,
            code,
            expires_at,
        });
        rows.push((h.clone(), hash));
    }
    let by = caller.user_id;
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            for (h, hash) in &rows {
                store::issue(
                    c,
                    store::NewInvitation {
                        street_id: h.street_id,
                        household_id: h.id,
                        unit_id: h.unit_id,
                        place_path: &h.unit_path,
                        code_hash: hash,
                        issued_by: by,
                        issued_at,
                        expires_at,
                    },
                )?;
            }
            Ok(())
        })
        .await?;
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .subjects(households.iter().map(|h| crate::audit::household(h.id)))
                .purpose(format!(
                    "join: {} invitation code(s) issued",
                    households.len()
                )),
        )
        .await?;
    Ok(letters)
}

/// A building's figures: its households, how many of them have a member who joined, the
/// accounts that joined, and the codes waiting to be used.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct BuildingFigures {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub estate: Option<String>,
    pub households: i64,
    pub households_joined: i64,
    pub accounts: i64,
    pub open_codes: i64,
}

fn building_of(unit_path: &str) -> &str {
    unit_path
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(unit_path)
}

/// Who has joined, per building of the caller's scope. Counts only: no names, no codes.
pub async fn figures(state: &AppState, caller: &Caller) -> AppResult<Vec<BuildingFigures>> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.registry.clone();
    let t = now();
    let out = state
        .db
        .read(move |c| {
            let buildings = store::buildings_under(c, &scope)?;
            let mut households: HashMap<String, i64> = HashMap::new();
            let mut streets = BTreeMap::new();
            for path in &scope {
                for h in residents::households_under(c, path)? {
                    *households
                        .entry(building_of(&h.unit_path).to_string())
                        .or_default() += 1;
                }
            }
            for b in &buildings {
                streets.insert(b.street_id, ());
            }
            let streets: Vec<i64> = streets.into_keys().collect();
            let joined = store::joined_in(c, &streets)?;
            let mut accounts: HashMap<String, i64> = HashMap::new();
            let mut joined_households: HashMap<String, HashSet<i64>> = HashMap::new();
            for (_, hid, path) in residents::homes(c, &joined)? {
                let b = building_of(&path).to_string();
                *accounts.entry(b.clone()).or_default() += 1;
                if let Some(h) = hid {
                    joined_households.entry(b).or_default().insert(h);
                }
            }
            let mut open: HashMap<String, i64> = HashMap::new();
            for p in store::open_codes_under(c, &scope, t)? {
                *open.entry(building_of(&p).to_string()).or_default() += 1;
            }
            Ok(buildings
                .into_iter()
                .map(|b| BuildingFigures {
                    households: households.get(&b.path).copied().unwrap_or(0),
                    households_joined: joined_households
                        .get(&b.path)
                        .map(|s| s.len() as i64)
                        .unwrap_or(0),
                    accounts: accounts.get(&b.path).copied().unwrap_or(0),
                    open_codes: open.get(&b.path).copied().unwrap_or(0),
                    id: b.id,
                    name: b.name,
                    path: b.path,
                    estate: b.estate,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(out)
}

/// The buildings a resident may name her home by (every street's), grouped by street.
pub async fn buildings(state: &AppState) -> AppResult<Vec<(String, Vec<store::Spot>)>> {
    Ok(state
        .db
        .read(|c| {
            let mut out: Vec<(String, Vec<store::Spot>)> = Vec::new();
            let mut street = None;
            for b in store::buildings(c)? {
                if street != Some(b.street_id) {
                    street = Some(b.street_id);
                    out.push((store::street_name(c, b.street_id)?, Vec::new()));
                }
                if let Some(last) = out.last_mut() {
                    last.1.push(b);
                }
            }
            Ok(out)
        })
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_whatever_the_typing() {
        for _ in 0..50 {
            let c = new_code();
            let n = normalise_code(&c).unwrap();
            assert_eq!(
                normalise_code(&c.to_lowercase()).as_deref(),
                Some(n.as_str())
            );
            assert_eq!(
                normalise_code(&n.replace('-', " ")).as_deref(),
                Some(n.as_str())
            );
        }
        assert_eq!(normalise_code("ABCD-EFGH-JK"), None);
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(room_key("３０２室"), "302");
        assert_eq!(room_key("0302"), "302");
    }
}
