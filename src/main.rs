//! The `svm-dual` command line (being written — issue 2, scope 8).
fn main() {}
