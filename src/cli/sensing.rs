//! `linli simulate`: realistic readings for the demo's devices.

use std::process::ExitCode;

use super::{Fail, GlobalArgs, SimulateArgs, open, runtime};

/// `linli simulate`: sends the demo devices' readings.
pub(super) fn simulate(global: &GlobalArgs, a: SimulateArgs) -> Result<ExitCode, Fail> {
    let (_, db, keys) = open(global)?;
    let opts = crate::sensing::simulate::SimOptions {
        rate: a.rate,
        mqtt: a.mqtt,
        url: a.url,
        shut: a.shut,
        duration: a.seconds.map(std::time::Duration::from_secs_f64),
    };
    let rt = runtime()?;
    let sent = rt
        .block_on(crate::sensing::simulate::run(db.clone(), keys, opts))
        .map_err(|e| Fail(format!("{e:#}")))?;
    println!("sent {sent} readings");
    db.close();
    Ok(ExitCode::SUCCESS)
}
