//! What a new street starts with (issue 21, `linli init`): the standard service catalogue (the
//! categories, their deadlines and forms, with no routes yet: the street has no departments
//! until it creates them) and the working calendar of the year as the State Council announced
//! it.

use super::{CaseError, calendar};
use crate::store::Conn;

/// Seeds a new street's catalogue and calendar.
pub fn seed_street(c: &mut dyn Conn, street_id: i64) -> Result<(), CaseError> {
    calendar::set_year(c, street_id, 2026, &calendar::china_2026())?;
    for (category, _, _) in super::demo::catalogue() {
        super::save_category(c, street_id, &category)?;
    }
    Ok(())
}
