//! Importing persons from the sheets community offices keep (CSV or XLSX): a dry run first,
//! then an atomic apply. Tolerant of what real sheets hold — title rows above the header,
//! extra columns, full-width digits and spaces, dates as text or Excel serials, 15-digit
//! legacy ID numbers — and exact about what it refuses, row by row, with the row number as
//! Excel shows it.

use std::collections::HashMap;

use serde::Serialize;

use crate::audit::{self, Action, NewEntry};
use crate::kernel::i18n::{Tr, both};
use crate::params;
use crate::registry::idnum::{IdNumber, Phone, Sex};
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val, now_ms, under_paths};

/// The columns linli reads, with the headers it accepts for each (the first is the template's).
pub const COLUMNS: &[(&str, &[&str])] = &[
    ("name", &["姓名", "name"]),
    (
        "id_number",
        &[
            "身份证号",
            "公民身份号码",
            "身份证号码",
            "证件号码",
            "id_number",
        ],
    ),
    ("sex", &["性别", "sex"]),
    ("birth_date", &["出生日期", "birth_date"]),
    (
        "phone",
        &["联系电话", "手机号", "手机号码", "电话", "phone"],
    ),
    ("unit", &["房屋", "住址", "地址", "现住址", "unit"]),
    ("relation", &["与户主关系", "relation"]),
    ("hukou", &["户籍", "户籍状态", "hukou"]),
    ("residence", &["居住状态", "residence"]),
    ("presence", &["人户状态", "presence"]),
    ("tags", &["标签", "tags"]),
    ("notes", &["备注", "notes"]),
];

/// The template the UI and CLI offer: the header row and one example row. The example imports
/// as it is when `unit` names a unit of the reader's (its address or path); the ID number is a
/// valid one of a woman born 1949-12-31.
pub fn template_csv(unit: Option<&str>) -> String {
    let headers: Vec<&str> = COLUMNS.iter().map(|(_, h)| h[0]).collect();
    let unit = unit.unwrap_or("潍坊路123弄5号302室");
    format!(
        "\u{feff}{}\n张秀兰,11010519491231002X,女,1949-12-31,13812345678,{unit},户主,户籍,常住,人户一致,独居老人,\n",
        headers.join(",")
    )
}

/// The first unit under `scope` as a sheet names it (its address, or its path), for the
/// template's example row.
pub fn example_unit(c: &mut dyn Conn, scope: &[String]) -> Result<Option<String>> {
    let mut p = Vec::new();
    let cond = under_paths("path", scope, 1, &mut p);
    Ok(c.query_opt(
        &format!(
            "SELECT address, path FROM places WHERE kind = 'unit' AND {cond} ORDER BY path LIMIT 1"
        ),
        &p,
    )?
    .map(|r| {
        r.opt_str(0)
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| r.str(1))
    }))
}

/// One sheet row, as cells of text, with its row number as Excel shows it.
pub struct Sheet {
    pub rows: Vec<(usize, Vec<String>)>,
}

/// Full-width ASCII and the ideographic space become their ASCII selves; ends are trimmed.
pub fn normalise(s: &str) -> String {
    crate::kernel::text::fold_width(s)
}

/// A cell linli's own export prefixed with an apostrophe so that a spreadsheet would not read it
/// as a formula ("'=1+1") is read back as it was written.
fn unneutralise(s: &str) -> String {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest.to_string(),
        _ => s.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}", both("import.problem.unreadable", &[("error", .0)]))]
    Unreadable(String),
    #[error("{}", both("import.problem.no_header", &[]))]
    NoHeader,
}

/// Reads CSV (UTF-8, with or without BOM) or XLSX (the first sheet).
pub fn read(bytes: &[u8], xlsx: bool) -> std::result::Result<Sheet, ReadError> {
    let mut rows = Vec::new();
    if xlsx {
        use calamine::{Data, Reader, Xlsx};
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e: calamine::XlsxError| ReadError::Unreadable(e.to_string()))?;
        let range = book
            .worksheet_range_at(0)
            .ok_or_else(|| ReadError::Unreadable("no sheet".into()))?
            .map_err(|e| ReadError::Unreadable(e.to_string()))?;
        let first_row = range.start().map(|(r, _)| r as usize).unwrap_or(0);
        let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
        for (i, r) in range.rows().enumerate() {
            let mut cells = vec![String::new(); first_col];
            cells.extend(r.iter().map(|c| match c {
                Data::Empty => String::new(),
                Data::String(s) => s.clone(),
                Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
                Data::Float(f) => f.to_string(),
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => format!("{}", d.as_f64()),
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::Error(e) => format!("{e:?}"),
            }));
            rows.push((first_row + i + 1, cells));
        }
    } else {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim_start_matches('\u{feff}');
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| ReadError::Unreadable(e.to_string()))?;
            rows.push((i + 1, rec.iter().map(str::to_string).collect()));
        }
    }
    Ok(Sheet { rows })
}

