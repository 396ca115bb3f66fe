//! oddsfeed facade (work in progress).
