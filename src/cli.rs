//! The command line: raw flags (clap) resolved into library calls. `run`
//! drives a workload and writes its report; `sweep` runs it once per value of
//! a field; `report` regenerates the report of a results folder, `compare`
//! compares two, `whatif` sizes a target from one; `sign` and `verify` are
//! the tools a person debugging `SignatureDoesNotMatch` reaches for.
//!
//! Exit codes: 0 success (for `verify`: accepted); 1 a run or a sweep
//! finished but a correctness check failed (for `verify`: rejected); 2 bad
//! input or usage; 130 interrupted (what was measured is kept).

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cache::CacheBackend;
use crate::report::{comparison_table, timeline, warnings};
use crate::run::{run_workload, Output, Overrides};
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::canonical::{PathRule, Rules};
use crate::sigv4::crypto::{Backend, SecretAccessKey};
use crate::sigv4::explain::{diagnose, Expected, Verdict};
use crate::sigv4::http::Request;
use crate::sigv4::sign::{sign, Credentials, Options, Payload};
use crate::sigv4::verify::Context;
use crate::strategy::Strategy;
use crate::workload::Workload;

const AFTER_HELP: &str = "\
Examples:
  sigstorm                                   the default workload, all four strategies
  sigstorm run workloads/default.toml --strategies per-region,per-service --rate 5000
  sigstorm run --quick --out smoke           a few seconds per strategy, into ./smoke
  sigstorm report results/2026-12-03-xeon-2vcpu/default   regenerate report.html and the charts
  sigstorm compare results/RUN-A results/RUN-B       B against A, per strategy
  sigstorm verify --request signed.txt --access-key-id AKID   (secret: AWS_SECRET_ACCESS_KEY)

Exit status: 0 success (verify: accepted); 1 a correctness check failed (verify: rejected);
2 bad input or usage; 130 interrupted (what was measured is kept in summary.json).
Workload fields: workloads/README.md. The printed table: README.md, \"How to read it\".";

/// Benchmark and load generator for SigV4 identity data planes.
///
/// With no command, runs the embedded default workload once per derived-key
/// strategy (none, per-region, per-service, per-service-prekeyed) and prints
/// how they compare.
#[derive(Debug, Parser)]
#[command(name = "sigstorm", version, about, long_about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log diagnostics to stderr (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, display_order = 1000)]
    pub verbose: u8,
    /// What to do (default: `run` with the embedded default workload).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workload once per strategy, print the comparison and write
    /// results/RUN-ID/ (summary.json, events.json, histograms.hlog,
    /// report.html, summary.md and the charts).
    Run(RunArgs),
    /// Regenerate the report of a results folder (report.html, summary.md,
    /// every chart as SVG and PNG) from what it holds; nothing is re-run.
    Report(ReportArgs),
    /// Compare two results folders: per strategy, the ratios B/A of
    /// throughput and of p50, p99, p99.9 and max latency, each called better,
    /// worse or same; writes compare.svg and compare.png.
    Compare(CompareArgs),
    /// Run a workload once per value of one numeric field (and per
    /// strategy), judge each point against a latency SLO, and find the knee:
    /// the largest offered rate that meets it with nothing shed.
    Sweep(SweepArgs),
    /// From a results folder's measurements, how many data-plane workers
    /// (cores) each strategy needs for a target rate, p99, key count and
    /// region count, with every assumption printed beside the answer.
    Whatif(crate::whatif::WhatifArgs),
    /// Sign a raw HTTP/1.1 request and print the signed request.
    Sign(SignArgs),
    /// Verify a signed raw HTTP/1.1 request and explain the verdict as JSON.
    Verify(VerifyArgs),
}

