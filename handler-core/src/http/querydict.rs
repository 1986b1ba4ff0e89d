//! QueryDict: the multi-value map behind request.GET and request.POST (Django's `QueryDict`).
//!
//! Like Django's `MultiValueDict`, values are grouped per key and keys keep their first-seen
//! order; `iter()` and `urlencode()` walk key by key, each key's values in insertion order.

use std::collections::HashMap;
use std::fmt;

use super::encoding::{quote_plus, unquote_plus};

/// Django's `DATA_UPLOAD_MAX_NUMBER_FIELDS` default: more fields than this is a
/// `SuspiciousOperation` (400), so a request cannot make the parser build a huge map.
pub const DEFAULT_MAX_FIELDS: usize = 1000;

/// A form or query string held more fields than allowed (Django's `TooManyFieldsSent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyFields {
    /// The limit that was exceeded.
    pub max_fields: usize,
}

impl fmt::Display for TooManyFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS ({}).",
            self.max_fields
        )
    }
}

impl std::error::Error for TooManyFields {}

/// An ordered multi-value map of strings (Django's `QueryDict`, always mutable here).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueryDict {
    entries: Vec<(String, Vec<String>)>,
    index: HashMap<String, usize>,
}

impl QueryDict {
    /// An empty dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `application/x-www-form-urlencoded` data as Django does (Python's `parse_qsl`
    /// with `keep_blank_values=True`): only `&` separates, `+` is a space, bad escapes stay
    /// literal, invalid UTF-8 becomes U+FFFD, `key` alone is `(key, "")`, empty pairs skipped.
    pub fn parse(input: &[u8]) -> QueryDict {
        let mut dict = QueryDict::new();
        for pair in input.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            dict.append(unquote_plus(key), unquote_plus(value));
        }
        dict
    }

    /// [`QueryDict::parse`] with Django's field limit, counted as Python's `parse_qsl` does
    /// (`1 + number of '&'`, empty pairs included) before anything is decoded.
    pub fn parse_limited(input: &[u8], max_fields: usize) -> Result<QueryDict, TooManyFields> {
        let fields = if input.is_empty() {
            0
        } else {
            1 + input.iter().filter(|&&b| b == b'&').count()
        };
        if fields > max_fields {
            return Err(TooManyFields { max_fields });
        }
        Ok(Self::parse(input))
    }

    /// The last value for `key`, like Django's `__getitem__` / `get`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index
            .get(key)
            .and_then(|&i| self.entries[i].1.last())
            .map(String::as_str)
    }

    /// Every value for `key`, in order (empty when absent).
    pub fn get_list(&self, key: &str) -> Vec<&str> {
        self.index
            .get(key)
            .map(|&i| self.entries[i].1.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether `key` has at least one value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Adds a value after the existing ones (Django's `appendlist`).
    pub fn append(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1.push(value),
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, vec![value]));
            }
        }
    }

    /// Replaces every value of `key` with one (Django's `__setitem__`); a new key goes last.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = vec![value],
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, vec![value]));
            }
        }
    }

    /// Replaces every value of `key` with `values` (Django's `setlist`); an empty list removes it.
    pub fn set_list(&mut self, key: impl Into<String>, values: Vec<String>) {
        let key = key.into();
        if values.is_empty() {
            self.remove(&key);
            return;
        }
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = values,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, values));
            }
        }
    }

    /// Removes `key` and returns its values (Django's `poplist`); empty when absent.
    pub fn remove(&mut self, key: &str) -> Vec<String> {
        let Some(i) = self.index.remove(key) else {
            return Vec::new();
        };
        let (_, values) = self.entries.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        values
    }

    /// Every `(key, value)` pair: keys in first-seen order, each key's values in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.as_str(), v.as_str())))
    }

    /// Each `(key, values)` group (Django's `lists()`).
    pub fn lists(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries
            .iter()
            .map(|(k, vs)| (k.as_str(), vs.as_slice()))
    }

    /// Distinct keys in first-seen order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Django's `QueryDict.urlencode()`: `key=value` pairs joined by `&`, each side encoded
    /// like Python's `quote_plus` (space as `+`, `/` escaped).
    pub fn urlencode(&self) -> String {
        let mut out = String::new();
        for (k, v) in self.iter() {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&quote_plus(k));
            out.push('=');
            out.push_str(&quote_plus(v));
        }
        out
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for QueryDict {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut dict = QueryDict::new();
        for (k, v) in iter {
            dict.append(k, v);
        }
        dict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(d: &QueryDict) -> Vec<(String, String)> {
        d.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn repeated_keys_keep_every_value_and_get_returns_the_last() {
        let d = QueryDict::parse(b"a=1&b=2&a=3");
        assert_eq!(d.get("a"), Some("3"));
        assert_eq!(d.get_list("a"), vec!["1", "3"]);
        assert_eq!(d.keys().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(d.len(), 2);
        assert_eq!(
            pairs(&d),
            vec![
                ("a".into(), "1".into()),
                ("a".into(), "3".into()),
                ("b".into(), "2".into())
            ]
        );
        assert_eq!(d.get("missing"), None);
        assert!(d.get_list("missing").is_empty());
    }

    #[test]
    fn percent_escapes_and_plus() {
        let d = QueryDict::parse(b"q=caf%C3%A9+au+lait&x%2By=a%2Bb&sp=%20");
        assert_eq!(d.get("q"), Some("café au lait"));
        assert_eq!(d.get("x+y"), Some("a+b"));
        assert_eq!(d.get("sp"), Some(" "));
    }

    #[test]
    fn malformed_escapes_and_utf8() {
        let d = QueryDict::parse(b"a=%zz&b=100%&c=%4&d=%FF%FE&e=\xff");
        assert_eq!(d.get("a"), Some("%zz"));
        assert_eq!(d.get("b"), Some("100%"));
        assert_eq!(d.get("c"), Some("%4"));
        assert_eq!(d.get("d"), Some("\u{FFFD}\u{FFFD}"));
        assert_eq!(d.get("e"), Some("\u{FFFD}"));
    }

    #[test]
    fn lone_separators_blank_values_and_semicolons() {
        assert!(QueryDict::parse(b"").is_empty());
        assert!(QueryDict::parse(b"&&&").is_empty());
        let d = QueryDict::parse(b"=");
        assert_eq!(pairs(&d), vec![(String::new(), String::new())]);
        let d = QueryDict::parse(b"flag&k=&=v&x==y");
        assert_eq!(d.get("flag"), Some(""));
        assert_eq!(d.get("k"), Some(""));
        assert_eq!(d.get(""), Some("v"));
        assert_eq!(d.get("x"), Some("=y"));
        let d = QueryDict::parse(b"a=1;b=2");
        assert_eq!(d.get("a"), Some("1;b=2"));
        assert!(!d.contains_key("b"));
    }

    #[test]
    fn field_limit_counts_like_parse_qsl() {
        assert!(QueryDict::parse_limited(b"a=1&b=2", 2).is_ok());
        assert_eq!(
            QueryDict::parse_limited(b"a=1&b=2&", 2),
            Err(TooManyFields { max_fields: 2 })
        );
        assert!(QueryDict::parse_limited(b"", 0).is_ok());
        let many = vec![b'&'; DEFAULT_MAX_FIELDS];
        assert!(QueryDict::parse_limited(&many, DEFAULT_MAX_FIELDS).is_err());
        assert!(TooManyFields { max_fields: 3 }.to_string().contains("(3)"));
    }

    #[test]
    fn mutation_set_append_remove() {
        let mut d = QueryDict::new();
        d.append("a", "1");
        d.append("b", "2");
        d.append("a", "3");
        d.set("a", "x");
        assert_eq!(d.get_list("a"), vec!["x"]);
        assert_eq!(d.remove("a"), vec!["x".to_string()]);
        assert!(!d.contains_key("a"));
        assert_eq!(d.get("b"), Some("2"));
        d.append("c", "3");
        assert_eq!(d.keys().collect::<Vec<_>>(), vec!["b", "c"]);
        assert_eq!(d.get("c"), Some("3"));
        assert!(d.remove("zzz").is_empty());
        d.set_list("b", vec![]);
        assert_eq!(d.keys().collect::<Vec<_>>(), vec!["c"]);
    }

    #[test]
    fn urlencode_matches_django_and_round_trips() {
        let mut d = QueryDict::new();
        d.append("a b", "c/d");
        d.append("x", "1&2=3");
        d.append("a b", "é+");
        assert_eq!(d.urlencode(), "a+b=c%2Fd&a+b=%C3%A9%2B&x=1%262%3D3");
        assert_eq!(QueryDict::parse(d.urlencode().as_bytes()), d);

        let weird = QueryDict::parse(b"%zz=%&&=&k");
        assert_eq!(QueryDict::parse(weird.urlencode().as_bytes()), weird);
        assert_eq!(QueryDict::new().urlencode(), "");
    }

    #[test]
    fn from_iterator_groups_keys() {
        let d: QueryDict = vec![("a", "1"), ("b", "2"), ("a", "3")]
            .into_iter()
            .collect();
        assert_eq!(d.urlencode(), "a=1&a=3&b=2");
    }
}
