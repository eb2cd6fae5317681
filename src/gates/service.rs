//! Gates' use cases, shared by the pages and the API.
//!
//! **Who reads what.** The estate's keepers — the street's and the community's workers whose
//! records cover the estate's community, and the property company (物业) serving it — read its
//! access log (every reading audited), manage its gates, spaces, assignments and rules, and act
//! as the guard at its gates. A resident issues passes for her own visitors and sees her own
//! passes; she never sees the access log or anyone else's passes (403). A worker of another
//! community gets 404 for an estate that is not hers. No per-unit visitor figures are computed.

use ed25519_dalek::SigningKey;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{self, Checked, Claims, PassCheck, Passage};
use super::store::{self, Estate, Gate, LogLine, Pass, Rule, Space};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Tr, both};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;
use crate::store::Conn;

fn forbidden(key: &str) -> AppError {
    AppError::new(StatusCode::FORBIDDEN, Code::Forbidden, key)
}

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::Conflict, key)
}

/// The key passes are signed with (`gates.key` in the keys folder, made at first use).
pub fn key(state: &AppState) -> AppResult<&SigningKey> {
    state
        .area::<super::Gates>()
        .key
        .get_or_init(|| {
            let pass = state.cfg.key_passphrase.as_ref().map(|s| s.expose());
            crate::store::keys::load_or_create_key(&state.cfg.keys_dir(), "gates.key", 32, pass)
                .map_err(|e| e.to_string())
                .and_then(|raw| {
                    let b: [u8; 32] = raw.try_into().map_err(|_| "gates.key".to_string())?;
                    Ok(SigningKey::from_bytes(&b))
                })
        })
        .as_ref()
        .map_err(|e| AppError::internal("the gates key", e))
}

// ---- who keeps an estate ----------------------------------------------------------------------

/// Whether the caller keeps the estate: a worker whose records cover its community, or a
/// property manager whose company serves the community or a place in it.
pub fn keeps(caller: &Caller, e: &Estate) -> bool {
    if caller.reads_registry() && Scope::covers(&caller.scope.registry, &e.community_path) {
        return true;
    }
    caller.grants.iter().any(|g| {
        g.role == Role::PropertyManager
            && g.org.as_ref().is_some_and(|o| {
                o.serves.iter().any(|p| {
                    Scope::covers(std::slice::from_ref(p), &e.community_path)
                        || Scope::covers(std::slice::from_ref(&e.community_path), p)
                })
            })
    })
}

/// Whether the caller may keep estates at all (the navigation's entry).
pub fn is_keeper(caller: &Caller) -> bool {
    (caller.reads_registry() && !caller.scope.registry.is_empty())
        || caller.has(Role::PropertyManager)
}

/// The navigation's entry: keepers and residents.
pub fn shown(caller: &Caller) -> bool {
    is_keeper(caller) || caller.person_id.is_some()
}

/// The estate, when the caller keeps it: 403 for a resident or another role, 404 for an
/// estate of another community.
fn kept(c: &mut dyn Conn, caller: &Caller, id: i64) -> AppResult<Estate> {
    if !is_keeper(caller) {
        return Err(forbidden("gates.err_not_keeper"));
    }
    let e = store::estate(c, id)?.ok_or_else(AppError::not_found)?;
    if !keeps(caller, &e) {
        return Err(AppError::not_found());
    }
    Ok(e)
}

async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Conn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    state.db.read(move |c| Ok(f(c))).await?
}

async fn record(
    state: &AppState,
    caller: &Caller,
    street: i64,
    action: Action,
    subjects: Vec<String>,
    purpose: String,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, action)
        .subjects(subjects)
        .purpose(purpose);
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

// ---- estates and gates ------------------------------------------------------------------------

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GateEstateView)]
pub struct EstateView {
    #[serde(flatten)]
    pub estate: Estate,
    pub gates: Vec<Gate>,
    pub spaces: i64,
    /// Vehicles inside now.
    pub inside: i64,
}

/// The estates the caller keeps.
pub async fn estates(state: &AppState, caller: &Caller) -> AppResult<Vec<EstateView>> {
    if !is_keeper(caller) {
        return Err(forbidden("gates.err_not_keeper"));
    }
    let caller = caller.clone();
    read(state, move |c| {
        let mut out = Vec::new();
        for e in store::all_estates(c)? {
            if Some(e.street_id) != caller.street_id && !keeps(&caller, &e) {
                continue;
            }
            if !keeps(&caller, &e) {
                continue;
            }
            out.push(EstateView {
                gates: store::gates_of(c, e.id)?,
                spaces: store::spaces(c, e.id)?.len() as i64,
                inside: store::inside(c, e.id)?,
                estate: e,
            });
        }
        Ok(out)
    })
    .await
}

