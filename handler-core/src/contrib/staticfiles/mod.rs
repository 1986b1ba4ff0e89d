//! Django's `django.contrib.staticfiles` and WhiteNoise, the pieces a request and
//! `collectstatic` share: ManifestStaticFilesStorage's hashed names and WhiteNoise's reading of
//! `Range` and `Accept-Encoding`. Not wired into settings, middleware or commands yet.

use md5::{Digest, Md5};

/// Django's `HashedFilesMixin.file_hash`: the first 12 hex digits of the content's MD5.
pub fn file_hash(content: &[u8]) -> String {
    let digest = Md5::digest(content);
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Django's `HashedFilesMixin.hashed_name`: `css/site.css` becomes `css/site.<hash>.css`;
/// a name without an extension gets `name.<hash>`.
pub fn hashed_name(name: &str, content: &[u8]) -> String {
    let hash = file_hash(content);
    let (dir, file) = match name.rsplit_once('/') {
        Some((d, f)) => (Some(d), f),
        None => (None, name),
    };
    // os.path.splitext: a leading dot does not start an extension.
    let (root, ext) = match file.rfind('.') {
        Some(i) if file[..i].chars().any(|c| c != '.') => (&file[..i], &file[i..]),
        _ => (file, ""),
    };
    let hashed = format!("{root}.{hash}{ext}");
    match dir {
        Some(d) => format!("{d}/{hashed}"),
        None => hashed,
    }
}

/// What WhiteNoise does with a `Range` header on a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable single range (absent, malformed, several ranges): the whole file, 200.
    Whole,
    /// `bytes=a-b` inside the file: 206 with these inclusive bounds.
    Partial {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// A range starting past the end: 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// WhiteNoise's `get_range_response`: one `bytes=` range, suffix ranges included; anything
/// else serves the whole file.
pub fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (start, end) = if first.is_empty() {
        // bytes=-N: the last N bytes.
        if !digits(last) {
            return RangeRequest::Whole;
        }
        let Ok(n) = last.parse::<u64>() else {
            return RangeRequest::Whole;
        };
        (size.saturating_sub(n), size.saturating_sub(1))
    } else {
        if !digits(first) || !(last.is_empty() || digits(last)) {
            return RangeRequest::Whole;
        }
        let Ok(start) = first.parse::<u64>() else {
            return RangeRequest::Unsatisfiable;
        };
        let end = if last.is_empty() {
            size.saturating_sub(1)
        } else {
            match last.parse::<u64>() {
                Ok(e) => e.min(size.saturating_sub(1)),
                Err(_) => size.saturating_sub(1),
            }
        };
        (start, end)
    };
    if size == 0 || start >= size || end < start {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Partial { start, end }
}

/// Whether `Accept-Encoding` allows `coding` (`gzip`, `br`): named (or `*`) with a q-value
/// above zero.
pub fn accepts_encoding(header: &str, coding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        if !name.eq_ignore_ascii_case(coding) && name != "*" {
            return false;
        }
        parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .all(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_follow_django() {
        let h = file_hash(b"body{}");
        assert_eq!(h.len(), 12);
        assert_eq!(
            hashed_name("css/site.css", b"body{}"),
            format!("css/site.{h}.css")
        );
        assert_eq!(hashed_name("LICENSE", b"body{}"), format!("LICENSE.{h}"));
        assert_eq!(hashed_name("a/.env", b"body{}"), format!("a/.env.{h}"));
        assert_eq!(hashed_name("x.tar.gz", b"body{}"), format!("x.tar.{h}.gz"));
        // md5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(file_hash(b""), "d41d8cd98f00");
    }

    #[test]
    fn ranges_as_whitenoise_reads_them() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial { start: 0, end: 9 });
        assert_eq!(parse_range("bytes=-5", 100), Partial { start: 95, end: 99 });
        assert_eq!(
            parse_range("bytes=-500", 100),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=90-", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=90-200", 100),
            Partial { start: 90, end: 99 }
        );
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Whole);
        assert_eq!(parse_range("items=0-1", 100), Whole);
        assert_eq!(parse_range("bytes=a-b", 100), Whole);
        assert_eq!(parse_range("bytes=5-2", 100), Unsatisfiable);
    }

    #[test]
    fn accept_encoding_honours_q_zero() {
        assert!(accepts_encoding("gzip, deflate, br", "br"));
        assert!(accepts_encoding("GZIP;q=0.5", "gzip"));
        assert!(!accepts_encoding("gzip;q=0", "gzip"));
        assert!(!accepts_encoding("deflate", "gzip"));
        assert!(accepts_encoding("*", "br"));
    }
}
