//! The form (django.forms.forms.BaseForm): fields in order, bound to data or not, cleaned
//! once on first use of `errors` / `is_valid` / `cleaned_data` (`full_clean`: each field's
//! `clean`, its `clean_<name>` hook, then the form's `clean` hook), and rendered with
//! Django 5.2's `div.html`, `p.html`, `table.html` and `ul.html`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, OnceLock};

use super::boundfield::BoundField;
use super::error::{ErrorDict, ErrorList, ValidationError, NON_FIELD_ERRORS};
use super::fields::Field;
use super::value::{FormValue, FromFormValue};
use crate::http::QueryDict;

/// Where a form's data comes from: `request.POST` (a [`QueryDict`]) or any map. The last
/// value of a repeated key is the one read, as `QueryDict.get`.
pub trait FormData {
    /// The value submitted for `name`.
    fn get(&self, name: &str) -> Option<&str>;
    /// Whether `name` was submitted at all.
    fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl FormData for QueryDict {
    fn get(&self, name: &str) -> Option<&str> {
        QueryDict::get(self, name)
    }
    fn contains(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

impl<S: std::hash::BuildHasher> FormData for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

impl FormData for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        BTreeMap::get(self, name).map(String::as_str)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FormData for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FormData for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        FormData::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> FormData for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        FormData::get(self.as_slice(), name)
    }
}

impl FormData for serde_json::Map<String, serde_json::Value> {
    fn get(&self, name: &str) -> Option<&str> {
        serde_json::Map::get(self, name).and_then(serde_json::Value::as_str)
    }
    fn contains(&self, name: &str) -> bool {
        self.contains_key(name)
    }
}

/// The cleaned values, in field order (`form.cleaned_data`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanedData(Vec<(String, FormValue)>);

impl CleanedData {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&FormValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The value of `name` as `T` (`None` when absent or of another type).
    pub fn typed<T: FromFormValue>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(T::from_form_value)
    }

    /// Sets (or replaces) `name`.
    pub fn insert(&mut self, name: &str, value: FormValue) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) -> Option<FormValue> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.remove(i).1)
    }

    /// Whether `name` has a value.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// `(name, value)` in field order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FormValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The values as a JSON object (decimals and dates as text).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        )
    }
}

/// What the hooks see while a form is cleaned: the values cleaned so far and `add_error`
/// (Django's `self.cleaned_data` and `self.add_error` inside `clean_<name>` / `clean`).
#[derive(Debug)]
pub struct Cleaning<'f> {
    form: &'f Form,
    /// The values cleaned so far.
    pub cleaned_data: CleanedData,
    errors: ErrorDict,
}

impl Cleaning<'_> {
    /// The value submitted for a field (`self.data[name]`), before cleaning.
    pub fn data(&self, name: &str) -> Option<&str> {
        self.form.data_source().get(&self.form.add_prefix(name))
    }

    /// The initial value of a field (`self.get_initial_for_field`).
    pub fn initial(&self, name: &str) -> Option<FormValue> {
        let field = self.form.get_field(name)?;
        Some(self.form.initial_for(name, field))
    }

    /// The form's fields (the form itself is not handed out: asking it for its errors while
    /// it is being cleaned would clean it again).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.form.fields()
    }

    /// A cleaned value as `T`.
    pub fn cleaned<T: FromFormValue>(&self, name: &str) -> Option<T> {
        self.cleaned_data.typed(name)
    }

    /// `add_error(field, error)`: `None` for the form's own errors. The field's value leaves
    /// `cleaned_data`. An unknown field name is an error naming it, as Django's ValueError.
    pub fn add_error(
        &mut self,
        field: Option<&str>,
        error: impl Into<ValidationError>,
    ) -> Result<(), UnknownField> {
        add_error_to(
            self.form,
            &mut self.errors,
            &mut self.cleaned_data,
            field,
            error.into(),
        )
    }
}

/// `add_error` named a field the form does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The form's name.
    pub form: String,
    /// The name given.
    pub field: String,
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' has no field named '{}'.", self.form, self.field)
    }
}

impl std::error::Error for UnknownField {}