pub async fn estate(state: &AppState, caller: &Caller, id: i64) -> AppResult<EstateView> {
    let caller = caller.clone();
    read(state, move |c| {
        let e = kept(c, &caller, id)?;
        Ok(EstateView {
            gates: store::gates_of(c, e.id)?,
            spaces: store::spaces(c, e.id)?.len() as i64,
            inside: store::inside(c, e.id)?,
            estate: e,
        })
    })
    .await
}

fn checked_name(s: &str) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 40 {
        return Err(AppError::invalid("gates.err_name"));
    }
    crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    Ok(s.to_string())
}

fn checked_retention(days: Option<i64>) -> AppResult<i64> {
    let d = days.unwrap_or(model::DEFAULT_RETENTION_DAYS);
    if !(1..=365).contains(&d) {
        return Err(AppError::invalid("gates.err_retention"));
    }
    Ok(d)
}

/// Registers an estate of a community the caller keeps (its name as its buildings carry it).
pub async fn create_estate(
    state: &AppState,
    caller: &Caller,
    community_id: i64,
    name: &str,
    retention_days: Option<i64>,
) -> AppResult<Estate> {
    let name = checked_name(name)?;
    let days = checked_retention(retention_days)?;
    let caller2 = caller.clone();
    let now = now_ms();
    let e = state
        .db
        .write_tx(move |c| -> AppResult<Estate> {
            if !is_keeper(&caller2) {
                return Err(forbidden("gates.err_not_keeper"));
            }
            let (street, path) =
                store::community(c, community_id)?.ok_or_else(AppError::not_found)?;
            let probe = Estate {
                id: 0,
                street_id: street,
                community_id,
                community_path: path.clone(),
                name: name.clone(),
                retention_days: days,
            };
            if !keeps(&caller2, &probe) {
                return Err(AppError::not_found());
            }
            if store::estate_named(c, community_id, &name)?.is_some() {
                return Err(conflict("gates.err_estate_exists"));
            }
            let id = store::insert_estate(c, street, (community_id, &path), &name, days, now)?;
            Ok(Estate { id, ..probe })
        })
        .await?;
    let purpose = both("gates.purpose.estate", &[("id", &e.id)]);
    record(state, caller, e.street_id, Action::Change, vec![], purpose).await?;
    Ok(e)
}

/// Sets how long an estate's passages are kept.
pub async fn set_retention(
    state: &AppState,
    caller: &Caller,
    id: i64,
    days: i64,
) -> AppResult<Estate> {
    let days = checked_retention(Some(days))?;
    let caller2 = caller.clone();
    let e = state
        .db
        .write_tx(move |c| -> AppResult<Estate> {
            let mut e = kept(c, &caller2, id)?;
            store::set_retention(c, id, days)?;
            e.retention_days = days;
            Ok(e)
        })
        .await?;
    let purpose = both("gates.purpose.retention", &[("id", &id), ("days", &days)]);
    record(state, caller, e.street_id, Action::Change, vec![], purpose).await?;
    Ok(e)
}

/// A gate as added: the gate and its device's token (shown once).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GateAdded)]
pub struct Added {
    pub gate: Gate,
    /// The provisioning token the gate reports passages with (`Authorization: Bearer`).
    pub token: String,
}

/// Adds a gate: a sensing device of the street's `gate` profile, placed at the estate's first
/// building, reporting passages with its provisioning token.
pub async fn add_gate(
    state: &AppState,
    caller: &Caller,
    estate_id: i64,
    name: &str,
    kind: &str,
) -> AppResult<Added> {
    let name = checked_name(name)?;
    let Some(kind) = model::GATE_KINDS.iter().find(|k| **k == kind).copied() else {
        return Err(AppError::invalid("gates.err_gate_kind"));
    };
    let caller2 = caller.clone();
    let keys = state.keys.clone();
    let now = now_ms();
    let added = state
        .db
        .write_tx(move |c| -> AppResult<Added> {
            let e = kept(c, &caller2, estate_id)?;
            let (gate, token) = provision(c, &keys, &e, &name, kind, now)?;
            Ok(Added { gate, token })
        })
        .await?;
    crate::sensing::of(state).devices_changed();
    let purpose = both("gates.purpose.gate", &[("id", &added.gate.id)]);
    record(
        state,
        caller,
        added.gate.street_id,
        Action::Change,
        vec![],
        purpose,
    )
    .await?;
    Ok(added)
}

