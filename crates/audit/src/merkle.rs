//! RFC 6962 / RFC 9162 Merkle tree math: hashing, the append frontier, proof planning and verification.
//!
//! Proofs are built in two steps so a store can fetch node hashes asynchronously: a *plan* names, for each
//! proof element, the perfect subtrees whose right fold is that element, and [`assemble`] folds what the store
//! returned. Every range an RFC 9162 proof mentions starts at a multiple of the next power of two at or above
//! its length, so its aligned largest-first decomposition folded from the right is its MTH (tested against [`mth`]).

use std::collections::HashMap;
use std::hash::BuildHasher;

use ring::digest::{Context, SHA256};
use thiserror::Error;

use crate::entry::Hash;

/// Why a tree operation, proof assembly or proof verification failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MerkleError {
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// An old tree larger than the new one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    SizeOutOfRange { old_size: u64, new_size: u64 },
    /// The node source has no hash for a node the plan needs.
    #[error("no stored hash for node {0:?}")]
    MissingNode(NodePosition),
    /// A stored frontier whose hash count does not match its size.
    #[error("a frontier of size {size} has {expected} hashes, got {actual}")]
    FrontierLength { size: u64, expected: usize, actual: usize },
    /// A proof with the wrong number of hashes for its index and sizes.
    #[error("proof has {actual} hashes, expected {expected}")]
    ProofLength { expected: usize, actual: usize },
    /// The proof does not lead to the (new) root.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// A consistency proof does not lead to the old root.
    #[error("consistency proof does not lead to the old root")]
    OldRootMismatch,
    /// The tree already holds `u64::MAX` leaves.
    #[error("tree is full")]
    TreeFull,
}

/// The perfect subtree covering leaves `[index << level, (index + 1) << level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodePosition {
    /// Height above the leaves (0 = a leaf).
    pub level: u8,
    /// Position among the nodes of that level, from the left.
    pub index: u64,
}

impl NodePosition {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

/// Where proof assembly reads perfect-subtree hashes from (a map filled from the store).
pub trait NodeSource {
    /// The hash of the node at `pos`, or [`MerkleError::MissingNode`].
    fn node(&self, pos: NodePosition) -> Result<Hash, MerkleError>;
}

impl<S: BuildHasher> NodeSource for HashMap<NodePosition, Hash, S> {
    fn node(&self, pos: NodePosition) -> Result<Hash, MerkleError> {
        self.get(&pos).copied().ok_or(MerkleError::MissingNode(pos))
    }
}

/// The hash of a leaf: SHA-256(0x00 || data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    sha256(&[&[0x00], data])
}

/// The hash of an inner node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// The root of the empty tree: SHA-256 of no bytes.
pub fn empty_root() -> Hash {
    sha256(&[])
}

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The naive recursive RFC 6962 MTH over leaf hashes; for tests and for re-checking small logs whole.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split(leaves.len() as u64) as usize;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The root of the tree holding `leaves` (leaf hashes, in order), computed through a [`Frontier`].
pub fn root_from_leaves(leaves: impl IntoIterator<Item = Hash>) -> Result<Hash, MerkleError> {
    leaves.into_iter().try_fold(Frontier::new(), |mut f, leaf| f.append(leaf).map(|_| f)).map(|f| f.root())
}

