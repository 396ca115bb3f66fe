//! The oddsfeed command line.

fn main() {}
