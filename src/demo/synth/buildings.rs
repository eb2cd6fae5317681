//! Buildings: estates, building specifications, and the street builder that places them.

use super::*;

pub(super) struct BuildingSpec {
    pub(super) floors: u32,
    pub(super) stairwells: u32,
    pub(super) per_floor: u32,
    pub(super) tower: bool,
    pub(super) estate: usize,
    pub(super) number: u32,
    pub(super) street_facing: bool,
}

impl BuildingSpec {
    pub(super) fn units(&self) -> u32 {
        self.floors * self.stairwells * self.per_floor
    }
}

pub(super) struct Estate {
    pub(super) name: String,
    pub(super) road: &'static str,
    pub(super) lane: u32,
}

/// Average residents per unit (all units, including vacant and commercial);
/// used to size grids.
pub(super) const RESIDENTS_PER_UNIT: f64 = 2.02;

pub(super) struct StreetBuilder {
    pub(super) g: Gen,
    pub(super) roads: Vec<&'static str>,
    pub(super) lanes: Vec<u32>,
    pub(super) estate_names: HashSet<String>,
    pub(super) building_no: usize,
}

impl StreetBuilder {
    pub(super) fn new_estate(&mut self, tower_estate: bool) -> Estate {
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

    pub(super) fn building_specs(
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

    pub(super) fn grid_buildings(
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

    pub(super) fn building(
        &mut self,
        grid_idx: usize,
        spec: &BuildingSpec,
        estate: &Estate,
        p: Pt,
    ) {
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
pub(super) fn grid_cells(n: usize, cols: usize, rows: usize) -> Vec<(usize, usize, usize)> {
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

pub(super) fn street_name_code(street_no: usize) -> (String, String) {
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
