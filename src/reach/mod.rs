//! Reach (消息触达, issue 24 parts 1 and 2): what linli has to say leaves linli — e-mail over
//! SMTP, the group robots of 企业微信, 钉钉 and 飞书, SMS through the street's HTTP gateway,
//! Web Push to the browsers an account subscribed (`push.rs`, `devices.rs`) —
//! and a care alert on a person's devices escalates from her family to the grid worker to the
//! community's duty worker until someone answers a one-tap link.
//!
//! Every other area uses one call, [`tell`]: it writes a durable outbox row in the caller's own
//! transaction, so the message exists exactly when the event that caused it does. The
//! delivery job (`jobs.rs`) sends what is due with retries and exponential backoff; each
//! (message, channel, target) is one row, so an event retried or a restart never sends twice
//! to the same channel. Care alerts start a chain ([`chains::start`]) whose state is in the
//! database, so a restart in the middle neither skips nor repeats a step.
//!
//! Stands on org (accounts, roles at places, the scope) and the storage floor (field keys
//! encrypt addresses like phones). Cases, sensing and notices call it; the answer to a care
//! alert reaches sensing through a hook ([`hooks::on_answer`]) registered in `app::wire`.

pub mod admin;
pub mod chains;
pub mod delivery;
pub mod demo;
pub mod devices;
pub mod hooks;
pub mod http;
pub mod jobs;
pub mod model;
pub mod net;
pub mod outbox;
pub mod pages;
pub mod push;
pub mod robots;
pub mod service;
pub mod settings;
pub mod sms;
pub mod smtp;

pub use model::{Body, Channel, Message, Recipient, Urgency};
pub use outbox::tell;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// The reach area's shared state: its metrics and the deployment's VAPID key (loaded at its
/// first use, see [`devices::vapid`]).
pub struct Reach {
    pub metrics: jobs::ReachMetrics,
    pub vapid: std::sync::OnceLock<Result<push::Vapid, String>>,
}

/// What the reach area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::ReachApi as utoipa::OpenApi>::openapi,
        state: |s, registry| {
            s.with(Reach {
                metrics: jobs::ReachMetrics::new(registry),
                vapid: std::sync::OnceLock::new(),
            })
        },
        jobs: jobs::jobs,
        nav: &[
            Nav {
                order: 90,
                href: "/reach/me",
                id: "nav-reach-me",
                label: "reach.nav_me",
                shown: |_: &Caller| true,
            },
            Nav {
                order: 91,
                href: "/reach/outbox",
                id: "nav-reach-outbox",
                label: "reach.nav_outbox",
                shown: crate::org::access::is_street_admin,
            },
        ],
        cards: |s, c| Box::pin(pages::cards(s, c)),
        ..Area::new("reach", || http::router().merge(pages::router()))
    }
}
