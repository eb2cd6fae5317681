//! A sheet as its reader may see it: the totals per building and overall for everyone it
//! concerns, her household's entry and its corrections for a recipient, and for an organiser
//! the entries of the people in her scope (flats whole, names masked; the look audited with
//! the persons named).

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{Correction, Entry, Sheet};
use super::service::{audit, household_key, manages, may_write};
use super::store::{self, Recipient};
use crate::audit::Action;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, Tr};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;
use crate::store::Conn;

/// Totals over entries: quantity per item, all items, the amount, households.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
#[schema(as = SheetTotals)]
pub struct Totals {
    pub items: Vec<i64>,
    pub quantity: i64,
    pub amount_fen: i64,
    pub households: i64,
}

impl Totals {
    fn add(&mut self, e: &Entry) {
        if self.items.len() < e.lines.len() {
            self.items.resize(e.lines.len(), 0);
        }
        for (t, q) in self.items.iter_mut().zip(&e.lines) {
            *t += q;
        }
        self.quantity += e.quantity;
        self.amount_fen += e.amount_fen;
        self.households += 1;
    }
}

/// A building's totals.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetBuildingTotals)]
pub struct BuildingTotals {
    pub building_id: i64,
    pub name: String,
    pub totals: Totals,
}

/// An entry as its organiser sees it: the household's flat, the name of who wrote it
/// (masked).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetEntryRow)]
pub struct Row {
    pub entry: Entry,
    /// "3号楼 402".
    pub flat: String,
    /// "张**".
    pub by: String,
}

/// A sheet as the caller may see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SheetView)]
pub struct View {
    pub sheet: Sheet,
    pub open: bool,
    pub manages: bool,
    pub totals: Totals,
    pub buildings: Vec<BuildingTotals>,
    /// The reader's household's entry (a recipient's).
    pub mine: Option<Entry>,
    /// The flat her entry is for, when linli knows it.
    pub my_flat: Option<String>,
    pub recipient: bool,
    /// The entries of the people in the organiser's scope (for a manager only).
    pub entries: Option<Vec<Row>>,
    /// A manager: every correction; a recipient: her household's.
    pub corrections: Vec<Correction>,
}

/// Reads what the view needs in one read: the sheet, every entry, names of places and
/// persons, her recipient row.
struct Read {
    sheet: Sheet,
    entries: Vec<Entry>,
    places: std::collections::HashMap<i64, String>,
    names: std::collections::HashMap<i64, String>,
    me: Option<Recipient>,
    corrections: Vec<Correction>,
}

fn read(c: &mut dyn Conn, id: i64, person: Option<i64>, manager: bool) -> AppResult<Read> {
    let sheet = store::get(c, id)?.ok_or_else(AppError::not_found)?;
    let entries = store::entries(c, id)?;
    let me = match person {
        Some(p) => store::recipient(c, id, p)?,
        None => None,
    };
    let mut ids: Vec<i64> = entries
        .iter()
        .flat_map(|e| [Some(e.building_id), e.unit_id])
        .flatten()
        .collect();
    if let Some(m) = &me {
        ids.extend(m.unit_id);
        ids.push(m.building_id);
    }
    ids.sort_unstable();
    ids.dedup();
    let places = crate::notices::store::places(c, &ids)?
        .into_iter()
        .map(|(id, p)| (id, p.name))
        .collect();
    let names = if manager {
        let persons: Vec<i64> = entries.iter().map(|e| e.person_id).collect();
        crate::registry::residents::names(c, &persons)?
    } else {
        Default::default()
    };
    let corrections = if manager {
        store::corrections(c, id, None)?
    } else {
        match &me {
            Some(m) => match store::entry_of(c, id, &household_key(m))? {
                Some(e) => store::corrections(c, id, Some(e.id))?,
                None => Vec::new(),
            },
            None => Vec::new(),
        }
    };
    Ok(Read {
        sheet,
        entries,
        places,
        names,
        me,
        corrections,
    })
}

fn flat(
    places: &std::collections::HashMap<i64, String>,
    building: i64,
    unit: Option<i64>,
) -> String {
    let b = places.get(&building).cloned().unwrap_or_default();
    match unit.and_then(|u| places.get(&u)) {
        Some(u) if !b.is_empty() => format!("{b} {u}"),
        Some(u) => u.clone(),
        None => b,
    }
}

/// A sheet: totals for everyone it concerns; her entry for a recipient; the entries of the
/// people in her scope for a manager (audited). Anyone else: 404.
pub async fn view(state: &AppState, caller: &Caller, id: i64, lang: Lang) -> AppResult<View> {
    let person = caller.person_id;
    let may_manage = caller.reads_registry() || may_write(caller);
    let r = state
        .db
        .read(move |c| Ok(read(c, id, person, may_manage)))
        .await??;
    let manager = manages(caller, &r.sheet);
    if !manager && r.me.is_none() {
        return Err(AppError::not_found());
    }
    let mut totals = Totals {
        items: vec![0; r.sheet.items.len()],
        ..Totals::default()
    };
    let mut buildings: Vec<BuildingTotals> = Vec::new();
    for e in &r.entries {
        totals.add(e);
        match buildings
            .iter_mut()
            .find(|b| b.building_id == e.building_id)
        {
            Some(b) => b.totals.add(e),
            None => {
                let mut t = Totals {
                    items: vec![0; r.sheet.items.len()],
                    ..Totals::default()
                };
                t.add(e);
                buildings.push(BuildingTotals {
                    building_id: e.building_id,
                    name: r
                        .places
                        .get(&e.building_id)
                        .cloned()
                        .unwrap_or_else(|| Tr(lang).s("sheets.no_building").to_string()),
                    totals: t,
                });
            }
        }
    }
    let mine = match &r.me {
        Some(m) => {
            let key = household_key(m);
            let e = state
                .db
                .read({
                    let key = key.clone();
                    move |c| store::entry_of(c, id, &key)
                })
                .await?;
            e.filter(|e| e.withdrawn_at.is_none())
        }
        None => None,
    };
    let my_flat =
        r.me.as_ref()
            .map(|m| flat(&r.places, m.building_id, m.unit_id))
            .filter(|f| !f.is_empty());
    let entries = if manager {
        let rows: Vec<Row> = r
            .entries
            .iter()
            .filter(|e| {
                r.sheet.author_id == caller.user_id
                    || Scope::covers(&caller.scope.registry, &e.place_path)
            })
            .map(|e| Row {
                flat: flat(&r.places, e.building_id, e.unit_id),
                by: crate::kernel::text::mask_name(
                    r.names.get(&e.person_id).map(String::as_str).unwrap_or(""),
                ),
                entry: e.clone(),
            })
            .collect();
        let persons: Vec<i64> = rows.iter().map(|x| x.entry.person_id).collect();
        if !persons.is_empty() {
            audit(
                state,
                caller,
                r.sheet.street_id,
                Action::List,
                persons,
                "entries",
                id,
            )
            .await?;
        }
        Some(rows)
    } else {
        None
    };
    let now = now_ms();
    Ok(View {
        open: r.sheet.open(now),
        manages: manager,
        totals,
        buildings,
        recipient: r.me.is_some(),
        mine,
        my_flat,
        entries,
        corrections: r.corrections,
        sheet: r.sheet,
    })
}
