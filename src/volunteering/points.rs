//! Points as people see them: her balance and entries, a transfer to another person where the
//! street allows it, a worker's reversal with a reason, the balances of an organiser's
//! places, the certificate of hours (志愿服务证明), and the street's settings.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{self, organiser, participant};
use super::ledger::{self, Entry, Txn};
use super::service::{conflict, line, purpose, record};
use super::store::{self, Settings};
use crate::audit::{self, Action};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;

pub const ENTRIES_LIMIT: i64 = 100;
pub const BALANCES_LIMIT: i64 = 10_000;

/// A person's points.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringPoints)]
pub struct Mine {
    pub balance: i64,
    /// Newest first.
    pub entries: Vec<Entry>,
    /// Whether the street lets points pass between people.
    pub transfers: bool,
}

/// The caller's balance and entries.
pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Mine> {
    let street = participant(caller)?;
    let me = caller.user_id;
    Ok(state
        .db
        .read(move |c| {
            let transfers = store::settings(c, street)?.transfers;
            let Some(acct) = ledger::find(c, "person", me)? else {
                return Ok(Mine {
                    balance: 0,
                    entries: Vec::new(),
                    transfers,
                });
            };
            Ok(Mine {
                balance: ledger::balance(c, acct)?,
                entries: ledger::entries(c, acct, ENTRIES_LIMIT)?,
                transfers,
            })
        })
        .await?)
}

/// A transfer as typed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = VolunteeringTransferRequest)]
pub struct Transfer {
    /// The account name of the person who receives the points.
    pub to: String,
    pub points: i64,
    #[serde(default)]
    pub note: String,
}

/// Passes points to another person of the street (a volunteer or resident), where the street
/// allows it.
pub async fn transfer(state: &AppState, caller: &Caller, t: Transfer) -> AppResult<i64> {
    let street = participant(caller)?;
    if t.points <= 0 || t.points > 1_000_000 {
        return Err(AppError::invalid("volunteering.err_points"));
    }
    let note = t.note.trim().to_string();
    if note.chars().count() > ledger::MAX_REASON {
        return Err(AppError::invalid("volunteering.err_reason_long"));
    }
    crate::kernel::text::check_line(&note).map_err(AppError::invalid)?;
    let to = t.to.trim().to_string();
    let me = caller.user_id;
    let home = access::home_path(caller);
    let now = now_ms();
    let (id, to_id) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            if !store::settings(c, street)?.transfers {
                return Err(conflict("volunteering.err_transfers_off"));
            }
            let other = match crate::org::users::exists(c, &to)? {
                Some(id) => crate::org::users::by_id(c, id)?,
                None => None,
            }
            .filter(|u| {
                u.street_id == Some(street)
                    && u.grants.iter().any(|g| {
                        matches!(
                            g.role,
                            crate::org::Role::Volunteer | crate::org::Role::Resident
                        )
                    })
            })
            .ok_or_else(|| AppError::invalid("volunteering.err_to"))?;
            if other.id == me {
                return Err(AppError::invalid("volunteering.err_transfer_self"));
            }
            let other_home = other
                .grants
                .iter()
                .find_map(|g| g.place.as_ref().map(|p| p.path.clone()))
                .unwrap_or_default();
            let from = ledger::account(c, street, "person", me, &home, now)?;
            let into = ledger::account(c, street, "person", other.id, &other_home, now)?;
            let street_path = access::street_path(c, street)?;
            let id = ledger::transfer(
                c,
                &Txn {
                    street_id: street,
                    kind: "transfer",
                    community_path: &street_path,
                    reverses: None,
                    reason: &note,
                    by: me,
                },
                from,
                into,
                t.points,
                now,
            )?;
            Ok((id, other.id))
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        vec![audit::user(me), audit::user(to_id)],
        purpose("transferred", id),
    )
    .await?;
    Ok(id)
}

/// Reverses a transaction of the caller's places with a reason (a redemption it paid for is
/// withdrawn and its piece goes back on the shelf).
pub async fn reverse(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<i64> {
    let paths = organiser(caller)?;
    let reason = line(
        reason,
        ledger::MAX_REASON,
        "volunteering.err_reason",
        "volunteering.err_reason_long",
    )?;
    let me = caller.user_id;
    let now = now_ms();
    let (rid, street, owners) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64, Vec<i64>)> {
            let t = ledger::txn(c, id)?
                .filter(|t| Scope::covers(&paths, &t.community_path))
                .ok_or_else(AppError::not_found)?;
            let rid = ledger::reverse(c, id, &reason, me, now)?;
            store::cancel_by_txn(c, id)?;
            let mut owners = Vec::new();
            for (acct, _) in ledger::legs(c, id)? {
                if let Some(o) = ledger::person_of(c, acct)? {
                    owners.push(o);
                }
            }
            Ok((rid, t.street_id, owners))
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        owners.into_iter().map(audit::user).collect(),
        purpose("reversed", id),
    )
    .await?;
    Ok(rid)
}