/// Provisions a gate's device and its row (also the demo's).
pub(super) fn provision(
    c: &mut dyn Conn,
    keys: &crate::store::keys::FieldKeys,
    e: &Estate,
    name: &str,
    kind: &str,
    now: i64,
) -> AppResult<(Gate, String)> {
    use crate::sensing::devices::{self, NewDevice, NewProfile, TelemetryKey};
    let profile = match devices::profile_by_code(c, e.street_id, "gate")? {
        Some(p) => p.id,
        None => devices::create_profile(
            c,
            &NewProfile {
                street_id: e.street_id,
                code: "gate",
                name: "出入口",
                device_type: "gate",
                telemetry: &[] as &[TelemetryKey],
                report_interval_s: 86_400,
            },
            now,
        )?,
    };
    let (place_id, place_path) =
        store::estate_building(c, e)?.ok_or_else(|| AppError::invalid("gates.err_no_building"))?;
    let serial = format!("gate-{}-{}", e.id, crate::org::auth::random_token(""));
    let (device_id, token) = devices::create(
        c,
        keys,
        &NewDevice {
            street_id: e.street_id,
            profile_id: profile,
            serial,
            model: name.to_string(),
            place_id,
            place_path,
            person_id: None,
            household_id: None,
        },
        now,
    )?;
    let id = store::insert_gate(c, e, device_id, name, kind, now)?;
    Ok((
        Gate {
            id,
            street_id: e.street_id,
            estate_id: e.id,
            device_id,
            name: name.to_string(),
            kind: kind.to_string(),
        },
        token,
    ))
}

// ---- passages ---------------------------------------------------------------------------------

/// Why a gate's passages were refused: the HTTP status and a catalogue key.
pub struct IngestRefused {
    pub status: StatusCode,
    pub code: Code,
    pub key: String,
}

/// Stores a gate's passages (the device is known and active), in one transaction that is
/// committed before the gate is answered: the access log, vehicles inside and the spaces they
/// take, occupancy by hour, and a case for each breach of a self-governed rule.
pub async fn ingest(state: &AppState, device_id: i64, passages: Vec<Passage>) -> AppResult<usize> {
    if passages.is_empty() {
        return Err(AppError::invalid("gates.err_empty"));
    }
    if passages.len() > model::MAX_PASSAGES {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::TooMany,
            "gates.err_too_many",
        ));
    }
    let now = now_ms();
    let mut checked = Vec::with_capacity(passages.len());
    for (i, p) in passages.iter().enumerate() {
        match model::check(p, now) {
            Ok(x) => checked.push(x),
            Err(key) => {
                let t = Tr(crate::kernel::ctx().lang);
                return Err(AppError::with_message(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Code::Invalid,
                    format!("[{i}] {}", t.s(key)),
                ));
            }
        }
    }
    let n = checked.len();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let g = store::gate_by_device(c, device_id)?
                .ok_or_else(|| forbidden("gates.err_not_a_gate"))?;
            store_passages(c, &g, checked, now)
        })
        .await?;
    Ok(n)
}

pub fn store_passages(
    c: &mut dyn Conn,
    g: &Gate,
    checked: Vec<Checked>,
    now: i64,
) -> AppResult<()> {
    let mut rows = Vec::with_capacity(checked.len());
    let mut plates = false;
    let mut limit: Option<Option<i64>> = None;
    for p in checked {
        let mut visitor = false;
        if p.by == "plate" {
            plates = true;
            let known = store::space_of_plate(c, g.estate_id, &p.credential)?;
            visitor = known.is_none();
            let open = store::open_stay(c, g.estate_id, &p.credential)?;
            match (p.direction, open) {
                ("in", None) => {
                    let space = match known {
                        Some(s) => Some(s),
                        None => store::free_visitor_space(c, g.estate_id)?,
                    };
                    if let Some(s) = space {
                        store::set_occupied(c, s, true)?;
                    }
                    store::insert_stay(c, g, &p.credential, visitor, space, p.at)?;
                }
                ("out", Some((id, was_visitor, space, in_at))) => {
                    store::close_stay(c, id, p.at)?;
                    if let Some(s) = space {
                        store::set_occupied(c, s, false)?;
                    }
                    if was_visitor {
                        let lim = match limit {
                            Some(l) => l,
                            None => {
                                let l = store::rules(c, g.estate_id)?
                                    .into_iter()
                                    .find(|r| r.kind == "visitor_limit")
                                    .map(|r| r.a);
                                limit = Some(l);
                                l
                            }
                        };
                        if let Some(minutes) = lim
                            && p.at - in_at > minutes * 60_000
                        {
                            breach(c, g, &p.credential, (p.at - in_at) / 60_000, minutes, now)?;
                        }
                    }
                }
                // A second "in" without an "out" (a missed read) or an "out" of a vehicle never
                // seen coming in: kept in the log, the count unchanged.
                _ => {}
            }
        }
        rows.push((p, visitor));
    }
    store::insert_passages(c, g, &rows)?;
    if plates {
        let inside = store::inside(c, g.estate_id)?;
        store::note_hour(c, g, model::hour_of(now), inside)?;
    }
    Ok(())
}

