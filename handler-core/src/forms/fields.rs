//! Fields (django.forms.fields): each turns submitted text into a typed value
//! (`to_python`), checks it (`validate`, then the validators) and says how it is shown (its
//! widget and the attributes it adds: `maxlength`, `min`, `step`, …), with Django 5.2's
//! messages. A [`Field`] is a plain value, so forms can be built from a field list at run time
//! (the seam ModelForm uses); the builders ([`CharField`], [`IntegerField`], …) make them.

use chrono::Timelike;

use super::dates::{parse_date, parse_datetime_field, ParsedDateTime};
use super::error::{FormError, ValidationError};
use super::utils::py_strip;
use super::validators::Validator;
use super::value::{Decimal, FormValue};
use super::widgets::{Widget, WidgetKind};

/// The options of the text fields (CharField, EmailField, URLField).
#[derive(Debug, Clone, PartialEq)]
pub struct CharOptions {
    /// `max_length`.
    pub max_length: Option<usize>,
    /// `min_length`.
    pub min_length: Option<usize>,
    /// `strip` (default true): surrounding whitespace removed.
    pub strip: bool,
    /// `empty_value` (default `""`): what an empty input cleans to.
    pub empty_value: FormValue,
}

impl Default for CharOptions {
    fn default() -> CharOptions {
        CharOptions {
            max_length: None,
            min_length: None,
            strip: true,
            empty_value: FormValue::Str(String::new()),
        }
    }
}

/// Which field, with its own options.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    /// `CharField`.
    Char(CharOptions),
    /// `EmailField` (a CharField with `max_length=320` and `validate_email`).
    Email(CharOptions),
    /// `URLField` (a CharField with URLValidator; a scheme-less input gets `assume_scheme`).
    Url(CharOptions, String),
    /// `IntegerField`.
    Integer {
        /// `min_value`.
        min_value: Option<i64>,
        /// `max_value`.
        max_value: Option<i64>,
        /// `step_size`.
        step_size: Option<i64>,
    },
    /// `DecimalField`.
    Decimal {
        /// `max_digits`.
        max_digits: Option<u32>,
        /// `decimal_places`.
        decimal_places: Option<u32>,
        /// `min_value`.
        min_value: Option<Decimal>,
        /// `max_value`.
        max_value: Option<Decimal>,
    },
    /// `BooleanField`.
    Boolean,
    /// `ChoiceField` with `(value, label)` choices.
    Choice(Vec<(String, String)>),
    /// `DateField`.
    Date,
    /// `DateTimeField`.
    DateTime,
}

/// A form field: its kind, Django's common options, and its widget.
#[derive(Debug, Clone)]
pub struct Field {
    /// Which field.
    pub kind: FieldKind,
    /// `required` (default true).
    pub required: bool,
    /// `label`; `None` is `pretty_name(name)`.
    pub label: Option<String>,
    /// `initial`.
    pub initial: FormValue,
    /// `help_text` (shown unescaped, as Django marks it safe in its templates).
    pub help_text: String,
    /// `disabled`: shown disabled, and the initial value is used whatever is submitted.
    pub disabled: bool,
    /// `label_suffix`; `None` is the form's (`:`).
    pub label_suffix: Option<String>,
    /// The validators given (`validators=[…]`); the field's own ones are added around them.
    pub validators: Vec<Validator>,
    /// `error_messages`: code to message, replacing Django's defaults.
    pub error_messages: Vec<(String, String)>,
    /// `widget`; `None` is the field's default.
    pub widget: Option<Widget>,
}

impl Field {
    /// A field of this kind with Django's defaults.
    pub fn new(kind: FieldKind) -> Field {
        Field {
            kind,
            required: true,
            label: None,
            initial: FormValue::None,
            help_text: String::new(),
            disabled: false,
            label_suffix: None,
            validators: Vec::new(),
            error_messages: Vec::new(),
            widget: None,
        }
    }

    fn char_options(&self) -> Option<&CharOptions> {
        match &self.kind {
            FieldKind::Char(o) | FieldKind::Email(o) | FieldKind::Url(o, _) => Some(o),
            _ => None,
        }
    }

    fn char_options_mut(&mut self) -> Option<&mut CharOptions> {
        match &mut self.kind {
            FieldKind::Char(o) | FieldKind::Email(o) | FieldKind::Url(o, _) => Some(o),
            _ => None,
        }
    }