/// A person's balance as an organiser sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringBalance)]
pub struct Balance {
    pub user_id: i64,
    pub name: String,
    pub balance: i64,
}

/// The balances of the people whose accounts belong to the organiser's places (audited with
/// them).
pub async fn balances(state: &AppState, caller: &Caller) -> AppResult<Vec<Balance>> {
    let paths = organiser(caller)?;
    let street = caller.street_id.unwrap_or_default();
    let list = state
        .db
        .read(move |c| {
            let rows = ledger::balances(c, street, &paths, BALANCES_LIMIT)?;
            let names = crate::org::users::display_names(c, rows.iter().map(|r| r.0))?;
            Ok(rows
                .into_iter()
                .map(|(u, b)| Balance {
                    user_id: u,
                    name: names.get(&u).cloned().unwrap_or_default(),
                    balance: b,
                })
                .collect::<Vec<_>>())
        })
        .await?;
    if !list.is_empty() {
        record(
            state,
            caller,
            Action::List,
            street,
            list.iter().map(|b| audit::user(b.user_id)).collect(),
            purpose("balances", street),
        )
        .await?;
    }
    Ok(list)
}

/// A line of a certificate.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringServed)]
pub struct Served {
    pub activity_id: i64,
    pub title: String,
    pub starts_at: i64,
    pub minutes: i64,
    /// Points earned (0 when the earning was reversed).
    pub points: i64,
}

/// A certificate of hours for a period.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringCertificate)]
pub struct Certificate {
    pub name: String,
    /// `YYYY-MM-DD`, both included.
    pub from: String,
    pub to: String,
    pub lines: Vec<Served>,
    pub minutes: i64,
    pub points: i64,
    pub issued_at: i64,
    /// What she is to the community, as her volunteer profile says.
    pub affiliation: crate::callups::volunteers::Affiliation,
    /// A party member's organisation, or her unit's name.
    pub affiliation_org: String,
}

fn day(s: &str) -> AppResult<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("volunteering.err_period"))
}

/// The caller's service within a period of days (this year to today when none is given).
pub async fn certificate(
    state: &AppState,
    caller: &Caller,
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<Certificate> {
    participant(caller)?;
    use chrono::Datelike;
    let today = crate::kernel::time::today();
    let from = match from.filter(|s| !s.trim().is_empty()) {
        Some(s) => day(s)?,
        None => chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
    };
    let to = match to.filter(|s| !s.trim().is_empty()) {
        Some(s) => day(s)?,
        None => today,
    };
    if to < from || (to - from).num_days() > 3660 {
        return Err(AppError::invalid("volunteering.err_period"));
    }
    let ms =
        |d: chrono::NaiveDate| crate::kernel::time::local_ms(d.year(), d.month(), d.day(), 0, 0);
    let (lo, hi) = (ms(from), ms(to + chrono::Duration::days(1)));
    let me = caller.user_id;
    let name = caller.display_name.clone();
    let (lines, (affiliation, affiliation_org)) = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for (s, a) in store::served(c, me, lo, hi)? {
                let reversed = match s.txn_id {
                    Some(t) => ledger::is_reversed(c, t)?,
                    None => false,
                };
                out.push(Served {
                    activity_id: a.id,
                    title: a.title,
                    starts_at: a.starts_at,
                    minutes: s.minutes,
                    points: if reversed { 0 } else { s.points },
                });
            }
            Ok((out, crate::callups::volunteers::affiliation_of(c, me)?))
        })
        .await?;
    Ok(Certificate {
        name,
        from: from.format("%Y-%m-%d").to_string(),
        to: to.format("%Y-%m-%d").to_string(),
        minutes: lines.iter().map(|l| l.minutes).sum(),
        points: lines.iter().map(|l| l.points).sum(),
        lines,
        issued_at: now_ms(),
        affiliation,
        affiliation_org,
    })
}

/// The street's settings (anyone of the street may read them).
pub async fn settings(state: &AppState, caller: &Caller) -> AppResult<Settings> {
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    Ok(state.db.read(move |c| store::settings(c, street)).await?)
}

/// Saves the street's settings (its administrator).
pub async fn save_settings(state: &AppState, caller: &Caller, s: Settings) -> AppResult<Settings> {
    let street = crate::org::access::street_admin(caller)?;
    let saved = s.clone();
    state
        .db
        .write(move |c| store::save_settings(c, street, &saved, now_ms()))
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        Vec::new(),
        purpose("settings", street),
    )
    .await?;
    Ok(s)
}