impl From<UnknownField> for ValidationError {
    /// So a hook can write `form.add_error(Some("x"), …)?`: the mistake shows as the form's
    /// error, naming the field (Django raises ValueError).
    fn from(e: UnknownField) -> ValidationError {
        ValidationError::with_code(e.to_string(), "unknown_field")
    }
}

fn add_error_to(
    form: &Form,
    errors: &mut ErrorDict,
    cleaned: &mut CleanedData,
    field: Option<&str>,
    error: ValidationError,
) -> Result<(), UnknownField> {
    let key = field.unwrap_or(NON_FIELD_ERRORS);
    if key != NON_FIELD_ERRORS && form.get_field(key).is_none() {
        return Err(UnknownField {
            form: form.name.clone(),
            field: key.to_string(),
        });
    }
    let list = errors.entry(key, || {
        if key == NON_FIELD_ERRORS {
            ErrorList::non_field()
        } else {
            ErrorList::for_field(&form.auto_id_for(&form.add_prefix(key)))
        }
    });
    list.extend(error.into_errors());
    cleaned.remove(key);
    Ok(())
}

/// A `clean_<name>` hook: the field's cleaned value in, the value to keep out.
pub type FieldHook =
    Arc<dyn Fn(&mut Cleaning<'_>, FormValue) -> Result<FormValue, ValidationError> + Send + Sync>;
/// The form's `clean` hook.
pub type FormHook = Arc<dyn Fn(&mut Cleaning<'_>) -> Result<(), ValidationError> + Send + Sync>;

#[derive(Debug, Clone)]
struct Cleaned {
    errors: ErrorDict,
    cleaned_data: CleanedData,
}

/// A form (Django's `BaseForm`): build one with [`Form::new`] and [`Form::field`] (or the
/// [`form!`](crate::form) macro), then [`bind`](Form::bind) it to data.
#[derive(Clone)]
pub struct Form {
    name: String,
    fields: Vec<(String, Field)>,
    data: Option<QueryDict>,
    initial: Vec<(String, FormValue)>,
    prefix: Option<String>,
    auto_id: String,
    label_suffix: String,
    use_required_attribute: bool,
    error_css_class: Option<String>,
    required_css_class: Option<String>,
    empty_permitted: bool,
    field_hooks: Vec<(String, FieldHook)>,
    clean_hook: Option<FormHook>,
    cleaned: OnceLock<Cleaned>,
}

impl fmt::Debug for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Django's repr: <Name bound=…, valid=…, fields=(a;b)>.
        let valid = match self.cleaned.get() {
            None => "Unknown".to_string(),
            Some(c) => if self.is_bound() && c.errors.is_empty() {
                "True"
            } else {
                "False"
            }
            .into(),
        };
        let names: Vec<&str> = self.fields.iter().map(|(n, _)| n.as_str()).collect();
        write!(
            f,
            "<{} bound={}, valid={valid}, fields=({})>",
            self.name,
            if self.is_bound() { "True" } else { "False" },
            names.join(";")
        )
    }
}

static EMPTY: OnceLock<QueryDict> = OnceLock::new();

impl Form {
    /// An unbound form named `name` (the name is in `add_error`'s error and `Debug`).
    pub fn new(name: impl Into<String>) -> Form {
        Form {
            name: name.into(),
            fields: Vec::new(),
            data: None,
            initial: Vec::new(),
            prefix: None,
            auto_id: "id_%s".into(),
            label_suffix: ":".into(),
            use_required_attribute: true,
            error_css_class: None,
            required_css_class: None,
            empty_permitted: false,
            field_hooks: Vec::new(),
            clean_hook: None,
            cleaned: OnceLock::new(),
        }
    }

    /// Adds a field (in order). A second field of the same name replaces the first in place.
    pub fn field(mut self, name: &str, field: impl Into<Field>) -> Form {
        self.add_field(name, field.into());
        self
    }

    /// A form from a field list built at run time: the seam a ModelForm fills from a
    /// model's fields (`fields_for_model`).
    pub fn from_fields(
        name: impl Into<String>,
        fields: impl IntoIterator<Item = (String, Field)>,
    ) -> Form {
        let mut form = Form::new(name);
        for (n, f) in fields {
            form.add_field(&n, f);
        }
        form
    }

