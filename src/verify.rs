//! Stage 6: verification of candidate pairs.
//!
//! LSH proposes pairs by chance agreement of signature bands; verification decides. Every
//! candidate is scored on the shingle sets themselves, so a band collision never becomes a merge:
//!
//! - `jaccard` = |A ∩ B| / |A ∪ B|;
//! - `containment_a` = |A ∩ B| / |A| (how much of A is in B), `containment_b` likewise;
//! - `similarity` = |A ∩ B| / max(|A|, |B|): the share of the *longer* document that the two
//!   have in common.
//!
//! A pair is a copy when `similarity >= threshold` (most of both texts is shared: outlet copies,
//! reposts, reposts truncated to a good part of the story), **or** when the shorter one is almost
//! wholly inside the longer (`max containment >= containment` and the shorter has at least
//! `min_containment_shingles` shingles): an excerpt, or a story wrapped in text that boilerplate
//! learning did not remove. The second rule is what finds truncated copies that Jaccard misses;
//! the size floor keeps a five-word snippet from being "contained" in every article.
//!
//! What this rejects by construction: a follow-up story that quotes one background paragraph of
//! an earlier story shares that paragraph only, so the shared part is a small share of the longer
//! text (low `similarity`) and only part of the shorter one (containment well below 1).
//!
//! Before the exact merge, the signature estimate rejects pairs that cannot pass: with `P`
//! permutations the Jaccard estimate has standard error `sqrt(J(1-J)/P)`; an upper bound five
//! standard errors (plus 2/P) above the estimate is turned into the largest intersection it
//! allows, and the pair is dropped only if even that fails both rules.
//!
//! Cost: O(|A| + |B|) per exact check (sorted-set merge), O(P) per estimate; pairs are checked
//! in parallel and come back in input order.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::minhash::{estimate_jaccard, Signatures};
use crate::shingle::{intersection_size, Shingle};

/// When a pair counts as a copy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerifyConfig {
    /// Minimum shared share of the longer document.
    pub threshold: f64,
    /// Minimum share of the shorter document found in the longer one.
    pub containment: f64,
    /// The shorter document needs this many shingles for the containment rule to apply.
    pub min_containment_shingles: usize,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            threshold: 0.4,
            containment: 0.8,
            min_containment_shingles: 10,
        }
    }
}

/// Exact scores of one pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairScore {
    pub a: u32,
    pub b: u32,
    pub intersection: u32,
    pub size_a: u32,
    pub size_b: u32,
}

impl PairScore {
    /// Scores two sorted shingle sets.
    pub fn exact(a: u32, b: u32, set_a: &[Shingle], set_b: &[Shingle]) -> Self {
        PairScore {
            a,
            b,
            intersection: intersection_size(set_a, set_b) as u32,
            size_a: set_a.len() as u32,
            size_b: set_b.len() as u32,
        }
    }

    fn ratio(num: u32, den: u32) -> f64 {
        if den == 0 {
            0.0
        } else {
            num as f64 / den as f64
        }
    }

    /// |A ∩ B| / |A ∪ B|.
    pub fn jaccard(&self) -> f64 {
        Self::ratio(
            self.intersection,
            self.size_a + self.size_b - self.intersection,
        )
    }

    /// |A ∩ B| / |A|.
    pub fn containment_a(&self) -> f64 {
        Self::ratio(self.intersection, self.size_a)
    }

    /// |A ∩ B| / |B|.
    pub fn containment_b(&self) -> f64 {
        Self::ratio(self.intersection, self.size_b)
    }

    /// |A ∩ B| / max(|A|, |B|).
    pub fn similarity(&self) -> f64 {
        Self::ratio(self.intersection, self.size_a.max(self.size_b))
    }

    /// |A ∩ B| / min(|A|, |B|).
    pub fn max_containment(&self) -> f64 {
        Self::ratio(self.intersection, self.size_a.min(self.size_b))
    }

    /// Whether these scores make the pair a copy under `cfg`.
    pub fn passes(&self, cfg: &VerifyConfig) -> bool {
        passes(self.intersection as f64, self.size_a, self.size_b, cfg)
    }
}

/// The copy rule on a real-valued intersection size (exact counts, or the pre-filter's upper
/// bound).
pub fn passes(inter: f64, size_a: u32, size_b: u32, cfg: &VerifyConfig) -> bool {
    let (small, large) = (size_a.min(size_b) as f64, size_a.max(size_b) as f64);
    if small == 0.0 {
        return false;
    }
    inter / large >= cfg.threshold
        || (small >= cfg.min_containment_shingles as f64 && inter / small >= cfg.containment)
}

/// Upper bound of the intersection the signature estimate allows (see module docs).
pub fn estimated_intersection_upper(sig_a: &[u32], sig_b: &[u32], size_a: u32, size_b: u32) -> f64 {
    let p = sig_a.len().max(1) as f64;
    let j = estimate_jaccard(sig_a, sig_b);
    let hi = (j + 5.0 * (j * (1.0 - j) / p).sqrt() + 2.0 / p).min(1.0);
    // |A ∩ B| = J (|A| + |B|) / (1 + J), increasing in J.
    let i = hi * (size_a as f64 + size_b as f64) / (1.0 + hi);
    i.min(size_a.min(size_b) as f64)
}

