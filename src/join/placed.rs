//! What joining keeps at a place, for the hierarchy's changes (`org::hooks`): a move rewrites
//! the invitations' copies of their place's path, so a worker still finds the codes she
//! issued for a building that moved to another grid.

use crate::org::hooks::repath_column;
use crate::store::{Conn, Result};

pub fn repath(c: &mut dyn Conn, old: &str, new: &str) -> Result<u64> {
    repath_column(c, "join_invitations", "place_path", old, new)
}
