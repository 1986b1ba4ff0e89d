//! Owns request-body decoding: Content-Length counting and the chunked decoder (RFC 9112
//! section 7.1; extensions and trailers are accepted and ignored).
//!
//! The decoder is incremental and keeps no body bytes of its own: the connection hands it what
//! arrived, and it copies the decoded bytes straight into the app's `read_body` buffer
//! ([`Decoder::decode_into`]), or throws them away when a body nobody read is drained
//! ([`Decoder::discard`]). So a body of any size passes through the connection's small read
//! window.

/// Longest chunk-size line (hex digits, extensions) or trailer line accepted: bounds the bytes
/// a client can make us scan without producing body.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Most trailer bytes accepted in total, for the same reason.
pub const MAX_TRAILERS: usize = 16 * 1024;

/// Why a body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Malformed chunked framing (400).
    Malformed,
    /// Over `--limit-request-body` (413).
    TooLarge,
}

impl BodyError {
    /// The status and one-line reason sent for this failure.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            BodyError::Malformed => (400, "malformed chunked body"),
            BodyError::TooLarge => (413, "request body too large"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading hex digits of a chunk size.
    Size,
    /// After the digits: `;`, the line end, or whitespace (BWS) that must lead to a `;`.
    SizeLws,
    /// Whitespace after the digits: only more of it or a `;` may follow (`0 ` then the line
    /// end is not a chunk-size line).
    SizeBws,
    /// Inside chunk extensions, until the line end.
    Extension,
    /// Saw the CR ending a chunk-size line.
    SizeLf,
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// An incremental decoder for either framing.
#[derive(Debug, Clone)]
pub struct Decoder {
    chunked: bool,
    remaining: u64,
    state: State,
    size: u64,
    digits: usize,
    line: usize,
    trailers: usize,
    total: u64,
    limit: Option<u64>,
}

impl Decoder {
    /// A decoder for a `Content-Length` body.
    pub fn length(n: u64) -> Decoder {
        Decoder::new(false, n, None)
    }

    /// A decoder for a chunked body, refusing more than `limit` decoded bytes.
    pub fn chunked(limit: Option<u64>) -> Decoder {
        Decoder::new(true, 0, limit)
    }

    fn new(chunked: bool, remaining: u64, limit: Option<u64>) -> Decoder {
        Decoder {
            chunked,
            remaining,
            state: State::Size,
            size: 0,
            digits: 0,
            line: 0,
            trailers: 0,
            total: 0,
            limit,
        }
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        if self.chunked {
            self.state == State::Done
        } else {
            self.remaining == 0
        }
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many input bytes were
    /// consumed; bytes after the end of the body are left for the next request.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, BodyError> {
        self.run(input, usize::MAX, false, |data| out.extend_from_slice(data))
            .map(|(consumed, _)| consumed)
    }

    /// Decodes from `input` into `out`, at most `out.len()` body bytes. Returns the input bytes
    /// consumed and the body bytes written; it stops early when `out` is full.
    pub fn decode_into(
        &mut self,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), BodyError> {
        let mut filled = 0;
        self.run(input, out.len(), true, |data| {
            out[filled..filled + data.len()].copy_from_slice(data);
            filled += data.len();
        })
    }

    /// Decodes from `input` and drops the body bytes (a body the app did not read, drained so
    /// the next request on the connection can be read). Returns the input bytes consumed.
    pub fn discard(&mut self, input: &[u8]) -> Result<usize, BodyError> {
        self.run(input, usize::MAX, false, |_| {})
            .map(|(consumed, _)| consumed)
    }

    /// For a `Content-Length` body: how many bytes are still to come.
    pub fn remaining_length(&self) -> Option<u64> {
        (!self.chunked).then_some(self.remaining)
    }

    /// Records `n` bytes of a `Content-Length` body that were read straight from the socket into
    /// the app's buffer, bypassing [`Decoder::decode_into`]. `n` must not exceed what remains.
    pub fn advance_length(&mut self, n: usize) {
        debug_assert!(!self.chunked && n as u64 <= self.remaining);
        self.remaining = self.remaining.saturating_sub(n as u64);
    }

    /// The decoding loop: framing bytes are checked and consumed, body bytes are handed to
    /// `emit` in runs, at most `room` of them. Returns (input consumed, body bytes emitted).
    fn run(
        &mut self,
        input: &[u8],
        room: usize,
        defer: bool,
        mut emit: impl FnMut(&[u8]),
    ) -> Result<(usize, usize), BodyError> {
        if !self.chunked {
            let n = (input.len() as u64).min(self.remaining).min(room as u64) as usize;
            emit(&input[..n]);
            self.remaining -= n as u64;
            return Ok((n, n));
        }
        let mut emitted = 0;
        let mut i = 0;
        // With `defer`, an error found after body bytes were written in this call is reported
        // on the next one (the failing byte is not consumed, and the decoder fails on it
        // again), so a caller whose buffer is lost on an error still gets the bytes that came
        // before it.
        macro_rules! fail {
            ($e:expr) => {
                return if defer && emitted > 0 {
                    Ok((i, emitted))
                } else {
                    Err($e)
                }
            };
        }
        while i < input.len() && self.state != State::Done {
            // A full output stops decoding at once: the bytes already written must reach the
            // caller before any error further on in the input is reported.
            if emitted == room {
                break;
            }
            let b = input[i];
            match self.state {
                State::Size => match hex(b) {
                    Some(d) => {
                        self.digits += 1;
                        if self.digits > 16 {
                            fail!(BodyError::Malformed);
                        }
                        self.size = self.size << 4 | u64::from(d);
                    }
                    None if self.digits == 0 => fail!(BodyError::Malformed),
                    None => {
                        self.state = State::SizeLws;
                        self.line = self.digits;
                        continue;
                    }
                },
                // RFC 9112 section 7.1.1: chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS
                // ext-val ] ). A CR must end the line: a bare CR inside it could be read as a line
                // end by a proxy in front and desync the framing. Whitespace is BWS before a `;`
                // only: `0 ` ending its line is no chunk-size line, and a front proxy may read it
                // otherwise.
                State::SizeLws => {
                    if let Err(e) = self.count_line() {
                        fail!(e);
                    }
                    match b {
                        b' ' | b'\t' => self.state = State::SizeBws,
                        b';' => self.state = State::Extension,
                        b'\r' => self.state = State::SizeLf,
                        b'\n' => {
                            if let Err(e) = self.start_chunk() {
                                fail!(e);
                            }
                        }
                        _ => fail!(BodyError::Malformed),
                    }
                }
                State::SizeBws => {
                    if let Err(e) = self.count_line() {
                        fail!(e);
                    }
                    match b {
                        b' ' | b'\t' => {}
                        b';' => self.state = State::Extension,
                        _ => fail!(BodyError::Malformed),
                    }
                }
                State::Extension => {
                    if let Err(e) = self.count_line() {
                        fail!(e);
                    }
                    match b {
                        b'\r' => self.state = State::SizeLf,
                        b'\n' => {
                            if let Err(e) = self.start_chunk() {
                                fail!(e);
                            }
                        }
                        _ if field_byte(b) => {}
                        _ => fail!(BodyError::Malformed),
                    }
                }
                State::SizeLf => {
                    if b != b'\n' {
                        fail!(BodyError::Malformed);
                    }
                    if let Err(e) = self.start_chunk() {
                        fail!(e);
                    }
                }
                State::Data(left) => {
                    let space = room - emitted;
                    let n = ((input.len() - i) as u64).min(left).min(space as u64) as usize;
                    emit(&input[i..i + n]);
                    emitted += n;
                    i += n;
                    self.state = if left - n as u64 == 0 {
                        State::DataCr
                    } else {
                        State::Data(left - n as u64)
                    };
                    continue;
                }
                State::DataCr => {
                    self.state = match b {
                        b'\r' => State::DataLf,
                        b'\n' => self.next_size(),
                        _ => fail!(BodyError::Malformed),
                    }
                }
                State::DataLf => {
                    if b != b'\n' {
                        fail!(BodyError::Malformed);
                    }
                    self.state = self.next_size();
                }
                State::TrailerStart => {
                    self.state = match b {
                        b'\r' => State::EndLf,
                        b'\n' => State::Done,
                        _ if field_byte(b) => {
                            self.line = 0;
                            if let Err(e) = self.count_trailer() {
                                fail!(e);
                            }
                            State::Trailer
                        }
                        _ => fail!(BodyError::Malformed),
                    }
                }
                // Trailer fields are read and dropped, but they must still look like field
                // lines: no control bytes, CR only before LF.
                State::Trailer => {
                    if let Err(e) = self.count_trailer() {
                        fail!(e);
                    }
                    match b {
                        b'\r' => self.state = State::TrailerLf,
                        b'\n' => self.state = State::TrailerStart,
                        _ if field_byte(b) => {}
                        _ => fail!(BodyError::Malformed),
                    }
                }
                State::TrailerLf => {
                    if b != b'\n' {
                        fail!(BodyError::Malformed);
                    }
                    self.state = State::TrailerStart;
                }
                State::EndLf => {
                    if b != b'\n' {
                        fail!(BodyError::Malformed);
                    }
                    self.state = State::Done;
                }
                State::Done => {}
            }
            i += 1;
        }
        Ok((i, emitted))
    }

    /// Counts one byte of a chunk-size line against [`MAX_CHUNK_LINE`].
    fn count_line(&mut self) -> Result<(), BodyError> {
        self.line += 1;
        if self.line > MAX_CHUNK_LINE {
            return Err(BodyError::Malformed);
        }
        Ok(())
    }

    /// Counts one trailer byte against [`MAX_CHUNK_LINE`] and [`MAX_TRAILERS`].
    fn count_trailer(&mut self) -> Result<(), BodyError> {
        self.line += 1;
        self.trailers += 1;
        if self.line > MAX_CHUNK_LINE || self.trailers > MAX_TRAILERS {
            return Err(BodyError::Malformed);
        }
        Ok(())
    }

    fn next_size(&mut self) -> State {
        self.size = 0;
        self.digits = 0;
        State::Size
    }

    fn start_chunk(&mut self) -> Result<(), BodyError> {
        if self.size == 0 {
            self.state = State::TrailerStart;
            return Ok(());
        }
        self.total = self
            .total
            .checked_add(self.size)
            .ok_or(BodyError::TooLarge)?;
        if self.limit.is_some_and(|limit| self.total > limit) {
            return Err(BodyError::TooLarge);
        }
        self.state = State::Data(self.size);
        Ok(())
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes allowed inside chunk extensions and trailer lines: visible characters, SP, HTAB and
/// obs-text (the bytes of field values and quoted strings, RFC 9110 section 5.5).
fn field_byte(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], limit: Option<u64>) -> Result<(Vec<u8>, usize, bool), BodyError> {
        let mut d = Decoder::chunked(limit);
        let mut out = Vec::new();
        let n = d.decode(input, &mut out)?;
        Ok((out, n, d.is_done()))
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let input = b"5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let (out, n, done) = decode_all(input, None).unwrap();
        assert_eq!(out, b"hello world");
        assert!(done);
        assert_eq!(&input[n..], b"NEXT");
    }

    #[test]
    fn chunked_byte_by_byte_gives_the_same_body() {
        let input = b"A\r\n0123456789\r\n0\r\n\r\n";
        let mut d = Decoder::chunked(None);
        let mut out = Vec::new();
        for b in input.iter() {
            assert_eq!(d.decode(std::slice::from_ref(b), &mut out).unwrap(), 1);
        }
        assert!(d.is_done());
        assert_eq!(out, b"0123456789");
    }

    #[test]
    fn malformed_chunked_is_refused() {
        for bad in [
            &b"zz\r\n"[..],
            b"5\r\nhelloX\r\n",
            b"\r\n",
            b"11111111111111111\r\n",
        ] {
            assert_eq!(
                decode_all(bad, None).unwrap_err(),
                BodyError::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chunk_lines_and_trailers_must_be_well_formed() {
        for good in [
            &b"5 ;a=b\r\nhello\r\n0\r\n\r\n"[..],
            b"5\t; a = \"x y\"\r\nhello\r\n0\r\n\r\n",
            b"5\nhello\n0\nT: \xe9\n\n",
        ] {
            let (out, n, done) = decode_all(good, None).unwrap();
            assert_eq!((out.as_slice(), n, done), (&b"hello"[..], good.len(), true));
        }
        for bad in [
            // A bare CR inside a chunk-size line or a trailer line.
            &b"5\rX\r\nhello\r\n0\r\n\r\n"[..],
            b"5;a\rb\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n",
            // Whitespace after the size must lead to an extension: `1*HEXDIG [ BWS ";" ext ]`.
            b"5 x\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"5\t\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0 \r\n\r\n",
            b"5\r\nhello\r\n0  \t\r\n\r\n",
            // Control bytes in an extension or a trailer.
            b"5;a\x00\r\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\r\n0\r\nT: \x01\r\n\r\n",
            b"5\r\nhello\r\n0\r\n\x7f\r\n\r\n",
        ] {
            assert_eq!(
                decode_all(bad, None).unwrap_err(),
                BodyError::Malformed,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn chunked_over_the_limit_is_too_large() {
        assert_eq!(
            decode_all(b"10\r\n", Some(15)).unwrap_err(),
            BodyError::TooLarge
        );
        assert!(decode_all(b"f\r\n", Some(15)).is_ok());
    }

    #[test]
    fn decoding_into_a_small_buffer_gives_the_same_body_in_pieces() {
        let input = b"5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\nNEXT";
        for size in 1..=8 {
            let mut d = Decoder::chunked(None);
            let (mut body, mut pos) = (Vec::new(), 0);
            let mut out = vec![0u8; size];
            while !d.is_done() {
                let (used, n) = d.decode_into(&input[pos..], &mut out).unwrap();
                assert!(n <= size && (used > 0 || n > 0), "no progress at {pos}");
                pos += used;
                body.extend_from_slice(&out[..n]);
            }
            assert_eq!(body, b"hello world", "pieces of {size}");
            assert_eq!(&input[pos..], b"NEXT");
        }
        let mut d = Decoder::length(4);
        let mut out = [0u8; 3];
        assert_eq!(d.decode_into(b"abcdef", &mut out).unwrap(), (3, 3));
        assert_eq!(d.remaining_length(), Some(1));
        d.advance_length(1);
        assert!(d.is_done());
    }

    /// Found by the chunked fuzz target: with a one-byte buffer, the last data byte before a
    /// malformed trailer was decoded, then lost when the error was returned in the same call.
    #[test]
    fn data_decoded_into_a_buffer_is_delivered_before_a_later_error() {
        let input = b"5\r\nhello\r\n0\r\nT: a\rb\r\n\r\n";
        let mut d = Decoder::chunked(None);
        let (mut body, mut pos) = (Vec::new(), 0);
        let mut out = [0u8; 1];
        let error = loop {
            match d.decode_into(&input[pos..], &mut out) {
                Ok((used, n)) => {
                    pos += used;
                    body.extend_from_slice(&out[..n]);
                }
                Err(e) => break e,
            }
        };
        assert_eq!(
            (body.as_slice(), error),
            (&b"hello"[..], BodyError::Malformed)
        );
        // And an error right after a chunk's data, with room to spare in the buffer.
        let mut d = Decoder::chunked(None);
        let mut out = [0u8; 3];
        assert_eq!(d.decode_into(b"1\nab", &mut out), Ok((3, 1)));
        assert_eq!(&out[..1], b"a");
        assert_eq!(d.decode_into(b"b", &mut out), Err(BodyError::Malformed));
    }

    #[test]
    fn discarding_consumes_the_body_and_stops_at_its_end() {
        let mut d = Decoder::chunked(Some(3));
        assert_eq!(d.discard(b"2\r\nab"), Ok(5));
        assert_eq!(d.discard(b"\r\n0\r\n\r\nGET"), Ok(7));
        assert!(d.is_done());
        let mut d = Decoder::chunked(Some(3));
        assert_eq!(d.discard(b"4\r\n"), Err(BodyError::TooLarge));
    }

    #[test]
    fn length_stops_at_the_declared_size() {
        let mut d = Decoder::length(3);
        let mut out = Vec::new();
        assert_eq!(d.decode(b"abcdef", &mut out).unwrap(), 3);
        assert!(d.is_done());
        assert_eq!(out, b"abc");
    }
}
