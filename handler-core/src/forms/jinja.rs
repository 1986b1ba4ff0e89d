//! Forms in templates: a form, its bound fields and its errors as minijinja values, so a
//! template writes `{{ form.as_div() }}`, `{{ form.title }}`, `{{ form.title.errors }}`,
//! `{{ form.title.label_tag() }}` or `{% for field in form %}` as with Django's. They print
//! as HTML that is already escaped (Django's `__html__`), which the engine's formatter
//! honours through [`is_html_safe`].

use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use serde::{Serialize, Serializer};

use super::error::{ErrorDict, ErrorList};
use super::form::Form;
use super::value::FormValue;

/// The form as a template value.
pub fn form_value(form: &Form) -> Value {
    Value::from_object(FormObject(Arc::new(form.clone())))
}

/// Whether a template value is one of the forms' HTML values (printed unescaped, as Jinja2
/// prints an object with `__html__`).
pub fn is_html_safe(value: &Value) -> bool {
    value.downcast_object_ref::<FormObject>().is_some()
        || value.downcast_object_ref::<BoundFieldObject>().is_some()
        || value.downcast_object_ref::<ErrorListObject>().is_some()
        || value.downcast_object_ref::<ErrorDictObject>().is_some()
}

impl Serialize for Form {
    /// In a template context (`context! { form }` or a `#[derive(Serialize)]` struct) the
    /// form is the live template object; elsewhere it is its rendering.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        form_value(self).serialize(serializer)
    }
}

fn form_value_to_template(v: &FormValue) -> Value {
    match v {
        FormValue::None => Value::from(()),
        FormValue::Str(s) => Value::from(s.as_str()),
        FormValue::Int(i) => Value::from(*i),
        FormValue::Bool(b) => Value::from(*b),
        other => Value::from(other.to_python_str()),
    }
}

fn no_args(name: &str, args: &[Value]) -> Result<(), Error> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::TooManyArguments,
            format!("{name}() takes no arguments"),
        ))
    }
}

fn unknown(name: &str) -> Error {
    Error::new(ErrorKind::UnknownMethod, format!("no method {name}"))
}

/// `{{ form }}`.
#[derive(Debug)]
pub(crate) struct FormObject(Arc<Form>);

impl FormObject {
    fn field(&self, name: &str) -> Option<Value> {
        self.0.get_field(name)?;
        Some(Value::from_object(BoundFieldObject {
            form: Arc::clone(&self.0),
            name: name.to_string(),
        }))
    }

    fn fields_where(&self, hidden: Option<bool>) -> Vec<Value> {
        self.0
            .bound_fields()
            .filter(|b| match hidden {
                None => true,
                Some(h) => b.is_hidden() == h,
            })
            .filter_map(|b| self.field(b.name()))
            .collect()
    }
}

impl Object for FormObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        Some(match key {
            "errors" => Value::from_object(ErrorDictObject(self.0.errors().clone())),
            "is_bound" => Value::from(self.0.is_bound()),
            "fields" => Value::from(
                self.0
                    .fields()
                    .map(|(n, _)| n.to_string())
                    .collect::<Vec<_>>(),
            ),
            "cleaned_data" => Value::from_serialize(self.0.cleaned_data().to_json()),
            _ => return self.field(key),
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.fields_where(None))
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        no_args(method, args)?;
        Ok(match method {
            "as_div" => Value::from_safe_string(self.0.as_div()),
            "as_p" => Value::from_safe_string(self.0.as_p()),
            "as_table" => Value::from_safe_string(self.0.as_table()),
            "as_ul" => Value::from_safe_string(self.0.as_ul()),
            "non_field_errors" => Value::from_object(ErrorListObject(self.0.non_field_errors())),
            "hidden_fields" => Value::from(self.fields_where(Some(true))),
            "visible_fields" => Value::from(self.fields_where(Some(false))),
            "is_valid" => Value::from(self.0.is_valid()),
            "has_changed" => Value::from(self.0.has_changed()),
            _ => return Err(unknown(method)),
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.as_div())
    }
}

/// `{{ form.name }}`.
#[derive(Debug)]
pub(crate) struct BoundFieldObject {
    form: Arc<Form>,
    name: String,
}

impl BoundFieldObject {
    fn with<R>(&self, f: impl FnOnce(super::BoundField<'_>) -> R) -> Option<R> {
        self.form.bound_field(&self.name).map(f)
    }
}

impl Object for BoundFieldObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        self.with(|b| {
            Some(match key {
                "name" => Value::from(b.name()),
                "html_name" => Value::from(b.html_name()),
                "label" => Value::from(b.label()),
                "help_text" => Value::from_safe_string(b.help_text().to_string()),
                "errors" => Value::from_object(ErrorListObject(b.errors())),
                "id_for_label" => Value::from(b.id_for_label()),
                "auto_id" => Value::from(b.auto_id()),
                "is_hidden" => Value::from(b.is_hidden()),
                "widget_type" => Value::from(b.widget_type()),
                "data" => form_value_to_template(&b.data()),
                "initial" => form_value_to_template(&b.initial()),
                "use_fieldset" => Value::from(false),
                _ => return None,
            })
        })
        .flatten()
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        no_args(method, args)?;
        self.with(|b| {
            Ok(match method {
                "label_tag" => Value::from_safe_string(b.label_tag()),
                "as_widget" => Value::from_safe_string(b.as_widget()),
                "as_hidden" => Value::from_safe_string(b.as_hidden()),
                "as_field_group" => Value::from_safe_string(b.as_field_group()),
                "value" => form_value_to_template(&b.value()),
                "css_classes" => Value::from(b.css_classes()),
                _ => return Err(unknown(method)),
            })
        })
        .unwrap_or_else(|| Err(unknown(method)))
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.with(|b| b.as_widget()).unwrap_or_default())
    }
}

