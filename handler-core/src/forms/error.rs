//! Validation errors (django.core.exceptions.ValidationError) and their collections,
//! `ErrorList` and `ErrorDict` (django.forms.utils), with Django's renderings: `as_ul` (the
//! default `str()`), `as_text`, `get_json_data` and `as_json`.

use std::fmt;

use super::utils::{escape, escape_into, interpolate, python_json_string};

/// The key of the errors that belong to no field (Django's `NON_FIELD_ERRORS`).
pub const NON_FIELD_ERRORS: &str = "__all__";

/// One error message: Django keeps the message and its params apart until it is shown, so a
/// field's `error_messages` can replace the text for a code and keep the params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// The message, with `%(name)s` placeholders.
    pub message: String,
    /// The code (`required`, `invalid`, `max_length`, …), `None` when none was given.
    pub code: Option<String>,
    /// The values for the placeholders, in order.
    pub params: Vec<(String, String)>,
}

impl FormError {
    /// The message as shown: the placeholders filled in.
    pub fn text(&self) -> String {
        interpolate(&self.message, &self.params)
    }
}

/// Django's `ValidationError`: one or more messages, each with its code and params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    errors: Vec<FormError>,
}

impl ValidationError {
    /// An error with this message and no code (`ValidationError("…")`).
    pub fn new(message: impl Into<String>) -> ValidationError {
        ValidationError {
            errors: vec![FormError {
                message: message.into(),
                code: None,
                params: Vec::new(),
            }],
        }
    }

    /// An error with a code (`ValidationError("…", code="…")`).
    pub fn with_code(message: impl Into<String>, code: impl Into<String>) -> ValidationError {
        ValidationError::new(message).code(code)
    }

    /// Sets the code of every message.
    pub fn code(mut self, code: impl Into<String>) -> ValidationError {
        let code = code.into();
        for e in &mut self.errors {
            e.code = Some(code.clone());
        }
        self
    }

    /// Adds a `%(name)s` param to every message.
    pub fn param(mut self, name: impl Into<String>, value: impl fmt::Display) -> ValidationError {
        let (name, value) = (name.into(), value.to_string());
        for e in &mut self.errors {
            e.params.push((name.clone(), value.clone()));
        }
        self
    }

    /// Several errors as one (`ValidationError([...])`).
    pub fn list(errors: impl IntoIterator<Item = ValidationError>) -> ValidationError {
        ValidationError {
            errors: errors.into_iter().flat_map(|e| e.errors).collect(),
        }
    }

    /// The messages (`error_list`).
    pub fn errors(&self) -> &[FormError] {
        &self.errors
    }

    /// The messages as shown (`e.messages`).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(FormError::text).collect()
    }

    pub(crate) fn into_errors(self) -> Vec<FormError> {
        self.errors
    }
}

impl From<&str> for ValidationError {
    fn from(message: &str) -> ValidationError {
        ValidationError::new(message)
    }
}

impl From<String> for ValidationError {
    fn from(message: String) -> ValidationError {
        ValidationError::new(message)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages = self.messages();
        if messages.len() == 1 {
            f.write_str(&messages[0])
        } else {
            write!(f, "{messages:?}")
        }
    }
}

impl std::error::Error for ValidationError {}

/// Django's `ErrorList`: a field's (or the form's) messages. `Display` is its HTML
/// (`<ul class="errorlist">`, empty when there are none), as `{{ form.name.errors }}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorList {
    errors: Vec<FormError>,
    error_class: String,
    field_id: Option<String>,
}

impl ErrorList {
    /// An empty list with Django's class `errorlist`.
    pub fn new() -> ErrorList {
        ErrorList {
            errors: Vec::new(),
            error_class: "errorlist".into(),
            field_id: None,
        }
    }

    /// The form's list: `errorlist nonfield`.
    pub fn non_field() -> ErrorList {
        ErrorList {
            error_class: "errorlist nonfield".into(),
            ..ErrorList::new()
        }
    }

    /// A field's list; `field_id` (its `auto_id`) makes the `id="…_error"` that the widget's
    /// `aria-describedby` points to (Django 5.2).
    pub fn for_field(field_id: &str) -> ErrorList {
        ErrorList {
            field_id: (!field_id.is_empty()).then(|| field_id.to_string()),
            ..ErrorList::new()
        }
    }

    /// Appends messages.
    pub fn extend(&mut self, errors: impl IntoIterator<Item = FormError>) {
        self.errors.extend(errors);
    }

    /// Appends one message with no code.
    pub fn push(&mut self, message: impl Into<String>) {
        self.errors.push(FormError {
            message: message.into(),
            code: None,
            params: Vec::new(),
        });
    }

