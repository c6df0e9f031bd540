//! Scoring a predicted clustering against a labelled ("gold") one.
//!
//! This backs `wiredup eval --pred P --labels L`. Both files are read with
//! [`read_assignments`] into maps `document id -> cluster label`, and
//! [`score`] compares them.
//!
//! # Metrics
//!
//! All metrics are computed over the documents of the *truth* map (`n` of
//! them). A truth document that is absent from the prediction is treated as a
//! singleton cluster in the prediction (and counted in
//! [`Scores::missing_in_pred`]); prediction ids that are absent from the truth
//! are ignored (counted in [`Scores::extra_in_pred`]).
//!
//! * **Pairwise precision / recall / F1.** A *pair* is an unordered pair of
//!   distinct documents. `true_pairs` is the number of pairs placed in the same
//!   cluster by the truth, `pred_pairs` the number placed together by the
//!   prediction, and `correct_pairs` the number placed together by both.
//!   `precision = correct / pred_pairs` (1.0 when `pred_pairs == 0`: a
//!   prediction that claims nothing claims nothing wrong), `recall = correct /
//!   true_pairs` (1.0 when `true_pairs == 0`), and `f1` is their harmonic
//!   mean (0.0 when both are 0). Pairwise scores weight a cluster of size `k`
//!   by `k(k-1)/2`, so big clusters dominate; that is intended for duplicate
//!   detection, where one huge wire story republished 500 times matters more
//!   than a pair of reposts.
//!
//! * **Adjusted Rand index** (Hubert & Arabie, 1985, "Comparing partitions",
//!   *Journal of Classification* 2:193–218). With the contingency table
//!   `n_ij` (documents in truth cluster `i` and predicted cluster `j`), row sums
//!   `a_i`, column sums `b_j` and `C(x) = x(x-1)/2`:
//!
//!   ```text
//!   index    = Σ_ij C(n_ij)                 (= correct_pairs)
//!   expected = Σ_i C(a_i) · Σ_j C(b_j) / C(n)
//!   max      = (Σ_i C(a_i) + Σ_j C(b_j)) / 2
//!   ARI      = (index - expected) / (max - expected)
//!   ```
//!
//!   ARI is 1 for identical partitions, has expectation 0 under random
//!   labelling with fixed cluster sizes, and can be negative (down to -0.5)
//!   for worse-than-chance agreement. When `max == expected` the index is
//!   undefined (0/0); this happens only in degenerate cases — `n < 2`, both
//!   partitions all singletons, or both a single cluster — and we then report
//!   1.0 if the partitions are identical and 0.0 otherwise.
//!
//! # Invariants
//!
//! * Every metric depends only on the partitions, not on the label strings:
//!   renaming clusters (in either input) leaves the scores unchanged.
//! * Precision and recall swap when prediction and truth are swapped (given the
//!   same id set); F1 and ARI are symmetric.
//! * `correct_pairs <= min(true_pairs, pred_pairs)`, so precision, recall and
//!   F1 lie in `[0, 1]`; ARI lies in `[-0.5, 1]`.
//!
//! # Cost
//!
//! `O(n)` expected time and memory: one pass over the truth map interns
//! labels and fills hash maps of contingency counts (`n_ij`, `a_i`, `b_j`);
//! pairs are never enumerated. Pair counts are computed as `x(x-1)/2` in
//! `u128` (no intermediate overflow) and stored as `u64` (saturating, which
//! would take more than four billion documents). The ARI numerator and
//! denominator are evaluated exactly in `i128`, as
//! `2·(index·C(n) − A·B) / ((A+B)·C(n) − 2·A·B)`, so no precision is lost to
//! cancellation; only if that would overflow does it fall back to `f64`.
//!
//! # File format
//!
//! See [`read_assignments`]: JSON lines of either `{"id": .., "cluster": ..}`
//! or cluster records as written by `wiredup cluster`
//! (`{"cluster": C, "representative": .., "members": [{"id": ..}, ..]}`).
//! All ids and labels are converted to strings, so the integer `3` and the
//! string `"3"` are the same label (and the same id).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The result of comparing a predicted clustering with the truth.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Number of documents scored (the ids of the truth map).
    pub documents: usize,
    /// Distinct predicted clusters among the scored documents (each truth
    /// document missing from the prediction counts as its own cluster).
    pub pred_clusters: usize,
    /// Distinct truth clusters.
    pub true_clusters: usize,
    /// Pairs of documents in the same truth cluster.
    pub true_pairs: u64,
    /// Pairs of scored documents in the same predicted cluster.
    pub pred_pairs: u64,
    /// Pairs in the same cluster in both.
    pub correct_pairs: u64,
    /// `correct_pairs / pred_pairs`, 1.0 if `pred_pairs == 0`.
    pub precision: f64,
    /// `correct_pairs / true_pairs`, 1.0 if `true_pairs == 0`.
    pub recall: f64,
    /// Harmonic mean of precision and recall, 0.0 if both are 0.
    pub f1: f64,
    /// Adjusted Rand index (Hubert & Arabie 1985).
    pub ari: f64,
    /// Truth ids absent from the prediction (scored as singletons).
    pub missing_in_pred: usize,
    /// Prediction ids absent from the truth (ignored).
    pub extra_in_pred: usize,
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "documents: {} (true clusters: {}, predicted clusters: {})",
            self.documents, self.true_clusters, self.pred_clusters
        )?;
        writeln!(
            f,
            "pairs: true {}, predicted {}, correct {}",
            self.true_pairs, self.pred_pairs, self.correct_pairs
        )?;
        writeln!(
            f,
            "precision {:.4}  recall {:.4}  F1 {:.4}  ARI {:.4}",
            self.precision, self.recall, self.f1, self.ari
        )?;
        write!(
            f,
            "missing in prediction: {}, extra in prediction: {}",
            self.missing_in_pred, self.extra_in_pred
        )
    }
}

