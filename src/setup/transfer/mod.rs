//! Places in bulk (issue 21 part 2): the 台账 a street office keeps (buildings and units, XLSX
//! or CSV) and its map (grid boundaries and building footprints, GeoJSON) imported, and both
//! exported again in the same form. An import is all or nothing: it is planned in full, every
//! refused row or feature is reported (with Excel's row number or the feature's name) and
//! nothing is written unless every row passed; a dry run stops after the plan. Importing the
//! same file twice changes nothing the second time.

pub mod shapes;
pub mod sheet;

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{Action, NewEntry};
use crate::kernel::i18n::Lang;
use crate::kernel::{AppError, AppResult};
use crate::org::{Caller, access, places};
use crate::state::AppState;
use crate::store::Conn;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
    GeoJson,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "xlsx" => Some(Format::Xlsx),
            "csv" | "txt" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::GeoJson),
            _ => None,
        }
    }

    /// From a file name's extension.
    pub fn of_file(name: &str) -> Option<Format> {
        Format::parse(name.rsplit('.').next()?)
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
        }
    }
}

/// The coordinate system of a GeoJSON file: WGS-84 (GPS, OpenStreetMap, 天地图) or GCJ-02
/// (the offset system of Chinese web maps such as 高德 and 腾讯), converted to WGS-84 when
/// stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crs {
    Wgs84,
    Gcj02,
}

impl Crs {
    pub fn parse(s: &str) -> Option<Crs> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "wgs84" | "" => Some(Crs::Wgs84),
            "gcj02" => Some(Crs::Gcj02),
            _ => None,
        }
    }
}

/// Places created, by kind.
#[derive(Clone, Debug, Default, Serialize, ToSchema, PartialEq, Eq)]
pub struct PlacesCreated {
    pub communities: usize,
    pub grids: usize,
    pub buildings: usize,
    pub units: usize,
}

impl PlacesCreated {
    pub fn add(&mut self, kind: &str) {
        match kind {
            "community" => self.communities += 1,
            "grid" => self.grids += 1,
            "building" => self.buildings += 1,
            _ => self.units += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.communities + self.grids + self.buildings + self.units
    }
}

/// A row or feature the import refused, with the reason in the reader's language.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Refusal {
    /// The row number as Excel shows it (sheets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The feature's number from 1 and its name (GeoJSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    pub reason: String,
}

/// What an import did, or would do (a dry run, or a refused file).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether anything was written: false for a dry run and whenever a row was refused.
    pub applied: bool,
    pub created: PlacesCreated,
    /// Places whose fields (or shape) changed.
    pub updated: usize,
    pub unchanged: usize,
    pub refused: Vec<Refusal>,
    /// What was accepted but deserves a look (an overlap below a square metre, say).
    pub notes: Vec<String>,
}

/// The place an import or export is about, checked against the caller: she must be able to
/// edit it (importing) or browse it (exporting).
fn scope_place(c: &mut dyn Conn, caller_places: &[String], path: &str) -> AppResult<places::Place> {
    let place = places::by_path(c, path.trim())?
        .filter(|p| crate::org::Scope::covers(caller_places, &p.path))
        .ok_or_else(AppError::not_found)?;
    Ok(place)
}

/// A file read as what its format holds: a sheet, or GeoJSON features; an unreadable file is
/// one message in `lang`.
type Read = (
    Option<crate::registry::import::Sheet>,
    Option<Vec<shapes::Feature>>,
);

fn read_file(format: Format, crs: Crs, bytes: &[u8], lang: Lang) -> AppResult<Read> {
    let unreadable = |m: String| {
        AppError::with_message(
            crate::kernel::StatusCode::BAD_REQUEST,
            crate::kernel::Code::Unreadable,
            m,
        )
    };
    Ok(match format {
        Format::GeoJson => (
            None,
            Some(shapes::parse(bytes, crs, lang).map_err(unreadable)?),
        ),
        f => (
            Some(
                crate::registry::import::read(bytes, f == Format::Xlsx)
                    .map_err(|e| unreadable(crate::kernel::i18n::pick(&e.to_string(), lang)))?,
            ),
            None,
        ),
    })
}

