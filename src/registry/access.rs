//! Reading residents' records on behalf of a caller: scope first, then the audit entry, then
//! the data. Both the pages and the API go through here, so no route can forget either.

use crate::kernel::Code;
use serde::{Deserialize, Serialize};

use super::households::{self, Household};
use crate::audit::{self, Action, NewEntry};
use crate::kernel::error::{AppError, AppResult};
use crate::org::{Caller, Scope};
use crate::params;
use crate::state::AppState;

/// Reads one record for a caller: within scope, the read is logged with the subjects the
/// record shows; outside it (but existing), a denial is logged; either way nothing leaks.
async fn audited_read<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    denied_subject: String,
    read: impl FnOnce(&mut dyn crate::store::Conn, &Scope) -> crate::store::Result<(Option<T>, bool)>
    + Send
    + 'static,
    subjects: impl FnOnce(&T) -> Vec<String>,
    own: impl FnOnce(&T) -> bool,
) -> AppResult<T> {
    let scope = caller.scope.clone();
    let (found, exists) = state.db.read(move |c| read(c, &scope)).await?;
    match found {
        Some(v) => {
            let action = if own(&v) {
                Action::ReadOwn
            } else {
                Action::Read
            };
            state
                .audit
                .record(NewEntry::by(caller, action).subjects(subjects(&v)))
                .await?;
            Ok(v)
        }
        None => {
            if exists {
                state
                    .audit
                    .record(NewEntry::by(caller, Action::Denied).subjects([denied_subject]))
                    .await?;
            }
            Err(AppError::not_found())
        }
    }
}

/// A household's detail, audited; a household outside the scope is a logged denial and a 404.
pub async fn household(state: &AppState, caller: &Caller, id: i64) -> AppResult<Household> {
    audited_read(
        state,
        caller,
        audit::household(id),
        move |c, scope| {
            let h = households::get(c, scope, id)?;
            let exists = h.is_some()
                || c.query_opt("SELECT id FROM households WHERE id = $1", params![id])?
                    .is_some();
            Ok((h, exists))
        },
        |h| {
            std::iter::once(audit::household(h.id))
                .chain(h.members.iter().map(|m| audit::person(m.id)))
                .collect()
        },
        |h| {
            caller
                .person_id
                .is_some_and(|me| h.members.iter().any(|m| m.id == me))
        },
    )
    .await
}

/// Records that a list showing these people was shown.
pub async fn listed_people(
    state: &AppState,
    caller: &Caller,
    people: impl IntoIterator<Item = i64>,
) -> AppResult<()> {
    let subjects: Vec<String> = people.into_iter().map(audit::person).collect();
    if subjects.is_empty() {
        return Ok(());
    }
    state
        .audit
        .record(NewEntry::by(caller, Action::List).subjects(subjects))
        .await?;
    Ok(())
}

/// The households of a unit, audited as a list.
pub async fn unit_households(
    state: &AppState,
    caller: &Caller,
    list: &[households::HouseholdBrief],
) -> AppResult<()> {
    if list.is_empty() {
        return Ok(());
    }
    let subjects = list.iter().map(|h| audit::household(h.id));
    state
        .audit
        .record(NewEntry::by(caller, Action::List).subjects(subjects))
        .await?;
    Ok(())
}

/// Why a masked field is revealed: the purposes a worker picks from (plus free text).
pub const PURPOSES: [&str; 5] = [
    "home_visit",
    "service",
    "emergency",
    "verification",
    "other",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    IdNumber,
    Phone,
    /// The number of the person's emergency contact.
    EmergencyPhone,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::IdNumber => "id_number",
            Field::Phone => "phone",
            Field::EmergencyPhone => "emergency_phone",
        }
    }
}

