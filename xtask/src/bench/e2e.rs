//! `cargo xtask e2e`: the end-to-end run (simulator, client, process and socket samples).

use super::*;

// ---------------------------------------------------------------------------------------------
// e2e

/// One sample of a process' `/proc` figures.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ProcSample {
    /// Seconds since the client was started.
    pub(super) at: f64,
    pub(super) rss_kib: u64,
    pub(super) hwm_kib: u64,
    /// Bytes passed to write(2) and the like (the client's stdout).
    pub(super) wchar: u64,
    /// User + system CPU time, in clock ticks.
    pub(super) cpu_ticks: u64,
}

/// `VmRSS`, `VmHWM` (KiB), `wchar` and CPU time of a live process.
pub(super) fn proc_sample(pid: u32, at: f64) -> Option<ProcSample> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let field = |text: &str, key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    // Fields after the `(comm)`: state is the 3rd field of the line, utime and stime the 14th
    // and 15th.
    let cpu_ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some(ProcSample {
        at,
        rss_kib: field(&status, "VmRSS:")?,
        hwm_kib: field(&status, "VmHWM:")?,
        wchar: field(&io, "wchar:").unwrap_or(0),
        cpu_ticks,
    })
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
pub(super) fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes received so far on the established TCP connections to local port `port` (the
/// client's side of the feed), from `ss -ti`; `None` if `ss` is missing or shows none.
pub(super) fn tcp_bytes_received(port: u16) -> Option<u64> {
    let out = Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            &format!("( dport = :{port} )"),
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("bytes_received:")?.parse::<u64>().ok())
        .sum();
    (total > 0).then_some(total)
}

/// Kills a child we started (by its handle) and reaps it.
pub(super) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Mean length of a stdout line (message + `\n`) of the simulator's feed, from the fixture
/// corpus: turns a `--seconds` run's bytes written into a message estimate.
pub(super) fn mean_line_len(root: &Path) -> Result<f64, String> {
    let path = root.join("fixtures/corpus/messages.jsonl");
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let lines = text.lines().count().max(1);
    #[allow(clippy::cast_precision_loss)]
    Ok(text.len() as f64 / lines as f64)
}

/// Runs `cargo xtask e2e`.
pub fn e2e(o: &E2eOptions) -> Result<(), String> {
    let root = workspace_root();
    if o.build {
        build_release(&root, &["oddsfeed-cli"])?;
    }
    let oddsfeed = release_dir(&root).join("oddsfeed");
    if !oddsfeed.is_file() {
        return Err(format!(
            "{} is missing: build it or drop --no-build",
            oddsfeed.display()
        ));
    }
    let limit = match (o.messages, o.seconds) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_E2E_MESSAGES),
    };

    let mut sim_args: Vec<String> = ["sim", "ws", "--port", "0", "--forever"]
        .map(str::to_owned)
        .to_vec();
    if let Some(rate) = o.rate {
        sim_args.extend(["--rate".to_owned(), rate.to_string()]);
    }
    let mut sim = on_cpu(o.pin.then_some(0), &oddsfeed)
        .args(&sim_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the simulator: {e}"))?;
    let result = run_e2e(o, &root, &oddsfeed, (&mut sim, &sim_args), limit);
    stop(&mut sim);
    let md = result?;
    print!("{md}");
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/bench/e2e.md"));
    write_report(&out, &md)
}

/// A command for `program`, started through `taskset -c CPU` when `cpu` is given (taskset execs
/// the program, so the child's pid is the program's).
fn on_cpu(cpu: Option<u32>, program: &Path) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

