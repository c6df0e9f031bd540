//! Stage 2: boilerplate learning.
//!
//! A scraper site wraps every repost in the same header ("Spread the love"), byline, author bio,
//! copyright line and footer. Two different stories from one site then share a hundred words,
//! which outweighs a short story and makes them look like copies of each other. Phrases are
//! never hard-coded here: the boilerplate is learned from the input itself, by the principle that
//! distinguishes it from a story: **story text recurs across sources, boilerplate recurs within
//! one source.** A site publishes a given wire story once, but its footer on every page.
//!
//! Rules, on whole normalized paragraphs (hashed):
//! - **per source**: a paragraph that occurs in at least `min_source_docs` different documents of
//!   one `source` is boilerplate (everywhere, not only in that source);
//! - **corpus-wide**: a paragraph that occurs in at least `min_corpus_docs` documents is
//!   boilerplate whatever the sources. This catches boilerplate when records carry no `source`;
//!   its default scales with the corpus (`max(32, n / 50)` documents) so that a wire story
//!   syndicated by a few dozen outlets is not mistaken for a footer.
//!
//! Repetition *inside* a document (a headline repeated between paragraphs) is not boilerplate:
//! shingle sets already count each shingle once.
//!
//! Quirk: a source that publishes the same paragraph in several different stories (a standing
//! background paragraph) has it treated as boilerplate. That is the intent: it is not evidence
//! that two of its stories are the same.
//!
//! Cost: O(p) expected for p (document, distinct paragraph) pairs, gathered in parallel and
//! grouped by one counting sort on the paragraph hash that serves both counts; 16 bytes per
//! pair.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::hashsort;
use serde::{Deserialize, Serialize};

/// When a recurring paragraph counts as boilerplate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoilerplateConfig {
    /// Documents of one source that must share a paragraph; 0 disables the rule.
    pub min_source_docs: usize,
    /// Documents of the whole input that must share a paragraph; `None` = automatic
    /// (`max(32, n / 50)`), `Some(0)` disables the rule.
    pub min_corpus_docs: Option<usize>,
}

impl Default for BoilerplateConfig {
    fn default() -> Self {
        BoilerplateConfig {
            min_source_docs: 3,
            min_corpus_docs: None,
        }
    }
}

impl BoilerplateConfig {
    /// The corpus-wide threshold in force for `n` documents (`usize::MAX` when disabled).
    pub fn corpus_threshold(&self, n: usize) -> usize {
        match self.min_corpus_docs {
            Some(0) => usize::MAX,
            Some(t) => t,
            None => (n / 50).max(32),
        }
    }
}

/// One document as boilerplate learning sees it: its source and its paragraph hashes.
#[derive(Debug, Clone, Copy)]
pub struct DocParagraphs<'a> {
    pub source: Option<&'a str>,
    /// Hashes of the document's paragraphs, in any order, repeats allowed.
    pub paragraphs: &'a [u64],
}

/// Hasher for keys that are already uniform 64-bit hashes (paragraph hashes): passes them
/// through instead of rehashing with SipHash, which dominated boilerplate lookups.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrehashedKey(u64);

impl std::hash::Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Not used for u64 keys; a simple fold keeps other key types correct.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 ^= v;
    }
}

type PrehashedSet = HashSet<u64, std::hash::BuildHasherDefault<PrehashedKey>>;

/// The learned set of boilerplate paragraph hashes.
#[derive(Debug, Clone, Default)]
pub struct Boilerplate {
    set: PrehashedSet,
}

impl Boilerplate {
    /// True when the paragraph with this hash is boilerplate.
    pub fn contains(&self, paragraph_hash: u64) -> bool {
        self.set.contains(&paragraph_hash)
    }

    /// Number of distinct boilerplate paragraphs learned.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// A boilerplate set from known hashes (for tests and for indexes that carry one).
    pub fn from_hashes(hashes: impl IntoIterator<Item = u64>) -> Self {
        Boilerplate {
            set: hashes.into_iter().collect(),
        }
    }

    /// The hashes, sorted (for persistence and deterministic output).
    pub fn sorted_hashes(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.set.iter().copied().collect();
        v.sort_unstable();
        v
    }
}

/// Keys of runs of at least `min` equal keys in a sorted slice.
fn frequent<T: PartialEq + Copy>(sorted: &[T], min: usize, mut emit: impl FnMut(T)) {
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        if j - i >= min {
            emit(sorted[i]);
        }
        i = j;
    }
}