    /// No messages.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// How many messages.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// The messages as shown, in order (`list(errors)`).
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(FormError::text).collect()
    }

    /// The messages with their codes (`as_data()`).
    pub fn as_data(&self) -> &[FormError] {
        &self.errors
    }

    /// Whether a message has this code.
    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code.as_deref() == Some(code))
    }

    /// `errors/list/ul.html`: `<ul class="errorlist" id="id_x_error"><li>…</li></ul>`, or
    /// nothing when empty; messages escaped.
    pub fn as_ul(&self) -> String {
        if self.errors.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        out.push_str("<ul class=\"");
        escape_into(&self.error_class, &mut out);
        out.push('"');
        if let Some(id) = &self.field_id {
            out.push_str(" id=\"");
            escape_into(id, &mut out);
            out.push_str("_error\"");
        }
        out.push('>');
        for e in &self.errors {
            out.push_str("<li>");
            escape_into(&e.text(), &mut out);
            out.push_str("</li>");
        }
        out.push_str("</ul>");
        out
    }

    /// `errors/list/text.txt`: `* message` lines (stripped, as Django's renderer strips).
    pub fn as_text(&self) -> String {
        let mut out = String::new();
        for e in &self.errors {
            out.push_str("* ");
            out.push_str(&escape(&e.text()));
            out.push('\n');
        }
        out.trim().to_string()
    }

    /// `get_json_data()`: `[{"message": …, "code": …}]`, the code `""` when none.
    pub fn get_json_data(&self, escape_html: bool) -> serde_json::Value {
        serde_json::Value::Array(
            self.errors
                .iter()
                .map(|e| {
                    let text = e.text();
                    serde_json::json!({
                        "message": if escape_html { escape(&text) } else { text },
                        "code": e.code.clone().unwrap_or_default(),
                    })
                })
                .collect(),
        )
    }

    /// `as_json()`: `json.dumps(get_json_data())`, byte for byte as Python writes it.
    pub fn as_json(&self, escape_html: bool) -> String {
        let mut out = String::new();
        self.write_json(escape_html, &mut out);
        out
    }

    fn write_json(&self, escape_html: bool, out: &mut String) {
        out.push('[');
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let text = e.text();
            out.push_str("{\"message\": ");
            python_json_string(&if escape_html { escape(&text) } else { text }, out);
            out.push_str(", \"code\": ");
            python_json_string(e.code.as_deref().unwrap_or(""), out);
            out.push('}');
        }
        out.push(']');
    }
}

impl fmt::Display for ErrorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_ul())
    }
}

/// Django's `ErrorDict`: field name (or [`NON_FIELD_ERRORS`]) to its [`ErrorList`], in the
/// order the errors were added.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDict {
    entries: Vec<(String, ErrorList)>,
}

impl ErrorDict {
    /// No errors.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many fields have errors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// A field's errors.
    pub fn get(&self, field: &str) -> Option<&ErrorList> {
        self.entries
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v)
    }

    /// Whether the field has errors.
    pub fn contains_key(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// `(field, errors)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ErrorList)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub(crate) fn entry(
        &mut self,
        field: &str,
        make: impl FnOnce() -> ErrorList,
    ) -> &mut ErrorList {
        let i = match self.entries.iter().position(|(k, _)| k == field) {
            Some(i) => i,
            None => {
                self.entries.push((field.to_string(), make()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }

    /// `errors/dict/ul.html`: `<ul class="errorlist"><li>field<ul …>…</ul></li></ul>`.
    pub fn as_ul(&self) -> String {
        if self.entries.is_empty() {
            return String::new();
        }
        let mut out = String::from("<ul class=\"errorlist\">");
        for (field, errors) in &self.entries {
            out.push_str("<li>");
            escape_into(field, &mut out);
            out.push_str(&errors.as_ul());
            out.push_str("</li>");
        }
        out.push_str("</ul>");
        out
    }

    /// `errors/dict/text.txt`: `* field` then `  * message` lines.
    pub fn as_text(&self) -> String {
        let mut out = String::new();
        for (field, errors) in &self.entries {
            out.push_str("* ");
            out.push_str(&escape(field));
            out.push('\n');
            for e in &errors.errors {
                out.push_str("  * ");
                out.push_str(&escape(&e.text()));
                out.push('\n');
            }
        }
        out.trim().to_string()
    }

    /// `get_json_data()`: `{field: [{"message", "code"}]}`.
    pub fn get_json_data(&self, escape_html: bool) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (field, errors) in &self.entries {
            map.insert(field.clone(), errors.get_json_data(escape_html));
        }
        serde_json::Value::Object(map)
    }

    /// `as_json()`: `json.dumps(get_json_data())`, byte for byte as Python writes it.
    pub fn as_json(&self, escape_html: bool) -> String {
        let mut out = String::from("{");
        for (i, (field, errors)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            python_json_string(field, &mut out);
            out.push_str(": ");
            errors.write_json(escape_html, &mut out);
        }
        out.push('}');
        out
    }
}

impl fmt::Display for ErrorDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_ul())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_renders_as_django_s_ul_text_and_json() {
        let mut list = ErrorList::for_field("id_name");
        list.extend(
            ValidationError::with_code("Bad <value> “%(v)s”.", "invalid")
                .param("v", "x")
                .into_errors(),
        );
        list.push("Second");
        assert_eq!(
            list.to_string(),
            "<ul class=\"errorlist\" id=\"id_name_error\"><li>Bad &lt;value&gt; “x”.</li>\
             <li>Second</li></ul>"
        );
        assert_eq!(list.as_text(), "* Bad &lt;value&gt; “x”.\n* Second");
        assert_eq!(
            list.as_json(false),
            "[{\"message\": \"Bad <value> \\u201cx\\u201d.\", \"code\": \"invalid\"}, \
             {\"message\": \"Second\", \"code\": \"\"}]"
        );
        assert_eq!(ErrorList::new().to_string(), "");
    }
}
