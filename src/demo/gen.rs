//! Deterministic, realistic demo data: an older Pudong (Shanghai) street with
//! communities, grids, estates, buildings, units, households, residents and
//! organisations.
//!
//! The same `(seed, size, street_no, today)` always yields identical output.
//! Geometry is laid out on jittered lattices so that neighbouring grids (and
//! communities, and streets) share their boundary vertices exactly and tile
//! without gaps:
//!
//! * the district (lon 121.50–121.62, lat 31.18–31.28) is a 6 × 5 lattice of
//!   street cells whose interior vertices are jittered;
//! * inside a street cell a finer lattice (3 sub-steps per grid cell) is
//!   jittered and mapped bilinearly into the cell; communities are blocks of
//!   grid cells and grids are runs of cells inside their community;
//! * polygons trace every lattice point along their block's boundary, so the
//!   shared edges of two neighbours are the same vertex sequence, reversed;
//! * buildings are points placed inside (convex) lattice sub-cells of their
//!   grid, hence inside the grid polygon.
//!
//! `places` are ordered parents-first (depth-first: street, community, its
//! grids, each grid's buildings each followed by its units, next community…).

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::demo::names;
use crate::registry::idnum::{IdNumber, Sex};

/// How much demo data to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoSize {
    /// One street, 2 communities with 2 grids each, about 2,000 residents.
    Small,
    /// One street, 12 communities, 60 grids, about 40,000 residents.
    Street,
    /// 30 streets like `Street`, about 1.2 million residents.
    District,
}