    /// The widget as rendered: the given or default one, with the attributes the field adds
    /// (`widget_attrs`: `maxlength`/`minlength`, `min`/`max`/`step`) and a Select's choices.
    pub fn widget(&self) -> Widget {
        let mut w = self.widget.clone().unwrap_or_else(|| match &self.kind {
            FieldKind::Char(_) => Widget::TextInput(),
            FieldKind::Email(_) => Widget::EmailInput(),
            FieldKind::Url(..) => Widget::URLInput(),
            FieldKind::Integer { .. } | FieldKind::Decimal { .. } => Widget::NumberInput(),
            FieldKind::Boolean => Widget::CheckboxInput(),
            FieldKind::Choice(_) => Widget::Select(),
            FieldKind::Date => Widget::DateInput(),
            FieldKind::DateTime => Widget::DateTimeInput(),
        });
        if let Some(o) = self.char_options() {
            if !w.is_hidden() {
                if let Some(n) = o.max_length {
                    w.attrs.set("maxlength", n.to_string());
                }
                if let Some(n) = o.min_length {
                    w.attrs.set("minlength", n.to_string());
                }
            }
        }
        let number = w.kind == WidgetKind::NumberInput;
        match &self.kind {
            FieldKind::Integer {
                min_value,
                max_value,
                step_size,
            } if number => {
                if let Some(v) = min_value {
                    w.attrs.set("min", v.to_string());
                }
                if let Some(v) = max_value {
                    w.attrs.set("max", v.to_string());
                }
                if let Some(v) = step_size {
                    w.attrs.set("step", v.to_string());
                }
            }
            FieldKind::Decimal {
                min_value,
                max_value,
                decimal_places,
                ..
            } if number => {
                if let Some(v) = min_value {
                    w.attrs.set("min", v.to_string());
                }
                if let Some(v) = max_value {
                    w.attrs.set("max", v.to_string());
                }
                let step = decimal_places.map_or("any".to_string(), Decimal::step_for_places);
                w.attrs.set_default("step", step);
            }
            FieldKind::Choice(choices) => {
                if let WidgetKind::Select { choices: c } = &mut w.kind {
                    *c = choices.clone();
                }
            }
            _ => {}
        }
        w
    }

    /// The message for `code`: the field's `error_messages`, else Django's default.
    fn message(&self, code: &str) -> String {
        if let Some((_, m)) = self.error_messages.iter().find(|(c, _)| c == code) {
            return m.clone();
        }
        match (code, &self.kind) {
            ("required", _) => "This field is required.",
            ("invalid", FieldKind::Integer { .. }) => "Enter a whole number.",
            ("invalid", FieldKind::Decimal { .. }) => "Enter a number.",
            ("invalid", FieldKind::Url(..)) => "Enter a valid URL.",
            ("invalid", FieldKind::Date) => "Enter a valid date.",
            ("invalid", FieldKind::DateTime) => "Enter a valid date/time.",
            ("invalid_choice", FieldKind::Choice(_)) => {
                "Select a valid choice. %(value)s is not one of the available choices."
            }
            _ => "Enter a valid value.",
        }
        .to_string()
    }

    /// The codes the field has a message for (Django's merged `error_messages` keys), which
    /// replace a validator's message of the same code.
    fn has_message(&self, code: &str) -> bool {
        self.error_messages.iter().any(|(c, _)| c == code)
            || code == "required"
            || matches!(
                (code, &self.kind),
                (
                    "invalid",
                    FieldKind::Integer { .. }
                        | FieldKind::Decimal { .. }
                        | FieldKind::Url(..)
                        | FieldKind::Date
                        | FieldKind::DateTime
                ) | ("invalid_choice", FieldKind::Choice(_))
            )
    }

    fn error(&self, code: &str) -> ValidationError {
        ValidationError::with_code(self.message(code), code)
    }