/// A date cell: 1949-12-31, 1949/12/31, 1949.12.31, 1949年12月31日, 19491231, or an Excel serial.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = normalise(s);
    if s.is_empty() {
        return None;
    }
    let t = s.replace(['年', '月', '/', '.'], "-").replace('日', "");
    if let Ok(d) = chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        return Some(d);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(&t, "%Y%m%d") {
        return Some(d);
    }
    // Excel's serial day numbers count from 1899-12-30 (its 1900 leap-year bug included).
    let n: f64 = t.parse().ok()?;
    if (1.0..80_000.0).contains(&n) {
        return chrono::NaiveDate::from_ymd_opt(1899, 12, 30)?
            .checked_add_days(chrono::Days::new(n as u64));
    }
    None
}

fn code(map: &[(&str, &str)], v: &str) -> Option<String> {
    let v = normalise(v);
    map.iter()
        .find(|(zh, en)| *zh == v || en.eq_ignore_ascii_case(&v))
        .map(|(_, en)| en.to_string())
}

const RELATIONS: &[(&str, &str)] = &[
    ("户主", "head"),
    ("本人", "head"),
    ("配偶", "spouse"),
    ("妻", "spouse"),
    ("夫", "spouse"),
    ("子女", "child"),
    ("子", "child"),
    ("女", "child"),
    ("父母", "parent"),
    ("父亲", "parent"),
    ("母亲", "parent"),
    ("孙子女", "grandchild"),
    ("孙子", "grandchild"),
    ("孙女", "grandchild"),
    ("兄弟姐妹", "sibling"),
    ("租户", "tenant"),
    ("其他", "other"),
];
const RESIDENCE: &[(&str, &str)] = &[
    ("常住", "permanent"),
    ("暂住", "temporary"),
    ("已离开", "left"),
];
const PRESENCE: &[(&str, &str)] = &[
    ("人户一致", "both"),
    ("人在户不在", "registered_elsewhere_lives_here"),
    ("户在人不在", "registered_here_lives_elsewhere"),
];

/// The Chinese word a sheet uses for a stored code (the first of the words the import reads
/// for it): `label("relation", "head")` is "户主". An unknown code is given back as it is.
pub fn label<'a>(field: &str, code: &'a str) -> &'a str {
    let map = match field {
        "relation" => RELATIONS,
        "residence" => RESIDENCE,
        "presence" => PRESENCE,
        _ => return code,
    };
    map.iter()
        .find(|(_, en)| *en == code)
        .map(|(zh, _)| *zh)
        .unwrap_or(code)
}

/// A row that passed validation.
#[derive(Clone, Debug)]
pub struct Valid {
    pub row: usize,
    pub name: String,
    pub id: IdNumber,
    pub phone: Option<Phone>,
    pub unit_id: i64,
    pub unit_path: String,
    pub street_id: i64,
    pub relation: String,
    pub hukou: bool,
    pub residence: String,
    pub presence: String,
    pub tags: Vec<String>,
    pub notes: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Refused {
    /// The row number as Excel shows it.
    pub row: usize,
    /// Every problem of the row, in the reader's language (kept in both until it is read).
    #[serde(serialize_with = "in_readers_language")]
    pub reason: String,
}

fn in_readers_language<S: serde::Serializer>(
    v: &str,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::kernel::i18n::pick(v, crate::kernel::ctx().lang))
}

