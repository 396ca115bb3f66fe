//! `cargo xtask fixtures [--check]`: the checked-in `fixtures/` tree,
//! regenerated deterministically.
//!
//! Everything comes from fixed seeds and a virtual clock: no wall time, no
//! unseeded randomness, no hash-map iteration order in any output. The
//! dictionaries are trained here, and the encoded frames and corpora use the
//! freshly trained ones (not the copies compiled into `oddsfeed-sim`), so one
//! run is always self-consistent.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use oddsfeed_sim::corpus::{CorpusOptions, MESSAGES_FILE, write_corpus_with};
use oddsfeed_sim::dicts::{SimDict, builtin_dicts, force_dict_id};
use oddsfeed_sim::encode::{DEFAULT_LEVEL, FrameEncoder, SimReceiveType};
use oddsfeed_sim::ws_gen::WsGenerator;

use crate::tree::{Drift, Scratch, Tree, diff, read_tree};
use crate::{img_fixtures, ws_fixtures};

/// Seed of the data fixtures and corpora.
pub(crate) const FIXTURE_SEED: u64 = 20_251_222;

/// Messages per channel used to train each dictionary.
pub(crate) const TRAINING_MESSAGES: u64 = 3000;

/// Largest dictionary the trainer may produce (docs/PROTOCOL.md B.6: ~32 KB).
pub(crate) const DICT_MAX_BYTES: usize = 32 << 10;

/// Messages in each checked-in decode corpus.
pub(crate) const CORPUS_MESSAGES: usize = 500;

/// Virtual time of the first training message.
const TRAINING_BASE_MS: u64 = 1_766_300_000_000;

/// The checked-in fixtures directory of this workspace.
pub(crate) fn fixtures_dir() -> PathBuf {
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).join("fixtures")
}

/// Regenerates `dir` in place, touching only files whose contents change.
pub(crate) fn update(dir: &Path) -> Result<(), String> {
    let wanted = generated_tree()?;
    let drift = update_from(&wanted, dir)?;
    let total: usize = wanted.values().map(Vec::len).sum();
    // Reporting only: a closed stdout (`| head`) must not fail the run.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "fixtures: {} files, {total} bytes; {} changed",
        wanted.len(),
        drift.len()
    );
    for (rel, kind) in &drift {
        let _ = writeln!(out, "  {rel} ({})", kind.as_str());
    }
    Ok(())
}

/// Regenerates into a temporary directory and fails, naming every stale
/// file, if `dir` differs.
pub(crate) fn check(dir: &Path) -> Result<(), String> {
    check_against(&generated_tree()?, dir)?;
    println!("fixtures: up to date");
    Ok(())
}

/// The whole generated tree, in memory.
fn generated_tree() -> Result<Tree, String> {
    let scratch = Scratch::new("fixtures").map_err(|e| format!("temp dir: {e}"))?;
    generate(scratch.path())?;
    read_tree(scratch.path()).map_err(|e| format!("reading the generated tree: {e}"))
}

