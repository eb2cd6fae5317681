//! The office's 台账 of buildings and units, one row per unit (a row without a room number
//! is a building alone): 社区, 网格, 楼栋, 门牌, 小区, 层数, 单元, 室号, 楼层, 建筑面积, 用途,
//! in any order, anywhere in the first ten rows, under merged title rows. A cell left empty
//! under a merged 社区, 网格 or 楼栋 cell takes the value above it, as the merge meant.

use std::collections::{HashMap, HashSet};

use serde_json::json;

use super::{ImportReport, Refusal, reason};
use crate::kernel::i18n::Lang;
use crate::kernel::{AppError, AppResult};
use crate::org::place_edit::{self, Fields, KINDS};
use crate::org::places::{self, Place};
use crate::registry::import::{Sheet, normalise};
use crate::store::{Conn, now_ms, under_paths};

/// The columns read, with the headers accepted for each (the first is the export's).
pub const COLUMNS: &[(&str, &[&str])] = &[
    (
        "community",
        &["社区", "居委会", "居委", "社区名称", "community"],
    ),
    ("grid", &["网格", "网格名称", "grid"]),
    (
        "building",
        &["楼栋", "楼号", "楼栋号", "楼栋名称", "building"],
    ),
    (
        "address",
        &["门牌", "门牌号", "地址", "楼栋地址", "address"],
    ),
    ("estate", &["小区", "小区名称", "estate"]),
    ("floors", &["层数", "总层数", "floors"]),
    ("stairwell", &["单元", "单元号", "梯号", "stairwell"]),
    ("room", &["室号", "房号", "房间号", "room"]),
    ("floor", &["楼层", "所在层", "floor"]),
    ("area", &["建筑面积", "面积", "area_m2"]),
    ("use", &["用途", "房屋用途", "use"]),
];

const FILL_DOWN: [&str; 3] = ["community", "grid", "building"];

fn header_of(cell: &str) -> Option<&'static str> {
    let c = normalise(cell).replace([' ', '（', '(', '）', ')', '㎡'], "");
    let c = c.trim_end_matches("m2").trim_end_matches("平方米");
    COLUMNS
        .iter()
        .find(|(_, names)| names.contains(&c))
        .map(|(k, _)| *k)
}

/// The header: the first of ten rows naming 楼栋 (or 门牌) and at least one more column.
fn header(sheet: &Sheet) -> Option<(usize, HashMap<&'static str, usize>)> {
    for (i, (_, cells)) in sheet.rows.iter().take(10).enumerate() {
        let mut cols = HashMap::new();
        for (j, c) in cells.iter().enumerate() {
            if let Some(k) = header_of(c) {
                cols.entry(k).or_insert(j);
            }
        }
        if (cols.contains_key("building") || cols.contains_key("address")) && cols.len() >= 2 {
            return Some((i, cols));
        }
    }
    None
}

/// Every live place under `path` (with the scope place itself), in path order.
pub fn load_under(c: &mut dyn Conn, path: &str) -> crate::store::Result<Vec<Place>> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = places::list(
            c,
            &[path.to_string()],
            &places::ListQuery {
                kind: None,
                under: None,
                limit: 5000,
                offset,
                with_total: false,
            },
        )?;
        let more = page.has_more;
        offset += page.items.len() as i64;
        out.extend(page.items);
        if !more {
            break;
        }
    }
    // Shapes are not in the list's columns: read them for the places that have one.
    let mut p = Vec::new();
    let cond = under_paths("path", &[path.to_string()], 1, &mut p);
    let shapes: HashMap<i64, String> = c
        .query(
            &format!(
                "SELECT id, geojson FROM places WHERE geojson IS NOT NULL AND retired_at IS NULL AND {cond}"
            ),
            &p,
        )?
        .into_iter()
        .map(|r| (r.i64(0), r.str(1)))
        .collect();
    for pl in &mut out {
        pl.geojson = shapes.get(&pl.id).cloned();
    }
    Ok(out)
}

