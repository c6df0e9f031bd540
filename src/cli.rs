//! The command line: clap types, converted once into the library's [`wiredup::pipeline::Config`]
//! and [`wiredup::io::ReadOptions`]. Nothing below this layer sees clap.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use wiredup::io::ReadOptions;
use wiredup::lsh::LshParams;
use wiredup::minhash::Scheme;
use wiredup::output::Format;
use wiredup::pipeline::{Banding, Config, Options};
use wiredup::shingle::{ShingleConfig, ShingleKind};

/// Find copies of the same news story: wire copy republished by outlets and scraped reposts.
#[derive(Debug, Parser)]
#[command(name = "wiredup", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Group documents into clusters of copies of the same story.
    Cluster {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        detect: DetectArgs,
        #[command(flatten)]
        out: ClusterOutArgs,
        #[command(flatten)]
        spill: SpillArgs,
    },
    /// Write the input records keeping one per story (the representative).
    Dedup {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        detect: DetectArgs,
        /// Write to this file (atomically); `-` for standard output.
        #[arg(short, long)]
        output: PathBuf,
        /// Keep every record and add `dup_of` and `similarity` to the duplicates.
        #[arg(long)]
        annotate: bool,
        #[command(flatten)]
        spill: SpillArgs,
    },
    /// Compare two documents: similarity, containment both ways, and what each adds.
    Compare {
        /// First document: a file (.txt, .html, or JSONL with one record), or an id when
        /// --input is given.
        a: String,
        /// Second document, as the first.
        b: String,
        /// Look A and B up by id in these inputs (boilerplate is then learned from them).
        #[arg(long = "input", value_name = "INPUT")]
        inputs: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        read: ReadArgs,
        #[command(flatten)]
        detect: DetectArgs,
    },
    /// Normalize and shingle one shard of a corpus into a shard file, for `cluster-shards` (runs
    /// split across machines that share nothing).
    Sketch {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        shingles: ShingleArgs,
        /// The shard file to write (atomically; a file, not standard output).
        #[arg(short, long, value_parser = file_path)]
        output: PathBuf,
        /// Worker threads (default: all cores). Output does not depend on it.
        #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
        /// No summary on standard error.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Cluster the documents of shard files written by `sketch`, as `cluster` would cluster
    /// their inputs read in the same order (same options, same output).
    ClusterShards {
        /// Shard files, in input order.
        #[arg(required = true, value_name = "SHARD")]
        shards: Vec<PathBuf>,
        #[command(flatten)]
        detect: DetectArgs,
        #[command(flatten)]
        out: ClusterOutArgs,
    },
    /// Keep an index of documents on disk for feeds: build, add, prune, stats, query.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
    /// Deduplicate a live feed: JSON lines on standard input, each record written to standard
    /// output as soon as it is decided (with `dup_of` and `similarity` when it copies a document
    /// already seen) and added to the index.
    Stream(StreamArgs),
    /// Score a predicted clustering against labels: pairwise precision, recall, F1 and ARI.
    Eval {
        /// Predictions: `wiredup cluster` output, in any --format but pairs.
        #[arg(long)]
        pred: PathBuf,
        /// Labels: JSON lines `{"id": ..., "cluster": ...}`.
        #[arg(long)]
        labels: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `wiredup index ...`
#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Build an index of the inputs (documents are clustered as by `wiredup cluster`).
    Build {
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        detect: DetectArgs,
        /// The index file to write (atomically; a file, not standard output).
        #[arg(short, long, value_name = "IDX", value_parser = file_path)]
        output: PathBuf,
    },
    /// Add documents to an index, one after the other (each joins the cluster of its best match
    /// among the documents before it).
    Add {
        /// The index file (updated atomically).
        #[arg(value_name = "IDX")]
        index: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        opts: IndexOptionArgs,
    },
    /// Drop the documents published before a date (feed windows).
    Prune {
        /// The index file (updated atomically).
        #[arg(value_name = "IDX")]
        index: PathBuf,
        /// ISO 8601 date or time: documents published before it are dropped (documents without
        /// a `published` time are kept).
        #[arg(long, value_name = "DATE", value_parser = iso_time)]
        before: i64,
        /// No summary on standard error.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Print what an index holds and the options it was built with.
    Stats {
        /// The index file.
        #[arg(value_name = "IDX")]
        index: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print each input document's matches in the index, best first, as JSON lines.
    ///
    /// One line per input document: {"id", "matches": [{"id", "similarity", "jaccard",
    /// "containment_query_in_match", "containment_match_in_query"}, ...]}, ordered by
    /// similarity, then containment. The index is not changed.
    Query {
        /// The index file.
        #[arg(value_name = "IDX")]
        index: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        #[command(flatten)]
        opts: IndexOptionArgs,
        /// At most this many matches per document (default: all).
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        /// Query the documents one at a time and print the per-document latency (p50, p90, p99,
        /// max) on standard error (for benchmarks; the output is the same).
        #[arg(long)]
        latency: bool,
        /// Write to this file (atomically) instead of standard output (`-`: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// `wiredup stream`
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// The index file: created (with the detection flags given, or the defaults) if missing,
    /// saved at the end of the input and at every checkpoint.
    #[arg(long, value_name = "IDX")]
    pub index: PathBuf,
    /// Compare with, and keep, only documents published at most this many days before the
    /// newest one; older ones are pruned from the index.
    #[arg(long, value_name = "DAYS", value_parser = positive_days)]
    pub window: Option<f64>,
    /// Save the index every N records (0: only at the end). Each save rewrites the whole index
    /// (about 3 KB per document), so raise N for large indexes.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub checkpoint_every: u64,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub opts: IndexOptionArgs,
}

/// Detection options for commands that use an existing index: the index keeps the options it
/// was built with, so these are only checked (a value other than the index's is refused), or,
/// for `stream` creating a new index, used to create it.
#[derive(Debug, Args)]
pub struct IndexOptionArgs {
    /// Copy threshold (see `cluster`).
    #[arg(long, value_parser = unit_interval)]
    pub threshold: Option<f64>,
    /// Containment threshold (see `cluster`).
    #[arg(long, value_parser = unit_interval)]
    pub containment: Option<f64>,
    /// Shingle unit.
    #[arg(long, value_enum)]
    pub shingle: Option<ShingleArg>,
    /// Shingle length.
    #[arg(short = 'k', long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub k: Option<u32>,
    /// MinHash signature length.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub num_perm: Option<u32>,
    /// Seed of the MinHash hash functions.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sketch.
    #[arg(long, value_enum)]
    pub sketch: Option<SketchArg>,
    /// Jaccard threshold the LSH bands are tuned for.
    #[arg(long, value_parser = unit_interval)]
    pub lsh_threshold: Option<f64>,
    /// Number of LSH bands (with --rows).
    #[arg(long, requires = "rows", value_parser = clap::value_parser!(u32).range(1..))]
    pub bands: Option<u32>,
    /// Rows per LSH band (with --bands).
    #[arg(long, requires = "bands", value_parser = clap::value_parser!(u32).range(1..))]
    pub rows: Option<u32>,
    /// Per-source boilerplate threshold.
    #[arg(long)]
    pub boilerplate_per_source: Option<usize>,
    /// Corpus-wide boilerplate threshold.
    #[arg(long)]
    pub boilerplate_docs: Option<usize>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// No summary on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl IndexOptionArgs {
    /// `base` with the flags given here applied: the configuration a command asks for.
    pub fn apply(&self, base: &Config) -> Result<Config, clap::Error> {
        let mut cfg = base.clone();
        if let Some(t) = self.threshold {
            cfg.verify.threshold = t;
        }
        if let Some(c) = self.containment {
            cfg.verify.containment = c;
        }
        if let Some(s) = self.shingle {
            cfg.shingle.kind = match s {
                ShingleArg::Words => ShingleKind::Words,
                ShingleArg::Chars => ShingleKind::Chars,
            };
            if self.k.is_none() {
                cfg.shingle.k = match cfg.shingle.kind {
                    ShingleKind::Words => ShingleConfig::default().k,
                    ShingleKind::Chars => 5,
                };
            }
        }
        if let Some(k) = self.k {
            cfg.shingle.k = k as usize;
        }
        if let Some(p) = self.num_perm {
            cfg.minhash.num_perm = p as usize;
        }
        if let Some(s) = self.seed {
            cfg.minhash.seed = s;
        }
        if let Some(s) = self.sketch {
            cfg.minhash.scheme = match s {
                SketchArg::Oph => Scheme::Oph,
                SketchArg::Classic => Scheme::Classic,
            };
        }
        match (self.bands, self.rows) {
            (Some(b), Some(r)) => {
                let (b, r) = (b as usize, r as usize);
                if b * r > cfg.minhash.num_perm {
                    return Err(Cli::command().error(
                        clap::error::ErrorKind::ValueValidation,
                        format!(
                            "--bands x --rows must be at most --num-perm ({}), got {b} x {r}",
                            cfg.minhash.num_perm
                        ),
                    ));
                }
                cfg.banding = Banding::Manual(LshParams::fixed(b, r));
            }
            _ => {
                if self.lsh_threshold.is_some() || !matches!(cfg.banding, Banding::Manual(_)) {
                    cfg.banding = Banding::Auto {
                        jaccard: self.lsh_threshold,
                        fn_weight: 0.8,
                    };
                }
            }
        }
        if let Some(n) = self.boilerplate_per_source {
            cfg.boilerplate.min_source_docs = n;
        }
        if let Some(n) = self.boilerplate_docs {
            cfg.boilerplate.min_corpus_docs = Some(n);
        }
        Ok(cfg)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutFormat {
    Clusters,
    Assignments,
    Pairs,
}

impl From<OutFormat> for Format {
    fn from(f: OutFormat) -> Self {
        match f {
            OutFormat::Clusters => Format::Clusters,
            OutFormat::Assignments => Format::Assignments,
            OutFormat::Pairs => Format::Pairs,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SketchArg {
    Oph,
    Classic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShingleArg {
    Words,
    Chars,
}

/// Where and in which shape `cluster` and `cluster-shards` write.
#[derive(Debug, Args)]
pub struct ClusterOutArgs {
    /// Output shape: clusters (one line per cluster of 2+), assignments (one line per
    /// document) or pairs (one line per verified pair).
    #[arg(long, value_enum, default_value_t = OutFormat::Clusters)]
    pub format: OutFormat,
    /// Write to this file (atomically) instead of standard output (`-`: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Out-of-core runs.
#[derive(Debug, Args)]
pub struct SpillArgs {
    /// Keep per-document data (shingles, band keys) in files under this directory instead of
    /// memory, for corpora larger than memory: peak memory about 360 bytes per document (3.5 GiB
    /// for 10 million news articles) instead of 3.7 KB, and about the input's size of free disk
    /// (the files are removed at the end). Output is identical to an in-memory run.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// With --spill-dir: at most this many MiB of story sets are verified or clustered at
    /// once (memory for it is about 1.35 times this, signatures included); a larger group of
    /// copies of one story is still kept whole.
    #[arg(long, value_name = "MIB", default_value_t = 1024, requires = "spill_dir",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub partition_mib: u64,
}

impl SpillArgs {
    /// The library's spill settings, when --spill-dir is given.
    pub fn to_config(&self) -> Option<wiredup::spill::SpillConfig> {
        self.spill_dir
            .as_ref()
            .map(|dir| wiredup::spill::SpillConfig {
                dir: dir.clone(),
                partition_bytes: self.partition_mib.saturating_mul(1 << 20),
            })
    }
}

/// Inputs and how to read them.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Input files: JSONL (.jsonl, .jsonl.gz, .jsonl.zst), .txt/.html files, directories of them,
    /// or `-` for JSONL on standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

/// How records are read.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// JSON field holding the document id.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// JSON field holding the document text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Skip malformed records (reported in the summary) instead of stopping at the first one.
    #[arg(long)]
    pub skip_bad: bool,
    /// With --skip-bad: still write the output, but exit with status 3 if any record was skipped.
    #[arg(long)]
    pub strict: bool,
    /// Largest accepted document text in bytes; longer ones are malformed records.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_doc_bytes: usize,
}

/// How documents are cut into shingles.
#[derive(Debug, Args)]
pub struct ShingleArgs {
    /// Shingle unit: words, or characters for unsegmented or OCR-damaged text.
    #[arg(long, value_enum, default_value_t = ShingleArg::Words)]
    pub shingle: ShingleArg,
    /// Shingle length in words (or characters with --shingle chars; default 5 then).
    #[arg(short = 'k', long, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub k: Option<u32>,
}

impl ShingleArgs {
    /// The library's shingle configuration.
    /// The unit and length; the length's default (3 words, 5 characters) is `Options`'.
    pub fn options(&self) -> (ShingleKind, Option<usize>) {
        let kind = match self.shingle {
            ShingleArg::Words => ShingleKind::Words,
            ShingleArg::Chars => ShingleKind::Chars,
        };
        (kind, self.k.map(|k| k as usize))
    }
}

/// Detection options. The defaults are the tuned configuration.
#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Copy threshold: the share of the longer document's story text that two documents must
    /// share.
    #[arg(long, default_value_t = 0.4, value_parser = unit_interval)]
    pub threshold: f64,
    /// Containment threshold: a document with at least this share of its story text inside
    /// another is a copy of it (truncated copies, excerpts).
    #[arg(long, default_value_t = 0.8, value_parser = unit_interval)]
    pub containment: f64,
    #[command(flatten)]
    pub shingles: ShingleArgs,
    /// MinHash signature length.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub num_perm: u32,
    /// Seed of the MinHash hash functions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Sketch: one-permutation hashing, empty bins filled by rehash rounds (fast), or classic
    /// MinHash.
    #[arg(long, value_enum, default_value_t = SketchArg::Oph)]
    pub sketch: SketchArg,
    /// Jaccard threshold the LSH bands are tuned for (default: derived from --threshold).
    #[arg(long, value_parser = unit_interval)]
    pub lsh_threshold: Option<f64>,
    /// Number of LSH bands, set by hand (with --rows; bands x rows at most --num-perm).
    #[arg(long, requires = "rows", value_parser = clap::value_parser!(u32).range(1..))]
    pub bands: Option<u32>,
    /// Rows per LSH band, set by hand (with --bands).
    #[arg(long, requires = "bands", value_parser = clap::value_parser!(u32).range(1..))]
    pub rows: Option<u32>,
    /// A paragraph found in at least this many documents of one source is boilerplate (0: off).
    #[arg(long, default_value_t = 3)]
    pub boilerplate_per_source: usize,
    /// A paragraph found in at least this many documents is boilerplate (default: max(32, n/50); 0: off).
    #[arg(long)]
    pub boilerplate_docs: Option<usize>,
    /// Use plain connected components instead of the guarded clustering.
    #[arg(long)]
    pub no_guard: bool,
    /// Worker threads (default: all cores). Output does not depend on it.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub threads: Option<u32>,
    /// No summary or progress on standard error.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl ReadArgs {
    pub fn to_options(&self, keep_records: bool) -> ReadOptions {
        ReadOptions {
            id_field: self.id_field.clone(),
            text_field: self.text_field.clone(),
            skip_bad: self.skip_bad,
            keep_records,
            max_doc_bytes: self.max_doc_bytes,
        }
    }
}

impl DetectArgs {
    /// Converts the flags into the library configuration. Ranges were checked by clap; the one
    /// cross-flag rule (bands x rows <= num_perm) is checked here, as a usage error.
    pub fn to_config(&self) -> Result<Config, clap::Error> {
        let (shingle, k) = self.shingles.options();
        let opts = Options {
            threshold: self.threshold,
            containment: self.containment,
            shingle,
            k,
            num_perm: self.num_perm as usize,
            seed: self.seed,
            sketch: match self.sketch {
                SketchArg::Oph => Scheme::Oph,
                SketchArg::Classic => Scheme::Classic,
            },
            lsh_threshold: self.lsh_threshold,
            bands_rows: self
                .bands
                .zip(self.rows)
                .map(|(b, r)| (b as usize, r as usize)),
            boilerplate_per_source: self.boilerplate_per_source,
            boilerplate_docs: self.boilerplate_docs,
            guard: !self.no_guard,
        };
        opts.to_config().map_err(|e| {
            Cli::command().error(
                clap::error::ErrorKind::ValueValidation,
                e.replace("bands x rows", "--bands x --rows")
                    .replace("num_perm", "--num-perm"),
            )
        })
    }
}

/// Parses an ISO 8601 date or time into seconds since the Unix epoch.
fn iso_time(s: &str) -> Result<i64, String> {
    wiredup::pipeline::parse_time(s).ok_or_else(|| {
        format!("{s:?} is not an ISO 8601 date or time (e.g. 2024-08-07 or 2024-08-07T06:16:00Z)")
    })
}

/// Parses the path of a binary file that is written whole and then renamed into place (a
/// clap value parser): `-` would not be standard output there but a file named `-`.
fn file_path(s: &str) -> Result<PathBuf, String> {
    if s == "-" {
        return Err(
            "this file is written whole and renamed into place: name a file, not `-`".into(),
        );
    }
    Ok(PathBuf::from(s))
}

/// Parses a positive number of days.
fn positive_days(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a positive number of days, got {v}"))
    }
}

/// Parses a number between 0 and 1 (a clap value parser, so a bad value is a usage error).
fn unit_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("must be between 0 and 1, got {v}"))
    }
}
