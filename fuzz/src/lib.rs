//! Helpers shared by the oddsfeed fuzz targets (see `fuzz/README.md`).
//!
//! The session targets read their input as a little program: a sequence of
//! operations with small arguments. [`Ops`] is the cursor they read it with.
//! Running out of input is never an error: every read past the end yields
//! zeros or an empty slice, and [`Ops::is_empty`] ends the program.

/// A cursor over fuzz input that never fails.
#[derive(Debug, Clone)]
pub struct Ops<'a> {
    rest: &'a [u8],
}

impl<'a> Ops<'a> {
    /// A cursor at the start of `data`.
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    /// Whether the input is used up.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next byte, or 0 at the end.
    pub fn byte(&mut self) -> u8 {
        match self.rest.split_first() {
            Some((&b, rest)) => {
                self.rest = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes as a little-endian `u16` (missing bytes read as 0).
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next four bytes as a little-endian `u32` (missing bytes read as 0).
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `len` bytes (fewer at the end of the input).
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        head
    }

    /// A length-prefixed byte string: a little-endian `u16` length, then that
    /// many bytes (fewer at the end of the input).
    pub fn blob(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16());
        self.take(len)
    }

    /// Picks one of `items` by the next byte; `None` when `items` is empty.
    pub fn pick<'b, T>(&mut self, items: &'b [T]) -> Option<&'b T> {
        let i = usize::from(self.byte());
        items.get(i.checked_rem(items.len())?)
    }
}

/// Drains an output queue with `next`, failing the run if it yields more than
/// `cap` items in one go (a queue that refills itself while being drained).
/// Calls `each` on every item; returns how many there were.
pub fn drain<T>(cap: usize, mut next: impl FnMut() -> Option<T>, mut each: impl FnMut(T)) -> usize {
    let mut count = 0;
    while let Some(item) = next() {
        count += 1;
        assert!(
            count <= cap,
            "output queue did not drain within {cap} items"
        );
        each(item);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_zero_or_empty() {
        let mut ops = Ops::new(&[1, 2, 3]);
        assert_eq!(ops.u16(), 0x0201);
        assert_eq!(ops.u32(), 3);
        assert!(ops.is_empty());
        assert_eq!(ops.take(5), b"");
        assert_eq!(ops.pick::<u8>(&[]), None);
    }

    #[test]
    fn blob_is_length_prefixed() {
        let mut ops = Ops::new(&[2, 0, b'a', b'b', b'c']);
        assert_eq!(ops.blob(), b"ab");
        assert_eq!(ops.pick(&["x", "y"]), Some(&"y"));
    }
}