impl Refused {
    /// The reasons in the reader's language (pages).
    pub fn reason_text(&self) -> String {
        crate::kernel::i18n::pick(&self.reason, crate::kernel::ctx().lang)
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Planned {
    pub row: usize,
    pub name: String,
    /// create or update.
    pub action: String,
    /// The fields an update changes.
    pub changes: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub refused: Vec<Refused>,
    pub rows: Vec<Planned>,
    /// Whether the accepted rows were written (false for a dry run).
    pub applied: bool,
}

/// Changed fields: (field, old, new), with personal numbers masked.
type Changes = Vec<(String, String, String)>;

struct Plan {
    report: Report,
    creates: Vec<Valid>,
    updates: Vec<(Valid, i64, Changes)>,
    /// Existing records the sheet matched: a dry run shows they exist, so it is audited.
    matched: Vec<i64>,
}

fn refuse(r: &mut Report, row: usize, reason: impl Into<String>) {
    r.refused.push(Refused {
        row,
        reason: reason.into(),
    });
}

/// The header: the first row (of ten) naming both 姓名 and 身份证号.
pub fn header_index(sheet: &Sheet) -> Option<usize> {
    sheet.rows.iter().take(10).position(|(_, cells)| {
        let n: Vec<String> = cells.iter().map(|c| normalise(c)).collect();
        n.iter().any(|c| COLUMNS[0].1.contains(&c.as_str()))
            && n.iter().any(|c| COLUMNS[1].1.contains(&c.as_str()))
    })
}

/// The refused rows as they were, with a reason column: a sheet to fix and import again.
pub fn refused_table(sheet: &Sheet, report: &Report) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if let Some(h) = header_index(sheet) {
        let mut header = sheet.rows[h].1.clone();
        header.push(
            Tr(crate::kernel::ctx().lang)
                .s("import.reason_column")
                .to_string(),
        );
        out.push(header);
    }
    for r in &report.refused {
        if let Some((_, cells)) = sheet.rows.iter().find(|(n, _)| *n == r.row) {
            let mut row = cells.clone();
            row.push(r.reason_text());
            out.push(row);
        }
    }
    out
}

/// Validates every row and works out what applying would do.
fn plan(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &str,
    sheet: &Sheet,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<std::result::Result<Plan, ReadError>> {
    let Some(hpos) = header_index(sheet) else {
        return Ok(Err(ReadError::NoHeader));
    };
    let header: Vec<String> = sheet.rows[hpos].1.iter().map(|c| normalise(c)).collect();
    let col: HashMap<&str, usize> = COLUMNS
        .iter()
        .filter_map(|(key, names)| {
            header
                .iter()
                .position(|h| names.contains(&h.as_str()))
                .map(|i| (*key, i))
        })
        .collect();
    let mut units: HashMap<String, Option<(i64, String, i64)>> = HashMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // The tags known where the rows land: the built-in ones and the street's own (every
    // street's, for a scope above streets), as (code, Chinese name).
    let street_of_scope = c
        .query_opt(
            "SELECT CASE WHEN kind = 'street' THEN id ELSE street_id END FROM places WHERE path = $1",
            params![scope],
        )?
        .and_then(|r| r.opt_i64(0));
    let known_tags = super::records::tag_names(c, street_of_scope, false)?;
    let mut report = Report::default();
    let (mut creates, mut updates, mut matched) = (Vec::new(), Vec::new(), Vec::new());
    let total = sheet.rows.len() - hpos - 1;
    // A large sheet names most units of its scope: read them all once (by path and by
    // address, the first unit of an address winning as in a single look-up) rather than
    // one query per address.
    let preloaded = total > 200;
    if preloaded {
        let mut p = Vec::new();
        let cond = under_paths("path", &[scope.to_string()], 1, &mut p);
        for r in c.query(
            &format!("SELECT id, path, COALESCE(street_id, id), address FROM places WHERE kind = 'unit' AND {cond} ORDER BY id"),
            &p,
        )? {
            let v = Some((r.i64(0), r.str(1), r.i64(2)));
            if let Some(a) = r.opt_str(3) {
                units.entry(a).or_insert_with(|| v.clone());
            }
            units.insert(r.str(1), v);
        }
    }
    for (done, (row, cells)) in sheet.rows[hpos + 1..].iter().enumerate() {
        if done % 500 == 0 {
            progress(done, total);
        }
        let get = |k: &str| {
            col.get(k)
                .and_then(|i| cells.get(*i))
                .map(|s| unneutralise(&normalise(s)))
                .unwrap_or_default()
        };
        if cells.iter().all(|c| normalise(c).is_empty()) {
            continue;
        }
        // Every problem of the row is reported at once, not only the first: a clerk fixes the
        // row once.
        let mut problems: Vec<String> = Vec::new();
        let name = get("name");
        if name.is_empty() {
            problems.push(both("import.problem.name_missing", &[]));
        }
        if crate::kernel::text::check_line(&name).is_err() {
            refuse(&mut report, *row, both("import.problem.name_refused", &[]));
            continue;
        }
        let id = match IdNumber::parse(&get("id_number")) {
            Ok(id) => Some(id),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        let sex = get("sex");
        if let Some(id) = &id
            && !sex.is_empty()
        {
            let want = match id.sex() {
                Sex::Male => ["男", "M", "male"],
                Sex::Female => ["女", "F", "female"],
            };
            if !want.iter().any(|w| w.eq_ignore_ascii_case(&sex)) {
                problems.push(both("import.problem.sex_mismatch", &[("sex", &sex)]));
            }
        }
        let birth = get("birth_date");
        if !birth.is_empty() {
            match (parse_date(&birth), &id) {
                (Some(d), Some(id)) if d != id.birth_date() => problems.push(both(
                    "import.problem.birth_mismatch",
                    &[("date", &d), ("id_date", &id.birth_date())],
                )),
                (Some(_), _) => {}
                (None, _) => {
                    problems.push(both("import.problem.birth_unreadable", &[("date", &birth)]))
                }
            }
        }
        let phone_text = get("phone");
        let phone = if phone_text.is_empty() {
            None
        } else {
            match Phone::parse(&phone_text) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            }
        };
        let unit_text = get("unit");
        if !units.contains_key(&unit_text) {
            // Every unit under the scope is already in the map for a large sheet.
            let found = if preloaded {
                None
            } else {
                find_unit(c, scope, &unit_text)?
            };
            units.insert(unit_text.clone(), found);
        }
        let unit = units[&unit_text].clone();
        if unit.is_none() {
            problems.push(both(
                "import.problem.unit_not_found",
                &[("unit", &unit_text)],
            ));
        }
        let mut enum_field = |key: &str, map: &[(&str, &str)], default: &str, what: &str| {
            let v = get(key);
            if v.is_empty() {
                return default.to_string();
            }
            code(map, &v).unwrap_or_else(|| {
                problems.push(both(
                    "import.problem.unknown_value",
                    &[("what", &what), ("key", &key), ("value", &v)],
                ));
                default.to_string()
            })
        };
        let relation = enum_field("relation", RELATIONS, "head", "与户主关系");
        let residence = enum_field("residence", RESIDENCE, "permanent", "居住状态");
        let presence = enum_field("presence", PRESENCE, "both", "人户状态");
        let hukou = !matches!(get("hukou").as_str(), "非户籍" | "否" | "no" | "false");
        let mut tags = Vec::new();
        for t in get("tags")
            .split(['、', ',', ';', ' ', '，', '；'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let known = known_tags
                .iter()
                .find(|(code, zh)| zh == t || code.eq_ignore_ascii_case(t))
                .map(|(code, _)| code.clone());
            match known {
                Some(code) => tags.push(code),
                None => problems.push(both("import.problem.unknown_tag", &[("tag", &t)])),
            }
        }
        tags.sort();
        tags.dedup();
        let (Some(id), Some((unit_id, unit_path, street_id)), true) =
            (id, unit, problems.is_empty())
        else {
            refuse(&mut report, *row, problems.join("；"));
            continue;
        };
        if let Some(first) = seen.get(id.as_str()) {
            refuse(
                &mut report,
                *row,
                both("import.problem.duplicate_id", &[("row", &first)]),
            );
            continue;
        }
        seen.insert(id.as_str().to_string(), *row);
        let v = Valid {
            row: *row,
            name: name.clone(),
            id: id.clone(),
            phone,
            unit_id,
            unit_path,
            street_id,
            relation,
            hukou,
            residence,
            presence,
            tags,
            notes: get("notes"),
        };
        // An existing record: by the blind index, within the street.
        let bidx = keys.blind_index("id_number", id.as_str());
        let existing = c.query_opt(
            "SELECT id, place_path, name, unit_id, phone_bidx, relation, hukou_registered, residence, presence, notes FROM persons \
             WHERE street_id = $1 AND id_number_bidx = $2",
            params![street_id, bidx],
        )?;
        match existing {
            None => {
                report.rows.push(Planned {
                    row: *row,
                    name,
                    action: "create".into(),
                    changes: Vec::new(),
                });
                report.create += 1;
                creates.push(v);
            }
            Some(e) if !crate::org::Scope::covers(&[scope.to_string()], &e.str(1)) => {
                refuse(&mut report, *row, both("import.problem.outside_scope", &[]));
            }
            Some(e) => {
                let mut changes: Vec<(String, String, String)> = Vec::new();
                let mut diff = |field: &str, old: String, new: String| {
                    if old != new {
                        changes.push((field.to_string(), old, new));
                    }
                };
                diff("name", e.str(2), v.name.clone());
                diff("unit", e.i64(3).to_string(), v.unit_id.to_string());
                // Phones are compared by their blind index and shown masked in versions.
                let new_phone = v
                    .phone
                    .as_ref()
                    .map(|p| keys.blind_index("phone", p.as_str()));
                if new_phone != e.opt_str(4) {
                    diff(
                        "phone",
                        "***".into(),
                        v.phone.as_ref().map(|p| p.masked()).unwrap_or_default(),
                    );
                }
                diff("relation", e.str(5), v.relation.clone());
                diff(
                    "hukou_registered",
                    e.bool(6).to_string(),
                    v.hukou.to_string(),
                );
                diff("residence", e.str(7), v.residence.clone());
                diff("presence", e.str(8), v.presence.clone());
                diff("notes", e.str(9), v.notes.clone());
                let pid = e.i64(0);
                let have: Vec<String> = c
                    .query(
                        "SELECT tag FROM person_tags WHERE person_id = $1 ORDER BY tag",
                        params![pid],
                    )?
                    .iter()
                    .map(|r| r.str(0))
                    .collect();
                let missing: Vec<String> = v
                    .tags
                    .iter()
                    .filter(|t| !have.contains(t))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    changes.push(("tags".into(), have.join(","), missing.join(",")));
                }
                matched.push(pid);
                if changes.is_empty() {
                    report.unchanged += 1;
                } else {
                    report.update += 1;
                    report.rows.push(Planned {
                        row: *row,
                        name,
                        action: "update".into(),
                        changes: changes.iter().map(|c| c.0.clone()).collect(),
                    });
                    updates.push((v, pid, changes));
                }
            }
        }
    }
    progress(total, total);
    Ok(Ok(Plan {
        report,
        creates,
        updates,
        matched,
    }))
}

/// A unit by its path, or by its address, under the scope: (id, path, street).
fn find_unit(c: &mut dyn Conn, scope: &str, text: &str) -> Result<Option<(i64, String, i64)>> {
    if text.is_empty() {
        return Ok(None);
    }
    let mut p = vec![Val::Text(text.to_string())];
    let cond = under_paths("path", &[scope.to_string()], 2, &mut p);
    Ok(c
        .query_opt(
            &format!("SELECT id, path, COALESCE(street_id, id) FROM places WHERE kind = 'unit' AND (path = $1 OR address = $1) AND {cond} LIMIT 1"),
            &p,
        )?
        .map(|r| (r.i64(0), r.str(1), r.i64(2))))
}

/// Who is importing, for versions and the audit log.
/// Above this many changed persons, an import recounts its streets' population figures
/// rather than following each person (a street's recount costs about as much as a few
/// thousand persons followed one by one).
const COUNT_BY_RECOUNT: usize = 2000;

pub struct Importer<'a> {
    pub actor: Option<&'a crate::org::Caller>,
    pub source: &'a str,
}

/// Validates, and (unless `dry_run`) applies every accepted row in one transaction — all or
/// nothing. Run it inside a write transaction.
pub fn import(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    scope: &str,
    sheet: &Sheet,
    dry_run: bool,
    who: &Importer<'_>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<std::result::Result<Report, ReadError>> {
    let plan = match plan(c, keys, scope, sheet, progress)? {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut report = plan.report;
    if dry_run || (plan.creates.is_empty() && plan.updates.is_empty()) {
        if !plan.matched.is_empty() {
            let mut e = entry_for(who, Action::List);
            e.subjects = plan.matched.into_iter().map(audit::person).collect();
            e.purpose = Some(format!("import check ({})", who.source));
            audit::append(c, vec![e])?;
        }
        return Ok(Ok(report));
    }
    let now = now_ms();
    let actor_id = who.actor.map(|a| a.user_id);
    let mut touched = Vec::new();
    // New persons get ids above the highest now: their name index is written in one pass.
    let before = c.query_i64("SELECT COALESCE(MAX(id), 0) FROM persons", &[])?;
    // The population figures (registry::counts): a few rows follow each person; a large import
    // recounts its streets instead, after its rows are in.
    let mut streets: std::collections::BTreeSet<i64> =
        plan.creates.iter().map(|v| v.street_id).collect();
    for (_, pid, _) in &plan.updates {
        streets.insert(c.query_i64("SELECT street_id FROM persons WHERE id = $1", params![*pid])?);
    }
    let recount = plan.creates.len() + plan.updates.len() > COUNT_BY_RECOUNT;
    let today = crate::kernel::time::today();
    let mut watch = if recount {
        None
    } else {
        for s in &streets {
            super::counts::ensure(c, *s, today)?;
        }
        let ids: Vec<i64> = plan.updates.iter().map(|(_, pid, _)| *pid).collect();
        Some(super::counts::watch(c, &ids)?)
    };
    let mut new_households = Vec::new();
    for v in plan.creates {
        let household = match c.query_opt(
            "SELECT id FROM households WHERE unit_id = $1 ORDER BY id LIMIT 1",
            params![v.unit_id],
        )? {
            Some(r) => r.i64(0),
            None => {
                new_households.push((v.street_id, v.unit_path.clone()));
                c.query_one(
                    "INSERT INTO households (street_id, unit_id, place_path, registered, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                    params![v.street_id, v.unit_id, v.unit_path.clone(), v.hukou, now],
                )?
                .i64(0)
            }
        };
        let idn = v.id.as_str();
        let pid = c
            .query_one(
                "INSERT INTO persons (street_id, household_id, unit_id, place_path, name, sex, birth_date, id_number_enc, id_number_bidx, \
                 id_number_masked, phone_enc, phone_bidx, phone_masked, relation, hukou_registered, residence, presence, notes, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) RETURNING id",
                params![
                    v.street_id,
                    household,
                    v.unit_id,
                    v.unit_path.clone(),
                    v.name.clone(),
                    v.id.sex().code(),
                    v.id.birth_date().format("%Y-%m-%d").to_string(),
                    keys.encrypt(idn),
                    keys.blind_index("id_number", idn),
                    v.id.masked(),
                    v.phone.as_ref().map(|p| keys.encrypt(p.as_str())),
                    v.phone.as_ref().map(|p| keys.blind_index("phone", p.as_str())),
                    v.phone.as_ref().map(|p| p.masked()),
                    v.relation.clone(),
                    v.hukou,
                    v.residence.clone(),
                    v.presence.clone(),
                    v.notes.clone(),
                    now
                ],
            )?
            .i64(0);
        if v.relation == "head" {
            c.exec("UPDATE households SET head_person_id = $1 WHERE id = $2 AND head_person_id IS NULL", params![pid, household])?;
        }
        for t in &v.tags {
            c.exec(
                "INSERT INTO person_tags (street_id, person_id, tag, valid_from, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                params![v.street_id, pid, t.as_str(), crate::kernel::time::today().format("%Y-%m-%d").to_string(), who.source, now],
            )?;
        }
        version(
            c,
            v.street_id,
            pid,
            actor_id,
            who.source,
            &[("created".into(), String::new(), v.id.masked())],
        )?;
        if let Some(w) = watch.as_mut() {
            w.created(pid);
        }
        touched.push(pid);
    }
    for (v, pid, changes) in plan.updates {
        let phone = v.phone.as_ref();
        c.exec(
            "UPDATE persons SET name = $1, unit_id = $2, place_path = $3, phone_enc = $4, phone_bidx = $5, phone_masked = $6, relation = $7, \
             hukou_registered = $8, residence = $9, presence = $10, notes = $11, updated_at = $12 WHERE id = $13",
            params![
                v.name.clone(),
                v.unit_id,
                v.unit_path.clone(),
                phone.map(|p| keys.encrypt(p.as_str())),
                phone.map(|p| keys.blind_index("phone", p.as_str())),
                phone.map(|p| p.masked()),
                v.relation.clone(),
                v.hukou,
                v.residence.clone(),
                v.presence.clone(),
                v.notes.clone(),
                now,
                pid
            ],
        )?;
        for t in &v.tags {
            let has = c
                .query_opt(
                    "SELECT id FROM person_tags WHERE person_id = $1 AND tag = $2",
                    params![pid, t.as_str()],
                )?
                .is_some();
            if !has {
                c.exec(
                    "INSERT INTO person_tags (street_id, person_id, tag, valid_from, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                    params![v.street_id, pid, t.as_str(), crate::kernel::time::today().format("%Y-%m-%d").to_string(), who.source, now],
                )?;
            }
        }
        version(c, v.street_id, pid, actor_id, who.source, &changes)?;
        if changes
            .iter()
            .any(|(f, _, _)| matches!(f.as_str(), "name" | "unit" | "presence" | "tags"))
        {
            super::grams::reindex(c, pid)?;
        }
        touched.push(pid);
    }
    super::grams::index_from(c, before)?;
    super::residents::saved(c, keys, &touched)?;
    match watch {
        Some(w) => {
            w.settle(c)?;
            for (street, path) in &new_households {
                super::counts::household_added(c, *street, path)?;
            }
        }
        None => {
            for s in &streets {
                super::counts::recount(c, *s, today)?;
            }
        }
    }
    let mut e = entry_for(who, Action::Change);
    e.subjects = touched.into_iter().map(audit::person).collect();
    e.purpose = Some(format!("import ({})", who.source));
    audit::append(c, vec![e])?;
    report.applied = true;
    Ok(Ok(report))
}

fn entry_for(who: &Importer<'_>, action: Action) -> NewEntry {
    match who.actor {
        Some(a) => NewEntry::by(a, action),
        None => NewEntry::anonymous(action, "cli"),
    }
}

fn version(
    c: &mut dyn Conn,
    street: i64,
    pid: i64,
    actor: Option<i64>,
    source: &str,
    changes: &[(String, String, String)],
) -> Result<()> {
    let json: serde_json::Map<String, serde_json::Value> = changes
        .iter()
        .map(|(f, o, n)| (f.clone(), serde_json::json!([o, n])))
        .collect();
    c.exec(
        "INSERT INTO person_versions (street_id, person_id, at, actor_id, source, changes) VALUES ($1, $2, $3, $4, $5, $6)",
        params![street, pid, now_ms(), actor, source, serde_json::Value::Object(json).to_string()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_sheets_hold() {
        let d = chrono::NaiveDate::from_ymd_opt(1949, 12, 31).unwrap();
        for s in [
            "1949-12-31",
            "1949/12/31",
            "1949.12.31",
            "1949年12月31日",
            "19491231",
            "１９４９－１２－３１",
            "18263",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("not a date"), None);
    }

    #[test]
    fn full_width_is_normalised() {
        assert_eq!(normalise("\u{3000}１３８ ００１３　"), "138 0013");
    }
}

#[cfg(test)]
mod date_properties {
    use super::parse_date;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_date_reads_the_same_however_a_sheet_writes_it(days in 0u64..60_000) {
            let d = chrono::NaiveDate::from_ymd_opt(1900, 3, 1).unwrap() + chrono::Days::new(days);
            use chrono::Datelike;
            let serial = (d - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()).num_days();
            for text in [
                d.format("%Y-%m-%d").to_string(),
                format!("{}/{}/{}", d.year(), d.month(), d.day()),
                format!("{}年{}月{}日", d.year(), d.month(), d.day()),
                d.format("%Y%m%d").to_string(),
                d.format("%Y.%m.%d").to_string(),
                serial.to_string(),
                // Full-width digits, as some input methods type them.
                d.format("%Y-%m-%d").to_string().chars().map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap() } else { c }).collect(),
            ] {
                prop_assert_eq!(parse_date(&text), Some(d), "{}", text);
            }
        }

        #[test]
        fn nonsense_is_not_a_date(s in "[a-zA-Z]{1,10}") {
            prop_assert_eq!(parse_date(&s), None);
        }
    }
}
