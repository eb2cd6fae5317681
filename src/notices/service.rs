//! The notices area's use cases, shared by the pages and the API.
//!
//! **Who publishes.** A worker who keeps residents' records (a street or district
//! administrator, a community or grid worker) writes notices for the places she keeps: every
//! place and household of the audience must lie in her scope. She and the workers above her
//! place manage the notice (publish, withdraw, read its receipts).
//!
//! **Who follows up.** The receipts per building, and the list of those in a building who have
//! not opened it, are read by whoever manages the notice and by the workers and building
//! leaders (volunteers) whose places hold the building — each sees only her own buildings. The
//! list shows the flat and the name masked (`502室 张**`) and is written to the audit log with
//! the residents it names; marking one of them told in person or on paper is audited too.
//!
//! **Who reads.** A recipient reads her notice (a resident by her record, a worker by her
//! account); opening it records `read_at`, the acknowledge button `ack_at`. Anyone else gets
//! 404: the existence of a notice is not told outside its audience.
//!
//! **The denominator.** Recipients are frozen at publication, in the publishing transaction:
//! a person moving in afterwards is not counted, one moving away stays counted.

use super::model::{
    Audience, BuildingTotals, Draft, Kind, Notice, Received, State, Told, Unread, When,
};
use super::store::{self, NewNotice, Recipient, Whose};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::i18n::{Lang, Tr, both};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Role, Scope};
use crate::state::AppState;
use crate::store::Conn;

/// The most notices a feed or a list shows at once.
pub const LIST_LIMIT: i64 = 50;

/// The places a caller writes notices for: those whose residents' records she keeps.
fn publisher(caller: &Caller) -> AppResult<&[String]> {
    if caller.reads_registry() && !caller.scope.registry.is_empty() {
        Ok(&caller.scope.registry)
    } else {
        Err(AppError::forbidden())
    }
}

/// Whether the caller writes notices (the "new notice" button).
pub fn may_publish(caller: &Caller) -> bool {
    publisher(caller).is_ok()
}

/// The places where a caller follows up receipts: the records she keeps and, for a volunteer
/// (a building leader), the places of her volunteering.
pub fn follow_paths(caller: &Caller) -> Vec<String> {
    let mut paths = caller.scope.registry.clone();
    paths.extend(
        caller
            .grants
            .iter()
            .filter(|g| g.role == Role::Volunteer)
            .filter_map(|g| g.place.as_ref().map(|p| p.path.clone())),
    );
    paths.sort();
    paths.dedup();
    paths
}

/// Whether the caller manages a notice: its author, or a worker whose records cover the
/// author's place.
pub fn manages(caller: &Caller, n: &Notice) -> bool {
    n.author_id == caller.user_id
        || (caller.reads_registry() && Scope::covers(&caller.scope.registry, &n.author_path))
}

/// A recipient's key for a notice of a kind.
fn whose(caller: &Caller, kind: Kind) -> Option<Whose> {
    match kind {
        Kind::Residents => caller.person_id.map(Whose::Person),
        Kind::Workers => Some(Whose::User(caller.user_id)),
    }
}

/// An audience checked against what its author may reach, and put in words.
pub struct Resolved {
    pub street_id: i64,
    /// The places' paths (for a workers' notice without places: the author's).
    pub paths: Vec<String>,
    pub label: String,
}