/// Imports a file of places under `scope` (a path the caller may edit).
#[allow(clippy::too_many_arguments)]
pub async fn import(
    state: &AppState,
    caller: &Caller,
    scope: &str,
    format: Format,
    crs: Crs,
    bytes: Vec<u8>,
    dry_run: bool,
    source: &'static str,
) -> AppResult<ImportReport> {
    access::require_place_editor(caller, scope.trim())?;
    let lang = crate::kernel::ctx().lang;
    let editor = access::place_editor_paths(caller);
    let by = Some(caller.user_id);
    let scope = scope.trim().to_string();
    let (sheet, shapes) = read_file(format, crs, &bytes, lang)?;
    let report = state
        .db
        .write_tx(move |c| -> AppResult<ImportReport> {
            let root = scope_place(c, &editor, &scope)?;
            let mut report = match (&sheet, &shapes) {
                (Some(s), _) => sheet::import(c, &root, s, lang, dry_run, by, source)?,
                (_, Some(f)) => shapes::import(c, &root, f, lang, dry_run, by, source)?,
                _ => ImportReport::default(),
            };
            report.dry_run = dry_run;
            Ok(report)
        })
        .await?;
    if report.applied {
        state.places_changed();
    }
    state
        .audit
        .record(NewEntry::by(caller, Action::Change).purpose(format!(
            "import places {} {}: {} created, {} updated, {} refused{}",
            format.extension(),
            scope_label(&report),
            report.created.total(),
            report.updated,
            report.refused.len(),
            if report.applied {
                ""
            } else {
                " (nothing written)"
            }
        )))
        .await?;
    Ok(report)
}

/// The command line's import: no signed-in caller, so the file's scope is any place and the
/// audit entry names the command. Returns the report.
pub fn import_blocking(
    db: &crate::store::Db,
    scope: &str,
    format: Format,
    crs: Crs,
    bytes: &[u8],
    dry_run: bool,
    lang: Lang,
) -> AppResult<ImportReport> {
    let (sheet, shapes) = read_file(format, crs, bytes, lang)?;
    db.write_tx_blocking(|c| -> AppResult<ImportReport> {
        let root = places::by_path(c, scope.trim())?.ok_or_else(AppError::not_found)?;
        let mut report = match (&sheet, &shapes) {
            (Some(s), _) => sheet::import(c, &root, s, lang, dry_run, None, "import")?,
            (_, Some(f)) => shapes::import(c, &root, f, lang, dry_run, None, "import")?,
            _ => ImportReport::default(),
        };
        report.dry_run = dry_run;
        let mut e = NewEntry::anonymous(Action::Change, "linli import places");
        e.street_id = root.street_id;
        crate::audit::append(
            c,
            vec![e.purpose(format!(
                "import places {} under {}: {} created, {} updated, {} refused",
                format.extension(),
                root.path,
                report.created.total(),
                report.updated,
                report.refused.len()
            ))],
        )?;
        Ok(report)
    })
}

/// The command line's export of the places under `scope`.
pub fn export_blocking(
    db: &crate::store::Db,
    scope: &str,
    format: Format,
    lang: Lang,
) -> AppResult<Vec<u8>> {
    let found = db.read_blocking(|c| {
        let Some(root) = places::by_path(c, scope.trim())? else {
            return Ok(None);
        };
        let all = sheet::load_under(c, &root.path)?;
        Ok(Some((root, all)))
    })?;
    let (root, all) = found.ok_or_else(AppError::not_found)?;
    match format {
        Format::GeoJson => Ok(shapes::export(&all)),
        _ => sheet::export(&root, &all, lang),
    }
}

fn scope_label(r: &ImportReport) -> &'static str {
    if r.dry_run { "dry run" } else { "apply" }
}

/// Exports the places under `scope` (a path the caller browses): the sheet of buildings and
/// units, or the shapes as GeoJSON. Returns a file name and the bytes.
pub async fn export(
    state: &AppState,
    caller: &Caller,
    scope: &str,
    format: Format,
) -> AppResult<(String, Vec<u8>)> {
    let browse = caller.scope.places.clone();
    let scope = scope.trim().to_string();
    let lang = crate::kernel::ctx().lang;
    let (root, all) = state
        .db
        .read(move |c| {
            let Some(root) =
                places::by_path(c, &scope)?.filter(|p| crate::org::Scope::covers(&browse, &p.path))
            else {
                return Ok(None);
            };
            let all = sheet::load_under(c, &root.path)?;
            Ok(Some((root, all)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let bytes = match format {
        Format::GeoJson => shapes::export(&all),
        _ => sheet::export(&root, &all, lang)?,
    };
    let name = format!("places-{}.{}", root.code, format.extension());
    state
        .audit
        .record(NewEntry::by(caller, Action::Export).purpose(format!("export places {name}")))
        .await?;
    Ok((name, bytes))
}

/// A reason in the reader's language from a catalogue key with arguments.
pub(crate) fn reason(lang: Lang, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    crate::kernel::i18n::Tr(lang).fill(key, args)
}
