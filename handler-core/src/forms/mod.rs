//! Forms (django.forms): fields declared once, bound to `request.POST` or any map, cleaned
//! with Django 5.2's rules and messages, and rendered with Django 5.2's HTML.
//!
//! A form is declared with [`form!`](crate::form): each field once, then optional
//! `clean_<field>` and `clean` hooks.
//!
//! ```
//! use handler_core::forms::*;
//!
//! handler_core::form! {
//!     pub struct EntryForm {
//!         name: CharField::new().max_length(100),
//!         message: CharField::new().max_length(500).widget(Widget::Textarea()),
//!         age: IntegerField::new().required(false).min_value(0),
//!     }
//!     fn clean_name(form, value) {
//!         if value == FormValue::from("admin") {
//!             return Err(ValidationError::with_code("That name is reserved.", "reserved"));
//!         }
//!         Ok(value)
//!     }
//! }
//!
//! let form = EntryForm::bind(&[("name", " Ada "), ("message", ""), ("age", "x")]);
//! assert!(!form.is_valid());
//! assert_eq!(form.cleaned::<String>("name").as_deref(), Some("Ada"));
//! assert_eq!(form.errors().get("message").unwrap().messages(), ["This field is required."]);
//! assert_eq!(form.errors().get("age").unwrap().messages(), ["Enter a whole number."]);
//! // The widget shows what was submitted, as Django's does.
//! assert_eq!(
//!     form.bf("name").as_widget(),
//!     r#"<input type="text" name="name" value=" Ada " maxlength="100" required id="id_name">"#
//! );
//! ```
//!
//! In a template (`render(request, "page.html", Page { form })` with a
//! `#[derive(Serialize)] struct Page { form: EntryForm }`, or minijinja's `context!`) the form
//! is a live object: `{{ form }}` / `{{ form.as_div() }}`, `{{ form.as_p() }}`,
//! `{{ form.name }}` (the widget), `{{ form.name.errors }}`, `{{ form.name.label_tag() }}`,
//! `{{ form.non_field_errors() }}`, `{% for field in form %}`, beside `{{ csrf_input }}`.
//! `serde_json::json!` would flatten it to data, so use one of the two above.
//!
//! The same form built at run time (the seam a ModelForm fills from a model's fields):
//! `Form::new("EntryForm").field("name", CharField::new().max_length(100))…`.
//!
//! Modules: [`fields`] (the fields), [`validators`] (EmailValidator, URLValidator, …),
//! [`widgets`], [`form`] (Form, cleaning, as_div / as_p / as_table / as_ul), [`boundfield`],
//! [`error`] (ValidationError, ErrorList, ErrorDict), [`value`] (the cleaned values and
//! Python's Decimal), [`dates`] (input formats), [`jinja`] (template values).
//!
//! Differences from Django, on purpose: integers are i64 (a larger one is "Enter a whole
//! number."); there is no `USE_TZ`, so a DateTimeField's value is naive unless the input gave
//! an offset; the input formats are Django's English ones; URLField's `assume_scheme` is
//! Django 5.2's `http`.

pub mod boundfield;
pub mod dates;
pub mod error;
pub mod fields;
pub mod form;
pub mod jinja;
pub mod utils;
pub mod validators;
pub mod value;
pub mod widgets;

pub use boundfield::BoundField;
pub use error::{ErrorDict, ErrorList, FormError, ValidationError, NON_FIELD_ERRORS};
pub use fields::{
    BooleanField, CharField, ChoiceField, DateField, DateTimeField, DecimalField, EmailField,
    Field, FieldKind, IntegerField, URLField,
};
pub use form::{CleanedData, Cleaning, FieldHook, Form, FormData, FormHook, UnknownField};
pub use jinja::{form_value, is_html_safe};
pub use validators::Validator;
pub use value::{Decimal, FormValue, FromFormValue};
pub use widgets::{AttrValue, Attrs, Widget, WidgetKind};

/// Whether a `form!` hook's name is `clean` or `clean_<field>` (checked at compile time).
#[doc(hidden)]
pub const fn is_clean_field_hook(name: &str) -> bool {
    let b = name.as_bytes();
    let p = b"clean_";
    if b.len() <= p.len() {
        return false;
    }
    let mut i = 0;
    while i < p.len() {
        if b[i] != p[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Declares a form: a struct wrapping a [`Form`](crate::forms::Form) with its fields, in order, and
/// its hooks. `fn clean_<field>(form, value) { … }` is Django's `clean_<field>` (it gets the
/// [`Cleaning`](crate::forms::Cleaning) state and the field's cleaned value, and returns the value
/// to keep); `fn clean(form) { … }` is the form's `clean`. The struct has `new()` (unbound),
/// `bind(&data)`, `form()` (the unbound [`Form`](crate::forms::Form)), and derefs to the form.
#[macro_export]
macro_rules! form {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $field:ident : $fexpr:expr ),* $(,)?
        }
        $( $hooks:tt )*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name(pub $crate::forms::Form);

        #[allow(dead_code)]
        impl $name {
            /// The form's fields and hooks, unbound.
            $vis fn form() -> $crate::forms::Form {
                let form = $crate::forms::Form::new(stringify!($name))
                    $( .field(stringify!($field), $fexpr) )*;
                $crate::form!(@hooks form; $($hooks)*)
            }

            /// An unbound form (`Form()`).
            $vis fn new() -> Self {
                $name(Self::form())
            }

            /// A form bound to `data` (`Form(request.POST)`).
            $vis fn bind<D: $crate::forms::FormData + ?Sized>(data: &D) -> Self {
                $name(Self::form().bind(data))
            }

            /// The inner form.
            $vis fn into_inner(self) -> $crate::forms::Form {
                self.0
            }

            /// `form["name"]`: the bound field (panics on an unknown name, as Django's
            /// KeyError: a programming error).
            $vis fn bf(&self, name: &str) -> $crate::forms::BoundField<'_> {
                match self.0.bound_field(name) {
                    Some(b) => b,
                    None => panic!("Key '{}' not found in '{}'", name, stringify!($name)),
                }
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = $crate::forms::Form;
            fn deref(&self) -> &$crate::forms::Form {
                &self.0
            }
        }

        impl ::std::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $crate::forms::Form {
                &mut self.0
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }
    };
    (@hooks $form:ident; ) => { $form };
    (@hooks $form:ident; fn clean($c:ident) $body:block $($rest:tt)*) => {{
        let $form = $form.clean(
            move |$c: &mut $crate::forms::Cleaning<'_>|
                -> ::std::result::Result<(), $crate::forms::ValidationError> { $body }
        );
        $crate::form!(@hooks $form; $($rest)*)
    }};
    (@hooks $form:ident; fn $hook:ident($c:ident, $v:ident) $body:block $($rest:tt)*) => {{
        const _: () = assert!(
            $crate::forms::is_clean_field_hook(stringify!($hook)),
            "a form! hook is `fn clean(form)` or `fn clean_<field>(form, value)`"
        );
        let $form = $form.clean_field(
            &stringify!($hook)["clean_".len()..],
            move |$c: &mut $crate::forms::Cleaning<'_>, $v: $crate::forms::FormValue|
                -> ::std::result::Result<$crate::forms::FormValue, $crate::forms::ValidationError> {
                $body
            },
        );
        $crate::form!(@hooks $form; $($rest)*)
    }};
}
