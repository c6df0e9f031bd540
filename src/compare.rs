//! Side-by-side comparison of two documents, for `wiredup compare`: how similar they are, under
//! which rule they are (or are not) copies, and which paragraphs each has that the other lacks,
//! which for a repost is exactly what the scraper added (header, byline, bio, captions).
//!
//! A paragraph is "only in A" when fewer than half of its shingles occur anywhere in B.
//! The scores are on the story text (boilerplate removed, learned from the corpus the two
//! documents come from, when there is one); the paragraph lists are on the whole texts.
//!
//! The scores are those verification computes, so for a tiny story text (at most two
//! shingles) they count its identity values too (see [`crate::pipeline`]): "the cat sat" is 5
//! values, and 0.2 of it is inside "the cat sat down", which is not a copy of it.
//!
//! Cost: O(|A| + |B|) shingles.

use serde::Serialize;

use crate::normalize::{normalize, Normalized};
use crate::pipeline::{Config, Prepared};
use crate::shingle::{self, Scratch, Shingle};
use crate::verify::PairScore;

/// The comparison of two prepared documents.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Scores on the story text (boilerplate removed), `a` = first document.
    pub jaccard: f64,
    pub similarity: f64,
    pub containment_a_in_b: f64,
    pub containment_b_in_a: f64,
    pub shingles_a: usize,
    pub shingles_b: usize,
    /// Whether the pair is a copy under the configuration, and by which rule.
    pub verdict: &'static str,
    /// Normalized paragraphs of A mostly absent from B, in order.
    pub only_in_a: Vec<String>,
    /// Normalized paragraphs of B mostly absent from A, in order.
    pub only_in_b: Vec<String>,
}

fn all_shingles(d: &Normalized, cfg: &Config, scratch: &mut Scratch) -> Vec<Shingle> {
    shingle::shingle_set(d.paragraphs(), &cfg.shingle, scratch)
}

fn missing_paragraphs(
    d: &Normalized,
    other: &[Shingle],
    cfg: &Config,
    scratch: &mut Scratch,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for p in d.paragraphs() {
        buf.clear();
        shingle::shingle_paragraph(p, &cfg.shingle, scratch, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        let found = buf
            .iter()
            .filter(|h| other.binary_search(h).is_ok())
            .count();
        if found * 2 < buf.len() && !out.iter().any(|q: &String| q == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// Compares two documents: `a` and `b` as prepared by the pipeline (story-text shingle sets),
/// `text_a` and `text_b` their raw texts.
pub fn compare(a: &Prepared, b: &Prepared, text_a: &str, text_b: &str, cfg: &Config) -> Comparison {
    let s = PairScore::exact(0, 1, &a.shingles, &b.shingles);
    let v = &cfg.verify;
    let small = s.size_a.min(s.size_b) as usize;
    let verdict = if s.similarity() >= v.threshold {
        "copy (shared text covers the longer document)"
    } else if small >= v.min_containment_shingles && s.max_containment() >= v.containment {
        "copy (one contains the other)"
    } else {
        "not a copy"
    };
    let mut scratch = Scratch::default();
    let (na, nb) = (normalize(text_a), normalize(text_b));
    let all_a = all_shingles(&na, cfg, &mut scratch);
    let all_b = all_shingles(&nb, cfg, &mut scratch);
    Comparison {
        jaccard: s.jaccard(),
        similarity: s.similarity(),
        containment_a_in_b: s.containment_a(),
        containment_b_in_a: s.containment_b(),
        shingles_a: s.size_a as usize,
        shingles_b: s.size_b as usize,
        verdict,
        only_in_a: missing_paragraphs(&na, &all_b, cfg, &mut scratch),
        only_in_b: missing_paragraphs(&nb, &all_a, cfg, &mut scratch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boilerplate::Boilerplate;
    use crate::pipeline::{normalize_all, shingle_all};

    #[test]
    fn repost_additions_are_listed() {
        let cfg = Config::default();
        let story = "Storm hits the coast\n\nHeavy rain and strong winds battered the northern coast on Monday, officials said.\n\nThousands of homes lost power as trees fell across lines in three districts.";
        let repost = format!(
            "Spread the love\n\n{story}\n\nJane Doe is an award winning writer who loves her cats."
        );
        let mut p = normalize_all(&[story, repost.as_str()], &cfg);
        shingle_all(&mut p, &Boilerplate::default(), &cfg);
        let c = compare(&p[0], &p[1], story, &repost, &cfg);
        assert!(c.only_in_a.is_empty());
        assert_eq!(
            c.only_in_b,
            vec![
                "spread the love".to_string(),
                "jane doe is an award winning writer who loves her cats".to_string()
            ]
        );
        assert!((c.containment_a_in_b - 1.0).abs() < 1e-12);
        assert!(c.verdict.starts_with("copy"));
    }
}