    /// `to_python(value)`: the submitted value (or, for a disabled field, the initial one) as
    /// the field's type.
    pub fn to_python(&self, value: &FormValue) -> Result<FormValue, ValidationError> {
        match &self.kind {
            FieldKind::Char(o) | FieldKind::Email(o) => Ok(char_to_python(o, value)),
            FieldKind::Url(o, scheme) => {
                let v = char_to_python(o, value);
                Ok(match v {
                    FormValue::Str(s) if !s.is_empty() => FormValue::Str(assume_scheme(&s, scheme)),
                    v => v,
                })
            }
            FieldKind::Integer { .. } => {
                if value.is_empty() {
                    return Ok(FormValue::None);
                }
                if let FormValue::Int(i) = value {
                    return Ok(FormValue::Int(*i));
                }
                parse_python_int(&value.to_python_str())
                    .map(FormValue::Int)
                    .ok_or_else(|| self.error("invalid"))
            }
            FieldKind::Decimal { .. } => {
                if value.is_empty() {
                    return Ok(FormValue::None);
                }
                if let FormValue::Decimal(d) = value {
                    return Ok(FormValue::Decimal(d.clone()));
                }
                Decimal::parse(&value.to_python_str())
                    .map(FormValue::Decimal)
                    .map_err(|_| self.error("invalid"))
            }
            FieldKind::Boolean => Ok(FormValue::Bool(match value {
                FormValue::Str(s) if matches!(s.to_lowercase().as_str(), "false" | "0") => false,
                v => v.is_truthy(),
            })),
            FieldKind::Choice(_) => Ok(if value.is_empty() {
                FormValue::Str(String::new())
            } else {
                FormValue::Str(value.to_python_str())
            }),
            FieldKind::Date => match value {
                v if v.is_empty() => Ok(FormValue::None),
                FormValue::Date(d) => Ok(FormValue::Date(*d)),
                FormValue::DateTime(dt) => Ok(FormValue::Date(dt.date())),
                v => parse_date(py_strip(&v.to_python_str()))
                    .map(FormValue::Date)
                    .ok_or_else(|| self.error("invalid")),
            },
            FieldKind::DateTime => match value {
                v if v.is_empty() => Ok(FormValue::None),
                FormValue::DateTime(dt) => Ok(FormValue::DateTime(*dt)),
                FormValue::DateTimeTz(dt) => Ok(FormValue::DateTimeTz(*dt)),
                FormValue::Date(d) => Ok(FormValue::DateTime(d.and_time(chrono::NaiveTime::MIN))),
                v => match parse_datetime_field(&v.to_python_str()) {
                    Some(ParsedDateTime::Naive(n)) => Ok(FormValue::DateTime(n)),
                    Some(ParsedDateTime::Aware(a)) => Ok(FormValue::DateTimeTz(a)),
                    None => Err(self.error("invalid")),
                },
            },
        }
    }

    /// `validate(value)`: required, and a ChoiceField's choices.
    pub fn validate(&self, value: &FormValue) -> Result<(), ValidationError> {
        match &self.kind {
            FieldKind::Boolean => {
                if !value.is_truthy() && self.required {
                    return Err(self.error("required"));
                }
            }
            _ => {
                if value.is_empty() && self.required {
                    return Err(self.error("required"));
                }
            }
        }
        if let FieldKind::Choice(choices) = &self.kind {
            if value.is_truthy() {
                let text = value.to_python_str();
                if !choices.iter().any(|(k, _)| *k == text) {
                    return Err(self.error("invalid_choice").param("value", text));
                }
            }
        }
        Ok(())
    }

    /// Every validator in Django's order: the class's defaults (email, URL), the given ones,
    /// then those the options add (length, value limits, digits, null characters).
    pub fn all_validators(&self) -> Vec<Validator> {
        let mut v = Vec::new();
        match &self.kind {
            FieldKind::Email(_) => v.push(Validator::Email),
            FieldKind::Url(..) => v.push(Validator::url()),
            _ => {}
        }
        v.extend(self.validators.iter().cloned());
        if let Some(o) = self.char_options() {
            if let Some(n) = o.min_length {
                v.push(Validator::MinLength(n));
            }
            if let Some(n) = o.max_length {
                v.push(Validator::MaxLength(n));
            }
            v.push(Validator::ProhibitNull);
        }
        match &self.kind {
            FieldKind::Integer {
                min_value,
                max_value,
                step_size,
            } => {
                if let Some(m) = max_value {
                    v.push(Validator::MaxValue(FormValue::Int(*m)));
                }
                if let Some(m) = min_value {
                    v.push(Validator::MinValue(FormValue::Int(*m)));
                }
                if let Some(s) = step_size {
                    v.push(Validator::StepValue {
                        step: *s,
                        offset: *min_value,
                    });
                }
            }
            FieldKind::Decimal {
                max_digits,
                decimal_places,
                min_value,
                max_value,
            } => {
                if let Some(m) = max_value {
                    v.push(Validator::MaxValue(FormValue::Decimal(m.clone())));
                }
                if let Some(m) = min_value {
                    v.push(Validator::MinValue(FormValue::Decimal(m.clone())));
                }
                v.push(Validator::Decimal {
                    max_digits: *max_digits,
                    decimal_places: *decimal_places,
                });
            }
            _ => {}
        }
        v
    }

