//! A real `nats-server` with JetStream for tests and benchmarks.
//!
//! [`NatsServer::start`] runs `nats-server -js -sd <store> -a 127.0.0.1 -p <free port>`, waits
//! until it accepts connections (its `INFO` line arrives, naming this server) and kills it when
//! dropped.
//! [`NatsServer::restart`] stops it and starts it again on the same port and store directory, so
//! a test can take NATS away mid-run and bring it back with its streams intact.
//!
//! The binary is `$ODDSFEED_NATS_SERVER` if set, else `nats-server` on `PATH`, else
//! `/usr/sbin/nats-server` (Debian's package). When none exists, [`NatsServer::start_or_skip`]
//! prints why and returns `None`, unless `ODDSFEED_REQUIRE_NATS=1` is set (CI sets it): then the
//! missing server is an error.

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a starting server may take before it counts as broken.
const START_GUARD: Duration = Duration::from_secs(20);

/// Numbers the servers this process starts (their `server_name`s).
static SERVERS: AtomicU64 = AtomicU64::new(0);

/// A running `nats-server` child process with JetStream on a loopback port.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    store: PathBuf,
    port: u16,
    /// `-n`: the name its `INFO` line must carry, so that another test's server that took the
    /// port (between the free-port probe and the spawn, or during a restart) is not taken for
    /// this one.
    name: String,
    child: Option<Child>,
}

impl NatsServer {
    /// The server binary to use, if one can be found.
    #[must_use]
    pub fn binary() -> Option<PathBuf> {
        if let Some(path) = std::env::var_os("ODDSFEED_NATS_SERVER") {
            return Some(PathBuf::from(path));
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let candidate = dir.join("nats-server");
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
        let debian = PathBuf::from("/usr/sbin/nats-server");
        debian.is_file().then_some(debian)
    }

    /// Whether a missing server must fail the caller (`ODDSFEED_REQUIRE_NATS=1`).
    #[must_use]
    pub fn required() -> bool {
        std::env::var("ODDSFEED_REQUIRE_NATS").is_ok_and(|v| v == "1")
    }

    /// Starts a server storing its JetStream data under `store`, or returns `None` after printing
    /// why when no binary exists and `ODDSFEED_REQUIRE_NATS` is not `1`.
    ///
    /// # Panics
    ///
    /// When the binary is missing and required, or it cannot be started: this is for tests.
    #[must_use]
    pub fn start_or_skip(store: &Path) -> Option<Self> {
        let Some(binary) = Self::binary() else {
            assert!(
                !Self::required(),
                "nats-server not found (PATH, /usr/sbin, $ODDSFEED_NATS_SERVER) and \
                 ODDSFEED_REQUIRE_NATS=1: install it (apt-get install nats-server)"
            );
            eprintln!(
                "skipping: nats-server not found (install it with apt-get install nats-server, \
                 or set ODDSFEED_NATS_SERVER); set ODDSFEED_REQUIRE_NATS=1 to fail instead"
            );
            return None;
        };
        match Self::start(binary, store) {
            Ok(server) => Some(server),
            Err(e) => panic!("cannot start nats-server: {e}"),
        }
    }

    /// Starts `binary` on a free loopback port with JetStream stored under `store`.
    ///
    /// # Errors
    ///
    /// When no port is free, the process cannot be spawned or it does not accept connections
    /// within 20 s.
    pub fn start(binary: PathBuf, store: &Path) -> io::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = Self {
            binary,
            store: store.to_path_buf(),
            port,
            name: format!(
                "oddsfeed-test-{}-{}",
                std::process::id(),
                SERVERS.fetch_add(1, Ordering::Relaxed)
            ),
            child: None,
        };
        server.spawn()?;
        Ok(server)
    }

    /// The `nats://127.0.0.1:PORT` URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The listening address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server (SIGKILL: nothing is flushed beyond what JetStream already synced).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the server process is running (not stopped).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server again on the same port and store directory (stopping it first if it
    /// runs).
    ///
    /// # Errors
    ///
    /// As for [`start`](Self::start).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let child = Command::new(&self.binary)
            .arg("-js")
            .arg("-sd")
            .arg(&self.store)
            .args(["-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-n")
            .arg(&self.name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + START_GUARD;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                return Err(io::Error::other(format!(
                    "nats-server exited at start with {status}"
                )));
            }
            if accepts(self.addr(), &self.name) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "nats-server did not accept connections within 20 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether the NATS server named `name` greets a new connection at `addr` with its `INFO` line
/// (not another server on that port).
fn accepts(addr: SocketAddr, name: &str) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok()
        && line.starts_with("INFO ")
        && line.contains(&format!("\"server_name\":\"{name}\""))
}
