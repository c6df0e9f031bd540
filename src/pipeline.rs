//! The whole detector: documents in, clusters out.
//!
//! ```text
//! normalize ─▶ shingle (per paragraph) ─▶ boilerplate (learned) ─▶ story sets ─▶ minhash ─▶ lsh ┐
//!                                                   └──────▶ shared-paragraph index ─────────┴▶ verify ─▶ cluster
//! ```
//!
//! Each stage is a plain function of plain data (see its module); this one wires them together
//! under one [`Config`] and keeps the counts a user needs to trust the result ([`Stats`]).
//!
//! Candidates come from two sources. MinHash LSH finds pairs with a high Jaccard similarity. A
//! second, exact index on whole story paragraphs (non-boilerplate paragraphs of at least
//! `min_paragraph_words` words) finds pairs that share a paragraph verbatim, which is how an
//! excerpt or a heavily truncated copy is found even when its Jaccard similarity with the full
//! story is too low for any banding to catch. Both go through the same exact verification.
//!
//! Determinism: every parallel step writes results by document index, and every sort is total,
//! so the output is byte-identical whatever the thread count.
//!
//! Story sets are signed before they are sorted (a min-hash ignores order and repeats) and
//! sorted only for documents in a candidate pair, the only ones verification and clustering
//! read; [`Config::sort_all_sets`] decides whether the rest are sorted before they are returned.
//!
//! **Tiny story texts.** Shingles are 32-bit ([`crate::shingle::Shingle`]): among a million
//! documents of one or two shingles each (a few words), a hundred pairs would share a shingle
//! by chance and, being that small, count as copies. So a story set of at most [`TINY_SET`]
//! distinct shingles gets [`IDENTITY_VALUES`] more values derived from the 64-bit hashes of its
//! story paragraphs: two tiny texts are then copies exactly when their story paragraphs are the
//! same (a chance shingle in common leaves them at 1/5 of each other), and a tiny text is never
//! contained in a longer one (it was not before either: containment needs
//! `min_containment_shingles`). Every path that builds story sets (this one, the out-of-core
//! run, the index, the bindings) applies the same rule ([`push_identity`]).
//!
//! Memory: the input documents, the shingle sets (4 bytes per distinct shingle, roughly 4 bytes
//! per input word), paragraph hashes (16 bytes per paragraph), signatures (4 x num_perm bytes
//! per document) and the candidate pairs (8 bytes each). The normalized text is not kept.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::boilerplate::{self, Boilerplate, BoilerplateConfig, DocParagraphs, PrehashedKey};
use crate::cluster::{self, ClusterConfig, RepKey};
use crate::hashsort;
use crate::io::Document;
use crate::lsh::{self, BucketLimits, LshParams};
use crate::minhash::{MinHashConfig, Signatures};
use crate::normalize::Normalizer;
use crate::shingle::{self, Scratch, Shingle, ShingleConfig};
use crate::verify::{self, PairScore, VerifyConfig, VerifyStats};

/// How LSH bands are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Banding {
    /// Optimised for a Jaccard threshold; `None` derives it from the verification threshold
    /// (the Jaccard of two equal-length documents sharing that share: `t / (2 - t)`).
    /// False negatives weigh `fn_weight` and false positives `1 - fn_weight`: every candidate is
    /// verified exactly, so a false positive costs one cheap check while a false negative is a
    /// copy lost; the default 0.8 buys recall near the threshold.
    Auto {
        jaccard: Option<f64>,
        fn_weight: f64,
    },
    /// Set by hand.
    Manual(LshParams),
}

/// Every option of the detector. `Default` is the tuned configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub shingle: ShingleConfig,
    pub minhash: MinHashConfig,
    pub banding: Banding,
    pub buckets: BucketLimits,
    pub boilerplate: BoilerplateConfig,
    pub verify: VerifyConfig,
    pub cluster: ClusterConfig,
    /// Propose pairs that share a whole story paragraph (see module docs).
    pub paragraph_candidates: bool,
    /// Minimum words of a paragraph used as a shared-paragraph key.
    pub min_paragraph_words: usize,
    /// Sort (and deduplicate) every story set returned in [`Outcome::prepared`]. A run that
    /// needs only the clusters turns it off: the sets of documents that no candidate pair
    /// touches (44% of the generated 100k-document benchmark corpus) are then left as their
    /// unsorted story shingles, repeats included, and never sorted.
    pub sort_all_sets: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shingle: ShingleConfig::default(),
            minhash: MinHashConfig::default(),
            banding: Banding::Auto {
                jaccard: None,
                fn_weight: 0.8,
            },
            buckets: BucketLimits::default(),
            boilerplate: BoilerplateConfig::default(),
            verify: VerifyConfig::default(),
            cluster: ClusterConfig::default(),
            paragraph_candidates: true,
            min_paragraph_words: 8,
            sort_all_sets: true,
        }
    }
}