    /// `run_validators(value)`: all of them, every failure collected; a message whose code
    /// the field has in its `error_messages` is replaced by the field's.
    pub fn run_validators(&self, value: &FormValue) -> Result<(), ValidationError> {
        if value.is_empty() {
            return Ok(());
        }
        let mut errors: Vec<FormError> = Vec::new();
        for validator in self.all_validators() {
            if let Err(e) = validator.validate(value) {
                for mut err in e.into_errors() {
                    if let Some(code) = err.code.clone() {
                        if self.has_message(&code) {
                            err.message = self.message(&code);
                        }
                    }
                    errors.push(err);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationError::list(errors.into_iter().map(|e| {
                let mut v = ValidationError::new(e.message);
                if let Some(c) = e.code {
                    v = v.code(c);
                }
                for (k, p) in e.params {
                    v = v.param(k, p);
                }
                v
            })))
        }
    }

    /// `clean(value)`: to_python, validate, run_validators.
    pub fn clean(&self, value: &FormValue) -> Result<FormValue, ValidationError> {
        let v = self.to_python(value)?;
        self.validate(&v)?;
        self.run_validators(&v)?;
        Ok(v)
    }

    /// `has_changed(initial, data)`.
    pub fn has_changed(&self, initial: &FormValue, data: &FormValue) -> bool {
        if self.disabled {
            return false;
        }
        if self.kind == FieldKind::Boolean {
            return self.to_python(initial).ok() != self.to_python(data).ok();
        }
        let Ok(data) = self.to_python(data) else {
            return true;
        };
        let empty = FormValue::Str(String::new());
        let i = if *initial == FormValue::None {
            &empty
        } else {
            initial
        };
        let d = if data == FormValue::None {
            &empty
        } else {
            &data
        };
        !python_eq(i, d)
    }

    /// The initial value as the form uses it: a datetime loses its microseconds for the
    /// date/time inputs, which do not show them (Django's #22502).
    pub(crate) fn initial_for_widget(&self, value: FormValue) -> FormValue {
        let drops = matches!(
            self.widget().kind,
            WidgetKind::DateInput { .. } | WidgetKind::DateTimeInput { .. }
        );
        match value {
            FormValue::DateTime(dt) if drops => {
                FormValue::DateTime(dt.with_nanosecond(0).unwrap_or(dt))
            }
            v => v,
        }
    }
}

/// Python's `==` between two values (decimals by value).
fn python_eq(a: &FormValue, b: &FormValue) -> bool {
    match (a, b) {
        (FormValue::Decimal(x), FormValue::Decimal(y)) => x.cmp(y).is_eq(),
        (FormValue::Decimal(x), FormValue::Int(y)) | (FormValue::Int(y), FormValue::Decimal(x)) => {
            x.cmp(&Decimal::from(*y)).is_eq()
        }
        (FormValue::Bool(x), FormValue::Int(y)) | (FormValue::Int(y), FormValue::Bool(x)) => {
            i64::from(*x) == *y
        }
        _ => a == b,
    }
}

fn char_to_python(o: &CharOptions, value: &FormValue) -> FormValue {
    if value.is_empty() {
        return o.empty_value.clone();
    }
    let s = value.to_python_str();
    let s = if o.strip { py_strip(&s).to_string() } else { s };
    if s.is_empty() {
        o.empty_value.clone()
    } else {
        FormValue::Str(s)
    }
}

/// URLField.to_python: a value without a scheme (`example.com`, `//example.com`) gets one.
fn assume_scheme(value: &str, scheme: &str) -> String {
    let (head, sep) = match value.split_once(':') {
        Some((h, _)) => (h, true),
        None => (value, false),
    };
    let first = head.chars().next();
    let has_scheme = sep
        && first.is_some_and(|c| c.is_ascii() && c.is_ascii_alphabetic())
        && !head.contains('/');
    if has_scheme {
        value.to_string()
    } else if value.starts_with("//") {
        format!("{scheme}:{value}")
    } else {
        format!("{scheme}://{value}")
    }
}

/// The first code point of each run of ten Unicode decimal digits (category Nd), so that
/// `int()`'s acceptance of any script's digits is kept.
const DIGIT_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn unicode_digit(c: char) -> Option<u32> {
    let cp = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&z| (z..z + 10).contains(&cp))
        .map(|z| cp - z)
}

