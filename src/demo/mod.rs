//! `linli demo`: builds (or reuses) a realistic demo street in the data folder, with the fixed
//! demo accounts, so a person can log in as each kind of user.

pub mod names;
pub mod records;
pub mod synth;

use std::collections::HashMap;

use chrono::NaiveDate;
use synth::{DemoSize, StreetData};

use crate::org::{Role, users};
use crate::params;
use crate::registry::idnum::Phone;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Db, StoreError, Val, now_ms};

/// One demo account as the table after start-up shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DemoAccount {
    pub username: String,
    pub role: String,
    pub display_name: String,
    pub scope: String,
}

#[derive(Debug)]
pub struct DemoSummary {
    pub created: bool,
    pub streets: usize,
    pub persons: i64,
    pub accounts: Vec<DemoAccount>,
    /// A new Open311 integration key (shown once).
    pub open311_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{}", both("demo.err_other_size", &[("found", found), ("wanted", wanted)]))]
    OtherDemo { found: String, wanted: String },
    #[error("{}", both("demo.err_not_empty", &[]))]
    NotEmpty,
}

/// A command-line message from the catalogue in both languages, "English / 中文".
fn both(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    use crate::kernel::i18n::{Lang, Tr};
    format!(
        "{} / {}",
        Tr(Lang::En).fill(key, args),
        Tr(Lang::Zh).fill(key, args)
    )
}

/// Whether [`build`] would generate a demo (the database is empty) rather than reuse one.
pub fn needs_building(db: &Db) -> Result<bool, StoreError> {
    db.read_blocking(|c| {
        Ok(crate::store::meta(c, "demo")?.is_none()
            && c.query_i64("SELECT COUNT(*) FROM places", &[])? == 0)
    })
}

/// How many earlier cases the demo accounts' street gets: the size's own number, or
/// `LINLI_DEMO_CASE_HISTORY` (what `linli-bench pages --cases` sets, to measure the case pages
/// over a long history). A demo already built is reused whatever its history.
fn case_history(size: DemoSize) -> usize {
    std::env::var("LINLI_DEMO_CASE_HISTORY")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(size.case_history())
}

/// Builds the demo (or reuses the one already there) and sets every demo account's password.
pub fn build(
    db: &Db,
    keys: &FieldKeys,
    size: DemoSize,
    seed: u64,
    password: &str,
    today: NaiveDate,
    progress: &dyn Fn(usize, usize),
) -> Result<DemoSummary, DemoError> {
    let marker = format!("{}:{seed}", size.as_str());
    let existing = db.read_blocking(|c| {
        Ok((
            c.query_opt("SELECT value FROM meta WHERE key = 'demo'", &[])?
                .map(|r| r.str(0)),
            c.query_i64("SELECT COUNT(*) FROM places", &[])?,
        ))
    })?;
    let created = match existing {
        (Some(found), _) if found == marker => false,
        (Some(found), _) => {
            return Err(DemoError::OtherDemo {
                found,
                wanted: marker,
            });
        }
        (None, n) if n > 0 => return Err(DemoError::NotEmpty),
        (None, _) => {
            load(db, keys, size, seed, today, progress)?;
            true
        }
    };
    let hash = users::hash_password(password);
    let accounts = db.write_blocking(|c| {
        if created {
            create_accounts(c, &hash)?;
            crate::cases::demo::seed_catalogue(c, now_ms()).map_err(cases_error)?;
            crate::cases::demo::seed_history(c, keys, now_ms(), case_history(size), seed)
                .map_err(cases_error)?;
            crate::cases::demo::seed_cases(c, keys, now_ms()).map_err(cases_error)?;
            crate::sensing::demo::seed(c, keys, now_ms())?;
            crate::notices::demo::seed(c, now_ms())?;
            crate::reach::demo::seed(c, now_ms())?;
            // An open lift-retrofit vote in the demo resident's stairwell, of which she is an
            // owner (issue 22 part 4).
            if let (Some(resident), Some(worker)) =
                (users::exists(c, "jumin")?, users::exists(c, "shegong")?)
                && let Some(person) = users::by_id(c, resident)?.and_then(|u| u.person_id)
            {
                records::make_owner(c, person)?;
                crate::votes::demo::seed(c, person, worker, now_ms())?;
            }
            crate::deliberation::demo::seed(c, now_ms())?;
            crate::eligibility::demo::seed(c, now_ms())?;
            crate::supplies::demo::seed(c, now_ms())?;
            crate::sweeps::demo::seed(c, now_ms())?;
            crate::visits::demo::seed(c, keys, now_ms())?;
            crate::surveys::demo::seed(c, now_ms())?;
            crate::callups::demo::seed(c, keys, &hash, now_ms())?;
            crate::volunteering::demo::seed(c, now_ms())?;
            crate::sheets::demo::seed(c, now_ms())?;
            crate::funds::demo::seed(c, now_ms())?;
            crate::aid::demo::seed(c, now_ms())?;
            crate::gates::demo::seed(c, keys, now_ms())?;
            c.exec(
                "INSERT INTO meta (key, value) VALUES ('demo', $1)",
                params![marker.clone()],
            )?;
        } else {
            for (name, ..) in ACCOUNTS {
                if let Some(id) = users::exists(c, name)? {
                    users::set_password(c, id, &hash)?;
                    users::set_active(c, id, true)?;
                }
            }
        }
        Ok((account_table(c)?, crate::cases::demo::integration_key(c)?))
    })?;
    let (accounts, open311_key) = accounts;
    if created {
        // The population figures, a street per transaction.
        let day = crate::kernel::time::today();
        for street in db.read_blocking(|c| crate::registry::counts::stale_streets(c, day))? {
            db.write_blocking(|c| crate::registry::counts::recount(c, street, day))?;
        }
    }
    let persons = db.read_blocking(|c| c.query_i64("SELECT COUNT(*) FROM persons", &[]))?;
    Ok(DemoSummary {
        created,
        streets: size.streets(),
        persons,
        accounts,
        open311_key,
    })
}

