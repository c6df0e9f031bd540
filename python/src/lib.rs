//! `wiredup._wiredup`: the Python extension module (PyO3). A thin layer: keyword arguments
//! become a `wiredup::pipeline::Options` (the same conversion the command line uses), work runs
//! in the library with the GIL released and rayon parallel inside, results come back as plain
//! Python values. The typed, documented API is `python/wiredup/__init__.py` (stubs in
//! `__init__.pyi`); the stage-by-stage functions at the end serve the Spark pipeline
//! (`wiredup.spark`), which must reproduce `wiredup cluster` exactly.
//!
//! Hashes cross into Python as signed 64-bit integers (their bits unchanged), because Spark's
//! `LongType` is signed.

use std::collections::HashSet;
use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use rayon::prelude::*;

use wiredup::boilerplate::Boilerplate;
use wiredup::cluster::{self, RepKey};
use wiredup::index::{Index as WdIndex, IndexError, Match};
use wiredup::io::{Document, Origin};
use wiredup::lsh;
use wiredup::minhash::{Hasher, Scheme};
use wiredup::output::{self, Format};
use wiredup::pipeline::{self, Config, Options, ParagraphMeta, Prepared};
use wiredup::shingle::{Shingle, ShingleKind};
use wiredup::verify::{self, PairScore};

/// Keyword arguments to options; unknown names are errors (a typo must not be ignored).
fn options(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let mut o = Options::default();
    if let Some(kw) = kwargs {
        for (k, v) in kw.iter() {
            let key: String = k.extract()?;
            match key.as_str() {
                "threshold" => o.threshold = v.extract()?,
                "containment" => o.containment = v.extract()?,
                "shingle" => {
                    let s: String = v.extract()?;
                    o.shingle = match s.as_str() {
                        "words" => ShingleKind::Words,
                        "chars" => ShingleKind::Chars,
                        _ => {
                            return Err(PyValueError::new_err(format!(
                                "shingle must be 'words' or 'chars', got {s:?}"
                            )))
                        }
                    }
                }
                "k" => o.k = v.extract()?,
                "num_perm" => o.num_perm = v.extract()?,
                "seed" => o.seed = v.extract()?,
                "sketch" => {
                    let s: String = v.extract()?;
                    o.sketch = match s.as_str() {
                        "oph" => Scheme::Oph,
                        "classic" => Scheme::Classic,
                        _ => {
                            return Err(PyValueError::new_err(format!(
                                "sketch must be 'oph' or 'classic', got {s:?}"
                            )))
                        }
                    }
                }
                "lsh_threshold" => o.lsh_threshold = v.extract()?,
                "bands_rows" => o.bands_rows = v.extract()?,
                "boilerplate_per_source" => o.boilerplate_per_source = v.extract()?,
                "boilerplate_docs" => o.boilerplate_docs = v.extract()?,
                "guard" => o.guard = v.extract()?,
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "unknown option {key:?} (known: threshold, containment, shingle, k, num_perm, seed, sketch, lsh_threshold, bands_rows, boilerplate_per_source, boilerplate_docs, guard)"
                    )))
                }
            }
        }
    }
    o.to_config().map_err(PyValueError::new_err)
}

/// Documents from parallel lists; ids must be unique.
fn documents(
    ids: Vec<String>,
    texts: Vec<String>,
    sources: Option<Vec<Option<String>>>,
    published: Option<Vec<Option<String>>>,
) -> PyResult<Vec<Document>> {
    let n = ids.len();
    let check = |what: &str, len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(PyValueError::new_err(format!(
                "{what} has {len} entries but ids has {n}"
            )))
        }
    };
    check("texts", texts.len())?;
    let sources = sources.unwrap_or_else(|| vec![None; n]);
    let published = published.unwrap_or_else(|| vec![None; n]);
    check("sources", sources.len())?;
    check("published", published.len())?;
    let mut seen = HashSet::with_capacity(n);
    let mut docs = Vec::with_capacity(n);
    for (i, (((id, text), source), published)) in ids
        .into_iter()
        .zip(texts)
        .zip(sources)
        .zip(published)
        .enumerate()
    {
        if id.is_empty() {
            return Err(PyValueError::new_err(format!("document {i}: empty id")));
        }
        if !seen.insert(id.clone()) {
            return Err(PyValueError::new_err(format!("duplicate id {id:?}")));
        }
        docs.push(Document {
            id,
            text,
            source,
            published,
            origin: Origin::new("<python>", i as u64 + 1),
            record: None,
        });
    }
    Ok(docs)
}

