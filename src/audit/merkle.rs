//! Merkle tree hashing and proofs exactly as RFC 9162 §2.1 (= RFC 6962 §2.1) defines them:
//! leaf `SHA-256(0x00 ‖ entry)`, node `SHA-256(0x01 ‖ left ‖ right)`, the tree split at the
//! largest power of two smaller than its size.
//!
//! Written here rather than taken from a crate because linli keeps the tree in its database:
//! the proofs below ask a [`Nodes`] source for the hashes of perfect subtrees (cached in the
//! `audit_nodes` table) instead of holding every leaf in memory, which is what the crates do.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Where proofs get the hash of a perfect subtree: `level` 0 is a leaf, level `l` covers the
/// leaves `[idx·2^l, (idx+1)·2^l)`.
pub trait Nodes {
    type Error;
    fn node(&mut self, level: u32, idx: u64) -> Result<Hash, Self::Error>;
}

/// MTH(D[start:end]).
pub fn subtree<N: Nodes>(n: &mut N, start: u64, end: u64) -> Result<Hash, N::Error> {
    let len = end - start;
    if len.is_power_of_two() && start.is_multiple_of(len) {
        return n.node(len.trailing_zeros(), start / len);
    }
    let k = split(len);
    let l = subtree(n, start, start + k)?;
    let r = subtree(n, start + k, end)?;
    Ok(node_hash(&l, &r))
}

pub fn root<N: Nodes>(n: &mut N, size: u64) -> Result<Hash, N::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree(n, 0, size)
}