/// IntegerField.to_python on text: `int(re.sub(r"\.0*\s*$", "", value))`: surrounding
/// whitespace, a sign, digits of any script with single `_` between them. Beyond i64 is
/// `None` (Python's ints have no limit; ours are i64).
fn parse_python_int(value: &str) -> Option<i64> {
    let s = match value.rfind('.') {
        Some(i) if value[i + 1..].trim_start_matches('0').trim().is_empty() => &value[..i],
        _ => value,
    };
    let s = py_strip(s);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut acc: i128 = 0;
    let mut prev_digit = false;
    let mut any = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let digit_next = chars
                .get(i + 1)
                .is_some_and(|n| unicode_digit(*n).is_some());
            if !(prev_digit && digit_next) {
                return None;
            }
            prev_digit = false;
            continue;
        }
        let d = unicode_digit(c)?;
        acc = acc * 10 + i128::from(d);
        if acc > i128::from(i64::MAX) + 1 {
            return None;
        }
        prev_digit = true;
        any = true;
    }
    if !any {
        return None;
    }
    let v = if neg { -acc } else { acc };
    i64::try_from(v).ok()
}

macro_rules! common_builders {
    ($($t:ident),*) => {$(
        impl $t {
            /// `required=` (default true).
            pub fn required(mut self, yes: bool) -> Self {
                self.0.required = yes;
                self
            }
            /// `label=`.
            pub fn label(mut self, label: impl Into<String>) -> Self {
                self.0.label = Some(label.into());
                self
            }
            /// `initial=`.
            pub fn initial(mut self, value: impl Into<FormValue>) -> Self {
                self.0.initial = value.into();
                self
            }
            /// `help_text=` (HTML, shown unescaped as Django does).
            pub fn help_text(mut self, text: impl Into<String>) -> Self {
                self.0.help_text = text.into();
                self
            }
            /// `disabled=`.
            pub fn disabled(mut self, yes: bool) -> Self {
                self.0.disabled = yes;
                self
            }
            /// `label_suffix=`.
            pub fn label_suffix(mut self, suffix: impl Into<String>) -> Self {
                self.0.label_suffix = Some(suffix.into());
                self
            }
            /// Adds a validator (`validators=[…]`).
            pub fn validator(mut self, v: Validator) -> Self {
                self.0.validators.push(v);
                self
            }
            /// Adds a validator written as a closure over the cleaned value.
            pub fn validate_with(
                mut self,
                f: impl Fn(&FormValue) -> Result<(), ValidationError> + Send + Sync + 'static,
            ) -> Self {
                self.0.validators.push(Validator::custom(f));
                self
            }
            /// Replaces the message for `code` (`error_messages={code: message}`).
            pub fn error_message(mut self, code: &str, message: impl Into<String>) -> Self {
                self.0.error_messages.push((code.to_string(), message.into()));
                self
            }
            /// `widget=`.
            pub fn widget(mut self, widget: Widget) -> Self {
                self.0.widget = Some(widget);
                self
            }
            /// The field.
            pub fn build(self) -> Field {
                self.0
            }
        }
        impl From<$t> for Field {
            fn from(b: $t) -> Field {
                b.0
            }
        }
    )*};
}

/// `forms.CharField`.
#[derive(Debug, Clone)]
pub struct CharField(Field);
/// `forms.EmailField`.
#[derive(Debug, Clone)]
pub struct EmailField(Field);
/// `forms.URLField`.
#[derive(Debug, Clone)]
pub struct URLField(Field);
/// `forms.IntegerField`.
#[derive(Debug, Clone)]
pub struct IntegerField(Field);
/// `forms.DecimalField`.
#[derive(Debug, Clone)]
pub struct DecimalField(Field);
/// `forms.BooleanField`.
#[derive(Debug, Clone)]
pub struct BooleanField(Field);
/// `forms.ChoiceField`.
#[derive(Debug, Clone)]
pub struct ChoiceField(Field);
/// `forms.DateField`.
#[derive(Debug, Clone)]
pub struct DateField(Field);
/// `forms.DateTimeField`.
#[derive(Debug, Clone)]
pub struct DateTimeField(Field);

