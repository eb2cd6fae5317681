//! The registry's records beside persons: housing units (area, use, owners and their shares),
//! households as editable records, rental registrations (出租房备案) with their tenants,
//! vehicles, and the tags an administrator defines. Every change keeps a version (who, when,
//! from which source, what) in `record_versions`. Reads take the caller's scope into their SQL;
//! a record outside it is "not found".

use crate::kernel::Code;
use serde::{Deserialize, Serialize};

use crate::org::Scope;
use crate::params;
use crate::registry::idnum::IdNumber;
use crate::registry::import::parse_date;
use crate::registry::plate::{Area, Plate, UNIT_USES, unit_use};
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val, now_ms, under_paths};

/// Why a change was refused: not found (or outside the scope), invalid input, or a clash
/// with an existing record. Messages are bilingual, as the import's reasons are.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    NotFound,
    Invalid(String),
    Conflict(String),
}

pub type Outcome<T> = std::result::Result<T, Refusal>;

/// A refusal kept in both languages (a catalogue key's "中文 / English"), of which the reader
/// gets her half.
fn invalid<T>(key: &str) -> Result<Outcome<T>> {
    Ok(Err(Refusal::Invalid(crate::kernel::i18n::both(key, &[]))))
}

fn conflict<T>(key: &str) -> Result<Outcome<T>> {
    Ok(Err(Refusal::Conflict(crate::kernel::i18n::both(key, &[]))))
}

impl From<Refusal> for crate::kernel::error::AppError {
    fn from(r: Refusal) -> Self {
        use crate::kernel::StatusCode;
        match r {
            Refusal::NotFound => crate::kernel::error::AppError::not_found(),
            Refusal::Invalid(m) => crate::kernel::error::AppError::with_message(
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::Invalid,
                m,
            ),
            Refusal::Conflict(m) => crate::kernel::error::AppError::with_message(
                StatusCode::CONFLICT,
                Code::Conflict,
                m,
            ),
        }
    }
}

/// One change to a record.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RecordVersion {
    /// Unix milliseconds.
    pub at: i64,
    pub actor: Option<String>,
    /// form, import or api.
    pub source: String,
    /// `{"field": [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// Who makes a change, and through what.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: i64,
    pub source: &'a str,
}

fn keep_version(
    c: &mut dyn Conn,
    street_id: i64,
    entity: &str,
    entity_id: i64,
    who: Actor<'_>,
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    c.exec(
        "INSERT INTO record_versions (street_id, entity, entity_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![street_id, entity, entity_id, now_ms(), who.user_id, who.source, serde_json::Value::Object(changes).to_string()],
    )?;
    Ok(())
}

