//! Fuzzes the server's chunked body decoder (`server::http1::body::Decoder`): it never panics,
//! never consumes more than it was given, never decodes past its limit, and gives the same body,
//! the same consumed count and the same error whether the input arrives in one piece, byte by
//! byte, or in pieces of any size (so the result does not depend on how TCP split the bytes);
//! and the three ways the server drives it agree: appending to a Vec (`decode`), copying into
//! the app's `read_body` buffer of any size (`decode_into`), and throwing a drained body away
//! (`discard`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::http1::body::{BodyError, Decoder};

/// How one decoding ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The body ended after `consumed` input bytes.
    Done { body: Vec<u8>, consumed: usize },
    /// All input was consumed and the body is not over yet.
    Incomplete { body: Vec<u8> },
    /// Refused, after decoding `body`.
    Refused { error: BodyError, body: Vec<u8> },
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limit and a piece size; the rest is the body on the wire.
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let limit = match pick & 3 {
        0 => None,
        1 => Some(0),
        2 => Some(16),
        _ => Some(4096),
    };
    let whole = decode_in_pieces(input, limit, input.len().max(1));
    assert_eq!(decode_in_pieces(input, limit, 1), whole, "byte by byte");
    let step = 1 + usize::from(pick >> 2);
    assert_eq!(
        decode_in_pieces(input, limit, step),
        whole,
        "pieces of {step}"
    );
    if let Outcome::Done { body, .. } | Outcome::Incomplete { body } = &whole {
        if let Some(limit) = limit {
            assert!(body.len() as u64 <= limit, "decoded past the limit");
        }
    }
    let out_size = 1 + usize::from(pick >> 3);
    assert_eq!(
        decode_into_buffers(input, limit, out_size),
        whole,
        "into a buffer of {out_size}"
    );
    assert_eq!(discarded(input, limit), forget_body(&whole), "discarding");
});

/// Like `decode_in_pieces` with everything at once, but reading as `read_body` does: into an
/// `out_size`-byte buffer, as many times as it takes.
fn decode_into_buffers(input: &[u8], limit: Option<u64>, out_size: usize) -> Outcome {
    let mut decoder = Decoder::chunked(limit);
    let mut body = Vec::new();
    let mut out = vec![0u8; out_size];
    let mut consumed = 0;
    loop {
        match decoder.decode_into(&input[consumed..], &mut out) {
            Ok((used, n)) => {
                assert!(n <= out_size && used <= input.len() - consumed);
                body.extend_from_slice(&out[..n]);
                consumed += used;
                if decoder.is_done() {
                    return Outcome::Done { body, consumed };
                }
                if used == 0 && n == 0 {
                    // No progress: everything given was taken and the body is not over.
                    assert_eq!(consumed, input.len(), "stuck before the end of the input");
                    return Outcome::Incomplete { body };
                }
            }
            Err(error) => return Outcome::Refused { error, body },
        }
    }
}

/// The outcome of discarding: the same as decoding, without the body.
fn discarded(input: &[u8], limit: Option<u64>) -> Outcome {
    let mut decoder = Decoder::chunked(limit);
    match decoder.discard(input) {
        Ok(consumed) if decoder.is_done() => Outcome::Done {
            body: Vec::new(),
            consumed,
        },
        Ok(consumed) => {
            assert_eq!(consumed, input.len(), "a decoder that is not done takes everything");
            Outcome::Incomplete { body: Vec::new() }
        }
        Err(error) => Outcome::Refused {
            error,
            body: Vec::new(),
        },
    }
}

fn forget_body(outcome: &Outcome) -> Outcome {
    match outcome {
        Outcome::Done { consumed, .. } => Outcome::Done {
            body: Vec::new(),
            consumed: *consumed,
        },
        Outcome::Incomplete { .. } => Outcome::Incomplete { body: Vec::new() },
        Outcome::Refused { error, .. } => Outcome::Refused {
            error: *error,
            body: Vec::new(),
        },
    }
}

/// Offers `input` the way a connection does: `step` more bytes arrive at a time, and the
/// decoder is handed everything it has not consumed yet.
fn decode_in_pieces(input: &[u8], limit: Option<u64>, step: usize) -> Outcome {
    let mut decoder = Decoder::chunked(limit);
    let mut body = Vec::new();
    let (mut arrived, mut consumed) = (0, 0);
    loop {
        arrived = (arrived + step).min(input.len());
        let available = &input[consumed..arrived];
        match decoder.decode(available, &mut body) {
            Ok(n) => {
                assert!(
                    n <= available.len(),
                    "consumed {n} of {} bytes",
                    available.len()
                );
                consumed += n;
            }
            Err(error) => return Outcome::Refused { error, body },
        }
        if decoder.is_done() {
            return Outcome::Done { body, consumed };
        }
        // Short of the end, a decoder that is not done takes every byte it is given.
        assert_eq!(consumed, arrived, "bytes left unconsumed before the end");
        if arrived == input.len() {
            return Outcome::Incomplete { body };
        }
    }
}
