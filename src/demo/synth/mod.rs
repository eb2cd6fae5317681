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

mod buildings;
mod geometry;
mod households;
mod people;
mod street;
#[cfg(test)]
mod tests;

use buildings::*;
use geometry::*;
use people::*;

pub use geometry::district;
pub use street::street;

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
