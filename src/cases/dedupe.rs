//! Duplicate suggestions at intake: open cases of the same category reported recently within
//! the category's radius (or in the same building), ranked by how alike their descriptions
//! are after Chinese word segmentation (jieba).
//!
//! What a caller is shown of them depends on who asks ([`shown_to`]): a worker over places
//! sees the cases she may open anyway, their words with phone and ID numbers masked; anyone
//! else (a resident, a volunteer, a property company) at most "similar reports nearby" of
//! categories that may be published, with nothing about a person. Every showing is audited
//! as a list ([`audit_subjects`]).

use std::sync::OnceLock;

use serde::Serialize;

use crate::params;
use crate::store::{Conn, Result};

/// How far back a report still counts as "the same problem".
pub const RECENT_MS: i64 = 14 * 86_400_000;
/// At most this many suggestions.
pub const MAX: usize = 5;
/// The most recent candidates read per way of being near (same building, within the radius):
/// a duplicate is most likely among the latest reports, and ranking stays cheap however many
/// open cases a busy building has.
const CANDIDATES: i64 = 20;

/// Grid cells per degree for the duplicate search's spatial key: 1/200° is about 550 m of
/// latitude, so a radius of a few hundred metres touches a handful of cells.
const CELLS_PER_DEGREE: f64 = 200.0;
/// Beyond this many cells (a radius of kilometres) the search reads the category instead.
const MAX_CELLS: i64 = 36;

fn cell_coord(deg: f64) -> i64 {
    // Truncation (not floor) here and in the migrations' SQL (CAST, TRUNC): the same
    // number either way, which is all a key needs.
    (deg * CELLS_PER_DEGREE) as i64
}

/// The grid cell a case's point lies in (`cases.cell`), so nearby open cases are read cell by
/// cell, newest first, instead of walking every open case of the category.
pub fn cell(lat: f64, lon: f64) -> i64 {
    cell_coord(lat) * 100_000 + cell_coord(lon)
}

/// The cells a box touches, or `None` when there are too many to read one by one.
fn cells_of_box(lat0: f64, lat1: f64, lon0: f64, lon1: f64) -> Option<Vec<i64>> {
    let (a0, a1) = (cell_coord(lat0), cell_coord(lat1));
    let (b0, b1) = (cell_coord(lon0), cell_coord(lon1));
    if (a1 - a0 + 1) * (b1 - b0 + 1) > MAX_CELLS {
        return None;
    }
    Some(
        (a0..=a1)
            .flat_map(|a| (b0..=b1).map(move |b| a * 100_000 + b))
            .collect(),
    )
}

static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();

fn jieba() -> &'static jieba_rs::Jieba {
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

/// Makes sure the dictionary is loaded, loading it on a blocking thread if need be: intake
/// calls it before it takes a database connection, so the first report after start does not
/// hold one for the second that loading takes.
pub async fn ready() {
    if JIEBA.get().is_none() {
        let _ = tokio::task::spawn_blocking(warm_up).await;
    }
}

/// Loads the dictionary in the background if it is not loaded yet (it takes a moment and
/// about 33 MB): called when someone opens the report form, so that by the time the report
/// is written and its duplicates are looked for, the segmenter is ready.
pub fn warm_up_soon() {
    static ASKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !ASKED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tokio::task::spawn_blocking(warm_up);
    }
}

/// Loads the dictionary now (benchmarks, before they measure).
pub fn warm_up() {
    let _ = jieba();
}

/// Words too common to tell two reports apart.
const STOP: &[&str] = &[
    "的", "了", "在", "是", "有", "和", "也", "都", "就", "很", "我", "我们", "你", "他", "她",
    "这", "那", "个", "一", "不", "还", "请", "已经", "一直", "没有", "这个", "那个", "啊", "吧",
    "呢",
];