/// The self-governed category breaches of parking rules are opened in (made at the first).
pub const BREACH_CATEGORY: &str = "parking_rule";

/// A visitor's vehicle stayed past the estate's limit: a case in the self-governed category
/// handled by the owners' committee.
fn breach(
    c: &mut dyn Conn,
    g: &Gate,
    plate: &str,
    stayed: i64,
    limit: i64,
    now: i64,
) -> AppResult<()> {
    if crate::cases::category_by_code(c, g.street_id, BREACH_CATEGORY)?.is_none() {
        crate::cases::save_category(
            c,
            g.street_id,
            &crate::cases::NewCategory {
                code: BREACH_CATEGORY.into(),
                name_zh: "停车自治规约".into(),
                name_en: "Parking rules (self-governed)".into(),
                group: "order".into(),
                fields: Vec::new(),
                accept_hours: 24,
                resolve_hours: 168,
                priority: 3,
                dup_radius_m: 0,
                verify_required: false,
                public: false,
                about_people: Some(false),
                governed_by: Some("owners_committee".into()),
            },
        )?;
    }
    let place = c_place(c, g)?;
    crate::cases::create(
        c,
        g.street_id,
        crate::cases::Channel::Sensor,
        &crate::cases::NewCase {
            category: BREACH_CATEGORY.into(),
            description: both(
                "gates.breach_visitor_limit",
                &[("plate", &plate), ("stayed", &stayed), ("limit", &limit)],
            ),
            place_id: place,
            reporter_name: g.name.clone(),
            terms_later: true,
            from_sensor: true,
            ..crate::cases::NewCase::default()
        },
        now,
    )?;
    Ok(())
}

fn c_place(c: &mut dyn Conn, g: &Gate) -> AppResult<Option<i64>> {
    let Some(e) = store::estate(c, g.estate_id)? else {
        return Ok(None);
    };
    Ok(store::estate_building(c, &e)?.map(|b| b.0))
}

/// The newest passages of an estate, for its keepers; every reading audited.
pub async fn access_log(
    state: &AppState,
    caller: &Caller,
    id: i64,
    limit: i64,
) -> AppResult<Vec<LogLine>> {
    let limit = limit.clamp(1, 1000);
    let caller2 = caller.clone();
    let (street, lines) = read(state, move |c| {
        let e = kept(c, &caller2, id)?;
        Ok((e.street_id, store::log(c, e.id, limit)?))
    })
    .await?;
    let purpose = both("gates.purpose.log", &[("id", &id), ("n", &lines.len())]);
    record(state, caller, street, Action::List, vec![], purpose).await?;
    Ok(lines)
}

/// Deletes passages past each estate's retention and passes long expired; each estate's purge
/// is recorded in the audit log in the same transaction (counts only: the log stays
/// verifiable, it never held the passages).
pub async fn purge_due(state: &AppState, now: i64) -> AppResult<u64> {
    state
        .db
        .write_tx(move |c| -> AppResult<u64> {
            let mut total = 0;
            for e in store::all_estates(c)? {
                let before = now - e.retention_days * 86_400_000;
                let n = store::purge(c, e.id, before)? + store::purge_passes(c, e.id, before)?;
                if n == 0 {
                    continue;
                }
                total += n;
                let mut entry = NewEntry::anonymous(Action::Change, "system");
                entry.street_id = Some(e.street_id);
                entry.purpose = Some(both(
                    "gates.purpose.purged",
                    &[("id", &e.id), ("n", &n), ("days", &e.retention_days)],
                ));
                audit::append(c, vec![entry])?;
            }
            Ok(total)
        })
        .await
}

// ---- visitors ---------------------------------------------------------------------------------

/// Where a resident lives, as gates see it: her estate and her unit's label.
pub struct Home {
    pub person: i64,
    pub estate: Estate,
    pub unit: String,
}

/// A resident's estate: her building's `estate` (or, where the building names none, her
/// community's name) among the estates registered in her community.
pub fn home_of(c: &mut dyn Conn, person: i64) -> AppResult<Option<Home>> {
    let Some(r) =
        crate::registry::residents::resident(c, person)?.filter(|r| r.residence != "left")
    else {
        return Ok(None);
    };
    let parts: Vec<&str> = r.place_path.split('/').collect();
    let prefixes: Vec<String> = (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
    let above = store::places_at(c, &prefixes)?;
    let Some(community) = above.iter().find(|p| p.1 == "community") else {
        return Ok(None);
    };
    let building = above.iter().find(|p| p.1 == "building");
    let name = building
        .and_then(|b| b.5.clone())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| community.2.clone());
    let Some(estate) = store::estate_named(c, community.0, &name)? else {
        return Ok(None);
    };
    let unit: Vec<String> = above
        .iter()
        .filter(|p| p.1 == "building" || p.1 == "unit")
        .map(|p| p.2.clone())
        .collect();
    Ok(Some(Home {
        person,
        estate,
        unit: unit.join(" "),
    }))
}