/// The detector's options as a user sets them (the command line's flags, the Python
/// bindings' keyword arguments): plain values with the tuned defaults, turned into a [`Config`]
/// by [`Options::to_config`], so every front end gets the same configuration from the same
/// choices.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Copy threshold (share of the longer story text shared), 0 to 1.
    pub threshold: f64,
    /// Containment threshold (share of the shorter story text inside the longer), 0 to 1.
    pub containment: f64,
    /// Shingle unit.
    pub shingle: crate::shingle::ShingleKind,
    /// Shingle length; `None`: 3 words or 5 characters.
    pub k: Option<usize>,
    /// Signature length.
    pub num_perm: usize,
    /// MinHash seed.
    pub seed: u64,
    /// Sketch scheme.
    pub sketch: crate::minhash::Scheme,
    /// Jaccard threshold the bands are tuned for; `None`: derived from `threshold`.
    pub lsh_threshold: Option<f64>,
    /// Bands and rows set by hand (both or neither).
    pub bands_rows: Option<(usize, usize)>,
    /// Boilerplate rule per source (0: off).
    pub boilerplate_per_source: usize,
    /// Boilerplate rule over the corpus (`None`: max(32, n/50); 0: off).
    pub boilerplate_docs: Option<usize>,
    /// Guarded clustering (off: connected components).
    pub guard: bool,
}

impl Default for Options {
    fn default() -> Self {
        let c = Config::default();
        Options {
            threshold: c.verify.threshold,
            containment: c.verify.containment,
            shingle: c.shingle.kind,
            k: None,
            num_perm: c.minhash.num_perm,
            seed: c.minhash.seed,
            sketch: c.minhash.scheme,
            lsh_threshold: None,
            bands_rows: None,
            boilerplate_per_source: c.boilerplate.min_source_docs,
            boilerplate_docs: c.boilerplate.min_corpus_docs,
            guard: c.cluster.guard,
        }
    }
}

impl Options {
    /// The configuration these options make.
    ///
    /// # Errors
    ///
    /// A message naming the option, for values out of range (thresholds outside 0 to 1,
    /// `k` or `num_perm` of 0, more band rows than signature rows).
    pub fn to_config(&self) -> Result<Config, String> {
        let unit = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} must be between 0 and 1, got {v}"))
            }
        };
        let threshold = unit("threshold", self.threshold)?;
        let containment = unit("containment", self.containment)?;
        if let Some(j) = self.lsh_threshold {
            unit("lsh_threshold", j)?;
        }
        if self.num_perm == 0 || self.num_perm > 65_536 {
            return Err(format!(
                "num_perm must be 1 to 65536, got {}",
                self.num_perm
            ));
        }
        let k = self.k.unwrap_or(match self.shingle {
            crate::shingle::ShingleKind::Words => ShingleConfig::default().k,
            crate::shingle::ShingleKind::Chars => 5,
        });
        if k == 0 || k > 64 {
            return Err(format!("k must be 1 to 64, got {k}"));
        }
        let banding = match self.bands_rows {
            Some((b, r)) => {
                if b == 0 || r == 0 || b.saturating_mul(r) > self.num_perm {
                    return Err(format!(
                        "bands x rows must be at least 1 and at most num_perm ({}), got {b} x {r}",
                        self.num_perm
                    ));
                }
                Banding::Manual(LshParams::fixed(b, r))
            }
            None => Banding::Auto {
                jaccard: self.lsh_threshold,
                fn_weight: 0.8,
            },
        };
        Ok(Config {
            shingle: ShingleConfig {
                kind: self.shingle,
                k,
                ..ShingleConfig::default()
            },
            minhash: MinHashConfig {
                num_perm: self.num_perm,
                seed: self.seed,
                scheme: self.sketch,
            },
            banding,
            boilerplate: BoilerplateConfig {
                min_source_docs: self.boilerplate_per_source,
                min_corpus_docs: self.boilerplate_docs,
            },
            verify: VerifyConfig {
                threshold,
                containment,
                ..VerifyConfig::default()
            },
            cluster: ClusterConfig {
                guard: self.guard,
                ..ClusterConfig::default()
            },
            ..Config::default()
        })
    }
}

impl Config {
    /// The band layout this configuration uses.
    pub fn lsh_params(&self) -> LshParams {
        match &self.banding {
            Banding::Manual(p) => p.clone(),
            Banding::Auto { jaccard, fn_weight } => {
                let t = self.verify.threshold.clamp(0.0, 1.0);
                let j = jaccard.unwrap_or(t / (2.0 - t));
                let w = fn_weight.clamp(0.0, 1.0);
                LshParams::optimal(j, self.minhash.num_perm, 1.0 - w, w)
            }
        }
    }

    /// The relaxed test the cluster guard uses: half the similarity threshold, three quarters of
    /// the containment threshold.
    pub fn link_config(&self) -> VerifyConfig {
        VerifyConfig {
            threshold: self.verify.threshold * 0.5,
            containment: self.verify.containment * 0.75,
            min_containment_shingles: self.verify.min_containment_shingles,
        }
    }
}

/// A document prepared for comparison. The normalized text itself is not kept: everything later
/// stages need is derived in one pass per document.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// Paragraph hashes, in document order (for boilerplate learning and the paragraph index).
    pub paragraphs: Vec<u64>,
    /// Per paragraph: its word count and the end of its shingles in the raw shingle list.
    pub paragraph_meta: Vec<ParagraphMeta>,
    /// Shingle set of the story text (boilerplate removed), sorted and deduplicated. Before
    /// [`shingle_all`] it holds the raw shingles of all paragraphs, in paragraph order.
    pub shingles: Vec<Shingle>,
    /// True when every paragraph was boilerplate and the whole text was used instead.
    pub all_boilerplate: bool,
    /// The document's `published` time ([`parse_time`]), when it was parsed as the document
    /// was read (by [`Preparer`], while the field was in cache); `None` when it was not, and
    /// [`run_prepared`] parses the document's field itself.
    pub published: Option<Option<i64>>,
}