common_builders!(
    CharField,
    EmailField,
    URLField,
    IntegerField,
    DecimalField,
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField
);

macro_rules! char_builders {
    ($($t:ident),*) => {$(
        impl $t {
            /// `max_length=`.
            pub fn max_length(mut self, n: usize) -> Self {
                if let Some(o) = self.0.char_options_mut() { o.max_length = Some(n); }
                self
            }
            /// `min_length=`.
            pub fn min_length(mut self, n: usize) -> Self {
                if let Some(o) = self.0.char_options_mut() { o.min_length = Some(n); }
                self
            }
        }
    )*};
}
char_builders!(CharField, EmailField, URLField);

impl CharField {
    /// `CharField()`.
    pub fn new() -> CharField {
        CharField(Field::new(FieldKind::Char(CharOptions::default())))
    }
    /// `strip=` (default true).
    pub fn strip(mut self, yes: bool) -> CharField {
        if let Some(o) = self.0.char_options_mut() {
            o.strip = yes;
        }
        self
    }
    /// `empty_value=` (default `""`; `FormValue::None` for Django's `empty_value=None`).
    pub fn empty_value(mut self, v: impl Into<FormValue>) -> CharField {
        if let Some(o) = self.0.char_options_mut() {
            o.empty_value = v.into();
        }
        self
    }
}

impl Default for CharField {
    fn default() -> CharField {
        CharField::new()
    }
}

impl EmailField {
    /// `EmailField()`: `max_length=320`.
    pub fn new() -> EmailField {
        EmailField(Field::new(FieldKind::Email(CharOptions {
            max_length: Some(320),
            ..CharOptions::default()
        })))
    }
}

impl URLField {
    /// `URLField()`: Django 5.2's `assume_scheme="http"`.
    pub fn new() -> URLField {
        URLField(Field::new(FieldKind::Url(
            CharOptions::default(),
            "http".into(),
        )))
    }
    /// `assume_scheme=` (Django 6's default is `https`).
    pub fn assume_scheme(mut self, scheme: &str) -> URLField {
        if let FieldKind::Url(_, s) = &mut self.0.kind {
            *s = scheme.to_string();
        }
        self
    }
}

impl IntegerField {
    /// `IntegerField()`.
    pub fn new() -> IntegerField {
        IntegerField(Field::new(FieldKind::Integer {
            min_value: None,
            max_value: None,
            step_size: None,
        }))
    }
    /// `min_value=`.
    pub fn min_value(mut self, v: i64) -> IntegerField {
        if let FieldKind::Integer { min_value, .. } = &mut self.0.kind {
            *min_value = Some(v);
        }
        self
    }
    /// `max_value=`.
    pub fn max_value(mut self, v: i64) -> IntegerField {
        if let FieldKind::Integer { max_value, .. } = &mut self.0.kind {
            *max_value = Some(v);
        }
        self
    }
    /// `step_size=`.
    pub fn step_size(mut self, v: i64) -> IntegerField {
        if let FieldKind::Integer { step_size, .. } = &mut self.0.kind {
            *step_size = Some(v);
        }
        self
    }
}

impl DecimalField {
    /// `DecimalField()`.
    pub fn new() -> DecimalField {
        DecimalField(Field::new(FieldKind::Decimal {
            max_digits: None,
            decimal_places: None,
            min_value: None,
            max_value: None,
        }))
    }
    /// `max_digits=`.
    pub fn max_digits(mut self, n: u32) -> DecimalField {
        if let FieldKind::Decimal { max_digits, .. } = &mut self.0.kind {
            *max_digits = Some(n);
        }
        self
    }
    /// `decimal_places=`.
    pub fn decimal_places(mut self, n: u32) -> DecimalField {
        if let FieldKind::Decimal { decimal_places, .. } = &mut self.0.kind {
            *decimal_places = Some(n);
        }
        self
    }
    /// `min_value=`.
    pub fn min_value(mut self, v: Decimal) -> DecimalField {
        if let FieldKind::Decimal { min_value, .. } = &mut self.0.kind {
            *min_value = Some(v);
        }
        self
    }
    /// `max_value=`.
    pub fn max_value(mut self, v: Decimal) -> DecimalField {
        if let FieldKind::Decimal { max_value, .. } = &mut self.0.kind {
            *max_value = Some(v);
        }
        self
    }
}