pub fn versions(c: &mut dyn Conn, entity: &str, entity_id: i64) -> Result<Vec<RecordVersion>> {
    let rows = c.query(
        "SELECT v.at, v.actor_id, v.source, v.changes FROM record_versions v \
         WHERE v.entity = $1 AND v.entity_id = $2 ORDER BY v.at DESC, v.id DESC LIMIT 200",
        params![entity, entity_id],
    )?;
    let names = crate::org::users::usernames(c, rows.iter().filter_map(|r| r.opt_i64(1)))?;
    Ok(rows
        .iter()
        .map(|r| RecordVersion {
            at: r.i64(0),
            actor: r.opt_i64(1).and_then(|id| names.get(&id).cloned()),
            source: r.str(2),
            changes: serde_json::from_str(&r.str(3)).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

/// A version's changes as a reader reads them: "居住状态：常住 → 暂住；联系电话：*** → 138****5678",
/// each field and each coded value in the reader's language (never the stored JSON).
pub fn describe_changes(changes: &serde_json::Value, t: crate::kernel::i18n::Tr) -> String {
    use serde_json::Value;
    let family = |field: &str| match field {
        "relation" => Some("relation"),
        "residence" => Some("residence"),
        "presence" => Some("presence"),
        "unit_use" => Some("use"),
        "state" => Some("rental_state"),
        _ => None,
    };
    let value = |field: &str, v: &Value| -> String {
        match v {
            Value::Null => "—".to_string(),
            Value::Bool(b) => t.s(if *b { "change.yes" } else { "change.no" }).to_string(),
            Value::String(s) if s.is_empty() => "—".to_string(),
            Value::String(s) => match family(field) {
                Some(f) => t.k_or(f, s),
                None => s.clone(),
            },
            Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join("、"),
            other => other.to_string(),
        }
    };
    let Some(map) = changes.as_object() else {
        return String::new();
    };
    let sep = if t.0 == crate::kernel::i18n::Lang::En {
        "; "
    } else {
        "；"
    };
    map.iter()
        .map(|(field, v)| {
            let label = t.k_or("change", field);
            match v.as_array().filter(|a| a.len() == 2) {
                Some(pair) => format!(
                    "{label}{} {} → {}",
                    if t.0 == crate::kernel::i18n::Lang::En {
                        ":"
                    } else {
                        "："
                    },
                    value(field, &pair[0]),
                    value(field, &pair[1])
                ),
                None => format!("{label}：{}", value(field, v)),
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// A person named on another record: owner, landlord, tenant, vehicle owner.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    pub id: i64,
    pub name: String,
    pub id_number_masked: Option<String>,
}

/// A person picked on another record, with where she is registered.
struct Picked {
    person: PersonRef,
    street_id: i64,
    place_path: String,
}

/// Finds the person a record names (owner, landlord, tenant, vehicle owner) by id or by ID
/// number (through the blind index), **only among the residents the caller may read** and, when
/// `street` is given, of that street. Someone outside the scope is refused exactly as someone
/// who does not exist, so the lookup cannot tell whether an ID number is registered elsewhere.
fn find_person(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &Scope,
    street: Option<i64>,
    pick: &PersonPick,
    not_found: &str,
) -> Result<Outcome<Picked>> {
    let mut p = Vec::new();
    let mut cond = under_paths("place_path", &scope.registry, 1, &mut p);
    if let Some(s) = street {
        p.push(Val::Int(s));
        cond = format!("{cond} AND street_id = ${}", p.len());
    }
    if let Some(id) = pick.person_id {
        p.push(Val::Int(id));
        cond = format!("{cond} AND id = ${}", p.len());
    } else if let Some(text) = pick.id_number.as_deref() {
        let idn = match IdNumber::parse(text) {
            Ok(i) => i,
            Err(e) => return Ok(Err(Refusal::Invalid(e.to_string()))),
        };
        p.push(Val::Text(keys.blind_index("id_number", idn.as_str())));
        cond = format!("{cond} AND id_number_bidx = ${}", p.len());
    } else {
        return invalid("registry.refusal.person_pick_missing");
    }
    let sql = format!(
        "SELECT id, name, id_number_masked, street_id, place_path FROM persons WHERE {cond}"
    );
    match c.query_opt(&sql, &p)? {
        Some(r) => Ok(Ok(Picked {
            person: PersonRef {
                id: r.i64(0),
                name: r.str(1),
                id_number_masked: r.opt_str(2),
            },
            street_id: r.i64(3),
            place_path: r.str(4),
        })),
        None => invalid(not_found),
    }
}

/// The refusal for a person not found among those the caller keeps.
const NOT_REGISTERED: &str = "registry.refusal.not_registered";

/// A person picked by registry id or by ID number.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PersonPick {
    #[serde(default)]
    pub person_id: Option<i64>,
    #[serde(default)]
    pub id_number: Option<String>,
}

mod household_edits;
mod rentals;
mod tags;
mod units;
mod vehicles;

pub use household_edits::*;
pub use rentals::*;
pub use tags::*;
pub use units::*;
pub use vehicles::*;