/// Checks an audience: every place and household known, in `scope` (when given: a job
/// publishing a scheduled notice checked it when it was written) and in one street; every tag
/// and role known. `fallback` is the street and the places of a workers' notice that names
/// none.
pub fn resolve(
    c: &mut dyn Conn,
    a: &Audience,
    scope: Option<&[String]>,
    fallback: (Option<i64>, &[String]),
) -> AppResult<Resolved> {
    let places = store::places(c, &a.places)?;
    let mut street: Option<i64> = None;
    let mut same_street = |s: Option<i64>| -> AppResult<()> {
        match (street, s) {
            (_, None) => Err(AppError::invalid("notices.err_place_unknown")),
            (None, Some(s)) => {
                street = Some(s);
                Ok(())
            }
            (Some(a), Some(b)) if a == b => Ok(()),
            _ => Err(AppError::invalid("notices.err_streets")),
        }
    };
    let in_scope = |path: &str| scope.is_none_or(|s| Scope::covers(s, path));
    let mut paths = Vec::with_capacity(a.places.len());
    let mut names = Vec::with_capacity(a.places.len());
    for id in &a.places {
        let p = places
            .get(id)
            .ok_or_else(|| AppError::invalid("notices.err_place_unknown"))?;
        if !in_scope(&p.path) {
            return Err(AppError::invalid("notices.err_place_scope"));
        }
        same_street(p.street_id)?;
        paths.push(p.path.clone());
        names.push(p.name.clone());
    }
    for h in &a.households {
        let home = crate::registry::residents::household(c, *h)?
            .ok_or_else(|| AppError::invalid("notices.err_household_unknown"))?;
        if !in_scope(&home.unit_path) {
            return Err(AppError::invalid("notices.err_household_unknown"));
        }
        same_street(Some(home.street_id))?;
    }
    let street_id = match street {
        Some(s) => s,
        None => {
            paths = fallback.1.to_vec();
            fallback
                .0
                .ok_or_else(|| AppError::invalid("notices.err_audience_empty"))?
        }
    };
    let mut tag_names = [Vec::new(), Vec::new()];
    if !a.tags.is_empty() {
        for (i, en) in [false, true].into_iter().enumerate() {
            let known = crate::registry::records::tag_names(c, Some(street_id), en)?;
            for t in &a.tags {
                let (_, name) = known
                    .iter()
                    .find(|(code, _)| code == t)
                    .ok_or_else(|| AppError::invalid("notices.err_tag_unknown"))?;
                tag_names[i].push(name.clone());
            }
        }
    }
    let roles = a.parsed_roles()?;
    let label = [Lang::Zh, Lang::En]
        .into_iter()
        .enumerate()
        .map(|(i, lang)| {
            let t = Tr(lang);
            let sep = if lang == Lang::En { ", " } else { "、" };
            let mut parts = Vec::new();
            if !names.is_empty() {
                parts.push(t.fill("notices.aud_places", &[("names", &names.join(sep))]));
            }
            if !a.households.is_empty() {
                parts.push(t.fill("notices.aud_households", &[("n", &a.households.len())]));
            }
            if !tag_names[i].is_empty() {
                parts.push(t.fill("notices.aud_tags", &[("names", &tag_names[i].join(sep))]));
            }
            if !roles.is_empty() {
                let r: Vec<&str> = roles.iter().map(|r| t.s(&r.label_key())).collect();
                parts.push(t.fill("notices.aud_roles", &[("names", &r.join(sep))]));
            }
            if a.places.is_empty() && !roles.is_empty() {
                parts.push(t.s("notices.aud_own_places").to_string());
            }
            parts.join(" · ")
        })
        .collect::<Vec<_>>()
        .join(" / ");
    Ok(Resolved {
        street_id,
        paths,
        label,
    })
}

/// Whom a resolved audience reaches now (the author of a workers' notice is not among them).
pub fn recipients(
    c: &mut dyn Conn,
    r: &Resolved,
    a: &Audience,
    author: i64,
) -> AppResult<Vec<Recipient>> {
    let roles = a.parsed_roles()?;
    let out: Vec<Recipient> = if roles.is_empty() {
        crate::registry::residents::reached(c, r.street_id, &r.paths, &a.tags, &a.households)?
            .into_iter()
            .map(|p| Recipient {
                person_id: Some(p.person_id),
                user_id: None,
                building_id: p.building_id,
                unit_id: p.unit_id,
                place_path: p.place_path,
            })
            .collect()
    } else {
        crate::org::users::holding_roles_under(c, r.street_id, &roles, &r.paths)?
            .into_iter()
            .filter(|(u, _)| *u != author)
            .map(|(u, path)| Recipient {
                person_id: None,
                user_id: Some(u),
                building_id: 0,
                unit_id: None,
                place_path: path,
            })
            .collect()
    };
    if out.is_empty() {
        return Err(AppError::invalid("notices.err_nobody"));
    }
    Ok(out)
}

/// A short link's code: eight letters and digits that cannot be mistaken for one another.
pub(super) fn new_code(c: &mut dyn Conn) -> AppResult<String> {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut rng = rand::thread_rng();
    for _ in 0..8 {
        let code: String = (0..8)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        if store::by_code(c, &code)?.is_none() {
            return Ok(code);
        }
    }
    Err(AppError::internal("notices: code", "no free short code"))
}