/// The largest power of two strictly below `n` (n >= 2): where RFC 6962 splits a range of `n` leaves.
fn split(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// Right fold with [`node_hash`]: how MTH combines a range's aligned perfect subtrees; none gives the empty root.
fn fold_right(hashes: impl DoubleEndedIterator<Item = Hash>) -> Hash {
    hashes.rev().reduce(|acc, h| node_hash(&h, &acc)).unwrap_or_else(empty_root)
}

/// The largest aligned perfect subtrees covering `[start, end)`, left to right.
fn range_nodes(mut start: u64, end: u64) -> Vec<NodePosition> {
    let mut out = Vec::new();
    while start < end {
        let level = start.trailing_zeros().min((end - start).ilog2());
        out.push(NodePosition::new(level as u8, start >> level));
        start += 1 << level;
    }
    out
}

/// The perfect subtrees making up a tree of `size` leaves, largest (leftmost) first.
pub fn frontier_positions(size: u64) -> Vec<NodePosition> {
    range_nodes(0, size)
}

/// The compact range of a tree prefix: its perfect subtrees, largest first. Enough to append and to give the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodePosition, Hash)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a stored frontier; `hashes` are in the order of [`frontier_positions`]`(size)`.
    pub fn from_nodes(size: u64, hashes: Vec<Hash>) -> Result<Self, MerkleError> {
        let positions = frontier_positions(size);
        if positions.len() != hashes.len() {
            return Err(MerkleError::FrontierLength { size, expected: positions.len(), actual: hashes.len() });
        }
        Ok(Self { size, nodes: positions.into_iter().zip(hashes).collect() })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, largest first (what [`Frontier::from_nodes`] takes back).
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, h)| *h).collect()
    }

    /// The RFC 6962 root: the subtree hashes folded from the right; the empty tree gives [`empty_root`].
    pub fn root(&self) -> Hash {
        fold_right(self.nodes.iter().map(|(_, h)| *h))
    }

    /// Appends a leaf hash; returns every node this completes (the leaf, then each new parent) for storing.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(NodePosition, Hash)>, MerkleError> {
        let next_size = self.size.checked_add(1).ok_or(MerkleError::TreeFull)?;
        let mut pos = NodePosition::new(0, self.size);
        let mut hash = leaf;
        let mut completed = vec![(pos, hash)];
        // The stack's levels are the set bits of `size`; a carry merges equal-level neighbours.
        while let Some(&(left_pos, left)) = self.nodes.last().filter(|(p, _)| p.level == pos.level) {
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            pos = NodePosition::new(pos.level + 1, left_pos.index / 2);
            completed.push((pos, hash));
        }
        self.nodes.push((pos, hash));
        self.size = next_size;
        Ok(completed)
    }
}

/// Plans the inclusion proof of leaf `index` in a tree of `size` (RFC 9162 PATH), leaf-side element first.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<Vec<NodePosition>>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let mut plan = Vec::new();
    path(index, 0, size, &mut plan);
    Ok(plan)
}

/// PATH(m, D[start:end]) with `m` relative to `start`.
fn path(m: u64, start: u64, end: u64, plan: &mut Vec<Vec<NodePosition>>) {
    let n = end - start;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, start, start + k, plan);
        plan.push(range_nodes(start + k, end));
    } else {
        path(m - k, start + k, end, plan);
        plan.push(range_nodes(start, start + k));
    }
}

/// Plans the consistency proof from `old_size` to `new_size` (RFC 9162 PROOF); empty when `old_size` is 0 or equal.
pub fn consistency_proof_nodes(old_size: u64, new_size: u64) -> Result<Vec<Vec<NodePosition>>, MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::SizeOutOfRange { old_size, new_size });
    }
    let mut plan = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(old_size, 0, new_size, true, &mut plan);
    }
    Ok(plan)
}

/// SUBPROOF(m, D[start:end], b) with `m` relative to `start`.
fn subproof(m: u64, start: u64, end: u64, complete: bool, plan: &mut Vec<Vec<NodePosition>>) {
    let n = end - start;
    if m == n {
        if !complete {
            plan.push(range_nodes(start, end));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, start, start + k, complete, plan);
        plan.push(range_nodes(start + k, end));
    } else {
        subproof(m - k, start + k, end, false, plan);
        plan.push(range_nodes(start, start + k));
    }
}

/// Builds a proof from a plan: each element is its nodes' hashes folded from the right.
pub fn assemble(plan: &[Vec<NodePosition>], nodes: &(impl NodeSource + ?Sized)) -> Result<Vec<Hash>, MerkleError> {
    plan.iter()
        .map(|element| {
            let hashes = element.iter().map(|pos| nodes.node(*pos)).collect::<Result<Vec<_>, _>>()?;
            Ok(fold_right(hashes.into_iter()))
        })
        .collect()
}

