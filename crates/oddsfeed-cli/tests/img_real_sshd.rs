//! Interoperability with real OpenSSH, both ways:
//! - `oddsfeed img` (russh client) → a real `sshd` whose `ForceCommand` runs
//!   `oddsfeed sim img --stdio` (ed25519 and RSA client keys; OpenSSH ≥ 8.8 refuses SHA-1 RSA
//!   signatures, so the RSA case proves SHA-2 signing);
//! - the system `ssh` client → `oddsfeed sim img --ssh` (russh server).
//!
//! Keys (sshd's host key included) are generated in-process. A test whose OpenSSH program is
//! absent prints `SKIPPED: ...` and returns, unless `ODDSFEED_REQUIRE_SSHD` (sshd) or
//! `ODDSFEED_REQUIRE_SSH` (the `ssh` client) is set: then it fails (`.ci/run` sets both).

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use common::{
    BIN, Guard, available, converse, free_port, json_lines, keygen, kind, public_key, run,
    start_img_ssh_sim, write_known_hosts,
};
use oddsfeed_testkit::{Tool, missing};

const SSHD: &str = "/usr/sbin/sshd";

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().expect("run id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running OpenSSH sshd on a loopback port, stopped when dropped.
struct Sshd {
    _child: Guard,
    port: u16,
    dir: tempfile::TempDir,
}

/// Writes the config, checks it with `sshd -t`, starts `sshd -D -e` and waits until it
/// accepts connections. `None` (after printing why, or failing: see [`missing`]) when sshd
/// cannot run here.
fn start_sshd(authorized: &[&Path]) -> Option<Sshd> {
    if !Path::new(SSHD).exists() {
        missing(
            Tool::Sshd,
            format!("no {SSHD} (apt-get install openssh-server)"),
        );
        return None;
    }
    if let Err(e) = std::fs::create_dir_all("/run/sshd") {
        missing(
            Tool::Sshd,
            format!("cannot create sshd's privilege-separation directory /run/sshd: {e}"),
        );
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let host_key = keygen(dir.path(), "ssh_host_ed25519_key", "ed25519");
    let keys: String = authorized.iter().map(|k| public_key(k)).collect();
    let authorized_file = dir.path().join("authorized_keys");
    std::fs::write(&authorized_file, keys).expect("write authorized_keys");
    let port = free_port();
    let config = dir.path().join("sshd_config");
    let force =
        format!("{BIN} sim img --stdio --heartbeat-ms 200 --messages 20 --init-deadline-ms 5000");
    let text = format!(
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host}\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {authorized}\n\
         StrictModes no\n\
         UsePAM no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         PermitRootLogin prohibit-password\n\
         ForceCommand {force}\n\
         LogLevel ERROR\n",
        host = host_key.display(),
        pid = dir.path().join("sshd.pid").display(),
        authorized = authorized_file.display(),
    );
    std::fs::write(&config, text).expect("write sshd_config");
    let check = Command::new(SSHD)
        .arg("-t")
        .arg("-f")
        .arg(&config)
        .output()
        .expect("run sshd -t");
    assert!(
        check.status.success(),
        "sshd -t refused the config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    // sshd's own log goes to a file (it would complain about the readiness probe below).
    let log = std::fs::File::create(dir.path().join("sshd.log")).expect("create sshd.log");
    let child = Command::new(SSHD)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn sshd");
    let guard = Guard(child);
    // Wait until it listens (bounded by the hang guard).
    let mut tries = 0;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        tries += 1;
        assert!(tries < 300, "sshd never listened on {port}");
        thread::sleep(Duration::from_millis(100));
    }
    // Known hosts: the `[host]:port` form OpenSSH uses for ports other than 22.
    write_known_hosts(
        &dir.path().join("known_hosts"),
        port,
        &public_key(&host_key),
    );
    Some(Sshd {
        _child: guard,
        port,
        dir,
    })
}

fn img_via_sshd(sshd: &Sshd, identity: &Path) -> Output {
    let addr = format!("127.0.0.1:{}", sshd.port);
    let known = sshd.dir.path().join("known_hosts");
    let user = current_user();
    run(&[
        "img",
        "--addr",
        &addr,
        "--ssh",
        "--user",
        &user,
        "--identity",
        identity.to_str().expect("path"),
        "--known-hosts",
        known.to_str().expect("path"),
        "--limit",
        "6",
        "--once",
    ])
}

impl Sshd {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

fn assert_init_and_snapshot(sshd: &Sshd, output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "client: {stderr}\nsshd: {}",
        sshd.log()
    );
    let lines = json_lines(&output.stdout);
    let kinds: Vec<&str> = lines.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "session initialized",
            "sport",
            "competition",
            "competition",
            "competition",
            "event"
        ]
    );
    assert!(
        lines[0]["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{:?}",
        lines[0]
    );
    assert_eq!(lines[0]["request_id"], "r1");
}

#[test]
fn oddsfeed_img_reads_the_feed_through_a_real_sshd_with_ed25519_and_rsa_keys() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let ed25519 = keygen(scratch.path(), "id_ed25519", "ed25519");
    let rsa = keygen(scratch.path(), "id_rsa", "rsa");
    let Some(sshd) = start_sshd(&[&ed25519, &rsa]) else {
        return;
    };
    assert_init_and_snapshot(&sshd, &img_via_sshd(&sshd, &ed25519));
    assert_init_and_snapshot(&sshd, &img_via_sshd(&sshd, &rsa));

    // A key sshd does not know: exit 3.
    let stranger = keygen(scratch.path(), "id_stranger", "ed25519");
    let refused = img_via_sshd(&sshd, &stranger);
    assert_eq!(
        refused.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn the_system_ssh_client_reads_the_feed_from_sim_img_ssh() {
    if !available("ssh", &["-V"]) {
        missing(
            Tool::SshClient,
            "no ssh on PATH (apt-get install openssh-client)",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let host = keygen(dir.path(), "host_ed25519", "ed25519");
    let client = keygen(dir.path(), "client_ed25519", "ed25519");
    let authorized = dir.path().join("authorized_keys");
    std::fs::write(&authorized, public_key(&client)).expect("write");
    let sim = start_img_ssh_sim(&host, &authorized, &["--messages", "5"]);
    let port = sim.port;
    let known = dir.path().join("known_hosts");
    write_known_hosts(&known, port, &public_key(&host));

    let ssh = Command::new("ssh")
        .args(["-F", "/dev/null", "-T"])
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .args(["-o", "IdentitiesOnly=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .args(["-p", &port.to_string(), "-i"])
        .arg(&client)
        .arg(format!("{}@127.0.0.1", current_user()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssh");
    let parsed = converse(ssh, b"{\"request\":\"init\",\"msg\":{}}\n");
    let kinds: Vec<&str> = parsed
        .iter()
        .map(kind)
        .filter(|k| *k != "heartbeat")
        .collect();
    assert_eq!(
        kinds,
        [
            "session initialized",
            "sport",
            "competition",
            "competition",
            "competition",
            "event"
        ]
    );
    assert!(parsed[0]["session_id"].is_string());
    assert!(
        parsed[0].get("request_id").is_none(),
        "no request_id was sent, none is echoed"
    );
}
