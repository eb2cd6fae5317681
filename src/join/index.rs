//! The blind index a resident is found by: a keyed HMAC (`store::keys`) of her name and the
//! last six characters of her ID number, one row per person in `join_index`. Neither the ID
//! number nor its tail is stored or logged in clear: the index is made from the decrypted
//! number in memory, at start for persons without a row (`backfill`) and in the transaction of
//! every create or change of a person (`refresh`, the registry's hook).

use crate::params;
use crate::registry::residents::{self, Protected};
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result};

const DOMAIN: &str = "join_name_tail";

/// A name as compared: no spaces (full-width or not), no middle-dot variants, Latin letters
/// upper-cased, full-width forms folded.
pub fn normalise_name(name: &str) -> String {
    name.chars()
        .filter_map(|c| {
            let c = fold_width(c);
            if c.is_whitespace() || matches!(c, '·' | '•' | '・' | '.') {
                None
            } else {
                Some(c.to_ascii_uppercase())
            }
        })
        .collect()
}

fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The last six characters of an ID number as typed: six of `0-9` and `X` (full-width and
/// lower case accepted), or `None`.
pub fn parse_tail(s: &str) -> Option<String> {
    let t: String = s
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (t.chars().count() == 6 && t.chars().all(|c| c.is_ascii_digit() || c == 'X')).then_some(t)
}

/// The blind index of a name and an ID number's tail.
pub fn of(keys: &FieldKeys, name: &str, tail: &str) -> String {
    keys.blind_index(DOMAIN, &format!("{}\u{0}{}", normalise_name(name), tail))
}

fn of_person(keys: &FieldKeys, p: &Protected) -> Option<String> {
    let id = keys.decrypt(p.id_number_enc.as_deref()?)?;
    let chars: Vec<char> = id.trim().chars().collect();
    if chars.len() < 6 {
        return None;
    }
    let tail: String = chars[chars.len() - 6..]
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Some(of(keys, &p.name, &tail))
}

fn put(c: &mut dyn Conn, keys: &FieldKeys, persons: &[Protected]) -> Result<usize> {
    let now = crate::store::now_ms();
    let mut n = 0;
    for p in persons {
        match of_person(keys, p) {
            Some(bidx) => {
                c.exec("DELETE FROM join_index WHERE person_id = $1", params![p.id])?;
                c.exec(
                    "INSERT INTO join_index (person_id, street_id, bidx, updated_at) VALUES ($1, $2, $3, $4)",
                    params![p.id, p.street_id, bidx, now],
                )?;
                n += 1;
            }
            None => {
                c.exec("DELETE FROM join_index WHERE person_id = $1", params![p.id])?;
            }
        }
    }
    Ok(n)
}

/// The registry's hook: persons were created or changed in this transaction.
pub fn refresh(c: &mut dyn Conn, keys: &FieldKeys, ids: &[i64]) -> Result<()> {
    let persons = residents::protected(c, ids)?;
    put(c, keys, &persons)?;
    Ok(())
}

/// Indexes the persons after `after` (by id, one batch) without a row, or whose record
/// changed after her row was made (by a process that did not run the hook); returns the last
/// id looked at and how many were indexed, or `None` past the last person.
pub fn backfill_batch(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    after: i64,
) -> Result<Option<(i64, usize)>> {
    let batch = residents::protected_after(c, after, 1000)?;
    let Some(last) = batch.last().map(|p| p.id) else {
        return Ok(None);
    };
    let ids: Vec<i64> = batch.iter().map(|p| p.id).collect();
    let have = have_rows(c, &ids)?;
    let stale: Vec<Protected> = batch
        .into_iter()
        .filter(|p| have.get(&p.id).is_none_or(|at| *at < p.updated_at))
        .collect();
    Ok(Some((last, put(c, keys, &stale)?)))
}

fn have_rows(c: &mut dyn Conn, ids: &[i64]) -> Result<std::collections::HashMap<i64, i64>> {
    let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(Default::default());
    };
    Ok(c.query(
        "SELECT person_id, updated_at FROM join_index WHERE person_id >= $1 AND person_id <= $2",
        params![*lo, *hi],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// The persons of a street whose name and tail give this index.
pub fn find(c: &mut dyn Conn, street_id: i64, bidx: &str) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT person_id FROM join_index WHERE street_id = $1 AND bidx = $2 ORDER BY person_id",
        params![street_id, bidx],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tails_are_compared_loosely_but_exactly() {
        assert_eq!(normalise_name(" 张 三 "), "张三");
        assert_eq!(normalise_name("阿依古丽·买买提"), "阿依古丽买买提");
        assert_eq!(normalise_name("Ｌｉ　Ｍｉｎ"), "LIMIN");
        assert_eq!(parse_tail("12345x").as_deref(), Some("12345X"));
        assert_eq!(parse_tail("１２３４５６").as_deref(), Some("123456"));
        assert_eq!(parse_tail("12345"), None);
        assert_eq!(parse_tail("12345Y"), None);
    }
}