pub(super) fn run_e2e(
    o: &E2eOptions,
    root: &Path,
    oddsfeed: &Path,
    (sim, sim_args): (&mut Child, &[String]),
    limit: Option<u64>,
) -> Result<String, String> {
    // The simulator prints `listening on ws://ADDR/ws` once ready.
    let sim_stderr = sim.stderr.take().ok_or("simulator stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(sim_stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| "the simulator did not print its address within 20 s".to_owned())?;

    let mut args = vec![
        "ws".to_owned(),
        "--url".to_owned(),
        url.clone(),
        "--api-key".to_owned(),
        "bench-key".to_owned(),
        "--receive-type".to_owned(),
        o.mode.as_str().to_owned(),
        "--once".to_owned(),
        "--events".to_owned(),
        "jsonl".to_owned(),
        "--report-latency".to_owned(),
    ];
    if let Some(path) = &o.record {
        args.extend(["--record".to_owned(), path.display().to_string()]);
    }
    if let Some(n) = limit {
        args.extend(["--limit".to_owned(), n.to_string()]);
    }
    eprintln!(
        "xtask: client → {url}, {}",
        limit.map_or_else(
            || format!("{} s", o.seconds.unwrap_or(0)),
            |n| format!("{n} messages")
        )
    );
    let started = Instant::now();
    let mut client = on_cpu(o.pin.then_some(1), oddsfeed)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null()) // `> /dev/null`
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the client: {e}"))?;
    let client_stderr = client.stderr.take().ok_or("client stderr")?;
    let (etx, erx) = mpsc::channel();
    let events = std::thread::spawn(move || {
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        let mut last_other = None;
        let mut latency = None;
        let mut stats_messages = None;
        for line in BufReader::new(client_stderr).lines().map_while(Result::ok) {
            let event = serde_json::from_str::<Value>(&line).ok();
            let name = event
                .as_ref()
                .and_then(|v| v.get("event")?.as_str().map(str::to_owned));
            match name {
                Some(name) => {
                    if name == "login_ok" {
                        let _ = etx.send(Instant::now());
                    }
                    if name == "latency" {
                        latency = event;
                    } else if name == "stats" {
                        // The last one is the final count of the run.
                        stats_messages = event.as_ref().and_then(|e| e.get("messages")?.as_u64());
                    }
                    *names.entry(name).or_default() += 1;
                }
                None => last_other = Some(line),
            }
        }
        (names, last_other, latency, stats_messages)
    });

    let pid = client.id();
    let sim_pid = sim.id();
    let port: u16 = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next()?.parse().ok())
        .ok_or_else(|| format!("no port in {url}"))?;
    let mut samples = Vec::new();
    let mut sim_peak_kib = 0;
    let mut sim_first: Option<ProcSample> = None;
    let mut sim_last = ProcSample::default();
    // (seconds since start, bytes received); `ss` runs once a second, not every sample.
    let mut wire: Option<(f64, u64)> = None;
    let mut next_wire = 0.0;
    let deadline = o.seconds.map(Duration::from_secs);
    let guard = Duration::from_secs(3600 * 6);
    let status = loop {
        if let Some(status) = client.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        let at = started.elapsed();
        if let Some(s) = proc_sample(pid, at.as_secs_f64()) {
            samples.push(s);
        }
        if let Some(s) = proc_sample(sim_pid, at.as_secs_f64()) {
            sim_peak_kib = sim_peak_kib.max(s.hwm_kib);
            sim_first.get_or_insert(s);
            sim_last = s;
        }
        if at.as_secs_f64() >= next_wire {
            next_wire = at.as_secs_f64() + 1.0;
            if let Some(bytes) = tcp_bytes_received(port) {
                wire = Some((at.as_secs_f64(), bytes));
            }
        }
        if deadline.is_some_and(|d| at >= d) || at >= guard {
            stop(&mut client);
            break None;
        }
        std::thread::sleep(Duration::from_millis(o.sample_ms));
    };
    let ended = Instant::now();
    let (events, last_other, latency, stats_messages) =
        events.join().map_err(|_| "event reader panicked")?;
    let login_at = erx.try_recv().ok();
    if let Some(status) = status
        && !status.success()
    {
        return Err(format!(
            "the client exited with {status}{}",
            last_other.map(|l| format!(": {l}")).unwrap_or_default()
        ));
    }
    let start = login_at.unwrap_or(started);
    let secs = ended.duration_since(start).as_secs_f64().max(1e-9);
    let last = samples.last().copied().unwrap_or_default();
    let first = samples.first().copied().unwrap_or_default();
    // Counters are sampled, so rates use the sample times.
    let start_at = start.duration_since(started).as_secs_f64();
    let io_secs = (last.at - start_at).max(1e-9);
    let ticks = clock_ticks_per_s();
    #[allow(clippy::cast_precision_loss)]
    let cpu_share = |a: &ProcSample, b: &ProcSample| -> f64 {
        (b.cpu_ticks.saturating_sub(a.cpu_ticks)) as f64 / ticks / (b.at - a.at).max(1e-9)
    };
    let client_cpu = cpu_share(&first, &last);
    let sim_cpu = sim_first.map_or(0.0, |f| cpu_share(&f, &sim_last));
    #[allow(clippy::cast_precision_loss)]
    // A run the simulator ended early (e.g. as a slow consumer) printed fewer than the limit:
    // its final stats event says how many.
    let (messages, exact) = match limit {
        Some(n) => (stats_messages.map_or(n, |got| got.min(n)) as f64, true),
        None => (last.wchar as f64 / mean_line_len(root)?, false),
    };
    let msgs_per_s = if exact {
        messages / secs
    } else {
        messages / io_secs
    };
    #[allow(clippy::cast_precision_loss)]
    let json_mbps = last.wchar as f64 / io_secs / 1e6;
    #[allow(clippy::cast_precision_loss)]
    let wire_mbps = wire.map(|(at, bytes)| bytes as f64 / (at - start_at).max(1e-9) / 1e6);
    let peak_kib = samples.iter().map(|s| s.hwm_kib).max().unwrap_or(0);
    let rss_at = |fraction: f64| -> u64 {
        let target = last.at * fraction;
        samples
            .iter()
            .find(|s| s.at >= target)
            .map_or(0, |s| s.rss_kib)
    };

    let mut md = String::new();
    let _ = writeln!(md, "### End to end over loopback, {} mode\n", o.mode);
    let _ = writeln!(
        md,
        "`oddsfeed {}` and `oddsfeed {} > /dev/null` as separate \
         processes; RSS and CPU time from `/proc/<pid>/status` and `/proc/<pid>/stat` every {} ms, \
         stdout bytes from `/proc/<pid>/io`, wire bytes from `ss -ti` once a second.{} \
         Load average at the end: {}.\n",
        sim_args.join(" "),
        args.join(" ").replace(&url, "ws://127.0.0.1:PORT/ws"),
        o.sample_ms,
        if o.pin {
            " Pinned: the simulator on CPU 0, the client on CPU 1 (`taskset -c`)."
        } else {
            ""
        },
        load_average()
    );
    let _ = writeln!(md, "| figure | value |\n|---|---:|");
    let approx = if exact { "" } else { "≈ " };
    let _ = writeln!(md, "| messages | {approx}{} |", thousands(messages));
    let _ = writeln!(md, "| seconds (from `login_ok`) | {secs:.1} |");
    let _ = writeln!(md, "| messages/s | {approx}{} |", thousands(msgs_per_s));
    let _ = writeln!(
        md,
        "| wire MB/s (TCP bytes received, `ss -ti`) | {} |",
        wire_mbps.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1}"))
    );
    let _ = writeln!(md, "| JSON MB/s (client stdout) | {json_mbps:.1} |");
    #[allow(clippy::cast_precision_loss)]
    let mib = |kib: u64| kib as f64 / 1024.0;
    let _ = writeln!(md, "| client peak RSS (VmHWM) | {:.1} MiB |", mib(peak_kib));
    let _ = writeln!(
        md,
        "| client RSS at 10% / 50% / 90% / end of run | {:.1} / {:.1} / {:.1} / {:.1} MiB |",
        mib(rss_at(0.1)),
        mib(rss_at(0.5)),
        mib(rss_at(0.9)),
        mib(last.rss_kib)
    );
    let _ = writeln!(md, "| simulator peak RSS | {:.1} MiB |", mib(sim_peak_kib));
    let _ = writeln!(
        md,
        "| CPU used: client / simulator (cores) | {client_cpu:.2} / {sim_cpu:.2} |"
    );
    #[allow(clippy::cast_precision_loss)]
    let client_us_per_msg = last.cpu_ticks as f64 / ticks / messages.max(1.0) * 1e6;
    let _ = writeln!(
        md,
        "| client CPU time per message (user + system, all threads) | {approx}{client_us_per_msg:.2} µs |"
    );
    let _ = writeln!(md, "| RSS samples | {} |", samples.len());
    let offered = o.rate.map_or_else(
        || "unpaced".to_owned(),
        |r| format!("{} msg/s", thousands(r as f64)),
    );
    let _ = writeln!(md, "| offered rate (simulator) | {offered} |");
    if let Some(l) = &latency {
        let us = |key: &str| l.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let _ = writeln!(
            md,
            "| delivery latency p50 / p99 / p99.9 / max (socket read → taken, {} messages) | \
             {:.1} / {:.1} / {:.1} / {:.1} µs |",
            l.get("count").and_then(Value::as_u64).unwrap_or(0),
            us("p50_us"),
            us("p99_us"),
            us("p999_us"),
            us("max_us")
        );
    }
    if let Some(path) = &o.record {
        let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let _ = writeln!(
            md,
            "| recording size | {:.1} MiB |",
            bytes as f64 / 1048576.0
        );
    }
    let interesting: Vec<String> = events
        .iter()
        .filter(|(name, _)| name.as_str() != "data")
        .map(|(name, n)| format!("{name}×{n}"))
        .collect();
    let _ = writeln!(md, "\nClient events: {}.", interesting.join(", "));
    if login_at.is_none() {
        let _ = writeln!(
            md,
            "(no `login_ok` seen: times are from the client's start)"
        );
    }
    Ok(md)
}
