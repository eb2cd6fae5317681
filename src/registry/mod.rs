//! The registry of who lives where (实有人口): persons with their protected ID numbers and
//! phones, households, housing units with owners, rental registrations, vehicles, tags, the
//! imports and exports that speak Excel, and the statistics other parts reuse.

pub mod access;
pub mod api;
pub mod corrections;
pub mod export;
pub mod grams;
pub mod households;
pub mod idnum;
pub mod import;
pub mod persons;
pub mod plate;
pub mod records;
pub mod stats;
