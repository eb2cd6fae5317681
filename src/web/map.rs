//! Grid maps drawn as SVG on the server from the stored GeoJSON: no tiles, no script.

use std::fmt::Write;

use super::esc;

/// A polygon to draw (a community or grid boundary).
pub struct Area {
    pub label: String,
    pub href: Option<String>,
    pub geojson: String,
    pub highlight: bool,
}

/// A point to draw (a building).
pub struct Spot {
    pub label: String,
    pub href: Option<String>,
    pub geojson: String,
}

fn ring(geojson: &str) -> Option<Vec<(f64, f64)>> {
    let v: serde_json::Value = serde_json::from_str(geojson).ok()?;
    let coords = match v.get("type")?.as_str()? {
        "Polygon" => v.get("coordinates")?.get(0)?,
        "MultiPolygon" => v.get("coordinates")?.get(0)?.get(0)?,
        _ => return None,
    };
    let pts: Vec<(f64, f64)> = coords
        .as_array()?
        .iter()
        .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
        .collect();
    (pts.len() >= 3).then_some(pts)
}

fn point(geojson: &str) -> Option<(f64, f64)> {
    let v: serde_json::Value = serde_json::from_str(geojson).ok()?;
    if v.get("type")?.as_str()? != "Point" {
        return None;
    }
    let c = v.get("coordinates")?;
    Some((c.get(0)?.as_f64()?, c.get(1)?.as_f64()?))
}

/// Draws the areas and spots; `None` when nothing has geometry.
pub fn render(areas: &[Area], spots: &[Spot], title: &str) -> Option<String> {
    let rings: Vec<(&Area, Vec<(f64, f64)>)> = areas
        .iter()
        .filter_map(|a| ring(&a.geojson).map(|r| (a, r)))
        .collect();
    let pts: Vec<(&Spot, (f64, f64))> = spots
        .iter()
        .filter_map(|s| point(&s.geojson).map(|p| (s, p)))
        .collect();
    if rings.is_empty() && pts.is_empty() {
        return None;
    }
    let all = rings
        .iter()
        .flat_map(|(_, r)| r.iter().copied())
        .chain(pts.iter().map(|(_, p)| *p));
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    // Equirectangular: a degree of longitude is cos(latitude) of a degree of latitude.
    let kx = ((y0 + y1) / 2.0).to_radians().cos();
    let w_deg = ((x1 - x0) * kx).max(1e-6);
    let h_deg = (y1 - y0).max(1e-6);
    let width = 640.0;
    let height = (width * h_deg / w_deg).clamp(200.0, 900.0);
    let pad = 12.0;
    let sx = (width - 2.0 * pad) / w_deg;
    let sy = (height - 2.0 * pad) / h_deg;
    let s = sx.min(sy);
    let proj = |(x, y): (f64, f64)| (pad + (x - x0) * kx * s, height - pad - (y - y0) * s);

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="map" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(title)
    );
    let _ = write!(out, "<title>{}</title>", esc(title));
    for (i, (a, r)) in rings.iter().enumerate() {
        let mut d = String::new();
        for (j, p) in r.iter().enumerate() {
            let (x, y) = proj(*p);
            let _ = write!(d, "{}{x:.1},{y:.1}", if j == 0 { "M" } else { "L" });
        }
        d.push('Z');
        let class = if a.highlight { "area hl" } else { "area" };
        let n = r.len().saturating_sub(1).max(1) as f64;
        let (cx, cy) = r
            .iter()
            .take(n as usize)
            .fold((0.0, 0.0), |(ax, ay), (x, y)| (ax + x, ay + y));
        let (lx, ly) = proj((cx / n, cy / n));
        let shape = format!(
            r#"<path class="{class} c{}" d="{d}"/><text class="lbl" x="{lx:.1}" y="{ly:.1}">{}</text>"#,
            i % 6,
            esc(&a.label)
        );
        match &a.href {
            Some(h) => {
                let _ = write!(
                    out,
                    r#"<a href="{}"><g><title>{}</title>{shape}</g></a>"#,
                    esc(h),
                    esc(&a.label)
                );
            }
            None => out.push_str(&shape),
        }
    }
    for (sp, p) in &pts {
        let (x, y) = proj(*p);
        let dot = format!(
            r#"<circle class="bld" cx="{x:.1}" cy="{y:.1}" r="4"><title>{}</title></circle>"#,
            esc(&sp.label)
        );
        match &sp.href {
            Some(h) => {
                let _ = write!(out, r#"<a href="{}">{dot}</a>"#, esc(h));
            }
            None => out.push_str(&dot),
        }
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_polygons_and_points() {
        let areas = [Area {
            label: "第1网格 <x>".into(),
            href: Some("/places/3".into()),
            geojson: r#"{"type":"Polygon","coordinates":[[[121.5,31.2],[121.51,31.2],[121.51,31.21],[121.5,31.21],[121.5,31.2]]]}"#.into(),
            highlight: true,
        }];
        let spots = [Spot {
            label: "5号".into(),
            href: None,
            geojson: r#"{"type":"Point","coordinates":[121.505,31.205]}"#.into(),
        }];
        let svg = render(&areas, &spots, "map").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<path"));
        assert!(svg.contains("<circle"));
        assert!(svg.contains("&lt;x&gt;"), "labels are escaped");
        assert!(render(&[], &[], "x").is_none());
    }
}
