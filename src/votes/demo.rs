//! What the demo street needs of the votes: one open lift-retrofit vote (加装电梯, art. 278
//! item 7) in the stairwell of the demo resident `jumin`, who owns her home (the demo makes
//! her an owner: `demo::records::make_owner`), so that her first look at 业主表决 shows a vote
//! waiting for her.

use super::model::{Matter, ScopeKind};
use super::{service, store};
use crate::kernel::i18n::{Lang, Tr, both};
use crate::store::{Conn, Result};

/// Days the demo vote stays open.
const DAYS: i64 = 14;

/// Calls the demo vote in the stairwell of `person`'s home, opened now and its electorate
/// taken. Nothing when the person has no home with a stairwell.
pub fn seed(c: &mut dyn Conn, person: i64, created_by: i64, now: i64) -> Result<Option<i64>> {
    let Some(home) = crate::registry::residents::resident(c, person)? else {
        return Ok(None);
    };
    let Some(unit) = home.unit_id else {
        return Ok(None);
    };
    let Some((building_id, stairwell)) = store::unit_stairwell(c, unit)? else {
        return Ok(None);
    };
    let Some(b) = store::place(c, building_id)? else {
        return Ok(None);
    };
    let label = both(
        "votes.stairwell_label",
        &[("building", &b.name), ("n", &stairwell)],
    );
    let zh_scope = Tr(Lang::Zh).fill(
        "votes.stairwell_label",
        &[("building", &b.name), ("n", &stairwell)],
    );
    let title = Tr(Lang::Zh).fill("votes.template.elevator_title", &[("scope", &zh_scope)]);
    let id = store::insert(
        c,
        &store::NewVote {
            street_id: home.street_id,
            title: &title,
            matter: Matter::Item7,
            scope_kind: ScopeKind::Stairwell,
            building_id: Some(b.id),
            stairwell_no: Some(stairwell),
            estate: None,
            place_path: &b.path,
            scope_label: &label,
            secret: false,
            opens_at: now - 60_000,
            closes_at: now + DAYS * 86_400_000,
            template: Some(service::Template::Elevator.as_str()),
            created_by,
            now,
        },
    )?;
    if let Some(v) = store::get(c, id)? {
        let electors = service::take(c, &v)?;
        store::freeze(c, &v, &electors, now)?;
    }
    Ok(Some(id))
}
