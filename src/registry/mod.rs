//! The registry of who lives where (实有人口). This part holds the domain types for ID numbers
//! and phones and the scoped reads of households that the hierarchy pages need.

pub mod access;
pub mod corrections;
pub mod export;
pub mod households;
pub mod idnum;
pub mod import;
pub mod persons;