fn cases_error(e: crate::cases::CaseError) -> StoreError {
    match e {
        crate::cases::CaseError::Store(e) => e,
        other => StoreError::Db(format!("seeding the demo cases: {other:?}")),
    }
}

/// Next free ids per table, so rows can be inserted in bulk with their links known.
struct Ids {
    place: i64,
    household: i64,
    person: i64,
    org: i64,
    tag: i64,
}

fn next_id(c: &mut dyn Conn, table: &str) -> Result<i64, StoreError> {
    c.query_i64(
        &format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"),
        &[],
    )
}

fn load(
    db: &Db,
    keys: &FieldKeys,
    size: DemoSize,
    seed: u64,
    today: NaiveDate,
    progress: &dyn Fn(usize, usize),
) -> Result<(), StoreError> {
    let district = synth::district(seed);
    let now = now_ms();
    let district_id = db.write_blocking(|c| {
        let id = next_id(c, "places")?;
        c.insert_many(
            "places",
            &[
                "id",
                "street_id",
                "parent_id",
                "kind",
                "code",
                "name",
                "path",
                "depth",
                "geojson",
                "created_at",
            ],
            &[vec![
                Val::Int(id),
                Val::Null,
                Val::Null,
                "district".into(),
                district.code.clone().into(),
                district.name.clone().into(),
                district.code.clone().into(),
                Val::Int(0),
                district.geojson.clone().into(),
                Val::Int(now),
            ]],
        )?;
        Ok(id)
    })?;
    let n = size.streets();
    // Generation of the next street overlaps with the insertion of this one.
    let (tx, rx) = std::sync::mpsc::sync_channel::<StreetData>(1);
    std::thread::scope(|s| -> Result<(), StoreError> {
        s.spawn(move || {
            for no in 0..n {
                if tx.send(synth::street(seed, size, no, today)).is_err() {
                    break;
                }
            }
        });
        for (no, data) in rx.iter().enumerate() {
            db.write_blocking(|c| {
                let mut ids = Ids {
                    place: next_id(c, "places")?,
                    household: next_id(c, "households")?,
                    person: next_id(c, "persons")?,
                    org: next_id(c, "organisations")?,
                    tag: next_id(c, "person_tags")?,
                };
                insert_street(c, keys, &district.code, district_id, &data, &mut ids, today)
            })?;
            progress(no + 1, n);
        }
        Ok(())
    })?;
    db.write_blocking(|c| {
        for t in [
            "places",
            "households",
            "persons",
            "organisations",
            "person_tags",
        ] {
            c.sync_id_sequence(t)?;
        }
        Ok(())
    })?;
    db.write_blocking(|c| records::seed(c, today))?;
    db.write_blocking(|c| crate::registry::grams::index_from(c, 0).map(|_| ()))?;
    Ok(())
}

