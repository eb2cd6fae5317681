//! Icons of the report form's category tiles: small inline SVG drawn with the text's colour
//! (no image files, no fonts), by category code, else by the category's group, else a
//! general mark. Hidden from screen readers: each tile says its category in words.

/// The SVG for a category (its code, then its group).
pub fn icon(code: &str, group: &str) -> &'static str {
    by_code(code).or_else(|| by_group(group)).unwrap_or(OTHER)
}

macro_rules! svg {
    ($body:literal) => {
        concat!(
            r#"<svg class="icon" viewBox="0 0 24 24" width="32" height="32" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">"#,
            $body,
            "</svg>"
        )
    };
}

const OTHER: &str =
    svg!(r#"<circle cx="12" cy="12" r="9"/><path d="M12 7v6"/><path d="M12 16.5v.5"/>"#);

fn by_code(code: &str) -> Option<&'static str> {
    Some(match code {
        // A bin.
        "waste_sorting" | "city_appearance" => {
            svg!(
                r#"<path d="M4 7h16"/><path d="M9 7V4h6v3"/><path d="M6 7l1 13h10l1-13"/><path d="M10 11v6M14 11v6"/>"#
            )
        }
        // A tree.
        "greenery" => svg!(
            r#"<path d="M12 21v-6"/><path d="M12 3a6 6 0 0 0-5 9h10a6 6 0 0 0-5-9z"/><path d="M8 15h8"/>"#
        ),
        // A spanner.
        "facility_repair" => {
            svg!(
                r#"<path d="M14.5 5.5a4 4 0 0 0 4.9 4.9L21 12l-9 9-3-3 9-9-1.6-1.6A4 4 0 0 0 14.5 5.5z"/><path d="M4 20l3-3"/>"#
            )
        }
        // A drop.
        "water_leak" => svg!(r#"<path d="M12 3c3 4 6 7.5 6 11a6 6 0 0 1-12 0c0-3.5 3-7 6-11z"/>"#),
        // A car.
        "illegal_parking" => {
            svg!(
                r#"<path d="M3 16v-4l2-5h14l2 5v4z"/><circle cx="7.5" cy="16.5" r="1.8"/><circle cx="16.5" cy="16.5" r="1.8"/><path d="M5 12h14"/>"#
            )
        }
        // A loudspeaker.
        "noise" => svg!(
            r#"<path d="M4 10v4h4l5 4V6L8 10z"/><path d="M16 9a4 4 0 0 1 0 6"/><path d="M18.5 6.5a8 8 0 0 1 0 11"/>"#
        ),
        // A house with people.
        "group_rental" => {
            svg!(
                r#"<path d="M3 11l9-7 9 7"/><path d="M5 10v10h14V10"/><circle cx="10" cy="14" r="1.5"/><circle cx="14" cy="14" r="1.5"/>"#
            )
        }
        // A lift.
        "elevator" => {
            svg!(
                r#"<rect x="5" y="3" width="14" height="18" rx="1"/><path d="M12 3v18"/><path d="M8 9l1.5-2L11 9M13 15l1.5 2 1.5-2"/>"#
            )
        }
        // A flame.
        "fire_hazard" => {
            svg!(
                r#"<path d="M12 3c1 3 5 5 5 10a5 5 0 0 1-10 0c0-2 1-3.5 2-4.5 0 2 1 3 2 3 0-3-1-5 1-8.5z"/>"#
            )
        }
        // A heart.
        "elderly_care" => {
            svg!(
                r#"<path d="M12 20s-7-4.5-7-10a4 4 0 0 1 7-2.5A4 4 0 0 1 19 10c0 5.5-7 10-7 10z"/>"#
            )
        }
        _ => return None,
    })
}

fn by_group(group: &str) -> Option<&'static str> {
    Some(match group {
        "environment" => {
            svg!(r#"<path d="M5 19c0-8 6-14 14-14 0 8-6 14-14 14z"/><path d="M5 19l8-8"/>"#)
        }
        "facilities" => svg!(r#"<path d="M4 20V9l8-5 8 5v11"/><path d="M9 20v-6h6v6"/>"#),
        "order" => svg!(r#"<path d="M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z"/>"#),
        "safety" => svg!(r#"<path d="M12 3l9 17H3z"/><path d="M12 10v4"/><path d="M12 17v.5"/>"#),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_icon_is_one_closed_svg() {
        for (code, group) in [("noise", ""), ("x", "environment"), ("x", "nothing")] {
            let s = super::icon(code, group);
            assert!(s.starts_with("<svg") && s.ends_with("</svg>"), "{code}");
            assert!(s.contains("aria-hidden=\"true\""));
        }
        assert_ne!(super::icon("noise", ""), super::icon("x", "y"));
    }
}