/// Runs `cluster` and returns its output lines (JSON), exactly as the command line writes them.
#[pyfunction]
#[pyo3(signature = (ids, texts, sources=None, published=None, format="assignments", **kwargs))]
fn cluster_lines(
    py: Python<'_>,
    ids: Vec<String>,
    texts: Vec<String>,
    sources: Option<Vec<Option<String>>>,
    published: Option<Vec<Option<String>>>,
    format: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<String>> {
    // Only the clusters are written: the story sets outside candidate pairs need no sorting.
    let cfg = Config {
        sort_all_sets: false,
        ..options(kwargs)?
    };
    let format = match format {
        "assignments" => Format::Assignments,
        "clusters" => Format::Clusters,
        "pairs" => Format::Pairs,
        f => {
            return Err(PyValueError::new_err(format!(
                "format must be 'assignments', 'clusters' or 'pairs', got {f:?}"
            )))
        }
    };
    let docs = documents(ids, texts, sources, published)?;
    let bytes = py.detach(|| {
        let out = pipeline::run(&docs, &cfg);
        let mut buf = Vec::new();
        output::write_clusters(&mut buf, &docs, &out, format).map(|()| buf)
    });
    let bytes = bytes.map_err(|e| PyOSError::new_err(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(text.lines().map(str::to_owned).collect())
}

/// Signatures (little-endian u32 x num_perm, or None for a document without words) and LSH band
/// keys of the whole text of each document, in parallel with the GIL released.
#[pyfunction]
#[pyo3(signature = (texts, **kwargs))]
#[allow(clippy::type_complexity)]
fn sign<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<(Option<Bound<'py, PyBytes>>, Vec<i64>)>> {
    let cfg = options(kwargs)?;
    let results: Vec<(Option<Vec<u8>>, Vec<i64>)> = py.detach(|| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut prepared = pipeline::normalize_all(&refs, &cfg);
        let none = Boilerplate::default();
        let signer = Signer::new(&cfg);
        prepared
            .par_iter_mut()
            .map(|p| {
                pipeline::story_set_of(p, &none);
                signer.sign(&p.shingles)
            })
            .collect()
    });
    Ok(results
        .into_iter()
        .map(|(sig, keys)| (sig.map(|s| PyBytes::new(py, &s)), keys))
        .collect())
}

/// What signing needs, built once per call (the band layout is an optimisation over band
/// counts, far too costly to redo per document).
struct Signer {
    hasher: Hasher,
    ranges: Vec<(usize, usize)>,
}

impl Signer {
    fn new(cfg: &Config) -> Self {
        Signer {
            hasher: Hasher::new(&cfg.minhash),
            ranges: cfg.lsh_params().ranges(cfg.minhash.num_perm),
        }
    }

    /// Signature bytes and band keys of one story set (`None` and no keys when it is empty).
    fn sign(&self, set: &[Shingle]) -> (Option<Vec<u8>>, Vec<i64>) {
        let mut sig = vec![0u32; self.hasher.num_perm()];
        if !self.hasher.sign_into(set, &mut sig) {
            return (None, Vec::new());
        }
        let keys = self
            .ranges
            .iter()
            .enumerate()
            .map(|(band, &(start, r))| lsh::band_key(&sig[start..start + r], band) as i64)
            .collect();
        let bytes = sig.iter().flat_map(|v| v.to_le_bytes()).collect();
        (Some(bytes), keys)
    }
}

fn index_err(e: IndexError) -> PyErr {
    match e {
        IndexError::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

fn match_dict<'py>(py: Python<'py>, m: &Match) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &m.id)?;
    d.set_item("similarity", m.similarity)?;
    d.set_item("jaccard", m.jaccard)?;
    d.set_item("containment_query_in_match", m.containment_query_in_match)?;
    d.set_item("containment_match_in_query", m.containment_match_in_query)?;
    Ok(d)
}

/// What adding one document decided: the id it duplicates (if any) and its matches.
type DecisionOut<'py> = (Option<String>, Vec<Bound<'py, PyDict>>);

/// A persistent index of documents (see `wiredup index` and `wiredup stream`).
#[pyclass(name = "Index", module = "wiredup._wiredup")]
struct PyIndex {
    inner: WdIndex,
}

#[pymethods]
impl PyIndex {
    /// An empty index with these options.
    #[new]
    #[pyo3(signature = (**kwargs))]
    fn new(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let cfg = options(kwargs)?;
        Ok(PyIndex {
            inner: WdIndex::new(&cfg).map_err(index_err)?,
        })
    }