/// Where one paragraph's shingles end, and how long it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParagraphMeta {
    pub words: u32,
    pub shingle_end: u32,
}

/// Normalizes every document, hashes its paragraphs and shingles all of them, in one parallel
/// pass (order kept). O(bytes) per document; the normalized text is dropped at once.
pub fn normalize_all(texts: &[&str], cfg: &Config) -> Vec<Prepared> {
    texts
        .par_iter()
        .map_init(PrepareScratch::default, |scratch, t| {
            prepare(t, cfg, scratch)
        })
        .collect()
}

/// Prepares documents while they are read ([`crate::io::read_inputs_with`]), so that
/// normalizing and shingling overlap reading and each text is processed while it is still in
/// cache. With `free_text` returning true for a document, its text is released as soon as it
/// is prepared: at scale the texts are the largest part of memory, and the later stages never
/// read them.
pub struct Preparer<'c> {
    pub cfg: &'c Config,
    pub free_text: fn(&Document) -> bool,
}

impl crate::io::Prepare for Preparer<'_> {
    type Scratch = PrepareScratch;
    type Output = Prepared;

    fn scratch(&self) -> PrepareScratch {
        PrepareScratch::default()
    }

    fn prepare(&self, scratch: &mut PrepareScratch, doc: &mut Document) -> Prepared {
        let mut p = prepare(&doc.text, self.cfg, scratch);
        // Parsed now, while the record is in cache: choosing representatives at the end read
        // each document's field from memory long evicted (a cache miss per document, in the
        // least parallel stage).
        p.published = Some(doc.published.as_deref().and_then(parse_time));
        if (self.free_text)(doc) {
            // Emptied, not dropped: the reader reuses the buffer for the next record.
            doc.text.clear();
        }
        p
    }
}

/// Reusable buffers for [`prepare`] (one per thread): preparing a document then allocates
/// only its result, each vector at its exact size.
#[derive(Debug, Default)]
pub struct PrepareScratch {
    normalizer: Normalizer,
    shingle: Scratch,
    shingles: Vec<Shingle>,
    paragraphs: Vec<u64>,
    meta: Vec<ParagraphMeta>,
}

/// Prepares one document: normalizes it, hashes its paragraphs and shingles them. O(bytes).
pub fn prepare(text: &str, cfg: &Config, scratch: &mut PrepareScratch) -> Prepared {
    let (paragraphs, meta, shingles) = prepare_in(text, cfg, scratch);
    Prepared {
        paragraphs: paragraphs.to_vec(),
        paragraph_meta: meta.to_vec(),
        shingles: shingles.to_vec(),
        all_boilerplate: false,
        published: None,
    }
}

/// [`prepare`] into the scratch buffers, without allocating: the paragraph hashes, their
/// metadata and the raw shingles, borrowed until the scratch is used again.
pub fn prepare_in<'s>(
    text: &str,
    cfg: &Config,
    scratch: &'s mut PrepareScratch,
) -> (&'s [u64], &'s [ParagraphMeta], &'s [Shingle]) {
    let PrepareScratch {
        normalizer,
        shingle,
        shingles,
        paragraphs,
        meta,
    } = scratch;
    shingles.clear();
    paragraphs.clear();
    meta.clear();
    let normalized = normalizer.run(text);
    for p in normalized.paragraphs() {
        let facts = shingle::shingle_normalized_paragraph(&p, &cfg.shingle, shingle, shingles);
        paragraphs.push(facts.hash);
        meta.push(ParagraphMeta {
            words: facts.words,
            shingle_end: shingles.len() as u32,
        });
    }
    (paragraphs, meta, shingles)
}

/// Turns each document's raw shingles into the set of its story text: shingles of boilerplate
/// paragraphs are dropped (unless every paragraph is boilerplate), then sorted and deduplicated.
pub fn shingle_all(prepared: &mut [Prepared], bp: &Boilerplate, _cfg: &Config) {
    prepared
        .par_iter_mut()
        .for_each_init(hashsort::Scratch::default, |sort, d| story_set(d, bp, sort));
}

/// [`shingle_all`] for one document: its shingles become its story set (a distributed run
/// applies it document by document, with the boilerplate learned over the whole corpus).
pub fn story_set_of(d: &mut Prepared, bp: &Boilerplate) {
    story_set(d, bp, &mut hashsort::Scratch::default());
}

/// [`shingle_all`] for one document.
pub(crate) fn story_set(d: &mut Prepared, bp: &Boilerplate, sort: &mut hashsort::Scratch<Shingle>) {
    story_shingles(d, bp);
    hashsort::sort_dedup_hashes(&mut d.shingles, sort);
}

/// Story sets of at most this many distinct shingles are tiny (see the module docs).
pub const TINY_SET: usize = 2;

