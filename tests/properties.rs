//! Property tests of whole-pipeline invariants (proptest), on generated corpora in which real
//! clusters form: stories are random word sequences over a small vocabulary, and documents are
//! exact copies, copies with a site header/footer, truncated copies, lightly edited copies,
//! unrelated stories, digests mixing two stories, or empty.
//!
//! - every document is in its own cluster's label chain: `labels[i]` is the lowest index of its
//!   cluster and `labels[labels[i]] == labels[i]`; identical texts share a cluster;
//! - the partition does not depend on input order or on the thread count;
//! - the MinHash Jaccard estimate stays within its stated error (`src/minhash.rs`);
//! - `wiredup dedup` (plain and `--annotate`) accounts for every input record exactly once.
//!
//! Kept fast: 24 cases per property, corpora of at most 16 short documents.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

use wiredup::io::{Document, Origin};
use wiredup::minhash::{estimate_jaccard, Hasher, MinHashConfig, Scheme};
use wiredup::pipeline::{self, Config};

const BIN: &str = env!("CARGO_BIN_EXE_wiredup");

fn config() -> ProptestConfig {
    ProptestConfig {
        // Failures print the shrunk input; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::with_cases(24)
    }
}

// ---------------------------------------------------------------------------------------------
// Corpus generator
// ---------------------------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "bank", "rate", "vote", "storm", "river", "court", "judge", "trade", "deal", "oil", "price",
    "city", "mayor", "school", "fire", "police", "market", "stock", "union", "strike", "train",
    "port", "ship", "crop", "farm", "rain", "heat", "power", "grid", "coal", "wind", "solar",
    "tax", "budget", "law", "health", "virus", "drug", "army", "border", "talks", "peace", "team",
    "coach", "goal", "match", "film", "star", "music", "award", "north", "south", "east", "west",
    "week", "year", "new", "old", "high", "low",
];

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A story: 3 to 5 paragraphs of 12 to 30 random words.
fn story(seed: u64) -> Vec<Vec<&'static str>> {
    let mut s = seed;
    let paras = 3 + (splitmix(&mut s) % 3) as usize;
    (0..paras)
        .map(|_| {
            let n = 12 + (splitmix(&mut s) % 19) as usize;
            (0..n)
                .map(|_| WORDS[(splitmix(&mut s) % WORDS.len() as u64) as usize])
                .collect()
        })
        .collect()
}

