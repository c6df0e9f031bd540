//! Stage 7: clustering verified pairs into stories, and choosing each story's representative.
//!
//! Plain connected components chain: if a digest page contains two different stories, or one
//! wrong pair slips through, components glue whole stories together, and one widely quoted
//! paragraph can grow a cluster of hundreds. Here components are grown by a **guarded
//! union-find**:
//!
//! 1. Verified pairs are taken strongest first (similarity, then containment, then indices, so
//!    the order is total and the result deterministic).
//! 2. Each cluster keeps a *core*: its `core_size` documents with the most shingles (ties to the
//!    lower index), the ones most likely to hold the whole story.
//! 3. Two clusters merge only if more than half of the pairs between their cores are *linked*
//!    (a relaxed copy test supplied by the caller). A singleton joining a singleton is the
//!    verified pair itself; a document joining a story must resemble the story's core, not just
//!    one member of it.
//!
//! The representative of a cluster is its original: the earliest `published` time when members
//! carry one, else the longest clean text (most shingles), then the lowest input position.
//!
//! Invariants (tested): every document is in exactly one cluster; the partition depends on the
//! set of pairs, not on their order or the thread count; without the guard it equals connected
//! components.
//!
//! Cost: O(pairs log pairs) for the sort, plus at most `core_size²` link tests per merge attempt;
//! components are clustered in parallel (see [`cluster`]).

use crate::verify::PairScore;

/// Clustering parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterConfig {
    /// Check cores before merging clusters (see module docs); off = connected components.
    pub guard: bool,
    /// Core size per cluster.
    pub core_size: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            guard: true,
            core_size: 4,
        }
    }
}

/// Plain union-find; the lower root stays root, so a set's root is its lowest member.
pub(crate) struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    pub(crate) fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    /// Joins the sets of `a` and `b`; the lower root stays root.
    pub(crate) fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[gone as usize] = keep;
        }
    }

    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
}

