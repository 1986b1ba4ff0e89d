//! Owns which request-target form a request may use (RFC 9112 section 3.2): origin-form for
//! every method, absolute-form (`http://` or `https://` only) for every method but CONNECT,
//! asterisk-form for OPTIONS only, authority-form for CONNECT only, which is then refused as not
//! implemented (portico is no tunnel). Anything else (`foo/bar`, `s://]x/:`) is a 400, as nginx
//! and gunicorn answer: a front proxy that reads such a target differently is how desyncs start.

/// Why a target was refused (`parse` maps each to its status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// In none of the four forms.
    Invalid,
    /// The asterisk-form with a method other than OPTIONS.
    AsteriskForm,
    /// The authority-form with a method other than CONNECT.
    AuthorityForm,
    /// CONNECT with another form.
    ConnectTarget,
    /// CONNECT itself, which is not implemented.
    Connect,
}

/// Checks `target` (as received) against `method`; `absolute` when the parser already took it
/// as an http(s) absolute-form target (whose authority it has checked).
pub fn check_form(method: &[u8], target: &[u8], absolute: bool) -> Result<(), TargetError> {
    // RFC 9110 section 9.1: "The method token is case-sensitive".
    let connect = method == b"CONNECT";
    // The common case first: one byte compared.
    if !connect && (target.first() == Some(&b'/') || absolute) {
        return Ok(());
    }
    if connect {
        // RFC 9112 section 3.2.3: "When making a CONNECT request to establish a tunnel through
        // one or more proxies, a client MUST send only the host and port of the tunnel
        // destination as the request-target."
        return Err(if is_authority_form(target) {
            TargetError::Connect
        } else {
            TargetError::ConnectTarget
        });
    }
    if target == b"*" {
        // RFC 9112 section 3.2.4: "The asterisk-form of request-target is only used for a
        // server-wide OPTIONS request".
        return if method == b"OPTIONS" {
            Ok(())
        } else {
            Err(TargetError::AsteriskForm)
        };
    }
    if is_authority_form(target) {
        return Err(TargetError::AuthorityForm);
    }
    Err(TargetError::Invalid)
}

/// `uri-host ":" port` (RFC 9112 section 3.2.3), without userinfo: a reg-name or IPv4 address,
/// or an IP-literal in brackets, then a colon and the port's digits.
fn is_authority_form(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|b| *b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    let host_ok = match host {
        [b'[', inner @ .., b']'] => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || b":.".contains(b))
        }
        _ => {
            !host.is_empty()
                && host
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(b))
        }
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_is_accepted_only_with_its_methods() {
        for (method, target, absolute, want) in [
            (&b"GET"[..], &b"/x?y"[..], false, Ok(())),
            (b"POST", b"/", false, Ok(())),
            (b"GET", b"http://h/x", true, Ok(())),
            (b"OPTIONS", b"*", false, Ok(())),
            (b"GET", b"*", false, Err(TargetError::AsteriskForm)),
            (b"options", b"*", false, Err(TargetError::AsteriskForm)),
            (
                b"GET",
                b"example.com:443",
                false,
                Err(TargetError::AuthorityForm),
            ),
            (
                b"GET",
                b"[::1]:8000",
                false,
                Err(TargetError::AuthorityForm),
            ),
            (
                b"CONNECT",
                b"example.com:443",
                false,
                Err(TargetError::Connect),
            ),
            (b"CONNECT", b"[::1]:443", false, Err(TargetError::Connect)),
            (b"CONNECT", b"/", false, Err(TargetError::ConnectTarget)),
            (
                b"CONNECT",
                b"http://h/",
                true,
                Err(TargetError::ConnectTarget),
            ),
            (b"CONNECT", b"*", false, Err(TargetError::ConnectTarget)),
            (b"GET", b"foo/bar", false, Err(TargetError::Invalid)),
            (b"GET", b"s://]ufd/:", false, Err(TargetError::Invalid)),
            (b"GET", b"ftp://h/x", false, Err(TargetError::Invalid)),
            (b"GET", b"x", false, Err(TargetError::Invalid)),
            (b"GET", b"", false, Err(TargetError::Invalid)),
            (b"OPTIONS", b"**", false, Err(TargetError::Invalid)),
            (b"GET", b"user@h:80", false, Err(TargetError::Invalid)),
        ] {
            assert_eq!(
                check_form(method, target, absolute),
                want,
                "{} {}",
                String::from_utf8_lossy(method),
                String::from_utf8_lossy(target)
            );
        }
    }
}