/// Reveals one field of one person after logging the reveal with its purpose. The entry is
/// committed before the value leaves the server.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    person_id: i64,
    field: Field,
    purpose: &str,
    note: &str,
) -> AppResult<String> {
    if !PURPOSES.contains(&purpose) {
        return Err(AppError::invalid("error.purpose"));
    }
    let note = note.trim();
    if purpose == "other" && note.is_empty() {
        return Err(AppError::invalid("error.purpose_note"));
    }
    if note.chars().count() > 200 {
        return Err(AppError::invalid("error.purpose_long"));
    }
    crate::kernel::text::check_note(note).map_err(AppError::invalid)?;
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let scope: Scope = caller.scope.clone();
    let col = match field {
        Field::IdNumber => "id_number_enc",
        Field::Phone => "phone_enc",
        Field::EmergencyPhone => "emergency_phone_enc",
    };
    let row = state
        .db
        .read(move |c| {
            let mut p = vec![crate::store::Val::Int(person_id)];
            let cond = crate::store::under_paths("place_path", &scope.registry, 2, &mut p);
            let r = c.query_opt(
                &format!("SELECT {col} FROM persons WHERE id = $1 AND {cond}"),
                &p,
            )?;
            let exists = r.is_some()
                || c.query_opt("SELECT id FROM persons WHERE id = $1", params![person_id])?
                    .is_some();
            Ok((r, exists))
        })
        .await?;
    let (row, exists) = row;
    let Some(row) = row else {
        if exists {
            state
                .audit
                .record(NewEntry::by(caller, Action::Denied).subjects([audit::person(person_id)]))
                .await?;
        }
        return Err(AppError::not_found());
    };
    let Some(blob) = row.blob(0) else {
        return Err(AppError::new(
            crate::kernel::StatusCode::NOT_FOUND,
            Code::NoValue,
            "error.no_value",
        ));
    };
    let purpose_text = if note.is_empty() {
        purpose.to_string()
    } else {
        format!("{purpose}: {note}")
    };
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Reveal)
                .subjects([
                    audit::person(person_id),
                    format!("field:{}", field.as_str()),
                ])
                .purpose(purpose_text),
        )
        .await?;
    state
        .keys
        .decrypt(&blob)
        .ok_or_else(|| AppError::internal("decrypting a field", "the key does not open this value"))
}

/// A resident's copy of their own record (PIPL art. 45), with their own values in full.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OwnData {
    pub person_id: i64,
    pub name: String,
    pub sex: String,
    pub birth_date: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub relation: String,
    pub hukou_registered: bool,
    pub residence: String,
    pub presence: String,
    pub tags: Vec<String>,
    pub household: Option<Household>,
}

pub async fn own_data(state: &AppState, caller: &Caller) -> AppResult<OwnData> {
    let Some(pid) = caller.person_id else {
        return Err(AppError::new(
            crate::kernel::StatusCode::NOT_FOUND,
            Code::NoRecord,
            "error.no_record",
        ));
    };
    let scope = caller.scope.clone();
    let (row, tags, household) = state
        .db
        .read(move |c| {
            let row = c.query_one(
                "SELECT id, name, sex, birth_date, id_number_enc, phone_enc, relation, hukou_registered, residence, presence, household_id \
                 FROM persons WHERE id = $1",
                params![pid],
            )?;
            let tags: Vec<String> = c
                .query("SELECT tag FROM person_tags WHERE person_id = $1 ORDER BY tag", params![pid])?
                .iter()
                .map(|r| r.str(0))
                .collect();
            let household = match row.opt_i64(10) {
                Some(h) => households::get(c, &scope, h)?,
                None => None,
            };
            Ok((row, tags, household))
        })
        .await?;
    state
        .audit
        .record(NewEntry::by(caller, Action::SelfExport).subjects([audit::person(pid)]))
        .await?;
    Ok(OwnData {
        person_id: pid,
        name: row.str(1),
        sex: row.str(2),
        birth_date: row.str(3),
        id_number: row.blob(4).and_then(|b| state.keys.decrypt(&b)),
        phone: row.blob(5).and_then(|b| state.keys.decrypt(&b)),
        relation: row.str(6),
        hukou_registered: row.bool(7),
        residence: row.str(8),
        presence: row.str(9),
        tags,
        household,
    })
}