fn render(paras: &[Vec<&str>]) -> String {
    paras
        .iter()
        .map(|p| p.join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// One generated document: which story, how it is derived, and a parameter.
#[derive(Debug, Clone, Copy)]
struct Spec {
    story: u8,
    variant: u8,
    param: u16,
}

fn spec() -> impl Strategy<Value = Spec> {
    (0u8..4, 0u8..7, any::<u16>()).prop_map(|(story, variant, param)| Spec {
        story,
        variant,
        param,
    })
}

/// The text of one document of a corpus generated with `seed`.
fn text_of(seed: u64, s: Spec) -> String {
    let mut paras = story(seed ^ u64::from(s.story).wrapping_mul(0x1000_0000_01B3));
    match s.variant {
        // Exact copy.
        0 => {}
        // Repost: a site header and footer around the story.
        1 => {
            paras.insert(0, vec!["spread", "the", "love"]);
            paras.push(vec!["all", "rights", "reserved", "site", "news"]);
        }
        // Truncated copy: the first 2 or more paragraphs.
        2 => {
            let keep = 2 + usize::from(s.param) % (paras.len() - 1);
            paras.truncate(keep);
        }
        // Edited copy: a few words replaced.
        3 => {
            let mut st = u64::from(s.param);
            for p in &mut paras {
                for w in p.iter_mut() {
                    if splitmix(&mut st).is_multiple_of(20) {
                        *w = WORDS[(splitmix(&mut st) % WORDS.len() as u64) as usize];
                    }
                }
            }
        }
        // Unrelated story.
        4 => paras = story(seed ^ 0xDEAD_BEEF ^ u64::from(s.param) << 8),
        // A digest: the first paragraphs of this story, then the rest of the next one (the
        // kind of page that tempts a clustering to chain two stories together).
        5 => {
            let other = story(seed ^ u64::from((s.story + 1) % 4).wrapping_mul(0x1000_0000_01B3));
            let cut = 1 + usize::from(s.param) % paras.len();
            paras.truncate(cut);
            paras.extend(other.into_iter().skip(cut.min(2)));
        }
        // Nothing but punctuation: an empty document.
        _ => return "... -- !!".to_string(),
    }
    render(&paras)
}

fn docs_of(seed: u64, specs: &[Spec]) -> Vec<Document> {
    specs
        .iter()
        .enumerate()
        .map(|(i, &s)| Document {
            id: format!("doc{i}"),
            text: text_of(seed, s),
            source: None,
            published: None,
            origin: Origin::new("gen", i as u64 + 1),
            record: None,
        })
        .collect()
}

/// The partition as a set of id-sets.
fn partition(docs: &[Document], labels: &[u32]) -> BTreeSet<BTreeSet<String>> {
    let mut groups: HashMap<u32, BTreeSet<String>> = HashMap::new();
    for (d, &l) in docs.iter().zip(labels) {
        groups.entry(l).or_default().insert(d.id.clone());
    }
    groups.into_values().collect()
}

fn corpus() -> impl Strategy<Value = (u64, Vec<Spec>)> {
    (any::<u64>(), prop::collection::vec(spec(), 1..16))
}

// ---------------------------------------------------------------------------------------------
// Clustering properties
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_document_heads_or_joins_its_own_cluster((seed, specs) in corpus()) {
        let docs = docs_of(seed, &specs);
        let out = pipeline::run(&docs, &Config::default());
        prop_assert_eq!(out.labels.len(), docs.len());
        let mut min_of: HashMap<u32, u32> = HashMap::new();
        for (i, &l) in out.labels.iter().enumerate() {
            prop_assert!(l as usize <= i);
            prop_assert_eq!(out.labels[l as usize], l);
            let m = min_of.entry(l).or_insert(i as u32);
            *m = (*m).min(i as u32);
        }
        for (&l, &m) in &min_of {
            prop_assert_eq!(l, m, "label is not the lowest member");
        }
        // Identical non-empty texts are always in one cluster.
        for i in 0..docs.len() {
            for j in i + 1..docs.len() {
                if docs[i].text == docs[j].text && !out.prepared[i].shingles.is_empty() {
                    prop_assert_eq!(out.labels[i], out.labels[j], "identical docs {} and {} split", i, j);
                }
            }
        }
        // Empty documents are singletons.
        for (i, p) in out.prepared.iter().enumerate() {
            if p.shingles.is_empty() {
                prop_assert_eq!(out.labels.iter().filter(|&&l| l == out.labels[i]).count(), 1);
            }
        }
    }

    #[test]
    fn partition_does_not_depend_on_input_order(
        (seed, specs, perm) in corpus().prop_flat_map(|(seed, specs)| {
            let n = specs.len();
            (Just(seed), Just(specs), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let docs = docs_of(seed, &specs);
        let permuted: Vec<Document> = perm.iter().map(|&i| docs[i].clone()).collect();
        let cfg = Config::default();
        let a = partition(&docs, &pipeline::run(&docs, &cfg).labels);
        let b = partition(&permuted, &pipeline::run(&permuted, &cfg).labels);
        prop_assert_eq!(a, b, "permutation {:?}", perm);
    }

    #[test]
    fn unsorted_sets_change_nothing_else((seed, specs) in corpus()) {
        // `sort_all_sets: false` only leaves the sets of documents outside every candidate
        // pair unsorted: the same clusters, pairs and stats, and the same set contents.
        let docs = docs_of(seed, &specs);
        let sorted = pipeline::run(&docs, &Config::default());
        let lean = pipeline::run(&docs, &Config { sort_all_sets: false, ..Config::default() });
        prop_assert_eq!(&sorted.labels, &lean.labels);
        prop_assert_eq!(&sorted.clusters, &lean.clusters);
        prop_assert_eq!(&sorted.pairs, &lean.pairs);
        prop_assert_eq!(sorted.stats.empty, lean.stats.empty);
        for (s, l) in sorted.prepared.iter().zip(&lean.prepared) {
            prop_assert!(s.shingles.windows(2).all(|w| w[0] < w[1]), "a returned set is unsorted");
            let mut l = l.shingles.clone();
            l.sort_unstable();
            l.dedup();
            prop_assert_eq!(&s.shingles, &l);
        }
    }

    #[test]
    fn output_does_not_depend_on_thread_count((seed, specs) in corpus()) {
        let docs = docs_of(seed, &specs);
        let cfg = Config::default();
        let with = |n: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("pool");
            pool.install(|| pipeline::run(&docs, &cfg))
        };
        let (one, three) = (with(1), with(3));
        prop_assert_eq!(&one.labels, &three.labels);
        prop_assert_eq!(&one.clusters, &three.clusters);
        prop_assert_eq!(&one.pairs, &three.pairs);
    }
}

// ---------------------------------------------------------------------------------------------
// MinHash error bound
// ---------------------------------------------------------------------------------------------

/// Sets with `common` shared keys and `only_a` / `only_b` private ones, keys spread like
/// narrowed 64-bit hash output (as shingle hashes are). Keys are 32-bit, so two of them can
/// coincide (about once in 2,600 draws of 1,800 keys): callers compute the Jaccard of the
/// sets made, not of the counts asked for.
fn sets(seed: u64, common: usize, only_a: usize, only_b: usize) -> (Vec<u32>, Vec<u32>) {
    let mut s = seed;
    let mut key = || splitmix(&mut s) as u32;
    let shared: Vec<u32> = (0..common).map(|_| key()).collect();
    let mut a = shared.clone();
    a.extend((0..only_a).map(|_| key()));
    let mut b = shared;
    b.extend((0..only_b).map(|_| key()));
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    (a, b)
}

proptest! {
    #![proptest_config(config())]

    /// `src/minhash.rs`: agreement estimates Jaccard with standard error about
    /// `sqrt(J (1 - J) / num_perm)`. Allowed: 4.5 standard errors plus 2/num_perm for
    /// discreteness (a false alarm is ~1e-5 per check); identical sets must give exactly 1.
    #[test]
    fn jaccard_estimate_within_stated_error(
        seed in any::<u64>(),
        common in 0usize..600,
        only_a in 0usize..600,
        only_b in 0usize..600,
        num_perm in prop::sample::select(vec![64usize, 128, 256]),
    ) {
        prop_assume!(common + only_a > 0 && common + only_b > 0);
        let (a, b) = sets(seed, common, only_a, only_b);
        let shared = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
        let j = shared as f64 / (a.len() + b.len() - shared) as f64;
        for scheme in [Scheme::Oph, Scheme::Classic] {
            let h = Hasher::new(&MinHashConfig { num_perm, seed: seed >> 7, scheme });
            let (sa, sb) = (h.sign(&a).expect("non-empty"), h.sign(&b).expect("non-empty"));
            prop_assert_eq!(sa.len(), num_perm);
            let est = estimate_jaccard(&sa, &sb);
            let se = (j * (1.0 - j) / num_perm as f64).sqrt();
            let bound = 4.5 * se + 2.0 / num_perm as f64;
            prop_assert!(
                (est - j).abs() <= bound,
                "{:?}: J = {:.4}, estimate {:.4}, bound {:.4} ({} shared, {} + {} private, {} perms)",
                scheme, j, est, bound, common, only_a, only_b, num_perm
            );
            prop_assert_eq!(estimate_jaccard(&sa, &h.sign(&a).expect("non-empty")), 1.0);
        }
        let h = Hasher::new(&MinHashConfig::default());
        prop_assert!(h.sign(&[]).is_none(), "an empty set has no signature");
    }
}

// ---------------------------------------------------------------------------------------------
// dedup accounting, through the real binary
// ---------------------------------------------------------------------------------------------

fn run_bin(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run wiredup")
}

fn ids_of(jsonl: &str) -> Vec<(String, Option<String>)> {
    jsonl
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("output line is JSON");
            let id = v["id"].as_str().expect("id").to_string();
            let dup = v
                .get("dup_of")
                .map(|d| d.as_str().expect("dup_of").to_string());
            (id, dup)
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    /// `dedup` keeps one record per cluster plus every singleton; `dedup --annotate` writes
    /// every record once, marking duplicates. kept + duplicates == input, id for id, and the
    /// summary line says the same numbers. Some malformed lines ride along under `--skip-bad`:
    /// they are reported as skipped, never written.
    #[test]
    fn dedup_accounts_for_every_record((seed, specs) in corpus(), bad_every in 0usize..5) {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("in.jsonl");
        let docs = docs_of(seed, &specs);
        let mut lines = Vec::new();
        let mut record_of: HashMap<String, String> = HashMap::new();
        let mut bad = 0;
        for (i, d) in docs.iter().enumerate() {
            if bad_every > 0 && i % (bad_every + 2) == 1 {
                lines.push(format!("{{\"id\":\"bad{i}\",\"text\":{i}}}"));
                bad += 1;
            }
            let mut rec = serde_json::Map::new();
            rec.insert("id".into(), Value::from(d.id.clone()));
            rec.insert("text".into(), Value::from(d.text.clone()));
            rec.insert("extra".into(), Value::from(i));
            let line = Value::Object(rec).to_string();
            record_of.insert(d.id.clone(), line.clone());
            lines.push(line);
        }
        std::fs::write(&input, lines.join("\n") + "\n").expect("write input");
        let input = input.to_str().expect("utf-8 path");
        let input_ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();

        let plain_out = dir.path().join("plain.jsonl");
        let o = run_bin(&["dedup", input, "-o", plain_out.to_str().unwrap(), "--skip-bad"]);
        prop_assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let plain_text = std::fs::read_to_string(&plain_out).expect("read output");
        let kept = ids_of(&plain_text);
        // Kept records are the input records, byte for byte, in input order.
        for (line, (id, dup)) in plain_text.lines().zip(&kept) {
            prop_assert!(dup.is_none());
            prop_assert_eq!(Some(line), record_of.get(id.as_str()).map(String::as_str));
        }

        let ann_out = dir.path().join("annotated.jsonl");
        let o = run_bin(&["dedup", input, "-o", ann_out.to_str().unwrap(), "--annotate", "--skip-bad"]);
        prop_assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let ann_err = String::from_utf8_lossy(&o.stderr).into_owned();
        let annotated = ids_of(&std::fs::read_to_string(&ann_out).expect("read output"));

        // --annotate: every good input record exactly once, in input order.
        let ann_ids: Vec<String> = annotated.iter().map(|(id, _)| id.clone()).collect();
        prop_assert_eq!(&ann_ids, &input_ids);
        // Its records without dup_of are exactly the plain output; duplicates point at a kept id.
        let kept_ids: Vec<String> = kept.iter().map(|(id, _)| id.clone()).collect();
        let unmarked: Vec<String> = annotated.iter().filter(|(_, d)| d.is_none()).map(|(id, _)| id.clone()).collect();
        prop_assert_eq!(&unmarked, &kept_ids);
        let dups: Vec<&(String, Option<String>)> = annotated.iter().filter(|(_, d)| d.is_some()).collect();
        for (id, of) in &dups {
            let of = of.as_deref().unwrap();
            prop_assert_ne!(id.as_str(), of);
            prop_assert!(kept_ids.iter().any(|k| k == of), "dup_of {} is not a kept record", of);
        }
        // kept + duplicates == input records.
        prop_assert_eq!(kept_ids.len() + dups.len(), input_ids.len());
        let summary = format!("kept {} records, dropped {} duplicates", kept_ids.len(), dups.len());
        prop_assert!(err.contains(&summary), "summary: {}", err);
        let summary = format!("wrote {} records, {} annotated as duplicates", input_ids.len(), dups.len());
        prop_assert!(ann_err.contains(&summary), "summary: {}", ann_err);
        // Every malformed line is reported (one `  skipped FILE:LINE: reason` line each).
        let skipped = err.lines().filter(|l| l.starts_with("  skipped ")).count();
        prop_assert_eq!(skipped, bad, "{}", err);
    }
}
