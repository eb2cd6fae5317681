//! Residents join (issue 21, part 5): a resident proves she lives here without a worker at her
//! side and gets an account linked to her own record — by herself, with her name, the last six
//! characters of her ID number and her unit (matched through a blind index, `index`), or with
//! her household's invitation code, printed as a letter with a QR code for the building leader
//! to hand out. A worker sees, per building of her scope, who has joined.
//!
//! Stands on org (accounts, the password policy), registry (who lives where, through
//! `registry::residents`) and audit.

pub mod http;
pub mod index;
pub mod jobs;
pub mod pages;
pub mod placed;
pub mod service;
pub mod store;

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What the join area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::JoinApi as utoipa::OpenApi>::openapi,
        state: |s, _| s.with(Join::new()),
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 105,
            href: "/join/admin",
            id: "nav-join",
            label: "join.nav",
            shown: Caller::reads_registry,
        }],
        ..Area::new("join", || http::router().merge(pages::router()))
    }
}

/// Registers the registry's hook that keeps the blind index current (`app::wire`).
pub fn wire() {
    crate::registry::residents::on_saved(index::refresh);
}

/// The join area's shared state: a per-minute rate of its public forms and calls per client
/// address (the failures that lock an address or a unit are counted in the database).
pub struct Join {
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

/// Public join requests a minute from one address (an IPv6 /64).
pub const PER_MINUTE: u32 = 30;

impl Join {
    fn new() -> Join {
        Join {
            per_address: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(PER_MINUTE).expect("non-zero"),
            )),
        }
    }

    /// Whether one more public request from this address is allowed this minute.
    pub fn allow(&self, client: IpAddr) -> bool {
        if self.per_address.len() > 50_000 {
            self.per_address.retain_recent();
        }
        self.per_address
            .check_key(&crate::org::login::client_key(client))
            .is_ok()
    }
}

/// The join area's state.
pub fn of(state: &crate::state::AppState) -> &Join {
    state.area::<Join>()
}

/// Refuses a public join request past the per-minute rate of its address.
pub fn limit(
    state: &crate::state::AppState,
    client: IpAddr,
) -> crate::kernel::error::AppResult<()> {
    if of(state).allow(client) {
        Ok(())
    } else {
        Err(crate::kernel::error::AppError::new(
            crate::kernel::StatusCode::TOO_MANY_REQUESTS,
            crate::kernel::Code::RateLimited,
            "error.rate_limited",
        ))
    }
}
