//! Every JSON fixture under `fixtures/ws` parses to the same value by the fast (simd-json)
//! and plain (serde_json) paths. At least [`MIN_DOCUMENTS`] documents must be checked, so a
//! missing or emptied directory fails instead of passing with nothing checked.

use std::path::{Path, PathBuf};

use oddsfeed_model::ws::{Payload, WsMessage, parse_ws_fast, parse_ws_json};

/// Documents in `fixtures/ws` today (one per file); regenerate with `cargo xtask fixtures`.
const MIN_DOCUMENTS: usize = 15;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
}

/// The documents of a whitespace-separated JSON sequence, or `None` if it is not one.
fn documents(text: &str) -> Option<Vec<&str>> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde::de::IgnoredAny>();
    let mut docs = Vec::new();
    let mut start = 0;
    while let Some(item) = stream.next() {
        item.ok()?;
        let end = stream.byte_offset();
        docs.push(text.get(start..end)?.trim());
        start = end;
    }
    Some(docs)
}

#[test]
fn fast_and_plain_paths_agree_on_every_ws_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/ws");
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    files.sort();
    let (mut documents_checked, mut typed, mut untyped) = (0usize, 0usize, 0usize);
    for file in &files {
        let bytes = std::fs::read(file).unwrap_or_default();
        let name = file.display();
        // The file as one frame.
        assert_eq!(
            parse_ws_fast(&mut bytes.clone()),
            parse_ws_json(&bytes),
            "{name}: paths differ on the whole file"
        );
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        // Each document of the file.
        for doc in documents(text).unwrap_or_default() {
            let plain = parse_ws_json(doc.as_bytes());
            let fast = parse_ws_fast(&mut doc.as_bytes().to_vec());
            assert_eq!(fast, plain, "{name}: paths differ on {doc:.120}");
            if doc.starts_with('{') {
                assert!(
                    plain.is_ok(),
                    "{name}: an object failed to parse: {plain:?}"
                );
            }
            if let Ok(WsMessage::Data(d)) = &plain {
                let modelled = ["odds", "fixtures", "bookmakers", "scores", "clocks"];
                if modelled.contains(&d.channel.as_str()) {
                    assert_eq!(
                        d.typed_error, None,
                        "{name}: {} payload not typed",
                        d.channel
                    );
                }
                if matches!(d.payload, Payload::Other(_)) {
                    untyped += 1;
                    if let Some(why) = &d.typed_error {
                        eprintln!("{name}: {} not typed: {why}", d.channel);
                    }
                } else {
                    typed += 1;
                }
            }
            documents_checked += 1;
        }
    }
    eprintln!(
        "{} fixture files, {documents_checked} documents ({typed} typed data, {untyped} untyped data)",
        files.len()
    );
    assert!(
        documents_checked >= MIN_DOCUMENTS && typed >= 5,
        "only {documents_checked} documents ({typed} typed data) checked under {}: expected at \
         least {MIN_DOCUMENTS} (and the five modelled channels); run `cargo xtask fixtures`",
        dir.display()
    );
}
