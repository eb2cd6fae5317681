//! Grid maps drawn as SVG on the server from the stored GeoJSON: no tiles. A map to mark a
//! spot on carries its projection for the page's script (static/app.js); nothing else needs one.

use std::fmt::Write;

use super::esc;
use crate::org::geometry::Shape;

/// A polygon to draw (a community or grid boundary).
pub struct Area {
    pub label: String,
    pub href: Option<String>,
    pub geojson: String,
    pub highlight: bool,
}

/// A point to draw (a building, a case).
pub struct Spot {
    pub label: String,
    pub href: Option<String>,
    pub geojson: String,
    /// Its class in the drawing: [`BUILDING`], [`OWN_BUILDING`], [`CASE`] or [`LATE_CASE`].
    pub class: &'static str,
}

/// A building's dot.
pub const BUILDING: &str = "bld";
/// An open case's dot.
pub const CASE: &str = "case";
/// A late case's dot, drawn larger and in the warning colour.
pub const LATE_CASE: &str = "case late";
/// The viewer's own building (a resident's home), drawn larger in blue.
pub const OWN_BUILDING: &str = "bld own";

fn ring(geojson: &str) -> Option<Vec<(f64, f64)>> {
    Shape::parse(geojson)?.outline()
}

fn point(geojson: &str) -> Option<(f64, f64)> {
    let (lat, lon) = Shape::parse(geojson)?.point()?;
    Some((lon, lat))
}

/// Draws the areas and spots; `None` when nothing has geometry.
pub fn render(areas: &[Area], spots: &[Spot], title: &str) -> Option<String> {
    draw(areas, spots, title, None)
}

/// The same map as a place to mark a spot on (the report form): the `svg` carries its
/// projection (`data-lon0`, `data-lat0`: the south-west corner; `data-sx`, `data-sy`: units
/// per degree; `data-pad`, `data-h`), so the page's script turns a click into a latitude and
/// longitude, and a mark (`#pick-mark`), drawn at `marked` (lat, lon) when a spot is marked.
pub fn picker(
    areas: &[Area],
    spots: &[Spot],
    title: &str,
    marked: Option<(f64, f64)>,
) -> Option<String> {
    draw(areas, spots, title, Some(marked))
}

