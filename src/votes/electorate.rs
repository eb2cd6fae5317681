//! Who votes: the electorate of a scope, taken from the registry's owners and the units'
//! exclusive floor areas, by the rules of the Supreme People's Court's interpretation on
//! disputes over building distinct ownership (最高人民法院关于审理建筑物区分所有权纠纷案件适用法律
//! 若干问题的解释, arts. 8–9):
//!
//! - **An elector is a set of units with the same set of owners.** A person who alone owns
//!   several units of the scope counts once by head, with the area of all of them ("同一买受人
//!   拥有一个以上专有部分的，按一人计算").
//! - **Co-owners of a unit are one elector** and cast one ballot for it; they name who votes,
//!   and the ballot records which of them cast it.
//! - **Units with no owner on record are the developer's** (建设单位尚未出售或尚未交付的部分)
//!   and together count as one elector, with all their area.
//! - A unit's area counts in whole square centimetres, `round(area_m2 × 10,000)`; a unit with
//!   no area on record counts by head with no area.
//!
//! The electorate is taken once, when the vote opens, and kept (`vote_electors`,
//! `vote_elector_persons`): someone who becomes an owner afterwards is not counted.

use std::collections::BTreeMap;

use super::model::{cm2, mask_name};
use crate::registry::residents::UnitOwner;

/// A unit of the scope as the electorate needs it.
#[derive(Clone, Debug)]
pub struct ScopeUnit {
    pub id: i64,
    /// The building's name and the unit's, e.g. `3号楼 1单元101室`.
    pub label: String,
    pub area_m2: Option<f64>,
}

/// An elector before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewElector {
    pub area_cm2: i64,
    pub units: Vec<i64>,
    pub developer: bool,
    pub label: String,
    /// The owners' names, masked, joined.
    pub names: String,
    pub persons: Vec<i64>,
}

/// The units of one owner set and the owners' names by person.
type Group<'a> = (Vec<&'a ScopeUnit>, BTreeMap<i64, String>);

/// How many units an elector's label names before "… N units".
const LABEL_UNITS: usize = 3;

/// The electors of these units with these owners (owners of units outside `units` are
/// ignored), ordered by their first unit.
pub fn electors(units: &[ScopeUnit], owners: &[UnitOwner]) -> Vec<NewElector> {
    let mut owners_of: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for o in owners {
        owners_of
            .entry(o.unit_id)
            .or_default()
            .push((o.person_id, o.name.clone()));
    }
    // Owner set → (units, names by person); the developer's units under the empty set.
    let mut groups: BTreeMap<Vec<i64>, Group> = BTreeMap::new();
    let mut first_seen: Vec<Vec<i64>> = Vec::new();
    for u in units {
        let mut set: Vec<(i64, String)> = owners_of.get(&u.id).cloned().unwrap_or_default();
        set.sort();
        set.dedup_by_key(|(p, _)| *p);
        let key: Vec<i64> = set.iter().map(|(p, _)| *p).collect();
        let g = groups.entry(key.clone()).or_insert_with(|| {
            first_seen.push(key.clone());
            (Vec::new(), BTreeMap::new())
        });
        g.0.push(u);
        g.1.extend(set);
    }
    first_seen
        .into_iter()
        .filter_map(|key| {
            let (us, names) = groups.remove(&key)?;
            let mut label: Vec<&str> = us
                .iter()
                .take(LABEL_UNITS)
                .map(|u| u.label.as_str())
                .collect();
            let more = us.len().saturating_sub(LABEL_UNITS);
            let more = if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            };
            label.dedup();
            Some(NewElector {
                area_cm2: us.iter().map(|u| cm2(u.area_m2)).sum(),
                units: us.iter().map(|u| u.id).collect(),
                developer: key.is_empty(),
                label: format!("{}{more}", label.join("、")),
                names: names
                    .values()
                    .map(|n| mask_name(n))
                    .collect::<Vec<_>>()
                    .join("、"),
                persons: key,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: i64, area: f64) -> ScopeUnit {
        ScopeUnit {
            id,
            label: format!("{id}室"),
            area_m2: Some(area),
        }
    }
    fn owner(unit_id: i64, person_id: i64) -> UnitOwner {
        UnitOwner {
            unit_id,
            person_id,
            name: format!("王{person_id}"),
        }
    }

    #[test]
    fn one_head_per_owner_set_and_the_developer_once() {
        let units = vec![
            unit(101, 80.0),
            unit(102, 90.5),
            unit(201, 100.0),
            unit(202, 60.0),
            unit(301, 70.0),
        ];
        // 7 owns 101 and 102 alone; 8 and 9 own 201 together; 7 and 8 own 202 together;
        // 301 is unsold; an owner of a unit outside the scope is ignored.
        let owners = vec![
            owner(101, 7),
            owner(102, 7),
            owner(201, 9),
            owner(201, 8),
            owner(202, 7),
            owner(202, 8),
            owner(999, 5),
        ];
        let e = electors(&units, &owners);
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].persons, vec![7]);
        assert_eq!(e[0].area_cm2, 1_705_000);
        assert_eq!(e[0].units, vec![101, 102]);
        assert_eq!(e[1].persons, vec![8, 9]);
        assert_eq!(e[2].persons, vec![7, 8]);
        assert!(e[3].developer && e[3].persons.is_empty());
        assert_eq!(e[3].area_cm2, 700_000);
    }
}
