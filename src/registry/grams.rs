//! A name index for search by any part of a name (模糊查询): every single character and every
//! pair of adjacent characters of a person's name, with the person's place path. A search for a
//! fragment reads the rows of one gram within the caller's scope, already in the order results
//! are shown, and stops after a page: a common surname and a rare given name cost the same,
//! whatever the size of the district. The full fragment is then checked on the name itself.

use crate::params;
use crate::store::{Conn, Result, Val};

/// The grams of a name: its characters and adjacent pairs, without repeats.
pub fn grams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    out.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    out.sort();
    out.dedup();
    out
}

/// The gram a search for `fragment` reads: the fragment itself when it has one or two
/// characters, else its first pair.
pub fn query_gram(fragment: &str) -> Option<String> {
    let chars: Vec<char> = fragment.chars().filter(|c| !c.is_whitespace()).collect();
    match chars.len() {
        0 => None,
        1 | 2 => Some(chars.iter().collect()),
        _ => Some(chars[..2].iter().collect()),
    }
}

const COLS: [&str; 3] = ["gram", "place_path", "person_id"];

fn rows_for(id: i64, name: &str, path: &str) -> Vec<Vec<Val>> {
    grams(name)
        .into_iter()
        .map(|g| vec![Val::Text(g), Val::Text(path.to_string()), Val::Int(id)])
        .collect()
}

/// Rewrites one person's grams from their record (after a name or an address changed).
pub fn reindex(c: &mut dyn Conn, person_id: i64) -> Result<()> {
    c.exec(
        "DELETE FROM person_grams WHERE person_id = $1",
        params![person_id],
    )?;
    if let Some(r) = c.query_opt(
        "SELECT name, place_path FROM persons WHERE id = $1",
        params![person_id],
    )? {
        let rows = rows_for(person_id, &r.str(0), &r.str(1));
        c.insert_many_ignore("person_grams", &COLS, &rows)?;
    }
    Ok(())
}

/// Indexes every person whose id is above `after`, in batches; returns how many.
pub fn index_from(c: &mut dyn Conn, after: i64) -> Result<usize> {
    let mut last = after;
    let mut n = 0;
    loop {
        let batch = c.query(
            "SELECT id, name, place_path FROM persons WHERE id > $1 ORDER BY id LIMIT 20000",
            params![last],
        )?;
        if batch.is_empty() {
            return Ok(n);
        }
        let mut rows = Vec::with_capacity(batch.len() * 5);
        for r in &batch {
            rows.extend(rows_for(r.i64(0), &r.str(1), &r.str(2)));
        }
        for part in rows.chunks(3000) {
            c.insert_many_ignore("person_grams", &COLS, part)?;
        }
        n += batch.len();
        last = batch.last().map(|r| r.i64(0)).unwrap_or(last);
    }
}

/// Builds the index when it is empty but persons exist (a database from before it).
pub fn backfill_if_empty(c: &mut dyn Conn) -> Result<usize> {
    let have = c.query_opt("SELECT person_id FROM person_grams LIMIT 1", &[])?;
    let persons = c.query_opt("SELECT id FROM persons LIMIT 1", &[])?;
    if have.is_some() || persons.is_none() {
        return Ok(0);
    }
    index_from(c, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_of_names() {
        assert_eq!(grams("王建国"), vec!["国", "建", "建国", "王", "王建"]);
        assert_eq!(grams("林林"), vec!["林", "林林"]);
        assert_eq!(query_gram("建国"), Some("建国".into()));
        assert_eq!(query_gram("王建国"), Some("王建".into()));
        assert_eq!(query_gram(" "), None);
        // Whatever the fragment, its gram is one of the name's when the name contains it.
        for (name, frag) in [("欧阳建国", "阳建国"), ("Anna Li", "nna")] {
            assert!(name.contains(frag));
            assert!(grams(name).contains(&query_gram(frag).unwrap()));
        }
    }
}
