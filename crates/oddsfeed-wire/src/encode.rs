//! Line encoders: compact JSON or a raw payload, terminated by one `\n`
//! (docs/PROTOCOL.md A.1, "Writer").

use serde::Serialize;

use crate::WireError;

/// Appends `value` as compact JSON followed by `\n` to `out`.
///
/// Compact JSON never contains a raw newline (newlines inside strings are
/// escaped), so the result is always exactly one line. On error `out` is left
/// as it was.
///
/// ```
/// let mut out = Vec::new();
/// oddsfeed_wire::encode_json_line(&serde_json::json!({"request": "init", "msg": {}}), &mut out)?;
/// assert_eq!(out, b"{\"request\":\"init\",\"msg\":{}}\n");
/// # Ok::<(), oddsfeed_wire::WireError>(())
/// ```
///
/// # Errors
///
/// [`WireError::Json`] if `value` cannot be serialised (for example a map
/// with non-string keys).
pub fn encode_json_line<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let start = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        out.truncate(start);
        return Err(e.into());
    }
    out.push(b'\n');
    Ok(())
}

/// Appends `payload` followed by `\n` to `out`.
///
/// Only `\n` is refused: a `\r` is passed through (a reader strips a `\r`
/// only when it comes right before the `\n`).
///
/// ```
/// let mut out = Vec::new();
/// oddsfeed_wire::encode_line(b"{}", &mut out)?;
/// assert_eq!(out, b"{}\n");
/// let err = oddsfeed_wire::encode_line(b"{}\n{}", &mut out).unwrap_err();
/// assert_eq!(err.reason(), "newline_in_payload");
/// # Ok::<(), oddsfeed_wire::WireError>(())
/// ```
///
/// # Errors
///
/// [`WireError::NewlineInPayload`] with the offset of the first `\n`; `out`
/// is left as it was.
pub fn encode_line(payload: &[u8], out: &mut Vec<u8>) -> Result<(), WireError> {
    if let Some(offset) = payload.iter().position(|&b| b == b'\n') {
        return Err(WireError::NewlineInPayload { offset });
    }
    out.reserve(payload.len() + 1);
    out.extend_from_slice(payload);
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn json_line_is_compact_and_terminated() {
        let mut out = b"prev\n".to_vec();
        let value = serde_json::json!({"request": "subscribe", "msg": {"event_ids": ["ev.1"]}, "text": "a\nb"});
        encode_json_line(&value, &mut out).unwrap();
        assert_eq!(
            out,
            b"prev\n{\"request\":\"subscribe\",\"msg\":{\"event_ids\":[\"ev.1\"]},\"text\":\"a\\nb\"}\n"
        );
    }

    #[test]
    fn json_line_accepts_unsized_values() {
        let mut out = Vec::new();
        encode_json_line::<[u32]>(&[1, 2][..], &mut out).unwrap();
        encode_json_line::<str>("x", &mut out).unwrap();
        assert_eq!(out, b"[1,2]\n\"x\"\n");
    }

    #[test]
    fn json_failure_leaves_output_untouched() {
        let mut out = b"keep".to_vec();
        let mut bad = BTreeMap::new();
        bad.insert((1u8, 2u8), "v");
        let err = encode_json_line(&bad, &mut out).unwrap_err();
        assert!(matches!(err, WireError::Json(_)), "{err:?}");
        assert_eq!(out, b"keep");
    }

    #[test]
    fn raw_line_is_terminated() {
        let mut out = Vec::new();
        encode_line(b"{\"a\":1}", &mut out).unwrap();
        encode_line(b"with\rcr", &mut out).unwrap();
        assert_eq!(out, b"{\"a\":1}\nwith\rcr\n");
    }

    #[test]
    fn raw_line_with_newline_is_refused_at_its_offset() {
        let mut out = b"keep".to_vec();
        let err = encode_line(b"abc\ndef\n", &mut out).unwrap_err();
        assert!(
            matches!(err, WireError::NewlineInPayload { offset: 3 }),
            "{err:?}"
        );
        assert_eq!(out, b"keep");
    }
}