impl DemoSize {
    /// `"small"`, `"street"` or `"district"` (case-insensitive, trimmed).
    pub fn parse(s: &str) -> Option<DemoSize> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Some(DemoSize::Small),
            "street" => Some(DemoSize::Street),
            "district" => Some(DemoSize::District),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DemoSize::Small => "small",
            DemoSize::Street => "street",
            DemoSize::District => "district",
        }
    }

    /// Earlier cases the demo accounts' street gets besides the sample ones: none for
    /// `small` (the tests' street, whose sample cases they count on), about two months of a
    /// street's reports otherwise.
    pub fn case_history(&self) -> usize {
        match self {
            DemoSize::Small => 0,
            DemoSize::Street | DemoSize::District => 600,
        }
    }

    /// Number of streets: 1, 1 and 30.
    pub fn streets(&self) -> usize {
        match self {
            DemoSize::Small | DemoSize::Street => 1,
            DemoSize::District => DISTRICT_COLS * DISTRICT_ROWS,
        }
    }

    /// Communities per street.
    fn communities(&self) -> usize {
        match self {
            DemoSize::Small => 2,
            _ => 12,
        }
    }

    /// Grids per community.
    fn grids_per_community(&self) -> usize {
        match self {
            DemoSize::Small => 2,
            _ => 5,
        }
    }

    /// Target residents per street.
    fn residents(&self) -> usize {
        match self {
            DemoSize::Small => 2_000,
            _ => 40_000,
        }
    }

    /// (community columns, community rows, grid-cell columns, grid-cell rows)
    fn layout(&self) -> (usize, usize, usize, usize) {
        match self {
            DemoSize::Small => (1, 2, 2, 1),
            _ => (3, 4, 3, 2),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaceKind {
    District,
    Street,
    Community,
    Grid,
    Building,
    Unit,
}

impl PlaceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlaceKind::District => "district",
            PlaceKind::Street => "street",
            PlaceKind::Community => "community",
            PlaceKind::Grid => "grid",
            PlaceKind::Building => "building",
            PlaceKind::Unit => "unit",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitUse {
    SelfOccupied,
    Rented,
    Vacant,
    Commercial,
}

impl UnitUse {
    pub fn as_str(&self) -> &'static str {
        match self {
            UnitUse::SelfOccupied => "self_occupied",
            UnitUse::Rented => "rented",
            UnitUse::Vacant => "vacant",
            UnitUse::Commercial => "commercial",
        }
    }
}

#[derive(Clone, Debug)]
pub struct PlaceSeed {
    /// Index in `StreetData::places` (0 for the district from [`district`]).
    pub idx: usize,
    /// Index of the parent in the same Vec; `None` for the street (whose
    /// parent is the district) and for the district itself.
    pub parent: Option<usize>,
    pub kind: PlaceKind,
    /// Unique among siblings, only `[A-Za-z0-9-]`: street `310115004`,
    /// community `c01`, grid `g0103`, building `b0017`, unit `1-302`.
    pub code: String,
    /// 梅园社区 / 梅园第3网格 / 潍坊路123弄5号 / 302室
    pub name: String,
    /// District, street, community, grid: a GeoJSON Polygon geometry
    /// (closed, counter-clockwise ring); building: a GeoJSON Point.
    pub geojson: Option<String>,
    /// Building: `潍坊路123弄5号`; unit: `潍坊路123弄5号302室`.
    pub address: Option<String>,
    pub floors: Option<i64>,
    pub stairwells: Option<i64>,
    pub floor_no: Option<i64>,
    pub stairwell_no: Option<i64>,
    /// Unit floor area in m², one decimal.
    pub area_m2: Option<f64>,
    pub unit_use: Option<UnitUse>,
    /// Building: the residential compound (小区), e.g. 梅园一村.
    pub estate: Option<String>,
}

impl PlaceSeed {
    fn new(idx: usize, parent: Option<usize>, kind: PlaceKind, code: String, name: String) -> Self {
        PlaceSeed {
            idx,
            parent,
            kind,
            code,
            name,
            geojson: None,
            address: None,
            floors: None,
            stairwells: None,
            floor_no: None,
            stairwell_no: None,
            area_m2: None,
            unit_use: None,
            estate: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct OrgSeed {
    /// Unique across the district: `<street code>-d01`, `-p01`, `-s01`.
    pub code: String,
    pub name: String,
    /// `"department"`, `"property"` or `"social"`.
    pub kind: &'static str,
    /// Indexes into `StreetData::places` (the street or communities).
    pub serves: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct PersonSeed {
    pub idx: usize,
    /// Index into `StreetData::households`.
    pub household: usize,
    pub name: String,
    pub id_number: IdNumber,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    /// Mobile number, 11 digits.
    pub phone: Option<String>,
    /// "head", "spouse", "child", "parent", "grandchild", "sibling", "other",
    /// "tenant".
    pub relation: &'static str,
    /// Hukou (户籍) registered at this address.
    pub hukou_registered: bool,
    /// "permanent", "temporary" or "left".
    pub residence: &'static str,
    /// "both", "registered_elsewhere_lives_here",
    /// "registered_here_lives_elsewhere".
    pub presence: &'static str,
    /// Subset of "elderly_alone", "disabled", "party_member", "volunteer",
    /// "renter", "key_care".
    pub tags: Vec<&'static str>,
}

#[derive(Clone, Debug)]
pub struct HouseholdSeed {
    pub idx: usize,
    /// Index into `StreetData::places` (a Unit).
    pub unit: usize,
    /// Index into `StreetData::persons`.
    pub head: usize,
    /// A registered (户籍) household: the head's hukou is here.
    pub registered: bool,
}

pub struct StreetData {
    pub places: Vec<PlaceSeed>,
    pub orgs: Vec<OrgSeed>,
    pub households: Vec<HouseholdSeed>,
    pub persons: Vec<PersonSeed>,
}

// ---------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------

const LON0: f64 = 121.50;
const LON1: f64 = 121.62;
const LAT0: f64 = 31.18;
const LAT1: f64 = 31.28;
const DISTRICT_COLS: usize = 6;
const DISTRICT_ROWS: usize = 5;
/// Lattice sub-steps per grid cell side.
const SUB: usize = 3;

type Pt = [f64; 2];

fn r6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A (nu+1) × (nv+1) lattice of points; `i` runs west→east, `j` south→north.
struct Lattice {
    nu: usize,
    nv: usize,
    pts: Vec<Pt>,
}

impl Lattice {
    fn get(&self, i: usize, j: usize) -> Pt {
        self.pts[j * (self.nu + 1) + i]
    }

    /// Bilinear interpolation inside the sub-cell containing (fu, fv), given
    /// in lattice index units.
    fn interp(&self, fu: f64, fv: f64) -> Pt {
        let i = (fu.floor().max(0.0) as usize).min(self.nu - 1);
        let j = (fv.floor().max(0.0) as usize).min(self.nv - 1);
        let s = fu - i as f64;
        let t = fv - j as f64;
        let (a, b, c, d) = (
            self.get(i, j),
            self.get(i + 1, j),
            self.get(i, j + 1),
            self.get(i + 1, j + 1),
        );
        let mut p = [0.0; 2];
        for k in 0..2 {
            p[k] = (1.0 - s) * (1.0 - t) * a[k]
                + s * (1.0 - t) * b[k]
                + (1.0 - s) * t * c[k]
                + s * t * d[k];
        }
        p
    }

    /// Closed counter-clockwise ring along the boundary of the block
    /// `i0..=i1` × `j0..=j1`, through every lattice point on it.
    fn ring(&self, i0: usize, i1: usize, j0: usize, j1: usize) -> Vec<Pt> {
        let mut r = Vec::with_capacity(2 * (i1 - i0 + j1 - j0) + 1);
        for i in i0..i1 {
            r.push(self.get(i, j0));
        }
        for j in j0..j1 {
            r.push(self.get(i1, j));
        }
        for i in (i0 + 1..=i1).rev() {
            r.push(self.get(i, j1));
        }
        for j in (j0 + 1..=j1).rev() {
            r.push(self.get(i0, j));
        }
        r.push(r[0]);
        r
    }
}

fn polygon_json(ring: &[Pt]) -> String {
    let mut s = String::with_capacity(32 + ring.len() * 26);
    s.push_str(r#"{"type":"Polygon","coordinates":[["#);
    for (k, p) in ring.iter().enumerate() {
        if k > 0 {
            s.push(',');
        }
        let _ = write!(s, "[{:.6},{:.6}]", p[0], p[1]);
    }
    s.push_str("]]}");
    s
}

fn point_json(p: Pt) -> String {
    format!(
        r#"{{"type":"Point","coordinates":[{:.6},{:.6}]}}"#,
        p[0], p[1]
    )
}

/// The district lattice of street cells; depends on the seed only.
fn district_lattice(seed: u64) -> Lattice {
    let mut rng = StdRng::seed_from_u64(splitmix(seed ^ 0xD157_C700_0000_0115));
    let (nu, nv) = (DISTRICT_COLS, DISTRICT_ROWS);
    let du = (LON1 - LON0) / nu as f64;
    let dv = (LAT1 - LAT0) / nv as f64;
    let mut pts = Vec::with_capacity((nu + 1) * (nv + 1));
    for j in 0..=nv {
        for i in 0..=nu {
            let mut x = LON0 + i as f64 * du;
            let mut y = LAT0 + j as f64 * dv;
            if i > 0 && i < nu && j > 0 && j < nv {
                x += rng.gen_range(-0.12..0.12) * du;
                y += rng.gen_range(-0.12..0.12) * dv;
            }
            pts.push([r6(x), r6(y)]);
        }
    }
    Lattice { nu, nv, pts }
}

/// The district: code 310115, 浦东新区, with a polygon covering every street
/// cell (its ring passes through all the street-cell corners on the border).
pub fn district(seed: u64) -> PlaceSeed {
    let lat = district_lattice(seed);
    let mut p = PlaceSeed::new(
        0,
        None,
        PlaceKind::District,
        "310115".to_string(),
        "浦东新区".to_string(),
    );
    p.geojson = Some(polygon_json(&lat.ring(0, lat.nu, 0, lat.nv)));
    p
}

/// Street-level lattice: the street cell's quad, subdivided and jittered.
fn street_lattice(rng: &mut StdRng, quad: [Pt; 4], nu: usize, nv: usize) -> Lattice {
    // quad = [sw, se, nw, ne]
    let [a, b, c, d] = quad;
    let mut pts = Vec::with_capacity((nu + 1) * (nv + 1));
    for j in 0..=nv {
        for i in 0..=nu {
            let mut u = i as f64 / nu as f64;
            let mut v = j as f64 / nv as f64;
            if i > 0 && i < nu && j > 0 && j < nv {
                // at most 0.2 of a sub-step: every sub-cell stays convex
                u += rng.gen_range(-0.2..0.2) / nu as f64;
                v += rng.gen_range(-0.2..0.2) / nv as f64;
            }
            let mut p = [0.0; 2];
            for k in 0..2 {
                p[k] = (1.0 - u) * (1.0 - v) * a[k]
                    + u * (1.0 - v) * b[k]
                    + (1.0 - u) * v * c[k]
                    + u * v * d[k];
            }
            pts.push([r6(p[0]), r6(p[1])]);
        }
    }
    Lattice { nu, nv, pts }
}

// ---------------------------------------------------------------------------
// Generator state
// ---------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Member {
    rel: &'static str,
    age: u32,
    sex: Sex,
    /// Index into names::SURNAMES.
    surname: usize,
}

struct Gen {
    rng: StdRng,
    today: NaiveDate,
    street_no: usize,
    streets_total: usize,
    ids: HashSet<u64>,
    phones: HashSet<u64>,
    surname_sh: WeightedIndex<u32>,
    surname_cn: WeightedIndex<u32>,
    region_sh: WeightedIndex<u32>,
    region_other: WeightedIndex<u32>,
    mobile: WeightedIndex<u32>,
    places: Vec<PlaceSeed>,
    households: Vec<HouseholdSeed>,
    persons: Vec<PersonSeed>,
}

fn weights<T>(t: &[(T, u32)]) -> WeightedIndex<u32> {
    WeightedIndex::new(t.iter().map(|x| x.1)).expect("non-empty weights")
}

fn add_years(d: NaiveDate, years: i32) -> NaiveDate {
    let y = d.year() + years;
    d.with_year(y)
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
        .expect("valid date")
}

impl Gen {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// Index by weights.
    fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u32 = w.iter().sum();
        let mut x = self.rng.gen_range(0..total);
        for (i, &wi) in w.iter().enumerate() {
            if x < wi {
                return i;
            }
            x -= wi;
        }
        w.len() - 1
    }

    fn max_age(&self) -> u32 {
        (self.today.year() - 1901).clamp(0, 100) as u32
    }

    /// Age skewed towards the lower end (older ages are rarer).
    fn old_age(&mut self, lo: u32, hi: u32) -> u32 {
        let a: f64 = self.rng.r#gen();
        let b: f64 = self.rng.r#gen();
        let span = (hi - lo + 1) as f64;
        (lo + (a.min(b) * span) as u32).min(hi)
    }

    fn birth_for_age(&mut self, age: u32) -> NaiveDate {
        let anchor = add_years(self.today, -(age as i32));
        // birth in (today - (age+1) years, today - age years]
        let back = self.rng.gen_range(0..365);
        let b = anchor - Duration::days(back);
        if add_years(b, age as i32 + 1) <= self.today {
            b + Duration::days(1)
        } else {
            b
        }
    }

    fn surname(&mut self, shanghai: bool) -> usize {
        if shanghai {
            self.surname_sh.sample(&mut self.rng)
        } else {
            self.surname_cn.sample(&mut self.rng)
        }
    }

    fn given_name(&mut self, sex: Sex, birth_year: i32) -> String {
        let table = match (sex, birth_year) {
            (Sex::Female, y) if y < 1960 => names::GIVEN_F_OLD,
            (Sex::Male, y) if y < 1960 => names::GIVEN_M_OLD,
            (Sex::Female, y) if y < 1990 => names::GIVEN_F_MID,
            (Sex::Male, y) if y < 1990 => names::GIVEN_M_MID,
            (Sex::Female, _) => names::GIVEN_F_YOUNG,
            (Sex::Male, _) => names::GIVEN_M_YOUNG,
        };
        let a = self.rng.gen_range(0..table.len());
        if self.chance(0.2) {
            return table[a].to_string();
        }
        let mut b = self.rng.gen_range(0..table.len() - 1);
        if b >= a {
            b += 1;
        }
        format!("{}{}", table[a], table[b])
    }

    fn region(&mut self, registered: bool, shanghai_bias: f64, birth_year: i32) -> &'static str {
        if registered {
            if birth_year >= 2002 || self.chance(0.8) {
                "310115"
            } else {
                names::SHANGHAI_REGIONS[self.region_sh.sample(&mut self.rng)].0
            }
        } else if self.chance(shanghai_bias) {
            names::SHANGHAI_REGIONS[self.region_sh.sample(&mut self.rng)].0
        } else {
            names::OTHER_REGIONS[self.region_other.sample(&mut self.rng)].0
        }
    }

    /// A unique ID: the sequence number space is partitioned between the
    /// streets of a district (slot ≡ street_no mod streets), and its parity
    /// encodes the sex. On the (practically impossible) exhaustion of a
    /// birth date's slots the birth date moves one day earlier.
    fn id_number(&mut self, region: &str, mut birth: NaiveDate, sex: Sex) -> (IdNumber, NaiveDate) {
        let per_street = 500 / self.streets_total;
        let male = u16::from(sex == Sex::Male);
        let key = |id: &IdNumber| -> u64 { id.as_str()[..17].parse().expect("digits") };
        loop {
            let start = self.rng.gen_range(0..per_street);
            for k in 0..per_street {
                let j = (start + k) % per_street;
                let slot = j * self.streets_total + self.street_no;
                let id = IdNumber::build(region, birth, 2 * slot as u16 + male);
                if self.ids.insert(key(&id)) {
                    return (id, birth);
                }
            }
            birth -= Duration::days(1);
        }
    }

    fn phone(&mut self, age: u32) -> Option<String> {
        let p = match age {
            0..=9 => 0.0,
            10..=15 => 0.3,
            16..=17 => 0.75,
            18..=69 => 0.97,
            70..=79 => 0.8,
            _ => 0.45,
        };
        if !self.chance(p) {
            return None;
        }
        loop {
            let prefix = names::MOBILE_PREFIXES[self.mobile.sample(&mut self.rng)].0;
            // the last eight digits are ≡ street_no (mod streets), so numbers
            // are unique across the streets of a district as well
            let n = self.streets_total as u32;
            let rest: u32 = self.rng.gen_range(0..100_000_000 / n) * n + self.street_no as u32;
            let s = format!("{prefix}{rest:08}");
            if self.phones.insert(s.parse().expect("digits")) {
                return Some(s);
            }
        }
    }

    // ----- households -----------------------------------------------------

    fn member(&mut self, rel: &'static str, age: u32, sex: Sex, shanghai: bool) -> Member {
        Member {
            rel,
            age: age.min(self.max_age()),
            sex,
            surname: self.surname(shanghai),
        }
    }

    fn spouse_of(&mut self, m: &Member, shanghai: bool) -> Member {
        // husband typically 0–4 years older than the wife
        let diff: i32 = self.rng.gen_range(-2..=5);
        let age = match m.sex {
            Sex::Male => m.age as i32 - diff,
            Sex::Female => m.age as i32 + diff,
        };
        let age = age.clamp(18, self.max_age() as i32) as u32;
        let sex = match m.sex {
            Sex::Male => Sex::Female,
            Sex::Female => Sex::Male,
        };
        self.member("spouse", age, sex, shanghai)
    }

    /// A child of `parents` (head first, maybe spouse) aged within
    /// `lo..=hi`; 21–38 years younger than each parent. Takes the father's
    /// surname nine times out of ten.
    fn child_of(
        &mut self,
        rel: &'static str,
        parents: &[Member],
        lo: u32,
        hi: u32,
        shanghai: bool,
    ) -> Option<Member> {
        let mut a = lo as i32;
        let mut b = hi as i32;
        for p in parents {
            a = a.max(p.age as i32 - 38);
            b = b.min(p.age as i32 - 21);
        }
        if a > b || b < 0 {
            return None;
        }
        let age = self.rng.gen_range(a.max(0)..=b) as u32;
        let sex = if self.chance(0.51) {
            Sex::Male
        } else {
            Sex::Female
        };
        let father = parents.iter().find(|p| p.sex == Sex::Male);
        let mother = parents.iter().find(|p| p.sex == Sex::Female);
        let surname = match (father, mother) {
            (Some(f), Some(m)) => {
                if self.chance(0.9) {
                    f.surname
                } else {
                    m.surname
                }
            }
            (Some(p), None) | (None, Some(p)) => p.surname,
            (None, None) => self.surname(shanghai),
        };
        Some(Member {
            rel,
            age,
            sex,
            surname,
        })
    }

    /// A parent of `m`, 22–36 years older, at most the maximum age.
    fn parent_of(&mut self, m: &Member, sex: Sex, shanghai: bool) -> Option<Member> {
        let lo = m.age + 22;
        let hi = (m.age + 36).min(self.max_age());
        if lo > hi {
            return None;
        }
        let age = self.old_age(lo, hi);
        let mut p = self.member("parent", age, sex, shanghai);
        if sex == Sex::Male && m.sex == Sex::Male && self.chance(0.9) {
            p.surname = m.surname;
        }
        Some(p)
    }

    fn head(&mut self, age: u32, male_p: f64, shanghai: bool) -> Member {
        let sex = if self.chance(male_p) {
            Sex::Male
        } else {
            Sex::Female
        };
        self.member("head", age, sex, shanghai)
    }

    /// Members of an owner-occupied household (head first).
    fn owner_household(&mut self) -> Vec<Member> {
        let sh = true;
        let size = 1 + self.weighted(&[27, 33, 25, 10, 5]);
        let mut ms: Vec<Member> = Vec::with_capacity(size);
        match size {
            1 => {
                let r = self.weighted(&[22, 15, 63]);
                let (age, male_p) = match r {
                    0 => (self.old_age(65, 95), 0.35),
                    1 => (self.rng.gen_range(60..=64), 0.5),
                    _ => (self.rng.gen_range(22..=59), 0.55),
                };
                ms.push(self.head(age, male_p, sh));
            }
            2 => match self.weighted(&[60, 18, 9, 9, 4]) {
                r @ 0..=2 => {
                    // elderly, empty-nest and young couples
                    let age = match r {
                        0 => self.old_age(60, 92),
                        1 => self.rng.gen_range(45..=59),
                        _ => self.rng.gen_range(24..=44),
                    };
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                }
                3 => {
                    let age = self.old_age(50, 90);
                    let h = self.head(age, 0.4, sh);
                    ms.push(h);
                    if let Some(c) = self.child_of("child", &[h], 18, 60, sh) {
                        ms.push(c);
                    }
                }
                _ => {
                    let age = self.rng.gen_range(30..=50);
                    let h = self.head(age, 0.25, sh);
                    ms.push(h);
                    if let Some(c) = self.child_of("child", &[h], 0, 17, sh) {
                        ms.push(c);
                    }
                }
            },
            3 => match self.weighted(&[43, 16, 13, 28]) {
                0 => {
                    let age = self.rng.gen_range(28..=60);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 32, sh) {
                        ms.push(c);
                    }
                }
                1 => {
                    let age = self.rng.gen_range(30..=58);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    let psex = if self.chance(0.65) {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    if let Some(p) = self.parent_of(&h, psex, sh) {
                        ms.push(p);
                    }
                }
                2 => {
                    // grandparents raising a grandchild (隔代抚养)
                    let age = self.rng.gen_range(56..=75);
                    let h = self.head(age, 0.6, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    let lo = age.saturating_sub(75);
                    let hi = (age - 45).min(17);
                    if lo <= hi {
                        let gage = self.rng.gen_range(lo..=hi);
                        let gsex = if self.chance(0.51) {
                            Sex::Male
                        } else {
                            Sex::Female
                        };
                        let mut g = self.member("grandchild", gage, gsex, sh);
                        if self.chance(0.6) {
                            g.surname = if h.sex == Sex::Male {
                                h.surname
                            } else {
                                s.surname
                            };
                        }
                        ms.push(g);
                    }
                }
                _ => {
                    let age = self.old_age(58, 88);
                    let h = self.head(age, 0.65, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 18, 60, sh) {
                        ms.push(c);
                    }
                }
            },
            4 => match self.weighted(&[25, 35, 40]) {
                0 => {
                    let age = self.rng.gen_range(30..=52);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    for _ in 0..2 {
                        if let Some(c) = self.child_of("child", &[h, s], 0, 22, sh) {
                            ms.push(c);
                        }
                    }
                }
                1 => {
                    let age = self.rng.gen_range(32..=55);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 20, sh) {
                        ms.push(c);
                    }
                    let psex = if self.chance(0.6) {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    if let Some(p) = self.parent_of(&h, psex, sh) {
                        ms.push(p);
                    }
                }
                _ => {
                    let age = self.old_age(55, 85);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 22, 60, sh) {
                        ms.push(c);
                        let mut cs = self.spouse_of(&c, sh);
                        cs.rel = "other";
                        ms.push(cs);
                    }
                }
            },
            _ => {
                if self.chance(0.7) {
                    // three generations: grandparents, child + spouse, grandchild
                    let age = self.rng.gen_range(52..=80);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 22, 50, sh) {
                        let mut cs = self.spouse_of(&c, sh);
                        cs.rel = "other";
                        ms.extend([c, cs]);
                        if let Some(g) = self.child_of("grandchild", &[c, cs], 0, 17, sh) {
                            ms.push(g);
                        }
                    }
                } else {
                    let age = self.rng.gen_range(32..=50);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 25, sh) {
                        ms.push(c);
                    }
                    if let Some(f) = self.parent_of(&h, Sex::Male, sh) {
                        ms.push(f);
                        let mut m = self.spouse_of(&f, sh);
                        m.rel = "parent";
                        m.age = m.age.max(h.age + 21);
                        ms.push(m);
                    }
                }
            }
        }
        if ms.len() == 1 && self.chance(0.04) {
            // an adult sibling sharing the flat
            let h = ms[0];
            let age = (h.age as i32 + self.rng.gen_range(-8..=8)).clamp(18, self.max_age() as i32);
            let mut sib = self.member("sibling", age as u32, h.sex, sh);
            sib.surname = h.surname;
            ms.push(sib);
        }
        ms
    }

    /// Members of a rented household: young migrant workers, couples,
    /// families and shared flats.
    fn renter_household(&mut self) -> Vec<Member> {
        let sh = false;
        let size = 1 + self.weighted(&[45, 30, 17, 8]);
        let mut ms: Vec<Member> = Vec::with_capacity(size);
        let head_age = |g: &mut Gen| {
            if g.chance(0.85) {
                g.rng.gen_range(20..=45)
            } else {
                g.rng.gen_range(46..=68)
            }
        };
        match size {
            1 => {
                let age = head_age(self);
                ms.push(self.head(age, 0.55, sh));
            }
            2 if self.chance(0.55) => {
                let age = head_age(self);
                let h = self.head(age, 0.7, sh);
                let s = self.spouse_of(&h, sh);
                ms.extend([h, s]);
            }
            3 if self.chance(0.7) => {
                let age = self.rng.gen_range(26..=48);
                let h = self.head(age, 0.7, sh);
                let s = self.spouse_of(&h, sh);
                ms.extend([h, s]);
                if let Some(c) = self.child_of("child", &[h, s], 0, 17, sh) {
                    ms.push(c);
                }
            }
            n => {
                // unrelated people sharing a flat (合租)
                let age = self.rng.gen_range(20..=40);
                let sex = if self.chance(0.6) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let h = self.member("head", age, sex, sh);
                ms.push(h);
                for _ in 1..n {
                    let age = self.rng.gen_range(19..=45);
                    let s = if self.chance(0.8) {
                        sex
                    } else if sex == Sex::Male {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    ms.push(self.member("tenant", age, s, sh));
                }
            }
        }
        ms
    }

    fn household(&mut self, unit: usize, rented: bool) {
        let ms = if rented {
            self.renter_household()
        } else {
            self.owner_household()
        };
        let hh_idx = self.households.len();
        let head_idx = self.persons.len();
        let alone = ms.len() == 1;
        let mut head_registered = false;
        let mut head_region = "310115";
        for (k, m) in ms.iter().enumerate() {
            let birth = self.birth_for_age(m.age);
            // hukou and residence
            let minor_kid = m.age < 18 && matches!(m.rel, "child" | "grandchild");
            let registered = if k > 0 && minor_kid {
                // minors are registered with their family
                self.chance(if head_registered { 0.97 } else { 0.1 })
            } else if rented {
                self.chance(0.03)
            } else {
                let p = match m.rel {
                    "head" => 0.9,
                    "spouse" => 0.84,
                    "child" | "grandchild" => 0.9,
                    "parent" => 0.8,
                    _ => 0.6,
                };
                self.chance(p)
            };
            let left = registered
                && k > 0
                && (20..=45).contains(&m.age)
                && m.rel == "child"
                && self.chance(0.12);
            let shanghai_bias = if rented { 0.18 } else { 0.5 };
            let region = if !registered
                && k > 0
                && !head_region.starts_with("31")
                && (minor_kid || (m.rel == "spouse" && self.chance(0.6)))
            {
                // family members from the same home county as the head
                head_region
            } else {
                self.region(registered, shanghai_bias, birth.year())
            };
            let (residence, presence) = if left {
                ("left", "registered_here_lives_elsewhere")
            } else if registered {
                ("permanent", "both")
            } else if !rented && region.starts_with("31") {
                ("permanent", "registered_elsewhere_lives_here")
            } else {
                ("temporary", "registered_elsewhere_lives_here")
            };
            let (id, birth) = self.id_number(region, birth, m.sex);
            let age = m.age;
            let name = format!(
                "{}{}",
                names::SURNAMES[m.surname].0,
                self.given_name(m.sex, birth.year())
            );
            let phone = self.phone(age);
            // tags
            let mut tags: Vec<&'static str> = Vec::new();
            let elderly_alone = alone && age >= 65;
            if elderly_alone {
                tags.push("elderly_alone");
            }
            let p_dis = match age {
                0..=17 => 0.005,
                18..=59 => 0.015,
                60..=79 => 0.04,
                _ => 0.08,
            };
            let disabled = self.chance(p_dis);
            if disabled {
                tags.push("disabled");
            }
            let p_party = match age {
                0..=17 => 0.0,
                18..=35 => 0.05,
                36..=59 => 0.065,
                _ => 0.09,
            };
            if self.chance(if rented { p_party * 0.6 } else { p_party }) {
                tags.push("party_member");
            }
            let p_vol = match age {
                0..=15 => 0.0,
                16..=54 => 0.025,
                55..=70 => 0.1,
                71..=79 => 0.03,
                _ => 0.0,
            };
            if self.chance(p_vol) {
                tags.push("volunteer");
            }
            if rented {
                tags.push("renter");
            }
            let p_key = if elderly_alone && disabled {
                0.5
            } else if (elderly_alone && age >= 80) || disabled {
                0.1
            } else {
                0.006
            };
            if self.chance(p_key) {
                tags.push("key_care");
            }
            if k == 0 {
                head_registered = registered;
                head_region = region;
            }
            let idx = self.persons.len();
            self.persons.push(PersonSeed {
                idx,
                household: hh_idx,
                name,
                id_number: id,
                sex: m.sex,
                birth_date: birth,
                phone,
                relation: m.rel,
                hukou_registered: registered,
                residence,
                presence,
                tags,
            });
        }
        self.households.push(HouseholdSeed {
            idx: hh_idx,
            unit,
            head: head_idx,
            registered: head_registered,
        });
    }
}

// ---------------------------------------------------------------------------
// Buildings
// ---------------------------------------------------------------------------

struct BuildingSpec {
    floors: u32,
    stairwells: u32,
    per_floor: u32,
    tower: bool,
    estate: usize,
    number: u32,
    street_facing: bool,
}

impl BuildingSpec {
    fn units(&self) -> u32 {
        self.floors * self.stairwells * self.per_floor
    }
}

struct Estate {
    name: String,
    road: &'static str,
    lane: u32,
}

/// Average residents per unit (all units, including vacant and commercial);
/// used to size grids.
const RESIDENTS_PER_UNIT: f64 = 2.02;

struct StreetBuilder {
    g: Gen,
    roads: Vec<&'static str>,
    lanes: Vec<u32>,
    estate_names: HashSet<String>,
    building_no: usize,
}

impl StreetBuilder {
    fn new_estate(&mut self, tower_estate: bool) -> Estate {
        let g = &mut self.g;
        let ri = g.rng.gen_range(0..self.roads.len());
        let road = self.roads[ri];
        let lane = self.lanes[ri];
        self.lanes[ri] += g.rng.gen_range(6..=60);
        let mut name = String::new();
        for attempt in 0..200 {
            let stem = if attempt < 4 && road.chars().count() <= 3 && g.chance(0.35) {
                road
            } else {
                g.pick(names::ESTATE_STEMS)
            };
            let suffix = if tower_estate {
                g.pick(names::ESTATE_SUFFIX_NEW)
            } else {
                g.pick(names::ESTATE_SUFFIX_OLD)
            };
            let cand = format!("{stem}{suffix}");
            if !self.estate_names.contains(&cand) {
                name = cand;
                break;
            }
        }
        if name.is_empty() {
            name = format!("{road}路{lane}弄小区");
        }
        self.estate_names.insert(name.clone());
        Estate { name, road, lane }
    }

    fn building_specs(
        &mut self,
        target_units: u32,
        estates: &mut Vec<Estate>,
    ) -> Vec<BuildingSpec> {
        let mut specs: Vec<BuildingSpec> = Vec::new();
        let mut total = 0;
        'grid: while total < target_units {
            let tower_estate = self.g.chance(0.2);
            let planned = if tower_estate {
                self.g.rng.gen_range(2..=8)
            } else {
                self.g.rng.gen_range(5..=20)
            };
            let e = estates.len();
            estates.push(self.new_estate(tower_estate));
            for number in 1..=planned {
                let g = &mut self.g;
                let tower = g.chance(if tower_estate { 0.55 } else { 0.06 });
                let spec = if tower {
                    BuildingSpec {
                        floors: g.rng.gen_range(11..=18),
                        stairwells: if g.chance(0.7) { 1 } else { 2 },
                        per_floor: g.rng.gen_range(4..=6),
                        tower,
                        estate: e,
                        number,
                        street_facing: number == 1 && g.chance(0.5),
                    }
                } else {
                    BuildingSpec {
                        floors: match g.weighted(&[80, 10, 10]) {
                            0 => 6,
                            1 => 5,
                            _ => 7,
                        },
                        stairwells: if g.chance(0.45) { 2 } else { 3 },
                        per_floor: if g.chance(0.6) { 2 } else { 3 },
                        tower,
                        estate: e,
                        number,
                        street_facing: g.chance(if number <= 2 { 0.45 } else { 0.12 }),
                    }
                };
                // stop when the next building would overshoot more than it fills
                if !specs.is_empty() && total + spec.units() / 2 > target_units {
                    if number == 1 {
                        estates.pop();
                    }
                    break 'grid;
                }
                total += spec.units();
                specs.push(spec);
            }
        }
        specs
    }

    fn grid_buildings(
        &mut self,
        lat: &Lattice,
        grid_idx: usize,
        block: (usize, usize, usize, usize),
        target_residents: f64,
    ) {
        let jitter = self.g.rng.gen_range(0.85..1.15);
        let target_units = (target_residents * jitter / RESIDENTS_PER_UNIT).round() as u32;
        let mut estates = Vec::new();
        let specs = self.building_specs(target_units.max(1), &mut estates);

        // Building positions: rows of blocks facing south, inside the grid.
        let (i0, i1, j0, j1) = block;
        let w = (i1 - i0) as f64;
        let h = (j1 - j0) as f64;
        let nb = specs.len();
        let rows = ((nb as f64 * h / w).sqrt().round() as usize).clamp(1, nb);
        let cols = nb.div_ceil(rows);
        let mut slots: Vec<usize> = (0..rows * cols).collect();
        // keep estates contiguous: fill row-major, with a little shuffling of
        // empty slots when the last row is not full
        if rows * cols > nb {
            slots.shuffle(&mut self.g.rng);
            slots.truncate(nb);
            slots.sort_unstable();
        }
        for (spec, slot) in specs.iter().zip(slots) {
            let (row, col) = (slot / cols, slot % cols);
            let g = &mut self.g;
            let fu =
                i0 as f64 + (col as f64 + 0.5 + g.rng.gen_range(-0.25..0.25)) / cols as f64 * w;
            let fv =
                j1 as f64 - (row as f64 + 0.5 + g.rng.gen_range(-0.25..0.25)) / rows as f64 * h;
            let fu = fu.clamp(i0 as f64 + 0.05, i1 as f64 - 0.05);
            let fv = fv.clamp(j0 as f64 + 0.05, j1 as f64 - 0.05);
            let p = lat.interp(fu, fv);
            let p = [r6(p[0]), r6(p[1])];
            self.building(grid_idx, spec, &estates[spec.estate], p);
        }
    }

    fn building(&mut self, grid_idx: usize, spec: &BuildingSpec, estate: &Estate, p: Pt) {
        self.building_no += 1;
        let g = &mut self.g;
        let idx = g.places.len();
        let address = format!("{}路{}弄{}号", estate.road, estate.lane, spec.number);
        let mut b = PlaceSeed::new(
            idx,
            Some(grid_idx),
            PlaceKind::Building,
            format!("b{:04}", self.building_no),
            address.clone(),
        );
        b.geojson = Some(point_json(p));
        b.address = Some(address.clone());
        b.floors = Some(i64::from(spec.floors));
        b.stairwells = Some(i64::from(spec.stairwells));
        b.estate = Some(estate.name.clone());
        g.places.push(b);

        // Flat sizes per building: walk-ups small, towers larger.
        let (lo, hi) = if spec.tower {
            match spec.per_floor {
                4 => (70.0, 140.0),
                5 => (60.0, 125.0),
                _ => (55.0, 110.0),
            }
        } else if spec.per_floor == 2 {
            (45.0, 78.0)
        } else {
            (35.0, 62.0)
        };
        let base_area: Vec<f64> = (0..spec.stairwells * spec.per_floor)
            .map(|_| g.rng.gen_range(lo..hi))
            .collect();
        for s in 1..=spec.stairwells {
            for f in 1..=spec.floors {
                for k in 1..=spec.per_floor {
                    let room = (s - 1) * spec.per_floor + k;
                    let area = (base_area[(room - 1) as usize] + g.rng.gen_range(-1.5..1.5))
                        .clamp(35.0, 140.0);
                    let area = (area * 10.0).round() / 10.0;
                    let use_ = if f == 1 && spec.street_facing && g.chance(0.7) {
                        UnitUse::Commercial
                    } else {
                        let x: f64 = g.rng.r#gen();
                        if x < 0.08 {
                            UnitUse::Vacant
                        } else if x < 0.08 + 0.155 {
                            UnitUse::Rented
                        } else {
                            UnitUse::SelfOccupied
                        }
                    };
                    let uidx = g.places.len();
                    let uname = format!("{f}{room:02}室");
                    let mut u = PlaceSeed::new(
                        uidx,
                        Some(idx),
                        PlaceKind::Unit,
                        format!("{s}-{f}{room:02}"),
                        uname.clone(),
                    );
                    u.address = Some(format!("{address}{uname}"));
                    u.floor_no = Some(i64::from(f));
                    u.stairwell_no = Some(i64::from(s));
                    u.area_m2 = Some(area);
                    u.unit_use = Some(use_);
                    g.places.push(u);
                    match use_ {
                        UnitUse::SelfOccupied => g.household(uidx, false),
                        UnitUse::Rented => g.household(uidx, true),
                        UnitUse::Vacant | UnitUse::Commercial => {}
                    }
                }
            }
        }
    }
}

/// Grid cells of a community: `n` grids laid row by row (north first) over
/// `cols × rows` cells; the last grid takes any spare cells of its row.
/// Returns (first col, end col, row from the north).
fn grid_cells(n: usize, cols: usize, rows: usize) -> Vec<(usize, usize, usize)> {
    let cells = cols * rows;
    assert!(n >= 1 && n <= cells && cells - n < cols, "grid layout");
    let mut out = Vec::with_capacity(n);
    let mut k = 0;
    for r in 0..rows {
        let mut c = 0;
        while c < cols && k < n {
            let last = k == n - 1;
            let end = if last { cols } else { c + 1 };
            out.push((c, end, r));
            c = end;
            k += 1;
        }
    }
    out
}

fn street_name_code(street_no: usize) -> (String, String) {
    let t = names::STREETS;
    let (name, code) = t[street_no % t.len()];
    if street_no < t.len() {
        (name.to_string(), code.to_string())
    } else {
        let round = street_no / t.len() + 1;
        (
            format!("{name}（{round}）"),
            format!("310115{:03}", 200 + street_no % 800),
        )
    }
}

/// Generate one street (`street_no` in `0..size.streets()`), with ages
/// computed relative to `today`.
///
/// # Panics
/// If `street_no >= size.streets()`.
pub fn street(seed: u64, size: DemoSize, street_no: usize, today: NaiveDate) -> StreetData {
    assert!(
        street_no < size.streets(),
        "street_no {street_no} out of range for size {}",
        size.as_str()
    );
    let rng = StdRng::seed_from_u64(seed ^ splitmix(0x5743_0000 + street_no as u64));
    let g = Gen {
        rng,
        today,
        street_no,
        streets_total: size.streets(),
        ids: HashSet::with_capacity(size.residents() * 5 / 4),
        phones: HashSet::with_capacity(size.residents() * 5 / 4),
        surname_sh: WeightedIndex::new(names::SURNAMES.iter().map(|s| s.2)).expect("weights"),
        surname_cn: WeightedIndex::new(names::SURNAMES.iter().map(|s| s.1)).expect("weights"),
        region_sh: weights(names::SHANGHAI_REGIONS),
        region_other: weights(names::OTHER_REGIONS),
        mobile: weights(names::MOBILE_PREFIXES),
        places: Vec::with_capacity(size.residents() / 2 + 1000),
        households: Vec::with_capacity(size.residents() / 2),
        persons: Vec::with_capacity(size.residents() * 11 / 10),
    };
    let mut sb = StreetBuilder {
        g,
        roads: Vec::new(),
        lanes: Vec::new(),
        estate_names: HashSet::new(),
        building_no: 0,
    };

    // --- street cell and lattice -----------------------------------------
    let dl = district_lattice(seed);
    let (ci, cj) = (street_no % DISTRICT_COLS, street_no / DISTRICT_COLS);
    let quad = [
        dl.get(ci, cj),
        dl.get(ci + 1, cj),
        dl.get(ci, cj + 1),
        dl.get(ci + 1, cj + 1),
    ];
    let (ccols, crows, gcols, grows) = size.layout();
    let nu = ccols * gcols * SUB;
    let nv = crows * grows * SUB;
    let lat = street_lattice(&mut sb.g.rng, quad, nu, nv);

    let (street_name, street_code) = street_name_code(street_no);
    let mut st = PlaceSeed::new(
        0,
        None,
        PlaceKind::Street,
        street_code.clone(),
        street_name.clone(),
    );
    st.geojson = Some(polygon_json(&lat.ring(0, nu, 0, nv)));
    sb.g.places.push(st);

    // roads for this street, each with a running lane (弄) number
    let mut roads: Vec<&'static str> = names::ROADS.to_vec();
    roads.shuffle(&mut sb.g.rng);
    roads.truncate(if size == DemoSize::Small { 4 } else { 12 });
    sb.lanes = roads.iter().map(|_| sb.g.rng.gen_range(10..=200)).collect();
    sb.roads = roads;

    let mut stems: Vec<&'static str> = names::COMMUNITY_STEMS.to_vec();
    stems.shuffle(&mut sb.g.rng);

    let ncom = size.communities();
    let ngrid = size.grids_per_community();
    let per_grid = size.residents() as f64 / (ncom * ngrid) as f64;
    let cells = grid_cells(ngrid, gcols, grows);
    let mut communities = Vec::with_capacity(ncom);
    for c in 0..ncom {
        // communities row-major from the north-west corner
        let (cc, cr) = (c % ccols, c / ccols);
        let ci0 = cc * gcols * SUB;
        let ci1 = ci0 + gcols * SUB;
        let cj1 = nv - cr * grows * SUB;
        let cj0 = cj1 - grows * SUB;
        let stem = stems[c % stems.len()];
        let cname = if c < stems.len() {
            format!("{stem}社区")
        } else {
            format!("{stem}{}社区", c / stems.len() + 1)
        };
        let cidx = sb.g.places.len();
        let mut cp = PlaceSeed::new(
            cidx,
            Some(0),
            PlaceKind::Community,
            format!("c{:02}", c + 1),
            cname.clone(),
        );
        cp.geojson = Some(polygon_json(&lat.ring(ci0, ci1, cj0, cj1)));
        sb.g.places.push(cp);
        communities.push(cidx);
        let gstem = cname.trim_end_matches("社区").to_string();

        for (k, &(c0, c1, r)) in cells.iter().enumerate() {
            let gi0 = ci0 + c0 * SUB;
            let gi1 = ci0 + c1 * SUB;
            let gj1 = cj1 - r * SUB;
            let gj0 = gj1 - SUB;
            let gidx = sb.g.places.len();
            let mut gp = PlaceSeed::new(
                gidx,
                Some(cidx),
                PlaceKind::Grid,
                format!("g{:02}{:02}", c + 1, k + 1),
                format!("{gstem}第{}网格", k + 1),
            );
            gp.geojson = Some(polygon_json(&lat.ring(gi0, gi1, gj0, gj1)));
            sb.g.places.push(gp);
            let target = per_grid * (c1 - c0) as f64 * ngrid as f64 / (gcols * grows) as f64;
            sb.grid_buildings(&lat, gidx, (gi0, gi1, gj0, gj1), target);
        }
    }

    // --- organisations -----------------------------------------------------
    let g = &mut sb.g;
    let short = names::street_short(&street_name).to_string();
    let mut orgs = Vec::new();
    for (k, d) in names::DEPARTMENTS.iter().enumerate() {
        orgs.push(OrgSeed {
            code: format!("{street_code}-d{:02}", k + 1),
            name: format!("{short}{d}"),
            kind: "department",
            serves: vec![0],
        });
    }
    let nprop = g.rng.gen_range(2..=4usize).min(ncom);
    // split the communities into contiguous runs, one per company
    let mut cuts: Vec<usize> = (1..ncom).collect();
    cuts.shuffle(&mut g.rng);
    cuts.truncate(nprop - 1);
    cuts.sort_unstable();
    cuts.insert(0, 0);
    cuts.push(ncom);
    let na = names::PROPERTY_A.len();
    let nb = names::PROPERTY_B.len();
    let rot = (splitmix(seed) % (na * nb) as u64) as usize;
    for k in 0..nprop {
        let gi = (street_no * 4 + k + rot) % (na * nb);
        let name = format!(
            "上海{}{}物业管理有限公司",
            names::PROPERTY_A[gi % na],
            names::PROPERTY_B[(gi / na) % nb]
        );
        let mut serves: Vec<usize> = communities[cuts[k]..cuts[k + 1]].to_vec();
        if ncom > 2 && g.chance(0.3) {
            // also manages an estate in a neighbouring community
            let extra = communities[if cuts[k + 1] < ncom {
                cuts[k + 1]
            } else {
                cuts[k] - 1
            }];
            serves.push(extra);
            serves.sort_unstable();
        }
        orgs.push(OrgSeed {
            code: format!("{street_code}-p{:02}", k + 1),
            name,
            kind: "property",
            serves,
        });
    }
    let nsoc = g.rng.gen_range(1..=2usize);
    let mut soc: Vec<&'static str> = names::SOCIAL_ORGS.to_vec();
    soc.shuffle(&mut g.rng);
    for (k, s) in soc.iter().take(nsoc).enumerate() {
        let serves = if k == 0 {
            vec![0]
        } else {
            let n = g.rng.gen_range(1..=ncom.min(4));
            let mut v: Vec<usize> = communities
                .choose_multiple(&mut g.rng, n)
                .copied()
                .collect();
            v.sort_unstable();
            v
        };
        orgs.push(OrgSeed {
            code: format!("{street_code}-s{:02}", k + 1),
            name: format!("{short}{s}"),
            kind: "social",
            serves,
        });
    }

    let g = sb.g;
    StreetData {
        places: g.places,
        orgs,
        households: g.households,
        persons: g.persons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::idnum::age_between;
    use std::collections::HashMap;
    use std::time::Instant;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn ring_of(geojson: &str) -> Vec<Pt> {
        let v: serde_json::Value = serde_json::from_str(geojson).expect("valid JSON");
        assert_eq!(v["type"], "Polygon");
        let rings = v["coordinates"].as_array().unwrap();
        assert_eq!(rings.len(), 1);
        rings[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
            .collect()
    }

    fn signed_area(r: &[Pt]) -> f64 {
        r.windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum::<f64>()
            / 2.0
    }

    fn segments_cross(a: Pt, b: Pt, c: Pt, d: Pt) -> bool {
        let o = |p: Pt, q: Pt, r: Pt| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
        let (d1, d2, d3, d4) = (o(a, b, c), o(a, b, d), o(c, d, a), o(c, d, b));
        d1 * d2 < 0.0 && d3 * d4 < 0.0
    }

    fn point_in(r: &[Pt], p: Pt) -> bool {
        let mut inside = false;
        for w in r.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a[1] > p[1]) != (b[1] > p[1]) {
                let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
                if p[0] < x {
                    inside = !inside;
                }
            }
        }
        inside
    }

    fn check_ring(r: &[Pt]) {
        assert!(r.len() >= 4);
        assert_eq!(r.first(), r.last(), "ring not closed");
        assert!(signed_area(r) > 0.0, "ring not counter-clockwise");
        for p in r {
            assert!((LON0 - 1e-9..=LON1 + 1e-9).contains(&p[0]), "lon {p:?}");
            assert!((LAT0 - 1e-9..=LAT1 + 1e-9).contains(&p[1]), "lat {p:?}");
            assert_eq!(r6(p[0]), p[0]);
            assert_eq!(r6(p[1]), p[1]);
        }
        let n = r.len() - 1;
        for i in 0..n {
            for j in i + 2..n {
                if i == 0 && j == n - 1 {
                    continue;
                }
                assert!(
                    !segments_cross(r[i], r[i + 1], r[j], r[j + 1]),
                    "self-intersecting ring"
                );
            }
        }
    }

    type Edge = ((i64, i64), (i64, i64));

    /// Undirected edges of a ring, with coordinates as exact integers.
    fn edges(r: &[Pt]) -> Vec<Edge> {
        let k = |p: Pt| ((p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64);
        r.windows(2)
            .map(|w| {
                let (a, b) = (k(w[0]), k(w[1]));
                if a < b { (a, b) } else { (b, a) }
            })
            .collect()
    }

    fn check_street(d: &StreetData, size: DemoSize, street_no: usize) {
        let t = today();
        let places = &d.places;
        for (i, p) in places.iter().enumerate() {
            assert_eq!(p.idx, i);
            if let Some(par) = p.parent {
                assert!(par < i, "parents come first");
            }
            assert!(
                p.code
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-'),
                "code {:?}",
                p.code
            );
        }
        assert_eq!(places[0].kind, PlaceKind::Street);
        assert_eq!(places[0].parent, None);
        assert!(places[0].code.starts_with("310115") && places[0].code.len() == 9);
        check_ring(&ring_of(places[0].geojson.as_deref().unwrap()));

        // sibling codes unique
        let mut sib: HashSet<(Option<usize>, &str)> = HashSet::new();
        for p in places {
            assert!(sib.insert((p.parent, &p.code)), "duplicate code {}", p.code);
        }

        let count = |k: PlaceKind| places.iter().filter(|p| p.kind == k).count();
        assert_eq!(count(PlaceKind::Community), size.communities());
        assert_eq!(
            count(PlaceKind::Grid),
            size.communities() * size.grids_per_community()
        );

        // polygons: valid rings, grids tile their community (shared edges
        // appear exactly twice, outer edges once and on the community ring)
        let mut grid_rings: HashMap<usize, Vec<Pt>> = HashMap::new();
        let mut grid_edges: HashMap<usize, HashMap<Edge, u32>> = HashMap::new();
        for p in places {
            match p.kind {
                PlaceKind::Community => {
                    check_ring(&ring_of(p.geojson.as_deref().unwrap()));
                    assert!(p.name.ends_with("社区"));
                }
                PlaceKind::Grid => {
                    let r = ring_of(p.geojson.as_deref().unwrap());
                    check_ring(&r);
                    let par = p.parent.unwrap();
                    assert_eq!(places[par].kind, PlaceKind::Community);
                    assert!(p.name.contains("网格"));
                    let e = grid_edges.entry(par).or_default();
                    for x in edges(&r) {
                        *e.entry(x).or_default() += 1;
                    }
                    grid_rings.insert(p.idx, r);
                }
                _ => {}
            }
        }
        for (c, e) in &grid_edges {
            let outer: HashSet<_> = edges(&ring_of(places[*c].geojson.as_deref().unwrap()))
                .into_iter()
                .collect();
            for (edge, n) in e {
                if *n == 1 {
                    assert!(outer.contains(edge), "gap between grids");
                } else {
                    assert_eq!(*n, 2);
                    assert!(!outer.contains(edge));
                }
            }
            for edge in &outer {
                assert_eq!(e.get(edge), Some(&1), "community edge not covered");
            }
        }

        // buildings and units
        let mut units_by_use: HashMap<&str, usize> = HashMap::new();
        let mut units = 0usize;
        for p in places {
            match p.kind {
                PlaceKind::Building => {
                    let g = p.parent.unwrap();
                    assert_eq!(places[g].kind, PlaceKind::Grid);
                    let v: serde_json::Value =
                        serde_json::from_str(p.geojson.as_deref().unwrap()).unwrap();
                    assert_eq!(v["type"], "Point");
                    let pt = [
                        v["coordinates"][0].as_f64().unwrap(),
                        v["coordinates"][1].as_f64().unwrap(),
                    ];
                    assert!(point_in(&grid_rings[&g], pt), "building outside its grid");
                    let floors = p.floors.unwrap();
                    assert!(
                        floors == 5 || floors == 6 || floors == 7 || (11..=18).contains(&floors)
                    );
                    assert!((1..=3).contains(&p.stairwells.unwrap()));
                    assert!(p.estate.is_some());
                    let a = p.address.as_deref().unwrap();
                    assert!(
                        a.contains("路") && a.contains("弄") && a.ends_with('号'),
                        "{a}"
                    );
                    assert_eq!(a, p.name);
                }
                PlaceKind::Unit => {
                    units += 1;
                    let b = p.parent.unwrap();
                    assert_eq!(places[b].kind, PlaceKind::Building);
                    assert_eq!(places[places[b].parent.unwrap()].kind, PlaceKind::Grid);
                    let area = p.area_m2.unwrap();
                    assert!((35.0..=140.0).contains(&area));
                    assert_eq!((area * 10.0).round() / 10.0, area);
                    let f = p.floor_no.unwrap();
                    assert!(f >= 1 && f <= places[b].floors.unwrap());
                    let s = p.stairwell_no.unwrap();
                    assert!(s >= 1 && s <= places[b].stairwells.unwrap());
                    assert!(p.code.starts_with(&format!("{s}-{f}")));
                    assert_eq!(
                        p.address.as_deref().unwrap(),
                        format!("{}{}", places[b].address.as_deref().unwrap(), p.name)
                    );
                    let u = p.unit_use.unwrap();
                    if u == UnitUse::Commercial {
                        assert_eq!(f, 1);
                    }
                    *units_by_use.entry(u.as_str()).or_default() += 1;
                }
                _ => {}
            }
        }
        let share = |k: &str| *units_by_use.get(k).unwrap_or(&0) as f64 / units as f64;
        assert!((0.05..0.11).contains(&share("vacant")), "{units_by_use:?}");
        assert!((0.11..0.19).contains(&share("rented")), "{units_by_use:?}");
        assert!(
            (0.003..0.06).contains(&share("commercial")),
            "{units_by_use:?}"
        );

        // households
        for (i, h) in d.households.iter().enumerate() {
            assert_eq!(h.idx, i);
            let u = &places[h.unit];
            assert_eq!(u.kind, PlaceKind::Unit);
            assert!(matches!(
                u.unit_use,
                Some(UnitUse::SelfOccupied | UnitUse::Rented)
            ));
            assert_eq!(d.persons[h.head].household, i);
            assert_eq!(d.persons[h.head].relation, "head");
            assert_eq!(d.persons[h.head].hukou_registered, h.registered);
        }
        let occupied = units_by_use["self_occupied"] + units_by_use["rented"];
        assert_eq!(
            d.households.len(),
            occupied,
            "one household per occupied unit"
        );

        // persons
        let mut ids = HashSet::new();
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); d.households.len()];
        let (mut old, mut minors, mut adults, mut party, mut ea, mut dis, mut vol) =
            (0, 0, 0, 0, 0, 0, 0);
        for (i, p) in d.persons.iter().enumerate() {
            assert_eq!(p.idx, i);
            members[p.household].push(i);
            let parsed = IdNumber::parse_on(p.id_number.as_str(), t).expect("valid ID");
            assert_eq!(parsed, p.id_number);
            assert!(ids.insert(p.id_number.as_str().to_string()), "duplicate ID");
            assert_eq!(p.id_number.birth_date(), p.birth_date);
            assert_eq!(p.id_number.sex(), p.sex);
            assert!(p.birth_date <= t);
            let nch = p.name.chars().count();
            assert!((2..=4).contains(&nch), "{}", p.name);
            if let Some(ph) = &p.phone {
                assert_eq!(ph.len(), 11);
                assert!(ph.starts_with('1'));
                crate::registry::idnum::Phone::parse(ph).unwrap();
            }
            if p.hukou_registered {
                assert!(p.id_number.region().starts_with("31"));
            }
            let age = p.id_number.age_on(t);
            if age >= 60 {
                old += 1;
            }
            if age < 18 {
                minors += 1;
            } else {
                adults += 1;
                if p.tags.contains(&"party_member") {
                    party += 1;
                }
            }
            if p.tags.contains(&"elderly_alone") {
                ea += 1;
                assert!(age >= 65);
            }
            if p.tags.contains(&"disabled") {
                dis += 1;
            }
            if p.tags.contains(&"volunteer") {
                vol += 1;
            }
            let renter = p.tags.contains(&"renter");
            let rented = places[d.households[p.household].unit].unit_use == Some(UnitUse::Rented);
            assert_eq!(renter, rented);
            assert!(["permanent", "temporary", "left"].contains(&p.residence));
            assert!(
                [
                    "both",
                    "registered_elsewhere_lives_here",
                    "registered_here_lives_elsewhere"
                ]
                .contains(&p.presence)
            );
        }
        for (h, ms) in members.iter().enumerate() {
            assert!((1..=5).contains(&ms.len()), "household size {}", ms.len());
            assert_eq!(ms[0], d.households[h].head);
            let head = &d.persons[ms[0]];
            let ha = age_between(head.birth_date, t) as i64;
            for &m in &ms[1..] {
                let p = &d.persons[m];
                let a = age_between(p.birth_date, t) as i64;
                match p.relation {
                    "child" => assert!((20..=40).contains(&(ha - a)), "child gap {}", ha - a),
                    "parent" => assert!((18..=45).contains(&(a - ha)), "parent gap {}", a - ha),
                    "grandchild" => assert!(ha - a >= 40, "grandchild gap {}", ha - a),
                    "spouse" => {
                        assert!((ha - a).abs() <= 8);
                        assert_ne!(p.sex, head.sex);
                    }
                    "sibling" | "other" | "tenant" => {}
                    r => panic!("unexpected relation {r}"),
                }
            }
            if ms.len() == 1 && age_between(head.birth_date, t) >= 65 {
                assert!(head.tags.contains(&"elderly_alone"));
            }
        }
        let n = d.persons.len() as f64;
        let old_share = old as f64 / n;
        eprintln!(
            "street {street_no} ({}): {} persons, {} households (avg {:.2}), {} buildings, {} units {:?}; \
             60+ {:.1}%, <18 {:.1}%, elderly alone {:.1}% of 60+, disabled {:.1}%, \
             party {:.1}% of adults, volunteers {:.1}%",
            size.as_str(),
            d.persons.len(),
            d.households.len(),
            n / d.households.len() as f64,
            count(PlaceKind::Building),
            units,
            units_by_use,
            old_share * 100.0,
            minors as f64 / n * 100.0,
            ea as f64 / old as f64 * 100.0,
            dis as f64 / n * 100.0,
            party as f64 / adults as f64 * 100.0,
            vol as f64 / n * 100.0,
        );
        assert!((0.28..=0.38).contains(&old_share), "60+ share {old_share}");
        let minor_share = minors as f64 / n;
        assert!(
            (0.06..=0.14).contains(&minor_share),
            "minor share {minor_share}"
        );
        let ea_share = ea as f64 / old as f64;
        assert!(
            (0.02..=0.12).contains(&ea_share),
            "elderly alone {ea_share}"
        );

        // organisations
        let kinds: Vec<&str> = d.orgs.iter().map(|o| o.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "department").count(), 7);
        let nprop = kinds.iter().filter(|k| **k == "property").count();
        assert!((2..=4).contains(&nprop));
        let nsoc = kinds.iter().filter(|k| **k == "social").count();
        assert!((1..=2).contains(&nsoc));
        let mut served = HashSet::new();
        for o in &d.orgs {
            assert!(!o.serves.is_empty());
            for &s in &o.serves {
                assert!(matches!(
                    places[s].kind,
                    PlaceKind::Street | PlaceKind::Community
                ));
                if o.kind == "property" {
                    served.insert(s);
                }
            }
        }
        assert_eq!(
            served.len(),
            size.communities(),
            "every community has property management"
        );
        let codes: HashSet<_> = d.orgs.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(codes.len(), d.orgs.len());
    }

    #[test]
    fn demo_size_parse() {
        for s in [DemoSize::Small, DemoSize::Street, DemoSize::District] {
            assert_eq!(DemoSize::parse(s.as_str()), Some(s));
        }
        assert_eq!(DemoSize::parse(" Street "), Some(DemoSize::Street));
        assert_eq!(DemoSize::parse("huge"), None);
        assert_eq!(DemoSize::District.streets(), 30);
        assert_eq!(DemoSize::Small.streets(), 1);
        assert_eq!(PlaceKind::Unit.as_str(), "unit");
        assert_eq!(UnitUse::SelfOccupied.as_str(), "self_occupied");
    }

    #[test]
    fn grid_cell_layout() {
        assert_eq!(
            grid_cells(5, 3, 2),
            vec![(0, 1, 0), (1, 2, 0), (2, 3, 0), (0, 1, 1), (1, 3, 1)]
        );
        assert_eq!(grid_cells(2, 2, 1), vec![(0, 1, 0), (1, 2, 0)]);
    }

    #[test]
    fn district_polygon() {
        let d = district(7);
        assert_eq!(d.code, "310115");
        assert_eq!(d.name, "浦东新区");
        assert_eq!(d.kind, PlaceKind::District);
        let r = ring_of(d.geojson.as_deref().unwrap());
        check_ring(&r);
        assert_eq!(district(7).geojson, d.geojson);
    }

    #[test]
    fn small_street() {
        let t0 = Instant::now();
        let d = street(42, DemoSize::Small, 0, today());
        eprintln!("small generated in {:?}", t0.elapsed());
        assert!(
            (1_700..=2_300).contains(&d.persons.len()),
            "{}",
            d.persons.len()
        );
        check_street(&d, DemoSize::Small, 0);
        assert_eq!(d.places[0].name, "潍坊新村街道");
        assert_eq!(d.places[0].code, "310115004");
    }

    #[test]
    fn street_size_and_determinism() {
        let t0 = Instant::now();
        let a = street(42, DemoSize::Street, 0, today());
        eprintln!("street generated in {:?}", t0.elapsed());
        assert!(
            (36_000..=44_000).contains(&a.persons.len()),
            "{}",
            a.persons.len()
        );
        check_street(&a, DemoSize::Street, 0);

        let b = street(42, DemoSize::Street, 0, today());
        assert_eq!(a.places.len(), b.places.len());
        assert_eq!(a.persons.len(), b.persons.len());
        assert_eq!(a.households.len(), b.households.len());
        for i in (0..a.persons.len()).step_by(97) {
            assert_eq!(a.persons[i].name, b.persons[i].name);
            assert_eq!(a.persons[i].id_number, b.persons[i].id_number);
            assert_eq!(a.persons[i].phone, b.persons[i].phone);
            assert_eq!(a.persons[i].tags, b.persons[i].tags);
        }
        for i in (0..a.places.len()).step_by(53) {
            assert_eq!(a.places[i].code, b.places[i].code);
            assert_eq!(a.places[i].name, b.places[i].name);
            assert_eq!(a.places[i].geojson, b.places[i].geojson);
            assert_eq!(a.places[i].address, b.places[i].address);
        }
        assert_eq!(
            a.orgs.iter().map(|o| &o.name).collect::<Vec<_>>(),
            b.orgs.iter().map(|o| &o.name).collect::<Vec<_>>()
        );
        let c = street(43, DemoSize::Street, 0, today());
        assert_ne!(a.persons[0].id_number, c.persons[0].id_number);
    }

    #[test]
    fn district_streets_are_distinct() {
        // two streets of the district: distinct cells, names, codes and IDs
        let t = today();
        let a = street(9, DemoSize::District, 0, t);
        let b = street(9, DemoSize::District, 29, t);
        assert_ne!(a.places[0].code, b.places[0].code);
        assert_ne!(a.places[0].name, b.places[0].name);
        let ids: HashSet<&str> = a.persons.iter().map(|p| p.id_number.as_str()).collect();
        assert!(
            b.persons
                .iter()
                .all(|p| !ids.contains(p.id_number.as_str()))
        );
        let phones: HashSet<&str> = a
            .persons
            .iter()
            .filter_map(|p| p.phone.as_deref())
            .collect();
        assert!(
            b.persons
                .iter()
                .filter_map(|p| p.phone.as_deref())
                .all(|ph| !phones.contains(ph))
        );
        let orgs: HashSet<&str> = a.orgs.iter().map(|o| o.code.as_str()).collect();
        assert!(b.orgs.iter().all(|o| !orgs.contains(o.code.as_str())));
        let names: HashSet<&str> = a.orgs.iter().map(|o| o.name.as_str()).collect();
        assert!(b.orgs.iter().all(|o| !names.contains(o.name.as_str())));
        // the street cells are different parts of the district
        let ra = ring_of(a.places[0].geojson.as_deref().unwrap());
        let rb = ring_of(b.places[0].geojson.as_deref().unwrap());
        assert!(ra.iter().all(|p| !point_in(&rb, *p)));
        check_street(&b, DemoSize::District, 29);
    }
}