/// Who looked at the caller's own record and household.
/// The subjects of the signed-in resident's own access log: her record and her household.
fn my_subjects(caller: &Caller) -> Vec<String> {
    let mut subjects = Vec::new();
    if let Some(p) = caller.person_id {
        subjects.push(audit::person(p));
    }
    if let Some(h) = caller.scope.own_household {
        subjects.push(audit::household(h));
    }
    subjects
}

/// One page of who looked at the signed-in resident's record and household, newest first.
pub async fn my_accesses(
    state: &AppState,
    caller: &Caller,
    q: audit::AccessQuery,
) -> AppResult<audit::AccessPage> {
    let subjects = my_subjects(caller);
    let uid = caller.user_id;
    state.audit.flush_index().await?;
    Ok(state
        .db
        .read(move |c| audit::accesses(c, &subjects, uid, &q))
        .await?)
}

/// How many looks of each kind the signed-in resident's access log holds, over all of it.
pub async fn my_access_counts(
    state: &AppState,
    caller: &Caller,
) -> AppResult<Vec<audit::AccessCount>> {
    let subjects = my_subjects(caller);
    state.audit.flush_index().await?;
    Ok(state
        .db
        .read(move |c| audit::access_counts(c, &subjects))
        .await?)
}

/// A resident asks for a correction of their record; it becomes a task for the workers.
pub async fn request_correction(
    state: &AppState,
    caller: &Caller,
    field: &str,
    message: &str,
) -> AppResult<i64> {
    let Some(pid) = caller.person_id else {
        return Err(AppError::new(
            crate::kernel::StatusCode::NOT_FOUND,
            Code::NoRecord,
            "error.no_record",
        ));
    };
    if !super::corrections::FIELDS.contains(&field) {
        return Err(AppError::invalid("error.correction_field"));
    }
    let message = message.trim().to_string();
    if message.is_empty() || message.chars().count() > 500 {
        return Err(AppError::invalid("error.correction_message"));
    }
    crate::kernel::text::check_note(&message).map_err(AppError::invalid)?;
    let field = field.to_string();
    let id = state
        .db
        .write(move |c| super::corrections::create(c, pid, &field, &message))
        .await?;
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .subjects([audit::person(pid)])
                .purpose("correction requested"),
        )
        .await?;
    Ok(id)
}

/// A worker closes a correction request in their scope.
pub async fn close_correction(
    state: &AppState,
    caller: &Caller,
    id: i64,
    done: bool,
    reply: &str,
) -> AppResult<()> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let reply = reply.trim().to_string();
    if reply.chars().count() > 500 {
        return Err(AppError::invalid("error.correction_message"));
    }
    crate::kernel::text::check_note(&reply).map_err(AppError::invalid)?;
    let scope = caller.scope.registry.clone();
    let by = caller.user_id;
    let st = if done { "done" } else { "rejected" };
    let person = state
        .db
        .write(move |c| super::corrections::close(c, &scope, id, st, &reply, by))
        .await?
        .ok_or_else(AppError::not_found)?;
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Change)
                .subjects([audit::person(person)])
                .purpose(format!("correction {st}")),
        )
        .await?;
    Ok(())
}

