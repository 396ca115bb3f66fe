//! Helpers shared by the CLI tests: run the built binary (or any program) with a hang guard,
//! start a simulator and learn its port from the `listening on` line, kill children on drop,
//! make SSH keys (in-process, no `ssh-keygen`), and read JSON lines.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use oddsfeed_testkit::keys::KeyType;
use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_oddsfeed");
/// Guard against a hang; never an assertion about speed.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

// ----- processes ------------------------------------------------------------------------------

/// A child process killed (and reaped) when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A started process whose stdout and stderr are read to the end in the background.
pub struct Running {
    child: Guard,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
    /// What stderr has delivered so far.
    stderr_seen: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    /// Starts `command` with stdin closed and both outputs piped.
    pub fn spawn(command: &mut Command) -> Result<Self, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stderr_seen = Arc::new(Mutex::new(Vec::new()));
        let stdout = read_to_end(child.stdout.take(), None);
        let stderr = read_to_end(child.stderr.take(), Some(Arc::clone(&stderr_seen)));
        Ok(Self {
            child: Guard(child),
            stdout,
            stderr,
            stderr_seen,
        })
    }

    /// The complete lines the process has written on stderr so far.
    pub fn stderr_lines_so_far(&self) -> Vec<String> {
        let seen = self
            .stderr_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let text = String::from_utf8_lossy(&seen);
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete.lines().map(str::to_owned).collect()
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.0.id()
    }

    /// Waits for the process to exit, for at most `within`. Past that (or when waiting fails)
    /// it is killed and `Err` carries what it wrote on stderr.
    pub fn finish(self, within: Duration) -> Result<Output, String> {
        let Self {
            mut child,
            stdout,
            stderr,
            ..
        } = self;
        let end = Instant::now() + within;
        let status = loop {
            match child.0.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(20)),
                _ => {
                    drop(child);
                    let stderr = stderr.join().unwrap_or_default();
                    return Err(String::from_utf8_lossy(&stderr).into_owned());
                }
            }
        };
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

/// Reads `pipe` to its end in a thread; with `seen`, also shares each chunk as it arrives.
fn read_to_end<R: Read + Send + 'static>(
    pipe: Option<R>,
    seen: Option<Arc<Mutex<Vec<u8>>>>,
) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let Some(mut pipe) = pipe else {
            return bytes;
        };
        let mut chunk = [0_u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.extend_from_slice(&chunk[..n]);
                    if let Some(seen) = &seen {
                        seen.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .extend_from_slice(&chunk[..n]);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        bytes
    })
}

/// Runs `command` (the binary with `args` and whatever else it was given) to completion,
/// panicking if it is still running after the hang guard.
pub fn run_oddsfeed(command: &mut Command, args: &[&str]) -> Output {
    Running::spawn(command)
        .unwrap_or_else(|e| panic!("{e}"))
        .finish(HANG_GUARD)
        .unwrap_or_else(|stderr| panic!("oddsfeed {args:?} did not finish; stderr:\n{stderr}"))
}

/// Runs `oddsfeed ARGS` to completion (killed after the hang guard).
pub fn run(args: &[&str]) -> Output {
    run_oddsfeed(Command::new(BIN).args(args), args)
}

/// What a finished process printed, as text.
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// stdout, as text.
    pub stdout: String,
    /// stderr, as text.
    pub stderr: String,
}

impl From<Output> for Finished {
    fn from(output: Output) -> Self {
        Self {
            status: output.status,
            stdout: text(&output.stdout),
            stderr: text(&output.stderr),
        }
    }
}