/// PATH(m, D[start:end]) of RFC 6962 §2.1.1: the audit path of leaf `m` (relative to start).
fn path<N: Nodes>(
    n: &mut N,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let len = end - start;
    if len <= 1 {
        return Ok(());
    }
    let k = split(len);
    if m < k {
        path(n, m, start, start + k, out)?;
        out.push(subtree(n, start + k, end)?);
    } else {
        path(n, m - k, start + k, end, out)?;
        out.push(subtree(n, start, start + k)?);
    }
    Ok(())
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<N: Nodes>(n: &mut N, index: u64, size: u64) -> Result<Vec<Hash>, N::Error> {
    let mut out = Vec::new();
    if index < size {
        path(n, index, 0, size, &mut out)?;
    }
    Ok(out)
}

/// SUBPROOF(m, D[start:end], b) of RFC 6962 §2.1.2.
fn subproof<N: Nodes>(
    n: &mut N,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let len = end - start;
    if m == len {
        if !b {
            out.push(subtree(n, start, end)?);
        }
        return Ok(());
    }
    let k = split(len);
    if m <= k {
        subproof(n, m, start, start + k, b, out)?;
        out.push(subtree(n, start + k, end)?);
    } else {
        subproof(n, m - k, start + k, end, false, out)?;
        out.push(subtree(n, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of `old` and `new` leaves.
pub fn consistency_proof<N: Nodes>(n: &mut N, old: u64, new: u64) -> Result<Vec<Hash>, N::Error> {
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(n, old, 0, new, true, &mut out)?;
    }
    Ok(out)
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> bool {
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty();
    }
    if old > new || proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// Computes roots while leaves stream past: the right edge of perfect subtrees.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    /// (level, hash) from the left; levels strictly decrease.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Rebuilds the frontier of a tree of `size` leaves from its stored perfect subtrees.
    pub fn load<N: Nodes>(n: &mut N, size: u64) -> Result<Frontier, N::Error> {
        let mut stack = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            let w = 1u64 << level;
            if size & w != 0 {
                stack.push((level, n.node(level, start / w)?));
                start += w;
            }
        }
        Ok(Frontier { stack, size })
    }

    /// Adds a leaf; returns the perfect subtrees (level ≥ 1, index, hash) it completed.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let mut done = Vec::new();
        let mut cur = (0u32, leaf);
        let mut idx = self.size;
        while let Some(&(level, left)) = self.stack.last() {
            if level != cur.0 {
                break;
            }
            self.stack.pop();
            idx /= 2;
            cur = (level + 1, node_hash(&left, &cur.1));
            done.push((cur.0, idx, cur.1));
        }
        self.stack.push(cur);
        self.size += 1;
        done
    }

    pub fn root(&self) -> Hash {
        let mut it = self.stack.iter().rev();
        let Some(&(_, mut r)) = it.next() else {
            return empty_root();
        };
        for (_, l) in it {
            r = node_hash(l, &r);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Perfect subtrees computed from the leaves, as the database would hold them.
    struct Mem(Vec<Hash>);
    impl Nodes for Mem {
        type Error = ();
        fn node(&mut self, level: u32, idx: u64) -> Result<Hash, ()> {
            let w = 1u64 << level;
            Ok(naive(&self.0[(idx * w) as usize..((idx + 1) * w) as usize]))
        }
    }

    /// MTH straight from the RFC's definition.
    fn naive(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&naive(&leaves[..k]), &naive(&leaves[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn frontier_matches_definition() {
        let ls = leaves(70);
        let mut f = Frontier::default();
        let mut m = Mem(ls.clone());
        for (i, l) in ls.iter().enumerate() {
            for (level, idx, h) in f.push(*l) {
                assert_eq!(h, m.node(level, idx).unwrap());
            }
            assert_eq!(f.root(), naive(&ls[..=i]), "size {}", i + 1);
            let loaded = Frontier::load(&mut m, i as u64 + 1).unwrap();
            assert_eq!(loaded.root(), f.root());
        }
    }

    /// Random sizes up to a few thousand leaves, random leaves and pairs of sizes.
    #[test]
    fn property_random_sizes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9162);
        let ls = leaves(3000);
        let mut m = Mem(ls.clone());
        let mut f = Frontier::default();
        let mut roots = vec![empty_root()];
        for l in &ls {
            f.push(*l);
            roots.push(f.root());
        }
        for _ in 0..300 {
            let size = rng.gen_range(1..=3000u64);
            let r = roots[size as usize];
            assert_eq!(root(&mut m, size).unwrap(), r);
            let i = rng.gen_range(0..size);
            let p = inclusion_proof(&mut m, i, size).unwrap();
            assert!(verify_inclusion(&ls[i as usize], i, size, &p, &r));
            assert!(
                !verify_inclusion(&ls[i as usize], (i + 1) % size, size, &p, &r)
                    || size == 1
                    || p.is_empty()
            );
            let old = rng.gen_range(1..=size);
            let cp = consistency_proof(&mut m, old, size).unwrap();
            assert!(verify_consistency(old, size, &cp, &roots[old as usize], &r));
            if old < size {
                assert!(
                    !verify_consistency(old, size, &cp, &roots[old as usize - 1], &r) || old == 1
                );
            }
        }
    }

    #[test]
    fn proofs_verify_at_many_sizes() {
        let ls = leaves(40);
        let mut m = Mem(ls.clone());
        for size in 1..=40u64 {
            let r = root(&mut m, size).unwrap();
            assert_eq!(r, naive(&ls[..size as usize]));
            for i in 0..size {
                let p = inclusion_proof(&mut m, i, size).unwrap();
                assert!(
                    verify_inclusion(&ls[i as usize], i, size, &p, &r),
                    "{i}/{size}"
                );
                assert!(
                    !verify_inclusion(&ls[(i as usize + 1) % 40], i, size, &p, &r) || size == 1
                );
            }
            for old in 1..=size {
                let p = consistency_proof(&mut m, old, size).unwrap();
                let or = root(&mut m, old).unwrap();
                assert!(verify_consistency(old, size, &p, &or, &r), "{old}->{size}");
                if old < size {
                    let wrong = leaf_hash(b"x");
                    assert!(!verify_consistency(old, size, &p, &wrong, &r));
                }
            }
        }
    }
}