/// The terms of a text as stored with a case, sorted: jieba's words (search mode, so compounds also
/// give their parts) and the character bigrams of each run of Chinese text, marked `~` —
/// segmentation alone splits "东门路灯不亮" as 东门路/灯不亮 and would miss 路灯. Computed once
/// at intake, so comparing a new report with its candidates needs no segmentation of theirs.
pub fn segment(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for w in jieba().cut_for_search(text, true) {
        let w = w.word.trim();
        if w.is_empty() || STOP.contains(&w) || w.chars().all(|c| !c.is_alphanumeric()) {
            continue;
        }
        out.push(w.to_lowercase());
    }
    push_pairs(text, &mut out);
    // Sorted, so counting them for a comparison needs no sort.
    out.sort_unstable();
    out.join(" ")
}

/// The terms of a text without waiting for the dictionary: [`segment`] when it is loaded;
/// otherwise only the character pairs, with `true` for "partial", and the dictionary starts
/// loading in the background. For intake inside a write transaction (a sensor alert), which
/// must not hold the writer for the second loading takes; the cases job completes partial
/// terms later ([`complete_partial_terms`]).
pub fn segment_or_pairs(text: &str) -> (String, bool) {
    if JIEBA.get().is_some() {
        return (segment(text), false);
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        warm_up_soon();
    }
    let mut out = Vec::new();
    push_pairs(text, &mut out);
    out.sort_unstable();
    (out.join(" "), true)
}

/// Re-segments cases stored with partial terms, a batch at a time; returns how many it
/// completed. Loads the dictionary first (off the connection) when there are any.
pub async fn complete_partial_terms(db: &crate::store::Db) -> Result<usize> {
    let pending = db
        .read(|c| {
            Ok(c.query(
                "SELECT id, description FROM cases WHERE terms_partial = 1 ORDER BY id LIMIT 500",
                params![],
            )?
            .into_iter()
            .map(|mut r| (r.i64(0), r.take_str(1).unwrap_or_default()))
            .collect::<Vec<_>>())
        })
        .await?;
    if pending.is_empty() {
        return Ok(0);
    }
    ready().await;
    let done: Vec<(i64, String)> = tokio::task::spawn_blocking(move || {
        pending
            .into_iter()
            .map(|(id, d)| (id, segment(&d)))
            .collect()
    })
    .await
    .map_err(|e| crate::store::StoreError::Db(format!("segmenting failed: {e}")))?;
    db.write(move |c| {
        let mut n = 0;
        for (id, terms) in &done {
            n += c.exec(
                "UPDATE cases SET terms = $1, terms_partial = 0 WHERE id = $2 AND terms_partial = 1",
                params![terms.as_str(), *id],
            )? as usize;
        }
        Ok(n)
    })
    .await
}

/// Appends the character bigrams of each run of Chinese text, marked `~`.
fn push_pairs(text: &str, out: &mut Vec<String>) {
    let chars: Vec<char> = text.chars().collect();
    for pair in chars.windows(2) {
        let cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        if cjk(pair[0]) && cjk(pair[1]) {
            let bigram: String = pair.iter().collect();
            if !STOP.contains(&bigram.as_str()) {
                out.push(format!("~{bigram}"));
            }
        }
    }
}

/// Stored terms with their weights (bigrams weigh half a word), sorted by term: two of them
/// are compared by walking both in step, with no hashing (intake compares a report with up
/// to forty candidates).
pub type Counts<'a> = Vec<(&'a str, f64)>;

/// Counts stored terms; bigrams weigh half a word.
pub fn counts(segmented: &str) -> Counts<'_> {
    let mut terms: Vec<&str> = segmented.split_whitespace().collect();
    // Stored sorted since 2026-11; older cases' terms are sorted here.
    if !terms.is_sorted() {
        terms.sort_unstable();
    }
    let mut out: Counts = Vec::with_capacity(terms.len());
    for t in terms {
        let w = if t.starts_with('~') { 0.5 } else { 1.0 };
        match out.last_mut() {
            Some((last, n)) if *last == t => *n += w,
            _ => out.push((t, w)),
        }
    }
    out
}