/// The place a notice's author writes from: the first of her records' places.
fn author_path(caller: &Caller) -> String {
    caller.scope.registry.first().cloned().unwrap_or_default()
}

/// Writes a notice: kept as a draft, scheduled, or published now (its recipients frozen in
/// the same transaction). An audience that reaches nobody is refused and nothing is kept.
pub async fn create(state: &AppState, caller: &Caller, draft: Draft) -> AppResult<Notice> {
    let scope = publisher(caller)?.to_vec();
    let now = now_ms();
    let d = draft.checked(now)?;
    let (author_id, author) = (caller.user_id, caller.display_name.clone());
    let path = author_path(caller);
    let home = caller.street_id;
    let (id, reached) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let r = resolve(c, &d.audience, Some(&scope), (home, &scope))?;
            let code = new_code(c)?;
            let state = match d.when {
                When::Draft => State::Draft,
                When::At(_) => State::Scheduled,
                When::Now => State::Draft,
            };
            let id = store::insert(
                c,
                &NewNotice {
                    street_id: r.street_id,
                    kind: d.audience.kind(),
                    code: &code,
                    title: &d.title,
                    body: &d.body,
                    audience: &d.audience,
                    audience_label: &r.label,
                    ack_wanted: d.ack_wanted,
                    ack_by: d.ack_by,
                    state,
                    publish_at: match d.when {
                        When::At(t) => Some(t),
                        _ => None,
                    },
                    expires_at: d.expires_at,
                    author_id,
                    author: &author,
                    author_path: &path,
                    now,
                },
            )?;
            let mut reached = 0;
            if d.when == When::Now {
                let to = recipients(c, &r, &d.audience, author_id)?;
                reached = to.len() as i64;
                store::publish(c, id, r.street_id, &to, now)?;
            } else {
                // A draft or a scheduled notice must reach somebody today too.
                recipients(c, &r, &d.audience, author_id)?;
            }
            Ok((id, reached))
        })
        .await?;
    let purpose = both("notices.purpose.wrote", &[("id", &id), ("n", &reached)]);
    audit_change(state, caller, id, &purpose).await?;
    get(state, id).await
}

/// Writes a notice with attachments, as the page's one form does: every file is checked
/// before anything is kept; the notice is kept as a draft, the files attached, and then it is
/// published or scheduled as asked.
pub async fn create_with_files(
    state: &AppState,
    caller: &Caller,
    draft: Draft,
    files: Vec<(String, Vec<u8>)>,
) -> AppResult<Notice> {
    if files.is_empty() {
        return create(state, caller, draft).await;
    }
    if files.len() > super::files::MAX_FILES {
        return Err(AppError::invalid("notices.err_files_many"));
    }
    for (name, b) in &files {
        super::files::check(name, b)?;
    }
    draft.clone().checked(now_ms())?;
    let when = draft.when;
    let n = create(
        state,
        caller,
        Draft {
            when: When::Draft,
            ..draft
        },
    )
    .await?;
    for (name, b) in files {
        attach(state, caller, n.id, &name, b).await?;
    }
    match when {
        When::Now => publish(state, caller, n.id).await,
        When::At(t) => schedule(state, caller, n.id, t).await,
        When::Draft => get(state, n.id).await,
    }
}

/// Schedules a draft for a later time.
pub async fn schedule(state: &AppState, caller: &Caller, id: i64, at: i64) -> AppResult<Notice> {
    let n = managed(state, caller, id).await?;
    if !matches!(n.state, State::Draft | State::Scheduled) {
        return Err(state_conflict("notices.err_not_draft"));
    }
    let now = now_ms();
    if at <= now {
        return Err(AppError::invalid("notices.err_schedule_past"));
    }
    if n.expires_at.is_some_and(|e| e <= at) {
        return Err(AppError::invalid("notices.err_expires_before"));
    }
    state
        .db
        .write(move |c| store::schedule(c, id, at, now))
        .await?;
    let purpose = both("notices.purpose.scheduled", &[("id", &id)]);
    audit_change(state, caller, id, &purpose).await?;
    get(state, id).await
}