/// `x * (x - 1) / 2`, computed in `u128` so it never overflows.
fn pairs(x: u64) -> u128 {
    let x = x as u128;
    x * x.saturating_sub(1) / 2
}

fn to_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// Interns strings into dense `usize` ids.
fn intern<'a>(map: &mut HashMap<&'a str, usize>, s: &'a str) -> usize {
    let next = map.len();
    *map.entry(s).or_insert(next)
}

/// Scores `pred` (id -> cluster label) against `truth` (id -> cluster label).
/// Documents in truth but missing from pred count as singletons in pred (and
/// are counted in `missing_in_pred`); ids in pred but not in truth are ignored
/// (counted in `extra_in_pred`).
///
/// Runs in `O(|truth| + |pred|)` expected time; see the module docs.
pub fn score(pred: &HashMap<String, String>, truth: &HashMap<String, String>) -> Scores {
    let mut true_ids: HashMap<&str, usize> = HashMap::new();
    let mut pred_ids: HashMap<&str, usize> = HashMap::new();
    // Sizes of truth clusters (a_i), predicted clusters (b_j) and cells (n_ij).
    let mut a: Vec<u64> = Vec::new();
    let mut b: Vec<u64> = Vec::new();
    let mut cells: HashMap<(usize, usize), u64> = HashMap::new();
    let mut missing = 0usize;

    for (id, t_label) in truth {
        let i = intern(&mut true_ids, t_label);
        if i == a.len() {
            a.push(0);
        }
        a[i] += 1;
        match pred.get(id) {
            Some(p_label) => {
                let j = intern(&mut pred_ids, p_label);
                if j == b.len() {
                    b.push(0);
                }
                b[j] += 1;
                *cells.entry((i, j)).or_insert(0) += 1;
            }
            None => {
                // A singleton predicted cluster: contributes C(1) = 0 to
                // every pair sum, so it needs no table entry.
                missing += 1;
            }
        }
    }
    let extra = pred.keys().filter(|id| !truth.contains_key(*id)).count();

    let n = truth.len() as u64;
    let sum_a: u128 = a.iter().map(|&x| pairs(x)).sum();
    let sum_b: u128 = b.iter().map(|&x| pairs(x)).sum();
    let index: u128 = cells.values().map(|&x| pairs(x)).sum();
    let total = pairs(n);

    let precision = if sum_b == 0 {
        1.0
    } else {
        index as f64 / sum_b as f64
    };
    let recall = if sum_a == 0 {
        1.0
    } else {
        index as f64 / sum_a as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };

    Scores {
        documents: truth.len(),
        pred_clusters: b.len() + missing,
        true_clusters: a.len(),
        true_pairs: to_u64(sum_a),
        pred_pairs: to_u64(sum_b),
        correct_pairs: to_u64(index),
        precision,
        recall,
        f1,
        ari: ari_from_sums(index, sum_a, sum_b, total),
        missing_in_pred: missing,
        extra_in_pred: extra,
    }
}

