//! linli (邻里): a self-hosted platform for governing and serving a neighbourhood.
//! See docs/ARCHITECTURE.md for the floor plan: the kernel, store and shells, the areas, and app.

pub mod aid;
pub mod app;
pub mod audit;
pub mod callups;
pub mod cases;
pub mod cli;
pub mod cockpit;
pub mod config;
pub mod deliberation;
pub mod demo;
pub mod eligibility;
pub mod funds;
pub mod http;
pub mod join;
pub mod kernel;
pub mod map;
pub mod nearby;
pub mod notices;
pub mod org;
pub mod privacy;
pub mod process;
pub mod reach;
pub mod registry;
pub mod sensing;
pub mod setup;
pub mod sheets;
pub mod state;
pub mod store;
pub mod supplies;
pub mod surveys;
pub mod sweeps;
pub mod visits;
pub mod volunteering;
pub mod votes;
pub mod web;
