//! Header maps with case-insensitive names (Django's `HttpHeaders` on the request side and the
//! `ResponseHeaders` of `HttpResponse`).

/// An ordered list of header fields whose names compare case-insensitively; repeated fields
/// stay separate entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// An empty map.
    pub fn new() -> Self {
        Headers { fields: Vec::new() }
    }

    /// An empty map with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            fields: Vec::with_capacity(n),
        }
    }

    /// The first value of `name`, any case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when `name` is present (Django's `has_header` / `in`).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces every field called `name` with one holding `value` (Django's
    /// `response[name] = value`). The first field keeps its place.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self
            .fields
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                self.fields[i] = (name.clone(), value);
                let mut j = i + 1;
                while j < self.fields.len() {
                    if self.fields[j].0.eq_ignore_ascii_case(&name) {
                        self.fields.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => self.fields.push((name, value)),
        }
    }

    /// Sets `name` only when it is absent (Django's `setdefault`).
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if !self.contains(name) {
            self.fields.push((name.to_string(), value.into()));
        }
    }

    /// Adds a field, keeping any existing ones of the same name.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.fields.push((name.into(), value.into()));
    }

    /// Removes every field called `name`; true when one was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before != self.fields.len()
    }

    /// All fields, in order, names as given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
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

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Headers {
            fields: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
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
}