/// A pass as issued: its row, its code and the code as a QR image.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = GatePassIssued)]
pub struct Issued {
    pub pass: Pass,
    /// The signed code (what the QR holds; the guard may type it).
    pub code: String,
    /// The QR code as an SVG element.
    pub qr_svg: String,
}

pub struct Invite {
    pub visitor: String,
    pub valid_from: Option<i64>,
    pub valid_until: i64,
    pub entries: i64,
}

/// A resident invites a visitor: a pass for her estate, signed and expiring.
pub async fn invite(state: &AppState, caller: &Caller, inv: Invite) -> AppResult<Issued> {
    let now = now_ms();
    let visitor = inv.visitor.trim();
    let visitor = if visitor.is_empty() {
        "访客"
    } else {
        visitor
    }
    .to_string();
    if visitor.chars().count() > 40 {
        return Err(AppError::invalid("gates.err_visitor"));
    }
    crate::kernel::text::check_line(&visitor).map_err(AppError::invalid)?;
    let from = inv.valid_from.unwrap_or(now).max(now - 60_000);
    if inv.valid_until <= from || inv.valid_until <= now {
        return Err(AppError::invalid("gates.err_window"));
    }
    if inv.valid_until - from > model::MAX_WINDOW_MS {
        return Err(AppError::invalid("gates.err_window_long"));
    }
    if !(1..=model::MAX_ENTRIES).contains(&inv.entries) {
        return Err(AppError::invalid("gates.err_entries"));
    }
    let Some(person) = caller.person_id else {
        return Err(forbidden("gates.err_not_resident"));
    };
    let key = key(state)?.clone();
    let uid = caller.user_id;
    let (pass, code) = state
        .db
        .write_tx(move |c| -> AppResult<(Pass, String)> {
            let h = home_of(c, person)?.ok_or_else(|| forbidden("gates.err_no_estate"))?;
            let id = store::insert_pass(
                c,
                &store::NewPass {
                    street_id: h.estate.street_id,
                    estate_id: h.estate.id,
                    kind: "invited",
                    host_person: Some(person),
                    host_unit: &h.unit,
                    visitor: &visitor,
                    valid_from: from,
                    valid_until: inv.valid_until,
                    entries: inv.entries,
                    used: 0,
                    created_by: uid,
                    now,
                },
            )?;
            let pass = store::pass(c, id)?.ok_or_else(AppError::not_found)?;
            let code = model::sign(
                &key,
                &Claims {
                    pass_id: id,
                    estate_id: h.estate.id,
                    valid_from: from,
                    valid_until: inv.valid_until,
                    entries: inv.entries,
                },
            );
            Ok((pass, code))
        })
        .await?;
    let purpose = both("gates.purpose.invite", &[("id", &pass.id)]);
    record(
        state,
        caller,
        pass.street_id,
        Action::Change,
        vec![audit::person(person)],
        purpose,
    )
    .await?;
    let qr_svg = model::qr_svg(&code);
    Ok(Issued { pass, code, qr_svg })
}

/// A resident's own passes (valid, or ended within a day), with their codes.
pub async fn my_passes(state: &AppState, caller: &Caller) -> AppResult<Vec<Issued>> {
    let Some(person) = caller.person_id else {
        return Err(forbidden("gates.err_not_resident"));
    };
    let key = key(state)?.clone();
    let since = now_ms() - 86_400_000;
    let passes = read(state, move |c| Ok(store::passes_of(c, person, since)?)).await?;
    Ok(passes
        .into_iter()
        .map(|p| {
            let code = model::sign(
                &key,
                &Claims {
                    pass_id: p.id,
                    estate_id: p.estate_id,
                    valid_from: p.valid_from,
                    valid_until: p.valid_until,
                    entries: p.entries,
                },
            );
            Issued {
                qr_svg: model::qr_svg(&code),
                code,
                pass: p,
            }
        })
        .collect())
}

