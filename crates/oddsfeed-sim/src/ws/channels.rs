//! The channels the simulator produces, and small sets of them.

/// The channels `sim ws` produces, in their canonical order (docs/PROTOCOL.md B.3).
pub const PRODUCED_CHANNELS: [&str; 5] = ["odds", "fixtures", "bookmakers", "scores", "clocks"];

/// A set of produced channels, one bit per entry of [`PRODUCED_CHANNELS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ChannelSet(u8);

impl ChannelSet {
    /// Position of `name` in [`PRODUCED_CHANNELS`], if it is one of them.
    pub(crate) fn index_of(name: &str) -> Option<usize> {
        PRODUCED_CHANNELS.iter().position(|c| *c == name)
    }

    /// The static spelling of a produced channel name.
    pub(crate) fn canonical(name: &str) -> Option<&'static str> {
        PRODUCED_CHANNELS.iter().find(|c| **c == name).copied()
    }

    /// The set of the known names among `names`; unknown names are skipped.
    pub(crate) fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = ChannelSet::default();
        for name in names {
            set.insert(name);
        }
        set
    }

    /// Adds `name` if it is a produced channel; returns whether it was new.
    pub(crate) fn insert(&mut self, name: &str) -> bool {
        match Self::index_of(name) {
            Some(i) => {
                let bit = 1u8 << i;
                let new = self.0 & bit == 0;
                self.0 |= bit;
                new
            }
            None => false,
        }
    }

    /// Whether `name` is in the set.
    pub(crate) fn contains(self, name: &str) -> bool {
        Self::index_of(name).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The intersection of two sets.
    pub(crate) fn intersect(self, other: ChannelSet) -> ChannelSet {
        ChannelSet(self.0 & other.0)
    }

    /// The members in canonical order.
    pub(crate) fn names(self) -> Vec<&'static str> {
        PRODUCED_CHANNELS
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, c)| *c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let mut set = ChannelSet::from_names(["scores", "odds", "futures"]);
        assert!(set.contains("odds"));
        assert!(set.contains("scores"));
        assert!(!set.contains("futures"));
        assert!(!set.contains("clocks"));
        assert_eq!(set.names(), ["odds", "scores"]);
        assert!(set.insert("clocks"));
        assert!(!set.insert("clocks"));
        assert!(!set.insert("stats"));
        let other = ChannelSet::from_names(["fixtures", "scores"]);
        assert_eq!(set.intersect(other).names(), ["scores"]);
        assert!(ChannelSet::default().names().is_empty());
        assert_eq!(ChannelSet::canonical("bookmakers"), Some("bookmakers"));
        assert_eq!(ChannelSet::canonical("book"), None);
    }
}