/// Learns boilerplate paragraphs from a corpus. The result depends only on the multiset of
/// documents, not on their order. Counting is by sorting (paragraph, source) keys, deduplicated
/// per document first, so a run of k equal keys means k documents.
pub fn learn(docs: &[DocParagraphs<'_>], cfg: &BoilerplateConfig) -> Boilerplate {
    let by_source = cfg.min_source_docs > 0;
    // Dense source ids; u32::MAX for no source. The sources are hashed in parallel, so the
    // serial numbering does one lookup of a 64-bit key per document; a different source with
    // the same hash (never seen in practice) is numbered exactly through a side map.
    let hashed: Vec<Option<(u64, &str)>> = docs
        .par_iter()
        .map(|d| {
            d.source
                .filter(|s| by_source && !s.is_empty())
                .map(|s| (xxhash_rust::xxh3::xxh3_64(s.as_bytes()), s))
        })
        .collect();
    let sids = number_sources(&hashed);
    // Each document's paragraphs go into its slice of the keys sorted, a repeat within the
    // document turned into a placeholder (dropped before counting): no vector per document.
    learn_keys(
        &sids,
        |i| docs[i].paragraphs.len(),
        |_, out| hashsort::mark_repeats(out, REPEAT),
        |i| docs[i].paragraphs,
        cfg,
    )
}

/// The source slot of a key that repeats a paragraph already keyed for its document (never
/// a source number: sources are numbered densely from 0, one per document at most).
const REPEAT: u32 = u32::MAX - 1;

/// Dense numbers for hashed sources, in order of first appearance (`u32::MAX` for none):
/// equal sources get one number, different ones different numbers, even when their hashes
/// collide.
///
/// The serial pass numbers the hashes only; that each document's source is the string of
/// the first document with its number is then checked in parallel. Comparing strings in the
/// serial pass read two strings per document, each a cache miss, while the other cores waited
/// (5 ms of 100k documents). A collision (never seen in practice) numbers everything again
/// with [`number_sources_exact`].
fn number_sources(hashed: &[Option<(u64, &str)>]) -> Vec<u32> {
    let mut by_hash: HashMap<u64, u32, std::hash::BuildHasherDefault<PrehashedKey>> =
        HashMap::default();
    // The first document of each number.
    let mut firsts: Vec<usize> = Vec::new();
    let ids: Vec<u32> = hashed
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let Some((h, _)) = h else {
                return u32::MAX;
            };
            let next = firsts.len() as u32;
            let id = *by_hash.entry(*h).or_insert(next);
            if id == next {
                firsts.push(i);
            }
            id
        })
        .collect();
    let source = |i: usize| hashed[i].map(|(_, s)| s);
    let collided = hashed.par_iter().zip(&ids).any(|(h, &id)| {
        h.is_some_and(|(_, s)| firsts.get(id as usize).and_then(|&f| source(f)) != Some(s))
    });
    if collided {
        number_sources_exact(hashed)
    } else {
        ids
    }
}

/// [`number_sources`] comparing each source with the first of its hash as it goes, numbering
/// a different source of the same hash through a side map.
fn number_sources_exact(hashed: &[Option<(u64, &str)>]) -> Vec<u32> {
    let mut by_hash: HashMap<u64, (u32, &str), std::hash::BuildHasherDefault<PrehashedKey>> =
        HashMap::default();
    let mut overflow: HashMap<&str, u32> = HashMap::new();
    let mut next = 0u32;
    hashed
        .iter()
        .map(|h| {
            let &(h, s) = h.as_ref()?;
            let (id, first) = *by_hash.entry(h).or_insert((next, s));
            let id = if first == s {
                id
            } else {
                *overflow.entry(s).or_insert(next)
            };
            next += u32::from(id == next);
            Some(id)
        })
        .map(|id| id.unwrap_or(u32::MAX))
        .collect()
}

/// [`learn`] on documents given as dense source ids (`sids[i]`, `u32::MAX` for none; any
/// numbering) and each document's distinct paragraph hashes (`distinct(i)`, no repeats): the
/// form an out-of-core run keeps, without a string or a vector per document.
pub fn learn_distinct<'a>(
    sids: &[u32],
    distinct: impl Fn(usize) -> &'a [u64] + Sync,
    cfg: &BoilerplateConfig,
) -> Boilerplate {
    learn_keys(sids, |i| distinct(i).len(), |_, _| {}, &distinct, cfg)
}