/// The guard checks a code at the gate: signature, window, estate, entries left. A valid pass
/// takes one entry; the guard sees the host's unit only. Refusals say why.
pub async fn check(state: &AppState, caller: &Caller, code: &str) -> AppResult<PassCheck> {
    if !is_keeper(caller) {
        return Err(forbidden("gates.err_not_keeper"));
    }
    let t = Tr(crate::kernel::ctx().lang);
    let refuse = |key: &str, unit: Option<String>| PassCheck {
        valid: false,
        host_unit: unit,
        reason: Some(t.s(key).to_string()),
        entries_left: None,
    };
    let vk = key(state)?.verifying_key();
    let claims = match model::verify(&vk, code) {
        Ok(c) => c,
        Err(k) => return Ok(refuse(k, None)),
    };
    let now = now_ms();
    let caller2 = caller.clone();
    let out = state
        .db
        .write_tx(
            move |c| -> AppResult<Result<Pass, (&'static str, Option<Pass>)>> {
                let Some(e) = store::estate(c, claims.estate_id)? else {
                    return Ok(Err(("gates.refused_forged", None)));
                };
                if !keeps(&caller2, &e) {
                    return Ok(Err(("gates.refused_other_estate", None)));
                }
                let Some(p) = store::pass(c, claims.pass_id)? else {
                    // Purged long after it expired.
                    return Ok(Err(("gates.refused_expired", None)));
                };
                if p.estate_id != claims.estate_id
                    || p.valid_from != claims.valid_from
                    || p.valid_until != claims.valid_until
                    || p.entries != claims.entries
                {
                    return Ok(Err(("gates.refused_forged", None)));
                }
                if let Err(k) = model::window(&claims, now) {
                    return Ok(Err((k, Some(p))));
                }
                if !store::take_entry(c, p.id)? {
                    return Ok(Err(("gates.refused_used", Some(p))));
                }
                Ok(Ok(store::pass(c, p.id)?.unwrap_or(p)))
            },
        )
        .await?;
    match out {
        Ok(p) => {
            let purpose = both("gates.purpose.check", &[("id", &p.id)]);
            record(
                state,
                caller,
                p.street_id,
                Action::Read,
                p.host_person.map(audit::person).into_iter().collect(),
                purpose,
            )
            .await?;
            Ok(PassCheck {
                valid: true,
                host_unit: Some(p.host_unit),
                reason: None,
                entries_left: Some(p.entries - p.used),
            })
        }
        Err((k, p)) => Ok(refuse(k, p.map(|p| p.host_unit))),
    }
}

/// The guard registers a delivery or service visitor who came without a pass (one entry, used
/// at once); the unit is as the visitor said it.
pub async fn walkin(
    state: &AppState,
    caller: &Caller,
    estate_id: i64,
    visitor: &str,
    unit: &str,
) -> AppResult<Pass> {
    let visitor = checked_name(visitor)?;
    let unit = unit.trim().to_string();
    if unit.chars().count() > 40 {
        return Err(AppError::invalid("gates.err_unit"));
    }
    crate::kernel::text::check_line(&unit).map_err(AppError::invalid)?;
    let caller2 = caller.clone();
    let now = now_ms();
    let p = state
        .db
        .write_tx(move |c| -> AppResult<Pass> {
            let e = kept(c, &caller2, estate_id)?;
            let id = store::insert_pass(
                c,
                &store::NewPass {
                    street_id: e.street_id,
                    estate_id: e.id,
                    kind: "walkin",
                    host_person: None,
                    host_unit: &unit,
                    visitor: &visitor,
                    valid_from: now,
                    valid_until: now + 4 * 3_600_000,
                    entries: 1,
                    used: 1,
                    created_by: caller2.user_id,
                    now,
                },
            )?;
            store::pass(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    let purpose = both("gates.purpose.walkin", &[("id", &p.id)]);
    record(state, caller, p.street_id, Action::Change, vec![], purpose).await?;
    Ok(p)
}

// ---- parking ----------------------------------------------------------------------------------

pub struct NewSpace {
    pub code: String,
    pub kind: String,
    pub row: i64,
    pub col: i64,
}

/// Adds spaces to an estate's car park (at most 5,000 at once); a code already used is refused.
pub async fn add_spaces(
    state: &AppState,
    caller: &Caller,
    estate_id: i64,
    spaces: Vec<NewSpace>,
) -> AppResult<usize> {
    if spaces.is_empty() || spaces.len() > 5_000 {
        return Err(AppError::invalid("gates.err_spaces"));
    }
    let mut rows = Vec::with_capacity(spaces.len());
    let mut seen = std::collections::HashSet::new();
    for s in spaces {
        let code = s.code.trim().to_string();
        if code.is_empty() || code.chars().count() > 20 || !seen.insert(code.clone()) {
            return Err(AppError::invalid("gates.err_space_code"));
        }
        crate::kernel::text::check_line(&code).map_err(AppError::invalid)?;
        if !model::SPACE_KINDS.contains(&s.kind.as_str()) {
            return Err(AppError::invalid("gates.err_space_kind"));
        }
        if !(0..=200).contains(&s.row) || !(0..=200).contains(&s.col) {
            return Err(AppError::invalid("gates.err_space_place"));
        }
        rows.push((code, s.kind, s.row, s.col));
    }
    let n = rows.len();
    let caller2 = caller.clone();
    let now = now_ms();
    let street = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let e = kept(c, &caller2, estate_id)?;
            for r in &rows {
                if store::space_code_taken(c, e.id, &r.0)? {
                    return Err(conflict("gates.err_space_exists"));
                }
            }
            store::insert_spaces(c, &e, &rows, now)?;
            Ok(e.street_id)
        })
        .await?;
    let purpose = both("gates.purpose.spaces", &[("id", &estate_id), ("n", &n)]);
    record(state, caller, street, Action::Change, vec![], purpose).await?;
    Ok(n)
}

/// Assigns a space to a plate; a space already assigned is refused with its reason.
pub async fn assign(
    state: &AppState,
    caller: &Caller,
    space_id: i64,
    plate: &str,
    holder: &str,
) -> AppResult<i64> {
    let plate = model::plate(plate);
    if plate.is_empty() || plate.chars().count() > 12 {
        return Err(AppError::invalid("gates.err_plate"));
    }
    crate::kernel::text::check_line(&plate).map_err(AppError::invalid)?;
    let holder = holder.trim().to_string();
    if holder.chars().count() > 40 {
        return Err(AppError::invalid("gates.err_holder"));
    }
    crate::kernel::text::check_line(&holder).map_err(AppError::invalid)?;
    let caller2 = caller.clone();
    let now = now_ms();
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let (estate_id, _) = store::space(c, space_id)?.ok_or_else(AppError::not_found)?;
            let e = kept(c, &caller2, estate_id)?;
            if store::assigned(c, space_id)?.is_some() {
                return Err(conflict("gates.err_assigned_twice"));
            }
            let id = store::assign(c, &e, space_id, &plate, &holder, caller2.user_id, now)?;
            Ok((id, e.street_id))
        })
        .await?;
    let purpose = both("gates.purpose.assign", &[("id", &space_id)]);
    record(state, caller, street, Action::Change, vec![], purpose).await?;
    Ok(id)
}