/// Asks for an export of the residents under a place. Masked and within the limit: approved
/// at once. Otherwise it waits for a user one level up.
pub async fn request_export(
    state: &AppState,
    caller: &Caller,
    place_path: &str,
    unmasked: bool,
    reason: &str,
    filter: Option<super::persons::Search>,
) -> AppResult<super::export::ExportRequest> {
    use super::export;
    let reason = reason.trim().to_string();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(AppError::invalid("error.export_reason"));
    }
    let path = place_path.trim().to_string();
    let Some(root) = caller
        .scope
        .registry
        .iter()
        .find(|p| Scope::covers(std::slice::from_ref(p), &path))
        .cloned()
    else {
        return Err(AppError::invalid("error.place_not_found"));
    };
    let max = state.cfg.export_max_records;
    let valid_ms = state.cfg.export_valid_hours * 3_600_000;
    let uid = caller.user_id;
    let username = caller.username.clone();
    let street = caller.street_id;
    let keys = state.keys.clone();
    // A search's filters, without paging and without a place of their own (the export's is it).
    let filter = filter.map(|mut f| {
        f.under = None;
        f
    });
    let req = state
        .db
        .write_tx(move |c| -> AppResult<export::ExportRequest> {
            let place = crate::org::places::by_path(c, &path)?
                .ok_or_else(|| AppError::invalid("error.place_not_found"))?;
            let records = export::count(c, &keys, &place.path, filter.as_ref())?;
            let auto = (!unmasked && records <= max).then(|| crate::store::now_ms() + valid_ms);
            let id = export::create(
                c,
                export::NewRequest {
                    requester_id: uid,
                    street_id: street,
                    place_id: place.id,
                    place_path: &place.path,
                    requester_scope: &root,
                    unmasked,
                    reason: &reason,
                    records,
                    auto_approved_until: auto,
                    filter: filter.as_ref(),
                },
            )?;
            if auto.is_none() {
                // An account made shortly before it asks for an unmasked or large export is the
                // first half of "make an account, request with it, approve": tell the street.
                if let Some((created_at, Some(creator))) = crate::org::users::provenance(c, uid)?
                    && crate::store::now_ms() - created_at < VOUCH_WINDOW_MS
                {
                    crate::audit::anomaly::notify(
                        c,
                        street,
                        "new_account_export",
                        format!("new_account_export:{id}"),
                        Some(uid),
                        &username,
                        serde_json::json!({
                            "export": id,
                            "records": records,
                            "unmasked": unmasked,
                            "created_by": creator,
                            "account_age_days": (crate::store::now_ms() - created_at) / 86_400_000,
                        }),
                    )?;
                }
            }
            export::get(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Export)
                .subjects([format!("export:{}", req.id)])
                .purpose(format!("requested ({}): {}", req.state, req.reason)),
        )
        .await?;
    Ok(req)
}

/// Who created an account or granted it a role within this window may not approve its exports.
pub const VOUCH_WINDOW_MS: i64 = 30 * 86_400_000;

/// Approves or rejects an export request from one level up, by someone who did not create or
/// empower the requester's account in the last 30 days.
pub async fn decide_export(
    state: &AppState,
    caller: &Caller,
    id: i64,
    approve: bool,
    comment: &str,
) -> AppResult<()> {
    use super::export;
    let comment = comment.trim().to_string();
    if !approve && comment.is_empty() {
        return Err(AppError::invalid("error.export_comment"));
    }
    let scope = caller.scope.registry.clone();
    let uid = caller.user_id;
    let valid_ms = state.cfg.export_valid_hours * 3_600_000;
    let c2 = comment.clone();
    state
        .db
        .write_tx(move |c| -> AppResult<()> {
            let r = export::get(c, id)?.ok_or_else(AppError::not_found)?;
            if r.requester_id == uid || !export::above(&scope, &r.requester_scope) {
                return Err(AppError::forbidden());
            }
            if crate::org::users::vouched_for(
                c,
                uid,
                r.requester_id,
                crate::store::now_ms() - VOUCH_WINDOW_MS,
            )? {
                return Err(AppError::new(
                    crate::kernel::StatusCode::FORBIDDEN,
                    Code::Vouched,
                    "error.export_vouched",
                ));
            }
            if r.state != "pending" {
                return Err(AppError::new(
                    crate::kernel::StatusCode::CONFLICT,
                    Code::Decided,
                    "error.export_decided",
                ));
            }
            export::decide(c, id, uid, approve, &c2, crate::store::now_ms() + valid_ms)?;
            Ok(())
        })
        .await?;
    let what = if approve { "approved" } else { "rejected" };
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Export)
                .subjects([format!("export:{id}")])
                .purpose(format!("{what}: {comment}")),
        )
        .await?;
    Ok(())
}

