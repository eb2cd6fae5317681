//! The cockpit's drawings, as SVG written on the server: the grid map coloured by a measure
//! (from the grids' stored boundaries; tiles when none has one) and the small trend charts.
//! Colours are classes (`q0`…`q4`, styled in static/app.css), never inline styles.

use std::fmt::Write;

use crate::org::geometry::Shape;
use crate::web::esc;

/// One grid on the map.
pub struct Cell {
    pub label: String,
    /// The hover text: grid, measure, value, definition, as of.
    pub title: String,
    pub href: String,
    pub geojson: Option<String>,
    pub value: Option<f64>,
    /// The value as shown (with "<5" where protected).
    pub shown: String,
}

/// The colour class of a value among values up to `max`: five steps.
pub fn class(v: Option<f64>, max: f64) -> &'static str {
    match v {
        None => "qn",
        Some(x) if max <= 0.0 || x <= 0.0 => "q0",
        Some(x) => match ((x / max) * 4.0).ceil() as i64 {
            ..=1 => "q1",
            2 => "q2",
            3 => "q3",
            _ => "q4",
        },
    }
}

/// The map of the grids coloured by their values, each linking to its list.
pub fn map(cells: &[Cell], title: &str) -> String {
    let max = cells.iter().filter_map(|c| c.value).fold(0.0, f64::max);
    let rings: Vec<Option<Vec<(f64, f64)>>> = cells
        .iter()
        .map(|c| {
            c.geojson
                .as_deref()
                .and_then(Shape::parse)
                .and_then(|s| s.outline())
        })
        .collect();
    let drawn = rings.iter().any(Option::is_some);
    let (width, height) = (640.0_f64, 420.0_f64);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="cockpit-map" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    if drawn {
        let pts = rings.iter().flatten().flatten();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for (x, y) in pts {
            x0 = x0.min(*x);
            x1 = x1.max(*x);
            y0 = y0.min(*y);
            y1 = y1.max(*y);
        }
        let kx = ((y0 + y1) / 2.0).to_radians().cos();
        let pad = 12.0;
        let s = ((width - 2.0 * pad) / ((x1 - x0) * kx).max(1e-6))
            .min((height - 2.0 * pad) / (y1 - y0).max(1e-6));
        let proj = |(x, y): (f64, f64)| (pad + (x - x0) * kx * s, height - pad - (y - y0) * s);
        for (c, r) in cells.iter().zip(&rings) {
            let Some(r) = r else { continue };
            let mut d = String::new();
            for (j, p) in r.iter().enumerate() {
                let (x, y) = proj(*p);
                let _ = write!(d, "{}{x:.1},{y:.1}", if j == 0 { "M" } else { "L" });
            }
            d.push('Z');
            let n = r.len().saturating_sub(1).max(1);
            let (cx, cy) = r
                .iter()
                .take(n)
                .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
            let (lx, ly) = proj((cx / n as f64, cy / n as f64));
            let (mut bx0, mut bx1, mut by0, mut by1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
            for p in r {
                let (x, y) = proj(*p);
                (bx0, bx1, by0, by1) = (bx0.min(x), bx1.max(x), by0.min(y), by1.max(y));
            }
            cell(
                &mut out,
                c,
                class(c.value, max),
                &format!(r#"<path class="cell" d="{d}"/>"#),
                (lx, ly),
                (bx1 - bx0, by1 - by0),
            );
        }
    } else {
        // No boundaries stored: tiles, in the grids' order.
        let cols = (cells.len() as f64).sqrt().ceil().max(1.0) as usize;
        let rows = cells.len().div_ceil(cols).max(1);
        let (w, h) = (width / cols as f64, height / rows as f64);
        for (i, c) in cells.iter().enumerate() {
            let (x, y) = ((i % cols) as f64 * w, (i / cols) as f64 * h);
            let rect = format!(
                r#"<rect class="cell" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="6"/>"#,
                x + 3.0,
                y + 3.0,
                w - 6.0,
                h - 6.0
            );
            cell(
                &mut out,
                c,
                class(c.value, max),
                &rect,
                (x + w / 2.0, y + h / 2.0),
                (w - 6.0, h - 6.0),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// How wide a text is drawn at `px` pixels: a Chinese character is square, a Latin letter or
/// digit about 0.6 of it.
fn text_width(s: &str, px: f64) -> f64 {
    s.chars()
        .map(|ch| if ch.is_ascii() { 0.6 * px } else { px })
        .sum()
}

/// One grid: its shape, and its name and value at (x, y) when they fit its box (w, h). With
/// sixty grids on a street most are too small for their name: the name is left out (it is
/// in the hover text and in the table beside the map), then the value.
fn cell(out: &mut String, c: &Cell, q: &str, shape: &str, (x, y): (f64, f64), (w, h): (f64, f64)) {
    let fits_value = text_width(&c.shown, 15.0) <= w * 0.95 && h >= 18.0;
    let fits_label = fits_value && text_width(&c.label, 13.0) <= w * 0.95 && h >= 38.0;
    let _ = write!(
        out,
        r#"<a href="{}" class="{q}"><g><title>{}</title>{shape}"#,
        esc(&c.href),
        esc(&c.title),
    );
    if fits_label {
        let _ = write!(
            out,
            r#"<text class="lbl" x="{x:.1}" y="{:.1}">{}</text>"#,
            y - 4.0,
            esc(&c.label)
        );
    }
    if fits_value {
        let _ = write!(
            out,
            r#"<text class="val" x="{x:.1}" y="{:.1}">{}</text>"#,
            if fits_label { y + 16.0 } else { y + 5.0 },
            esc(&c.shown)
        );
    }
    out.push_str("</g></a>");
}

/// The legend's steps: (class, from, to) for values up to `max`.
pub fn legend(max: f64) -> Vec<(&'static str, f64, f64)> {
    let step = max / 4.0;
    vec![
        ("q0", 0.0, 0.0),
        ("q1", 0.0, step),
        ("q2", step, 2.0 * step),
        ("q3", 2.0 * step, 3.0 * step),
        ("q4", 3.0 * step, max),
    ]
}

/// A small trend chart: the daily values as a line, the first and last day and the highest
/// value written; days without a value leave a gap.
pub fn trend(points: &[(String, Option<f64>)], title: &str) -> String {
    let (w, h, pad) = (240.0_f64, 80.0_f64, 14.0_f64);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="trend" viewBox="0 0 {w:.0} {h:.0}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        t = esc(title)
    );
    let max = points.iter().filter_map(|p| p.1).fold(0.0, f64::max);
    let n = points.len().max(2) - 1;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / n as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * if max > 0.0 { v / max } else { 0.0 };
    let mut d = String::new();
    let mut pen = false;
    for (i, (day, v)) in points.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(d, "{}{:.1},{:.1}", if pen { "L" } else { "M" }, x(i), y(*v));
                let _ = write!(
                    out,
                    r#"<circle class="pt" cx="{:.1}" cy="{:.1}" r="2"><title>{} {}</title></circle>"#,
                    x(i),
                    y(*v),
                    esc(day),
                    (v * 10.0).round() / 10.0
                );
                pen = true;
            }
            None => pen = false,
        }
    }
    if !d.is_empty() {
        let _ = write!(out, r#"<path class="line" d="{d}"/>"#);
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(
            out,
            r#"<text class="axis" x="{pad}" y="{:.0}">{}</text><text class="axis end" x="{:.0}" y="{:.0}">{}</text>"#,
            h - 2.0,
            esc(first.0.get(5..).unwrap_or("")),
            w - pad,
            h - 2.0,
            esc(last.0.get(5..).unwrap_or("")),
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis" x="{pad}" y="10">{}</text></svg>"#,
        (max * 10.0).round() / 10.0
    );
    out
}