    /// Adds a field to a form being built at run time (ModelForm's seam).
    pub fn add_field(&mut self, name: &str, field: Field) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, f)) => *f = field,
            None => self.fields.push((name.to_string(), field)),
        }
        self.cleaned = OnceLock::new();
    }

    /// Sets the `clean_<name>` hook of a field.
    pub fn clean_field(
        mut self,
        name: &str,
        hook: impl Fn(&mut Cleaning<'_>, FormValue) -> Result<FormValue, ValidationError>
            + Send
            + Sync
            + 'static,
    ) -> Form {
        self.field_hooks.retain(|(n, _)| n != name);
        self.field_hooks.push((name.to_string(), Arc::new(hook)));
        self
    }

    /// Sets the form's `clean` hook.
    pub fn clean(
        mut self,
        hook: impl Fn(&mut Cleaning<'_>) -> Result<(), ValidationError> + Send + Sync + 'static,
    ) -> Form {
        self.clean_hook = Some(Arc::new(hook));
        self
    }

    /// Binds the form to submitted data (`Form(request.POST)`); the fields' values are
    /// copied, so the form outlives the request.
    pub fn bind<D: FormData + ?Sized>(mut self, data: &D) -> Form {
        let mut q = QueryDict::new();
        for (name, _) in &self.fields {
            let key = self.add_prefix(name);
            if let Some(v) = data.get(&key) {
                q.append(key.clone(), v);
            } else if data.contains(&key) {
                q.append(key.clone(), "");
            }
        }
        self.data = Some(q);
        self.cleaned = OnceLock::new();
        self
    }

    /// The form's `initial` values (over the fields' own).
    pub fn initial(
        mut self,
        values: impl IntoIterator<Item = (impl Into<String>, FormValue)>,
    ) -> Form {
        self.initial = values.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self.cleaned = OnceLock::new();
        self
    }

    /// `prefix=`: names become `prefix-name`.
    pub fn prefix(mut self, prefix: &str) -> Form {
        self.prefix = (!prefix.is_empty()).then(|| prefix.to_string());
        self
    }

    /// `auto_id=`: a pattern with `%s` (default `id_%s`), another text used as is with the
    /// name, or `""` for no ids (Django's `auto_id=False`).
    pub fn auto_id(mut self, auto_id: &str) -> Form {
        self.auto_id = auto_id.to_string();
        self
    }

    /// `label_suffix=` (default `:`).
    pub fn label_suffix(mut self, suffix: &str) -> Form {
        self.label_suffix = suffix.to_string();
        self
    }

    /// `use_required_attribute=` (default true).
    pub fn use_required_attribute(mut self, yes: bool) -> Form {
        self.use_required_attribute = yes;
        self
    }

    /// The class rows with errors get (`error_css_class`).
    pub fn error_css_class(mut self, class: &str) -> Form {
        self.error_css_class = Some(class.to_string());
        self
    }

    /// The class required rows and labels get (`required_css_class`).
    pub fn required_css_class(mut self, class: &str) -> Form {
        self.required_css_class = Some(class.to_string());
        self
    }

    /// `empty_permitted=`: an unchanged form is valid without validation.
    pub fn empty_permitted(mut self, yes: bool) -> Form {
        self.empty_permitted = yes;
        self
    }

    /// The form's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether data was given (`is_bound`).
    pub fn is_bound(&self) -> bool {
        self.data.is_some()
    }

    /// The bound data (`form.data`), `None` when unbound.
    pub fn data(&self) -> Option<&QueryDict> {
        self.data.as_ref()
    }

    pub(crate) fn data_source(&self) -> &dyn FormData {
        match &self.data {
            Some(d) => d,
            None => EMPTY.get_or_init(QueryDict::new),
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &Field)> {
        self.fields.iter().map(|(n, f)| (n.as_str(), f))
    }

    /// A field by name.
    pub fn get_field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// The bound field `name` (`form["name"]`).
    pub fn bound_field(&self, name: &str) -> Option<BoundField<'_>> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(n, f)| BoundField::new(self, f, n))
    }

    /// The bound fields in order (`for field in form`).
    pub fn bound_fields(&self) -> impl Iterator<Item = BoundField<'_>> {
        self.fields
            .iter()
            .map(move |(n, f)| BoundField::new(self, f, n))
    }

    /// `visible_fields()`.
    pub fn visible_fields(&self) -> Vec<BoundField<'_>> {
        self.bound_fields().filter(|b| !b.is_hidden()).collect()
    }

    /// `hidden_fields()`.
    pub fn hidden_fields(&self) -> Vec<BoundField<'_>> {
        self.bound_fields().filter(|b| b.is_hidden()).collect()
    }

    /// `add_prefix(name)`.
    pub fn add_prefix(&self, name: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{p}-{name}"),
            None => name.to_string(),
        }
    }

    pub(crate) fn auto_id_for(&self, html_name: &str) -> String {
        if self.auto_id.is_empty() {
            String::new()
        } else if self.auto_id.contains("%s") {
            self.auto_id.replacen("%s", html_name, 1)
        } else {
            html_name.to_string()
        }
    }

    pub(crate) fn label_suffix_str(&self) -> &str {
        &self.label_suffix
    }

    pub(crate) fn use_required_attribute_flag(&self) -> bool {
        self.use_required_attribute
    }

    pub(crate) fn error_css_class_str(&self) -> Option<&str> {
        self.error_css_class.as_deref()
    }

    pub(crate) fn required_css_class_str(&self) -> Option<&str> {
        self.required_css_class.as_deref()
    }

    /// `get_initial_for_field`: the form's initial, else the field's.
    pub(crate) fn initial_for(&self, name: &str, field: &Field) -> FormValue {
        let v = self
            .initial
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(|| field.initial.clone(), |(_, v)| v.clone());
        field.initial_for_widget(v)
    }

    fn full_clean(&self) -> Cleaned {
        let mut cleaning = Cleaning {
            form: self,
            cleaned_data: CleanedData::default(),
            errors: ErrorDict::default(),
        };
        if !self.is_bound() || (self.empty_permitted && !self.has_changed()) {
            return Cleaned {
                errors: cleaning.errors,
                cleaned_data: cleaning.cleaned_data,
            };
        }
        for bf in self.bound_fields() {
            let field = bf.field();
            let raw = if field.disabled {
                bf.initial()
            } else {
                bf.data()
            };
            let result = field.clean(&raw).and_then(|value| {
                cleaning.cleaned_data.insert(bf.name(), value.clone());
                match self.field_hooks.iter().find(|(n, _)| n == bf.name()) {
                    Some((_, hook)) => {
                        let hook = Arc::clone(hook);
                        hook(&mut cleaning, value)
                    }
                    None => Ok(value),
                }
            });
            match result {
                Ok(v) => cleaning.cleaned_data.insert(bf.name(), v),
                Err(e) => {
                    let Cleaning {
                        errors,
                        cleaned_data,
                        ..
                    } = &mut cleaning;
                    // The name is the form's own field: this cannot be UnknownField.
                    let _ = add_error_to(self, errors, cleaned_data, Some(bf.name()), e);
                }
            }
        }
        if let Some(hook) = &self.clean_hook {
            if let Err(e) = hook(&mut cleaning) {
                let Cleaning {
                    errors,
                    cleaned_data,
                    ..
                } = &mut cleaning;
                let _ = add_error_to(self, errors, cleaned_data, None, e);
            }
        }
        Cleaned {
            errors: cleaning.errors,
            cleaned_data: cleaning.cleaned_data,
        }
    }

    fn cleaned_state(&self) -> &Cleaned {
        self.cleaned.get_or_init(|| self.full_clean())
    }

    /// `errors`: cleans the form on first use.
    pub fn errors(&self) -> &ErrorDict {
        &self.cleaned_state().errors
    }

    /// `is_valid()`: bound and without errors.
    pub fn is_valid(&self) -> bool {
        self.is_bound() && self.errors().is_empty()
    }

    /// `cleaned_data`: the valid fields' values (all of them when the form is valid).
    pub fn cleaned_data(&self) -> &CleanedData {
        &self.cleaned_state().cleaned_data
    }

    /// A cleaned value as `T`: `form.cleaned::<i64>("age")`.
    pub fn cleaned<T: FromFormValue>(&self, name: &str) -> Option<T> {
        self.cleaned_data().typed(name)
    }

    /// `non_field_errors()`: the errors of the form's `clean` (or `add_error(None, …)`).
    pub fn non_field_errors(&self) -> ErrorList {
        self.errors()
            .get(NON_FIELD_ERRORS)
            .cloned()
            .unwrap_or_else(ErrorList::non_field)
    }

    /// `has_error(field, code)`.
    pub fn has_error(&self, field: &str, code: Option<&str>) -> bool {
        self.errors().get(field).is_some_and(|e| match code {
            None => true,
            Some(c) => e.has_code(c),
        })
    }

    /// `add_error(field, error)` after validation (say, a view finding the name taken).
    pub fn add_error(
        &mut self,
        field: Option<&str>,
        error: impl Into<ValidationError>,
    ) -> Result<(), UnknownField> {
        self.cleaned_state();
        let mut state = self.cleaned.take().unwrap_or_else(|| self.full_clean());
        let r = add_error_to(
            self,
            &mut state.errors,
            &mut state.cleaned_data,
            field,
            error.into(),
        );
        let _ = self.cleaned.set(state);
        r
    }

    /// `changed_data`: the fields whose value differs from the initial.
    pub fn changed_data(&self) -> Vec<String> {
        self.bound_fields()
            .filter(|b| b.has_changed())
            .map(|b| b.name().to_string())
            .collect()
    }

    /// `has_changed()`.
    pub fn has_changed(&self) -> bool {
        self.bound_fields().any(|b| b.has_changed())
    }

    /// The top errors and the visible and hidden fields (`get_context`).
    fn context(&self) -> (ErrorList, Vec<BoundField<'_>>, Vec<BoundField<'_>>) {
        let mut top = self.non_field_errors();
        let mut fields = Vec::new();
        let mut hidden = Vec::new();
        for bf in self.bound_fields() {
            if bf.is_hidden() {
                for e in bf.errors().messages() {
                    top.push(format!("(Hidden field {}) {e}", bf.name()));
                }
                hidden.push(bf);
            } else {
                fields.push(bf);
            }
        }
        (top, fields, hidden)
    }

    fn class_attr(bf: &BoundField<'_>) -> String {
        let c = bf.css_classes();
        if c.is_empty() {
            String::new()
        } else {
            format!(" class=\"{}\"", super::utils::escape(&c))
        }
    }

    /// `as_div()`: Django 5's default layout (`django/forms/div.html`), also `Display`.
    pub fn as_div(&self) -> String {
        let (errors, fields, hidden) = self.context();
        let hidden_html: String = hidden.iter().map(BoundField::as_widget).collect();
        let mut out = errors.as_ul();
        out.push('\n');
        if !errors.is_empty() && fields.is_empty() {
            out.push_str(&format!("\n  <div>{hidden_html}</div>\n"));
        }
        out.push('\n');
        let n = fields.len();
        for (i, bf) in fields.iter().enumerate() {
            out.push_str("\n  <div");
            out.push_str(&Self::class_attr(bf));
            out.push_str(">\n    ");
            out.push_str(&bf.as_field_group());
            out.push_str("\n    ");
            if i + 1 == n {
                out.push_str(&format!("\n      {hidden_html}\n    "));
            }
            out.push_str("\n</div>\n");
        }
        out.push('\n');
        if fields.is_empty() && errors.is_empty() {
            out.push_str(&format!("\n  {hidden_html}\n"));
        }
        out.push('\n');
        out.trim().to_string()
    }

    /// `as_p()` (`django/forms/p.html`).
    pub fn as_p(&self) -> String {
        let (errors, fields, hidden) = self.context();
        let hidden_html: String = hidden.iter().map(BoundField::as_widget).collect();
        let mut out = errors.as_ul();
        out.push('\n');
        if !errors.is_empty() && fields.is_empty() {
            out.push_str(&format!("\n  <p>{hidden_html}</p>\n"));
        }
        out.push('\n');
        let n = fields.len();
        for (i, bf) in fields.iter().enumerate() {
            out.push_str("\n  ");
            out.push_str(&bf.errors().as_ul());
            out.push_str("\n  <p");
            out.push_str(&Self::class_attr(bf));
            out.push_str(">\n    ");
            if !bf.label().is_empty() {
                out.push_str(&bf.label_tag());
            }
            out.push_str("\n    ");
            out.push_str(&bf.as_widget());
            out.push_str("\n    ");
            if !bf.help_text().is_empty() {
                out.push_str(&format!("\n      {}\n    ", bf.helptext_span()));
            }
            out.push_str("\n    ");
            if i + 1 == n {
                out.push_str(&format!("\n      {hidden_html}\n    "));
            }
            out.push_str("\n  </p>\n");
        }
        out.push('\n');
        if fields.is_empty() && errors.is_empty() {
            out.push_str(&format!("\n  {hidden_html}\n"));
        }
        out.push('\n');
        out.trim().to_string()
    }

    /// `as_table()` (`django/forms/table.html`): rows without the `<table>`.
    pub fn as_table(&self) -> String {
        let (errors, fields, hidden) = self.context();
        let hidden_html: String = hidden.iter().map(BoundField::as_widget).collect();
        let mut out = String::new();
        if !errors.is_empty() {
            out.push_str("\n  <tr>\n    <td colspan=\"2\">\n      ");
            out.push_str(&errors.as_ul());
            out.push_str("\n      ");
            if fields.is_empty() {
                out.push_str(&format!("\n        {hidden_html}\n      "));
            }
            out.push_str("\n    </td>\n  </tr>\n");
        }
        out.push('\n');
        let n = fields.len();
        for (i, bf) in fields.iter().enumerate() {
            out.push_str("\n  <tr");
            out.push_str(&Self::class_attr(bf));
            out.push_str(">\n    <th>");
            if !bf.label().is_empty() {
                out.push_str(&bf.label_tag());
            }
            out.push_str("</th>\n    <td>\n      ");
            out.push_str(&bf.errors().as_ul());
            out.push_str("\n      ");
            out.push_str(&bf.as_widget());
            out.push_str("\n      ");
            if !bf.help_text().is_empty() {
                out.push_str(&format!(
                    "\n        <br>\n        {}\n      ",
                    bf.helptext_span()
                ));
            }
            out.push_str("\n      ");
            if i + 1 == n {
                out.push_str(&format!("\n        {hidden_html}\n      "));
            }
            out.push_str("\n    </td>\n  </tr>\n");
        }
        out.push('\n');
        if fields.is_empty() && errors.is_empty() {
            out.push_str(&format!("\n  {hidden_html}\n"));
        }
        out.push('\n');
        out.trim().to_string()
    }

    /// `as_ul()` (`django/forms/ul.html`): items without the `<ul>`.
    pub fn as_ul(&self) -> String {
        let (errors, fields, hidden) = self.context();
        let hidden_html: String = hidden.iter().map(BoundField::as_widget).collect();
        let mut out = String::new();
        if !errors.is_empty() {
            out.push_str("\n  <li>\n    ");
            out.push_str(&errors.as_ul());
            out.push_str("\n  ");
            if fields.is_empty() {
                out.push_str(&format!("\n    {hidden_html}\n  "));
            }
            out.push_str("\n  </li>\n");
        }
        out.push('\n');
        let n = fields.len();
        for (i, bf) in fields.iter().enumerate() {
            out.push_str("\n  <li");
            out.push_str(&Self::class_attr(bf));
            out.push_str(">\n    ");
            out.push_str(&bf.errors().as_ul());
            out.push_str("\n    ");
            if !bf.label().is_empty() {
                out.push_str(&bf.label_tag());
            }
            out.push_str("\n    ");
            out.push_str(&bf.as_widget());
            out.push_str("\n    ");
            if !bf.help_text().is_empty() {
                out.push_str(&format!("\n      {}\n    ", bf.helptext_span()));
            }
            out.push_str("\n    ");
            if i + 1 == n {
                out.push_str(&format!("\n      {hidden_html}\n    "));
            }
            out.push_str("\n  </li>\n");
        }
        out.push('\n');
        if fields.is_empty() && errors.is_empty() {
            out.push_str(&format!("\n  {hidden_html}\n"));
        }
        out.push('\n');
        out.trim().to_string()
    }
}