    /// Builds an index from a corpus (its boilerplate learned from it, its clusters as
    /// `cluster` finds them).
    #[staticmethod]
    #[pyo3(signature = (ids, texts, sources=None, published=None, **kwargs))]
    fn build(
        py: Python<'_>,
        ids: Vec<String>,
        texts: Vec<String>,
        sources: Option<Vec<Option<String>>>,
        published: Option<Vec<Option<String>>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let cfg = options(kwargs)?;
        let docs = documents(ids, texts, sources, published)?;
        let inner = py
            .detach(|| WdIndex::build(&docs, &cfg))
            .map_err(index_err)?;
        Ok(PyIndex { inner })
    }

    /// Opens an index file.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| WdIndex::open(&path)).map_err(index_err)?;
        Ok(PyIndex { inner })
    }

    /// Saves the index atomically.
    fn save(&mut self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| inner.save(&path)).map_err(index_err)
    }

    /// Adds documents in order; returns for each the id it duplicates (or None) and its
    /// matches, best first.
    #[pyo3(signature = (ids, texts, sources=None, published=None))]
    fn add<'py>(
        &mut self,
        py: Python<'py>,
        ids: Vec<String>,
        texts: Vec<String>,
        sources: Option<Vec<Option<String>>>,
        published: Option<Vec<Option<String>>>,
    ) -> PyResult<Vec<DecisionOut<'py>>> {
        let docs = documents(ids, texts, sources, published)?;
        let inner = &mut self.inner;
        let decisions = py.detach(|| inner.add(&docs)).map_err(index_err)?;
        decisions
            .iter()
            .map(|d| {
                let ms = d
                    .matches
                    .iter()
                    .map(|m| match_dict(py, m))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok((d.dup_of.clone(), ms))
            })
            .collect()
    }

    /// Documents in the index that the text copies or is copied by, best first.
    fn query<'py>(&self, py: Python<'py>, text: String) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let doc = Document {
            id: "query".to_owned(),
            text,
            source: None,
            published: None,
            origin: Origin::new("<python>", 0),
            record: None,
        };
        let inner = &self.inner;
        let results = py.detach(|| inner.query(std::slice::from_ref(&doc)));
        results
            .into_iter()
            .flat_map(|r| r.matches)
            .map(|m| match_dict(py, &m))
            .collect()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, id: &str) -> bool {
        self.inner.contains(id)
    }
}

// -------------------------------------------------------------------------------------------
// Stage by stage, for the Spark pipeline
// -------------------------------------------------------------------------------------------

/// A prepared document: paragraph hashes, word counts, shingle ends, raw shingles (LE u32).
type PreparedRow<'py> = (Vec<i64>, Vec<u32>, Vec<u32>, Bound<'py, PyBytes>);

/// Normalizes and shingles texts (in parallel, GIL released): per document its paragraph
/// hashes, their word counts, where each paragraph's shingles end, and the raw shingles.
#[pyfunction]
#[pyo3(signature = (texts, **kwargs))]
fn prepare<'py>(
    py: Python<'py>,
    texts: Vec<String>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<PreparedRow<'py>>> {
    let cfg = options(kwargs)?;
    let prepared = py.detach(|| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        pipeline::normalize_all(&refs, &cfg)
    });
    Ok(prepared
        .into_iter()
        .map(|p| {
            let sh: Vec<u8> = p.shingles.iter().flat_map(|v| v.to_le_bytes()).collect();
            (
                p.paragraphs.iter().map(|&h| h as i64).collect(),
                p.paragraph_meta.iter().map(|m| m.words).collect(),
                p.paragraph_meta.iter().map(|m| m.shingle_end).collect(),
                PyBytes::new(py, &sh),
            )
        })
        .collect())
}

/// Shingles from their little-endian bytes (32 bits each, as `wiredup::shingle::Shingle`).
fn shingles_of(b: &[u8]) -> PyResult<Vec<Shingle>> {
    if !b.len().is_multiple_of(4) {
        return Err(PyValueError::new_err(
            "shingle bytes: length not a multiple of 4",
        ));
    }
    Ok(b.chunks_exact(4)
        .map(|c| {
            let mut x = [0u8; 4];
            x.copy_from_slice(c);
            u32::from_le_bytes(x)
        })
        .collect())
}

