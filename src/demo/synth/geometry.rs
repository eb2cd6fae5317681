//! Geometry: the district and street lattices, polygons and points.

use super::*;

pub(super) const LON0: f64 = 121.50;
pub(super) const LON1: f64 = 121.62;
pub(super) const LAT0: f64 = 31.18;
pub(super) const LAT1: f64 = 31.28;
pub(super) const DISTRICT_COLS: usize = 6;
pub(super) const DISTRICT_ROWS: usize = 5;
/// Lattice sub-steps per grid cell side.
pub(super) const SUB: usize = 3;

pub(super) type Pt = [f64; 2];

pub(super) fn r6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub(super) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A (nu+1) × (nv+1) lattice of points; `i` runs west→east, `j` south→north.
pub(super) struct Lattice {
    pub(super) nu: usize,
    pub(super) nv: usize,
    pub(super) pts: Vec<Pt>,
}

impl Lattice {
    pub(super) fn get(&self, i: usize, j: usize) -> Pt {
        self.pts[j * (self.nu + 1) + i]
    }

    /// Bilinear interpolation inside the sub-cell containing (fu, fv), given
    /// in lattice index units.
    pub(super) fn interp(&self, fu: f64, fv: f64) -> Pt {
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
    pub(super) fn ring(&self, i0: usize, i1: usize, j0: usize, j1: usize) -> Vec<Pt> {
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

pub(super) fn polygon_json(ring: &[Pt]) -> String {
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

pub(super) fn point_json(p: Pt) -> String {
    format!(
        r#"{{"type":"Point","coordinates":[{:.6},{:.6}]}}"#,
        p[0], p[1]
    )
}

/// The district lattice of street cells; depends on the seed only.
pub(super) fn district_lattice(seed: u64) -> Lattice {
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
pub(super) fn street_lattice(rng: &mut StdRng, quad: [Pt; 4], nu: usize, nv: usize) -> Lattice {
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
