//! `cargo xtask bench`: the decode benchmark (Rust 1 and 2 threads, the Python loops, the
//! decompress + parse ceiling) and its report.

use super::*;

// ---------------------------------------------------------------------------------------------
// bench

/// One program measured by `bench`, and how to run it.
pub(super) struct Contender {
    /// Row label(s): a program may report several figures (`oddsfeed-bench stages`).
    labels: Vec<&'static str>,
    program: PathBuf,
    args: Vec<String>,
    /// Maps each stdout JSON line to a label, if the line is a figure of interest.
    pick: fn(&Value) -> Option<&'static str>,
}

pub(super) fn pick_single(_: &Value) -> Option<&'static str> {
    Some("")
}

pub(super) fn pick_stage(line: &Value) -> Option<&'static str> {
    match line.get("stage")?.as_str()? {
        "decompress" => Some("decompress only (raw zstd)"),
        "parse" => Some("JSON parse only (simd-json tape)"),
        "ceiling" => Some("ceiling: decompress + parse"),
        _ => None,
    }
}

pub(super) const RUST_1: &str = "Rust `oddsfeed bench decode`, 1 thread";
pub(super) const RUST_2: &str = "Rust `oddsfeed bench decode`, 2 threads";
pub(super) const PY_VENDOR: &str = "Python vendor loop";
pub(super) const PY_TUNED: &str = "Python tuned loop";
pub(super) const CEILING: &str = "ceiling: decompress + parse";
pub(super) const PIPELINE_CPU: &str = "client pipeline, per CPU-second (`oddsfeed-bench stages`)";
pub(super) const CEILING_CPU: &str = "ceiling, per CPU-second (`oddsfeed-bench stages`)";
pub(super) const ENVELOPE_CPU: &str =
    "client pipeline, envelope only, per CPU-second (`oddsfeed-bench stages`)";

