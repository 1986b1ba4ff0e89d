//! The `gzip` middleware (Django's `GZipMiddleware`): compresses a response when the client
//! accepts gzip, by Django's rules: not under 200 bytes, not when already encoded, only when
//! shorter, `Vary: Accept-Encoding` either way, a strong ETag made weak, and a streaming
//! response compressed as a stream.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use rand::Rng;

use super::Middleware;
use crate::exception::ViewError;
use crate::http::{HttpRequest, HttpResponse};
use crate::utils::cache::patch_vary_headers;

/// Django's threshold: "it's not worth attempting to compress really short responses".
pub const MIN_COMPRESS_LENGTH: usize = 200;

/// Django's `GZipMiddleware.max_random_bytes`: up to this many bytes of random-length padding go
/// into the gzip header's file name, so the compressed length does not leak the content
/// (BREACH).
pub const MAX_RANDOM_BYTES: usize = 100;

/// Python's `compresslevel=6`, what Django's `compress_string` uses.
const LEVEL: u32 = 6;

/// Django's `GZipMiddleware`.
pub struct GZipMiddleware;

/// Django's `re_accepts_gzip = r"\bgzip\b"` on `Accept-Encoding`.
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    accept_encoding.match_indices("gzip").any(|(i, m)| {
        !is_word(accept_encoding[..i].chars().next_back())
            && !is_word(accept_encoding[i + m.len()..].chars().next())
    })
}

/// Django's `_get_random_filename`: `a` repeated a random number of times below `max`.
fn random_filename(max: usize) -> Vec<u8> {
    vec![b'a'; rand::thread_rng().gen_range(0..max.max(1))]
}

/// A gzip stream with mtime 0 and a random-length file name, as Django's `compress_string`
/// and `compress_sequence` write it.
fn encoder() -> GzEncoder<Vec<u8>> {
    GzBuilder::new()
        .mtime(0)
        .filename(random_filename(MAX_RANDOM_BYTES))
        .write(Vec::new(), Compression::new(LEVEL))
}

/// Django's `compress_string(s, max_random_bytes=100)`.
pub fn compress_string(content: &[u8]) -> Vec<u8> {
    let mut gz = encoder();
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(content);
    gz.finish().unwrap_or_default()
}

/// Django's `compress_sequence`: the gzip stream of `chunks`, yielding what the compressor
/// has produced after each chunk (empty pieces are skipped), then the end of the stream.
pub struct CompressSequence {
    inner: Box<dyn Iterator<Item = Vec<u8>> + Send>,
    gz: Option<GzEncoder<Vec<u8>>>,
}

impl CompressSequence {
    /// Compresses `inner` as a stream.
    pub fn new(inner: Box<dyn Iterator<Item = Vec<u8>> + Send>) -> Self {
        CompressSequence {
            inner,
            gz: Some(encoder()),
        }
    }
}

impl Iterator for CompressSequence {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            let gz = self.gz.as_mut()?;
            match self.inner.next() {
                Some(chunk) => {
                    let _ = gz.write_all(&chunk);
                    let out = std::mem::take(gz.get_mut());
                    if !out.is_empty() {
                        return Some(out);
                    }
                }
                None => {
                    let gz = self.gz.take()?;
                    return gz.finish().ok().filter(|tail| !tail.is_empty());
                }
            }
        }
    }
}