/// Cosine similarity of two term counts, 0–1.
pub fn similarity(a: &Counts, b: &Counts) -> f64 {
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    let na: f64 = a.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Great-circle distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// A likely duplicate.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub state: String,
    /// The case's words; shown to a worker with phone and ID numbers masked.
    pub description: String,
    pub created_at: i64,
    /// Metres from the new report, when both have a point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    pub same_building: bool,
    /// Text similarity, 0–1.
    pub score: f64,
    /// What deciding who may see it takes.
    #[serde(skip)]
    pub place_id: i64,
    #[serde(skip)]
    pub place_path: String,
    #[serde(skip)]
    pub building_id: Option<i64>,
    #[serde(skip)]
    pub reporter_id: Option<i64>,
    #[serde(skip)]
    pub handler_org_id: Option<i64>,
    #[serde(skip)]
    pub handler_user_id: Option<i64>,
    #[serde(skip)]
    pub channel: String,
}

/// A similar report nearby, as someone who may not open it is shown it: its category, the
/// building (or the area) it is at, its state and age; never its words, its flat or who
/// reported it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Nearby {
    /// The category's code.
    pub category: String,
    pub category_name_zh: String,
    pub category_name_en: String,
    /// The building's name, or the grid's or community's when the report is not at a building.
    pub place: String,
    pub state: String,
    /// Whole days since it was reported.
    pub days_ago: i64,
    pub same_building: bool,
    #[serde(skip)]
    pub case_id: i64,
}

/// A likely duplicate as the caller is shown it: `case` for a worker who may open it, `nearby`
/// for anyone else.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shown {
    Case(Suggestion),
    Nearby(Nearby),
}

/// What a new report is compared on.
pub struct Probe<'a> {
    pub street_id: i64,
    pub category_id: i64,
    pub radius_m: i64,
    pub building_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The new report's description as [`segment`] gives it.
    pub terms: &'a str,
    /// The case itself, when checking one already stored.
    pub exclude: Option<i64>,
}

