//! One level of a URL pattern (Django's `RoutePattern` and `RegexPattern`): compiling a
//! `path()` route or a `re_path()` regex, matching it against the rest of a path, and the
//! reverse template (Django's `regex_helper.normalize`, simplified) used by `reverse`.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::converters::{Converter, Converters, PathValue};

/// A pattern that cannot be used, found when the resolver is built (Django raises
/// `ImproperlyConfigured` for the same mistakes, at import time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImproperlyConfigured {
    /// The pattern text as written.
    pub pattern: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for ImproperlyConfigured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "URL pattern '{}': {}", self.pattern, self.problem)
    }
}

impl std::error::Error for ImproperlyConfigured {}

fn improper(pattern: &str, problem: impl Into<String>) -> ImproperlyConfigured {
    ImproperlyConfigured {
        pattern: pattern.to_owned(),
        problem: problem.into(),
    }
}

/// One piece of a reverse template.
#[derive(Debug, Clone)]
pub(crate) enum Segment {
    /// Text copied as is.
    Lit(String),
    /// A parameter; `None` converter means the value's `Display` (re_path groups).
    Param(String, Option<Arc<dyn Converter>>),
}

impl fmt::Debug for dyn Converter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Converter({})", self.regex())
    }
}

/// What one pattern level captured.
#[derive(Debug, Default)]
pub(crate) struct LevelMatch {
    /// Byte offset in the input where the rest (for includes) starts.
    pub end: usize,
    pub args: Vec<PathValue>,
    pub kwargs: Vec<(String, PathValue)>,
}

#[derive(Debug)]
enum Kind {
    /// `path()`: the regex names each converter's group after its parameter.
    Route {
        regex: Regex,
        params: Vec<(String, Arc<dyn Converter>)>,
    },
    /// `re_path()`: `regex` is used like Python's `search`, `full` like `fullmatch`.
    Regex { regex: Regex, full: Option<Regex> },
}

/// A compiled pattern level.
#[derive(Debug)]
pub(crate) struct Pattern {
    kind: Kind,
    /// The text as written (Django's `str(pattern)`), shown in `tried` and `route`.
    pub text: String,
    /// Django's `pattern.regex.pattern` without the leading `^`, for NoReverseMatch messages.
    pub regex_display: String,
    /// The regex with anchors and group names removed, for the prefilter `RegexSet`; `None`
    /// when it cannot be safely concatenated (the leaf is then always a candidate).
    pub set_regex: Option<String>,
    /// The reverse template; `None` when the regex is too complex to reverse.
    pub template: Option<Vec<Segment>>,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

impl Pattern {
    /// Django's `RoutePattern` / `_route_to_regex`: `<conv:name>` segments, the rest literal;
    /// anchored at the start, and at the end too when `is_endpoint`.
    pub fn route(
        route: &str,
        is_endpoint: bool,
        converters: &Converters,
    ) -> Result<Pattern, ImproperlyConfigured> {
        let mut regex_src = String::from("^");
        let mut display = String::new();
        let mut set_src = String::new();
        let mut params: Vec<(String, Arc<dyn Converter>)> = Vec::new();
        let mut template = Vec::new();
        let mut rest = route;
        while !rest.is_empty() {
            let Some(open) = rest.find('<') else {
                if rest.contains('>') {
                    return Err(improper(route, "has a '>' without a matching '<'"));
                }
                push_literal(
                    rest,
                    &mut regex_src,
                    &mut display,
                    &mut set_src,
                    &mut template,
                );
                break;
            };
            let literal = &rest[..open];
            if literal.contains('>') {
                return Err(improper(route, "has a '>' without a matching '<'"));
            }
            push_literal(
                literal,
                &mut regex_src,
                &mut display,
                &mut set_src,
                &mut template,
            );
            let after = &rest[open + 1..];
            let Some(close) = after.find('>') else {
                return Err(improper(route, "has a '<' without a matching '>'"));
            };
            let inner = &after[..close];
            if inner.contains('<') {
                return Err(improper(route, "has a '<' without a matching '>'"));
            }
            if inner.chars().any(char::is_whitespace) {
                return Err(improper(
                    route,
                    "cannot contain whitespace in angle brackets <…>",
                ));
            }
            let (conv_name, param) = match inner.split_once(':') {
                Some((c, p)) => (c, p),
                None => ("str", inner),
            };
            if !is_identifier(param) {
                return Err(improper(
                    route,
                    format!("uses parameter name '{param}' which isn't a valid identifier"),
                ));
            }
            let Some(conv) = converters.get(conv_name) else {
                return Err(improper(
                    route,
                    format!("uses invalid converter '{conv_name}'"),
                ));
            };
            if params.iter().any(|(p, _)| p == param) {
                return Err(improper(
                    route,
                    format!("uses parameter name '{param}' more than once"),
                ));
            }
            regex_src.push_str(&format!("(?P<{param}>{})", conv.regex()));
            display.push_str(&format!("(?P<{param}>{})", conv.regex()));
            match strip_group_names(conv.regex()) {
                Some(r) => set_src.push_str(&format!("(?:{r})")),
                None => set_src.push_str("(?s:.*?)"),
            }
            template.push(Segment::Param(param.to_owned(), Some(conv.clone())));
            params.push((param.to_owned(), conv));
            rest = &after[close + 1..];
        }
        if is_endpoint {
            regex_src.push('$');
            display.push_str("\\Z");
            set_src.push('$');
        }
        let regex = Regex::new(&regex_src)
            .map_err(|e| improper(route, format!("does not compile: {e}")))?;
        Ok(Pattern {
            kind: Kind::Route { regex, params },
            text: route.to_owned(),
            regex_display: display,
            set_regex: Some(set_src),
            template: Some(template),
        })
    }