/// Orders pairs strongest first, with a total order for determinism (so an unstable sort,
/// in parallel, gives the one order there is: a stable sort on one thread was most of the
/// clustering stage's serial time).
pub fn sort_pairs(pairs: &mut [PairScore]) {
    use rayon::prelude::*;
    pairs.par_sort_unstable_by(|x, y| {
        // Compare the ratios exactly (cross-multiplied integers), not as floats.
        let sim = |p: &PairScore| (p.intersection as u64, p.size_a.max(p.size_b) as u64);
        let con = |p: &PairScore| (p.intersection as u64, p.size_a.min(p.size_b).max(1) as u64);
        let cmp_ratio =
            |(n1, d1): (u64, u64), (n2, d2): (u64, u64)| (n2 * d1.max(1)).cmp(&(n1 * d2.max(1)));
        cmp_ratio(sim(x), sim(y))
            .then(cmp_ratio(con(x), con(y)))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
}

/// Clusters `n` documents from verified `pairs`. `sizes[i]` is document i's shingle count;
/// `linked(x, y)` is the relaxed copy test used by the guard. Returns for each document the
/// lowest document index of its cluster.
///
/// Parallel and deterministic: a guarded merge only ever joins two clusters along a pair, so
/// it never crosses a connected component of the pair graph. The components are found first
/// (plain union-find), then each component replays its own pairs, strongest first, on its own
/// thread. That is exactly the serial process restricted to each component, so the result
/// does not depend on the thread count (tested against the serial replay).
pub fn cluster(
    n: usize,
    pairs: &[PairScore],
    sizes: &[u32],
    cfg: &ClusterConfig,
    linked: impl Fn(u32, u32) -> bool + Sync,
) -> Vec<u32> {
    use rayon::prelude::*;
    let mut order: Vec<PairScore> = pairs.to_vec();
    sort_pairs(&mut order);
    let mut uf = UnionFind::new(n);
    for p in &order {
        uf.union(p.a, p.b);
    }
    let comp: Vec<u32> = (0..n as u32).map(|i| uf.find(i)).collect();
    if !cfg.guard {
        return comp;
    }
    // Pairs and members grouped by component; pairs keep their strength order inside one.
    let mut pair_slots: Vec<(u32, u32)> = order
        .iter()
        .enumerate()
        .map(|(k, p)| (comp[p.a as usize], k as u32))
        .collect();
    pair_slots.par_sort_unstable();
    let mut in_pair = vec![false; n];
    for p in &order {
        in_pair[p.a as usize] = true;
        in_pair[p.b as usize] = true;
    }
    // Ascending document order within a component, components in ascending order.
    let mut member_slots: Vec<(u32, u32)> = (0..n as u32)
        .filter(|&i| in_pair[i as usize])
        .map(|i| (comp[i as usize], i))
        .collect();
    member_slots.par_sort_unstable();
    // Each component's members and pairs are runs of two flat vectors (a vector per
    // component cost a serial allocation each).
    let members: Vec<u32> = member_slots.par_iter().map(|&(_, d)| d).collect();
    let cpairs: Vec<PairScore> = pair_slots
        .par_iter()
        .map(|&(_, k)| order[k as usize])
        .collect();
    let mut tasks: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    let (mut pi, mut mi) = (0usize, 0usize);
    while mi < member_slots.len() {
        let c = member_slots[mi].0;
        let m_end = mi + member_slots[mi..].partition_point(|&(x, _)| x == c);
        let p_end = pi + pair_slots[pi..].partition_point(|&(x, _)| x == c);
        tasks.push((mi..m_end, pi..p_end));
        mi = m_end;
        pi = p_end;
    }
    let roots: Vec<Vec<u32>> = tasks
        .par_iter()
        .map(|(m, p)| {
            guarded_component(&members[m.clone()], &cpairs[p.clone()], sizes, cfg, &linked)
        })
        .collect();
    let mut labels: Vec<u32> = (0..n as u32).collect();
    for ((m, _), r) in tasks.iter().zip(&roots) {
        for (&d, &root) in members[m.clone()].iter().zip(r) {
            labels[d as usize] = root;
        }
    }
    labels
}

/// The guarded union-find on one component: `members` ascending, `pairs` (between members)
/// strongest first. Returns each member's cluster label (its lowest member).
fn guarded_component(
    members: &[u32],
    pairs: &[PairScore],
    sizes: &[u32],
    cfg: &ClusterConfig,
    linked: &impl Fn(u32, u32) -> bool,
) -> Vec<u32> {
    let m = members.len();
    // Local indices follow document order, so "lower local root" = "lower document index".
    let local = |d: u32| members.binary_search(&d).unwrap_or(0) as u32;
    let mut uf = UnionFind::new(m);
    // Cores live in one flat array, `cs` slots per root; a document's core starts as itself.
    let cs = cfg.core_size.max(1);
    let mut core_buf: Vec<u32> = members
        .iter()
        .flat_map(|&d| std::iter::once(d).chain(std::iter::repeat_n(0, cs - 1)))
        .collect();
    let mut core_len: Vec<u32> = vec![1; m];
    let mut merged: Vec<u32> = Vec::with_capacity(2 * cs);
    let rank = |i: u32| {
        (
            std::cmp::Reverse(sizes.get(i as usize).copied().unwrap_or(0)),
            i,
        )
    };
    for p in pairs {
        let (ra, rb) = (uf.find(local(p.a)), uf.find(local(p.b)));
        if ra == rb {
            continue;
        }
        let core = |r: u32| {
            let at = r as usize * cs;
            &core_buf[at..at + core_len[r as usize] as usize]
        };
        let (ca, cb) = (core(ra), core(rb));
        if !(ca.len() == 1 && cb.len() == 1) {
            let mut yes = 0usize;
            let mut total = 0usize;
            for &x in ca {
                for &y in cb {
                    total += 1;
                    if linked(x, y) {
                        yes += 1;
                    }
                }
            }
            if 2 * yes <= total {
                continue;
            }
        }
        // Union: the lower root wins, so labels do not depend on pair order.
        let (keep, gone) = if ra < rb { (ra, rb) } else { (rb, ra) };
        uf.parent[gone as usize] = keep;
        merged.clear();
        merged.extend_from_slice(ca);
        merged.extend_from_slice(cb);
        merged.sort_by_key(|&i| rank(i));
        merged.truncate(cs);
        let at = keep as usize * cs;
        core_buf[at..at + merged.len()].copy_from_slice(&merged);
        core_len[keep as usize] = merged.len() as u32;
    }
    // Each root is the lowest member of its cluster: unions keep the lower root, by induction.
    (0..m as u32)
        .map(|i| members[uf.find(i) as usize])
        .collect()
}

/// What the representative choice looks at for one document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RepKey {
    /// Publication time in seconds since the Unix epoch, if known.
    pub published: Option<i64>,
    /// Length of the clean text (shingles after boilerplate removal).
    pub length: u32,
}

/// The representative (original) among `members`: earliest publication time (documents with a
/// time before those without), then the longest clean text, then the lowest index.
pub fn representative(members: &[u32], keys: &[RepKey]) -> Option<u32> {
    members.iter().copied().min_by_key(|&i| {
        let k = keys[i as usize];
        (
            k.published.is_none(),
            k.published.unwrap_or(i64::MAX),
            std::cmp::Reverse(k.length),
            i,
        )
    })
}

/// Each document's group number, as [`groups`] numbers them, and the groups of two or more
/// members as runs of one flat vector: [`groups`] without a vector per group (most groups are
/// single documents).
pub(crate) struct Numbered {
    /// Group number of each document.
    pub ids: Vec<u32>,
    /// Members of the groups of two or more, group after group, each in ascending order.
    pub members: Vec<u32>,
    /// `(group number, its run of members)`, in group order.
    pub runs: Vec<(u32, std::ops::Range<usize>)>,
}

/// Each document's group number (groups numbered in order of their first member) and each
/// group's size: the numbering [`groups`] and [`numbered`] share.
fn group_ids(labels: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut slot = vec![u32::MAX; labels.len()];
    let mut ids = Vec::with_capacity(labels.len());
    let mut size: Vec<u32> = Vec::new();
    for &l in labels {
        let s = &mut slot[l as usize];
        if *s == u32::MAX {
            *s = size.len() as u32;
            size.push(0);
        }
        size[*s as usize] += 1;
        ids.push(*s);
    }
    (ids, size)
}

/// See [`Numbered`]; `labels` as for [`groups`].
pub(crate) fn numbered(labels: &[u32]) -> Numbered {
    let (ids, size) = group_ids(labels);
    // Where each group of two or more starts in `members` (u32::MAX: a single document).
    let mut next = vec![u32::MAX; size.len()];
    let mut runs = Vec::new();
    let mut at = 0usize;
    for (g, &c) in size.iter().enumerate() {
        if c >= 2 {
            next[g] = at as u32;
            runs.push((g as u32, at..at + c as usize));
            at += c as usize;
        }
    }
    let mut members = vec![0u32; at];
    for (i, &g) in ids.iter().enumerate() {
        let n = &mut next[g as usize];
        if *n != u32::MAX {
            members[*n as usize] = i as u32;
            *n += 1;
        }
    }
    Numbered { ids, members, runs }
}

/// Groups documents by cluster label: clusters in order of their lowest member, members in
/// input order.
pub fn groups(labels: &[u32]) -> Vec<Vec<u32>> {
    let (ids, size) = group_ids(labels);
    let mut out: Vec<Vec<u32>> = size
        .iter()
        .map(|&c| Vec::with_capacity(c as usize))
        .collect();
    for (i, &g) in ids.iter().enumerate() {
        out[g as usize].push(i as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pair(a: u32, b: u32, inter: u32, sa: u32, sb: u32) -> PairScore {
        PairScore {
            a,
            b,
            intersection: inter,
            size_a: sa,
            size_b: sb,
        }
    }

    #[test]
    fn unguarded_is_connected_components() {
        let cfg = ClusterConfig {
            guard: false,
            core_size: 4,
        };
        let pairs = [
            pair(0, 1, 10, 10, 10),
            pair(1, 2, 5, 10, 10),
            pair(3, 4, 9, 10, 10),
        ];
        let labels = cluster(6, &pairs, &[10; 6], &cfg, |_, _| false);
        assert_eq!(labels, vec![0, 0, 0, 3, 3, 5]);
        assert_eq!(groups(&labels), vec![vec![0, 1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn guard_stops_a_digest_from_chaining_two_stories() {
        // Doc 0 is a digest containing story 1 and story 2; 1 and 2 are unrelated.
        let pairs = [pair(0, 1, 50, 100, 50), pair(0, 2, 50, 100, 50)];
        let linked = |x: u32, y: u32| (x == 0) || (y == 0);
        let labels = cluster(3, &pairs, &[100, 50, 50], &ClusterConfig::default(), linked);
        assert_ne!(labels[1], labels[2]);
        assert_eq!(labels[0], labels[1]);
    }

    #[test]
    fn guard_keeps_real_stories_together() {
        // Four copies of one story, all mutually linked.
        let pairs = [
            pair(0, 1, 9, 10, 10),
            pair(2, 3, 9, 10, 10),
            pair(1, 2, 8, 10, 10),
        ];
        let labels = cluster(4, &pairs, &[10; 4], &ClusterConfig::default(), |_, _| true);
        assert_eq!(labels, vec![0; 4]);
    }

    #[test]
    fn representative_prefers_earliest_then_longest() {
        let keys = [
            RepKey {
                published: None,
                length: 500,
            },
            RepKey {
                published: Some(200),
                length: 10,
            },
            RepKey {
                published: Some(100),
                length: 10,
            },
            RepKey {
                published: Some(100),
                length: 20,
            },
        ];
        assert_eq!(representative(&[0, 1, 2, 3], &keys), Some(3));
        assert_eq!(representative(&[0, 1], &keys), Some(1));
        let undated = [
            RepKey {
                published: None,
                length: 5,
            },
            RepKey {
                published: None,
                length: 5,
            },
        ];
        assert_eq!(representative(&[1, 0], &undated), Some(0));
        assert_eq!(representative(&[], &undated), None);
    }

    /// The serial process over the whole graph: every pair, strongest first, one union-find.
    fn serial(
        n: usize,
        pairs: &[PairScore],
        sizes: &[u32],
        cfg: &ClusterConfig,
        linked: impl Fn(u32, u32) -> bool,
    ) -> Vec<u32> {
        let mut order = pairs.to_vec();
        sort_pairs(&mut order);
        let all: Vec<u32> = (0..n as u32).collect();
        if cfg.guard {
            guarded_component(&all, &order, sizes, cfg, &linked)
        } else {
            let mut uf = UnionFind::new(n);
            for p in &order {
                uf.union(p.a, p.b);
            }
            (0..n as u32).map(|i| uf.find(i)).collect()
        }
    }

    proptest! {
        #[test]
        fn numbered_groups_are_the_groups(
            raw in proptest::collection::vec((0u32..60, 0u32..60), 0..70),
        ) {
            // Labels as clustering gives them: each document's lowest fellow member.
            let mut uf = UnionFind::new(60);
            for &(a, b) in &raw {
                uf.union(a, b);
            }
            let labels: Vec<u32> = (0..60).map(|i| uf.find(i)).collect();
            let g = groups(&labels);
            let nb = numbered(&labels);
            for (gid, members) in g.iter().enumerate() {
                for &m in members {
                    prop_assert_eq!(nb.ids[m as usize], gid as u32);
                }
            }
            let multi: Vec<(u32, Vec<u32>)> = g.iter().enumerate()
                .filter(|(_, m)| m.len() >= 2)
                .map(|(gid, m)| (gid as u32, m.clone()))
                .collect();
            let runs: Vec<(u32, Vec<u32>)> = nb.runs.iter()
                .map(|(gid, r)| (*gid, nb.members[r.clone()].to_vec()))
                .collect();
            prop_assert_eq!(runs, multi);
        }

        #[test]
        fn per_component_equals_serial(
            raw in proptest::collection::vec((0u32..40, 0u32..40, 1u32..10), 0..80),
            guard in any::<bool>(),
            core_size in 1usize..5,
        ) {
            let pairs: Vec<PairScore> = raw.iter().filter(|(a, b, _)| a != b)
                .map(|&(a, b, i)| pair(a.min(b), a.max(b), i, 10, 10)).collect();
            let cfg = ClusterConfig { guard, core_size };
            let linked = |x: u32, y: u32| !(x * 7 + y * 3).is_multiple_of(5);
            let sizes: Vec<u32> = (0..40).map(|i| 5 + i % 6).collect();
            prop_assert_eq!(cluster(40, &pairs, &sizes, &cfg, linked), serial(40, &pairs, &sizes, &cfg, linked));
        }

        #[test]
        fn partition_is_independent_of_pair_order(
            raw in proptest::collection::vec((0u32..12, 0u32..12, 1u32..10), 0..30),
            guard in any::<bool>(),
        ) {
            let pairs: Vec<PairScore> = raw.iter().filter(|(a, b, _)| a != b)
                .map(|&(a, b, i)| pair(a.min(b), a.max(b), i, 10, 10)).collect();
            let cfg = ClusterConfig { guard, core_size: 3 };
            let linked = |x: u32, y: u32| !(x + y).is_multiple_of(3);
            let sizes: Vec<u32> = (0..12).map(|i| 5 + i % 4).collect();
            let fwd = cluster(12, &pairs, &sizes, &cfg, linked);
            let mut rev = pairs.clone();
            rev.reverse();
            let back = cluster(12, &rev, &sizes, &cfg, linked);
            prop_assert_eq!(&fwd, &back);
            // Every label is the lowest index of its cluster.
            for (i, &l) in fwd.iter().enumerate() {
                prop_assert!(l as usize <= i);
                prop_assert_eq!(fwd[l as usize], l);
            }
        }
    }
}
