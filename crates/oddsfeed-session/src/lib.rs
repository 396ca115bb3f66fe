//! oddsfeed-session (work in progress).