#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ParkingOccupancy)]
pub struct Occupancy {
    pub estate_id: i64,
    pub spaces: i64,
    pub occupied: i64,
    /// Vehicles inside now (visitors without a space included).
    pub inside: i64,
    /// The last 48 hours, by China hour.
    pub hours: Vec<store::Hour>,
}

pub async fn occupancy(state: &AppState, caller: &Caller, estate_id: i64) -> AppResult<Occupancy> {
    let caller = caller.clone();
    let from = model::hour_of(now_ms()) - 47;
    read(state, move |c| {
        let e = kept(c, &caller, estate_id)?;
        let spaces = store::spaces(c, e.id)?;
        Ok(Occupancy {
            estate_id: e.id,
            spaces: spaces.len() as i64,
            occupied: spaces.iter().filter(|s| s.occupied).count() as i64,
            inside: store::inside(c, e.id)?,
            hours: store::hours(c, e.id, from)?,
        })
    })
    .await
}

/// The spaces of an estate the caller keeps (for the plan).
pub async fn spaces(
    state: &AppState,
    caller: &Caller,
    estate_id: i64,
) -> AppResult<(Estate, Vec<Space>)> {
    let caller = caller.clone();
    read(state, move |c| {
        let e = kept(c, &caller, estate_id)?;
        let s = store::spaces(c, e.id)?;
        Ok((e, s))
    })
    .await
}