pub fn suggest(c: &mut dyn Conn, p: &Probe, now: i64) -> Result<Vec<Suggestion>> {
    let since = now - RECENT_MS;
    // A box around the point narrows the rows read; the exact distance is checked below.
    let (lat, lon) = (p.lat.unwrap_or(0.0), p.lon.unwrap_or(0.0));
    let has_point = p.lat.is_some() && p.lon.is_some();
    let dlat = p.radius_m as f64 / 111_000.0;
    let dlon = dlat / lat.to_radians().cos().max(0.1);
    let open = "state NOT IN ('closed', 'rated', 'merged', 'rejected')";
    // The conditions use index columns only (the state is the partial indexes' condition;
    // the street follows from the category, each street having its own, and is checked on
    // the rows read), so the table is read for the candidates kept alone, descriptions and
    // all: a suggestion shown needs no further read.
    let cols = "id, state, created_at, lat, lon, building_id, terms, street_id, description, \
                reporter_id, handler_org_id, handler_user_id, place_path, place_id, channel";
    let mut rows = Vec::new();
    if let Some(b) = p.building_id {
        rows.extend(c.query(
            &format!(
                "SELECT {cols} FROM cases WHERE category_id = $1 AND building_id = $2 AND created_at >= $3 \
                 AND id <> $4 AND {open} ORDER BY created_at DESC LIMIT {CANDIDATES}"
            ),
            params![p.category_id, b, since, p.exclude.unwrap_or(-1)],
        )?);
    }
    if has_point {
        // Within the radius, on the index's point: metres per degree of latitude (111 km,
        // squared in the query) and of longitude here; a metre's margin for the
        // approximation, and the exact distance checked below.
        let kx = 111_000.0 * lat.to_radians().cos();
        // `newer_than` skips what cannot be among the newest already found. (Cases of the
        // same building are not excluded here: in a busy building the newest within the
        // radius would then be a walk past all of them.)
        let near = |c: &mut dyn Conn, cell: Option<i64>, newer_than: i64| {
            let mut args = params![
                p.category_id,
                lat - dlat,
                lat + dlat,
                lon - dlon,
                lon + dlon,
                newer_than,
                p.exclude.unwrap_or(-1),
                lat,
                lon,
                kx * kx,
                (p.radius_m as f64 + 1.0).powi(2)
            ]
            .to_vec();
            let mut more = String::new();
            if let Some(cell) = cell {
                args.push(crate::store::Val::Int(cell));
                more.push_str(&format!(" AND cell = ${}", args.len()));
            }
            c.query(
                &format!(
                    "SELECT {cols} FROM cases WHERE category_id = $1{more} AND lat BETWEEN $2 AND $3 \
                     AND lon BETWEEN $4 AND $5 AND created_at >= $6 AND id <> $7 AND {open} \
                     AND ((lat - $8) * (lat - $8) * 12321000000.0 + (lon - $9) * (lon - $9) * $10) <= $11 \
                     ORDER BY created_at DESC LIMIT {CANDIDATES}"
                ),
                &args,
            )
        };
        // The newest within the box, read cell by cell (each cell's newest, then the newest
        // of those): the same rows as one walk over the category, at a fraction of the reads.
        let mut found: Vec<crate::store::Row> = Vec::new();
        match cells_of_box(lat - dlat, lat + dlat, lon - dlon, lon + dlon) {
            Some(cells) => {
                for cell in cells {
                    keep_newest(&mut found);
                    let newer_than = match found.last() {
                        Some(r) if found.len() == CANDIDATES as usize => r.i64(2).max(since),
                        _ => since,
                    };
                    found.extend(near(c, Some(cell), newer_than)?);
                }
            }
            None => found = near(c, None, since)?,
        }
        keep_newest(&mut found);
        rows.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| r.i64(7) == p.street_id && seen.insert(r.i64(0)));
    let probe = counts(p.terms);
    let mut out: Vec<Suggestion> = rows
        .into_iter()
        .filter_map(|mut r| {
            let same_building = p.building_id.is_some() && r.opt_i64(5) == p.building_id;
            let distance = match (has_point, r.opt_f64(3), r.opt_f64(4)) {
                (true, Some(a), Some(o)) => Some(distance_m(lat, lon, a, o)),
                _ => None,
            };
            let near = distance.is_some_and(|d| d <= p.radius_m as f64);
            if !same_building && !near {
                return None;
            }
            let score = similarity(&probe, &counts(&r.take_str(6).unwrap_or_default()));
            Some(Suggestion {
                id: r.i64(0),
                state: r.take_str(1).unwrap_or_default(),
                description: r.take_str(8).unwrap_or_default(),
                created_at: r.i64(2),
                distance_m: distance.map(|d| d.round()),
                same_building,
                score: (score * 1000.0).round() / 1000.0,
                reporter_id: r.opt_i64(9),
                handler_org_id: r.opt_i64(10),
                handler_user_id: r.opt_i64(11),
                place_path: r.take_str(12).unwrap_or_default(),
                place_id: r.i64(13),
                channel: r.take_str(14).unwrap_or_default(),
                building_id: r.opt_i64(5),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.same_building.cmp(&a.same_building))
            .then(
                a.distance_m
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.distance_m.unwrap_or(f64::MAX)),
            )
    });
    out.truncate(MAX);
    Ok(out)
}

/// The likely duplicates a viewer may be shown as cases: those she sees anyway, and only to a
/// worker over places (see [`shown_to`]); their words masked ([`crate::privacy::mask`])
/// unless she wrote them.
pub fn in_scope(viewer: &super::Viewer, found: Vec<Suggestion>) -> Vec<Suggestion> {
    if !viewer.works_in_places() {
        return Vec::new();
    }
    found
        .into_iter()
        .filter(|s| {
            viewer.sees(
                &s.place_path,
                s.handler_org_id,
                s.handler_user_id,
                s.reporter_id,
            )
        })
        .map(|mut s| {
            if s.reporter_id != Some(viewer.user_id) {
                s.description = crate::privacy::mask::free_text(&s.description);
            }
            s
        })
        .collect()
}