    /// Django's `RegexPattern`: a Python-style regex with `(?P<name>…)` groups; a leaf ending
    /// in `$` must match the whole rest (`fullmatch`), anything else is a `search`.
    pub fn regex(regex: &str, is_endpoint: bool) -> Result<Pattern, ImproperlyConfigured> {
        let compiled =
            Regex::new(regex).map_err(|e| improper(regex, format!("is not a valid regex: {e}")))?;
        let ends_with_dollar = ends_with_unescaped_dollar(regex);
        let full = if is_endpoint && ends_with_dollar {
            Some(
                Regex::new(&format!("^(?:{regex})$"))
                    .map_err(|e| improper(regex, format!("is not a valid regex: {e}")))?,
            )
        } else {
            None
        };
        let set_regex = regex_set_form(regex, is_endpoint, ends_with_dollar);
        Ok(Pattern {
            kind: Kind::Regex {
                regex: compiled,
                full,
            },
            text: regex.to_owned(),
            regex_display: regex.strip_prefix('^').unwrap_or(regex).to_owned(),
            set_regex,
            template: normalize(regex),
        })
    }

    /// Django's `pattern.match(path)`: `None` when the text or a converter refuses.
    /// For a `path()` route without converters, the exact text it matches (the whole rest of
    /// the path for a view, its start for an include); `None` for anything else.
    pub fn literal(&self) -> Option<&str> {
        match &self.kind {
            Kind::Route { params, .. } if params.is_empty() => Some(&self.text),
            _ => None,
        }
    }