/// Values added to a tiny story set: enough that two tiny sets sharing one or two shingles by
/// chance stay under any similarity threshold a user would set (at most 2 of 6).
pub const IDENTITY_VALUES: usize = 4;

/// Whether `set` (unsorted, repeats allowed) has at most [`TINY_SET`] distinct values. O(n),
/// and a set of news text answers at its third value.
pub fn is_tiny(set: &[Shingle]) -> bool {
    let mut seen: [Option<Shingle>; TINY_SET] = [None; TINY_SET];
    for &x in set {
        if seen.contains(&Some(x)) {
            continue;
        }
        match seen.iter_mut().find(|s| s.is_none()) {
            Some(slot) => *slot = Some(x),
            None => return false,
        }
    }
    true
}

/// Appends the [`IDENTITY_VALUES`] of a story text to its (tiny) set: values derived from the
/// distinct 64-bit hashes of its story paragraphs, so equal story texts get equal values and
/// different ones different values.
pub fn push_identity(story_paragraphs: impl Iterator<Item = u64>, set: &mut Vec<Shingle>) {
    let mut hashes: Vec<u64> = story_paragraphs.collect();
    hashes.sort_unstable();
    hashes.dedup();
    let digest = hashes.iter().fold(IDENTITY_SEED, |acc, &h| {
        (acc ^ h).wrapping_mul(IDENTITY_MIX).rotate_left(29)
    });
    for i in 1..=IDENTITY_VALUES as u64 {
        set.push(shingle::narrow(crate::minhash::fmix64(
            digest ^ i.wrapping_mul(IDENTITY_MIX),
        )));
    }
}

/// Seed and multiplier of the story-text digest behind [`push_identity`].
const IDENTITY_SEED: u64 = 0x5449_4E59_5445_5854; // "TINYTEXT"
const IDENTITY_MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// The first half of [`story_set`]: drops the shingles of boilerplate paragraphs (unless every
/// paragraph is boilerplate), leaving the story shingles unsorted and possibly repeated (a tiny
/// set gets its identity values). That is enough to sign the document (a min-hash does not
/// depend on order or repeats); sorting can wait until a candidate pair needs the set.
fn story_shingles(d: &mut Prepared, bp: &Boilerplate) {
    let ends = d.paragraph_meta.iter().map(|m| m.shingle_end as usize);
    let paragraphs = d.paragraphs.iter().copied().zip(ends);
    d.all_boilerplate = keep_story_shingles(paragraphs, |h| bp.contains(h), &mut d.shingles);
}

/// The story rule, in place: `shingles` holds a document's shingles paragraph by paragraph and
/// `paragraphs` gives each paragraph's hash and the end of its shingles. The shingles of
/// boilerplate paragraphs are dropped, unless every paragraph is boilerplate (a page of nothing
/// else is still compared on its content); a tiny result gets its identity values. Returns
/// whether the document has paragraphs and all of them are boilerplate. Ranges out of order or
/// past the shingles (a damaged file) are clamped, never a panic. The one definition the
/// pipeline and the index share.
pub(crate) fn keep_story_shingles(
    paragraphs: impl Iterator<Item = (u64, usize)> + Clone,
    is_boilerplate: impl Fn(u64) -> bool,
    shingles: &mut Vec<Shingle>,
) -> bool {
    let (mut any_story, mut any_boilerplate) = (false, false);
    for (h, _) in paragraphs.clone() {
        if is_boilerplate(h) {
            any_boilerplate = true;
        } else {
            any_story = true;
        }
    }
    let story = |h: u64| !any_story || !is_boilerplate(h);
    if any_story && any_boilerplate {
        let (mut out, mut start) = (0usize, 0usize);
        for (h, end) in paragraphs.clone() {
            let end = end.clamp(start, shingles.len());
            if story(h) {
                shingles.copy_within(start..end, out);
                out += end - start;
            }
            start = end;
        }
        shingles.truncate(out);
    }
    if !shingles.is_empty() && is_tiny(shingles) {
        let hashes = paragraphs.map(|(h, _)| h);
        push_identity(hashes.filter(|&h| story(h)), shingles);
    }
    any_boilerplate && !any_story
}

/// Sorts and deduplicates the story sets whose flag in `which` equals `flag`, in parallel.
fn sort_story_sets(sets: &mut [Vec<Shingle>], which: &[bool], flag: bool) {
    sets.par_iter_mut()
        .zip(which)
        .filter(|(_, &w)| w == flag)
        .for_each_init(hashsort::Scratch::default, |sort, (set, _)| {
            hashsort::sort_dedup_hashes(set, sort)
        });
}

