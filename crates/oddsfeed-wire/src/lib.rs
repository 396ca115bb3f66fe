//! oddsfeed-wire (work in progress).
