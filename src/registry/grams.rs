//! A name index for search by any part of a name (模糊查询): every single character and every
//! pair of adjacent characters of a person's name, with the person's place path. A search for a
//! fragment reads the rows of one gram within the caller's scope, already in the order results
//! are shown, and stops after a page: a common surname and a rare given name cost the same,
//! whatever the size of the district. The full fragment is then checked on the name itself.
//!
//! The same rows serve the selective filters: `#t:TAG` for each tag a person holds (or held:
//! the search still checks the tag's validity) and `#p:PRESENCE` for a presence other than the
//! usual 人户一致. Age is checked on the record, never indexed (it changes every birthday).

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

/// The row key of a tag filter.
pub fn tag_gram(tag: &str) -> String {
    format!("#t:{tag}")
}

/// The row key of a presence filter; none for the usual presence (it would match nearly all).
pub fn presence_gram(presence: &str) -> Option<String> {
    (presence != "both").then(|| format!("#p:{presence}"))
}

fn rows_for(id: i64, name: &str, path: &str, tags: &[String], presence: &str) -> Vec<Vec<Val>> {
    let mut keys = grams(name);
    keys.extend(tags.iter().map(|t| tag_gram(t)));
    keys.extend(presence_gram(presence));
    keys.sort();
    keys.dedup();
    keys.into_iter()
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
        "SELECT name, place_path, presence FROM persons WHERE id = $1",
        params![person_id],
    )? {
        let tags: Vec<String> = c
            .query(
                "SELECT tag FROM person_tags WHERE person_id = $1",
                params![person_id],
            )?
            .iter()
            .map(|t| t.str(0))
            .collect();
        let rows = rows_for(person_id, &r.str(0), &r.str(1), &tags, &r.str(2));
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
            "SELECT id, name, place_path, presence FROM persons WHERE id > $1 ORDER BY id LIMIT 20000",
            params![last],
        )?;
        if batch.is_empty() {
            return Ok(n);
        }
        let top = batch.last().map(|r| r.i64(0)).unwrap_or(last);
        let mut tags: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for t in c.query(
            "SELECT person_id, tag FROM person_tags WHERE person_id > $1 AND person_id <= $2",
            params![last, top],
        )? {
            tags.entry(t.i64(0)).or_default().push(t.str(1));
        }
        let mut rows = Vec::with_capacity(batch.len() * 6);
        for r in &batch {
            let id = r.i64(0);
            let held = tags.get(&id).map(Vec::as_slice).unwrap_or(&[]);
            rows.extend(rows_for(id, &r.str(1), &r.str(2), held, &r.str(3)));
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