impl fmt::Display for Form {
    /// `{{ form }}`: `as_div()`, Django 5's default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_div())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::{BooleanField, CharField, IntegerField};

    crate::form! {
        struct Signup {
            username: CharField::new().max_length(10),
            password: CharField::new(),
            password2: CharField::new().label("Password (again)"),
            age: IntegerField::new().required(false),
            terms: BooleanField::new().required(false),
        }
        fn clean_username(form, value) {
            // The raw submitted text is there too, before cleaning.
            assert_eq!(form.data("username"), Some(" Ada "));
            Ok(FormValue::from(value.to_python_str().to_lowercase()))
        }
        fn clean(form) {
            if form.cleaned::<String>("password") != form.cleaned::<String>("password2") {
                form.add_error(Some("password2"), "The two password fields didn’t match.")?;
            }
            if form.cleaned::<Option<i64>>("age") == Some(Some(0)) {
                // A mistake in the app shows up as a form error naming the field.
                form.add_error(Some("agee"), "x")?;
            }
            Ok(())
        }
    }

    fn post(pairs: &[(&str, &str)]) -> QueryDict {
        pairs.iter().copied().collect()
    }

    #[test]
    fn hooks_clean_fields_and_the_form_in_django_s_order() {
        let form = Signup::bind(&post(&[
            ("username", " Ada "),
            ("password", "a"),
            ("password2", "b"),
            ("age", "41"),
        ]));
        assert!(!form.is_valid());
        assert_eq!(form.cleaned::<String>("username").as_deref(), Some("ada"));
        assert_eq!(form.cleaned::<Option<i64>>("age"), Some(Some(41)));
        assert_eq!(form.cleaned::<i64>("age"), Some(41));
        assert_eq!(form.cleaned::<bool>("terms"), Some(false));
        // add_error removed the field from cleaned_data, as Django's does.
        assert!(!form.cleaned_data().contains_key("password2"));
        assert_eq!(
            form.errors().as_json(false),
            r#"{"password2": [{"message": "The two password fields didn\u2019t match.", "code": ""}]}"#
        );
        assert!(form.non_field_errors().is_empty());
        assert!(form.has_error("password2", None));
        assert_eq!(
            format!("{:?}", *form),
            "<Signup bound=True, valid=False, fields=(username;password;password2;age;terms)>"
        );

        let form = Signup::bind(&post(&[
            ("username", " Ada "),
            ("password", "a"),
            ("password2", "a"),
            ("age", "0"),
        ]));
        assert_eq!(
            form.non_field_errors().messages(),
            ["'Signup' has no field named 'agee'."]
        );
    }