/// Runs `cargo xtask bench`.
pub fn bench(o: &BenchOptions) -> Result<(), String> {
    let root = workspace_root();
    if o.build {
        build_release(&root, &["oddsfeed-cli", "oddsfeed-bench"])?;
    }
    let bin = release_dir(&root);
    let oddsfeed = bin.join("oddsfeed");
    let stages = bin.join("oddsfeed-bench");
    for program in [&oddsfeed, &stages] {
        if !program.is_file() {
            return Err(format!(
                "{} is missing: build it or drop --no-build",
                program.display()
            ));
        }
    }

    let corpus = match &o.corpus {
        Some(dir) => dir.clone(),
        None => {
            let name = match o.shape {
                CorpusShape::Ours => format!("{}-{}-seed{}", o.mode, o.messages, o.seed),
                shape => format!("{}-{}-seed{}-{shape}", o.mode, o.messages, o.seed),
            };
            let dir = root.join("target/bench/corpus").join(name);
            if !dir.join(FRAMES_FILE).is_file() {
                eprintln!(
                    "xtask: writing a {} corpus of {} messages ({} shape)",
                    o.mode, o.messages, o.shape
                );
                let options = CorpusOptions {
                    shape: o.shape,
                    ..CorpusOptions::new(o.mode, o.messages, o.seed)
                };
                write_shaped_corpus(&dir, &options)?;
            }
            dir
        }
    };
    let corpus_str = corpus
        .to_str()
        .ok_or("corpus path is not UTF-8")?
        .to_owned();
    let mode = o.mode.as_str().to_owned();
    let passes = o.passes.to_string();
    let common = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        args.extend([
            "--corpus".to_owned(),
            corpus_str.clone(),
            "--mode".to_owned(),
            mode.clone(),
            "--passes".to_owned(),
            passes.clone(),
        ]);
        args
    };

    let mut contenders = vec![
        Contender {
            labels: vec![RUST_1],
            program: oddsfeed.clone(),
            args: [
                common(&["bench", "decode"]),
                vec!["--threads".into(), "1".into()],
            ]
            .concat(),
            pick: pick_single,
        },
        Contender {
            labels: vec![RUST_2],
            program: oddsfeed.clone(),
            args: [
                common(&["bench", "decode"]),
                vec!["--threads".into(), "2".into()],
            ]
            .concat(),
            pick: pick_single,
        },
    ];
    if o.mode != SimReceiveType::Binary {
        contenders.push(Contender {
            labels: vec![
                "decompress only (raw zstd)",
                "JSON parse only (simd-json tape)",
                CEILING,
            ],
            program: stages.clone(),
            args: common(&["stages"]),
            pick: pick_stage,
        });
    }
    let mut python_version = None;
    if o.python && o.mode != SimReceiveType::Binary {
        let setup = root.join("benches/python/setup.sh");
        let out = Command::new("bash")
            .arg(&setup)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("running {}: {e}", setup.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if !out.status.success() {
            return Err(format!(
                "{} failed (use --no-python to skip): {stderr}",
                setup.display()
            ));
        }
        let python = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        python_version = stderr.lines().last().map(str::to_owned);
        for (label, script) in [(PY_VENDOR, "vendor_loop.py"), (PY_TUNED, "tuned_loop.py")] {
            let mut args = vec![
                root.join("benches/python")
                    .join(script)
                    .display()
                    .to_string(),
            ];
            args.extend(common(&[]));
            contenders.push(Contender {
                labels: vec![label],
                program: PathBuf::from(&python),
                args,
                pick: pick_single,
            });
        }
    }

    let load_before = load_average();
    let started = Instant::now();
    // results[label][round] = frames/s
    let mut results: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut reference: Option<(u64, u64, u64)> = None;
    for round in 0..o.rounds {
        eprintln!("xtask: round {}/{}", round + 1, o.rounds);
        // Rotate the order each round so slow drifts of the machine spread over everyone.
        let n = contenders.len();
        for k in 0..n {
            let contender = &contenders[(round + k) % n];
            let stdout = run_capture(
                Command::new(&contender.program)
                    .args(&contender.args)
                    .env("PYTHONDONTWRITEBYTECODE", "1"),
            )?;
            for line in stdout.lines() {
                let value: Value = serde_json::from_str(line).map_err(|e| {
                    format!(
                        "{}: bad output line {line:?}: {e}",
                        contender.program.display()
                    )
                })?;
                // The stages process also times the client's pipeline and the ceiling by the
                // CPU time of its thread, side by side: a shared machine disturbs that ratio
                // far less than wall-time rates from separate processes.
                let cpu_label = match value["stage"].as_str() {
                    Some("pipeline") => Some(PIPELINE_CPU),
                    Some("pipeline-envelope") => Some(ENVELOPE_CPU),
                    Some("ceiling") => Some(CEILING_CPU),
                    _ => None,
                };
                if let (Some(label), Some(cpu)) = (cpu_label, value["frames_per_cpu_s"].as_f64()) {
                    results.entry(label).or_default().push(cpu);
                }
                let Some(picked) = (contender.pick)(&value) else {
                    continue;
                };
                let label = if picked.is_empty() {
                    contender.labels[0]
                } else {
                    picked
                };
                let fps = value["frames_per_s"]
                    .as_f64()
                    .ok_or_else(|| format!("{label}: no frames_per_s in {line}"))?;
                let counts = (
                    value["frames"].as_u64().unwrap_or(0),
                    value["bytes_in"].as_u64().unwrap_or(0),
                    value["bytes_out"].as_u64().unwrap_or(0),
                );
                if label == RUST_1 {
                    reference.get_or_insert(counts);
                }
                if let Some((frames, _, bytes_out)) = reference
                    && (counts.0 != frames || counts.2 != bytes_out)
                {
                    return Err(format!(
                        "{label} decoded {} frames / {} bytes, Rust {frames} / {bytes_out}: not the same work",
                        counts.0, counts.2
                    ));
                }
                results.entry(label).or_default().push(fps);
            }
        }
    }
    let wall = started.elapsed();
    let load_after = load_average();

    let (frames, bytes_in, bytes_out) = reference.unwrap_or_default();
    let order: Vec<&'static str> = [
        RUST_1,
        RUST_2,
        "decompress only (raw zstd)",
        "JSON parse only (simd-json tape)",
        CEILING,
        PIPELINE_CPU,
        ENVELOPE_CPU,
        CEILING_CPU,
        PY_VENDOR,
        PY_TUNED,
    ]
    .into_iter()
    .filter(|l| results.contains_key(l))
    .collect();

    let mut md = String::new();
    let shape = match (&o.corpus, o.shape) {
        (Some(_), _) => String::new(),
        (None, CorpusShape::Ours) => String::new(),
        (None, shape) => format!(" (`--shape {shape}`)"),
    };
    let _ = writeln!(md, "### Decode throughput, {} corpus{shape}\n", o.mode);
    #[allow(clippy::cast_precision_loss)]
    let mean = bytes_out as f64 / frames.max(1) as f64;
    let _ = writeln!(
        md,
        "Corpus: {frames} frames, {bytes_in} bytes on the wire, {bytes_out} bytes of JSON \
         (mean {mean:.0} B/message), seed {}. {} interleaved rounds (order rotated each round); \
         each run reports the best of {} passes. Run took {:.0} s; load average {load_before} \
         before, {load_after} after.\n",
        o.seed,
        o.rounds,
        o.passes,
        wall.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| decoder | median frames/s | min – max | spread | median MB/s |\n|---|---:|---:|---:|---:|"
    );
    for label in &order {
        let v = &results[label];
        let (med, lo, hi) = (median(v), min(v), max(v));
        #[allow(clippy::cast_precision_loss)]
        let mbps = med * bytes_out as f64 / frames.max(1) as f64 / 1e6;
        let _ = writeln!(
            md,
            "| {label} | {} | {} – {} | ±{:.0}% | {mbps:.1} |",
            thousands(med),
            thousands(lo),
            thousands(hi),
            spread(v) * 100.0
        );
    }

    let _ = writeln!(
        md,
        "\nRatios are computed per round (both figures from the same round), then summarised.\n"
    );
    let _ = writeln!(
        md,
        "| ratio | median | min – max | target |\n|---|---:|---:|---|"
    );
    // The envelope-only figure has no target: it shows what the typed payload costs.
    let ratios: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "Rust 1 thread / Python vendor loop",
            RUST_1,
            PY_VENDOR,
            Some(12.0),
        ),
        (
            "Rust 1 thread / Python tuned loop",
            RUST_1,
            PY_TUNED,
            Some(3.0),
        ),
        ("Rust 1 thread / ceiling", RUST_1, CEILING, Some(0.6)),
        (
            "client pipeline / ceiling, CPU time (one process)",
            PIPELINE_CPU,
            CEILING_CPU,
            Some(0.8),
        ),
        (
            "client pipeline, envelope only / ceiling, CPU time",
            ENVELOPE_CPU,
            CEILING_CPU,
            None,
        ),
        ("Rust 2 threads / Rust 1 thread", RUST_2, RUST_1, Some(1.8)),
    ];
    for (name, num, den, target) in ratios {
        let (Some(a), Some(b)) = (results.get(num), results.get(den)) else {
            continue;
        };
        let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y.max(1e-9)).collect();
        let target = match target {
            Some(target) if median(&r) >= target => format!("≥ {target} (met)"),
            Some(target) => format!("≥ {target} (**missed**)"),
            None => "(none: the typed payload's share)".to_owned(),
        };
        let _ = writeln!(
            md,
            "| {name} | {:.2} | {:.2} – {:.2} | {target} |",
            median(&r),
            min(&r),
            max(&r)
        );
    }
    let _ = writeln!(md, "\nMachine:\n");
    for (k, v) in machine_description() {
        let _ = writeln!(md, "- {k}: {v}");
    }
    if let Some(py) = python_version {
        let _ = writeln!(md, "- Python: {py}");
    }

    print!("{md}");
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/bench/decode.md"));
    write_report(&out, &md)
}
