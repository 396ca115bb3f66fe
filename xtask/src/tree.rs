//! Whole-directory helpers: read a tree into memory, compare two trees, and
//! a self-removing scratch directory.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Relative path (with `/` separators) → file contents.
pub(crate) type Tree = BTreeMap<String, Vec<u8>>;

/// Reads every file under `root` (a missing root is an empty tree).
pub(crate) fn read_tree(root: &Path) -> io::Result<Tree> {
    let mut tree = Tree::new();
    if root.exists() {
        walk(root, root, &mut tree)?;
    }
    Ok(tree)
}

fn walk(root: &Path, dir: &Path, tree: &mut Tree) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, tree)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            tree.insert(rel, fs::read(&path)?);
        }
    }
    Ok(())
}

/// How a checked-in file differs from the generated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Drift {
    /// Generated, but not present.
    Missing,
    /// Present with other contents.
    Differs,
    /// Present, but no longer generated.
    Unexpected,
}

impl Drift {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Drift::Missing => "missing",
            Drift::Differs => "differs",
            Drift::Unexpected => "not generated",
        }
    }
}

/// Every path where `actual` differs from `wanted`, in path order.
pub(crate) fn diff(wanted: &Tree, actual: &Tree) -> Vec<(String, Drift)> {
    let mut drift = Vec::new();
    for (path, bytes) in wanted {
        match actual.get(path) {
            None => drift.push((path.clone(), Drift::Missing)),
            Some(have) if have != bytes => drift.push((path.clone(), Drift::Differs)),
            Some(_) => {}
        }
    }
    for path in actual.keys() {
        if !wanted.contains_key(path) {
            drift.push((path.clone(), Drift::Unexpected));
        }
    }
    drift.sort();
    drift
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub(crate) fn new(label: &str) -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("oddsfeed-xtask-{label}-{}-{n}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str)]) -> Tree {
        entries
            .iter()
            .map(|(p, c)| ((*p).to_owned(), c.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn diff_names_each_kind_of_drift() {
        let wanted = tree(&[("a", "1"), ("b/c", "2"), ("d", "4")]);
        let actual = tree(&[("a", "1"), ("b/c", "x"), ("e", "5")]);
        assert_eq!(
            diff(&wanted, &actual),
            [
                ("b/c".to_owned(), Drift::Differs),
                ("d".to_owned(), Drift::Missing),
                ("e".to_owned(), Drift::Unexpected),
            ]
        );
        assert!(diff(&wanted, &wanted).is_empty());
    }

    #[test]
    fn read_tree_uses_relative_slash_paths() {
        let scratch = Scratch::new("tree-test").expect("scratch");
        fs::create_dir_all(scratch.path().join("x/y")).expect("mkdir");
        fs::write(scratch.path().join("x/y/z.txt"), "hi").expect("write");
        fs::write(scratch.path().join("top"), "t").expect("write");
        let t = read_tree(scratch.path()).expect("read");
        assert_eq!(t, tree(&[("top", "t"), ("x/y/z.txt", "hi")]));
        assert!(
            read_tree(&scratch.path().join("nope"))
                .expect("missing")
                .is_empty()
        );
    }
}
