//! oddsfeed-sim (work in progress).
