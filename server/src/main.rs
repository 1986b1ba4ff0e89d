//! portico: the HTTP/1.1 server process.
fn main() {}