/// [`learn_distinct`] for documents whose paragraph lists (`paragraphs(i)`, `len(i)` of
/// them) may repeat a paragraph: `dedup(i, keys)` gets document `i`'s keys and marks each
/// repeat by setting its source slot to [`REPEAT`].
fn learn_keys<'a>(
    sids: &[u32],
    len: impl Fn(usize) -> usize + Sync,
    dedup: impl Fn(usize, &mut [(u64, u32)]) + Sync,
    paragraphs: impl Fn(usize) -> &'a [u64] + Sync,
    cfg: &BoilerplateConfig,
) -> Boilerplate {
    let n = sids.len();
    let corpus_min = cfg.corpus_threshold(n);
    let by_source = cfg.min_source_docs > 0;
    let by_corpus = corpus_min != usize::MAX;
    if !by_source && !by_corpus {
        return Boilerplate::default();
    }
    // One key per (document, distinct paragraph): (paragraph, source), the paragraph hash
    // leading, so that one hash-keyed counting sort makes both counts adjacent runs. A run of
    // equal paragraphs counts the documents that hold it (the corpus-wide count; documents
    // without a source are in it, keyed u32::MAX); a run of equal keys inside it, the
    // documents of one source.
    let key_of = |i: usize, out: &mut [(u64, u32)]| {
        let sid = if by_source { sids[i] } else { u32::MAX };
        for (o, &h) in out.iter_mut().zip(paragraphs(i)) {
            *o = (h, sid);
        }
        dedup(i, out);
    };
    let touch = |i: usize| {
        let p = paragraphs(i);
        p.first().copied().unwrap_or(0) ^ p.last().copied().unwrap_or(0)
    };
    let mut keys = hashsort::gather(n, touch, len, key_of);
    keys.retain(|k| k.1 != REPEAT);
    hashsort::par_sort_by_hash(&mut keys, |e| e.0, &mut hashsort::Scratch::default());
    // The runs are counted in pieces side by side (cut where the paragraph changes, so no run
    // is split): on one thread this pass was a tenth of the stage.
    let pieces = hashsort::pieces_by_key(&keys, 4 * rayon::current_num_threads());
    let found: Vec<Vec<u64>> = pieces
        .par_iter()
        .map(|keys| {
            let mut found = Vec::new();
            let mut i = 0;
            while i < keys.len() {
                let h = keys[i].0;
                let mut j = i + 1;
                let mut frequent_in_source = false;
                while j < keys.len() && keys[j].0 == h {
                    j += 1;
                }
                if by_source {
                    frequent(&keys[i..j], cfg.min_source_docs, |(_, sid)| {
                        frequent_in_source |= sid != u32::MAX;
                    });
                }
                if frequent_in_source || j - i >= corpus_min {
                    found.push(h);
                }
                i = j;
            }
            found
        })
        .collect();
    let set: PrehashedSet = found.into_iter().flatten().collect();
    Boilerplate { set }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_numbered_exactly_even_when_hashes_collide() {
        // "b" and "c" are given the hash of "a".
        let hashed = [
            Some((1, "a")),
            None,
            Some((1, "b")),
            Some((2, "d")),
            Some((1, "a")),
            Some((1, "c")),
            Some((1, "b")),
            Some((2, "d")),
        ];
        assert_eq!(number_sources(&hashed), [0, u32::MAX, 1, 2, 0, 3, 1, 2]);
    }

    #[test]
    fn sources_numbered_by_hash_match_the_exact_numbering() {
        // Sources from a small pool (so that they repeat), some documents without one; real
        // hashes, which do not collide here: the fast path answers.
        let pool: Vec<String> = (0..40).map(|k| format!("site-{k}.example")).collect();
        let mut x = 7u64;
        let hashed: Vec<Option<(u64, &str)>> = (0..2000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let k = (x >> 33) as usize % (pool.len() + 5);
                pool.get(k)
                    .map(|s| (xxhash_rust::xxh3::xxh3_64(s.as_bytes()), s.as_str()))
            })
            .collect();
        let ids = number_sources(&hashed);
        assert_eq!(ids, number_sources_exact(&hashed));
        assert!(ids.contains(&u32::MAX) && ids.iter().any(|&i| i as usize == pool.len() - 1));
    }

    fn doc<'a>(source: Option<&'a str>, paragraphs: &'a [u64]) -> DocParagraphs<'a> {
        DocParagraphs { source, paragraphs }
    }

    #[test]
    fn recurring_within_source_is_boilerplate() {
        let cfg = BoilerplateConfig::default();
        let docs = [
            doc(Some("s"), &[1, 10, 99]),
            doc(Some("s"), &[1, 20, 99]),
            doc(Some("s"), &[1, 30, 99, 99]),
            doc(Some("t"), &[10]),
            doc(Some("u"), &[10]),
        ];
        let b = learn(&docs, &cfg);
        assert!(b.contains(1) && b.contains(99));
        // Paragraph 10 recurs in three documents, but of three sources: a syndicated story.
        assert!(!b.contains(10));
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn repeats_inside_one_document_do_not_count() {
        let cfg = BoilerplateConfig::default();
        let docs = [doc(Some("s"), &[5, 5, 5, 5]), doc(Some("s"), &[5])];
        assert!(learn(&docs, &cfg).is_empty());
    }

    #[test]
    fn corpus_rule_without_sources() {
        let cfg = BoilerplateConfig {
            min_source_docs: 3,
            min_corpus_docs: Some(4),
        };
        let paras: Vec<[u64; 2]> = (0..4).map(|i| [7, 100 + i]).collect();
        let docs: Vec<_> = paras.iter().map(|p| doc(None, p)).collect();
        let b = learn(&docs, &cfg);
        assert!(b.contains(7));
        assert!(!b.contains(100));
        let off = BoilerplateConfig {
            min_source_docs: 0,
            min_corpus_docs: Some(0),
        };
        assert!(learn(&docs, &off).is_empty());
    }

    #[test]
    fn automatic_corpus_threshold_scales() {
        let cfg = BoilerplateConfig::default();
        assert_eq!(cfg.corpus_threshold(10), 32);
        assert_eq!(cfg.corpus_threshold(100_000), 2_000);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Both rules against their definition, counted naively: a paragraph is boilerplate
        /// when `min_source_docs` documents of one source hold it, or the corpus threshold's
        /// number of documents do (repeats inside a document count once). Up to 2,500
        /// documents, so the keys are gathered across several blocks.
        #[test]
        fn learn_counts_documents_as_defined(
            docs in proptest::collection::vec(
                (proptest::option::of(0u8..4), proptest::collection::vec(0u64..40, 0..7)),
                0..2500,
            ),
            min_source_docs in 0usize..5,
            min_corpus in 0usize..40,
        ) {
            use std::collections::{BTreeMap, BTreeSet};
            let cfg = BoilerplateConfig { min_source_docs, min_corpus_docs: Some(min_corpus) };
            let names = ["a", "b", "", "d"];
            let views: Vec<DocParagraphs<'_>> = docs
                .iter()
                .map(|(s, p)| doc(s.map(|s| names[s as usize]), p))
                .collect();
            let mut corpus: BTreeMap<u64, usize> = BTreeMap::new();
            let mut by_source: BTreeMap<(u64, &str), usize> = BTreeMap::new();
            for d in &views {
                for &p in d.paragraphs.iter().collect::<BTreeSet<_>>() {
                    *corpus.entry(p).or_default() += 1;
                    if let Some(s) = d.source.filter(|s| !s.is_empty()) {
                        *by_source.entry((p, s)).or_default() += 1;
                    }
                }
            }
            let t = cfg.corpus_threshold(views.len());
            let want: BTreeSet<u64> = corpus
                .iter()
                .filter(|&(&p, &c)| {
                    c >= t
                        || (min_source_docs > 0
                            && by_source.iter().any(|(&(q, _), &k)| q == p && k >= min_source_docs))
                })
                .map(|(&p, _)| p)
                .collect();
            let got: BTreeSet<u64> = learn(&views, &cfg).sorted_hashes().into_iter().collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn order_does_not_matter() {
        let cfg = BoilerplateConfig::default();
        let a = [1u64, 2];
        let b = [1u64, 3];
        let c = [1u64, 4];
        let fwd = learn(
            &[doc(Some("s"), &a), doc(Some("s"), &b), doc(Some("s"), &c)],
            &cfg,
        );
        let rev = learn(
            &[doc(Some("s"), &c), doc(Some("s"), &b), doc(Some("s"), &a)],
            &cfg,
        );
        assert_eq!(fwd.sorted_hashes(), rev.sorted_hashes());
    }
}