fn u32s(b: &[u8]) -> PyResult<Vec<u32>> {
    if !b.len().is_multiple_of(4) {
        return Err(PyValueError::new_err(
            "signature bytes: length not a multiple of 4",
        ));
    }
    Ok(b.chunks_exact(4)
        .map(|c| {
            let mut x = [0u8; 4];
            x.copy_from_slice(c);
            u32::from_le_bytes(x)
        })
        .collect())
}

/// A signed story row: story set (LE u32), signature (or None), band keys, all-boilerplate.
type StoryRow<'py> = (
    Bound<'py, PyBytes>,
    Option<Bound<'py, PyBytes>>,
    Vec<i64>,
    bool,
);

/// Story sets (boilerplate paragraphs removed, sorted, distinct), signatures and band keys of
/// prepared documents, given the corpus's boilerplate paragraph hashes.
#[pyfunction]
#[pyo3(signature = (rows, boilerplate, **kwargs))]
#[allow(clippy::type_complexity)]
fn story_sign<'py>(
    py: Python<'py>,
    rows: Vec<(Vec<i64>, Vec<u32>, Vec<u32>, Vec<u8>)>,
    boilerplate: Vec<i64>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<StoryRow<'py>>> {
    let cfg = options(kwargs)?;
    let mut prepared = Vec::with_capacity(rows.len());
    for (paras, words, ends, sh) in rows {
        if paras.len() != words.len() || paras.len() != ends.len() {
            return Err(PyValueError::new_err("paragraph lists differ in length"));
        }
        let shingles = shingles_of(&sh)?;
        let mut prev = 0u32;
        for &e in &ends {
            if e < prev || e as usize > shingles.len() {
                return Err(PyValueError::new_err("paragraph shingle ends out of order"));
            }
            prev = e;
        }
        prepared.push(Prepared {
            paragraphs: paras.iter().map(|&h| h as u64).collect(),
            paragraph_meta: words
                .iter()
                .zip(&ends)
                .map(|(&w, &e)| ParagraphMeta {
                    words: w,
                    shingle_end: e,
                })
                .collect(),
            shingles,
            all_boilerplate: false,
            published: None,
        });
    }
    let bp = Boilerplate::from_hashes(boilerplate.iter().map(|&h| h as u64));
    let out: Vec<(Vec<u8>, Option<Vec<u8>>, Vec<i64>, bool)> = py.detach(|| {
        let signer = Signer::new(&cfg);
        prepared
            .par_iter_mut()
            .map(|p| {
                pipeline::story_set_of(p, &bp);
                let (sig, keys) = signer.sign(&p.shingles);
                let set: Vec<u8> = p.shingles.iter().flat_map(|v| v.to_le_bytes()).collect();
                (set, sig, keys, p.all_boilerplate)
            })
            .collect()
    });
    Ok(out
        .into_iter()
        .map(|(set, sig, keys, all)| {
            (
                PyBytes::new(py, &set),
                sig.map(|s| PyBytes::new(py, &s)),
                keys,
                all,
            )
        })
        .collect())
}

/// Candidate pairs of one bucket (documents sharing a band key or a story paragraph), with
/// the command line's bucket caps; `docs` in any order.
#[pyfunction]
fn bucket_pairs(mut docs: Vec<u32>) -> Vec<(u32, u32)> {
    let limits = Config::default().buckets;
    let mut entries: Vec<(u64, u32)> = docs.drain(..).map(|d| (0, d)).collect();
    let mut out = Vec::new();
    lsh::bucket_pairs(&mut entries, &limits, &mut out);
    out.sort_unstable();
    out.dedup();
    out
}

/// A verified pair: (a, b, intersection, size_a, size_b).
type PairOut = (u32, u32, u32, u32, u32);

/// A candidate pair with both documents' story sets and signatures.
type PairIn = (u32, u32, Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<Vec<u8>>);