/// A place as the plan knows it: one already stored, or one this file creates.
#[derive(Clone, Debug)]
struct Node {
    kind: &'static str,
    code: String,
    name: String,
    fields: Fields,
    /// Stored already.
    id: Option<i64>,
}

/// The plan: the places that exist and those to create, by path, and what changes.
struct Plan {
    nodes: HashMap<String, Node>,
    /// (parent path, name) → path, to find a community, grid or building by its name.
    by_name: HashMap<(String, String), String>,
    /// Codes in use under a parent.
    codes: HashMap<String, HashSet<String>>,
    /// Paths to create, parents first.
    creates: Vec<String>,
    /// Stored places whose fields change: path → fields.
    updates: HashMap<String, Fields>,
    unchanged: HashSet<String>,
}

fn kind_of(k: &str) -> &'static str {
    KINDS.iter().copied().find(|x| *x == k).unwrap_or("unit")
}

impl Plan {
    fn new(all: &[Place]) -> Plan {
        let mut plan = Plan {
            nodes: HashMap::new(),
            by_name: HashMap::new(),
            codes: HashMap::new(),
            creates: Vec::new(),
            updates: HashMap::new(),
            unchanged: HashSet::new(),
        };
        for p in all {
            let parent = parent_of(&p.path);
            plan.codes
                .entry(parent.clone())
                .or_default()
                .insert(p.code.clone());
            plan.by_name
                .entry((parent, p.name.clone()))
                .or_insert_with(|| p.path.clone());
            plan.nodes.insert(
                p.path.clone(),
                Node {
                    kind: kind_of(&p.kind),
                    code: p.code.clone(),
                    name: p.name.clone(),
                    fields: Fields {
                        name: Some(p.name.clone()),
                        address: p.address.clone(),
                        estate: p.estate.clone(),
                        floors: p.floors,
                        stairwells: p.stairwells,
                        floor_no: p.floor_no,
                        stairwell_no: p.stairwell_no,
                        area_m2: p.area_m2,
                        unit_use: p.unit_use.clone(),
                        geojson: None,
                    },
                    id: Some(p.id),
                },
            );
        }
        plan
    }

    /// Finds a child of `parent` by name (or by code), or plans it with a new code.
    fn child(
        &mut self,
        parent: &str,
        kind: &'static str,
        name: &str,
        code_hint: Option<String>,
    ) -> String {
        if let Some(p) = self.by_name.get(&(parent.to_string(), name.to_string())) {
            return p.clone();
        }
        let taken = self.codes.entry(parent.to_string()).or_default();
        let code = match code_hint.filter(|c| !taken.contains(c)) {
            Some(c) => c,
            None => {
                let prefix = match kind {
                    "community" => "c",
                    "grid" => "g",
                    _ => "b",
                };
                (1..)
                    .map(|n| format!("{prefix}{n:02}"))
                    .find(|c| !taken.contains(c))
                    .unwrap_or_default()
            }
        };
        taken.insert(code.clone());
        let path = format!("{parent}/{code}");
        self.by_name
            .insert((parent.to_string(), name.to_string()), path.clone());
        self.nodes.insert(
            path.clone(),
            Node {
                kind,
                code,
                name: name.to_string(),
                fields: Fields::default(),
                id: None,
            },
        );
        self.creates.push(path.clone());
        path
    }

    /// Applies a row's fields to a planned or stored place.
    fn set(&mut self, path: &str, f: Fields) {
        let Some(node) = self.nodes.get_mut(path) else {
            return;
        };
        if node.id.is_none() {
            merge(&mut node.fields, &f);
            return;
        }
        let differs = differs(&node.fields, &f);
        if differs {
            let u = self.updates.entry(path.to_string()).or_default();
            merge(u, &f);
            merge(&mut node.fields, &f);
            self.unchanged.remove(path);
        } else if !self.updates.contains_key(path) {
            self.unchanged.insert(path.to_string());
        }
    }
}