/// Makes `dir` equal to `wanted`; returns what had drifted.
fn update_from(wanted: &Tree, dir: &Path) -> Result<Vec<(String, Drift)>, String> {
    let actual = read_tree(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let drift = diff(wanted, &actual);
    for (rel, kind) in &drift {
        let path = dir.join(rel);
        let result = match (kind, wanted.get(rel)) {
            (Drift::Unexpected, _) | (_, None) => fs::remove_file(&path),
            (_, Some(bytes)) => path
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::write(&path, bytes)),
        };
        result.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    remove_empty_dirs(dir).map_err(|e| format!("cleaning {}: {e}", dir.display()))?;
    Ok(drift)
}

/// Fails, naming every stale file and the command to run, if `dir` differs
/// from `wanted`.
fn check_against(wanted: &Tree, dir: &Path) -> Result<(), String> {
    let actual = read_tree(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let drift = diff(wanted, &actual);
    if drift.is_empty() {
        return Ok(());
    }
    let mut msg = format!("{} is stale:\n", dir.display());
    for (rel, kind) in &drift {
        let _ = writeln!(msg, "  {rel} ({})", kind.as_str());
    }
    msg.push_str("run `cargo xtask fixtures` to regenerate it");
    Err(msg)
}

fn remove_empty_dirs(dir: &Path) -> std::io::Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let mut empty = true;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && remove_empty_dirs(&path)? {
            fs::remove_dir(&path)?;
        } else {
            empty = false;
        }
    }
    Ok(empty)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Trains the dictionary of `like.channel` and gives it `like.id`.
fn train(like: &SimDict, seed: u64) -> Result<SimDict, String> {
    let mut generator = WsGenerator::new(seed)
        .with_channels(&[like.channel])
        .map_err(|e| e.to_string())?;
    let samples: Vec<String> = (0..TRAINING_MESSAGES)
        .map(|i| generator.next(TRAINING_BASE_MS + i * 7).json)
        .collect();
    let mut bytes = zstd::dict::from_samples(&samples, DICT_MAX_BYTES)
        .map_err(|e| format!("training the {} dictionary: {e}", like.channel))?;
    force_dict_id(&mut bytes, like.id).map_err(|e| e.to_string())?;
    Ok(SimDict {
        // A short-lived tool: leaking ~100 KB per run keeps SimDict 'static.
        bytes: Box::leak(bytes.into_boxed_slice()),
        ..*like
    })
}

/// Writes the whole fixtures tree into `out` (an empty directory).
pub(crate) fn generate(out: &Path) -> Result<(), String> {
    // Dictionaries: same channels, versions and ids as the built-in ones.
    let mut dicts = Vec::new();
    for (k, like) in (0u64..).zip(builtin_dicts()) {
        let dict = train(like, FIXTURE_SEED + 1 + k)?;
        write(
            &out.join(format!("dicts/{}.dict", dict.channel)),
            dict.bytes,
        )?;
        dicts.push(dict);
    }
    let odds_dict = dicts
        .iter()
        .find(|d| d.channel == "odds")
        .ok_or("no odds dictionary")?;

    // WebSocket messages, one file per type.
    for (name, text) in ws_fixtures::control_frames(odds_dict) {
        write(
            &out.join(format!("ws/{name}.json")),
            format!("{text}\n").as_bytes(),
        )?;
    }
    let data = ws_fixtures::data_messages(FIXTURE_SEED)?;
    for (name, _, text) in &data {
        write(
            &out.join(format!("ws/{name}.json")),
            format!("{text}\n").as_bytes(),
        )?;
    }

    // IMG messages, one file per type.
    for (name, text) in img_fixtures::messages() {
        write(
            &out.join(format!("img/{name}.json")),
            format!("{text}\n").as_bytes(),
        )?;
    }

    // The WebSocket data messages as frames, per receive type.
    for mode in SimReceiveType::ALL {
        let mut encoder =
            FrameEncoder::with_dicts(mode, DEFAULT_LEVEL, &dicts).map_err(|e| e.to_string())?;
        for (name, channel, text) in &data {
            let frame = encoder.encode(channel, text).map_err(|e| e.to_string())?;
            write(
                &out.join(format!("frames/{mode}/{name}.bin")),
                frame.as_bytes(),
            )?;
        }
    }

    // Decode corpora; the original messages are the same for every mode, so
    // one shared copy is kept.
    for mode in SimReceiveType::ALL {
        let dir = out.join(format!("corpus/{mode}"));
        let options = CorpusOptions {
            dicts: &dicts,
            ..CorpusOptions::new(mode, CORPUS_MESSAGES, FIXTURE_SEED)
        };
        write_corpus_with(&dir, &options).map_err(|e| format!("{}: {e}", dir.display()))?;
        let messages = dir.join(MESSAGES_FILE);
        if mode == SimReceiveType::Json {
            fs::rename(&messages, out.join(format!("corpus/{MESSAGES_FILE}")))
        } else {
            fs::remove_file(&messages)
        }
        .map_err(|e| format!("{}: {e}", messages.display()))?;
    }

    write(&out.join("README.md"), readme(&dicts).as_bytes())?;
    // Byte-exact files: no end-of-line conversion on checkout, and no text
    // diffs of the large generated ones.
    write(
        &out.join(".gitattributes"),
        b"# generated by `cargo xtask fixtures`, do not edit\n\
          * -text\n\
          *.bin binary\n\
          *.dict binary\n\
          corpus/** -diff\n\
          ws/dict_*.json -diff\n",
    )
}

fn readme(dicts: &[SimDict]) -> String {
    let mut s = String::from(
        "<!-- generated by `cargo xtask fixtures`, do not edit -->\n\
         # fixtures\n\n\
         Generated by `cargo xtask fixtures`, do not edit. `cargo xtask fixtures --check` (and\n\
         the `fixtures_are_fresh` test of `cargo test -p xtask`) fails when anything here is\n\
         stale. Every file is reproduced byte for byte from fixed seeds and a virtual clock.\n\n\
         ## Layout\n\n\
         - `dicts/<channel>.dict`: trained zstd dictionaries (at most 32 KiB), embedded by\n\
         \x20 `oddsfeed-sim`; the id in each header is forced to the fixed dictId:\n",
    );
    for d in dicts {
        let _ = writeln!(
            s,
            "  - `{}.dict`: dictId {}, `{}`, {} bytes",
            d.channel,
            d.id,
            d.version,
            d.bytes.len()
        );
    }
    let _ = write!(
        s,
        "- `ws/*.json`: one WebSocket message per file (docs/PROTOCOL.md Part B), compact JSON + `\\n`:\n\
         \x20 control frames `login` (apiKey `YOUR_API_KEY`), `login_ok`, `login_ok_downgraded`,\n\
         \x20 `dict_odds`, `error_login_failed`, `resume_complete`, `snapshot_required`,\n\
         \x20 `reconnect`, `unknown_control`; data messages `data_odds`, `data_fixtures`,\n\
         \x20 `data_bookmakers`, `data_scores`, `data_clocks` (from the simulator's generator,\n\
         \x20 seed {FIXTURE_SEED}) and `data_unknown_channel`.\n\
         - `img/*.json`: one IMG newline-JSON message per file (docs/PROTOCOL.md A.3–A.7): requests,\n\
         \x20 responses, one push per type, the `slow reader` disconnect notice, an unknown object.\n\
         - `frames/<mode>/data_*.bin`: the `ws/data_*.json` messages (without the `\\n`) as the\n\
         \x20 simulator frames them in each receive type (`json`: the text; `binary`: one\n\
         \x20 MessagePack map; `zstd`: one dictless zstd frame; `zstd-dict`: one zstd frame with the\n\
         \x20 channel's dictionary, dictless for scores, clocks and unknown channels). zstd frames\n\
         \x20 carry no content size and no checksum.\n\
         - `corpus/<mode>/frames.bin`: a decode corpus in the `oddsfeed bench decode` layout\n\
         \x20 (records of u32 little-endian length + frame), {CORPUS_MESSAGES} messages, seed\n\
         \x20 {FIXTURE_SEED}; `corpus/zstd-dict/<dictId>.dict` holds the dictionaries.\n\
         - `corpus/messages.jsonl`: the corpus messages as JSON, one per line, in frame order\n\
         \x20 (identical for every mode).\n\n\
         Larger corpora (not checked in): `cargo xtask corpus --messages N --out DIR [--mode M]`.\n"
    );
    s
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// One generation per test process (training takes a moment).
    fn wanted() -> &'static Tree {
        static TREE: OnceLock<Tree> = OnceLock::new();
        TREE.get_or_init(|| generated_tree().expect("generation works"))
    }

    /// Fails `cargo test` when `fixtures/` is out of date. Passing also shows
    /// that generation is byte-identical across processes.
    #[test]
    fn fixtures_are_fresh() {
        if let Err(e) = check_against(wanted(), &fixtures_dir()) {
            panic!("{e}");
        }
    }

    #[test]
    fn layout_is_complete_and_small() {
        let tree = wanted();
        for path in [
            "README.md",
            ".gitattributes",
            "dicts/odds.dict",
            "dicts/fixtures.dict",
            "dicts/bookmakers.dict",
            "ws/login.json",
            "ws/dict_odds.json",
            "ws/data_unknown_channel.json",
            "img/push_settlement.json",
            "img/unknown.json",
            "frames/zstd-dict/data_odds.bin",
            "frames/json/data_clocks.bin",
            "corpus/messages.jsonl",
            "corpus/binary/frames.bin",
            "corpus/zstd-dict/740826216.dict",
            "corpus/zstd-dict/740826218.dict",
        ] {
            assert!(tree.contains_key(path), "{path} missing");
        }
        assert_eq!(tree.keys().filter(|p| p.starts_with("ws/")).count(), 15);
        assert_eq!(tree.keys().filter(|p| p.starts_with("img/")).count(), 16);
        assert_eq!(tree.keys().filter(|p| p.starts_with("frames/")).count(), 24);
        assert!(!tree.contains_key("corpus/json/messages.jsonl"));
        let total: usize = tree.values().map(Vec::len).sum();
        assert!(total < 3 << 20, "fixtures are {total} bytes");
        // One compact document plus a newline per message file.
        for (path, bytes) in tree.iter().filter(|(p, _)| p.ends_with(".json")) {
            let text = std::str::from_utf8(bytes).expect("UTF-8");
            let body = text.strip_suffix('\n').expect("ends with a newline");
            assert!(!body.contains('\n'), "{path}");
            let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
            assert_eq!(v.to_string(), body, "{path} is not compact");
        }
        assert!(
            tree["README.md"]
                .starts_with(b"<!-- generated by `cargo xtask fixtures`, do not edit -->")
        );
    }

    #[test]
    fn trained_dictionaries_carry_their_ids() {
        for like in builtin_dicts() {
            let bytes = &wanted()[&format!("dicts/{}.dict", like.channel)];
            assert!(bytes.len() <= DICT_MAX_BYTES);
            assert_eq!(
                zstd::zstd_safe::get_dict_id_from_dict(bytes).map(|id| id.get()),
                Some(like.id)
            );
        }
    }

    #[test]
    fn check_names_stale_files_and_update_repairs_them() {
        let scratch = Scratch::new("stale").expect("scratch");
        update_from(wanted(), scratch.path()).expect("populate");
        fs::write(scratch.path().join("ws/login.json"), "{}\n").expect("edit");
        fs::remove_file(scratch.path().join("img/unknown.json")).expect("remove");
        fs::write(scratch.path().join("extra.txt"), "x").expect("add");
        fs::create_dir_all(scratch.path().join("old/empty")).expect("mkdir");
        fs::write(scratch.path().join("old/empty/stale.bin"), "x").expect("add");
        let err = check_against(wanted(), scratch.path()).expect_err("stale");
        assert!(err.contains("  extra.txt (not generated)\n"), "{err}");
        assert!(err.contains("  img/unknown.json (missing)\n"), "{err}");
        assert!(err.contains("  ws/login.json (differs)\n"), "{err}");
        assert!(
            err.ends_with("run `cargo xtask fixtures` to regenerate it"),
            "{err}"
        );

        let drift = update_from(wanted(), scratch.path()).expect("update");
        assert_eq!(drift.len(), 4);
        check_against(wanted(), scratch.path()).expect("fresh after update");
        assert!(!scratch.path().join("extra.txt").exists());
        assert!(!scratch.path().join("old").exists());
    }
}
