//! `oddsfeed.Decoder`: the client's frame decoding for Python code that keeps its own socket.

use std::sync::Mutex;

use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::{Control, WsMessage, parse_ws_text};
use oddsfeed_session::ws::{
    DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_FRAME, DecodeError, FrameDecoder, FrameKind,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::{FeedError, busy, json};

/// Decodes WebSocket frames as the client does (PROTOCOL.md B.5): size check, zstd with the
/// dictionary the frame's dictId names and a hard output bound (64 MiB, never allocated up
/// front), JSON or MessagePack. One decompression context and output buffer are reused for
/// every frame; decoding runs without the GIL.
///
/// `decode(frame)` takes a binary frame (`bytes`) or a text frame (`str`) and returns the
/// message as a `dict` equal to `json.loads` of the line `oddsfeed ws` prints for it.
/// `add_dict(text)` stores the dictionary of a `dict` control frame (its JSON text, as
/// received); `decode` also stores one when given a `dict` frame.
#[pyclass(module = "oddsfeed._oddsfeed", frozen)]
pub(crate) struct Decoder {
    inner: Mutex<FrameDecoder>,
}

/// A frame as Python gives it.
enum Frame<'a> {
    Text(std::borrow::Cow<'a, str>),
    Binary(&'a [u8]),
}

fn frame_of<'a>(frame: &'a Bound<'_, PyAny>) -> PyResult<Frame<'a>> {
    if let Ok(bytes) = frame.cast::<PyBytes>() {
        Ok(Frame::Binary(bytes.as_bytes()))
    } else if let Ok(text) = frame.cast::<PyString>() {
        Ok(Frame::Text(text.to_cow()?))
    } else {
        Err(PyTypeError::new_err(
            "a frame is bytes (binary frame) or str (text frame)",
        ))
    }
}

fn decode_error(error: &DecodeError) -> PyErr {
    FeedError::new_err(error.to_string())
}

impl Decoder {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, FrameDecoder>> {
        match self.inner.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(busy()),
        }
    }

    /// Every message of one frame, as Python objects (dict frames are stored on the way).
    fn decode_frame<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let frame = frame_of(frame)?;
        let mut decoder = self.lock()?;
        let decoder: &mut FrameDecoder = &mut decoder;
        let (kind, payload) = match &frame {
            Frame::Text(text) => (FrameKind::Text, text.as_bytes()),
            Frame::Binary(bytes) => (FrameKind::Binary, *bytes),
        };
        let decoded = py.detach(|| {
            let mut out = Vec::new();
            decoder.decode(kind, payload, &mut out);
            let mut stored = Ok(());
            for item in &out {
                if let Ok(WsMessage::Control(Control::Dict(dict))) = item {
                    stored = store(decoder, dict).map(|_| ());
                }
            }
            stored.map(|()| out)
        })?;
        let mut messages = Vec::with_capacity(decoded.len());
        let single = decoded.len() == 1;
        for item in decoded {
            match item {
                Ok(WsMessage::Data(msg)) => messages.push(json::loads(py, &msg.raw)?),
                // A control frame arrives as text: its JSON is the frame's.
                Ok(WsMessage::Control(_)) if single && kind == FrameKind::Text => {
                    let text = std::str::from_utf8(payload).unwrap_or_default();
                    messages.push(json::loads(py, text.trim_end())?);
                }
                // Control frames in binary frames, and kinds the model learns later.
                Ok(_) => {}
                Err(error) if !error.kind.drops_frame() => {}
                Err(error) => return Err(decode_error(&error)),
            }
        }
        Ok(messages)
    }
}

/// Stores a `dict` frame's dictionary.
fn store(decoder: &mut FrameDecoder, dict: &oddsfeed_model::ws::DictFrame) -> PyResult<usize> {
    decoder
        .load_dict(
            dict.dict_id,
            dict.encoding.as_deref().unwrap_or_default(),
            dict.data.as_deref().unwrap_or_default(),
            dict.channel.as_deref(),
        )
        .map_err(|e| FeedError::new_err(format!("dictionary rejected: {e}")))
}

#[pymethods]
impl Decoder {
    /// A decoder for frames of one receive type (`json`, `binary`, `zstd`, `zstd-dict`).
    #[new]
    #[pyo3(signature = (receive_type="zstd-dict", max_frame=DEFAULT_MAX_FRAME,
        max_decompressed=DEFAULT_MAX_DECOMPRESSED))]
    fn new(receive_type: &str, max_frame: usize, max_decompressed: usize) -> PyResult<Self> {
        let mode: ReceiveType = receive_type.parse().map_err(|_| {
            PyValueError::new_err(format!(
                "receive_type must be one of json, binary, zstd, zstd-dict (got {receive_type:?})"
            ))
        })?;
        Ok(Self {
            inner: Mutex::new(FrameDecoder::new(max_frame, max_decompressed).with_mode(Some(mode))),
        })
    }

    /// Stores the dictionary of a `dict` control frame given as its JSON text; returns the
    /// dictionary's size in bytes. Raises `FeedError` when the text is not a `dict` frame or
    /// the dictionary is refused (bad base64, id 0, over 1 MiB, header id mismatch, store full).
    fn add_dict(&self, py: Python<'_>, dict_frame_text: &str) -> PyResult<usize> {
        let mut decoder = self.lock()?;
        let decoder: &mut FrameDecoder = &mut decoder;
        py.detach(|| {
            for message in parse_ws_text(dict_frame_text) {
                if let Ok(WsMessage::Control(Control::Dict(dict))) = message {
                    return store(decoder, &dict);
                }
            }
            Err(FeedError::new_err("not a dict control frame"))
        })
    }

    /// Decodes one frame holding one message and returns it as a `dict`. Raises `FeedError`
    /// for a frame that cannot be decoded (the reason as in the `decode_error` event) or that
    /// holds several messages (use `decode_all`).
    fn decode<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut messages = self.decode_frame(py, frame)?;
        match messages.len() {
            1 => Ok(messages.remove(0)),
            0 => Err(FeedError::new_err("the frame holds no message")),
            n => Err(FeedError::new_err(format!(
                "the frame holds {n} messages: use decode_all"
            ))),
        }
    }

    /// Decodes one frame and returns all its messages (a text frame may hold several lines).
    fn decode_all<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.decode_frame(py, frame)?)
    }
}