/// Flags of `sigstorm run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// Workload TOML file (default: the embedded workloads/default.toml).
    pub workload: Option<PathBuf>,
    /// Strategies to run, comma-separated: none, per-region, per-service,
    /// per-service-prekeyed (overrides the workload; default: its list, or
    /// all four).
    #[arg(long, value_delimiter = ',')]
    pub strategies: Option<Vec<Strategy>>,
    /// Measured seconds per strategy, 0.1 to 3600 (overrides run.duration_s;
    /// the warm-up and the drain come on top).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Offered load, requests per second over all regions (overrides
    /// load.rate_per_sec).
    #[arg(long, value_name = "REQ_PER_SEC")]
    pub rate: Option<f64>,
    /// Seed of every random choice (overrides seed; the default workload's
    /// is 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Crypto backend of signers and verifiers (overrides crypto).
    #[arg(long, value_enum)]
    pub crypto: Option<CryptoArg>,
    /// Cache backends of the cached strategies, comma-separated: moka,
    /// quick-cache, sharded, per-thread; each cached strategy runs once per
    /// backend (overrides data_plane.cache_backends; default: moka).
    #[arg(long, value_delimiter = ',', value_name = "BACKENDS")]
    pub cache_backends: Option<Vec<CacheBackend>>,
    /// Folder for this run's files; it must not hold a summary.json already
    /// (default: results/YYYYMMDD-HHMMSS-WORKLOAD/ under the current folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress line on stderr (warnings are still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// A smoke test: 3 measured seconds per strategy, at most 1 s of
    /// warm-up and 5 s of drain (caches are colder than in a full run).
    #[arg(long)]
    pub quick: bool,
}

/// Flags of `sigstorm sweep`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  sigstorm sweep workloads/capacity.toml --vary rate=5000,10000,20000,40000,80000,160000 --slo p99=2ms
  sigstorm sweep workloads/capacity.toml --vary rate=5k,10k,20k,40k --bisect 3
  sigstorm sweep workloads/capacity.toml --vary workers=1,2,3,4 --rate 200000 --strategies per-region
  sigstorm sweep workloads/default.toml --vary principals.users=100,1000,10000
  sigstorm sweep workloads/replication-storm.toml --vary schedule[0].count=100,500

