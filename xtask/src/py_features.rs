//! Keeps the Python test build sharing the workspace's dependencies.
//!
//! `crates/oddsfeed-py/run-tests.sh` builds the extension with maturin, which builds that one
//! package; its `workspace-build` feature asks for every feature the workspace's test build
//! gives a shared dependency, so that maturin reuses what `cargo test --workspace` compiled
//! instead of compiling most dependencies a second time (minutes of CI). The test below fails
//! when a dependency change makes the two feature sets drift, naming the crates.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::process::Command;

    /// Features per `name version`, from `cargo tree ... -f '{p}|{f}' --prefix none` (a crate
    /// built for the host and for the target counts once, with the union).
    fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "tree",
                "--locked",
                "--offline",
                "--prefix",
                "none",
                "-f",
                "{p}|{f}",
            ])
            .args(args)
            .output()
            .expect("running cargo tree");
        assert!(
            out.status.success(),
            "cargo tree {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in String::from_utf8(out.stdout).expect("utf-8").lines() {
            let Some((package, features)) = line.split_once('|') else {
                continue;
            };
            // `name vX.Y.Z (path) (*)`: the name and version identify the crate.
            let id: Vec<&str> = package.split_whitespace().take(2).collect();
            // A crate printed before ends with ` (*)`.
            let features = features.trim_end_matches(" (*)");
            map.entry(id.join(" ")).or_default().extend(
                features
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(String::from),
            );
        }
        map
    }

    #[test]
    fn python_test_build_asks_for_the_workspace_features() {
        let workspace = features(&["--workspace", "-e", "normal,build,dev"]);
        let python = features(&[
            "-p",
            "oddsfeed-py",
            "--features",
            "workspace-build",
            "-e",
            "normal,build",
        ]);
        assert!(python.len() > 100, "too few crates read: {}", python.len());
        let drift: Vec<String> = python
            .iter()
            .filter(|(id, _)| !id.starts_with("oddsfeed-py "))
            .filter_map(|(id, py)| {
                let ws = workspace.get(id)?;
                (ws != py).then(|| {
                    let missing: Vec<_> = ws.difference(py).collect();
                    let extra: Vec<_> = py.difference(ws).collect();
                    format!("{id}: missing {missing:?}, extra {extra:?}")
                })
            })
            .collect();
        assert!(
            drift.is_empty(),
            "oddsfeed-py's `workspace-build` feature no longer matches the workspace's test build \
             (maturin would compile these and their dependents again; add the missing features \
             to it in crates/oddsfeed-py/Cargo.toml):\n{}",
            drift.join("\n")
        );
    }
}
