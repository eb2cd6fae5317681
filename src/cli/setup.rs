//! `linli init`, `linli import places`, `linli export places` and `linli user add`: a street,
//! its places and its accounts set up from the console.

use std::io::BufRead;
use std::process::ExitCode;

use super::{ExportArgs, Fail, ImportPlacesArgs, InitArgs, UserAddArgs};
use crate::config::Config;
use crate::org::{Role, places, users};
use crate::store::Db;

fn en(k: &str) -> Fail {
    Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string())
}

pub(super) fn init_street(cfg: &Config, db: &Db, a: InitArgs) -> Result<ExitCode, Fail> {
    use crate::setup::street::{self, AdminSpec, InitError, StreetSpec};
    let spec = StreetSpec::parse(
        &a.district_code,
        &a.district_name,
        &a.street_code,
        &a.street_name,
    )
    .map_err(en)?;
    let username = users::Username::parse(&a.admin).map_err(en)?;
    let display = crate::org::place_edit::check_name(a.admin_name.as_deref().unwrap_or(&a.admin))
        .map_err(en)?;
    let admin = AdminSpec {
        username,
        display_name: display,
        password_hash: None,
    };
    let now = crate::store::now_ms();
    let done = db
        .write_tx_blocking(|c| street::init(c, &spec, &admin, now))
        .map_err(|e| match e {
            InitError::Invalid(k) => en(k),
            InitError::AlreadySetUp { name, code } => Fail(format!(
                "this database already has a street: {name} ({code}); linli init sets up an empty one only"
            )),
            InitError::Store(crate::store::StoreError::Conflict(_)) => {
                Fail(format!("the username {:?} is taken", a.admin))
            }
            InitError::Store(e) => Fail(e.to_string()),
        })?;
    let base = cfg
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.listen));
    println!(
        "set up {} ({}) as {}",
        spec.street_name, spec.street_code, done.street_path
    );
    if let Some((token, expires)) = done.activation {
        println!(
            "the administrator {} sets her password once, by {}: {}/activate?token={token}",
            a.admin,
            crate::kernel::time::local_time(expires),
            base.trim_end_matches('/')
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn import_places(db: &Db, a: ImportPlacesArgs) -> Result<ExitCode, Fail> {
    use crate::setup::transfer::{self, Crs, Format};
    let name = a.file.display().to_string();
    let format = Format::of_file(&name)
        .ok_or_else(|| Fail(format!("{name}: use a .xlsx, .csv or .geojson file")))?;
    let crs = Crs::parse(&a.crs)
        .ok_or_else(|| Fail(format!("unknown --crs {:?}: use wgs84 or gcj02", a.crs)))?;
    let bytes = std::fs::read(&a.file).map_err(|e| Fail(format!("{name}: {e}")))?;
    let lang = crate::kernel::i18n::Lang::En;
    let report = transfer::import_blocking(db, &a.scope, format, crs, &bytes, a.dry_run, lang)
        .map_err(|e| {
            if e.status == crate::kernel::StatusCode::NOT_FOUND {
                Fail(format!("no place with path {:?}", a.scope))
            } else {
                Fail(e.message(lang))
            }
        })?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let c = &report.created;
        println!(
            "{}: {} communities, {} grids, {} buildings, {} units new; {} updated, {} unchanged, {} refused",
            if report.applied {
                "imported"
            } else if a.dry_run {
                "dry run"
            } else {
                "refused, nothing written"
            },
            c.communities,
            c.grids,
            c.buildings,
            c.units,
            report.updated,
            report.unchanged,
            report.refused.len()
        );
        for r in &report.refused {
            match (&r.row, &r.feature) {
                (Some(n), _) => println!("  row {n}: {}", r.reason),
                (_, Some(f)) => println!("  feature {f}: {}", r.reason),
                _ => println!("  {}", r.reason),
            }
        }
        for n in &report.notes {
            println!("  note: {n}");
        }
    }
    Ok(if report.refused.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(super) fn export_places(db: &Db, a: ExportArgs) -> Result<ExitCode, Fail> {
    use crate::setup::transfer::{self, Format};
    let name = a.out.display().to_string();
    let format = Format::of_file(&name)
        .filter(|f| *f != Format::Csv)
        .ok_or_else(|| Fail(format!("{name}: use FILE.xlsx or FILE.geojson")))?;
    let bytes = transfer::export_blocking(db, &a.scope, format, crate::kernel::i18n::Lang::Zh)
        .map_err(|e| {
            if e.status == crate::kernel::StatusCode::NOT_FOUND {
                Fail(format!("no place with path {:?}", a.scope))
            } else {
                Fail(e.message(crate::kernel::i18n::Lang::En))
            }
        })?;
    std::fs::write(&a.out, &bytes).map_err(|e| Fail(format!("{name}: {e}")))?;
    println!("wrote {name}");
    Ok(ExitCode::SUCCESS)
}

pub(super) fn user_add(db: &Db, a: UserAddArgs) -> Result<(), Fail> {
    let username = users::Username::parse(&a.username)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    let role = Role::parse(&a.role).ok_or_else(|| Fail(format!("unknown role {:?}", a.role)))?;
    let (password, print) = if a.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (crate::org::auth::random_token("")[..16].to_string(), true)
    };
    users::check_password_policy(&password)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    let hash = users::hash_password(&password);
    let display = a
        .name
        .clone()
        .unwrap_or_else(|| username.as_str().to_string());
    crate::kernel::text::check_line(&display)
        .map_err(|k| Fail(crate::kernel::i18n::tr(crate::kernel::i18n::Lang::En, k).to_string()))?;
    db.write_tx_blocking(|c| -> Result<(), Fail> {
        let (place_id, org_id, street_id) = if role.needs_org() {
            let code = a
                .org
                .as_deref()
                .ok_or_else(|| Fail(format!("role {} needs --org CODE", role.as_str())))?;
            let org = places::org_by_code(c, code)?
                .ok_or_else(|| Fail(format!("no organisation with code {code:?}")))?;
            (None, Some(org.id), Some(org.street_id))
        } else {
            let path = a
                .place
                .as_deref()
                .ok_or_else(|| Fail(format!("role {} needs --place PATH", role.as_str())))?;
            let place = places::by_path(c, path)?
                .ok_or_else(|| Fail(format!("no place with path {path:?}")))?;
            if !role.place_kinds().contains(&place.kind.as_str()) {
                return Err(Fail(format!(
                    "role {} cannot be bound to a {}",
                    role.as_str(),
                    place.kind
                )));
            }
            (
                Some(place.id),
                None,
                place.street_id.or(if place.kind == "street" {
                    Some(place.id)
                } else {
                    None
                }),
            )
        };
        let id = users::create(
            c,
            users::NewUser {
                username: &username,
                display_name: &display,
                password_hash: &hash,
                street_id,
                person_id: None,
                created_by: None,
            },
        )
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => {
                Fail(format!("user {:?} already exists", username.as_str()))
            }
            e => Fail(e.to_string()),
        })?;
        users::add_grant(c, id, role, place_id, org_id, street_id, None)?;
        Ok(())
    })?;
    if print {
        println!(
            "created user {} with password: {password}",
            username.as_str()
        );
    } else {
        println!("created user {}", username.as_str());
    }
    Ok(())
}