/// ARI from `index = Σ C(n_ij)`, `sum_a = Σ C(a_i)`, `sum_b = Σ C(b_j)` and
/// `total = C(n)`.
///
/// `ARI = (index - A·B/T) / ((A+B)/2 - A·B/T)
///      = (2·index·T - 2·A·B) / ((A+B)·T - 2·A·B)`,
/// evaluated exactly in `i128` when it fits.
fn ari_from_sums(index: u128, sum_a: u128, sum_b: u128, total: u128) -> f64 {
    // Partitions are identical iff index == A == B: index == A means every
    // truth cluster lies inside one predicted cluster, index == B the converse.
    let identical = index == sum_a && index == sum_b;
    // The denominator (A+B)·T - 2·A·B equals A·(T-B) + B·(T-A), a sum of two
    // non-negative terms (A, B <= T), so it is zero exactly when
    // (A == 0 or B == T) and (B == 0 or A == T): n < 2, all singletons in
    // both, or one cluster in both. Test that in integers, never in floats.
    let degenerate_case = (sum_a == 0 || sum_b == total) && (sum_b == 0 || sum_a == total);
    if degenerate_case {
        return degenerate(identical);
    }
    let exact = (|| {
        let (i, a, b, t) = (
            i128::try_from(index).ok()?,
            i128::try_from(sum_a).ok()?,
            i128::try_from(sum_b).ok()?,
            i128::try_from(total).ok()?,
        );
        let ab2 = a.checked_mul(b)?.checked_mul(2)?;
        let num = i.checked_mul(t)?.checked_mul(2)?.checked_sub(ab2)?;
        let den = a.checked_add(b)?.checked_mul(t)?.checked_sub(ab2)?;
        Some((num, den))
    })();
    match exact {
        Some((num, den)) => num as f64 / den as f64,
        None => {
            // Only reachable beyond ~4 billion documents.
            let (i, a, b, t) = (index as f64, sum_a as f64, sum_b as f64, total as f64);
            let den = a * ((total - sum_b) as f64) + b * ((total - sum_a) as f64);
            let num = 2.0 * (i * t - a * b);
            (num / den).clamp(-1.0, 1.0)
        }
    }
}

fn degenerate(identical: bool) -> f64 {
    if identical {
        1.0
    } else {
        0.0
    }
}

/// Errors from reading assignment files.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line could not be parsed or violates the format
    /// (e.g. `labels.jsonl:3: missing field "cluster"`).
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        message: String,
    },
}

