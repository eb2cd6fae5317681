//! The list of areas: the one place that knows them all. Adding an area is its folder and one
//! line here.

use crate::http::area::Area;

/// Every area, foundation first (their state and jobs start in this order).
pub fn areas() -> Vec<Area> {
    vec![
        crate::org::area(),
        crate::registry::area(),
        crate::privacy::area(),
        crate::audit::area(),
        crate::reach::area(),
        crate::cases::area(),
        crate::sensing::area(),
        crate::setup::area(),
        crate::join::area(),
        crate::map::area(),
        crate::notices::area(),
        crate::votes::area(),
        crate::deliberation::area(),
        crate::eligibility::area(),
        crate::supplies::area(),
        crate::sweeps::area(),
        crate::visits::area(),
        crate::surveys::area(),
        crate::callups::area(),
        crate::nearby::area(),
        crate::volunteering::area(),
        crate::sheets::area(),
        crate::funds::area(),
        crate::aid::area(),
        crate::gates::area(),
        crate::cockpit::area(),
    ]
}
