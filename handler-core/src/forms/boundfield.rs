//! BoundField (django.forms.boundfield): a field with the form's data, for rendering: its
//! `label_tag`, its widget's HTML with the bound value, its `errors`, `help_text`,
//! `auto_id` / `id_for_label`, and `as_field_group` (Django 5's `field.html`).

use std::fmt;

use super::error::ErrorList;
use super::fields::Field;
use super::form::Form;
use super::utils::{escape, escape_into};
use super::value::FormValue;
use super::widgets::Attrs;

/// A field of a form, with the form's data (`form["name"]`).
#[derive(Debug, Clone, Copy)]
pub struct BoundField<'f> {
    form: &'f Form,
    field: &'f Field,
    name: &'f str,
}

impl<'f> BoundField<'f> {
    pub(crate) fn new(form: &'f Form, field: &'f Field, name: &'f str) -> BoundField<'f> {
        BoundField { form, field, name }
    }

    /// The field's name in the form.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The field.
    pub fn field(&self) -> &Field {
        self.field
    }

    /// The name in the HTML (`prefix-name`).
    pub fn html_name(&self) -> String {
        self.form.add_prefix(self.name)
    }

    /// The label: the field's, or `pretty_name(name)`.
    pub fn label(&self) -> String {
        self.field
            .label
            .clone()
            .unwrap_or_else(|| super::utils::pretty_name(self.name))
    }

    /// The help text (HTML, unescaped as Django's templates show it).
    pub fn help_text(&self) -> &str {
        &self.field.help_text
    }

    /// `auto_id`: `id_<name>` by default, `""` when the form's `auto_id` is off.
    pub fn auto_id(&self) -> String {
        self.form.auto_id_for(&self.html_name())
    }

    /// `id_for_label`: the widget's `id` attribute, else `auto_id`.
    pub fn id_for_label(&self) -> String {
        let w = self.field.widget();
        let id = w
            .attrs
            .get_str("id")
            .map(str::to_string)
            .unwrap_or_else(|| self.auto_id());
        w.id_for_label(&id)
    }

    /// Whether the widget is an `<input type="hidden">`.
    pub fn is_hidden(&self) -> bool {
        self.field.widget().is_hidden()
    }

    /// The field's errors (an empty list when none), with `id="<auto_id>_error"`.
    pub fn errors(&self) -> ErrorList {
        self.form
            .errors()
            .get(self.name)
            .cloned()
            .unwrap_or_else(|| ErrorList::for_field(&self.auto_id()))
    }

    /// The initial value (the form's `initial`, else the field's).
    pub fn initial(&self) -> FormValue {
        self.form.initial_for(self.name, self.field)
    }

    /// The submitted value as the widget reads it (`bf.data`).
    pub fn data(&self) -> FormValue {
        self.field
            .widget()
            .value_from_datadict(self.form.data_source(), &self.html_name())
    }

    /// `value()`: the data for a bound form (the initial value for a disabled field), else the
    /// initial value.
    pub fn value(&self) -> FormValue {
        if self.form.is_bound() && !self.field.disabled {
            self.data()
        } else {
            self.initial()
        }
    }

    /// `aria_describedby`: the help text's and the errors' ids.
    fn aria_describedby(&self) -> String {
        let w = self.field.widget();
        if w.attrs.get("aria-describedby").is_some() {
            return String::new();
        }
        let id = self.auto_id();
        let mut parts = Vec::new();
        if !id.is_empty() && !w.is_hidden() {
            if !self.field.help_text.is_empty() {
                parts.push(format!("{id}_helptext"));
            }
            if !self.errors().is_empty() {
                parts.push(format!("{id}_error"));
            }
        }
        parts.join(" ")
    }

    /// `build_widget_attrs` then the `id`: the attributes `as_widget` adds.
    fn widget_attrs(&self) -> Attrs {
        let w = self.field.widget();
        let mut attrs = Attrs::new();
        if w.use_required_attribute()
            && self.field.required
            && self.form.use_required_attribute_flag()
        {
            attrs.set("required", true);
        }
        if self.field.disabled {
            attrs.set("disabled", true);
        }
        if !w.is_hidden() && !self.errors().is_empty() {
            attrs.set("aria-invalid", "true");
        }
        let described = self.aria_describedby();
        if !described.is_empty() {
            attrs.set("aria-describedby", described);
        }
        let id = self.auto_id();
        if !id.is_empty() && w.attrs.get("id").is_none() {
            attrs.set_default("id", id);
        }
        attrs
    }

    /// The widget's HTML with the bound value (`str(bf)`, `as_widget()`).
    pub fn as_widget(&self) -> String {
        let w = self.field.widget();
        w.render(&self.html_name(), &self.value(), &self.widget_attrs())
    }

    /// `as_hidden()`: the value in an `<input type="hidden">`.
    pub fn as_hidden(&self) -> String {
        let w = super::widgets::Widget::HiddenInput();
        let mut attrs = self.widget_attrs();
        attrs.set("required", false);
        w.render(&self.html_name(), &self.value(), &attrs)
    }

    /// `label_tag()`: `<label for="id_x">Label:</label>`, or the escaped text alone when the
    /// field has no id; the suffix is not added after `:?.!`.
    pub fn label_tag(&self) -> String {
        self.label_tag_with(None, &Attrs::new(), None)
    }

    /// `label_tag(contents, attrs, label_suffix)`: `contents` is HTML (Django's mark_safe'd
    /// contents), the label escaped when `None`.
    pub fn label_tag_with(
        &self,
        contents: Option<&str>,
        attrs: &Attrs,
        suffix: Option<&str>,
    ) -> String {
        let mut text = match contents {
            Some(c) => c.to_string(),
            None => escape(&self.label()),
        };
        let suffix = suffix
            .map(str::to_string)
            .or_else(|| self.field.label_suffix.clone())
            .unwrap_or_else(|| self.form.label_suffix_str().to_string());
        let raw_last = match contents {
            Some(c) => c.chars().last(),
            None => self.label().chars().last(),
        };
        if !suffix.is_empty() && raw_last.is_some_and(|c| !":?.!".contains(c)) {
            text.push_str(&escape(&suffix));
        }
        let w = self.field.widget();
        let id = w
            .attrs
            .get_str("id")
            .map(str::to_string)
            .unwrap_or_else(|| self.auto_id());
        if id.is_empty() {
            return text.trim().to_string();
        }
        let mut attrs = attrs.clone();
        let for_id = w.id_for_label(&id);
        if !for_id.is_empty() {
            attrs.set("for", for_id);
        }
        if self.field.required {
            if let Some(class) = self.form.required_css_class_str() {
                let joined = match attrs.get_str("class") {
                    Some(c) => format!("{c} {class}"),
                    None => class.to_string(),
                };
                attrs.set("class", joined);
            }
        }
        let mut out = String::from("<label");
        attrs.render_into(&mut out);
        out.push('>');
        out.push_str(&text);
        out.push_str("</label>");
        out
    }

    /// `css_classes()`: the form's `error_css_class` / `required_css_class` that apply.
    pub fn css_classes(&self) -> String {
        let mut classes: Vec<&str> = Vec::new();
        if let Some(c) = self.form.error_css_class_str() {
            if !self.errors().is_empty() {
                classes.push(c);
            }
        }
        if let Some(c) = self.form.required_css_class_str() {
            if self.field.required && !classes.contains(&c) {
                classes.push(c);
            }
        }
        classes.join(" ")
    }

    /// `widget_type`: the widget's class name, lower-cased, without `input`/`widget`.
    pub fn widget_type(&self) -> String {
        let name = self.field.widget().class_name().to_lowercase();
        name.strip_suffix("widget")
            .or_else(|| name.strip_suffix("input"))
            .unwrap_or(&name)
            .to_string()
    }

    /// `as_field_group()`: Django 5's `django/forms/field.html`: label, help text, errors,
    /// widget.
    pub fn as_field_group(&self) -> String {
        let mut out = String::from("\n  ");
        if !self.label().is_empty() {
            out.push_str(&self.label_tag());
        }
        out.push_str("\n\n");
        if !self.field.help_text.is_empty() {
            out.push_str("<div class=\"helptext\"");
            let id = self.auto_id();
            if !id.is_empty() {
                out.push_str(" id=\"");
                escape_into(&id, &mut out);
                out.push_str("_helptext\"");
            }
            out.push('>');
            out.push_str(&self.field.help_text);
            out.push_str("</div>");
        }
        out.push('\n');
        out.push_str(&self.errors().as_ul());
        out.push('\n');
        out.push_str(&self.as_widget());
        out.push('\n');
        out.trim().to_string()
    }

    /// The help text block the p/ul/table layouts use, `<span class="helptext" …>`.
    pub(crate) fn helptext_span(&self) -> String {
        let mut out = String::from("<span class=\"helptext\"");
        let id = self.auto_id();
        if !id.is_empty() {
            out.push_str(" id=\"");
            escape_into(&id, &mut out);
            out.push_str("_helptext\"");
        }
        out.push('>');
        out.push_str(&self.field.help_text);
        out.push_str("</span>");
        out
    }

    /// Whether the value differs from the initial (`_has_changed`).
    pub fn has_changed(&self) -> bool {
        self.field.has_changed(&self.initial(), &self.data())
    }
}

impl fmt::Display for BoundField<'_> {
    /// `{{ form.name }}`: the widget.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_widget())
    }
}