fn parent_of(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(p, _)| p.to_string())
        .unwrap_or_default()
}

/// Fills what `f` gives into `into`.
fn merge(into: &mut Fields, f: &Fields) {
    macro_rules! take {
        ($($x:ident),*) => { $( if f.$x.is_some() { into.$x = f.$x.clone(); } )* };
    }
    take!(
        name,
        address,
        estate,
        floors,
        stairwells,
        floor_no,
        stairwell_no,
        area_m2,
        unit_use
    );
}

/// Whether `f` gives a value that `old` does not have.
fn differs(old: &Fields, f: &Fields) -> bool {
    macro_rules! ne {
        ($($x:ident),*) => { false $( || (f.$x.is_some() && f.$x != old.$x) )* };
    }
    ne!(
        name,
        address,
        estate,
        floors,
        stairwells,
        floor_no,
        stairwell_no,
        unit_use
    ) || matches!((f.area_m2, old.area_m2), (Some(a), Some(b)) if (a - b).abs() > 0.005)
        || (f.area_m2.is_some() && old.area_m2.is_none())
}

/// A whole number cell ("18", "18层", "１８").
fn int(s: &str) -> Option<i64> {
    let s = normalise(s);
    let digits: String = s
        .trim_end_matches(['层', '楼', 'F', 'f'])
        .trim()
        .to_string();
    digits.parse::<i64>().ok()
}

/// A unit's use as the sheet says it, as linli's code (`use.*` in the catalogue).
pub fn use_code(s: &str) -> Option<&'static str> {
    let s = normalise(s).to_ascii_lowercase();
    Some(match s.as_str() {
        "自住" | "住宅" | "居住" | "self_occupied" => "self_occupied",
        "出租" | "租赁" | "rented" => "rented",
        "空置" | "闲置" | "vacant" => "vacant",
        "商用" | "商业" | "商铺" | "办公" | "商住" | "commercial" => "commercial",
        _ => return None,
    })
}

/// A room number as a code: "302", "302室" and "３０２" are 302; "1-302" stays.
fn room_code(s: &str) -> Option<String> {
    let s = normalise(s);
    let s = s.trim_end_matches('室').trim();
    let code: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!code.is_empty() && code.len() == s.len() && code.len() <= 24).then_some(code)
}