/// Candidate pairs from shared story paragraphs (a few more where folded hashes agree: see
/// below).
fn paragraph_pairs(prepared: &[Prepared], bp: &Boilerplate, cfg: &Config) -> Vec<(u32, u32)> {
    let min_words = cfg.min_paragraph_words.max(1) as u32;
    // Each document's long paragraphs go into its slice, sorted; boilerplate and repeats are
    // marked with the document number `DROP` (no document has it) and dropped. The same
    // entries as `candidate_paragraphs` gives (keys folded), without a vector per document.
    // Keyed by 32 bits of the paragraph hash, as LSH entries are (8 bytes, not 16): documents
    // whose different paragraphs agree on those bits become a candidate that verification
    // rejects (about n^2 / 2^33 pairs for n entries: 101 more of 67,677 at 100k documents).
    // 75.8 -> 62.7 ms at 100k on two threads.
    const DROP: u32 = u32::MAX;
    let key = |h: u64| (h ^ (h >> 32)) as u32;
    let mut entries: Vec<(u32, u32)> = hashsort::gather(
        prepared.len(),
        |i| {
            let d = &prepared[i];
            let (p, m) = (&d.paragraphs, &d.paragraph_meta);
            let ends = |m: Option<&ParagraphMeta>| m.map_or(0, |m| u64::from(m.words));
            p.first().copied().unwrap_or(0)
                ^ p.last().copied().unwrap_or(0)
                ^ ends(m.first())
                ^ ends(m.last())
        },
        |i| {
            let meta = &prepared[i].paragraph_meta;
            meta.iter().filter(|m| m.words >= min_words).count()
        },
        |i, out| {
            let d = &prepared[i];
            let hashes = d.paragraphs.iter().zip(&d.paragraph_meta);
            let long = hashes.filter(|(_, m)| m.words >= min_words);
            for (o, (&h, _)) in out.iter_mut().zip(long) {
                *o = (key(h), if bp.contains(h) { DROP } else { i as u32 });
            }
            hashsort::mark_repeats(out, DROP);
        },
    );
    entries.retain(|e| e.1 != DROP);
    let mut out = Vec::new();
    lsh::bucket_pairs_32(&mut entries, &cfg.buckets, &mut out);
    lsh::sort_pairs(&mut out, &mut hashsort::Scratch::default());
    out.dedup();
    out
}

/// The story paragraphs of `d` that propose candidates (at least `min_words` words, not
/// boilerplate): their hashes, sorted and distinct, into `out` (cleared first).
pub(crate) fn candidate_paragraphs(
    d: &Prepared,
    bp: &Boilerplate,
    min_words: u32,
    out: &mut Vec<u64>,
) {
    out.clear();
    out.extend(
        d.paragraphs
            .iter()
            .zip(&d.paragraph_meta)
            .filter(|&(&h, m)| m.words >= min_words && !bp.contains(h))
            .map(|(&h, _)| h),
    );
    out.sort_unstable();
    out.dedup();
}

/// What the representative choice knows of a document: its `published` field (parsed) and the
/// size of its story set.
pub fn rep_key(published: Option<&str>, length: u32) -> RepKey {
    RepKey {
        published: published.and_then(parse_time),
        length,
    }
}

/// The representative of a group of documents (`members`, indices into `keys` and `sets`) and
/// every member's exact scores against it; `None` for an empty group.
pub fn score_group(
    members: &[u32],
    keys: &[RepKey],
    sets: &[Vec<Shingle>],
) -> Option<(u32, Vec<Member>)> {
    score_group_with(members, keys, |m, rep| {
        PairScore::exact(m, rep, &sets[m as usize], &sets[rep as usize])
    })
}

/// [`score_group`] with the scores from `score(member, representative)`.
fn score_group_with(
    members: &[u32],
    keys: &[RepKey],
    score: impl Fn(u32, u32) -> PairScore,
) -> Option<(u32, Vec<Member>)> {
    let rep = cluster::representative(members, keys)?;
    let ms = members
        .iter()
        .map(|&m| Member {
            doc: m,
            score: score(m, rep),
        })
        .collect();
    Some((rep, ms))
}

/// The intersections verification counted, by pair: the clustering guard and the scores
/// against each cluster's representative ask about mostly the same pairs again, and a lookup
/// is far cheaper than intersecting two story sets.
struct KnownPairs(HashMap<u64, u32, BuildHasherDefault<PrehashedKey>>);

impl KnownPairs {
    fn new(pairs: &[PairScore]) -> Self {
        KnownPairs(
            pairs
                .iter()
                .map(|p| (Self::key(p.a, p.b), p.intersection))
                .collect(),
        )
    }

    /// The pair's key, the same either way round: a bijective mix of the two numbers, so
    /// distinct pairs never share a key and the map's hash bits are uniform.
    fn key(x: u32, y: u32) -> u64 {
        let mut z = (u64::from(x.min(y)) << 32) | u64::from(x.max(y));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// [`PairScore::exact`] of `x` and `y`, from the known intersection when there is one.
    fn score(&self, x: u32, y: u32, sets: &[Vec<Shingle>]) -> PairScore {
        let (sx, sy) = (&sets[x as usize], &sets[y as usize]);
        match self.0.get(&Self::key(x, y)) {
            Some(&intersection) => PairScore {
                a: x,
                b: y,
                intersection,
                size_a: sx.len() as u32,
                size_b: sy.len() as u32,
            },
            None => PairScore::exact(x, y, sx, sy),
        }
    }
}

/// One member of a cluster with its scores against the representative.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Member {
    pub doc: u32,
    /// Exact scores with `a` = this member, `b` = the representative.
    pub score: PairScore,
}

/// A cluster of two or more copies of one story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// Position of this cluster among all clusters (singletons included), in order of first
    /// member in the input.
    pub id: u32,
    pub representative: u32,
    /// All members in input order, the representative included.
    pub members: Vec<Member>,
}

