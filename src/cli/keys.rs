//! `linli keys wrap`: the key files wrapped by a passphrase.

use std::process::ExitCode;

use super::{Fail, GlobalArgs, init_logging, overrides};
use crate::audit::LogKey;
use crate::config::Config;
use crate::store::keys::FieldKeys;

/// `linli keys wrap`: wraps plain key files with the passphrase.
pub(super) fn wrap(global: &GlobalArgs) -> Result<ExitCode, Fail> {
    let (cfg, warnings) = Config::load(&overrides(global))?;
    init_logging(&cfg.log);
    for w in warnings {
        tracing::warn!("{w}");
    }
    let pass = cfg
        .key_passphrase
        .clone()
        .ok_or_else(|| Fail(crate::kernel::i18n::en_zh("cli.passphrase", &[])))?;
    let dir = cfg.keys_dir();
    for name in ["field.key", "log.key", crate::reach::push::KEY_FILE] {
        let path = dir.join(name);
        if !path.exists() {
            println!(
                "{}: absent (it will be created wrapped at first start)",
                path.display()
            );
            continue;
        }
        let done = crate::store::keys::wrap_file(&path, pass.expose())?;
        println!(
            "{}: {}",
            path.display(),
            if done { "wrapped" } else { "already wrapped" }
        );
    }
    // They load with the passphrase, as the server will.
    FieldKeys::load(&dir, Some(pass.expose()))?;
    LogKey::load(&dir, Some(pass.expose()))?;
    if dir.join(crate::reach::push::KEY_FILE).exists() {
        crate::reach::push::Vapid::load(&dir, Some(pass.expose()))?;
    }
    Ok(ExitCode::SUCCESS)
}