/// The code a building's name suggests: "5号楼" and "潍坊路123弄5号" give b5.
fn building_code(name: &str) -> Option<String> {
    let n = normalise(name);
    let mut runs: Vec<String> = Vec::new();
    let mut cur = String::new();
    for ch in n.chars() {
        if ch.is_ascii_digit() {
            cur.push(ch);
        } else if !cur.is_empty() {
            runs.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        runs.push(cur);
    }
    runs.pop().filter(|r| r.len() <= 8).map(|r| format!("b{r}"))
}

/// Plans and (unless refused or a dry run) writes the sheet's places under `root`.
pub fn import(
    c: &mut dyn Conn,
    root: &Place,
    sheet: &Sheet,
    lang: Lang,
    dry_run: bool,
    by: Option<i64>,
    source: &str,
) -> AppResult<ImportReport> {
    let Some((h, cols)) = header(sheet) else {
        return Err(AppError::with_message(
            crate::kernel::StatusCode::BAD_REQUEST,
            crate::kernel::Code::NoHeader,
            reason(lang, "setup.import.no_header", &[]),
        ));
    };
    let root_depth = KINDS.iter().position(|k| *k == root.kind).unwrap_or(0);
    let building_depth = 4;
    if root_depth >= building_depth {
        return Err(AppError::invalid("setup.error.import_scope"));
    }
    let all = load_under(c, &root.path)?;
    let mut plan = Plan::new(&all);
    let mut report = ImportReport::default();
    let mut above: HashMap<&'static str, String> = HashMap::new();
    let mut seen_units: HashMap<String, usize> = HashMap::new();
    for (rowno, cells) in sheet.rows.iter().skip(h + 1) {
        let cell = |k: &str| -> String {
            cols.get(k)
                .and_then(|j| cells.get(*j))
                .map(|s| normalise(s))
                .unwrap_or_default()
        };
        if cols.keys().all(|k| cell(k).is_empty()) {
            continue;
        }
        let mut vals: HashMap<&'static str, String> = HashMap::new();
        for (k, _) in COLUMNS {
            let mut v = cell(k);
            if v.is_empty() && FILL_DOWN.contains(k) {
                v = above.get(k).cloned().unwrap_or_default();
            }
            vals.insert(k, v);
        }
        for k in FILL_DOWN {
            if !vals[k].is_empty() {
                above.insert(k, vals[k].clone());
            }
        }
        let mut problems: Vec<String> = Vec::new();
        for (_, v) in vals.iter() {
            if crate::kernel::text::check_line(v).is_err() {
                problems.push(reason(lang, "error.text_control", &[]));
                break;
            }
            if v.chars().count() > 128 {
                problems.push(reason(lang, "setup.error.name_long", &[]));
                break;
            }
        }
        // Walk down from the scope: each level's column names the place below.
        let mut parent = root.path.clone();
        for (depth, kind) in [(2usize, "community"), (3, "grid"), (4, "building")] {
            if depth <= root_depth {
                // Given and different from the scope's own name: a row for another place.
                let v = &vals[kind];
                if depth == root_depth && !v.is_empty() && *v != root.name {
                    problems.push(reason(
                        lang,
                        "setup.import.outside",
                        &[("name", v), ("scope", &root.name)],
                    ));
                }
                continue;
            }
            let mut name = vals[kind].clone();
            if kind == "building" && name.is_empty() {
                name = vals["address"].clone();
            }
            if name.is_empty() {
                problems.push(reason(
                    lang,
                    "setup.import.missing",
                    &[(
                        "column",
                        &COLUMNS
                            .iter()
                            .find(|(k, _)| *k == kind)
                            .map(|(_, n)| n[0])
                            .unwrap_or(kind),
                    )],
                ));
                break;
            }
            if !problems.is_empty() {
                break;
            }
            let hint = if kind == "building" {
                building_code(&name)
            } else {
                None
            };
            parent = plan.child(&parent, kind, &name, hint);
        }
        let floors = (!vals["floors"].is_empty()).then(|| int(&vals["floors"]));
        let floor = (!vals["floor"].is_empty()).then(|| int(&vals["floor"]));
        let stairwell =
            (!vals["stairwell"].is_empty()).then(|| int(&vals["stairwell"].replace("单元", "")));
        let area = (!vals["area"].is_empty()).then(|| {
            normalise(&vals["area"])
                .trim_end_matches(['㎡', '平'])
                .trim_end_matches("m2")
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|a| a.is_finite() && *a > 0.0 && *a <= 100_000.0)
        });
        for (v, key) in [
            (floors, "setup.import.bad_floors"),
            (floor, "setup.import.bad_floor"),
            (stairwell, "setup.import.bad_stairwell"),
        ] {
            if matches!(v, Some(None) | Some(Some(..=-1)) | Some(Some(301..))) {
                problems.push(reason(lang, key, &[]));
            }
        }
        if matches!(area, Some(None)) {
            problems.push(reason(lang, "setup.import.bad_area", &[]));
        }
        let unit_use = if vals["use"].is_empty() {
            None
        } else {
            match use_code(&vals["use"]) {
                Some(u) => Some(u.to_string()),
                None => {
                    problems.push(reason(
                        lang,
                        "setup.import.bad_use",
                        &[("use", &vals["use"])],
                    ));
                    None
                }
            }
        };
        let room = vals["room"].clone();
        let unit = if room.is_empty() {
            None
        } else {
            match room_code(&room) {
                Some(code) => Some(match stairwell.flatten() {
                    Some(s) => (format!("{s}-{code}"), format!("{s}单元{code}室")),
                    None => (code.clone(), format!("{code}室")),
                }),
                None => {
                    problems.push(reason(lang, "setup.import.bad_room", &[("room", &room)]));
                    None
                }
            }
        };
        if !problems.is_empty() {
            report.refused.push(Refusal {
                row: Some(*rowno),
                feature: None,
                reason: problems.join("；"),
            });
            continue;
        }
        let text = |k: &str| (!vals[k].is_empty()).then(|| vals[k].clone());
        if root_depth < building_depth {
            plan.set(
                &parent,
                Fields {
                    address: text("address"),
                    estate: text("estate"),
                    floors: floors.flatten(),
                    ..Fields::default()
                },
            );
        }
        if let Some((code, name)) = unit {
            let path = format!("{parent}/{code}");
            if let Some(first) = seen_units.insert(path.clone(), *rowno) {
                report.refused.push(Refusal {
                    row: Some(*rowno),
                    feature: None,
                    reason: reason(lang, "setup.import.duplicate", &[("row", &first)]),
                });
                continue;
            }
            let fields = Fields {
                name: Some(name.clone()),
                floor_no: floor.flatten(),
                stairwell_no: stairwell.flatten(),
                area_m2: area.flatten(),
                unit_use: unit_use.clone(),
                ..Fields::default()
            };
            if plan.nodes.contains_key(&path) {
                // A stored unit keeps its own name: the sheet's is derived from the room.
                plan.set(
                    &path,
                    Fields {
                        name: None,
                        ..fields
                    },
                );
            } else {
                plan.codes
                    .entry(parent.clone())
                    .or_default()
                    .insert(code.clone());
                plan.nodes.insert(
                    path.clone(),
                    Node {
                        kind: "unit",
                        code,
                        name,
                        fields,
                        id: None,
                    },
                );
                plan.creates.push(path);
            }
        }
    }
    for p in &plan.creates {
        report.created.add(plan.nodes[p].kind);
    }
    report.updated = plan.updates.len();
    report.unchanged = plan.unchanged.len();
    if dry_run || !report.refused.is_empty() {
        return Ok(report);
    }
    apply(c, root, &plan, by, source)?;
    report.applied = true;
    Ok(report)
}