/// `{{ form.name.errors }}` / `{{ form.non_field_errors() }}`: iterates over the messages.
#[derive(Debug)]
pub(crate) struct ErrorListObject(ErrorList);

impl Object for ErrorListObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let i = key.as_usize()?;
        self.0.messages().get(i).map(|m| Value::from(m.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.messages().into_iter().map(Value::from).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.0.is_empty()
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        no_args(method, args)?;
        Ok(match method {
            "as_ul" => Value::from_safe_string(self.0.as_ul()),
            "as_text" => Value::from(self.0.as_text()),
            "as_json" => Value::from(self.0.as_json(false)),
            "get_json_data" => Value::from_serialize(self.0.get_json_data(false)),
            _ => return Err(unknown(method)),
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.as_ul())
    }
}

/// `{{ form.errors }}`: field name to its errors.
#[derive(Debug)]
pub(crate) struct ErrorDictObject(ErrorDict);

impl Object for ErrorDictObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.0
            .get(key.as_str()?)
            .map(|e| Value::from_object(ErrorListObject(e.clone())))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.iter().map(|(k, _)| Value::from(k)).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }

    fn is_true(self: &Arc<Self>) -> bool {
        !self.0.is_empty()
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        no_args(method, args)?;
        Ok(match method {
            "as_ul" => Value::from_safe_string(self.0.as_ul()),
            "as_text" => Value::from(self.0.as_text()),
            "as_json" => Value::from(self.0.as_json(false)),
            "get_json_data" => Value::from_serialize(self.0.get_json_data(false)),
            _ => return Err(unknown(method)),
        })
    }

    fn render(self: &Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.as_ul())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::forms::*;
    use crate::http::HttpRequest;
    use crate::settings::Settings;
    use crate::template::Engine;

    crate::form! {
        struct Entry {
            title: CharField::new().max_length(5),
            body: CharField::new().widget(Widget::Textarea()).required(false),
        }
        fn clean(form) {
            if form.cleaned::<String>("body").as_deref() == Some("spam") {
                return Err(ValidationError::new("No <spam>."));
            }
            Ok(())
        }
    }

    #[test]
    fn templates_print_forms_fields_and_errors_as_html_once_escaped() {
        let dir = std::env::temp_dir().join(format!("hc-forms-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("f.html"),
            "<form>{{ csrf_input }}{{ form.as_div() }}</form>\n\
             [{{ form.title }}][{{ form.title.errors }}][{{ form.title.label_tag() }}]\n\
             [{{ form.non_field_errors() }}][{% for e in form.title.errors %}<{{ e }}>{% endfor %}]\n\
             [{% for f in form %}{{ f.name }},{% endfor %}][{{ form.errors.title[0] }}]\
             [{{ form.title.value() }}][{{ form }}]",
        )
        .unwrap();
        let engine = Engine::new(vec![dir.clone()]).unwrap();
        let mut q = crate::http::QueryDict::new();
        q.append("title", "<toolong>");
        q.append("body", "spam");
        let form = Entry::bind(&q);
        assert!(!form.is_valid());
        let mut request = HttpRequest::new("POST", "/", "", Arc::new(Settings::default()));
        let page = engine
            .render_with_request(&mut request, "f.html", minijinja::context! { form => form })
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let form = Entry::bind(&q);
        assert!(page.contains("name=\"csrfmiddlewaretoken\""), "{page}");
        assert!(
            page.contains(&format!("{}</form>", form.as_div())),
            "{page}"
        );
        let widget = form.bf("title").as_widget();
        assert!(widget.contains("value=\"&lt;toolong&gt;\""), "{widget}");
        let errors = "<ul class=\"errorlist\" id=\"id_title_error\"><li>Ensure this value has at most 5 characters (it has 9).</li></ul>";
        assert!(
            page.contains(&format!(
                "[{widget}][{errors}][<label for=\"id_title\">Title:</label>]"
            )),
            "{page}"
        );
        assert!(
            page.contains("[<ul class=\"errorlist nonfield\"><li>No &lt;spam&gt;.</li></ul>]"),
            "{page}"
        );
        // Plain strings from the form are escaped by the engine as any other text.
        assert!(
            page.contains("[<Ensure this value has at most 5 characters (it has 9).>]"),
            "{page}"
        );
        assert!(page.contains("[title,body,][Ensure this value"), "{page}");
        assert!(page.contains("[&lt;toolong&gt;]"), "{page}");
        assert!(page.ends_with(&format!("[{}]", form.as_div())), "{page}");
    }
}
