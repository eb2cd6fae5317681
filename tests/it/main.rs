//! linli's integration tests: one binary, every test with its own server and database.
//! The suite runs on SQLite, and on PostgreSQL when `LINLI_TEST_PG_URL` is set.

mod support;

mod account;
mod aid;
mod audit;
mod audit_tamper;
mod auth_hardening;
mod browser;
mod callups;
mod cases;
mod cli;
mod cockpit;
mod contract;
mod deliberation;
mod eligibility;
mod foundation;
mod funds;
mod gates;
mod import;
mod join;
mod keyset;
mod map;
mod nearby;
mod notices;
mod pages_walk;
mod population;
mod privacy;
mod privacy_holes;
mod reach;
mod reach_push;
mod records;
mod roster;
mod scale;
mod scope;
mod sensing;
mod setup;
mod sheets;
mod supplies;
mod surveys;
mod sweeps;
mod visits;
mod volunteering;
mod votes;
