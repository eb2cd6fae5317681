//! `linli audit verify | checkpoint | prove`: the tamper-evident log checked and proved from the
//! console.

use std::process::ExitCode;

use super::{AuditCommand, Fail};
use crate::audit::LogKey;
use crate::store::Db;

pub(super) fn audit_command(db: &Db, key: &LogKey, cmd: AuditCommand) -> Result<ExitCode, Fail> {
    use crate::audit::{self, DbNodes, merkle};
    use base64::Engine;
    let b64 = |h: &[u8]| base64::engine::general_purpose::STANDARD.encode(h);
    match cmd {
        AuditCommand::Verify(args) => {
            let t0 = std::time::Instant::now();
            let public = key.public();
            let mut opts = audit::verify::Options {
                kept: Vec::new(),
                locate: args.locate,
            };
            if let Some(path) = &args.against {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Fail(format!("cannot read {}: {e}", path.display())))?;
                opts.kept = audit::parse_checkpoints(&text)
                    .map_err(|e| Fail(format!("{}: {e}", path.display())))?;
                if opts.kept.is_empty() {
                    return Err(Fail(crate::kernel::i18n::en_zh(
                        "cli.no_checkpoint",
                        &[("path", &path.display())],
                    )));
                }
            }
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let (r, problems) = db.read_blocking(|c| {
                audit::verify::verify(c, &public, &opts, &mut |n| {
                    if tty {
                        eprint!("\rverified {n} entries");
                    }
                })
            })?;
            if tty {
                eprintln!();
            }
            if problems.is_empty() {
                let kept = if r.kept > 0 {
                    format!(", consistent with {} kept heads", r.kept)
                } else {
                    String::new()
                };
                println!(
                    "audit log OK: {} entries, {} signed tree heads, {} entries after the newest head{kept}, {} subject index rows ({:.2} s)",
                    r.entries,
                    r.heads,
                    r.unsigned,
                    r.index_rows,
                    t0.elapsed().as_secs_f64()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for problem in &problems {
                    println!("audit log FAILED: {problem}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
        AuditCommand::Checkpoint => {
            let head = db.write_blocking(|c| audit::sign_head(c, key))?;
            match head {
                Some(h) => {
                    print!("{}", h.checkpoint(&key.public()));
                    Ok(ExitCode::SUCCESS)
                }
                None => Err(Fail("the audit log is empty: nothing to sign yet".into())),
            }
        }
        AuditCommand::Prove(p) => {
            let n = db.read_blocking(audit::size)?;
            if let Some(entry) = p.entry {
                let size = match p.size {
                    Some(s) => s,
                    None => db
                        .read_blocking(audit::latest_head)?
                        .map(|h| h.size)
                        .unwrap_or(n),
                };
                if size == 0 || size > n || entry >= size {
                    return Err(Fail(format!(
                        "entry {entry} is not in a tree of size {size} (the log holds {n} entries)"
                    )));
                }
                let (leaf, root, proof) = db.read_blocking(|c| {
                    let mut nodes = DbNodes(c);
                    Ok((
                        merkle::Nodes::node(&mut nodes, 0, entry)?,
                        merkle::root(&mut nodes, size)?,
                        merkle::inclusion_proof(&mut nodes, entry, size)?,
                    ))
                })?;
                println!(
                    "inclusion proof\nentry {entry}\nsize {size}\nleaf {}\nroot {}",
                    b64(&leaf),
                    b64(&root)
                );
                for h in proof {
                    println!("{}", b64(&h));
                }
                Ok(ExitCode::SUCCESS)
            } else if let (Some(from), Some(to)) = (p.from, p.to) {
                if from == 0 || from > to || to > n {
                    return Err(Fail(format!(
                        "need 0 < --from <= --to <= {n} (the log's size)"
                    )));
                }
                let (old, new, proof) = db.read_blocking(|c| {
                    let mut nodes = DbNodes(c);
                    Ok((
                        merkle::root(&mut nodes, from)?,
                        merkle::root(&mut nodes, to)?,
                        merkle::consistency_proof(&mut nodes, from, to)?,
                    ))
                })?;
                println!(
                    "consistency proof\nfrom {from}\nto {to}\nold root {}\nnew root {}",
                    b64(&old),
                    b64(&new)
                );
                for h in proof {
                    println!("{}", b64(&h));
                }
                Ok(ExitCode::SUCCESS)
            } else {
                Err(Fail("give --entry N [--size M] or --from A --to B".into()))
            }
        }
    }
}
