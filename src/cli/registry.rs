//! `linli import persons` and `linli export persons`: the registry's sheets from the console.

use std::process::ExitCode;

use super::{ExportArgs, Fail, ImportArgs};
use crate::org::places;
use crate::store::Db;
use crate::store::keys::FieldKeys;

pub(super) fn import_persons(db: &Db, keys: &FieldKeys, a: ImportArgs) -> Result<ExitCode, Fail> {
    use crate::registry::import;
    let bytes = std::fs::read(&a.file)
        .map_err(|e| Fail(format!("cannot read {}: {e}", a.file.display())))?;
    let ext = a
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let xlsx = match ext.as_str() {
        "xlsx" => true,
        "csv" | "txt" => false,
        _ => {
            return Err(Fail(format!(
                "{}: only .csv and .xlsx files can be imported",
                a.file.display()
            )));
        }
    };
    let sheet = import::read(&bytes, xlsx)?;
    if db
        .read_blocking(|c| places::by_path(c, &a.scope))?
        .is_none()
    {
        return Err(Fail(format!("no place with path {:?}", a.scope)));
    }
    let quiet = a.json || sheet.rows.len() < 2000;
    let mut progress = |done: usize, total: usize| {
        if !quiet {
            eprint!("\rchecking rows: {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    };
    let who = import::Importer {
        actor: None,
        source: "import",
    };
    let report = db.write_tx_blocking(|c| -> Result<_, Fail> {
        Ok(import::import(
            c,
            keys,
            &a.scope,
            &sheet,
            a.dry_run,
            &who,
            &mut progress,
        )?)
    })?;
    let report = report?;
    if let Some(path) = &a.refused {
        let table = import::refused_table(&sheet, &report);
        let bytes = crate::registry::export::xlsx(&table, "refused").map_err(Fail)?;
        std::fs::write(path, bytes)
            .map_err(|e| Fail(format!("cannot write {}: {e}", path.display())))?;
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Fail(e.to_string()))?
        );
    } else {
        println!(
            "{}: {} to create, {} to update, {} unchanged, {} refused",
            if report.applied {
                "imported"
            } else {
                "dry run"
            },
            report.create,
            report.update,
            report.unchanged,
            report.refused.len()
        );
        for r in &report.refused {
            println!("  row {}: {}", r.row, r.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn export_persons(db: &Db, keys: &FieldKeys, a: ExportArgs) -> Result<(), Fail> {
    let ext = a
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext != "csv" && ext != "xlsx" {
        return Err(Fail("name the file FILE.xlsx or FILE.csv".into()));
    }

    let (bytes, people) = db
        .write_blocking(|c| {
            if places::by_path(c, &a.scope)?.is_none() {
                return Ok(None);
            }
            let (rows, people) = crate::registry::export::table(c, keys, &a.scope, None, false)?;
            let bytes = if ext == "xlsx" {
                crate::registry::export::xlsx(&rows, "persons")
            } else {
                crate::registry::export::to_csv(&rows)
            }
            .map_err(crate::store::StoreError::Db)?;
            let mut e = crate::audit::NewEntry::anonymous(crate::audit::Action::Export, "cli");
            e.subjects = people.iter().map(|p| crate::audit::person(*p)).collect();
            e.purpose = Some(format!("cli export of {} (masked)", a.scope));
            crate::audit::append(c, vec![e])?;
            Ok(Some((bytes, people)))
        })?
        .ok_or_else(|| Fail(format!("no place with path {:?}", a.scope)))?;
    std::fs::write(&a.out, bytes)
        .map_err(|e| Fail(format!("cannot write {}: {e}", a.out.display())))?;
    println!(
        "exported {} persons (masked) to {}",
        people.len(),
        a.out.display()
    );
    Ok(())
}