/// A running `oddsfeed sim ...`, killed when dropped; its stderr is collected in the background.
pub struct Sim {
    _child: Guard,
    /// The address from its `listening on ADDR` line (`ws://127.0.0.1:P/ws` or `127.0.0.1:P`).
    pub listen: String,
    /// The port it listens on.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Sim {
    /// Starts `oddsfeed sim ARGS --port 0` with the extra environment `envs` and waits for its
    /// `listening on` line.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .arg("sim")
            .args(args)
            .args(["--port", "0"])
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
        let pipe = child.stderr.take();
        let child = Guard(child);
        let Some(pipe) = pipe else {
            panic!("no stderr pipe");
        };
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&stderr);
        // Reads (and so drains) the simulator's stderr until it exits.
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
                let mut all = sink.lock().unwrap_or_else(PoisonError::into_inner);
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut sim = Self {
            _child: child,
            listen: String::new(),
            port: 0,
            stderr,
        };
        let Ok(listen) = rx.recv_timeout(HANG_GUARD) else {
            panic!(
                "the simulator never said where it listens; stderr:\n{}",
                sim.log()
            );
        };
        sim.listen = listen;
        let port = sim
            .listen
            .trim_end_matches("/ws")
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok());
        sim.port = port.unwrap_or_else(|| panic!("no port in {:?}", sim.listen));
        sim
    }

    /// Everything it wrote on stderr so far.
    pub fn log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `ws://127.0.0.1:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// `127.0.0.1:PORT`.
    pub fn tcp_addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Writes `first_line` to the stdin of `child` (spawned with stdin and stdout piped), reads its
/// stdout until it closes (within the hang guard), then kills it and parses every line as JSON.
pub fn converse(mut child: Child, first_line: &[u8]) -> Vec<Value> {
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(first_line).expect("write the first line");
    let stdout = child.stdout.take().expect("stdout");
    let guard = Guard(child);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let lines: Vec<String> = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect();
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(HANG_GUARD).expect("the session ends");
    drop(stdin);
    drop(guard);
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

// ----- SSH keys -------------------------------------------------------------------------------

/// Whether `program PROBE` can be started at all.
pub fn available(program: &str, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A new key of `kind` (`ed25519` or `rsa`, 2048 bits) written as `DIR/NAME` and
/// `DIR/NAME.pub`, in-process, like `ssh-keygen -t KIND -N '' -C test -f DIR/NAME`; returns the
/// private key's path.
pub fn keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let kind = match kind {
        "ed25519" => KeyType::Ed25519,
        "rsa" => KeyType::Rsa,
        other => panic!("no such key type in the tests: {other}"),
    };
    oddsfeed_testkit::keys::keygen(dir, name, kind).expect("generate and write an SSH key")
}

/// The `.pub` file next to a private key made by [`keygen`].
pub fn public_key(private: &Path) -> String {
    std::fs::read_to_string(format!("{}.pub", private.display())).expect("read the .pub file")
}

/// Writes a known_hosts file at `path` with `public_key` for `127.0.0.1:port` (the `[host]:port`
/// form OpenSSH uses for ports other than 22).
pub fn write_known_hosts(path: &Path, port: u16, public_key: &str) {
    std::fs::write(path, format!("[127.0.0.1]:{port} {public_key}")).expect("write known_hosts");
}

/// An `oddsfeed sim img --ssh` with a host key and one authorized client key, all in `dir`.
pub struct SshSim {
    /// The simulator.
    pub sim: Sim,
    /// Holds the keys.
    pub dir: tempfile::TempDir,
    /// The host's public key line.
    pub host_pub: String,
    /// The authorized client's private key.
    pub identity: PathBuf,
}

impl SshSim {
    /// `img --addr 127.0.0.1:PORT --ssh --user feed --identity IDENTITY --limit 3 --once`, then
    /// `extra`.
    pub fn img_args(&self, identity: &Path, extra: &[&str]) -> Vec<String> {
        let addr = self.sim.tcp_addr();
        let identity = identity.to_str().expect("path");
        let args = [
            "img",
            "--addr",
            &addr,
            "--ssh",
            "--user",
            "feed",
            "--identity",
            identity,
            "--limit",
            "3",
            "--once",
        ];
        args.iter().chain(extra).map(|a| (*a).to_owned()).collect()
    }
}

/// Starts `oddsfeed sim img --ssh` with `host_key`, `authorized_keys`, a 200 ms heartbeat and
/// the `extra` flags.
pub fn start_img_ssh_sim(host_key: &Path, authorized_keys: &Path, extra: &[&str]) -> Sim {
    let args = [
        "img",
        "--ssh",
        "--host-key",
        host_key.to_str().expect("path"),
        "--authorized-keys",
        authorized_keys.to_str().expect("path"),
        "--heartbeat-ms",
        "200",
    ];
    Sim::start(&[&args[..], extra].concat(), &[])
}

/// Starts an SSH simulator whose authorized client key is `DIR/identity_name`.
pub fn start_ssh_sim(identity_name: &str) -> SshSim {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = keygen(dir.path(), "host_ed25519", "ed25519");
    let identity = keygen(dir.path(), identity_name, "ed25519");
    let authorized = dir.path().join("authorized_keys");
    std::fs::write(&authorized, public_key(&identity)).expect("write authorized_keys");
    let sim = start_img_ssh_sim(&host, &authorized, &[]);
    SshSim {
        host_pub: public_key(&host),
        sim,
        dir,
        identity,
    }
}

// ----- output ---------------------------------------------------------------------------------

/// Borrows each string.
pub fn as_strs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}

/// Bytes as text (invalid UTF-8 replaced).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each line of `bytes` parsed as JSON; panics naming a line that is not.
pub fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// stdout's lines parsed as JSON.
pub fn stdout_json(output: &Output) -> Vec<Value> {
    json_lines(&output.stdout)
}

/// stderr as text.
pub fn stderr_text(output: &Output) -> String {
    text(&output.stderr)
}

/// `type` of an IMG push, `status` of a response.
pub fn kind(line: &Value) -> &str {
    line.get("type")
        .or_else(|| line.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("?")
}

// ----- metrics ---------------------------------------------------------------------------------

/// One scrape of `/metrics`: sample name with labels → value.
pub fn scrape(port: u16) -> Option<BTreeMap<String, f64>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let mut samples = BTreeMap::new();
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (name, value) = line.rsplit_once(' ')?;
        let value = if value == "+Inf" {
            f64::INFINITY
        } else {
            value.parse().ok()?
        };
        samples.insert(name.to_owned(), value);
    }
    Some(samples)
}

/// Sum of the samples of `family` (any labels).
pub fn sum(samples: &BTreeMap<String, f64>, family: &str) -> f64 {
    samples
        .iter()
        .filter(|(name, _)| *name == family || name.starts_with(&format!("{family}{{")))
        .map(|(_, v)| v)
        .sum()
}

/// The unlabelled counters of a scrape equal the same figures of a `stats` event.
pub fn assert_unlabelled_counters_match(samples: &BTreeMap<String, f64>, stats: &Value) {
    for (series, key) in [
        ("oddsfeed_frames_total", "frames"),
        ("oddsfeed_wire_bytes_total", "wire_bytes"),
        ("oddsfeed_decoded_bytes_total", "decoded_bytes"),
        ("oddsfeed_decode_errors_total", "decode_errors"),
        ("oddsfeed_reconnects_total", "reconnects"),
    ] {
        assert_eq!(
            Some(sum(samples, series)),
            stats[key].as_f64(),
            "{series} vs {key}: {stats}"
        );
    }
}