fn insert_street(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    district_path: &str,
    district_id: i64,
    d: &StreetData,
    ids: &mut Ids,
    today: NaiveDate,
) -> Result<(), StoreError> {
    let now = now_ms();
    let base = ids.place;
    let street_id = base; // the street is the first place of its data
    let mut paths: Vec<String> = Vec::with_capacity(d.places.len());
    let mut rows = Vec::with_capacity(d.places.len());
    for (i, p) in d.places.iter().enumerate() {
        let (parent_id, parent_path, depth) = match p.parent {
            Some(pi) => {
                assert!(pi < i, "the generator lists parents before children");
                (
                    base + pi as i64,
                    paths[pi].clone(),
                    paths[pi].matches('/').count() as i64 + 2,
                )
            }
            None => (district_id, district_path.to_string(), 1),
        };
        let path = format!("{parent_path}/{}", p.code);
        rows.push(vec![
            Val::Int(base + i as i64),
            Val::Int(street_id),
            Val::Int(parent_id),
            p.kind.as_str().into(),
            p.code.clone().into(),
            p.name.clone().into(),
            path.clone().into(),
            Val::Int(depth),
            p.geojson.clone().into(),
            p.address.clone().into(),
            p.estate.clone().into(),
            p.floors.into(),
            p.stairwells.into(),
            p.floor_no.into(),
            p.stairwell_no.into(),
            p.area_m2.into(),
            p.unit_use.map(|u| u.as_str()).into(),
            Val::Int(now),
        ]);
        paths.push(path);
    }
    c.insert_many(
        "places",
        &[
            "id",
            "street_id",
            "parent_id",
            "kind",
            "code",
            "name",
            "path",
            "depth",
            "geojson",
            "address",
            "estate",
            "floors",
            "stairwells",
            "floor_no",
            "stairwell_no",
            "area_m2",
            "unit_use",
            "created_at",
        ],
        &rows,
    )?;
    ids.place += d.places.len() as i64;
    drop(rows);

    let mut org_rows = Vec::new();
    let mut org_place_rows = Vec::new();
    for (i, o) in d.orgs.iter().enumerate() {
        let id = ids.org + i as i64;
        org_rows.push(vec![
            Val::Int(id),
            Val::Int(street_id),
            o.kind.into(),
            o.code.clone().into(),
            o.name.clone().into(),
            Val::Int(now),
        ]);
        for pi in &o.serves {
            org_place_rows.push(vec![
                Val::Int(street_id),
                Val::Int(id),
                Val::Int(base + *pi as i64),
            ]);
        }
    }
    c.insert_many(
        "organisations",
        &["id", "street_id", "kind", "code", "name", "created_at"],
        &org_rows,
    )?;
    c.insert_many(
        "org_places",
        &["street_id", "org_id", "place_id"],
        &org_place_rows,
    )?;
    ids.org += d.orgs.len() as i64;

    let hh_base = ids.household;
    let person_base = ids.person;
    let hh_rows: Vec<Vec<Val>> = d
        .households
        .iter()
        .map(|h| {
            vec![
                Val::Int(hh_base + h.idx as i64),
                Val::Int(street_id),
                Val::Int(base + h.unit as i64),
                paths[h.unit].clone().into(),
                Val::Int(person_base + h.head as i64),
                h.registered.into(),
                Val::Int(now),
                Val::Int(now),
            ]
        })
        .collect();
    c.insert_many(
        "households",
        &[
            "id",
            "street_id",
            "unit_id",
            "place_path",
            "head_person_id",
            "registered",
            "created_at",
            "updated_at",
        ],
        &hh_rows,
    )?;
    ids.household += d.households.len() as i64;

    let mut person_rows = Vec::with_capacity(d.persons.len());
    let mut tag_rows = Vec::new();
    for p in &d.persons {
        let h = &d.households[p.household];
        let id = person_base + p.idx as i64;
        let idn = p.id_number.as_str();
        let phone = p.phone.as_deref().and_then(|s| Phone::parse(s).ok());
        person_rows.push(vec![
            Val::Int(id),
            Val::Int(street_id),
            Val::Int(hh_base + p.household as i64),
            Val::Int(base + h.unit as i64),
            paths[h.unit].clone().into(),
            p.name.clone().into(),
            p.sex.code().into(),
            p.birth_date.format("%Y-%m-%d").to_string().into(),
            keys.encrypt(idn).into(),
            keys.blind_index("id_number", idn).into(),
            p.id_number.masked().into(),
            phone.as_ref().map(|ph| keys.encrypt(ph.as_str())).into(),
            phone
                .as_ref()
                .map(|ph| keys.blind_index("phone", ph.as_str()))
                .into(),
            phone.as_ref().map(|ph| ph.masked()).into(),
            p.relation.into(),
            p.hukou_registered.into(),
            p.residence.into(),
            p.presence.into(),
            Val::Int(now),
            Val::Int(now),
        ]);
        for t in &p.tags {
            tag_rows.push(vec![
                Val::Int(ids.tag),
                Val::Int(street_id),
                Val::Int(id),
                (*t).into(),
                (today - chrono::Days::new(365))
                    .format("%Y-%m-%d")
                    .to_string()
                    .into(),
                "demo".into(),
                Val::Int(now),
            ]);
            ids.tag += 1;
        }
    }
    c.insert_many(
        "persons",
        &[
            "id",
            "street_id",
            "household_id",
            "unit_id",
            "place_path",
            "name",
            "sex",
            "birth_date",
            "id_number_enc",
            "id_number_bidx",
            "id_number_masked",
            "phone_enc",
            "phone_bidx",
            "phone_masked",
            "relation",
            "hukou_registered",
            "residence",
            "presence",
            "created_at",
            "updated_at",
        ],
        &person_rows,
    )?;
    ids.person += d.persons.len() as i64;
    c.insert_many(
        "person_tags",
        &[
            "id",
            "street_id",
            "person_id",
            "tag",
            "valid_from",
            "source",
            "created_at",
        ],
        &tag_rows,
    )?;
    Ok(())
}