/// Converts a JSON id or cluster label (string or integer) to a string.
fn label(v: &Value, field: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
        other => Err(format!(
            "field \"{field}\" must be a string or integer, got {}",
            kind(other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a non-integer number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'v>(obj: &'v Map<String, Value>, name: &str) -> Result<&'v Value, String> {
    obj.get(name)
        .ok_or_else(|| format!("missing field \"{name}\""))
}

/// Parses one non-blank line into `(id, cluster)` pairs.
fn parse_line(text: &str) -> Result<Vec<(String, String)>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = match &value {
        Value::Object(o) => o,
        other => return Err(format!("expected a JSON object, got {}", kind(other))),
    };
    if !obj.contains_key("cluster") && obj.contains_key("a") && obj.contains_key("b") {
        return Err(
            "missing field \"cluster\": this is a pair (`--format pairs`); eval reads \
                    `--format assignments` or `--format clusters` output"
                .into(),
        );
    }
    let cluster = label(field(obj, "cluster")?, "cluster")?;
    match obj.get("members") {
        // (b) a cluster record from `wiredup cluster`.
        Some(Value::Array(members)) => members
            .iter()
            .enumerate()
            .map(|(k, m)| {
                let id = match m {
                    Value::Object(mo) => field(mo, "id").and_then(|v| label(v, "id")),
                    // Tolerate bare ids in the member list.
                    other => label(other, "id"),
                }
                .map_err(|e| format!("members[{k}]: {e}"))?;
                Ok((id, cluster.clone()))
            })
            .collect(),
        Some(other) => Err(format!(
            "field \"members\" must be an array, got {}",
            kind(other)
        )),
        // (a) a single assignment.
        None => Ok(vec![(label(field(obj, "id")?, "id")?, cluster)]),
    }
}

/// Reads an assignment file: JSON lines. Accepts two shapes per line:
///
///  (a) `{"id": ..., "cluster": ...}` (cluster may be string or integer; id
///      string or integer);
///  (b) a cluster record as written by `wiredup cluster`:
///      `{"cluster": C, "representative": ..., "members": [{"id": ...}, ...]}`
///      → each member id gets cluster `C` (`representative` is ignored; a
///      member may also be given as a bare id).
///
/// A line with a `"members"` field is shape (b), otherwise shape (a); other
/// fields are ignored, and the two shapes may be mixed in one file. Blank
/// lines are ignored. Ids and cluster labels are all converted to strings
/// (integers in decimal) with no prefix, so `3` and `"3"` denote the same
/// cluster whichever shape they appear in; a (b) record and (a) lines with
/// the same label therefore describe one cluster.
///
/// An id appearing twice (on two lines, or twice in one record) is an error
/// reported as `file:line`. Returns `id -> cluster label`.
pub fn read_assignments(path: &Path) -> Result<HashMap<String, String>, EvalError> {
    let io_err = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut reader = BufReader::new(file);
    let mut out: HashMap<String, String> = HashMap::new();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io_err)?;
        if read == 0 {
            break;
        }
        line_no += 1;
        let parse_err = |message: String| EvalError::Parse {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let text =
            std::str::from_utf8(&buf).map_err(|e| parse_err(format!("invalid UTF-8: {e}")))?;
        let text = if line_no == 1 {
            text.trim_start_matches('\u{feff}')
        } else {
            text
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        for (id, cluster) in parse_line(text).map_err(parse_err)? {
            match first_seen.entry(id) {
                Entry::Occupied(e) => {
                    let msg = if *e.get() == line_no {
                        format!("duplicate id {:?}", e.key())
                    } else {
                        format!(
                            "duplicate id {:?} (first seen on line {})",
                            e.key(),
                            e.get()
                        )
                    };
                    return Err(parse_err(msg));
                }
                Entry::Vacant(e) => {
                    out.insert(e.key().clone(), cluster);
                    e.insert(line_no);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn part(groups: &[&[&str]]) -> HashMap<String, String> {
        let mut m = HashMap::new();
        for (k, g) in groups.iter().enumerate() {
            for id in g.iter() {
                assert!(m.insert(id.to_string(), format!("c{k}")).is_none());
            }
        }
        m
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn identical_partitions_score_one() {
        let t = part(&[&["a", "b", "c"], &["d", "e"], &["f"]]);
        let s = score(&t, &t);
        assert_eq!(s.documents, 6);
        assert_eq!(s.true_clusters, 3);
        assert_eq!(s.pred_clusters, 3);
        assert_eq!((s.true_pairs, s.pred_pairs, s.correct_pairs), (4, 4, 4));
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 1.0, 1.0, 1.0));
        assert_eq!((s.missing_in_pred, s.extra_in_pred), (0, 0));
    }

    #[test]
    fn degenerate_cases() {
        // All singletons in both: ARI undefined, identical -> 1.
        let t = part(&[&["a"], &["b"], &["c"]]);
        let s = score(&t, &t);
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 1.0, 1.0, 1.0));
        // One cluster in both.
        let t = part(&[&["a", "b", "c"]]);
        assert_eq!(score(&t, &t).ari, 1.0);
        // Empty and single document.
        let e = HashMap::new();
        let s = score(&e, &e);
        assert_eq!(
            (s.documents, s.precision, s.recall, s.f1, s.ari),
            (0, 1.0, 1.0, 1.0, 1.0)
        );
        let one = part(&[&["a"]]);
        assert_eq!(score(&one, &one).ari, 1.0);
        assert_eq!(score(&e, &one).ari, 1.0); // missing -> singleton == truth
                                              // All singletons vs one cluster: not identical.
        let s = score(&part(&[&["a"], &["b"], &["c"]]), &part(&[&["a", "b", "c"]]));
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn all_singletons_prediction() {
        let t = part(&[&["a", "b", "c"], &["d", "e"], &["f"]]);
        let p = part(&[&["a"], &["b"], &["c"], &["d"], &["e"], &["f"]]);
        let s = score(&p, &t);
        assert_eq!(s.pred_pairs, 0);
        assert_eq!(s.correct_pairs, 0);
        assert_eq!(s.precision, 1.0);
        assert_eq!(s.recall, 0.0);
        assert_eq!(s.f1, 0.0);
        assert_eq!(s.ari, 0.0); // index = 0, expected = 0
        assert_eq!(s.pred_clusters, 6);
    }

    #[test]
    fn hand_computed_example() {
        // n = 6, truth {a,b,c},{d,e},{f}; pred {a,b},{c,d,e},{f}.
        // true pairs  A = C(3)+C(2)+C(1) = 3+1+0 = 4
        // pred pairs  B = C(2)+C(3)+C(1) = 1+3+0 = 4
        // contingency: {a,b,c}∩{a,b}=2, {a,b,c}∩{c,d,e}=1, {d,e}∩{c,d,e}=2, {f}∩{f}=1
        // index = C(2)+C(1)+C(2)+C(1) = 1+0+1+0 = 2 = correct pairs ((a,b),(d,e))
        // P = 2/4 = 0.5, R = 2/4 = 0.5, F1 = 0.5
        // C(n) = 15, expected = A·B/C(n) = 16/15, max = (4+4)/2 = 4
        // ARI = (2 - 16/15) / (4 - 16/15) = (14/15) / (44/15) = 14/44 = 7/22
        let t = part(&[&["a", "b", "c"], &["d", "e"], &["f"]]);
        let p = part(&[&["a", "b"], &["c", "d", "e"], &["f"]]);
        let s = score(&p, &t);
        assert_eq!((s.true_pairs, s.pred_pairs, s.correct_pairs), (4, 4, 2));
        assert!(close(s.precision, 0.5));
        assert!(close(s.recall, 0.5));
        assert!(close(s.f1, 0.5));
        assert!(close(s.ari, 7.0 / 22.0), "ari = {}", s.ari);
        // Symmetric.
        assert!(close(score(&t, &p).ari, 7.0 / 22.0));
    }

    #[test]
    fn negative_ari() {
        // truth {a,b},{c,d}; pred {a,c},{b,d}: index 0, A = B = 2, C(4) = 6,
        // expected = 4/6 = 2/3, max = 2: ARI = (0 - 2/3)/(2 - 2/3) = -1/2.
        let t = part(&[&["a", "b"], &["c", "d"]]);
        let p = part(&[&["a", "c"], &["b", "d"]]);
        assert!(close(score(&p, &t).ari, -0.5));
    }

    #[test]
    fn label_permutation_invariance() {
        let t = part(&[&["a", "b", "c"], &["d", "e"], &["f", "g"]]);
        let p = part(&[&["a", "b"], &["c", "d", "e"], &["f", "g"]]);
        let base = score(&p, &t);
        let relabel = |m: &HashMap<String, String>, f: &dyn Fn(&str) -> String| {
            m.iter()
                .map(|(k, v)| (k.clone(), f(v)))
                .collect::<HashMap<_, _>>()
        };
        let p2 = relabel(&p, &|v| {
            format!("zz-{}", v.chars().rev().collect::<String>())
        });
        let t2 = relabel(&t, &|v| match v {
            "c0" => "c2".into(),
            "c2" => "c0".into(),
            x => x.into(),
        });
        assert_eq!(score(&p2, &t), base);
        assert_eq!(score(&p, &t2), base);
        assert_eq!(score(&p2, &t2), base);
    }

    #[test]
    fn missing_and_extra_ids() {
        let t = part(&[&["a", "b", "c"], &["d", "e"]]);
        // c and e missing from pred; x, y extra.
        let p = part(&[&["a", "b", "x"], &["d", "y"]]);
        let s = score(&p, &t);
        assert_eq!(s.documents, 5);
        assert_eq!(s.missing_in_pred, 2);
        assert_eq!(s.extra_in_pred, 2);
        // Effective pred over truth ids: {a,b},{d},{c},{e}.
        assert_eq!(s.pred_clusters, 4);
        assert_eq!((s.true_pairs, s.pred_pairs, s.correct_pairs), (4, 1, 1));
        assert_eq!(s.precision, 1.0);
        assert!(close(s.recall, 0.25));
        // Same as scoring the explicit singleton version.
        let explicit = part(&[&["a", "b"], &["d"], &["c"], &["e"]]);
        let s2 = score(&explicit, &t);
        assert_eq!(
            (s2.precision, s2.recall, s2.f1, s2.ari),
            (s.precision, s.recall, s.f1, s.ari)
        );
        // Empty prediction: everything missing.
        let s3 = score(&HashMap::new(), &t);
        assert_eq!(
            (s3.missing_in_pred, s3.pred_pairs, s3.precision, s3.recall),
            (5, 0, 1.0, 0.0)
        );
    }

    /// Tiny deterministic LCG (Knuth MMIX constants).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// O(n^2) reference: enumerate all pairs of truth ids.
    fn brute(
        pred: &HashMap<String, String>,
        truth: &HashMap<String, String>,
    ) -> (u64, u64, u64, f64) {
        let ids: Vec<&String> = truth.keys().collect();
        // a: together in both, b: truth only, c: pred only, d: neither.
        let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                let st = truth[ids[i]] == truth[ids[j]];
                let sp = match (pred.get(ids[i]), pred.get(ids[j])) {
                    (Some(x), Some(y)) => x == y,
                    _ => false,
                };
                match (st, sp) {
                    (true, true) => a += 1,
                    (true, false) => b += 1,
                    (false, true) => c += 1,
                    (false, false) => d += 1,
                }
            }
        }
        // ARI in pair-count form (Steinley 2004):
        // 2(ad - bc) / ((a+b)(b+d) + (a+c)(c+d)).
        let (fa, fb, fc, fd) = (a as f64, b as f64, c as f64, d as f64);
        let den = (fa + fb) * (fb + fd) + (fa + fc) * (fc + fd);
        let ari = if den == 0.0 {
            if b == 0 && c == 0 {
                1.0
            } else {
                0.0
            }
        } else {
            2.0 * (fa * fd - fb * fc) / den
        };
        (a + b, a + c, a, ari)
    }

    #[test]
    fn matches_brute_force_on_random_partitions() {
        let mut rng = Lcg(0x5eed);
        for round in 0..400 {
            let n = rng.below(25) as usize;
            let kt = 1 + rng.below(8);
            let kp = 1 + rng.below(8);
            let mut truth = HashMap::new();
            let mut pred = HashMap::new();
            for i in 0..n {
                truth.insert(format!("d{i}"), format!("t{}", rng.below(kt)));
                if rng.below(10) != 0 {
                    pred.insert(format!("d{i}"), format!("p{}", rng.below(kp)));
                }
            }
            for i in 0..rng.below(3) {
                pred.insert(format!("extra{i}"), format!("p{}", rng.below(kp)));
            }
            // Sometimes use the truth itself as the prediction.
            if round % 17 == 0 {
                pred = truth.clone();
            }
            let s = score(&pred, &truth);
            let (tp, pp, cp, ari) = brute(&pred, &truth);
            assert_eq!(
                (s.true_pairs, s.pred_pairs, s.correct_pairs),
                (tp, pp, cp),
                "round {round}"
            );
            assert!(close(s.ari, ari), "round {round}: {} vs {}", s.ari, ari);
            assert!((-0.5 - 1e-12..=1.0 + 1e-12).contains(&s.ari));
            assert!((0.0..=1.0).contains(&s.f1));
            // Symmetry of F1 / ARI and swap of P / R when ids coincide.
            if pred.len() == truth.len() && s.missing_in_pred == 0 {
                let r = score(&truth, &pred);
                assert!(close(r.ari, s.ari) && close(r.f1, s.f1));
                assert!(close(r.precision, s.recall) && close(r.recall, s.precision));
            }
        }
    }

    #[test]
    fn large_counts_do_not_overflow() {
        // Exercise the arithmetic directly with sizes far beyond memory:
        // n = 3e9 in one cluster in both -> identical, degenerate.
        let t = pairs(3_000_000_000);
        assert_eq!(t, 4_499_999_998_500_000_000);
        assert_eq!(ari_from_sums(t, t, t, t), 1.0);
        // Huge but consistent values still yield a finite ARI in range.
        let a = t / 3;
        let v = ari_from_sums(a / 2, a, a, t);
        assert!(v.is_finite() && v > -0.5 && v < 1.0);
        // Beyond i128 range for the exact path: f64 fallback.
        let big = pairs(1 << 40);
        assert_eq!(ari_from_sums(big, big, big, big), 1.0);
        assert_eq!(ari_from_sums(0, 0, 0, big), 1.0);
        assert_eq!(ari_from_sums(0, big / 2, 0, big), 0.0);
        // index = T/4, A = B = T/2: expected = T/4 = index, so ARI = 0.
        let v = ari_from_sums(big / 4, big / 2, big / 2, big);
        assert!(v.abs() < 1e-9, "{v}");
        // index = A = T/2, B = T: num = 2(T/2·T - T/2·T) = 0,
        // den = T/2·(T-T) + T·(T-T/2) > 0, so ARI = 0.
        assert!(ari_from_sums(big / 2, big / 2, big, big).abs() < 1e-9);
    }

    fn write_file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(content.as_bytes()).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_assignment_lines() {
        let (_d, path) = write_file(
            "labels.jsonl",
            "{\"id\": \"a\", \"cluster\": \"x\"}\n\
             \n\
             {\"id\": 7, \"cluster\": 3, \"extra\": true}\r\n\
             {\"id\": \"b\", \"cluster\": \"x\"}",
        );
        let m = read_assignments(&path).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m["a"], "x");
        assert_eq!(m["b"], "x");
        assert_eq!(m["7"], "3");
    }

    #[test]
    fn reads_cluster_records_and_mixed() {
        let (_d, path) = write_file(
            "pred.jsonl",
            "{\"cluster\": 0, \"representative\": {\"id\": \"a\"}, \"members\": [{\"id\": \"a\"}, {\"id\": \"b\", \"score\": 0.9}]}\n\
             {\"cluster\": \"1\", \"representative\": \"c\", \"members\": [{\"id\": \"c\"}, \"d\", 42]}\n\
             {\"id\": \"e\", \"cluster\": 0}\n",
        );
        let m = read_assignments(&path).unwrap();
        assert_eq!(m.len(), 6);
        assert_eq!(m["a"], "0");
        assert_eq!(m["b"], "0");
        assert_eq!(m["c"], "1");
        assert_eq!(m["d"], "1");
        assert_eq!(m["42"], "1");
        // Integer 0 in shape (a) is the same label as cluster 0 in shape (b).
        assert_eq!(m["e"], "0");
    }

    fn err_of(content: &str) -> String {
        let (_d, path) = write_file("labels.jsonl", content);
        let e = read_assignments(&path).unwrap_err();
        assert!(matches!(e, EvalError::Parse { .. }), "{e:?}");
        let s = e.to_string();
        let prefix = format!("{}:", path.display());
        assert!(s.starts_with(&prefix), "{s}");
        s[prefix.len()..].to_string()
    }

    #[test]
    fn bad_lines_report_file_and_line() {
        let ok = "{\"id\": \"a\", \"cluster\": 1}\n";
        assert_eq!(
            err_of(&format!("{ok}\n{{\"id\": \"b\"}}\n")),
            "3: missing field \"cluster\""
        );
        assert_eq!(err_of("{\"cluster\": 1}\n"), "1: missing field \"id\"");
        assert!(
            err_of("{\"a\": \"x\", \"b\": \"y\", \"similarity\": 0.9}\n")
                .starts_with("1: missing field \"cluster\": this is a pair (`--format pairs`)")
        );
        assert!(err_of(&format!("{ok}not json\n")).starts_with("2: invalid JSON"));
        assert!(err_of("[1, 2]\n").starts_with("1: expected a JSON object"));
        assert!(err_of("{\"id\": \"a\", \"cluster\": 1.5}\n")
            .starts_with("1: field \"cluster\" must be a string or integer"));
        assert!(err_of("{\"id\": null, \"cluster\": 1}\n")
            .starts_with("1: field \"id\" must be a string or integer"));
        assert!(err_of("{\"cluster\": 1, \"members\": {}}\n")
            .starts_with("1: field \"members\" must be an array"));
        assert_eq!(
            err_of("{\"cluster\": 1, \"members\": [{\"id\": \"a\"}, {\"x\": 1}]}\n"),
            "1: members[1]: missing field \"id\""
        );
        assert!(err_of("{\"cluster\": 1, \"members\": [true]}\n")
            .starts_with("1: members[0]: field \"id\""));
    }

    #[test]
    fn duplicate_ids_are_errors() {
        let e = err_of("{\"id\": \"a\", \"cluster\": 1}\n{\"id\": \"b\", \"cluster\": 1}\n{\"id\": \"a\", \"cluster\": 2}\n");
        assert_eq!(e, "3: duplicate id \"a\" (first seen on line 1)");
        // Integer and string forms of an id collide.
        let e = err_of(
            "{\"id\": 5, \"cluster\": 1}\n{\"cluster\": 2, \"members\": [{\"id\": \"5\"}]}\n",
        );
        assert_eq!(e, "2: duplicate id \"5\" (first seen on line 1)");
        // Twice inside one record.
        let e = err_of("{\"cluster\": 2, \"members\": [\"x\", \"x\"]}\n");
        assert_eq!(e, "1: duplicate id \"x\"");
    }

    #[test]
    fn io_error_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.jsonl");
        let e = read_assignments(&path).unwrap_err();
        assert!(matches!(e, EvalError::Io { .. }));
        assert!(
            e.to_string().starts_with(&format!("{}: ", path.display())),
            "{e}"
        );
    }

    #[test]
    fn scores_serialize_to_json() {
        let t = part(&[&["a", "b"]]);
        let v = serde_json::to_value(score(&t, &t)).unwrap();
        assert_eq!(v["documents"], 2);
        assert_eq!(v["ari"], 1.0);
        assert!(score(&t, &t).to_string().contains("ARI 1.0000"));
    }
}