/// Writes the plan: creates parents first, then the changes, each with a version.
fn apply(
    c: &mut dyn Conn,
    root: &Place,
    plan: &Plan,
    by: Option<i64>,
    source: &str,
) -> AppResult<()> {
    let now = now_ms();
    let mut parents: HashMap<String, Place> = HashMap::new();
    parents.insert(root.path.clone(), root.clone());
    for path in &plan.creates {
        let node = &plan.nodes[path];
        let ppath = parent_of(path);
        let parent = match parents.get(&ppath) {
            Some(p) => p.clone(),
            None => {
                let p = places::by_path(c, &ppath)?.ok_or_else(AppError::not_found)?;
                parents.insert(ppath.clone(), p.clone());
                p
            }
        };
        let id = place_edit::insert(
            c,
            Some(&parent),
            node.kind,
            &node.code,
            &node.name,
            &node.fields,
            now,
        )?;
        let placed = Place {
            id,
            street_id: parent.street_id,
            parent_id: Some(parent.id),
            kind: node.kind.to_string(),
            code: node.code.clone(),
            name: node.name.clone(),
            path: path.clone(),
            depth: parent.depth + 1,
            address: None,
            estate: None,
            floors: None,
            stairwells: None,
            floor_no: None,
            stairwell_no: None,
            area_m2: None,
            unit_use: None,
            geojson: None,
        };
        place_edit::record_version(
            c,
            &placed,
            by,
            source,
            &json!({"code": [null, node.code], "name": [null, node.name]}),
            now,
        )?;
        if node.kind != "unit" {
            parents.insert(path.clone(), placed);
        }
    }
    for (path, f) in &plan.updates {
        let Some(place) = places::by_path(c, path)? else {
            continue;
        };
        let changes = place_edit::update(c, &place, f)?;
        if !changes.is_empty() {
            place_edit::record_version(
                c,
                &place,
                by,
                source,
                &serde_json::Value::Object(changes),
                now,
            )?;
        }
    }
    Ok(())
}

