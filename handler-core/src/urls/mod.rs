//! URL dispatch (Django's `django.urls`): path, re_path, include, resolve, reverse.
//!
//! `converters` holds the path converters and their registry, `pattern` one compiled pattern
//! level, `resolver` the URL conf tree, resolution and reversing.

pub mod converters;
mod pattern;
pub mod resolver;

pub use converters::{
    ConversionError, Converter, Converters, IntConverter, PathConverter, PathValue, SlugConverter,
    StringConverter, UuidConverter,
};
pub use pattern::ImproperlyConfigured;
pub use resolver::{
    include, include_re, path, re_path, Kwargs, NoReverseMatch, Resolver404, ResolverMatch,
    UrlEntry, UrlResolver,
};