NAME is a dotted workload path (load.rate_per_sec, data_plane.workers,
data_plane.cache_capacity, principals.users, replication.delay_median_ms,
regions[1].rtt_ms, schedule[0].count, ...; any numeric field) or an alias:
rate, workers, users (or keys), cache, delay (the median propagation delay; the
p99 scales with it), regions (keep the first N of the workload's regions).

A point meets the SLO when its p99 is at most the SLO's (--slo, else the
workload's [slo] p99_ms, else no latency bound), nothing was shed, and it
achieved at least 98% of the offered rate. The knee (only when the rate is
varied) is the largest offered rate meeting it; --bisect N runs N more rates per
strategy between the knee and the next higher failing rate. Varying workers also
fits the Universal Scalability Law to the points. After a rate sweep, a
scalability probe (--usl-threads, default 1,2,3,4 on up to four cores, else 1, 2,
4, ... up to the core count) runs each strategy closed-loop
on pre-signed requests at each thread count, without the load generator, and
fits the law to that: how the verification path scales with threads (threads
beyond the machine's cores share them, and the report says so).

At the end the sweep answers a what-if from its own points, as `sigstorm whatif
--from DIR` would: the data-plane workers (cores) per region each strategy needs
for the target of --rps-per-region, --p99-ms, --keys and --regions (default:
1,000,000 req/s per region at p99 <= 5 ms, 10,000,000 keys, 17 regions), with
every assumption. It is printed after the table and kept in the report.

Writes into the folder: summary.json (kind \"sweep\"; rewritten after every point,
so an interrupted sweep keeps its points; the what-if answer under \"whatif\"),
report.html, summary.md, and the charts sweep-throughput, sweep-p99 (and
sweep-usl) as SVG and PNG.
Exit status: 0 done; 1 done, but a correctness check failed at some point (stale
accepts, unexpected rejections or accepts; every file is still written); 2 bad input;
130 interrupted (the points so far are kept).")]
pub struct SweepArgs {
    /// Workload TOML file (default: the embedded workloads/default.toml).
    pub workload: Option<PathBuf>,
    /// The field and its values: NAME=V1,V2,... (values may end in k or M).
    #[arg(long, value_name = "NAME=V1,V2,...")]
    pub vary: String,
    /// Latency SLO: p99=DURATION with a unit (us, ms, s), such as p99=2ms
    /// (overrides the workload's `[slo] p99_ms`).
    #[arg(long, value_name = "p99=DURATION")]
    pub slo: Option<String>,
    /// Extra runs per strategy that halve the gap between the knee and the
    /// next higher failing rate, 0 to 30 (needs --vary rate=...; a halving
    /// stops early once the gap is under 1 req/s).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u8).range(0..=30))]
    pub bisect: u8,
    /// Strategies to run, comma-separated (overrides the workload).
    #[arg(long, value_delimiter = ',')]
    pub strategies: Option<Vec<Strategy>>,
    /// Measured seconds per point and strategy (overrides run.duration_s).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Offered load of every point, requests per second (overrides
    /// load.rate_per_sec; for sweeps of other fields, such as workers
    /// beyond the knee).
    #[arg(long, value_name = "REQ_PER_SEC")]
    pub rate: Option<f64>,
    /// Seed of every random choice (overrides seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Crypto backend of signers and verifiers (overrides crypto).
    #[arg(long, value_enum)]
    pub crypto: Option<CryptoArg>,
    /// Cache backends of the cached strategies, comma-separated (overrides
    /// data_plane.cache_backends).
    #[arg(long, value_delimiter = ',', value_name = "BACKENDS")]
    pub cache_backends: Option<Vec<CacheBackend>>,
    /// Folder for the sweep's files; it must not hold a summary.json already
    /// (default: results/YYYYMMDD-HHMMSS-WORKLOAD-sweep/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Thread counts of the scalability probe that follows a rate sweep:
    /// comma-separated, `auto` (the default: 1,2,3,4 on up to four cores,
    /// else doubling from 1 up to the core count) or `none`. Per strategy,
    /// that many threads verify pre-signed requests back to back (closed
    /// loop, no generator) for --probe-seconds each, and the Universal
    /// Scalability Law is fitted to the result.
    #[arg(long, value_name = "N1,N2,...|auto|none")]
    pub usl_threads: Option<String>,
    /// Measured seconds per thread count of the scalability probe (default:
    /// 1; only after a rate sweep).
    #[arg(long, value_name = "SECONDS")]
    pub probe_seconds: Option<f64>,
    /// The target of the what-if answer in the sweep's report.
    #[command(flatten)]
    pub target: crate::whatif::TargetArgs,
}

/// The thread counts of `--usl-threads` (none for `none`), checked by
/// [`crate::sweep::probe::Settings::new`].
fn usl_threads(text: &str) -> Result<Vec<usize>> {
    match text.trim() {
        "none" => return Ok(Vec::new()),
        "auto" => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            return Ok(crate::sweep::probe::auto_threads(cores));
        }
        _ => {}
    }
    let threads = text
        .split(',')
        .map(|t| {
            t.trim().parse::<usize>().map_err(|_| {
                anyhow::anyhow!(
                    "--usl-threads: {t:?} is not a thread count (give counts such as 1,2,3,4, or none)"
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(threads)
}

/// Flags of `sigstorm report`.
#[derive(Debug, Args)]
#[command(after_help = "\
DIR is a run's folder (sigstorm run) or a sweep's (sigstorm sweep). Writes into DIR:
report.html (self-contained: open it in any browser, nothing is fetched), summary.md (paste it
into a pull request), and each chart as CHART.svg and CHART.png.
Exit status: 0 written; 1 written, but some chart could not be drawn; 2 DIR holds no
readable summary.json, or the files cannot be written.")]
pub struct ReportArgs {
    /// A results folder as `sigstorm run` or `sigstorm sweep` wrote it (it
    /// needs summary.json; a run's events.json and histograms.hlog are used
    /// when present).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Flags of `sigstorm compare`.
#[derive(Debug, Args)]
#[command(after_help = "\
Runs are matched by label (strategy, and cache backend when compared). For each, the table
gives A's and B's throughput and p50, p99, p99.9 and max latency, the ratio B/A, and a
verdict: higher throughput and lower latency are better; a ratio within the tolerance is
\"same\". p99.9 and max vary from run to run on a busy machine: repeat a run before trusting
them. compare.svg / compare.png show how many times better B is per metric.
Exit status: 0 compared; 2 a folder holds no readable summary.json, or no strategy is in both.")]
pub struct CompareArgs {
    /// The baseline results folder.
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The results folder compared against A.
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// Folder for compare.svg and compare.png (default: B's folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Ratios within this many percent of 1 count as "same" (0 to 100).
    #[arg(long, value_name = "PERCENT", default_value_t = 5.0)]
    pub tolerance: f64,
}

/// Crypto backend names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CryptoArg {
    /// ring (the default): BoringSSL-derived assembly.
    Ring,
    /// RustCrypto's sha2 block function, with sigstorm's RFC 2104 HMAC over it.
    Rustcrypto,
}

impl From<CryptoArg> for Backend {
    fn from(c: CryptoArg) -> Backend {
        match c {
            CryptoArg::Ring => Backend::Ring,
            CryptoArg::Rustcrypto => Backend::RustCrypto,
        }
    }
}

/// Key material and clock shared by `sign` and `verify`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Raw HTTP/1.1 request file, or - for stdin (LF or CRLF line ends).
    #[arg(long, value_name = "FILE")]
    pub request: PathBuf,
    /// The access key id.
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    pub access_key_id: String,
    /// The secret access key (prefer the environment variable to the flag).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// The time to sign or verify at, YYYYMMDDTHHMMSSZ (default: now).
    #[arg(long, value_name = "YYYYMMDDTHHMMSSZ")]
    pub now: Option<String>,
    /// Crypto backend.
    #[arg(long, value_enum, default_value = "ring")]
    pub crypto: CryptoArg,
    /// Path rule: s3 (decode and encode once, no normalization) or normalized
    /// (every other service). Default: from the service name.
    #[arg(long, value_enum)]
    pub path_rule: Option<PathRuleArg>,
}

/// Path rules on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PathRuleArg {
    /// S3's rule.
    S3,
    /// Every other service's rule.
    Normalized,
}

/// Flags of `sigstorm sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The region of the credential scope.
    #[arg(long)]
    pub region: String,
    /// The service's signing name (s3, ec2, sts, ...).
    #[arg(long)]
    pub service: String,
    /// Produce a presigned URL valid for SECONDS (1 to 604800).
    #[arg(long, value_name = "SECONDS")]
    pub presign: Option<i64>,
    /// How the body is covered (default: hash-header for s3, which requires
    /// x-amz-content-sha256; hash for other services).
    #[arg(long, value_enum)]
    pub payload: Option<PayloadArg>,
    /// Print JSON with the canonical request, string to sign and signature
    /// beside the signed request.
    #[arg(long)]
    pub json: bool,
}

/// Payload modes on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PayloadArg {
    /// Hash the body; send no x-amz-content-sha256.
    Hash,
    /// Hash the body and send it in x-amz-content-sha256 (as S3 requires).
    HashHeader,
    /// UNSIGNED-PAYLOAD.
    Unsigned,
}

/// Flags of `sigstorm verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Refuse a scope naming another region.
    #[arg(long)]
    pub region: Option<String>,
    /// Refuse a scope naming another service.
    #[arg(long)]
    pub service: Option<String>,
    /// The canonical request your client logged, to find the first
    /// differing line.
    #[arg(long, value_name = "FILE")]
    pub canonical_request: Option<PathBuf>,
}

/// Run the command line; returns the exit code.
///
/// # Errors
///
/// Bad input or a run that could not be set up (exit code 2).
pub fn execute(cli: Cli, stop: &AtomicBool) -> Result<i32> {
    match cli.command {
        None => run(RunArgs::default(), stop),
        Some(Command::Run(args)) => run(args, stop),
        Some(Command::Sweep(args)) => sweep_command(&args, stop),
        Some(Command::Whatif(args)) => crate::whatif::command(&args),
        Some(Command::Sign(args)) => sign_command(args),
        Some(Command::Verify(args)) => verify_command(args),
        Some(Command::Report(args)) => report_command(&args),
        Some(Command::Compare(args)) => compare_command(&args),
    }
}

fn run(args: RunArgs, stop: &AtomicBool) -> Result<i32> {
    let mut workload = match &args.workload {
        Some(path) => Workload::load(path)?,
        None => Workload::default_workload()?,
    };
    let overrides = Overrides {
        strategies: args.strategies.clone(),
        duration_s: args.duration,
        rate_per_sec: args.rate,
        seed: args.seed,
        crypto: args.crypto.map(Backend::from),
        cache_backends: args.cache_backends.clone(),
        quick: args.quick,
    };
    overrides.apply(&mut workload)?;
    let output = Output {
        results_root: PathBuf::from("results"),
        dir: args.out.clone(),
        quiet: args.quiet,
    };
    let done = run_workload(&workload, &output, stop)?;
    emit(comparison_table(&done.summary).as_bytes())?;
    emit(timeline(&done.events).as_bytes())?;
    for warning in warnings(&done.summary) {
        eprintln!("sigstorm: warning: {warning}");
    }
    eprintln!(
        "sigstorm: wrote {}",
        done.dir.join("summary.json").display()
    );
    // The report is read back from the folder, as `sigstorm report` would;
    // failing to write it loses nothing (summary.json is already written).
    match crate::page::load(&done.dir).and_then(|data| crate::page::write_report(&data)) {
        Ok(written) => {
            for failure in &written.failures {
                eprintln!("sigstorm: warning: {failure}");
            }
            eprintln!(
                "sigstorm: wrote {} (and summary.md, {} chart files)",
                done.dir.join(crate::page::HTML_FILE).display(),
                written.files.len().saturating_sub(2)
            );
        }
        Err(e) => eprintln!(
            "sigstorm: warning: cannot write the report: {e:#}; `sigstorm report {}` tries again",
            done.dir.display()
        ),
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!("sigstorm: interrupted; the summary holds what was measured");
        return Ok(130);
    }
    let defects: u64 = done
        .summary
        .runs
        .iter()
        .map(|r| {
            r.figures.stale_accepts + r.figures.unexpected_rejections + r.figures.unexpected_accepts
        })
        .sum();
    if defects > 0 {
        eprintln!("sigstorm: correctness check failed: {defects} stale accepts or unexpected decisions (see summary.json)");
        return Ok(1);
    }
    Ok(0)
}

fn sweep_command(args: &SweepArgs, stop: &AtomicBool) -> Result<i32> {
    let mut workload = match &args.workload {
        Some(path) => Workload::load(path)?,
        None => Workload::default_workload()?,
    };
    let overrides = Overrides {
        strategies: args.strategies.clone(),
        duration_s: args.duration,
        rate_per_sec: args.rate,
        seed: args.seed,
        crypto: args.crypto.map(Backend::from),
        cache_backends: args.cache_backends.clone(),
        quick: false,
    };
    overrides.apply(&mut workload)?;
    let vary = crate::sweep::Vary::parse(&args.vary)?;
    if vary.is_rate() && args.rate.is_some() {
        anyhow::bail!(
            "--rate and --vary {} both set the offered rate; drop --rate",
            vary.name
        );
    }
    let slo_flag = args
        .slo
        .as_deref()
        .map(crate::sweep::parse_slo)
        .transpose()?;
    let slo = crate::sweep::Slo::choose(slo_flag, &workload);
    let target = args.target.target();
    if !vary.is_rate() && (args.usl_threads.is_some() || args.probe_seconds.is_some()) {
        anyhow::bail!(
            "--usl-threads and --probe-seconds set the scalability probe, which follows a rate \
             sweep (--vary rate=...), not a sweep of {}",
            vary.name
        );
    }
    let probe_threads = if vary.is_rate() {
        usl_threads(args.usl_threads.as_deref().unwrap_or("auto"))?
    } else {
        Vec::new()
    };
    let probe = crate::sweep::probe::Settings::new(
        probe_threads,
        args.probe_seconds
            .unwrap_or(crate::sweep::probe::DEFAULT_SECONDS),
    )
    .map_err(anyhow::Error::msg)?;
    let output = crate::sweep::SweepOutput {
        results_root: PathBuf::from("results"),
        dir: args.out.clone(),
        quiet: args.quiet,
    };
    let (summary, dir) = crate::sweep::run_sweep(
        &workload,
        &vary,
        usize::from(args.bisect),
        &slo,
        &target,
        &probe,
        &output,
        stop,
    )?;
    emit(crate::sweep::table(&summary).as_bytes())?;
    emit(format!("\n{}", crate::sweep::whatif_text(&summary)).as_bytes())?;
    eprintln!("sigstorm: wrote {}", dir.join("summary.json").display());
    match crate::sweep::write_report(&summary, &dir) {
        Ok(written) => {
            for failure in &written.failures {
                eprintln!("sigstorm: warning: {failure}");
            }
            eprintln!(
                "sigstorm: wrote {} (and summary.md, {} chart files)",
                dir.join(crate::page::HTML_FILE).display(),
                written.files.len().saturating_sub(2)
            );
        }
        Err(e) => eprintln!(
            "sigstorm: warning: cannot write the report: {e:#}; `sigstorm report {}` tries again",
            dir.display()
        ),
    }
    if stop.load(Ordering::Relaxed) {
        eprintln!("sigstorm: interrupted; summary.json holds the points measured");
        return Ok(130);
    }
    // As `run`: a correctness defect at any point fails the sweep, after
    // every file is written.
    let defects = summary.defects();
    if defects > 0 {
        eprintln!(
            "sigstorm: correctness check failed: {defects} stale accepts or unexpected decisions \
             (see the points' detail in summary.json)"
        );
        return Ok(1);
    }
    Ok(0)
}

fn report_command(args: &ReportArgs) -> Result<i32> {
    if crate::sweep::is_sweep_dir(&args.dir) {
        let summary = crate::sweep::read_summary(&args.dir)?;
        let written = crate::sweep::write_report(&summary, &args.dir)?;
        for path in &written.files {
            eprintln!("sigstorm: wrote {}", path.display());
        }
        for failure in &written.failures {
            eprintln!("sigstorm: warning: {failure}");
        }
        return Ok(if written.failures.is_empty() { 0 } else { 1 });
    }
    let data = crate::page::load(&args.dir)?;
    let written = crate::page::write_report(&data)?;
    for path in &written.files {
        eprintln!("sigstorm: wrote {}", path.display());
    }
    for k in &written.skipped {
        eprintln!("sigstorm: no {} chart: {}", k.id, k.reason);
    }
    for failure in &written.failures {
        eprintln!("sigstorm: warning: {failure}");
    }
    Ok(if written.failures.is_empty() { 0 } else { 1 })
}

fn compare_command(args: &CompareArgs) -> Result<i32> {
    if !(args.tolerance.is_finite() && (0.0..=100.0).contains(&args.tolerance)) {
        bail!(
            "--tolerance must be 0 to 100 percent, not {}",
            args.tolerance
        );
    }
    let a = crate::page::read_summary(&args.a).context("A")?;
    let b = crate::page::read_summary(&args.b).context("B")?;
    let totals = |s: &crate::summary::Summary| {
        s.runs
            .iter()
            .map(crate::page::RunTotals::of)
            .collect::<Vec<_>>()
    };
    let comparison = crate::compare::compare(&totals(&a), &totals(&b), args.tolerance / 100.0);
    let (a_name, b_name) = if a.run_id == b.run_id {
        (args.a.display().to_string(), args.b.display().to_string())
    } else {
        (a.run_id.clone(), b.run_id.clone())
    };
    let table = comparison.table(
        &format!("{a_name} ({})", args.a.display()),
        &format!("{b_name} ({})", args.b.display()),
    );
    if comparison.rows.is_empty() {
        bail!(
            "{table}no strategy is in both runs: nothing to compare (A has {}; B has {})",
            label_list(&a),
            label_list(&b)
        );
    }
    emit(table.as_bytes())?;
    for caveat in crate::compare::caveats(
        &crate::compare::Setup::of(&a),
        &crate::compare::Setup::of(&b),
        &totals(&a),
        &totals(&b),
    ) {
        eprintln!("sigstorm: note: {caveat}");
    }
    let out = args.out.clone().unwrap_or_else(|| args.b.clone());
    let chart = crate::charts::build::compare_chart(
        &comparison.chart_input(),
        &a_name,
        &b_name,
        comparison.tolerance,
    );
    if let Some(chart) = chart {
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create {}", out.display()))?;
        crate::charts::write_files(&chart, &out)?;
        eprintln!(
            "sigstorm: wrote {} and {}",
            out.join("compare.svg").display(),
            out.join("compare.png").display()
        );
    }
    Ok(0)
}

fn label_list(s: &crate::summary::Summary) -> String {
    if s.runs.is_empty() {
        "no runs".to_string()
    } else {
        s.runs
            .iter()
            .map(|r| r.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Write results to stdout. A reader that has gone away (`sigstorm verify ...
/// | head -1`) is not an error: the exit code still carries the verdict, and
/// `println!` would panic instead.
fn emit(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}

fn read_request(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the request from stdin")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read the request file {}", path.display()))
}

fn now_of(keys: &KeyArgs) -> Result<i64> {
    match &keys.now {
        Some(s) => AmzDate::parse(s)
            .and_then(|d| d.unix())
            .ok_or_else(|| anyhow!("--now '{s}' is not YYYYMMDDTHHMMSSZ")),
        None => Ok(time::OffsetDateTime::now_utc().unix_timestamp()),
    }
}

fn rules_of(keys: &KeyArgs, service: Option<&str>) -> Option<Rules> {
    match keys.path_rule {
        Some(PathRuleArg::S3) => Some(Rules::for_service("s3")),
        Some(PathRuleArg::Normalized) => Some(Rules {
            path: PathRule::Normalized,
            presigned_payload_unsigned: false,
        }),
        None => service.map(Rules::for_service),
    }
}

fn request_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

fn sign_command(args: SignArgs) -> Result<i32> {
    let raw = read_request(&args.keys.request)?;
    let request =
        Request::parse(&raw).map_err(|e| anyhow!("{}: {e}", request_name(&args.keys.request)))?;
    let secret = SecretAccessKey::new(args.keys.secret_access_key.clone())
        .map_err(|e| anyhow!("--secret-access-key: {e}"))?;
    let creds = Credentials {
        access_key_id: &args.keys.access_key_id,
        secret: &secret,
        session_token: args.keys.session_token.as_deref(),
    };
    let opts = Options {
        region: &args.region,
        service: &args.service,
        time: now_of(&args.keys)?,
        rules: rules_of(&args.keys, Some(&args.service))
            .unwrap_or_else(|| Rules::for_service(&args.service)),
        payload: match args.payload {
            Some(PayloadArg::Hash) => Payload::Hash,
            Some(PayloadArg::HashHeader) => Payload::HashHeader,
            Some(PayloadArg::Unsigned) => Payload::Unsigned,
            None if args.service == "s3" => Payload::HashHeader,
            None => Payload::Hash,
        },
        presign: args.presign,
        backend: args.keys.crypto.into(),
    };
    let signed = sign(&request, &raw, &creds, &opts)
        .map_err(|e| anyhow!("{}: {e}", request_name(&args.keys.request)))?;
    if args.json {
        let json = serde_json::json!({
            "canonical_request": signed.canonical_request,
            "string_to_sign": signed.string_to_sign,
            "signature": signed.signature,
            "request": String::from_utf8_lossy(&signed.request),
        });
        emit(format!("{}\n", serde_json::to_string_pretty(&json)?).as_bytes())?;
    } else {
        emit(&signed.request)?;
    }
    Ok(0)
}

fn verify_command(args: VerifyArgs) -> Result<i32> {
    let raw = read_request(&args.keys.request)?;
    let request = match Request::parse(&raw) {
        Ok(r) => r,
        Err(e) => bail!(NotARequest(format!(
            "{}: {e}",
            request_name(&args.keys.request)
        ))),
    };
    let secret = SecretAccessKey::new(args.keys.secret_access_key.clone())
        .map_err(|e| anyhow!("--secret-access-key: {e}"))?;
    let client_creq = match &args.canonical_request {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    let ctx = Context {
        now: now_of(&args.keys)?,
        region: args.region.as_deref(),
        service: args.service.as_deref(),
        rules: rules_of(&args.keys, args.service.as_deref()),
    };
    let expected = Expected {
        access_key_id: &args.keys.access_key_id,
        secret: &secret,
        session_token: args.keys.session_token.as_deref(),
        backend: args.keys.crypto.into(),
        canonical_request: client_creq.as_deref(),
    };
    let report = diagnose(&request, &ctx, &expected);
    emit(format!("{}\n", serde_json::to_string_pretty(&report)?).as_bytes())?;
    Ok(if report.verdict == Verdict::Accepted {
        0
    } else {
        1
    })
}

/// The input of `verify` is not an HTTP request at all (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotARequest(pub String);