impl BooleanField {
    /// `BooleanField()` (required by default: the box must be ticked).
    pub fn new() -> BooleanField {
        BooleanField(Field::new(FieldKind::Boolean))
    }
}

impl ChoiceField {
    /// `ChoiceField(choices=[(value, label), …])`.
    pub fn new<V: Into<String>, L: Into<String>>(
        choices: impl IntoIterator<Item = (V, L)>,
    ) -> ChoiceField {
        ChoiceField(Field::new(FieldKind::Choice(
            choices
                .into_iter()
                .map(|(v, l)| (v.into(), l.into()))
                .collect(),
        )))
    }
}

impl DateField {
    /// `DateField()` with Django's English input formats.
    pub fn new() -> DateField {
        DateField(Field::new(FieldKind::Date))
    }
}

impl DateTimeField {
    /// `DateTimeField()`: ISO 8601, then Django's English input formats.
    pub fn new() -> DateTimeField {
        DateTimeField(Field::new(FieldKind::DateTime))
    }
}

macro_rules! default_via_new {
    ($($t:ident),*) => {$(
        impl Default for $t {
            fn default() -> $t {
                $t::new()
            }
        }
    )*};
}
default_via_new!(
    EmailField,
    URLField,
    IntegerField,
    DecimalField,
    BooleanField,
    DateField,
    DateTimeField
);

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> FormValue {
        FormValue::Str(v.into())
    }

    fn msgs(f: impl Into<Field>, v: FormValue) -> Vec<String> {
        match f.into().clean(&v) {
            Ok(_) => vec![],
            Err(e) => e.messages(),
        }
    }

    #[test]
    fn char_fields_strip_and_count() {
        let f: Field = CharField::new().max_length(5).min_length(2).into();
        assert_eq!(f.clean(&s("  abc  ")).unwrap(), s("abc"));
        assert_eq!(
            msgs(CharField::new().max_length(5), s("abcdef")),
            ["Ensure this value has at most 5 characters (it has 6)."]
        );
        assert_eq!(
            msgs(CharField::new().max_length(1), s("ab")),
            ["Ensure this value has at most 1 character (it has 2)."]
        );
        assert_eq!(msgs(CharField::new(), s("  ")), ["This field is required."]);
        assert_eq!(
            msgs(CharField::new(), s("a\0b")),
            ["Null characters are not allowed."]
        );
        let f: Field = CharField::new()
            .required(false)
            .empty_value(FormValue::None)
            .into();
        assert_eq!(f.clean(&s(" ")).unwrap(), FormValue::None);
    }

    #[test]
    fn integers_read_as_python_s_int() {
        for (input, out) in [
            (" 42 ", Some(42)),
            ("+7", Some(7)),
            ("4.00 ", Some(4)),
            ("4.", Some(4)),
            ("1_000", Some(1000)),
            ("٣", Some(3)),
            ("4.5", None),
            ("1e3", None),
            ("0x10", None),
            ("--1", None),
            ("9223372036854775808", None),
        ] {
            assert_eq!(parse_python_int(input), out, "{input}");
        }
        assert_eq!(
            msgs(IntegerField::new().min_value(0), s("-1")),
            ["Ensure this value is greater than or equal to 0."]
        );
    }

    #[test]
    fn urls_get_a_scheme_and_choices_are_checked() {
        let f: Field = URLField::new().into();
        assert_eq!(f.clean(&s("example.com")).unwrap(), s("http://example.com"));
        let f: Field = URLField::new().assume_scheme("https").into();
        assert_eq!(
            f.clean(&s("//example.com")).unwrap(),
            s("https://example.com")
        );
        assert_eq!(
            msgs(ChoiceField::new([("r", "Red")]), s("<b>")),
            ["Select a valid choice. <b> is not one of the available choices."]
        );
    }

    #[test]
    fn widgets_get_the_field_s_attributes() {
        let w = DecimalField::new().decimal_places(2).build().widget();
        assert_eq!(w.attrs.get_str("step"), Some("0.01"));
        let w = CharField::new()
            .max_length(3)
            .widget(Widget::HiddenInput())
            .build()
            .widget();
        assert_eq!(w.attrs.get("maxlength"), None);
    }
}