/// Counts and timings of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub documents: usize,
    /// Documents with no words at all after normalization (always singletons).
    pub empty: usize,
    /// Documents made only of boilerplate (compared on their whole text).
    pub all_boilerplate: usize,
    pub boilerplate_paragraphs: usize,
    pub bands: usize,
    pub lsh_candidates: usize,
    pub paragraph_candidates: usize,
    pub verify: VerifyStats,
    pub clusters: usize,
    pub duplicates: usize,
    pub timings: Vec<(String, Duration)>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// For each document, the index of the lowest document in its cluster.
    pub labels: Vec<u32>,
    /// For each document, its cluster's id (position among all clusters, singletons included).
    pub cluster_ids: Vec<u32>,
    /// Clusters of two or more documents, in order of their first member.
    pub clusters: Vec<Cluster>,
    /// Verified pairs.
    pub pairs: Vec<PairScore>,
    /// Prepared documents by input index: paragraph hashes and story sets, sorted and
    /// deduplicated (unless [`Config::sort_all_sets`] was off: see there).
    pub prepared: Vec<Prepared>,
    pub boilerplate: Boilerplate,
    pub stats: Stats,
}

impl Outcome {
    /// For each document: `None` if it is the representative of its cluster or a singleton,
    /// else the representative it duplicates and its scores against it.
    pub fn duplicate_of(&self) -> Vec<Option<Member>> {
        let mut out = vec![None; self.labels.len()];
        for c in &self.clusters {
            for m in &c.members {
                if m.doc != c.representative {
                    out[m.doc as usize] = Some(*m);
                }
            }
        }
        out
    }
}

