//! JSON text → Python objects, built straight from the parser (no intermediate tree).
//!
//! The result equals `json.loads` of the same text for everything the feed sends: objects
//! become `dict` (key order kept, a repeated key keeps its first position and last value, as
//! `json.loads` does), arrays `list`, strings `str`, integers `int`, other numbers `float`
//! (correctly rounded, serde_json's `float_roundtrip`), `null` `None`. Two corner cases differ
//! from the standard library and compare equal all the same: `-0` becomes `-0.0` (`== 0`), and
//! an integer beyond the 64-bit range becomes the nearest `float`.
//!
//! Object keys and short string values repeat from message to message (`channel`, `odds`,
//! `bookmakerId`, ...). A small process-wide table keeps the Python strings made for them and
//! hands out the same (immutable) object again: no allocation, no UTF-8 decoding, and the
//! string's hash is computed once, so inserting it into a `dict` is cheaper too.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::FeedError;

/// Slots of each string table (a power of two).
const SLOTS: usize = 1024;
/// The longest object key kept in the key table, in bytes.
const MAX_KEY: usize = 48;
/// The longest string value kept in the value table, in bytes (longer values are mostly
/// unique: entryIds, names, times).
const MAX_VALUE: usize = 16;

/// One slot: the bytes of the string it holds (inline, `len` of them) and the string.
struct Slot<const N: usize> {
    len: usize,
    bytes: [u8; N],
    string: Py<PyString>,
}

/// A direct-mapped table of Python strings of at most `N` bytes, by content: a slot holds
/// the last string that hashed to it.
struct StringTable<const N: usize> {
    slots: Vec<Option<Slot<N>>>,
}

impl<const N: usize> StringTable<N> {
    const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// The Python string for `text` (at most `N` bytes): the table's one when it holds it,
    /// else a new one that then takes the slot.
    fn get<'py>(&mut self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        let bytes = text.as_bytes();
        if bytes.len() > N {
            return PyString::new(py, text);
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let slot = &mut self.slots[slot_of(bytes)];
        if let Some(held) = slot
            && held.bytes.get(..held.len) == Some(bytes)
        {
            return held.string.bind(py).clone();
        }
        let string = PyString::new(py, text);
        let mut inline = [0; N];
        inline[..bytes.len()].copy_from_slice(bytes);
        *slot = Some(Slot {
            len: bytes.len(),
            bytes: inline,
            string: string.clone().unbind(),
        });
        string
    }
}

/// The slot of a string: a multiplicative hash of its length and its first and last eight
/// bytes (two strings that differ only in between share a slot, and take turns).
fn slot_of(bytes: &[u8]) -> usize {
    let n = bytes.len();
    let word = |at: usize, len: usize| {
        let mut buf = [0u8; 8];
        buf[..len].copy_from_slice(&bytes[at..at + len]);
        u64::from_le_bytes(buf)
    };
    let (head, tail) = if n >= 8 {
        (word(0, 8), word(n - 8, 8))
    } else {
        (word(0, n), 0)
    };
    let mixed = (head ^ tail.rotate_left(29) ^ (n as u64).rotate_left(58))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - SLOTS.trailing_zeros())) as usize
}

/// The key table and the short-value table.
type Tables = (StringTable<MAX_KEY>, StringTable<MAX_VALUE>);

/// The tables, between documents. A parse takes them out (holding the lock only for the swap)
/// and puts them back when done: nothing runs Python code while the lock is held, so a parse
/// entered again on the same thread (a finalizer run by the garbage collector during a parse)
/// or on another thread (after a finalizer released the GIL) cannot deadlock; it just starts
/// from empty tables.
static TABLES: Mutex<Tables> = Mutex::new((StringTable::new(), StringTable::new()));

fn swap_tables(tables: Tables) -> Tables {
    std::mem::replace(
        &mut *TABLES.lock().unwrap_or_else(PoisonError::into_inner),
        tables,
    )
}

/// Parses one JSON document into Python objects.
pub(crate) fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let cell = RefCell::new(swap_tables((StringTable::new(), StringTable::new())));
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Seed { py, tables: &cell }
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| FeedError::new_err(format!("not one JSON document: {e}")));
    // Whatever a nested parse left there is dropped here, outside the lock.
    drop(swap_tables(cell.into_inner()));
    value
}

/// A `serde_json` value (the event objects) as Python objects.
pub(crate) fn from_value<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                i.into_bound_py_any(py)?
            } else if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)?
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_value(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => from_map(py, map)?.into_any(),
    })
}

/// A `serde_json` object as a Python `dict`.
pub(crate) fn from_map<'py>(
    py: Python<'py>,
    map: &serde_json::Map<String, Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in map {
        dict.set_item(key, from_value(py, value)?)?;
    }
    Ok(dict)
}

/// A client's counts as the `dict` of the CLI's `stats` event (the same serialization).
pub(crate) fn stats_dict<'py>(
    py: Python<'py>,
    stats: &oddsfeed::stats::FeedStats,
) -> PyResult<Bound<'py, PyDict>> {
    match serde_json::to_value(stats) {
        Ok(Value::Object(map)) => from_map(py, &map),
        Ok(_) => Err(FeedError::new_err(
            "the counts did not serialize to an object",
        )),
        Err(e) => Err(FeedError::new_err(format!(
            "cannot serialize the counts: {e}"
        ))),
    }
}

/// Builds any JSON value.
#[derive(Clone, Copy)]
struct Seed<'a, 'py> {
    py: Python<'py>,
    tables: &'a RefCell<Tables>,
}

impl<'de, 'py> DeserializeSeed<'de> for Seed<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for Seed<'_, 'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        v.into_bound_py_any(self.py).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.py, v).into_any())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.tables.borrow_mut().1.get(self.py, v).into_any())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(PyList::new(self.py, items)
            .map_err(de::Error::custom)?
            .into_any())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key_seed(Key(self))? {
            let value = map.next_value_seed(self)?;
            dict.set_item(key, value).map_err(de::Error::custom)?;
        }
        Ok(dict.into_any())
    }
}

/// Builds an object key (always a string in JSON).
struct Key<'a, 'py>(Seed<'a, 'py>);

impl<'de, 'py> DeserializeSeed<'de> for Key<'_, 'py> {
    type Value = Bound<'py, PyString>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'py> Visitor<'de> for Key<'_, 'py> {
    type Value = Bound<'py, PyString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let Seed { py, tables } = self.0;
        Ok(tables.borrow_mut().0.get(py, v))
    }
}