    pub fn matches(&self, path: &str) -> Option<LevelMatch> {
        match &self.kind {
            Kind::Route { regex, params } => {
                let caps = regex.captures(path)?;
                let mut kwargs = Vec::with_capacity(params.len());
                for (name, conv) in params {
                    let text = caps.name(name)?.as_str();
                    kwargs.push((name.clone(), conv.to_python(text).ok()?));
                }
                Some(LevelMatch {
                    end: caps.get(0)?.end(),
                    args: Vec::new(),
                    kwargs,
                })
            }
            Kind::Regex { regex, full } => {
                let re = full.as_ref().unwrap_or(regex);
                let caps = re.captures(path)?;
                let has_named = re.capture_names().flatten().next().is_some();
                let mut m = LevelMatch {
                    end: caps.get(0)?.end(),
                    ..LevelMatch::default()
                };
                if has_named {
                    // Django: with any named group, unnamed groups are ignored; unmatched
                    // named groups are dropped.
                    for name in re.capture_names().flatten() {
                        if let Some(g) = caps.name(name) {
                            m.kwargs
                                .push((name.to_owned(), PathValue::Str(g.as_str().into())));
                        }
                    }
                } else {
                    // Python passes None for a group that did not take part; PathValue has
                    // no None, so such a group is left out.
                    for g in caps.iter().skip(1).flatten() {
                        m.args.push(PathValue::Str(g.as_str().into()));
                    }
                }
                Some(m)
            }
        }
    }
}

fn push_literal(
    lit: &str,
    regex_src: &mut String,
    display: &mut String,
    set_src: &mut String,
    template: &mut Vec<Segment>,
) {
    if lit.is_empty() {
        return;
    }
    let esc = regex::escape(lit);
    regex_src.push_str(&esc);
    display.push_str(&esc);
    set_src.push_str(&esc);
    template.push(Segment::Lit(lit.to_owned()));
}

fn ends_with_unescaped_dollar(re: &str) -> bool {
    let Some(body) = re.strip_suffix('$') else {
        return false;
    };
    body.chars().rev().take_while(|&c| c == '\\').count() % 2 == 0
}

/// Removes group names (`(?P<x>` / `(?<x>` become `(?:`), so that regexes of several levels
/// can be concatenated without duplicate names. `None` when the regex holds anchors or flags
/// that would change meaning once concatenated.
fn strip_group_names(re: &str) -> Option<String> {
    let chars: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len());
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let n = *chars.get(i + 1)?;
            if !in_class && matches!(n, 'A' | 'z' | 'Z') {
                return None;
            }
            out.push(c);
            out.push(n);
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push(c);
                // A ']' right after '[' or '[^' is literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push(']');
                    i += 1;
                }
                i += 1;
            }
            '^' | '$' => return None,
            '(' if chars.get(i + 1) == Some(&'?') => {
                let rest: String = chars[i + 2..].iter().take(2).collect();
                let name_start = if rest.starts_with("P<") {
                    Some(i + 4)
                } else if rest.starts_with('<')
                    && !rest.starts_with("<=")
                    && !rest.starts_with("<!")
                {
                    Some(i + 3)
                } else if rest.starts_with(':') {
                    None
                } else {
                    // Inline flags such as (?m) or (?i) change how the rest reads.
                    return None;
                };
                match name_start {
                    Some(start) => {
                        let len = chars[start..].iter().position(|&c| c == '>')?;
                        out.push_str("(?:");
                        i = start + len + 1;
                    }
                    None => {
                        out.push_str("(?:");
                        i += 3;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// A regex for the prefilter that matches at least every string this level would accept as
/// part of a flattened path: a missing `^` means Python's `search`, so anything may come first.
fn regex_set_form(re: &str, is_endpoint: bool, ends_with_dollar: bool) -> Option<String> {
    let (anchored, body) = match re.strip_prefix('^') {
        Some(b) => (true, b),
        None => (false, re),
    };
    let body = if ends_with_dollar {
        if !is_endpoint {
            return None;
        }
        &body[..body.len() - 1]
    } else {
        body
    };
    let stripped = strip_group_names(body)?;
    let mut out = String::new();
    if !anchored {
        out.push_str("(?s:.*?)");
    }
    out.push_str(&format!("(?:{stripped})"));
    if is_endpoint {
        if !ends_with_dollar {
            out.push_str("(?s:.*)");
        }
        out.push('$');
    }
    Some(out)
}

/// The text up to the `)` closing the group whose body starts at `start`.
fn group_end(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 1;
    let mut i = start;
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A simplified Django `normalize()`: literals, escaped characters, named groups (kwargs),
/// unnamed groups (positional `_0`, `_1`, …), `(?:…)` groups, and `?`/`*` (zero times) and
/// `+` (once) quantifiers. Anything else (classes, `.`, `|`, counted repeats outside a group)
/// makes the pattern non-reversible, which `reverse` reports as a tried pattern.
fn normalize(re: &str) -> Option<Vec<Segment>> {
    let body = re.strip_prefix('^').unwrap_or(re);
    let body = if ends_with_unescaped_dollar(body) {
        &body[..body.len() - 1]
    } else {
        body
    };
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut positional = 0;
    normalize_into(&chars, &mut out, &mut positional)?;
    Some(out)
}

fn normalize_into(chars: &[char], out: &mut Vec<Segment>, positional: &mut usize) -> Option<()> {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let n = *chars.get(i + 1)?;
                if n.is_ascii_alphanumeric() {
                    return None;
                }
                push_lit(out, n);
                i += 2;
            }
            '(' => {
                let (param, body_start) = if chars.get(i + 1) == Some(&'?') {
                    let next = chars.get(i + 2)?;
                    let name_at = match (next, chars.get(i + 3)) {
                        ('P', Some('<')) => Some(i + 4),
                        ('<', Some(c)) if *c != '=' && *c != '!' => Some(i + 3),
                        (':', _) => None,
                        _ => return None,
                    };
                    match name_at {
                        Some(s) => {
                            let len = chars[s..].iter().position(|&c| c == '>')?;
                            let name: String = chars[s..s + len].iter().collect();
                            (Some(name), s + len + 1)
                        }
                        None => (None, i + 3),
                    }
                } else {
                    let name = format!("_{positional}");
                    *positional += 1;
                    (Some(name), i + 1)
                };
                let end = group_end(chars, body_start)?;
                let quant = chars.get(end + 1).copied();
                let optional = matches!(quant, Some('?') | Some('*'));
                let skip_quant = matches!(quant, Some('?') | Some('*') | Some('+'));
                match param {
                    Some(name) => {
                        if optional {
                            return None;
                        }
                        out.push(Segment::Param(name, None));
                    }
                    None => {
                        if !optional {
                            normalize_into(&chars[body_start..end], out, positional)?;
                        }
                    }
                }
                i = end + 1 + usize::from(skip_quant);
            }
            '?' | '*' => {
                // The previous literal character occurs zero times.
                match out.last_mut() {
                    Some(Segment::Lit(s)) if !s.is_empty() => {
                        s.pop();
                    }
                    _ => return None,
                }
                i += 1;
            }
            '+' => i += 1,
            '[' | ']' | '.' | '|' | '{' | '}' | '^' | '$' | ')' => return None,
            _ => {
                push_lit(out, c);
                i += 1;
            }
        }
    }
    Some(())
}

fn push_lit(out: &mut Vec<Segment>, c: char) {
    if let Some(Segment::Lit(s)) = out.last_mut() {
        s.push(c);
    } else {
        out.push(Segment::Lit(c.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Converters {
        Converters::new()
    }

    #[test]
    fn route_leaf_is_anchored_both_ends() {
        let p = Pattern::route("articles/<int:id>/", true, &conv()).map_err(|e| e.to_string());
        let p = p.as_ref().map_err(String::clone);
        assert!(p.is_ok());
        let Ok(p) = p else { return };
        let m = p.matches("articles/5/");
        assert!(m.is_some());
        assert_eq!(
            m.map(|m| m.kwargs),
            Some(vec![("id".to_string(), PathValue::Int(5))])
        );
        assert!(p.matches("articles/5/x").is_none());
        assert!(p.matches("xarticles/5/").is_none());
        assert!(p.matches("articles/-1/").is_none());
        assert_eq!(p.regex_display, "articles/(?P<id>[0-9]+)/\\Z");
    }

    #[test]
    fn route_include_is_anchored_at_start_only() {
        let Ok(p) = Pattern::route("api/", false, &conv()) else {
            panic!("route should compile")
        };
        assert_eq!(p.matches("api/articles/").map(|m| m.end), Some(4));
        assert!(p.matches("v1/api/").is_none());
    }

    #[test]
    fn bad_routes_are_improperly_configured() {
        for (route, needle) in [
            ("a/<foo:x>/", "invalid converter 'foo'"),
            ("a/<int:x/", "without a matching '>'"),
            ("a/<int:x>/<str:x>/", "more than once"),
            ("a/<int: x>/", "whitespace"),
            ("a/<int:1x>/", "valid identifier"),
            ("a/x>/", "without a matching '<'"),
        ] {
            match Pattern::route(route, true, &conv()) {
                Ok(_) => panic!("{route} should fail"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle) && msg.contains(route), "{msg}");
                }
            }
        }
        assert!(Pattern::regex("^a/(?P<x>[0-9+/$", true).is_err());
    }

    #[test]
    fn regex_named_groups_are_kwargs_and_unnamed_are_args() {
        let Ok(p) = Pattern::regex(r"^a/(?P<year>[0-9]{4})/([a-z]+)/$", true) else {
            panic!("compiles")
        };
        let m = p.matches("a/2024/x/").map(|m| (m.args, m.kwargs));
        assert_eq!(
            m,
            Some((vec![], vec![("year".into(), PathValue::from("2024"))]))
        );
        let Ok(p) = Pattern::regex(r"^b/([0-9]+)/([a-z]+)/$", true) else {
            panic!("compiles")
        };
        let m = p.matches("b/1/x/").map(|m| m.args);
        assert_eq!(m, Some(vec![PathValue::from("1"), PathValue::from("x")]));
    }

    #[test]
    fn regex_without_anchors_searches_like_python() {
        let Ok(p) = Pattern::regex("foo", true) else {
            panic!("compiles")
        };
        assert!(p.matches("xfoox").is_some());
        let Ok(p) = Pattern::regex("foo$", true) else {
            panic!("compiles")
        };
        // A leaf ending in `$` is a fullmatch in Django 5.
        assert!(p.matches("xfoo").is_none());
        assert!(p.matches("foo").is_some());
    }

    #[test]
    fn set_forms() {
        assert_eq!(
            strip_group_names("(?P<a>[0-9]+)/(?<b>x)").as_deref(),
            Some("(?:[0-9]+)/(?:x)")
        );
        assert_eq!(strip_group_names("[$^]x").as_deref(), Some("[$^]x"));
        assert!(strip_group_names("(?m)x").is_none());
        assert!(strip_group_names("a$b").is_none());
    }

    #[test]
    fn normalize_simple_regexes() {
        let t = normalize(r"^a\.b/(?P<id>[0-9]+)/(?:x/)?c+/$");
        let Some(t) = t else { panic!("reversible") };
        let shown: Vec<String> = t
            .iter()
            .map(|s| match s {
                Segment::Lit(l) => l.clone(),
                Segment::Param(n, _) => format!("<{n}>"),
            })
            .collect();
        assert_eq!(shown.concat(), "a.b/<id>/c/");
        assert!(normalize("^a|b$").is_none());
        assert!(normalize(r"^\d+$").is_none());
    }
}