/// The approved export's file, for its requester only, before it expires.
pub async fn download_export(
    state: &AppState,
    caller: &Caller,
    id: i64,
    xlsx: bool,
) -> AppResult<(String, Vec<u8>)> {
    use super::export;
    let uid = caller.user_id;
    let keys = state.keys.clone();

    let (req, bytes, people) = state
        .db
        .read(move |c| {
            let Some(r) = export::get(c, id)? else {
                return Ok(None);
            };
            if r.requester_id != uid {
                return Ok(None);
            }
            if r.state != "approved" || r.expires_at.unwrap_or(0) < crate::store::now_ms() {
                return Ok(Some((r, Vec::new(), Vec::new())));
            }
            let (rows, people) = {
                let filter: Option<super::persons::Search> = r
                    .filter
                    .as_deref()
                    .and_then(|f| serde_json::from_str(f).ok());
                export::table(c, &keys, &r.place_path, filter.as_ref(), r.unmasked)?
            };
            let bytes = if xlsx {
                export::xlsx(&rows, "persons")
            } else {
                export::to_csv(&rows)
            }
            .map_err(crate::store::StoreError::Db)?;
            Ok(Some((r, bytes, people)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    if bytes.is_empty() {
        return Err(AppError::new(
            crate::kernel::StatusCode::FORBIDDEN,
            Code::NotApproved,
            "error.export_not_ready",
        ));
    }
    state
        .audit
        .record(
            NewEntry::by(caller, Action::Export)
                .subjects(
                    std::iter::once(format!("export:{id}"))
                        .chain(people.into_iter().map(audit::person)),
                )
                .purpose(format!(
                    "{}{}",
                    if req.unmasked { "unmasked: " } else { "" },
                    req.reason
                )),
        )
        .await?;
    Ok((
        format!("linli-export-{id}.{}", if xlsx { "xlsx" } else { "csv" }),
        bytes,
    ))
}

/// One person's record, audited; outside the scope a logged denial and a 404.
pub async fn person(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> AppResult<super::persons::Person> {
    audited_read(
        state,
        caller,
        audit::person(id),
        move |c, scope| {
            let p = super::persons::get(c, scope, id)?;
            let exists = p.is_some() || super::persons::exists(c, id)?;
            Ok((p, exists))
        },
        move |_| vec![audit::person(id)],
        |_| caller.person_id == Some(id),
    )
    .await
}

/// A search of persons within the scope; the people shown are audited as a list.
pub async fn search_persons(
    state: &AppState,
    caller: &Caller,
    s: super::persons::Search,
) -> AppResult<(Vec<super::persons::PersonBrief>, Option<String>)> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let scope = caller.scope.clone();
    let keys = state.keys.clone();
    let purpose =
        s.q.clone()
            .filter(|q| !q.trim().is_empty())
            .map(|_| "search");
    let (list, next) = state
        .db
        .read(move |c| super::persons::search(c, &keys, &scope, &s))
        .await?;
    if !list.is_empty() {
        let mut e =
            NewEntry::by(caller, Action::List).subjects(list.iter().map(|p| audit::person(p.id)));
        if let Some(p) = purpose {
            e = e.purpose(p);
        }
        state.audit.record(e).await?;
    }
    Ok((list, next))
}

/// Changes a person's record (source: form or api), keeping a version and an audit entry.
pub async fn update_person(
    state: &AppState,
    caller: &Caller,
    id: i64,
    patch: super::persons::Patch,
    source: &'static str,
) -> AppResult<Vec<String>> {
    use super::persons::PatchError;
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let (scope, keys, uid) = (caller.scope.clone(), state.keys.clone(), caller.user_id);
    let r = state
        .db
        .write(move |c| {
            let r = super::persons::update(c, &keys, &scope, id, &patch, uid, source)?;
            let exists = r.is_some() || super::persons::exists(c, id)?;
            Ok((r, exists))
        })
        .await?;
    match r {
        (Some(Ok(changed)), _) => {
            if !changed.is_empty() {
                state
                    .audit
                    .record(
                        NewEntry::by(caller, Action::Change)
                            .subjects([audit::person(id)])
                            .purpose(format!("{source}: {}", changed.join(", "))),
                    )
                    .await?;
            }
            Ok(changed)
        }
        (Some(Err(PatchError::Key(k))), _) => Err(AppError::invalid(k)),
        (Some(Err(PatchError::Message(m))), _) => Err(AppError::with_message(
            crate::kernel::StatusCode::UNPROCESSABLE_ENTITY,
            Code::Invalid,
            m,
        )),
        (None, exists) => {
            if exists {
                state
                    .audit
                    .record(NewEntry::by(caller, Action::Denied).subjects([audit::person(id)]))
                    .await?;
            }
            Err(AppError::not_found())
        }
    }
}

/// A new person's record, checked exactly as an import row is.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewPerson {
    pub name: String,
    pub id_number: String,
    /// The unit's path (or its address).
    pub unit: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub relation: Option<String>,
    #[serde(default)]
    pub hukou_registered: Option<bool>,
    #[serde(default)]
    pub residence: Option<String>,
    #[serde(default)]
    pub presence: Option<String>,
    /// Tag codes (elderly_alone, disabled, …).
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Registers a person; 409 when the ID number is already registered, 422 with the reason an
/// import would give for anything else wrong.
pub async fn create_person(state: &AppState, caller: &Caller, p: NewPerson) -> AppResult<i64> {
    use super::import;
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let header: Vec<String> = [
        "姓名",
        "身份证号",
        "房屋",
        "联系电话",
        "与户主关系",
        "户籍",
        "居住状态",
        "人户状态",
        "标签",
        "备注",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let row = vec![
        p.name.clone(),
        p.id_number.clone(),
        p.unit.clone(),
        p.phone.clone().unwrap_or_default(),
        p.relation.clone().unwrap_or_default(),
        match p.hukou_registered {
            Some(false) => "非户籍".into(),
            _ => String::new(),
        },
        p.residence.clone().unwrap_or_default(),
        p.presence.clone().unwrap_or_default(),
        p.tags.join(","),
        p.notes.clone().unwrap_or_default(),
    ];
    let sheet = import::Sheet {
        rows: vec![(1, header), (2, row)],
    };
    let (keys, c2) = (state.keys.clone(), caller.clone());
    let scopes = caller.scope.registry.clone();
    let id_text = p.id_number.clone();
    let id = state
        .db
        .write_tx(move |c| -> AppResult<i64> {
            let mut last_refusal = None;
            for scope in &scopes {
                let who = import::Importer {
                    actor: Some(&c2),
                    source: "api",
                };
                let dry = import::import(c, &keys, scope, &sheet, true, &who, &mut |_, _| {})?
                    .map_err(|e| {
                        AppError::with_message(
                            crate::kernel::StatusCode::UNPROCESSABLE_ENTITY,
                            Code::Invalid,
                            e.to_string(),
                        )
                    })?;
                if dry.update > 0 || dry.unchanged > 0 {
                    return Err(AppError::new(
                        crate::kernel::StatusCode::CONFLICT,
                        Code::Conflict,
                        "error.person_exists",
                    ));
                }
                if dry.create == 1 {
                    import::import(c, &keys, scope, &sheet, false, &who, &mut |_, _| {})?.map_err(
                        |e| {
                            AppError::with_message(
                                crate::kernel::StatusCode::UNPROCESSABLE_ENTITY,
                                Code::Invalid,
                                e.to_string(),
                            )
                        },
                    )?;
                    let idn = super::idnum::IdNumber::parse(&id_text).map_err(|e| {
                        AppError::with_message(
                            crate::kernel::StatusCode::UNPROCESSABLE_ENTITY,
                            Code::Invalid,
                            e.to_string(),
                        )
                    })?;
                    let bidx = keys.blind_index("id_number", idn.as_str());
                    return Ok(c.query_i64(
                        "SELECT MAX(id) FROM persons WHERE id_number_bidx = $1",
                        params![bidx],
                    )?);
                }
                last_refusal = dry.refused.into_iter().next().map(|r| r.reason);
            }
            Err(match last_refusal {
                Some(reason) => AppError::with_message(
                    crate::kernel::StatusCode::UNPROCESSABLE_ENTITY,
                    Code::Invalid,
                    reason,
                ),
                None => AppError::invalid("error.place_not_found"),
            })
        })
        .await?;
    Ok(id)
}