/// What a viewer is shown of the likely duplicates of a report in `category`: cases in her
/// scope to a worker over places ([`in_scope`]); to anyone else, similar reports nearby when
/// the category may be published and the report came through a channel that may be
/// ([`super::Category::publishable`], [`super::Channel::published`]), naming only the
/// building or area.
pub fn shown_to(
    c: &mut dyn Conn,
    viewer: &super::Viewer,
    category: &super::Category,
    found: Vec<Suggestion>,
    now: i64,
) -> Result<Vec<Shown>> {
    if viewer.works_in_places() {
        return Ok(in_scope(viewer, found)
            .into_iter()
            .map(Shown::Case)
            .collect());
    }
    if !category.publishable() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for s in found {
        if !super::Channel::parse(&s.channel).is_some_and(super::Channel::published) {
            continue;
        }
        // The building a flat is in, never the flat.
        let place = c
            .query_opt(
                "SELECT name FROM places WHERE id = $1",
                params![s.building_id.unwrap_or(s.place_id)],
            )?
            .map(|r| r.str(0))
            .unwrap_or_default();
        out.push(Shown::Nearby(Nearby {
            category: category.code.clone(),
            category_name_zh: category.name_zh.clone(),
            category_name_en: category.name_en.clone(),
            place,
            state: s.state,
            days_ago: (now - s.created_at).max(0) / 86_400_000,
            same_building: s.same_building,
            case_id: s.id,
        }));
    }
    Ok(out)
}

/// The audit subjects of suggestions shown: each case, and each reporter whose case's words
/// were shown.
pub fn audit_subjects(shown: &[Shown]) -> Vec<String> {
    let mut out = Vec::new();
    for s in shown {
        match s {
            Shown::Case(s) => {
                out.push(format!("case:{}", s.id));
                out.extend(s.reporter_id.map(crate::audit::user));
            }
            Shown::Nearby(n) => out.push(format!("case:{}", n.case_id)),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Keeps the newest [`CANDIDATES`] of candidate rows (created_at third), newest first.
fn keep_newest(rows: &mut Vec<crate::store::Row>) {
    rows.sort_by_key(|r| std::cmp::Reverse(r.i64(2)));
    rows.truncate(CANDIDATES as usize);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_reads_every_cell_it_touches() {
        // 31.2260 lies just above a cell edge (31.225 = 6245/200): a 200 m box reaches
        // across it, and both cells are read, the point's own among them.
        let (lat, lon) = (31.2260, 121.4737);
        let d = 200.0 / 111_000.0;
        let cells = cells_of_box(lat - d, lat + d, lon - d, lon + d).unwrap();
        assert!(cells.contains(&cell(lat, lon)));
        assert!(cells.contains(&cell(lat - d, lon)) && cell(lat - d, lon) != cell(lat, lon));
        assert!(cells.len() <= 4, "{cells:?}");
        // Kilometres: too many cells; the caller reads the category instead.
        assert!(cells_of_box(lat - 0.05, lat + 0.05, lon - 0.05, lon + 0.05).is_none());
    }

    #[test]
    fn alike_reports_score_higher() {
        let (a, b, d) = (
            segment("小区东门路灯不亮了，晚上很黑"),
            segment("东门的路灯坏了不亮"),
            segment("楼下有人违章停车堵住消防通道"),
        );
        let (a, b, d) = (counts(&a), counts(&b), counts(&d));
        assert!(similarity(&a, &b) > similarity(&a, &d));
        assert!(similarity(&a, &a) > 0.99);
        assert_eq!(similarity(&a, &Vec::new()), 0.0);
        // Repeats add up: a bigram twice weighs one word.
        assert_eq!(
            counts("~路灯 路灯 ~路灯"),
            vec![("~路灯", 1.0), ("路灯", 1.0)]
        );
    }

    #[test]
    fn distances() {
        // 0.001° of latitude is about 111 m.
        let d = distance_m(31.2, 121.5, 31.201, 121.5);
        assert!((d - 111.0).abs() < 1.0, "{d}");
    }
}
