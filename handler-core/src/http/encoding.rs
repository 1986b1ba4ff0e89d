//! Percent-decoding and header-parameter parsing (Django's `utils.encoding`, `utils.http`).