/// The fixed demo accounts: name, role, display name.
pub const ACCOUNTS: [(&str, Role, &str); 7] = [
    ("admin", Role::StreetAdmin, "周建华"),
    ("shegong", Role::CommunityWorker, "陈静"),
    ("wangge", Role::GridWorker, "李敏"),
    ("bumen", Role::DeptHandler, "张伟"),
    ("wuye", Role::PropertyManager, "刘洋"),
    ("zhiyuan", Role::Volunteer, ""),
    ("jumin", Role::Resident, ""),
];

/// Where a demo account belongs: place, organisation, own registry record, display name.
type AccountPlacement = (Option<i64>, Option<i64>, Option<i64>, String);

fn create_accounts(c: &mut dyn Conn, hash: &str) -> Result<(), StoreError> {
    // The first street, its first community and that community's first grid.
    let street = c.query_one(
        "SELECT id, path FROM places WHERE kind = 'street' ORDER BY path LIMIT 1",
        &[],
    )?;
    let (street_id, street_path) = (street.i64(0), street.str(1));
    let mut p = Vec::new();
    let cond = crate::store::under_paths("path", std::slice::from_ref(&street_path), 1, &mut p);
    let community = c.query_one(
        &format!(
            "SELECT id, path FROM places WHERE kind = 'community' AND {cond} ORDER BY path LIMIT 1"
        ),
        &p,
    )?;
    let mut p2 = Vec::new();
    let cond2 = crate::store::under_paths("path", &[community.str(1)], 1, &mut p2);
    let grid = c.query_one(
        &format!(
            "SELECT id, path FROM places WHERE kind = 'grid' AND {cond2} ORDER BY path LIMIT 1"
        ),
        &p2,
    )?;
    let dept = c.query_one("SELECT id FROM organisations WHERE street_id = $1 AND kind = 'department' ORDER BY code LIMIT 1", params![street_id])?;
    let property = c
        .query_opt(
            "SELECT o.id FROM organisations o JOIN org_places op ON op.org_id = o.id \
             WHERE o.kind = 'property' AND op.place_id = $1 ORDER BY o.code LIMIT 1",
            params![community.i64(0)],
        )?
        .or(c.query_opt("SELECT id FROM organisations WHERE street_id = $1 AND kind = 'property' ORDER BY code LIMIT 1", params![street_id])?)
        .ok_or_else(|| StoreError::Db("the demo street has no property company".into()))?;
    // The resident is the head of a household in the grid worker's grid; the volunteer a
    // volunteer-tagged person of the same community.
    let mut pg = Vec::new();
    let gcond = crate::store::under_paths("p.place_path", &[grid.str(1)], 1, &mut pg);
    let resident = c.query_one(
        &format!("SELECT p.id, p.name, p.unit_id FROM persons p JOIN households h ON h.head_person_id = p.id WHERE {gcond} AND p.residence <> 'left' ORDER BY p.id LIMIT 1"),
        &pg,
    )?;
    let mut pc = Vec::new();
    let ccond = crate::store::under_paths("p.place_path", &[community.str(1)], 1, &mut pc);
    let volunteer = c
        .query_opt(
            &format!("SELECT p.id, p.name FROM persons p JOIN person_tags t ON t.person_id = p.id WHERE t.tag = 'volunteer' AND {ccond} ORDER BY p.id LIMIT 1"),
            &pc,
        )?
        .unwrap_or_else(|| resident.clone());

    let mut by_name: HashMap<&str, AccountPlacement> = HashMap::new();
    by_name.insert("admin", (Some(street_id), None, None, String::new()));
    by_name.insert(
        "shegong",
        (Some(community.i64(0)), None, None, String::new()),
    );
    by_name.insert("wangge", (Some(grid.i64(0)), None, None, String::new()));
    by_name.insert("bumen", (None, Some(dept.i64(0)), None, String::new()));
    by_name.insert("wuye", (None, Some(property.i64(0)), None, String::new()));
    by_name.insert(
        "zhiyuan",
        (
            Some(community.i64(0)),
            None,
            Some(volunteer.i64(0)),
            volunteer.str(1),
        ),
    );
    by_name.insert(
        "jumin",
        (
            Some(resident.i64(2)),
            None,
            Some(resident.i64(0)),
            resident.str(1),
        ),
    );
    for (name, role, display) in ACCOUNTS {
        let (place, org, person, pname) = by_name.remove(name).expect("every account is placed");
        let display = if display.is_empty() {
            pname
        } else {
            display.to_string()
        };
        let username = users::Username::parse(name).expect("demo names are valid");
        let id = users::create(
            c,
            users::NewUser {
                username: &username,
                display_name: &display,
                password_hash: hash,
                street_id: Some(street_id),
                person_id: person,
                created_by: None,
            },
        )?;
        users::add_grant(c, id, role, place, org, Some(street_id), None)?;
    }
    Ok(())
}

fn account_table(c: &mut dyn Conn) -> Result<Vec<DemoAccount>, StoreError> {
    let mut out = Vec::new();
    for (name, role, _) in ACCOUNTS {
        let Some(id) = users::exists(c, name)? else {
            continue;
        };
        let Some(u) = users::by_id(c, id)? else {
            continue;
        };
        let scope = u
            .grants
            .iter()
            .map(|g| match (&g.place, &g.org) {
                (Some(p), _) => p.path.clone(),
                (_, Some(o)) => format!("{} ({})", o.name, o.code),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(DemoAccount {
            username: name.to_string(),
            role: role.as_str().to_string(),
            display_name: u.display_name,
            scope,
        });
    }
    Ok(out)
}