/// The RFC 9162 verification walk: hashes `path` onto `seed` as the bits of `fnode` and `snode` say. Gives the
/// roots reached for the first tree (left siblings only) and the second; `None` if the path length is wrong.
fn walk(mut fnode: u64, mut snode: u64, seed: Hash, path: &[Hash]) -> Option<(Hash, Hash)> {
    let (mut fr, mut sr) = (seed, seed);
    for c in path {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            // Climb past the levels where this node is a left child with no right sibling yet.
            let climb = if fnode == 0 { 0 } else { fnode.trailing_zeros() };
            (fnode, snode) = (fnode >> climb, snode >> climb);
        } else {
            sr = node_hash(&sr, c);
        }
        (fnode, snode) = (fnode >> 1, snode >> 1);
    }
    (snode == 0).then_some((fr, sr))
}

/// Checks that `leaf` (a leaf hash) sits at `index` in the tree of `size` with `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), MerkleError> {
    let expected = inclusion_proof_nodes(index, size)?.len();
    let (_, r) =
        walk(index, size - 1, *leaf, proof).ok_or(MerkleError::ProofLength { expected, actual: proof.len() })?;
    if r == *root { Ok(()) } else { Err(MerkleError::RootMismatch) }
}

/// Checks that the tree of `new_size` with `new_root` extends the one of `old_size` with `old_root`
/// (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots. RFC 9162 only defines
/// `0 < old_size`; we accept old size 0 with an empty proof, but only with the empty tree's root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    let expected = consistency_proof_nodes(old_size, new_size)?.len();
    let length_error = MerkleError::ProofLength { expected, actual: proof.len() };
    if old_size == 0 && *old_root != empty_root() {
        return Err(MerkleError::OldRootMismatch);
    }
    if expected == 0 && !proof.is_empty() {
        return Err(length_error);
    }
    if old_size == new_size {
        return if old_root == new_root { Ok(()) } else { Err(MerkleError::RootMismatch) };
    }
    if old_size == 0 {
        return Ok(());
    }
    // The walk starts above the old tree's rightmost perfect subtree; when that subtree is the
    // whole old tree the proof leaves it out and its root seeds the walk.
    let skip = (old_size - 1).trailing_ones();
    let (seed, rest) =
        if old_size.is_power_of_two() { (old_root, proof) } else { proof.split_first().ok_or(length_error.clone())? };
    let (fr, sr) = walk((old_size - 1) >> skip, (new_size - 1) >> skip, *seed, rest).ok_or(length_error)?;
    if fr != *old_root {
        return Err(MerkleError::OldRootMismatch);
    }
    if sr == *new_root { Ok(()) } else { Err(MerkleError::RootMismatch) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
    fn h(s: &str) -> Hash {
        hex(s).try_into().unwrap()
    }
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }
    /// Every perfect subtree of the tree over `leaves`, hashed with the naive MTH.
    fn store(leaves: &[Hash]) -> HashMap<NodePosition, Hash> {
        let levels = 0..=leaves.len().max(1).ilog2();
        let per_level = levels.map(|lvl| leaves.chunks_exact(1 << lvl).enumerate().map(move |(i, c)| (lvl, i, c)));
        per_level.flatten().map(|(lvl, i, c)| (NodePosition::new(lvl as u8, i as u64), mth(c))).collect()
    }
    /// The leaves `[start, end)` covered by a run of adjacent perfect subtrees.
    fn span(nodes: &[NodePosition]) -> std::ops::Range<usize> {
        let (first, last) = (nodes[0], nodes[nodes.len() - 1]);
        (first.index << first.level) as usize..((last.index + 1) << last.level) as usize
    }
    /// Proofs that differ from `proof` by one flipped byte (first and last of each hash: hashes are
    /// compared whole), one dropped hash or one extra hash.
    fn tampered(proof: &[Hash], extra: Hash) -> Vec<Vec<Hash>> {
        let mut out: Vec<_> = (0..=proof.len()).map(|e| [&proof[..e], &[extra], &proof[e..]].concat()).collect();
        for e in 0..proof.len() {
            out.push([&proof[..e], &proof[e + 1..]].concat());
            for b in [0, 31] {
                out.push(proof.to_vec());
                out.last_mut().unwrap()[e][b] ^= 0x01;
            }
        }
        out
    }

    #[test]
    fn published_ct_roots_and_proofs_are_reproduced_and_verify() {
        let inputs =
            ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
        let l: Vec<Hash> = inputs.iter().map(|i| leaf_hash(&hex(i))).collect();
        let roots = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // SHA-256 of nothing
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", // SHA-256(0x00)
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let root = |size: u64| h(roots[size as usize]);
        for n in 0..=8 {
            assert_eq!(mth(&l[..n as usize]), root(n), "size {n}");
            assert_eq!(root_from_leaves(l[..n as usize].iter().copied()).unwrap(), root(n), "size {n}");
        }
        // transparency-dev/merkle proof vectors, written as the subtree hashes they list.
        let s = store(&l);
        let n = |level: u8, index: u64| s[&NodePosition::new(level, index)];
        for (index, size, want) in [(0, 8, vec![n(0, 1), n(1, 1), n(2, 1)]), (5, 8, vec![n(0, 4), n(1, 3), n(2, 0)])] {
            assert_eq!(assemble(&inclusion_proof_nodes(index, size).unwrap(), &s).unwrap(), want);
            verify_inclusion(&l[index as usize], index, size, &want, &root(size)).unwrap();
        }
        for (old, new, want) in [(6, 8, vec![n(1, 2), n(1, 3), n(2, 0)]), (2, 5, vec![n(1, 1), n(0, 4)])] {
            assert_eq!(assemble(&consistency_proof_nodes(old, new).unwrap(), &s).unwrap(), want);
            verify_consistency(old, new, &root(old), &root(new), &want).unwrap();
        }
        assert_ne!(node_hash(&l[0], &l[1]), leaf_hash(&[l[0], l[1]].concat()), "leaves and nodes are domain-separated");
    }

    #[test]
    fn frontier_root_is_the_naive_mth_and_append_returns_exactly_the_subtrees_it_completes() {
        let l = leaves(300);
        let mut frontier = Frontier::new();
        for (size, leaf) in (0u64..).zip(&l) {
            assert_eq!(frontier.root(), mth(&l[..size as usize]), "size {size}");
            assert_eq!(Frontier::from_nodes(size, frontier.hashes()).unwrap(), frontier);
            let completed: Vec<_> = (0..=(size + 1).trailing_zeros())
                .map(|lvl| NodePosition::new(lvl as u8, ((size + 1) >> lvl) - 1))
                .map(|pos| (pos, mth(&l[span(&[pos])])))
                .collect();
            assert_eq!(frontier.append(*leaf).unwrap(), completed, "append at size {size}");
        }
        let p = NodePosition::new;
        assert_eq!(frontier_positions(13), vec![p(3, 0), p(2, 2), p(0, 12)]);
        let err = Frontier::from_nodes(13, vec![[0; 32]; 2]).unwrap_err();
        assert_eq!(err, MerkleError::FrontierLength { size: 13, expected: 3, actual: 2 });
        let mut full = Frontier::from_nodes(u64::MAX, vec![[0; 32]; 64]).unwrap();
        assert_eq!(full.append([0; 32]), Err(MerkleError::TreeFull));
    }

    #[test]
    fn every_proof_element_folds_to_the_mth_of_its_aligned_range_for_random_sizes_up_to_300() {
        let l = leaves(300);
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut below = |n: u64| {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (rng >> 33) % n
        };
        for _ in 0..500 {
            let n = 1 + below(300);
            let (i, m, s) = (below(n), below(n + 1), store(&l[..n as usize]));
            let (incl, cons) = (inclusion_proof_nodes(i, n).unwrap(), consistency_proof_nodes(m, n).unwrap());
            for element in incl.iter().chain(&cons) {
                let range = span(element);
                // An RFC 9162 proof range starts at a multiple of the power of two at or above its length.
                assert_eq!(range.start % range.len().next_power_of_two(), 0);
                assert_eq!(fold_right(element.iter().map(|p| s[p])), mth(&l[range]));
            }
            let root = mth(&l[..n as usize]);
            verify_inclusion(&l[i as usize], i, n, &assemble(&incl, &s).unwrap(), &root).unwrap();
            verify_consistency(m, n, &mth(&l[..m as usize]), &root, &assemble(&cons, &s).unwrap()).unwrap();
        }
    }

    #[test]
    fn every_proof_up_to_64_verifies_and_every_tampering_or_wrong_position_fails() {
        let l = leaves(64);
        let roots: Vec<_> = (0..=64).map(|n| mth(&l[..n])).collect();
        let r = |size: u64| &roots[size as usize];
        for n in 1..=64u64 {
            let s = store(&l[..n as usize]);
            for i in 0..n {
                let leaf = &l[i as usize];
                let proof = assemble(&inclusion_proof_nodes(i, n).unwrap(), &s).unwrap();
                verify_inclusion(leaf, i, n, &proof, r(n)).unwrap();
                assert!(tampered(&proof, *leaf).iter().all(|bad| verify_inclusion(leaf, i, n, bad, r(n)).is_err()));
                assert!((0..n).filter(|&j| j != i).all(|j| verify_inclusion(leaf, j, n, &proof, r(n)).is_err()));
                assert!((i + 1..=64).filter(|&m| m != n).all(|m| verify_inclusion(leaf, i, m, &proof, r(m)).is_err()));
                assert!(verify_inclusion(&l[(i as usize + 1) % 64], i, n, &proof, r(n)).is_err());
            }
            for m in 0..=n {
                let proof = assemble(&consistency_proof_nodes(m, n).unwrap(), &s).unwrap();
                verify_consistency(m, n, r(m), r(n), &proof).unwrap();
                if m == 0 || m == n {
                    continue; // an empty proof also fits other degenerate sizes; see the next test
                }
                assert!(tampered(&proof, *r(m)).iter().all(|bad| verify_consistency(m, n, r(m), r(n), bad).is_err()));
                assert!((0..=n).filter(|&o| o != m).all(|o| verify_consistency(o, n, r(o), r(n), &proof).is_err()));
                assert!((m..=64).filter(|&w| w != n).all(|w| verify_consistency(m, w, r(m), r(w), &proof).is_err()));
                assert!(verify_consistency(m, n, r(n), r(m), &proof).is_err());
            }
        }
    }

    #[test]
    fn degenerate_sizes_and_missing_nodes_follow_the_documented_rules() {
        let (l, e) = (leaves(3), empty_root());
        let length = |r| matches!(r, Err(MerkleError::ProofLength { .. }));
        assert_eq!(inclusion_proof_nodes(0, 0), Err(MerkleError::IndexOutOfRange { index: 0, size: 0 }));
        assert_eq!(verify_inclusion(&l[0], 3, 3, &[], &e), Err(MerkleError::IndexOutOfRange { index: 3, size: 3 }));
        verify_inclusion(&l[0], 0, 1, &[], &l[0]).unwrap();
        assert_eq!(consistency_proof_nodes(3, 2), Err(MerkleError::SizeOutOfRange { old_size: 3, new_size: 2 }));
        verify_consistency(0, 3, &e, &mth(&l), &[]).unwrap();
        verify_consistency(0, 0, &e, &e, &[]).unwrap();
        assert_eq!(verify_consistency(0, 3, &l[0], &mth(&l), &[]), Err(MerkleError::OldRootMismatch));
        assert!(length(verify_consistency(0, 3, &e, &mth(&l), &[e])));
        verify_consistency(3, 3, &mth(&l), &mth(&l), &[]).unwrap();
        assert_eq!(verify_consistency(3, 3, &mth(&l), &l[0], &[]), Err(MerkleError::RootMismatch));
        assert!(length(verify_consistency(1, 1, &l[0], &l[0], &[e])));
        assert!(length(verify_consistency(1, 2, &l[0], &mth(&l[..2]), &[])));
        let plan = inclusion_proof_nodes(0, 3).unwrap();
        assert_eq!(assemble(&plan, &HashMap::new()), Err(MerkleError::MissingNode(NodePosition::new(0, 1))));
    }
}