fn draw(
    areas: &[Area],
    spots: &[Spot],
    title: &str,
    pick: Option<Option<(f64, f64)>>,
) -> Option<String> {
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
    let frame = match pick {
        Some(_) => format!(
            r#" data-lon0="{x0}" data-lat0="{y0}" data-sx="{}" data-sy="{s}" data-pad="{pad}" data-h="{height}""#,
            kx * s
        ),
        None => String::new(),
    };
    let _ = write!(
        out,
        r#"<svg class="map{}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{}"{frame} xmlns="http://www.w3.org/2000/svg">"#,
        if pick.is_some() { " pick" } else { "" },
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
    // Marks at the same spot (cases at one building) fan out on a small circle around it, so
    // each can be seen and tapped; the first stays on the spot.
    let mut at_spot: std::collections::HashMap<(i64, i64), usize> = Default::default();
    let placed: Vec<(f64, f64)> = pts
        .iter()
        .map(|(_, p)| {
            let (x, y) = proj(*p);
            let n = at_spot
                .entry((x.round() as i64, y.round() as i64))
                .or_default();
            let k = *n;
            *n += 1;
            if k == 0 {
                return (x, y);
            }
            // Rings of 8, 16, … marks, 12 px apart.
            let (mut ring, mut first, mut size) = (1usize, 1usize, 8usize);
            while k >= first + size {
                first += size;
                ring += 1;
                size += 8;
            }
            let a = (k - first) as f64 / size as f64 * std::f64::consts::TAU;
            let r = 12.0 * ring as f64;
            (x + r * a.cos(), y + r * a.sin())
        })
        .collect();
    for ((sp, _), (x, y)) in pts.iter().zip(placed) {
        let r = if sp.class == LATE_CASE || sp.class == OWN_BUILDING {
            6
        } else {
            4
        };
        let dot = format!(
            r#"<circle class="{}" cx="{x:.1}" cy="{y:.1}" r="{r}"><title>{}</title></circle>"#,
            sp.class,
            esc(&sp.label)
        );
        match &sp.href {
            Some(h) => {
                let _ = write!(out, r#"<a href="{}">{dot}</a>"#, esc(h));
            }
            None => out.push_str(&dot),
        }
    }
    if let Some(marked) = pick {
        let (x, y) = marked.map_or((0.0, 0.0), |(lat, lon)| proj((lon, lat)));
        let _ = write!(
            out,
            r#"<circle id="pick-mark" class="mark" cx="{x:.1}" cy="{y:.1}" r="9"{}/>"#,
            if marked.is_some() {
                ""
            } else {
                r#" visibility="hidden""#
            }
        );
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    #[test]
    fn marks_at_one_spot_fan_out() {
        let spot = |i: usize| Spot {
            label: format!("#{i}"),
            href: None,
            geojson: r#"{"type":"Point","coordinates":[121.5,31.2]}"#.into(),
            class: CASE,
        };
        let other = Spot {
            geojson: r#"{"type":"Point","coordinates":[121.6,31.3]}"#.into(),
            ..spot(99)
        };
        let mut spots: Vec<Spot> = (0..12).map(spot).collect();
        spots.push(other);
        let svg = render(&[], &spots, "t").unwrap();
        let centres: std::collections::HashSet<String> = svg
            .match_indices("<circle class=\"case\" cx=\"")
            .map(|(i, _)| {
                let rest = &svg[i + 26..];
                let end = rest.find(" r=").unwrap();
                rest[..end].to_string()
            })
            .collect();
        assert_eq!(centres.len(), 13, "every mark on a place of its own: {svg}");
    }

    /// Issue 19 item 18: every mark on a map stands out from the map's ground by at least
    /// 4.5 : 1, as the stylesheet draws them.
    #[test]
    fn map_marks_contrast_with_the_ground() {
        let css = crate::web::APP_CSS;
        let fill = |rule: &str| -> String {
            let i = css
                .find(rule)
                .unwrap_or_else(|| panic!("{rule} in app.css"));
            let rest = &css[i + rule.len()..];
            let j = rest.find("fill:#").expect("a fill") + 5;
            rest[j..j + 7].to_string()
        };
        let ground = luminance("#fbfcfd");
        for rule in [
            "svg.map .case{",
            "svg.map .case.late{",
            "svg.map .bld{",
            "svg.map .mark{",
        ] {
            let f = fill(rule);
            let ratio = (ground + 0.05) / (luminance(&f) + 0.05);
            assert!(ratio >= 4.5, "{rule} {f}: {ratio:.2} : 1");
        }
    }

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
            class: BUILDING,
        }];
        let svg = render(&areas, &spots, "map").unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<path"));
        assert!(svg.contains("<circle"));
        assert!(svg.contains("&lt;x&gt;"), "labels are escaped");
        assert!(render(&[], &[], "x").is_none());
        assert!(!svg.contains("data-lon0") && !svg.contains("pick-mark"));
    }

    /// What the page's script does with a click: from the map's units back to degrees, with
    /// the projection the picker carries.
    fn unproject(svg: &str, x: f64, y: f64) -> (f64, f64) {
        let attr = |k: &str| -> f64 {
            let at = svg.find(&format!(" data-{k}=\"")).unwrap() + k.len() + 8;
            svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
        };
        let lon = attr("lon0") + (x - attr("pad")) / attr("sx");
        let lat = attr("lat0") + (attr("h") - attr("pad") - y) / attr("sy");
        (lat, lon)
    }

    fn attr_f64(svg: &str, el: &str, k: &str) -> f64 {
        let el = &svg[svg.find(el).unwrap()..];
        let at = el.find(&format!(" {k}=\"")).unwrap() + k.len() + 3;
        el[at..at + el[at..].find('"').unwrap()].parse().unwrap()
    }

    #[test]
    fn a_picker_carries_its_projection_and_its_mark() {
        let areas = [Area {
            label: "第1网格".into(),
            href: None,
            geojson: r#"{"type":"Polygon","coordinates":[[[121.5,31.2],[121.52,31.2],[121.52,31.21],[121.5,31.21],[121.5,31.2]]]}"#.into(),
            highlight: false,
        }];
        let svg = picker(&areas, &[], "map", None).unwrap();
        assert!(svg.contains(r#"class="map pick""#));
        assert!(svg.contains(r#"visibility="hidden""#), "no spot marked yet");
        // The polygon's first corner comes back as the degrees it was drawn from.
        let path = &svg[svg.find(r#" d="M"#).unwrap() + 5..];
        let first: Vec<f64> = path[..path.find('L').unwrap()]
            .split(',')
            .map(|v| v.parse().unwrap())
            .collect();
        let (lat, lon) = unproject(&svg, first[0], first[1]);
        assert!(
            (lat - 31.2).abs() < 1e-4 && (lon - 121.5).abs() < 1e-4,
            "{lat} {lon}"
        );
        // A spot marked is drawn where it is.
        let svg = picker(&areas, &[], "map", Some((31.205, 121.51))).unwrap();
        assert!(!svg.contains("visibility"));
        let (lat, lon) = unproject(
            &svg,
            attr_f64(&svg, "<circle id=\"pick-mark\"", "cx"),
            attr_f64(&svg, "<circle id=\"pick-mark\"", "cy"),
        );
        assert!(
            (lat - 31.205).abs() < 1e-4 && (lon - 121.51).abs() < 1e-4,
            "{lat} {lon}"
        );
    }
}
