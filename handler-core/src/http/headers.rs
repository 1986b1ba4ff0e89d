//! Header maps with case-insensitive names (Django's `HttpHeaders` on the request side and the
//! `ResponseHeaders` of `HttpResponse`).
//!
//! Every request builds one and every response carries one, so a map keeps all its names and
//! values in one text buffer with a list of ranges: two allocations per map, however many
//! fields, instead of two per field.

use std::cell::Cell;
use std::ops::Range;

/// One field: where its name and value are in the map's text.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: (u32, u32),
    value: (u32, u32),
}

/// An ordered list of header fields whose names compare case-insensitively; repeated fields
/// stay separate entries.
#[derive(Clone, Default)]
pub struct Headers {
    /// Names and values back to back; a replaced or removed field leaves its bytes behind until
    /// the map is dropped (maps are short-lived: one request or response).
    text: String,
    fields: Vec<Field>,
}

thread_local! {
    /// A response's header map, emptied by the adapter once the head went out, for the next
    /// response built on this thread (two allocations fewer per response).
    static SPARE_RESPONSE: Cell<Option<Headers>> = const { Cell::new(None) };
}

/// The largest buffer [`Headers::recycle`] keeps.
const SPARE_MAX: usize = 4096;

fn span(r: (u32, u32)) -> Range<usize> {
    r.0 as usize..r.1 as usize
}

impl Headers {
    /// An empty map.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty map with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            text: String::with_capacity(n * 24),
            fields: Vec::with_capacity(n),
        }
    }

    /// An empty map with room for `n` fields holding `bytes` of names and values in all.
    pub fn with_capacity_bytes(n: usize, bytes: usize) -> Self {
        Headers {
            text: String::with_capacity(bytes),
            fields: Vec::with_capacity(n),
        }
    }

    /// A map for a new response: this thread's recycled one when there is one, else a new one
    /// with room for `n` fields holding `bytes`.
    pub(crate) fn for_response(n: usize, bytes: usize) -> Self {
        match SPARE_RESPONSE.take() {
            Some(h) => h,
            None => Headers::with_capacity_bytes(n, bytes),
        }
    }

    /// Empties `self` and keeps it for the next [`Headers::for_response`] on this thread.
    pub(crate) fn recycle(mut self) {
        self.clear_within(SPARE_MAX);
        SPARE_RESPONSE.set(Some(self));
    }

    /// Removes every field, keeping the memory (for reuse), unless either buffer is above
    /// `max` bytes: then that one is freed.
    pub(crate) fn clear_within(&mut self, max: usize) {
        self.text.clear();
        self.fields.clear();
        if self.text.capacity() > max {
            self.text = String::new();
        }
        if self.fields.capacity() * std::mem::size_of::<Field>() > max {
            self.fields = Vec::new();
        }
    }

    /// Makes room for `n` more fields holding `bytes` of names and values.
    pub(crate) fn reserve(&mut self, n: usize, bytes: usize) {
        self.text.reserve(bytes);
        self.fields.reserve(n);
    }

    fn name_of(&self, f: &Field) -> &str {
        &self.text[span(f.name)]
    }

    /// Whether field `f` is called `name` (any case): the length first, then the bytes, so
    /// the fields a lookup passes over cost a subtraction each.
    fn is_named(&self, f: &Field, name: &str) -> bool {
        let (start, end) = (f.name.0 as usize, f.name.1 as usize);
        end - start == name.len()
            && self.text.as_bytes()[start..end].eq_ignore_ascii_case(name.as_bytes())
    }

    fn value_of(&self, f: &Field) -> &str {
        &self.text[span(f.value)]
    }

    fn push_text(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len();
        self.text.push_str(s);
        // A header block is bounded far below 4 GiB by the server's limits; saturate anyway.
        let end = self.text.len();
        (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        )
    }

    fn field(&mut self, name: &str, value: &str) -> Field {
        Field {
            name: self.push_text(name),
            value: self.push_text(value),
        }
    }

    /// The first value of `name`, any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| self.is_named(f, name))
            .map(|f| self.value_of(f))
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.is_named(f, name))
            .map(|f| self.value_of(f))
    }

    /// True when `name` is present (Django's `has_header` / `in`).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces every field called `name` with one holding `value` (Django's
    /// `response[name] = value`). The first field keeps its place.
    pub fn set(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let (name, value) = (name.as_ref(), value.as_ref());
        match self.fields.iter().position(|f| self.is_named(f, name)) {
            Some(i) => {
                self.fields[i] = self.field(name, value);
                let mut j = i + 1;
                while j < self.fields.len() {
                    if self.is_named(&self.fields[j], name) {
                        self.fields.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => {
                let f = self.field(name, value);
                self.fields.push(f);
            }
        }
    }

    /// Sets `name` only when it is absent (Django's `setdefault`).
    pub fn set_default(&mut self, name: &str, value: impl AsRef<str>) {
        if !self.contains(name) {
            let f = self.field(name, value.as_ref());
            self.fields.push(f);
        }
    }

    /// Adds a field, keeping any existing ones of the same name.
    pub fn append(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let f = self.field(name.as_ref(), value.as_ref());
        self.fields.push(f);
    }

    /// Removes every field called `name`; true when one was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        let fields = std::mem::take(&mut self.fields);
        self.fields = fields
            .into_iter()
            .filter(|f| !self.is_named(f, name))
            .collect();
        before != self.fields.len()
    }

    /// All fields, in order, names as given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .iter()
            .map(|f| (self.name_of(f), self.value_of(f)))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (k, v) in iter {
            headers.append(k, v);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_case_insensitively() {
        let mut h: Headers = [("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")]
            .into_iter()
            .collect();
        assert_eq!(h.get("content-type"), Some("text/plain"));
        assert_eq!(h.get_all("X-a").collect::<Vec<_>>(), ["1", "2"]);
        h.set("X-A", "3");
        assert_eq!(h.get_all("x-A").collect::<Vec<_>>(), ["3"]);
        h.set_default("x-a", "4");
        assert_eq!(h.get("X-A"), Some("3"));
        assert!(h.remove("CONTENT-TYPE"));
        assert!(!h.contains("content-type"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn replaced_and_removed_fields_leave_the_rest_intact() {
        let mut h = Headers::with_capacity_bytes(2, 16);
        h.append("A", "1");
        h.append("B", "2");
        h.set("a", "one");
        h.append(String::from("C"), format!("{}", 3));
        assert!(h.remove("b"));
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("a", "one"), ("C", "3")],
            "the first field keeps its place, in its new spelling"
        );
        let same: Headers = [("a", "one"), ("C", "3")].into_iter().collect();
        assert_eq!(h, same, "equal by content, whatever the buffer holds");
        assert_eq!(format!("{h:?}"), r#"[("a", "one"), ("C", "3")]"#);
    }
}