    #[test]
    fn a_view_adds_errors_after_validation_and_forms_build_at_run_time() {
        let mut form = Signup::bind(&post(&[
            ("username", " Ada "),
            ("password", "a"),
            ("password2", "a"),
        ]));
        assert!(form.is_valid());
        assert_eq!(form.changed_data(), ["username", "password", "password2"]);
        form.add_error(
            Some("username"),
            ValidationError::with_code("Taken.", "taken"),
        )
        .unwrap();
        assert!(!form.is_valid());
        assert!(form.has_error("username", Some("taken")));
        assert!(form.add_error(Some("nope"), "x").is_err());

        let fields = vec![("title".to_string(), CharField::new().max_length(3).build())];
        let form = Form::from_fields("ArticleForm", fields)
            .prefix("a")
            .bind(&[("a-title", "long")]);
        assert_eq!(
            form.errors().get("title").unwrap().messages(),
            ["Ensure this value has at most 3 characters (it has 4)."]
        );
        assert_eq!(
            form.bound_field("title").unwrap().as_widget(),
            "<input type=\"text\" name=\"a-title\" value=\"long\" maxlength=\"3\" required aria-invalid=\"true\" aria-describedby=\"id_a-title_error\" id=\"id_a-title\">"
        );

        // Unbound: not valid, no errors; empty_permitted: an untouched form is valid.
        let unbound = Signup::new();
        assert!(!unbound.is_bound() && !unbound.is_valid() && unbound.errors().is_empty());
        let empty = Signup::form().empty_permitted(true).bind(&post(&[]));
        assert!(empty.is_valid());
    }
}
