//! Widgets (django.forms.widgets): the HTML of one field, as Django 5.2's default templates
//! write it (`django/forms/widgets/input.html`, `textarea.html`, `select.html`), attributes in
//! Django's order (the widget's own, then `required`, `disabled`, `aria-*`, `id`), escaped as
//! Django escapes them.

use super::utils::escape_into;
use super::value::FormValue;

/// One HTML attribute's value: text, or a boolean (`True` prints the bare name, `False`
/// leaves the attribute out), as `attrs.html` treats them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// `name="text"`.
    Str(String),
    /// `name` or nothing.
    Bool(bool),
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> AttrValue {
        AttrValue::Str(s.to_string())
    }
}
impl From<String> for AttrValue {
    fn from(s: String) -> AttrValue {
        AttrValue::Str(s)
    }
}
impl From<bool> for AttrValue {
    fn from(b: bool) -> AttrValue {
        AttrValue::Bool(b)
    }
}

/// Attributes in insertion order; setting an existing name keeps its place (a Python dict).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attrs(Vec<(String, AttrValue)>);

impl Attrs {
    /// No attributes.
    pub fn new() -> Attrs {
        Attrs(Vec::new())
    }

    /// Sets `name` (in place if present, else at the end).
    pub fn set(&mut self, name: &str, value: impl Into<AttrValue>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Sets `name` only if absent (`dict.setdefault`).
    pub fn set_default(&mut self, name: &str, value: impl Into<AttrValue>) {
        if self.get(name).is_none() {
            self.0.push((name.to_string(), value.into()));
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The text value of `name` (`None` for a boolean or an absent one).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(AttrValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// `{**self, **other}`.
    pub fn merged(&self, other: &Attrs) -> Attrs {
        let mut out = self.clone();
        for (k, v) in &other.0 {
            out.set(k, v.clone());
        }
        out
    }

    /// `attrs.html`: ` name="value"` for each, escaped.
    pub fn render_into(&self, out: &mut String) {
        for (name, value) in &self.0 {
            match value {
                AttrValue::Bool(false) => {}
                AttrValue::Bool(true) => {
                    out.push(' ');
                    escape_into(name, out);
                }
                AttrValue::Str(s) => {
                    out.push(' ');
                    escape_into(name, out);
                    out.push_str("=\"");
                    escape_into(s, out);
                    out.push('"');
                }
            }
        }
    }
}

impl<K: Into<String>, V: Into<AttrValue>> FromIterator<(K, V)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Attrs {
        let mut a = Attrs::new();
        for (k, v) in iter {
            a.set(&k.into(), v);
        }
        a
    }
}

/// Which widget: Django's widget classes that the fields here use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WidgetKind {
    /// `<input type="text">`.
    TextInput,
    /// `<input type="number">`.
    NumberInput,
    /// `<input type="email">`.
    EmailInput,
    /// `<input type="url">`.
    UrlInput,
    /// `<input type="password">`; the value is shown only with `render_value`.
    PasswordInput {
        /// Django's `render_value` (default false).
        render_value: bool,
    },
    /// `<input type="hidden">`.
    HiddenInput,
    /// `<input type="checkbox">`.
    CheckboxInput,
    /// `<textarea>` (Django's default `cols="40" rows="10"`).
    Textarea,
    /// `<select>` with `(value, label)` options.
    Select {
        /// The options.
        choices: Vec<(String, String)>,
    },
    /// `<input type="text">` showing a date in a strftime format (default `%Y-%m-%d`).
    DateInput {
        /// The format.
        format: String,
    },
    /// `<input type="text">` showing a datetime (default `%Y-%m-%d %H:%M:%S`).
    DateTimeInput {
        /// The format.
        format: String,
    },
}

/// A widget: its kind and its own attributes (`Widget(attrs={…})`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widget {
    /// Which widget.
    pub kind: WidgetKind,
    /// Its attributes (the field adds `maxlength`, `min`, … to them).
    pub attrs: Attrs,
}

macro_rules! widget_ctor {
    ($($(#[$m:meta])* $name:ident => $kind:expr),* $(,)?) => {$(
        $(#[$m])*
        #[allow(non_snake_case)]
        pub fn $name() -> Widget {
            Widget { kind: $kind, attrs: Attrs::new() }
        }
    )*};
}

impl Widget {
    widget_ctor! {
        /// `TextInput()`.
        TextInput => WidgetKind::TextInput,
        /// `NumberInput()`.
        NumberInput => WidgetKind::NumberInput,
        /// `EmailInput()`.
        EmailInput => WidgetKind::EmailInput,
        /// `URLInput()`.
        URLInput => WidgetKind::UrlInput,
        /// `PasswordInput()` (render_value false).
        PasswordInput => WidgetKind::PasswordInput { render_value: false },
        /// `HiddenInput()`.
        HiddenInput => WidgetKind::HiddenInput,
        /// `CheckboxInput()`.
        CheckboxInput => WidgetKind::CheckboxInput,
        /// `Select()` (the field sets its choices).
        Select => WidgetKind::Select { choices: Vec::new() },
        /// `DateInput()`.
        DateInput => WidgetKind::DateInput { format: "%Y-%m-%d".into() },
        /// `DateTimeInput()`.
        DateTimeInput => WidgetKind::DateTimeInput { format: "%Y-%m-%d %H:%M:%S".into() },
    }

    /// `Textarea()`: `cols="40" rows="10"` first, as Django's defaults.
    #[allow(non_snake_case)]
    pub fn Textarea() -> Widget {
        Widget {
            kind: WidgetKind::Textarea,
            attrs: [("cols", "40"), ("rows", "10")].into_iter().collect(),
        }
    }

    /// Adds (or replaces) an attribute: `TextInput(attrs={"class": "wide"})`.
    pub fn attr(mut self, name: &str, value: impl Into<AttrValue>) -> Widget {
        self.attrs.set(name, value);
        self
    }

    /// PasswordInput's `render_value`.
    pub fn render_value(mut self, yes: bool) -> Widget {
        if let WidgetKind::PasswordInput { render_value } = &mut self.kind {
            *render_value = yes;
        }
        self
    }

    /// The date/datetime input's display format.
    pub fn format(mut self, f: &str) -> Widget {
        if let WidgetKind::DateInput { format } | WidgetKind::DateTimeInput { format } =
            &mut self.kind
        {
            *format = f.to_string();
        }
        self
    }

    /// Whether it is an `<input type="hidden">` (`is_hidden`).
    pub fn is_hidden(&self) -> bool {
        self.kind == WidgetKind::HiddenInput
    }

    /// `input_type`, for the input widgets.
    pub fn input_type(&self) -> Option<&'static str> {
        Some(match self.kind {
            WidgetKind::TextInput
            | WidgetKind::DateInput { .. }
            | WidgetKind::DateTimeInput { .. } => "text",
            WidgetKind::NumberInput => "number",
            WidgetKind::EmailInput => "email",
            WidgetKind::UrlInput => "url",
            WidgetKind::PasswordInput { .. } => "password",
            WidgetKind::HiddenInput => "hidden",
            WidgetKind::CheckboxInput => "checkbox",
            WidgetKind::Textarea | WidgetKind::Select { .. } => return None,
        })
    }

    /// The class name Django would print (`widget_type` strips `Input`/`Widget`).
    pub fn class_name(&self) -> &'static str {
        match self.kind {
            WidgetKind::TextInput => "TextInput",
            WidgetKind::NumberInput => "NumberInput",
            WidgetKind::EmailInput => "EmailInput",
            WidgetKind::UrlInput => "URLInput",
            WidgetKind::PasswordInput { .. } => "PasswordInput",
            WidgetKind::HiddenInput => "HiddenInput",
            WidgetKind::CheckboxInput => "CheckboxInput",
            WidgetKind::Textarea => "Textarea",
            WidgetKind::Select { .. } => "Select",
            WidgetKind::DateInput { .. } => "DateInput",
            WidgetKind::DateTimeInput { .. } => "DateTimeInput",
        }
    }

    /// `use_required_attribute(initial)`: not for hidden inputs, and a `<select>` only when
    /// its first option has an empty value (else `required` is invalid HTML).
    pub fn use_required_attribute(&self) -> bool {
        match &self.kind {
            WidgetKind::HiddenInput => false,
            WidgetKind::Select { choices } => choices.first().is_some_and(|(v, _)| v.is_empty()),
            _ => true,
        }
    }

    /// `id_for_label(id)`.
    pub fn id_for_label(&self, id: &str) -> String {
        id.to_string()
    }

    /// `value_from_datadict`: the submitted value; a checkbox reads absent as `False` and
    /// `"true"`/`"false"` (any case) as booleans, anything else by Python truthiness.
    pub fn value_from_datadict(&self, data: &dyn super::FormData, name: &str) -> FormValue {
        match self.kind {
            // A missing key is False: browsers send nothing for an unticked box.
            WidgetKind::CheckboxInput => match data.get(name) {
                None => FormValue::Bool(false),
                Some(v) => match v.to_lowercase().as_str() {
                    "true" => FormValue::Bool(true),
                    "false" => FormValue::Bool(false),
                    _ => FormValue::Bool(!v.is_empty()),
                },
            },
            _ => data
                .get(name)
                .map_or(FormValue::None, |v| FormValue::Str(v.to_string())),
        }
    }

    /// `format_value(value)`: the text of the `value` attribute, `None` for none.
    fn format_value(&self, value: &FormValue) -> Option<String> {
        match &self.kind {
            WidgetKind::DateInput { format } | WidgetKind::DateTimeInput { format } => {
                match value {
                    FormValue::None => None,
                    FormValue::Date(d) => Some(d.format(format).to_string()),
                    FormValue::DateTime(dt) => Some(dt.format(format).to_string()),
                    FormValue::DateTimeTz(dt) => Some(dt.format(format).to_string()),
                    other => Some(other.to_python_str()),
                }
            }
            WidgetKind::CheckboxInput => match value {
                FormValue::Bool(_) | FormValue::None => None,
                FormValue::Str(s) if s.is_empty() => None,
                other => Some(other.to_python_str()),
            },
            _ => {
                if value.is_empty() {
                    None
                } else {
                    Some(value.to_python_str())
                }
            }
        }
    }

    /// `widget.render(name, value, attrs)`: the widget's attributes merged with `extra`.
    pub fn render(&self, name: &str, value: &FormValue, extra: &Attrs) -> String {
        let mut attrs = self.attrs.merged(extra);
        let mut out = String::new();
        match &self.kind {
            WidgetKind::Textarea => {
                out.push_str("<textarea name=\"");
                escape_into(name, &mut out);
                out.push('"');
                attrs.render_into(&mut out);
                out.push_str(">\n");
                if let Some(v) = self.format_value(value) {
                    // `{% if widget.value %}`: a non-empty string.
                    escape_into(&v, &mut out);
                }
                out.push_str("</textarea>");
            }
            WidgetKind::Select { choices } => {
                out.push_str("<select name=\"");
                escape_into(name, &mut out);
                out.push('"');
                attrs.render_into(&mut out);
                out.push('>');
                let selected_value = match value {
                    FormValue::None => String::new(),
                    v => v.to_python_str(),
                };
                let mut has_selected = false;
                for (v, label) in choices {
                    let selected = !has_selected && *v == selected_value;
                    has_selected |= selected;
                    out.push_str("\n  <option value=\"");
                    escape_into(v, &mut out);
                    out.push('"');
                    if selected {
                        out.push_str(" selected");
                    }
                    out.push('>');
                    escape_into(label, &mut out);
                    out.push_str("</option>\n");
                }
                out.push_str("\n</select>");
            }
            kind => {
                let value = match kind {
                    WidgetKind::PasswordInput {
                        render_value: false,
                    } => FormValue::None,
                    _ => value.clone(),
                };
                if *kind == WidgetKind::CheckboxInput {
                    // check_test: anything but False, None and "".
                    let checked = !matches!(value, FormValue::Bool(false) | FormValue::None)
                        && !matches!(&value, FormValue::Str(s) if s.is_empty());
                    if checked {
                        attrs.set("checked", true);
                    }
                }
                out.push_str("<input type=\"");
                out.push_str(self.input_type().unwrap_or("text"));
                out.push_str("\" name=\"");
                escape_into(name, &mut out);
                out.push('"');
                if let Some(v) = self.format_value(&value) {
                    out.push_str(" value=\"");
                    escape_into(&v, &mut out);
                    out.push('"');
                }
                attrs.render_into(&mut out);
                out.push('>');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_render_as_django_s_templates() {
        let w = Widget::TextInput().attr("maxlength", "5");
        let extra: Attrs = [("required", AttrValue::Bool(true)), ("id", "id_x".into())]
            .into_iter()
            .collect();
        assert_eq!(
            w.render("x", &FormValue::Str("<\"'&>".into()), &extra),
            "<input type=\"text\" name=\"x\" value=\"&lt;&quot;&#x27;&amp;&gt;\" maxlength=\"5\" required id=\"id_x\">"
        );
        assert_eq!(
            Widget::PasswordInput().render("p", &FormValue::Str("s".into()), &Attrs::new()),
            "<input type=\"password\" name=\"p\">"
        );
        assert_eq!(
            Widget::CheckboxInput().render("c", &FormValue::Bool(true), &Attrs::new()),
            "<input type=\"checkbox\" name=\"c\" checked>"
        );
        assert_eq!(
            Widget::Textarea().render("t", &FormValue::Str("a<b".into()), &Attrs::new()),
            "<textarea name=\"t\" cols=\"40\" rows=\"10\">\na&lt;b</textarea>"
        );
    }
}