impl Middleware for GZipMiddleware {
    fn process_response(
        &self,
        request: &mut HttpRequest,
        mut response: HttpResponse,
    ) -> Result<HttpResponse, ViewError> {
        if !response.is_streaming() && response.content().len() < MIN_COMPRESS_LENGTH {
            return Ok(response);
        }
        if response.has_header("Content-Encoding") {
            return Ok(response);
        }
        patch_vary_headers(&mut response, &["Accept-Encoding"]);
        let accept = request.headers.get("Accept-Encoding").unwrap_or("");
        // META joins repeated fields with ","; the headers map keeps them apart.
        let accepted =
            request.headers.get_all("Accept-Encoding").any(accepts_gzip) || accepts_gzip(accept);
        if !accepted {
            return Ok(response);
        }
        if response.is_streaming() {
            // A FileResponse is compressed as Django compresses it: its blocks, read as they go
            // (no zero-copy then: the bytes change on the way).
            let chunks: Box<dyn Iterator<Item = Vec<u8>> + Send> = match response.take_body() {
                crate::http::Body::Stream(chunks) => chunks,
                crate::http::Body::File(file) => Box::new(file.into_chunks()),
                crate::http::Body::Bytes(_) => unreachable!("is_streaming: not plain bytes"),
            };
            response.set_streaming_content(Box::new(CompressSequence::new(chunks)));
            // The compressed size is unknown until the stream ends.
            response.headers.remove("Content-Length");
        } else {
            let compressed = compress_string(response.content());
            if compressed.len() >= response.content().len() {
                return Ok(response);
            }
            response
                .headers
                .set("Content-Length", compressed.len().to_string());
            response.set_content(compressed);
        }
        if let Some(etag) = response.get("ETag").filter(|e| e.starts_with('"')) {
            let weak = format!("W/{etag}");
            response.headers.set("ETag", weak);
        }
        response.headers.set("Content-Encoding", "gzip");
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::StreamingHttpResponse;
    use crate::settings::Settings;
    use flate2::read::GzDecoder;
    use std::io::Read;
    use std::sync::Arc;

    fn run(accept: Option<&str>, response: HttpResponse) -> HttpResponse {
        let mut r = HttpRequest::new("GET", "/", "", Arc::new(Settings::default()));
        if let Some(a) = accept {
            r.headers.append("Accept-Encoding", a);
        }
        GZipMiddleware.process_response(&mut r, response).unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    fn big() -> Vec<u8> {
        (0..100)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect()
    }

    #[test]
    fn compresses_long_responses_for_gzip_clients_only() {
        let r = run(
            Some("gzip, deflate"),
            HttpResponse::new(big()).header("ETag", "\"x\""),
        );
        assert_eq!(r.get("Content-Encoding"), Some("gzip"));
        assert_eq!(r.get("Vary"), Some("Accept-Encoding"));
        assert_eq!(r.get("ETag"), Some("W/\"x\""));
        assert_eq!(
            r.get("Content-Length"),
            Some(r.content().len().to_string().as_str())
        );
        assert_eq!(gunzip(r.content()), big());
        // The header: gzip magic, deflate, FNAME set, mtime 0.
        assert_eq!(&r.content()[..4], &[0x1f, 0x8b, 8, 8]);
        assert_eq!(&r.content()[4..8], &[0, 0, 0, 0]);

        let r = run(None, HttpResponse::new(big()));
        assert_eq!(
            (r.get("Content-Encoding"), r.get("Vary")),
            (None, Some("Accept-Encoding"))
        );
        let r = run(Some("gzipped, x-gzip2"), HttpResponse::new(big()));
        assert_eq!(r.get("Content-Encoding"), None);
        let r = run(Some("br;q=1, GZIP"), HttpResponse::new(big()));
        assert_eq!(
            r.get("Content-Encoding"),
            None,
            "the regex is case-sensitive"
        );
        let r = run(Some("x-gzip"), HttpResponse::new(big()));
        assert_eq!(
            r.get("Content-Encoding"),
            Some("gzip"),
            "\\b matches at '-'"
        );
    }

    #[test]
    fn short_encoded_or_incompressible_responses_are_left_alone() {
        let r = run(Some("gzip"), HttpResponse::new(vec![b'a'; 199]));
        assert_eq!((r.get("Content-Encoding"), r.get("Vary")), (None, None));
        let r = run(
            Some("gzip"),
            HttpResponse::new(big()).header("Content-Encoding", "br"),
        );
        assert_eq!(
            (r.get("Content-Encoding"), r.get("Vary")),
            (Some("br"), None)
        );
        let random: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let r = run(Some("gzip"), HttpResponse::new(random.clone()));
        assert_eq!(r.get("Content-Encoding"), None);
        assert_eq!(r.content(), random.as_slice());
        assert_eq!(r.get("Vary"), Some("Accept-Encoding"));
    }

    #[test]
    fn streaming_responses_are_compressed_as_a_stream() {
        let resp = StreamingHttpResponse::new((0..50).map(|i| format!("chunk {i}\n")))
            .header("Content-Length", "999");
        let mut r = run(Some("gzip"), resp);
        assert_eq!(r.get("Content-Encoding"), Some("gzip"));
        assert_eq!(r.get("Content-Length"), None);
        let crate::http::Body::Stream(chunks) = r.take_body() else {
            panic!("still streaming")
        };
        let bytes: Vec<u8> = chunks.flatten().collect();
        let expected: String = (0..50).map(|i| format!("chunk {i}\n")).collect();
        assert_eq!(gunzip(&bytes), expected.as_bytes());
    }
}
