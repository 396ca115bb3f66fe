//! [`split_records`]: the length-prefixed records of a corpus `frames.bin`.

use std::ops::Range;

/// The byte ranges of the records of a `frames.bin` (each record: its length as a little-endian
/// `u32`, then that many bytes), or the offset of a truncated record.
///
/// The simulator writes corpora (`cargo xtask corpus`); `oddsfeed bench decode --corpus` and
/// the benchmarks read them. Both sides split them here.
///
/// ```
/// let data = [3, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0];
/// assert_eq!(oddsfeed_wire::split_records(&data), Ok(vec![4..7, 11..11]));
/// assert_eq!(oddsfeed_wire::split_records(&data[..6]), Err(0));
/// ```
///
/// # Errors
///
/// The offset of the first record whose length prefix or body is cut short.
pub fn split_records(data: &[u8]) -> Result<Vec<Range<usize>>, usize> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let len = data
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or(at)?;
        let start = at + 4;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= data.len())
            .ok_or(at)?;
        frames.push(start..end);
        at = end;
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_names_the_truncated_record() {
        let one: Vec<Range<usize>> = std::iter::once(4..7).collect();
        assert_eq!(split_records(&[3, 0, 0, 0, 1, 2, 3]), Ok(one));
        assert_eq!(split_records(&[3, 0, 0, 0, 1, 2]), Err(0));
        assert_eq!(split_records(&[0, 0, 0, 0, 9]), Err(4));
        assert_eq!(split_records(&[]), Ok(vec![]));
    }
}
