//! Gates, visitors and parking (出入口管理 · 访客 · 停车自治, issue 28): passages reported by
//! an estate's pedestrian gates and car barriers, kept as an access log for the estate's
//! retention period; visitors' passes issued by residents (signed, expiring, a number of
//! entries) and checked by the guard's phone, offline and online; parking spaces, their
//! assignments, vehicles inside and occupancy by hour, the car park drawn as SVG; and the
//! owners' self-governed rules, each recording the vote that made it, whose breaches become
//! cases of a self-governed category.
//!
//! **What an estate is here.** The hierarchy has no estate place: an estate (小区) is the
//! `estate` text of buildings within a community. Gates keep their own row per estate
//! (`gate_estates`), keyed by the community's place id and the estate's name (unique together),
//! because an estate's gates, spaces, passes, retention and rules need one stable id to hang
//! on, and the text on buildings can be edited or missing: a building without an `estate` is
//! taken to be in the estate named like its community. Keying by the community (not the street)
//! keeps the scope check the hierarchy's: whoever covers the community's path covers the
//! estate; two communities may have estates of the same name.
//!
//! **What is kept, and for how long.** A passage is a gate, a time, in or out, how (card, QR
//! pass, plate, the device's own resident id) and that credential as the device read it —
//! never an image, never a face. Passages and vehicles' stays are deleted after the estate's
//! retention (30 days unless set, 1–365) by the `purge` job, which records each purge (counts
//! only) in the audit log; the hourly occupancy keeps counts without plates. Passes are deleted
//! once they ended longer ago than the retention.
//!
//! **Gates are sensing devices**: each gate is a device of the street's `gate` profile and
//! reports with its provisioning token (`POST /api/v1/gates/passages`, authenticated as sensing
//! authenticates telemetry, through `sensing::Sensing::device_by_token`).
//!
//! **Passes** are signed with Ed25519 (`gates.key` in the keys folder): the guard's page holds
//! the public key and checks a code's signature and window with WebCrypto even when the network
//! is down; online, the server also takes one entry, so a replayed pass is refused.
//!
//! Stands on org (callers, scope), registry (where a resident lives), sensing (devices),
//! votes (the vote a rule records), cases (breaches) and audit.

pub mod demo;
pub mod http;
pub mod jobs;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use crate::http::area::{Area, Nav};

/// The gates area's shared state: the key passes are signed with, loaded at first use.
pub struct Gates {
    pub key: std::sync::OnceLock<Result<ed25519_dalek::SigningKey, String>>,
}

/// What the gates area contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::GatesApi as utoipa::OpenApi>::openapi,
        state: |s, _| {
            s.with(Gates {
                key: std::sync::OnceLock::new(),
            })
        },
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 49,
            href: "/gates",
            id: "nav-gates",
            label: "gates.nav",
            shown: service::shown,
        }],
        ..Area::new("gates", || http::router().merge(pages::router()))
    }
}