/// Decides one candidate pair: documents `a` and `b` with their story sets and signatures
/// (`None` for an empty set). Returns the exact scores when the pair is a copy, and whether the
/// signature pre-filter settled it without the exact intersection.
pub fn verify_pair(
    a: u32,
    b: u32,
    (sa, ga): (&[Shingle], Option<&[u32]>),
    (sb, gb): (&[Shingle], Option<&[u32]>),
    cfg: &VerifyConfig,
) -> (Option<PairScore>, bool) {
    let (na, nb) = (sa.len() as u32, sb.len() as u32);
    if let (Some(ga), Some(gb)) = (ga, gb) {
        let upper = estimated_intersection_upper(ga, gb, na, nb);
        if !passes(upper, na, nb, cfg) {
            return (None, true);
        }
    }
    let s = PairScore::exact(a, b, sa, sb);
    (s.passes(cfg).then_some(s), false)
}

/// Counts of how candidates were decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VerifyStats {
    pub candidates: usize,
    pub rejected_by_estimate: usize,
    pub checked_exactly: usize,
    pub accepted: usize,
}

/// Verifies candidates; returns the accepted pairs (in candidate order) and the counts.
pub fn verify(
    candidates: &[(u32, u32)],
    sets: &[Vec<Shingle>],
    sigs: &Signatures,
    cfg: &VerifyConfig,
) -> (Vec<PairScore>, VerifyStats) {
    let decided: Vec<(Option<PairScore>, bool)> = candidates
        .par_iter()
        .map(|&(a, b)| {
            verify_pair(
                a,
                b,
                (&sets[a as usize], sigs.get(a as usize)),
                (&sets[b as usize], sigs.get(b as usize)),
                cfg,
            )
        })
        .collect();
    let mut stats = VerifyStats {
        candidates: candidates.len(),
        ..VerifyStats::default()
    };
    let mut out = Vec::new();
    for (s, by_estimate) in decided {
        if by_estimate {
            stats.rejected_by_estimate += 1;
        } else {
            stats.checked_exactly += 1;
        }
        if let Some(s) = s {
            out.push(s);
        }
    }
    stats.accepted = out.len();
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minhash::MinHashConfig;

    fn range(r: std::ops::Range<u32>) -> Vec<u32> {
        r.collect()
    }

    #[test]
    fn scores_are_the_set_ratios() {
        let s = PairScore::exact(0, 1, &range(0..100), &range(50..250));
        assert_eq!(s.intersection, 50);
        assert!((s.jaccard() - 50.0 / 250.0).abs() < 1e-12);
        assert!((s.containment_a() - 0.5).abs() < 1e-12);
        assert!((s.containment_b() - 0.25).abs() < 1e-12);
        assert!((s.similarity() - 0.25).abs() < 1e-12);
        assert!((s.max_containment() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn truncated_copy_passes_follow_up_does_not() {
        let cfg = VerifyConfig::default();
        let story = range(0..300);
        // A copy cut to its first 25%: little Jaccard, fully contained.
        let excerpt = range(0..75);
        assert!(PairScore::exact(0, 1, &story, &excerpt).passes(&cfg));
        // A follow-up: a new story of 300 shingles quoting 60 of the old one.
        let mut follow = range(1000..1240);
        follow.extend(0..60);
        follow.sort_unstable();
        assert!(!PairScore::exact(0, 1, &story, &follow).passes(&cfg));
        // A tiny snippet is not "contained" evidence.
        assert!(!PairScore::exact(0, 1, &story, &range(0..5)).passes(&cfg));
        assert!(!PairScore::exact(0, 1, &[], &[]).passes(&cfg));
    }

    #[test]
    fn estimate_prefilter_never_rejects_a_passing_pair() {
        let cfg = VerifyConfig::default();
        let mix = |v: Vec<u32>| {
            let mut v: Vec<u32> = v
                .into_iter()
                .map(|x| x.wrapping_mul(0x7F4A_7C15) ^ 0xABCD)
                .collect();
            v.sort_unstable();
            v
        };
        let mut sets = Vec::new();
        for cut in [20u32, 40, 60, 80, 100, 150, 200, 300] {
            sets.push(mix(range(0..300)));
            sets.push(mix(range(300 - cut..600 - cut)));
            sets.push(mix(range(0..cut)));
        }
        let sigs = Signatures::compute(&sets, &MinHashConfig::default());
        let n = sets.len() as u32;
        let cands: Vec<(u32, u32)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .collect();
        let (got, stats) = verify(&cands, &sets, &sigs, &cfg);
        let truth: Vec<PairScore> = cands
            .iter()
            .map(|&(a, b)| PairScore::exact(a, b, &sets[a as usize], &sets[b as usize]))
            .filter(|s| s.passes(&cfg))
            .collect();
        assert_eq!(got, truth);
        assert_eq!(stats.accepted, truth.len());
        assert!(stats.rejected_by_estimate > 0);
    }
}