/// Verifies candidate pairs as `cluster` does (signature pre-filter, then exact scores);
/// returns the copies as (a, b, intersection, size_a, size_b).
#[pyfunction]
#[pyo3(signature = (pairs, **kwargs))]
fn verify_pairs(
    py: Python<'_>,
    pairs: Vec<PairIn>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<PairOut>> {
    let cfg = options(kwargs)?;
    let mut decoded = Vec::with_capacity(pairs.len());
    for (a, b, sa, sb, ga, gb) in pairs {
        let ga = ga.as_deref().map(u32s).transpose()?;
        let gb = gb.as_deref().map(u32s).transpose()?;
        decoded.push((a, b, shingles_of(&sa)?, shingles_of(&sb)?, ga, gb));
    }
    Ok(py.detach(|| {
        decoded
            .par_iter()
            .filter_map(|(a, b, sa, sb, ga, gb)| {
                verify::verify_pair(
                    *a,
                    *b,
                    (sa, ga.as_deref()),
                    (sb, gb.as_deref()),
                    &cfg.verify,
                )
                .0
            })
            .map(|s| (s.a, s.b, s.intersection, s.size_a, s.size_b))
            .collect()
    }))
}

/// One member of a clustered component: (doc, cluster label = its lowest member,
/// representative, intersection, size, representative's size).
type MemberOut = (u32, u32, u32, u32, u32, u32);

/// Clusters one connected component of verified pairs as `cluster` does (guarded union-find,
/// representative = earliest published, else longest, else first). `members` ascending, with
/// their story sets (LE u32) and published times; `pairs` as from `verify_pairs`.
#[pyfunction]
#[pyo3(signature = (members, sets, published, pairs, **kwargs))]
fn cluster_component(
    py: Python<'_>,
    members: Vec<u32>,
    sets: Vec<Vec<u8>>,
    published: Vec<Option<String>>,
    pairs: Vec<PairOut>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<MemberOut>> {
    let cfg = options(kwargs)?;
    if sets.len() != members.len() || published.len() != members.len() {
        return Err(PyValueError::new_err(
            "members, sets and published differ in length",
        ));
    }
    if members.windows(2).any(|w| w[0] >= w[1]) {
        return Err(PyValueError::new_err(
            "members must be ascending and distinct",
        ));
    }
    let sets: Vec<Vec<Shingle>> = sets.iter().map(|s| shingles_of(s)).collect::<PyResult<_>>()?;
    let local = |d: u32| {
        members
            .binary_search(&d)
            .map(|i| i as u32)
            .map_err(|_| PyValueError::new_err(format!("pair names {d}, not a member")))
    };
    let mut lpairs = Vec::with_capacity(pairs.len());
    for (a, b, inter, sa, sb) in pairs {
        lpairs.push(PairScore {
            a: local(a)?,
            b: local(b)?,
            intersection: inter,
            size_a: sa,
            size_b: sb,
        });
    }
    Ok(py.detach(|| {
        let m = members.len();
        let sizes: Vec<u32> = sets.iter().map(|s| s.len() as u32).collect();
        let link = cfg.link_config();
        let labels = cluster::cluster(m, &lpairs, &sizes, &cfg.cluster, |x, y| {
            PairScore::exact(x, y, &sets[x as usize], &sets[y as usize]).passes(&link)
        });
        let keys: Vec<RepKey> = published
            .iter()
            .zip(&sizes)
            .map(|(p, &length)| pipeline::rep_key(p.as_deref(), length))
            .collect();
        let mut out = Vec::with_capacity(m);
        for group in cluster::groups(&labels) {
            let Some((rep, scored)) = pipeline::score_group(&group, &keys, &sets) else {
                continue;
            };
            for s in scored {
                let x = s.doc as usize;
                out.push((
                    members[x],
                    members[labels[x] as usize],
                    members[rep as usize],
                    s.score.intersection,
                    s.score.size_a,
                    s.score.size_b,
                ));
            }
        }
        out.sort_unstable();
        out
    }))
}

/// The corpus-wide boilerplate threshold for `n` documents under these options.
#[pyfunction]
#[pyo3(signature = (n, **kwargs))]
fn boilerplate_thresholds(
    n: usize,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<(usize, usize)> {
    let cfg = options(kwargs)?;
    Ok((
        cfg.boilerplate.min_source_docs,
        cfg.boilerplate.corpus_threshold(n),
    ))
}

/// The shared-paragraph candidate rule: minimum words of a paragraph key, and whether on.
#[pyfunction]
fn paragraph_key_rule() -> (bool, u32) {
    let c = Config::default();
    (c.paragraph_candidates, c.min_paragraph_words as u32)
}

#[pymodule]
fn _wiredup(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(cluster_lines, m)?)?;
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    m.add_class::<PyIndex>()?;
    m.add_function(wrap_pyfunction!(prepare, m)?)?;
    m.add_function(wrap_pyfunction!(story_sign, m)?)?;
    m.add_function(wrap_pyfunction!(bucket_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(verify_pairs, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_component, m)?)?;
    m.add_function(wrap_pyfunction!(boilerplate_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(paragraph_key_rule, m)?)?;
    Ok(())
}
