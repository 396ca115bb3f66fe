//! oddsfeed-model (work in progress).
