//! oddsfeed-zstd (work in progress).
