//! Owns HTTP/1.1 wire handling (RFC 9112): head parsing, body decoding, response encoding and
//! the cached `Date`. Nothing here touches a socket.

pub mod body;
pub mod date;
pub mod encode;
pub mod parse;
pub mod target;
