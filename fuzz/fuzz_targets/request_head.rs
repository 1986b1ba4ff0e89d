//! Fuzzes the server's request-head parser (`server::http1::parse::parse_head`): it never
//! panics, and a head it accepts is consistent: every range lies inside the head, the parts obey
//! the limits and the framing rules, parsing the head alone or with laxer limits gives the same
//! head, and no prefix of an accepted head is refused or complete (so the result does not depend
//! on how TCP split the bytes).
#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use server::http1::parse::{parse_head, BodyKind, Head, Limits};

/// Limits far above anything the fuzzer's inputs reach: what passes tight limits passes these.
const LAX: Limits = Limits {
    request_line: 1 << 20,
    fields: 128,
    field_size: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limits: the defaults, or small ones an input can run into.
    let Some((&pick, buf)) = data.split_first() else {
        return;
    };
    let limits = match pick % 4 {
        0 => Limits {
            request_line: 4094,
            fields: 100,
            field_size: 8190,
        },
        1 => Limits {
            request_line: 16,
            fields: 2,
            field_size: 16,
        },
        2 => Limits {
            request_line: 64,
            fields: 8,
            field_size: 40,
        },
        _ => Limits {
            request_line: 1 + usize::from(pick >> 2),
            fields: 1 + usize::from(pick & 0x0c) / 4,
            field_size: 2 + usize::from(pick >> 3),
        },
    };
    if let Ok(Some(head)) = parse_head(buf, &limits) {
        consistent(buf, &limits, &head);
    }
});

fn inside(r: &Range<usize>, outer: &Range<usize>) -> bool {
    r.start <= r.end && outer.start <= r.start && r.end <= outer.end
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn consistent(buf: &[u8], limits: &Limits, head: &Head) {
    let whole = 0..head.len;
    assert!(head.len > 0 && head.len <= buf.len());
    assert_eq!(buf[head.len - 1], b'\n', "a head ends with its empty line");
    for r in [&head.method, &head.target, &head.path, &head.query] {
        assert!(inside(r, &whole), "{r:?} outside the head");
    }
    assert!(inside(&head.path, &head.target) && inside(&head.query, &head.target));
    if let Some(authority) = &head.authority {
        assert!(inside(authority, &head.target) && !authority.is_empty());
        assert!(authority.end <= head.path.start);
    }
    assert!(head.path.end <= head.query.start);
    let method = &buf[head.method.clone()];
    assert!(!method.is_empty() && method.iter().all(|b| is_token(*b)));
    assert!(!head.target.is_empty());
    assert!(head.minor <= 1);

    // The request line, measured on the wire as gunicorn does.
    let line_end = memchr_nl(&buf[head.method.start..]) + head.method.start;
    let line = &buf[head.method.start..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    assert!(
        line.len() <= limits.request_line,
        "request line over the limit"
    );

    assert!(head.headers.len() <= limits.fields);
    let (mut hosts, mut lengths, mut encodings) = (0, 0, 0);
    for (n, v) in &head.headers {
        assert!(inside(n, &whole) && inside(v, &whole) && n.end <= v.start);
        let name = &buf[n.clone()];
        let value = &buf[v.clone()];
        assert!(!name.is_empty() && name.iter().all(|b| is_token(*b)));
        assert!(!value.iter().any(|b| matches!(b, b'\r' | b'\n')));
        let field_end = memchr_nl(&buf[n.start..]) + n.start;
        let field = &buf[n.start..field_end];
        let field = field.strip_suffix(b"\r").unwrap_or(field);
        assert!(
            field.len() + 2 <= limits.field_size,
            "field line over the limit"
        );
        hosts += usize::from(name.eq_ignore_ascii_case(b"host"));
        lengths += usize::from(name.eq_ignore_ascii_case(b"content-length"));
        encodings += usize::from(name.eq_ignore_ascii_case(b"transfer-encoding"));
    }
    assert!(hosts <= 1);
    if head.minor == 1 {
        assert_eq!(hosts, 1, "HTTP/1.1 needs a Host");
    }
    match head.body {
        BodyKind::Chunked => assert!(encodings > 0 && lengths == 0 && head.minor == 1),
        BodyKind::Length(n) => assert!(n > 0 && lengths > 0 && encodings == 0),
        BodyKind::Empty => assert_eq!(encodings, 0),
    }
    if head.expect_continue {
        assert_eq!(head.minor, 1);
    }

    // The same head from the head's bytes alone, and under laxer limits.
    let alone = parse_head(&buf[..head.len], limits);
    assert_eq!(alone.as_ref().ok().and_then(Option::as_ref), Some(head));
    let lax = parse_head(buf, &LAX);
    assert_eq!(lax.as_ref().ok().and_then(Option::as_ref), Some(head));

    // No prefix is refused or complete: all of them for short heads, a spread for long ones.
    let step = (head.len / 256).max(1);
    for end in (0..head.len)
        .step_by(step)
        .chain(head.len.saturating_sub(8)..head.len)
    {
        assert_eq!(
            parse_head(&buf[..end], limits),
            Ok(None),
            "the prefix of {end} bytes of an accepted {}-byte head",
            head.len
        );
    }
}

/// The index of the first LF in `bytes` (a head always has one after each line).
fn memchr_nl(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len())
}
