//! Fuzz target: `oddsfeed_model::parse_img_line` (docs/PROTOCOL.md A.3-A.7,
//! "Robustness rules") on arbitrary UTF-8, and `parse_img_bytes` on any bytes.
//!
//! Invariants checked:
//! - no panic; errors are never fatal and keep at most `RAW_CAP` bytes;
//! - a parsed message keeps its line: `raw()` is the line without surrounding
//!   whitespace, and is the JSON object that was classified;
//! - `parse_img_bytes` agrees with `parse_img_line` on UTF-8 input and
//!   reports `invalid_utf8` otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oddsfeed_model::img::{ImgMessage, parse_img_bytes};
use oddsfeed_model::{ModelError, RAW_CAP, parse_img_line};
use serde_json::Value;

fn check(result: &Result<ImgMessage, ModelError>, line: &str) {
    match result {
        Ok(message) => {
            let raw = message.raw();
            assert_eq!(raw, line.trim_matches([' ', '\t', '\n', '\r']));
            match serde_json::from_str::<Value>(raw) {
                Ok(value) => assert!(value.is_object(), "classified a non-object"),
                Err(e) => panic!("raw is not JSON ({e})"),
            }
            if let ImgMessage::Unknown { value, .. } = message {
                assert!(value.is_object());
            }
        }
        Err(e) => {
            assert!(!e.is_fatal());
            assert!(e.raw().len() <= RAW_CAP);
            assert!(
                matches!(e.reason(), "bad_json" | "wrong_shape"),
                "{}",
                e.reason()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(line) => {
            let parsed = parse_img_line(line);
            check(&parsed, line);
            assert_eq!(parse_img_bytes(data), parsed);
        }
        Err(_) => match parse_img_bytes(data) {
            Err(e) => {
                assert_eq!(e.reason(), "invalid_utf8");
                assert!(e.raw().len() <= RAW_CAP);
            }
            Ok(message) => panic!("accepted invalid UTF-8: {message:?}"),
        },
    }
});