async fn audit_change(state: &AppState, caller: &Caller, _id: i64, purpose: &str) -> AppResult<()> {
    state
        .audit
        .record(NewEntry::by(caller, Action::Change).purpose(purpose.to_string()))
        .await?;
    Ok(())
}

async fn get(state: &AppState, id: i64) -> AppResult<Notice> {
    state
        .db
        .read(move |c| store::get(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A notice the caller manages, or 404.
async fn managed(state: &AppState, caller: &Caller, id: i64) -> AppResult<Notice> {
    let n = get(state, id).await?;
    if manages(caller, &n) {
        Ok(n)
    } else {
        Err(AppError::not_found())
    }
}

fn state_conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

/// Publishes a draft or a scheduled notice now.
pub async fn publish(state: &AppState, caller: &Caller, id: i64) -> AppResult<Notice> {
    let n = managed(state, caller, id).await?;
    if !matches!(n.state, State::Draft | State::Scheduled) {
        return Err(state_conflict("notices.err_not_draft"));
    }
    let scope = publisher(caller)?.to_vec();
    let now = now_ms();
    let author = n.author_id;
    let reached = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            // Read again in the transaction: the job may have published it meanwhile.
            let n = store::get(c, id)?.ok_or_else(AppError::not_found)?;
            if !matches!(n.state, State::Draft | State::Scheduled) {
                return Err(state_conflict("notices.err_not_draft"));
            }
            let r = resolve(c, &n.audience, Some(&scope), (Some(n.street_id), &scope))?;
            let to = recipients(c, &r, &n.audience, author)?;
            store::publish(c, id, n.street_id, &to, now)?;
            Ok(to.len() as i64)
        })
        .await?;
    let purpose = both("notices.purpose.published", &[("id", &id), ("n", &reached)]);
    audit_change(state, caller, id, &purpose).await?;
    get(state, id).await
}

/// Withdraws a notice: its recipients no longer see it; its receipts are kept.
pub async fn withdraw(state: &AppState, caller: &Caller, id: i64) -> AppResult<Notice> {
    let n = managed(state, caller, id).await?;
    if n.state == State::Withdrawn {
        return Err(state_conflict("notices.err_withdrawn"));
    }
    let now = now_ms();
    state
        .db
        .write(move |c| store::set_state(c, id, State::Withdrawn, now))
        .await?;
    let purpose = both("notices.purpose.withdrew", &[("id", &id)]);
    audit_change(state, caller, id, &purpose).await?;
    get(state, id).await
}

/// Publishes the scheduled notices whose time has come (the job, every half minute). One that
/// now reaches nobody goes back to its author as a draft with the reason.
pub async fn publish_due(state: &AppState) -> AppResult<usize> {
    let now = now_ms();
    let due = state.db.read(move |c| store::due(c, now, 20)).await?;
    let mut done = 0;
    for id in due {
        let result = state
            .db
            .write_tx(move |c| -> AppResult<Option<i64>> {
                let Some(n) = store::get(c, id)? else {
                    return Ok(None);
                };
                if n.state != State::Scheduled {
                    return Ok(None);
                }
                let outcome = resolve(
                    c,
                    &n.audience,
                    None,
                    (Some(n.street_id), std::slice::from_ref(&n.author_path)),
                )
                .and_then(|r| recipients(c, &r, &n.audience, n.author_id));
                match outcome {
                    Ok(to) => {
                        store::publish(c, id, n.street_id, &to, now)?;
                        Ok(Some(to.len() as i64))
                    }
                    Err(e) => {
                        let why = crate::kernel::i18n::both(&e.key, &[]);
                        store::set_problem(c, id, &why, now)?;
                        Ok(None)
                    }
                }
            })
            .await?;
        if let Some(n) = result {
            tracing::info!(
                area = "notices",
                notice = id,
                recipients = n,
                "scheduled notice published"
            );
            done += 1;
        }
    }
    Ok(done)
}

/// What the caller may see of a notice.
pub struct Opened {
    pub notice: Notice,
    /// Hers, when she is a recipient: `(read_at, ack_at)` after this opening.
    pub receipt: Option<(Option<i64>, Option<i64>)>,
    pub manages: bool,
    /// The receipts per building she follows up (all of them when she manages it).
    pub buildings: Option<Vec<BuildingTotals>>,
}

/// Opens a notice: a recipient's opening is recorded (the first time); a worker who manages
/// it or follows up some of its buildings sees the receipts. 404 for anyone else, and for a
/// recipient of a notice withdrawn (410) or not yet published.
pub async fn open(state: &AppState, caller: &Caller, id: i64) -> AppResult<Opened> {
    let n = get(state, id).await?;
    let manages = manages(caller, &n);
    let follow = follow_paths(caller);
    let who = whose(caller, n.kind);
    let now = now_ms();
    let published = n.state == State::Published;
    let (n, receipt, buildings) = state
        .db
        .write(move |c| {
            let receipt = match who {
                None => None,
                Some(w) => match store::receipt(c, id, w)? {
                    Some((seq, read, ack)) if published => {
                        if read.is_none() {
                            store::mark_read(c, id, seq, now)?;
                        }
                        Some((read.or(Some(now)), ack))
                    }
                    Some((_, read, ack)) => Some((read, ack)),
                    None => None,
                },
            };
            let buildings = if !published {
                None
            } else if manages {
                Some(store::buildings(c, id, None)?)
            } else if !follow.is_empty() {
                Some(store::buildings(c, id, Some(&follow))?).filter(|b| !b.is_empty())
            } else {
                None
            };
            // Read after the opening, so that its totals count it.
            let n = store::get(c, id)?.unwrap_or(n);
            Ok((n, receipt, buildings))
        })
        .await?;
    if n.state == State::Withdrawn && receipt.is_some() && !manages {
        return Err(AppError::new(
            StatusCode::GONE,
            Code::Gone,
            "notices.withdrawn",
        ));
    }
    if receipt.is_none() && !manages && buildings.is_none() {
        return Err(AppError::not_found());
    }
    Ok(Opened {
        notice: n,
        receipt,
        manages,
        buildings,
    })
}

/// A recipient acknowledges a notice that asks for it.
pub async fn acknowledge(state: &AppState, caller: &Caller, id: i64) -> AppResult<Received> {
    let n = get(state, id).await?;
    let who = whose(caller, n.kind).ok_or_else(AppError::not_found)?;
    let now = now_ms();
    let published = n.state == State::Published;
    let receipt = state
        .db
        .write(move |c| {
            let Some((seq, _, _)) = store::receipt(c, id, who)? else {
                return Ok(None);
            };
            if published {
                store::mark_ack(c, id, seq, now)?;
            }
            store::receipt(c, id, who)
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    if n.state == State::Withdrawn {
        return Err(AppError::new(
            StatusCode::GONE,
            Code::Gone,
            "notices.withdrawn",
        ));
    }
    if !published {
        return Err(AppError::not_found());
    }
    if !n.ack_wanted {
        return Err(AppError::invalid("notices.err_no_ack"));
    }
    let notice = get(state, id).await?;
    Ok(Received {
        notice,
        read_at: receipt.1,
        ack_at: receipt.2,
    })
}

/// The notices the caller received, newest first (a resident's by her record; a worker's by
/// her account).
pub async fn received(state: &AppState, caller: &Caller) -> AppResult<Vec<Received>> {
    let mut whose = vec![Whose::User(caller.user_id)];
    if let Some(p) = caller.person_id {
        whose.push(Whose::Person(p));
    }
    let mut out = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for w in whose {
                out.extend(store::received(c, w, LIST_LIMIT)?);
            }
            Ok(out)
        })
        .await?;
    out.sort_by_key(|r| std::cmp::Reverse((r.notice.published_at, r.notice.id)));
    out.truncate(LIST_LIMIT as usize);
    Ok(out)
}

/// How many current notices the caller has not opened (the home page's and the navigation's
/// count).
pub async fn unread_count(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let mut whose = vec![Whose::User(caller.user_id)];
    if let Some(p) = caller.person_id {
        whose.push(Whose::Person(p));
    }
    let now = now_ms();
    Ok(state
        .db
        .read(move |c| {
            let mut n = 0;
            for w in whose {
                n += store::unread_count(c, w, now)?;
            }
            Ok(n)
        })
        .await?)
}

/// The notices the caller manages, newest first, `LIST_LIMIT` before the id `before`.
pub async fn managed_list(
    state: &AppState,
    caller: &Caller,
    before: Option<i64>,
) -> AppResult<Vec<Notice>> {
    let paths = publisher(caller)?.to_vec();
    let Some(street) = caller.street_id else {
        return Ok(Vec::new());
    };
    let me = caller.user_id;
    // A district administrator's account names her district; her notices are the streets'.
    let district = caller.has(Role::DistrictAdmin);
    Ok(state
        .db
        .read(move |c| {
            if district {
                let mut out = Vec::new();
                for s in store::streets_under(c, &paths)? {
                    out.extend(store::managed(c, s, &paths, me, before, LIST_LIMIT)?);
                }
                out.sort_by_key(|n| std::cmp::Reverse(n.id));
                out.truncate(LIST_LIMIT as usize);
                Ok(out)
            } else {
                store::managed(c, street, &paths, me, before, LIST_LIMIT)
            }
        })
        .await?)
}

/// The paths a caller reads a notice's receipts under: all (`None`) when she manages it; her
/// own buildings' otherwise; 404 when she has none of its recipients.
async fn follow_scope(
    state: &AppState,
    caller: &Caller,
    n: &Notice,
) -> AppResult<Option<Vec<String>>> {
    if n.state != State::Published && n.state != State::Withdrawn {
        return Err(AppError::not_found());
    }
    if manages(caller, n) {
        return Ok(None);
    }
    let paths = follow_paths(caller);
    if paths.is_empty() {
        return Err(AppError::not_found());
    }
    let (id, p) = (n.id, paths.clone());
    let any = state
        .db
        .read(move |c| store::buildings(c, id, Some(&p)))
        .await?;
    if any.is_empty() {
        return Err(AppError::not_found());
    }
    Ok(Some(paths))
}

/// A notice's receipts per building the caller follows up.
pub async fn buildings(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<Vec<BuildingTotals>> {
    let n = get(state, id).await?;
    let paths = follow_scope(state, caller, &n).await?;
    Ok(state
        .db
        .read(move |c| store::buildings(c, id, paths.as_deref()))
        .await?)
}

/// Who in a building has not opened a notice: the flat, the name masked, whether she was told.
/// The residents named are written to the audit log.
pub async fn unread(
    state: &AppState,
    caller: &Caller,
    id: i64,
    building: i64,
) -> AppResult<Vec<Unread>> {
    let n = get(state, id).await?;
    let paths = follow_scope(state, caller, &n).await?;
    let list = state
        .db
        .read(move |c| {
            let mut list = store::unread_in(c, id, building, paths.as_deref())?;
            let persons: Vec<i64> = list.iter().filter_map(|u| u.person_id).collect();
            let users: Vec<i64> = list.iter().filter_map(|u| u.user_id).collect();
            let names = crate::registry::residents::names(c, &persons)?;
            let workers = crate::org::users::display_names(c, users)?;
            for u in &mut list {
                u.name_masked = match (u.person_id, u.user_id) {
                    (Some(p), _) => crate::kernel::text::mask_name(names.get(&p).map_or("", |s| s)),
                    (None, Some(w)) => workers.get(&w).cloned().unwrap_or_default(),
                    _ => String::new(),
                };
            }
            Ok(list)
        })
        .await?;
    let persons: Vec<i64> = list.iter().filter_map(|u| u.person_id).collect();
    if !persons.is_empty() {
        let mut e = NewEntry::by(caller, Action::List)
            .subjects(persons.into_iter().map(crate::audit::person))
            .purpose(both("notices.purpose.unread", &[("id", &id)]));
        e.street_id = Some(n.street_id);
        state.audit.record(e).await?;
    }
    Ok(list)
}

/// Marks a recipient who has not opened a notice as told in person or on paper, by the
/// caller. Refused when she has opened it already (409) or was told already.
pub async fn tell(
    state: &AppState,
    caller: &Caller,
    id: i64,
    seq: i64,
    how: Told,
) -> AppResult<Unread> {
    let n = get(state, id).await?;
    if n.state != State::Published {
        return Err(state_conflict("notices.err_not_published"));
    }
    let paths = follow_scope(state, caller, &n).await?;
    let (me, my_name) = (caller.user_id, caller.display_name.clone());
    let now = now_ms();
    let row = state
        .db
        .write_tx(move |c| -> AppResult<store::Row> {
            let row = store::recipient(c, id, seq)?.ok_or_else(AppError::not_found)?;
            if paths
                .as_ref()
                .is_some_and(|p| !Scope::covers(p, &row.place_path))
            {
                return Err(AppError::not_found());
            }
            if row.read_at.is_some() {
                return Err(state_conflict("notices.err_already_read"));
            }
            if row.told_at.is_some() {
                return Err(state_conflict("notices.err_already_told"));
            }
            store::mark_told(c, id, seq, how.as_str(), me, &my_name, now)?;
            Ok(row)
        })
        .await?;
    let mut e = NewEntry::by(caller, Action::Change)
        .subjects(row.person_id.map(crate::audit::person))
        .purpose(both(
            &format!("notices.purpose.told_{}", how.as_str()),
            &[("id", &id), ("seq", &seq)],
        ));
    e.street_id = Some(n.street_id);
    state.audit.record(e).await?;
    Ok(Unread {
        seq,
        unit: String::new(),
        name_masked: String::new(),
        told_at: Some(now),
        told_how: Some(how.as_str().to_string()),
        told_by: Some(caller.display_name.clone()),
        person_id: row.person_id,
        user_id: row.user_id,
    })
}

/// Attaches a file to a notice not yet published (its author or a worker above her).
pub async fn attach(
    state: &AppState,
    caller: &Caller,
    id: i64,
    name: &str,
    bytes: Vec<u8>,
) -> AppResult<super::model::FileRef> {
    let n = managed(state, caller, id).await?;
    if !matches!(n.state, State::Draft | State::Scheduled) {
        return Err(state_conflict("notices.err_files_published"));
    }
    if n.files.len() >= super::files::MAX_FILES {
        return Err(AppError::invalid("notices.err_files_many"));
    }
    let checked = super::files::check(name, &bytes)?;
    let dir = state.cfg.data_dir.clone();
    let (street, ext) = (n.street_id, checked.ext);
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let size = bytes.len() as i64;
    let stored =
        tokio::task::spawn_blocking(move || super::files::write(&dir, street, id, ext, &bytes))
            .await
            .map_err(|e| AppError::internal("notices: attach", e))?
            .map_err(|e| AppError::internal("notices: attach", e))?;
    let mut f = super::model::FileRef {
        id: 0,
        name: checked.name,
        mime: checked.mime.to_string(),
        bytes: size,
    };
    let now = now_ms();
    let (row, kept) = (
        super::model::FileRef {
            id: 0,
            name: f.name.clone(),
            mime: f.mime.clone(),
            bytes: size,
        },
        stored.clone(),
    );
    let result = state
        .db
        .write(move |c| store::add_file(c, street, id, &row, &digest, &kept, now))
        .await;
    match result {
        Ok(fid) => f.id = fid,
        Err(e) => {
            let _ = std::fs::remove_file(state.cfg.data_dir.join(&stored));
            return Err(e.into());
        }
    }
    let purpose = both(
        "notices.purpose.attached",
        &[("id", &id), ("name", &f.name)],
    );
    audit_change(state, caller, id, &purpose).await?;
    Ok(f)
}

/// An attachment's bytes, for whoever may open the notice.
pub async fn file(
    state: &AppState,
    caller: &Caller,
    id: i64,
    file: i64,
) -> AppResult<(super::model::FileRef, Vec<u8>)> {
    let n = get(state, id).await?;
    let allowed = manages(caller, &n)
        || {
            let who = whose(caller, n.kind);
            let published = n.state == State::Published;
            published
                && match who {
                    Some(w) => state
                        .db
                        .read(move |c| store::receipt(c, id, w))
                        .await?
                        .is_some(),
                    None => false,
                }
        }
        || (n.state == State::Published && follow_scope(state, caller, &n).await.is_ok());
    if !allowed {
        return Err(AppError::not_found());
    }
    let (f, stored) = state
        .db
        .read(move |c| store::file(c, id, file))
        .await?
        .ok_or_else(AppError::not_found)?;
    let path = state.cfg.data_dir.join(stored);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| AppError::internal("notices: file", e))?;
    Ok((f, bytes))
}

/// The notice a short link names.
pub async fn by_code(state: &AppState, code: &str) -> AppResult<i64> {
    let code: String = code
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    state
        .db
        .read(move |c| store::by_code(c, &code))
        .await?
        .ok_or_else(AppError::not_found)
}
