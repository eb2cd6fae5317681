//! Generates the list of migrations from `migrations/{sqlite,postgres}/NNNN_name.sql`, so adding
//! a migration is adding its two files. Both backends must carry the same versions and names:
//! a migration written for one backend only fails the build here, not a deployment later.

use std::fmt::Write as _;
use std::path::Path;

fn list(backend: &str) -> Vec<(i64, String, String)> {
    let dir = Path::new("migrations").join(backend);
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("migrations folder") {
        let path = entry.expect("migration entry").path();
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .expect("utf-8 name");
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        let (num, name) = stem
            .split_once('_')
            .unwrap_or_else(|| panic!("migration {file}: expected NNNN_name.sql"));
        let version: i64 = num
            .parse()
            .unwrap_or_else(|_| panic!("migration {file}: {num} is not a number"));
        let abs = std::fs::canonicalize(&path).expect("migration path");
        out.push((version, name.to_string(), abs.display().to_string()));
    }
    out.sort();
    for w in out.windows(2) {
        assert!(
            w[0].0 != w[1].0,
            "two {backend} migrations numbered {}",
            w[0].0
        );
    }
    out
}

fn main() {
    let sqlite = list("sqlite");
    let postgres = list("postgres");
    let names = |l: &[(i64, String, String)]| -> Vec<(i64, String)> {
        l.iter().map(|(v, n, _)| (*v, n.clone())).collect()
    };
    assert_eq!(
        names(&sqlite),
        names(&postgres),
        "migrations/sqlite and migrations/postgres must hold the same versions and names"
    );
    let mut code = String::new();
    for (konst, l) in [("SQLITE", &sqlite), ("POSTGRES", &postgres)] {
        writeln!(code, "const {konst}: &[Migration] = &[").unwrap();
        for (v, n, p) in l {
            writeln!(code, "    ({v}, {n:?}, include_str!({p:?})),").unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(out, code).expect("write migrations.rs");
}