/// Parses an ISO 8601 / RFC 3339 time (`2024-08-07T06:16:00Z`, with optional fraction and
/// `±HH:MM` offset, or a bare date) into seconds since the Unix epoch. `None` if unparseable.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut sec, mut offset) = (0, 0, 0, 0i64);
    if b.len() > 10 {
        if !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') || b.len() < 16 || b[13] != b':' {
            return None;
        }
        h = num(11..13)?;
        mi = num(14..16)?;
        let mut i = 16;
        if b.len() >= 19 && b[16] == b':' {
            sec = num(17..19)?;
            i = 19;
            if i < b.len() && (b[i] == b'.' || b[i] == b',') {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        match b.get(i) {
            None => {}
            Some(b'Z') | Some(b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = match b.get(i + 3) {
                    Some(b':') => num(i + 4..i + 6)?,
                    Some(_) => num(i + 3..i + 5)?,
                    None => 0,
                };
                offset = (oh * 60 + om) * 60 * if sign == b'+' { 1 } else { -1 };
            }
            _ => return None,
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

/// Runs the whole pipeline on `docs`.
pub fn run(docs: &[Document], cfg: &Config) -> Outcome {
    run_with_progress(docs, cfg, &|_| {})
}

/// Runs the whole pipeline, calling `on_stage` with the name of each stage as it starts.
pub fn run_with_progress(docs: &[Document], cfg: &Config, on_stage: &dyn Fn(&str)) -> Outcome {
    on_stage("normalize");
    let started = Instant::now();
    let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
    let prepared = normalize_all(&texts, cfg);
    run_prepared(docs, prepared, Some(started.elapsed()), cfg, on_stage)
}

/// Runs the stages after [`normalize_all`] on documents already prepared (`prepared[i]` from
/// `docs[i].text`; `normalize_time`, when given, is reported as that stage's time; a caller
/// that prepared documents while reading them reports that time itself). The documents'
/// texts are not read here, so a caller may free them first: at scale they are the largest
/// part of memory.
pub fn run_prepared(
    docs: &[Document],
    mut prepared: Vec<Prepared>,
    normalize_time: Option<Duration>,
    cfg: &Config,
    on_stage: &dyn Fn(&str),
) -> Outcome {
    let mut stats = Stats {
        documents: docs.len(),
        ..Stats::default()
    };
    if let Some(t) = normalize_time {
        stats.timings.push(("normalize".to_string(), t));
    }
    let mut clock = Instant::now();
    let stages = ["boilerplate", "shingle+minhash", "lsh", "verify", "cluster"];
    let mut stage = 0usize;
    on_stage(stages[0]);
    let mut lap = |name: &str, stats: &mut Stats| {
        let now = Instant::now();
        stats.timings.push((name.to_string(), now - clock));
        clock = now;
        stage += 1;
        if let Some(next) = stages.get(stage) {
            on_stage(next);
        }
    };

    // Passes over every document's struct run in parallel, here and below: the structs were
    // written while reading, long evicted, and a serial pass left the other core idle (this
    // one and the stage's serial parts: 37.2 -> 34.4 ms for the boilerplate stage, 100k).
    let views: Vec<DocParagraphs<'_>> = docs
        .par_iter()
        .zip(&prepared)
        .map(|(d, p)| DocParagraphs {
            source: d.source.as_deref(),
            paragraphs: &p.paragraphs,
        })
        .collect();
    let bp = boilerplate::learn(&views, &cfg.boilerplate);
    drop(views);
    stats.boilerplate_paragraphs = bp.len();
    lap("boilerplate", &mut stats);

    // Story shingles and their signatures in one pass over each document's shingles. The sets
    // are sorted (for verification) once the candidate pairs say which ones are needed.
    let sigs = Signatures::compute_prepared(
        &mut prepared,
        &cfg.minhash,
        || (),
        |(), d| story_shingles(d, &bp),
        |d| &d.shingles,
    );
    stats.empty = prepared
        .par_iter()
        .filter(|p| p.shingles.is_empty())
        .count();
    stats.all_boilerplate = prepared.par_iter().filter(|p| p.all_boilerplate).count();
    let mut sets: Vec<Vec<Shingle>> = prepared
        .par_iter_mut()
        .map(|p| std::mem::take(&mut p.shingles))
        .collect();
    lap("shingle+minhash", &mut stats);

    let params = cfg.lsh_params();
    stats.bands = params.bands();
    // The two sources of candidates are independent: side by side, each one's sequential
    // steps (merges, the paragraph sort) overlap the other's parallel ones.
    let (mut cands, extra) = rayon::join(
        || lsh::candidates(&sigs, &params, &cfg.buckets),
        || {
            cfg.paragraph_candidates
                .then(|| paragraph_pairs(&prepared, &bp, cfg))
        },
    );
    stats.lsh_candidates = cands.len();
    if let Some(extra) = extra {
        stats.paragraph_candidates = extra.len();
        // Both lists are sorted and distinct: one merge.
        cands = lsh::merge_dedup(&cands, &extra);
    }
    lap("lsh", &mut stats);

    // Only documents in a candidate pair are verified, clustered or scored: only their sets
    // need sorting (and their representative keys, below, computing).
    let mut in_candidate = vec![false; docs.len()];
    for &(a, b) in &cands {
        in_candidate[a as usize] = true;
        in_candidate[b as usize] = true;
    }
    sort_story_sets(&mut sets, &in_candidate, true);
    let (pairs, vstats) = verify::verify(&cands, &sets, &sigs, &cfg.verify);
    stats.verify = vstats;
    drop(cands);
    lap("verify", &mut stats);

    let sizes: Vec<u32> = sets.par_iter().map(|s| s.len() as u32).collect();
    let link = cfg.link_config();
    let known = KnownPairs::new(&pairs);
    let labels = cluster::cluster(docs.len(), &pairs, &sizes, &cfg.cluster, |x, y| {
        known.score(x, y, &sets).passes(&link)
    });
    let keys: Vec<RepKey> = docs
        .par_iter()
        .zip(&prepared)
        .zip(&sizes)
        .zip(&in_candidate)
        .map(|(((d, p), &length), &needed)| {
            if !needed {
                return RepKey::default();
            }
            match p.published {
                Some(published) => RepKey { published, length },
                None => rep_key(d.published.as_deref(), length),
            }
        })
        .collect();
    let cluster::Numbered {
        ids: cluster_ids,
        members,
        runs,
    } = cluster::numbered(&labels);
    // Scores against the representative, in parallel; `collect` keeps cluster order.
    let clusters: Vec<Cluster> = runs
        .par_iter()
        .filter_map(|(gid, run)| {
            let (rep, ms) = score_group_with(&members[run.clone()], &keys, |m, rep| {
                known.score(m, rep, &sets)
            })?;
            Some(Cluster {
                id: *gid,
                representative: rep,
                members: ms,
            })
        })
        .collect();
    stats.clusters = clusters.len();
    stats.duplicates = clusters.iter().map(|c| c.members.len() - 1).sum();
    lap("cluster", &mut stats);

    if cfg.sort_all_sets {
        sort_story_sets(&mut sets, &in_candidate, false);
    }
    for (p, s) in prepared.iter_mut().zip(sets) {
        p.shingles = s;
    }
    Outcome {
        labels,
        cluster_ids,
        clusters,
        pairs,
        prepared,
        boilerplate: bp,
        stats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_make_the_default_config() {
        assert_eq!(Options::default().to_config(), Ok(Config::default()));
        let bad = |o: Options| o.to_config().unwrap_err();
        assert!(bad(Options {
            threshold: 1.5,
            ..Options::default()
        })
        .contains("threshold"));
        assert!(bad(Options {
            k: Some(0),
            ..Options::default()
        })
        .contains("k must"));
        assert!(bad(Options {
            bands_rows: Some((20, 8)),
            ..Options::default()
        })
        .contains("bands x rows"));
        let chars = Options {
            shingle: crate::shingle::ShingleKind::Chars,
            ..Options::default()
        };
        assert_eq!(chars.to_config().map(|c| c.shingle.k), Ok(5));
    }

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2024-08-07T06:16:00Z"), Some(1_723_011_360));
        assert_eq!(parse_time("2024-08-07T08:16:00+02:00"), Some(1_723_011_360));
        assert_eq!(parse_time("2024-08-07T06:16:00.123Z"), Some(1_723_011_360));
        assert_eq!(parse_time("2024-08-07"), Some(1_722_988_800));
        assert_eq!(parse_time("2024-08-07 06:16"), Some(1_723_011_360));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-08-07T25:00:00Z",
            "2024-08-07Tx",
            "2024-08-07T06:16:00Q",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn default_bands_use_all_permutations() {
        let cfg = Config::default();
        let p = cfg.lsh_params();
        assert_eq!(p.rows_used(), cfg.minhash.num_perm);
    }

    /// A prepared document of one paragraph per `(hash, shingles)`.
    fn prepared(paras: &[(u64, &[Shingle])]) -> Prepared {
        let mut p = Prepared::default();
        for &(h, sh) in paras {
            p.paragraphs.push(h);
            p.shingles.extend_from_slice(sh);
            p.paragraph_meta.push(ParagraphMeta {
                words: 3,
                shingle_end: p.shingles.len() as u32,
            });
        }
        p
    }

    fn story(paras: &[(u64, &[Shingle])], bp: &Boilerplate) -> Vec<Shingle> {
        let mut p = prepared(paras);
        story_set_of(&mut p, bp);
        p.shingles
    }

    #[test]
    fn tiny_sets_match_only_when_their_text_does() {
        let none = Boilerplate::default();
        let v = VerifyConfig::default();
        // One 32-bit shingle in common by chance, different paragraphs: not copies.
        let a = story(&[(11, &[7])], &none);
        let b = story(&[(22, &[7])], &none);
        assert_eq!(a.len(), 1 + IDENTITY_VALUES);
        let s = PairScore::exact(0, 1, &a, &b);
        assert_eq!(s.intersection, 1);
        assert!(!s.passes(&v), "{s:?}");
        // Two in common by chance (two-shingle texts): still not.
        let a2 = story(&[(11, &[7, 8])], &none);
        let b2 = story(&[(22, &[8, 7])], &none);
        assert!(!PairScore::exact(0, 1, &a2, &b2).passes(&v));
        // The same text (same paragraphs, in any order, repeated or not): the same set.
        assert_eq!(a, story(&[(11, &[7]), (11, &[7])], &none));
        let ab = story(&[(11, &[7]), (33, &[9])], &none);
        assert_eq!(ab, story(&[(33, &[9]), (11, &[7])], &none));
        assert!(PairScore::exact(0, 1, &ab, &ab).passes(&v));
        // Boilerplate paragraphs are not part of the story text, nor of its identity.
        let bp = Boilerplate::from_hashes([44]);
        assert_eq!(story(&[(11, &[7]), (44, &[1, 2, 3])], &bp), a);
        // Three distinct shingles are not tiny: no identity values.
        assert_eq!(story(&[(11, &[5, 6, 7])], &none), vec![5, 6, 7]);
        assert!(story(&[], &none).is_empty());
    }

    #[test]
    fn boilerplate_paragraph_folding_like_a_story_one_does_not_hide_it() {
        // p and q are different hashes with the same 32-bit fold; p is boilerplate. Document
        // 0 has both, document 1 shares q: they are still a candidate pair.
        let (p, q) = ((1u64 << 32) | 4, 5u64);
        let fold = |h: u64| (h ^ (h >> 32)) as u32;
        assert_eq!(fold(p), fold(q));
        let doc = |paras: &[u64]| Prepared {
            paragraphs: paras.to_vec(),
            paragraph_meta: paras
                .iter()
                .map(|_| ParagraphMeta {
                    words: 20,
                    shingle_end: 0,
                })
                .collect(),
            ..Prepared::default()
        };
        let bp = Boilerplate::from_hashes([p]);
        let cfg = Config::default();
        let prepared = [doc(&[p, q]), doc(&[q])];
        assert_eq!(paragraph_pairs(&prepared, &bp, &cfg), vec![(0, 1)]);
    }

    proptest::proptest! {
        /// Shared-paragraph candidates, built without a vector per document, are those of the
        /// per-document definition (`candidate_paragraphs`, which the out-of-core run uses)
        /// where no two hashes fold to the same 32 bits (as with these small ones).
        #[test]
        fn paragraph_pairs_match_candidate_paragraphs(
            docs in proptest::collection::vec(
                proptest::collection::vec((0u64..25, 0u32..14), 0..9),
                0..1500,
            ),
            boiler in proptest::collection::vec(0u64..25, 0..4),
        ) {
            let cfg = Config::default();
            let bp = Boilerplate::from_hashes(boiler);
            let prepared: Vec<Prepared> = docs
                .iter()
                .map(|paras| Prepared {
                    paragraphs: paras.iter().map(|p| p.0).collect(),
                    paragraph_meta: paras
                        .iter()
                        .map(|p| ParagraphMeta { words: p.1, shingle_end: 0 })
                        .collect(),
                    ..Prepared::default()
                })
                .collect();
            let min_words = cfg.min_paragraph_words as u32;
            let mut entries = Vec::new();
            let mut seen = Vec::new();
            for (i, d) in prepared.iter().enumerate() {
                candidate_paragraphs(d, &bp, min_words, &mut seen);
                entries.extend(seen.iter().map(|&h| (h, i as u32)));
            }
            let mut want = Vec::new();
            lsh::bucket_pairs(&mut entries, &cfg.buckets, &mut want);
            want.sort_unstable();
            want.dedup();
            proptest::prop_assert_eq!(paragraph_pairs(&prepared, &bp, &cfg), want);
        }

        #[test]
        fn is_tiny_counts_distinct_values(v in proptest::collection::vec(0u32..5, 0..12)) {
            let mut d = v.clone();
            d.sort_unstable();
            d.dedup();
            proptest::prop_assert_eq!(is_tiny(&v), d.len() <= TINY_SET);
        }
    }
}