/// The car park drawn as SVG: a grid of spaces by row and column, each coloured by its kind
/// and filled when taken. Plates are not drawn.
pub fn plan_svg(spaces: &[Space], t: &Tr) -> String {
    use std::fmt::Write;
    const W: i64 = 28;
    const H: i64 = 44;
    const GAP: i64 = 4;
    let cols = spaces.iter().map(|s| s.col).max().unwrap_or(0) + 1;
    let rows = spaces.iter().map(|s| s.row).max().unwrap_or(0) + 1;
    let (w, h) = (cols * (W + GAP) + GAP, rows * (H + GAP) + GAP);
    let mut out = String::with_capacity(spaces.len() * 160 + 400);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"parking-plan\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" aria-label=\"{}\">",
        t.s("gates.plan")
    );
    for s in spaces {
        let x = GAP + s.col * (W + GAP);
        let y = GAP + s.row * (H + GAP);
        let state = if s.occupied { "taken" } else { "free" };
        let fill = match (s.kind.as_str(), s.occupied) {
            (_, true) => "#b3261e",
            ("visitor", false) => "#cfe8cf",
            ("shared", false) => "#d6e4f5",
            _ => "#eeeeee",
        };
        let code = crate::kernel::text::fold_width(&s.code)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let _ = write!(
            out,
            "<g class=\"space {state} kind-{}\" data-id=\"{}\"><title>{code} · {} · {}</title><rect x=\"{x}\" y=\"{y}\" width=\"{W}\" height=\"{H}\" rx=\"3\" fill=\"{fill}\" stroke=\"#666\"/><text x=\"{}\" y=\"{}\" font-size=\"8\" text-anchor=\"middle\">{code}</text></g>",
            s.kind,
            s.id,
            t.k("gates.space_kind", &s.kind),
            t.s(if s.occupied {
                "gates.taken"
            } else {
                "gates.free"
            }),
            x + W / 2,
            y + H / 2 + 3,
        );
    }
    out.push_str("</svg>");
    out
}

// ---- rules ------------------------------------------------------------------------------------

pub struct NewRule {
    pub kind: String,
    pub vote_id: Option<i64>,
    pub a: i64,
    pub b: i64,
    pub note: String,
}

/// A self-governed rule, made by an owners' vote of the estate that closed approved; the rule
/// records the vote. Without such a vote it is refused with the reason.
pub async fn add_rule(
    state: &AppState,
    caller: &Caller,
    estate_id: i64,
    r: NewRule,
) -> AppResult<Rule> {
    if !model::RULE_KINDS.contains(&r.kind.as_str()) {
        return Err(AppError::invalid("gates.err_rule_kind"));
    }
    let ok = match r.kind.as_str() {
        "time_shared" => (0..1440).contains(&r.a) && (0..=1440).contains(&r.b) && r.a != r.b,
        "visitor_limit" => (1..=10_080).contains(&r.a),
        _ => (0..=100_000).contains(&r.a),
    };
    if !ok {
        return Err(AppError::invalid("gates.err_rule_numbers"));
    }
    let note = r.note.trim().to_string();
    if note.chars().count() > 200 {
        return Err(AppError::invalid("gates.err_note"));
    }
    crate::kernel::text::check_line(&note).map_err(AppError::invalid)?;
    let Some(vote_id) = r.vote_id else {
        return Err(AppError::invalid("gates.err_rule_no_vote"));
    };
    let caller2 = caller.clone();
    let now = now_ms();
    let rule = state
        .db
        .write_tx(move |c| -> AppResult<Rule> {
            let e = kept(c, &caller2, estate_id)?;
            passed(c, &e, vote_id, now)?;
            let id = store::insert_rule(
                c,
                &e,
                &r.kind,
                vote_id,
                r.a,
                r.b,
                &note,
                caller2.user_id,
                now,
            )?;
            store::rules(c, e.id)?
                .into_iter()
                .find(|x| x.id == id)
                .ok_or_else(AppError::not_found)
        })
        .await?;
    let street = read(state, move |c| {
        Ok(store::estate(c, estate_id)?
            .map(|e| e.street_id)
            .unwrap_or(0))
    })
    .await?;
    let purpose = both(
        "gates.purpose.rule",
        &[("id", &rule.id), ("vote", &vote_id)],
    );
    record(state, caller, street, Action::Change, vec![], purpose).await?;
    Ok(rule)
}

/// The vote is an owners' vote of this estate that closed and was approved.
fn passed(c: &mut dyn Conn, e: &Estate, vote_id: i64, now: i64) -> AppResult<()> {
    let v = crate::votes::store::get(c, vote_id)?
        .filter(|v| {
            v.street_id == e.street_id
                && v.scope_kind == crate::votes::ScopeKind::Estate
                && v.estate.as_deref() == Some(e.name.as_str())
        })
        .ok_or_else(|| AppError::invalid("gates.err_rule_no_vote"))?;
    if now < v.closes_at {
        return Err(AppError::invalid("gates.err_rule_vote_open"));
    }
    let totals = crate::votes::store::totals(c, v.id)?;
    let tally = crate::votes::store::tally(c, v.id)?;
    if !crate::votes::count(v.matter, &totals, &tally).approved {
        return Err(AppError::invalid("gates.err_rule_vote_failed"));
    }
    Ok(())
}

pub async fn rules(state: &AppState, caller: &Caller, estate_id: i64) -> AppResult<Vec<Rule>> {
    let caller = caller.clone();
    read(state, move |c| {
        let e = kept(c, &caller, estate_id)?;
        Ok(store::rules(c, e.id)?)
    })
    .await
}