/// The places under `root` as the import reads them: one row per unit, a row per building
/// without units.
pub fn export(root: &Place, all: &[Place], lang: Lang) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let by_path: HashMap<&str, &Place> = all.iter().map(|p| (p.path.as_str(), p)).collect();
    let ancestor = |p: &Place, kind: &str| -> String {
        let parts: Vec<&str> = p.path.split('/').collect();
        (1..=parts.len())
            .filter_map(|i| by_path.get(parts[..i].join("/").as_str()))
            .find(|a| a.kind == kind)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    };
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let title = crate::kernel::i18n::Tr(lang).fill("setup.export.title", &[("name", &root.name)]);
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal("writing the places sheet", e);
    ws.write_string(0, 0, &title).map_err(err)?;
    for (j, (_, names)) in COLUMNS.iter().enumerate() {
        ws.write_string(1, j as u16, names[0]).map_err(err)?;
    }
    let mut row = 2u32;
    let has_units: HashSet<String> = all
        .iter()
        .filter(|p| p.kind == "unit")
        .map(|p| parent_of(&p.path))
        .collect();
    for p in all {
        let (building, unit) = match p.kind.as_str() {
            "unit" => match by_path.get(parent_of(&p.path).as_str()) {
                Some(b) => (*b, Some(p)),
                None => continue,
            },
            "building" if !has_units.contains(&p.path) => (p, None),
            _ => continue,
        };
        let room = unit
            .map(|u| u.code.rsplit('-').next().unwrap_or(&u.code).to_string())
            .unwrap_or_default();
        let cells: [String; 11] = [
            ancestor(building, "community"),
            ancestor(building, "grid"),
            building.name.clone(),
            building.address.clone().unwrap_or_default(),
            building.estate.clone().unwrap_or_default(),
            building.floors.map(|n| n.to_string()).unwrap_or_default(),
            unit.and_then(|u| u.stairwell_no)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            room,
            unit.and_then(|u| u.floor_no)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            unit.and_then(|u| u.area_m2)
                .map(|n| format!("{n}"))
                .unwrap_or_default(),
            unit.and_then(|u| u.unit_use.as_deref())
                .map(|u| crate::kernel::i18n::tr(lang, &format!("use.{u}")).to_string())
                .unwrap_or_default(),
        ];
        for (j, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(row, j as u16, v).map_err(err)?;
            }
        }
        row += 1;
    }
    book.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_and_buildings_get_codes() {
        assert_eq!(room_code("302室").as_deref(), Some("302"));
        assert_eq!(room_code("３０２").as_deref(), Some("302"));
        assert_eq!(room_code("B-1").as_deref(), Some("B-1"));
        assert_eq!(room_code("三零二"), None);
        assert_eq!(building_code("5号楼").as_deref(), Some("b5"));
        assert_eq!(building_code("潍坊路123弄5号").as_deref(), Some("b5"));
        assert_eq!(building_code("东楼"), None);
        assert_eq!(int("18层"), Some(18));
        assert_eq!(int("１８"), Some(18));
    }

    #[test]
    fn headers_are_found_under_title_rows() {
        let sheet = Sheet {
            rows: vec![
                (1, vec!["潍坊新村街道房屋台账".into()]),
                (2, vec!["".into()]),
                (
                    3,
                    vec![
                        "社区".into(),
                        "网格".into(),
                        "楼栋".into(),
                        "室号".into(),
                        "建筑面积(㎡)".into(),
                    ],
                ),
            ],
        };
        let (h, cols) = header(&sheet).unwrap();
        assert_eq!(h, 2);
        assert_eq!(cols["area"], 4);
        assert_eq!(cols["room"], 3);
    }
}
