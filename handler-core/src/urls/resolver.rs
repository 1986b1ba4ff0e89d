//! The URL conf and its resolver (Django's `URLPattern`, `URLResolver`, `ResolverMatch`,
//! `Resolver404`, `reverse`, `NoReverseMatch`): building and validating the tree once,
//! resolving a path in declaration order behind a `RegexSet` prefilter, and reversing names.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use regex::RegexSet;

use super::converters::{Converters, PathValue};
use super::pattern::{ImproperlyConfigured, Pattern, Segment};
use crate::python::str_repr;

#[derive(Debug, Clone)]
enum Source {
    Route(String),
    Regex(String),
}

impl Source {
    fn text(&self) -> &str {
        match self {
            Source::Route(s) | Source::Regex(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
enum EntryKind<V> {
    Leaf(V),
    Include(Vec<UrlEntry<V>>),
}

/// One line of a URL conf: a view (`path`, `re_path`) or a nested list (`include`).
#[derive(Debug, Clone)]
pub struct UrlEntry<V> {
    source: Source,
    kind: EntryKind<V>,
    name: Option<String>,
    namespace: Option<String>,
}

impl<V> UrlEntry<V> {
    /// The route name used by `reverse` (Django's `name=`); only for views.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The instance namespace of an `include` (Django's `include(..., namespace=)`).
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_owned());
        self
    }
}

/// Django's `path(route, view)`: `<converter:name>` segments, the rest literal, matched against
/// the whole remaining path.
pub fn path<V>(route: &str, view: V) -> UrlEntry<V> {
    UrlEntry {
        source: Source::Route(route.to_owned()),
        kind: EntryKind::Leaf(view),
        name: None,
        namespace: None,
    }
}

/// Django's `re_path(regex, view)`: named groups become kwargs (strings), unnamed groups
/// positional args, and with any named group the unnamed ones are ignored.
pub fn re_path<V>(regex: &str, view: V) -> UrlEntry<V> {
    UrlEntry {
        source: Source::Regex(regex.to_owned()),
        kind: EntryKind::Leaf(view),
        name: None,
        namespace: None,
    }
}

/// Django's `path(prefix, include(patterns))`: the prefix route is matched at the start only and
/// the rest of the path goes to `patterns`.
pub fn include<V>(prefix: &str, patterns: Vec<UrlEntry<V>>) -> UrlEntry<V> {
    UrlEntry {
        source: Source::Route(prefix.to_owned()),
        kind: EntryKind::Include(patterns),
        name: None,
        namespace: None,
    }
}

/// Django's `re_path(regex, include(patterns))`.
pub fn include_re<V>(regex: &str, patterns: Vec<UrlEntry<V>>) -> UrlEntry<V> {
    UrlEntry {
        source: Source::Regex(regex.to_owned()),
        kind: EntryKind::Include(patterns),
        name: None,
        namespace: None,
    }
}

/// The keyword arguments a view receives, in capture order (a later level overrides an
/// earlier one of the same name, as Django's dict update does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kwargs(Vec<(String, PathValue)>);

impl Kwargs {
    /// The value captured under `name`.
    pub fn get(&self, name: &str) -> Option<&PathValue> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The integer captured under `name` (an `int` converter's value).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(PathValue::as_int)
    }

    /// The string captured under `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(PathValue::as_str)
    }

    /// All pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PathValue)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nothing was captured by name.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn set(&mut self, name: String, value: PathValue) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

/// A successful resolution (Django's `ResolverMatch`).
#[derive(Debug, Clone)]
pub struct ResolverMatch<V> {
    /// The view.
    pub func: V,
    /// Positional arguments (only when no level captured a named value).
    pub args: Vec<PathValue>,
    /// Named arguments.
    pub kwargs: Kwargs,
    /// The route name, if the pattern has one.
    pub url_name: Option<Arc<str>>,
    /// The namespaces of the includes on the way, outermost first.
    pub namespaces: Arc<[String]>,
    /// The pattern texts joined, like Django's `ResolverMatch.route` (a nested pattern's
    /// leading `^` is dropped).
    pub route: Arc<str>,
}

impl<V> ResolverMatch<V> {
    /// Django's `view_name`: `"ns:inner:name"`; without a route name, the namespaces alone.
    pub fn view_name(&self) -> String {
        let mut parts: Vec<&str> = self.namespaces.iter().map(String::as_str).collect();
        if let Some(n) = &self.url_name {
            parts.push(n);
        }
        parts.join(":")
    }
}

/// No pattern matched (Django's `Resolver404`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver404 {
    /// The path as given to `resolve`.
    pub path: String,
    /// Each pattern tried, as Django's technical 404 lists them: the pattern texts of the
    /// levels separated by a space, then ` [name='x']` for a named view.
    pub tried: Vec<String>,
}

impl fmt::Display for Resolver404 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no URL pattern matches '{}' ({} tried)",
            self.path,
            self.tried.len()
        )
    }
}

impl std::error::Error for Resolver404 {}

/// `reverse` found no URL (Django's `NoReverseMatch`); `Display` gives Django's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoReverseMatch {
    message: String,
}

impl NoReverseMatch {
    /// Django's message text.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for NoReverseMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NoReverseMatch {}

/// A view's place in the URL conf. What a match hands out is shared (`Arc`), so resolving
/// allocates nothing for it.
#[derive(Debug)]
struct Leaf<V> {
    /// Pattern indexes from the outermost include down to this view's own pattern.
    chain: Vec<usize>,
    view: V,
    name: Option<Arc<str>>,
    namespaces: Arc<[String]>,
    route: Arc<str>,
}

#[derive(Debug)]
enum Node {
    Leaf(usize),
    Include { pattern: usize, children: Vec<Node> },
}

/// Django's `URLResolver` for the root URL conf.
///
/// Resolution is Django's depth-first, first-match-wins walk, made fast by flattening: each
/// view's pattern levels are concatenated into one regex (names removed, anchors adapted) in a
/// `RegexSet`, which yields in one pass every view that could match; the candidates are then
/// checked level by level with Django's exact semantics (including converters' `to_python`)
/// in declaration order, and the first that passes wins. Since the set's regexes accept a
/// superset of what the levels accept, the winner is exactly Django's.
#[derive(Debug)]
pub struct UrlResolver<V> {
    patterns: Vec<Pattern>,
    leaves: Vec<Leaf<V>>,
    tree: Vec<Node>,
    prefilter: Option<RegexSet>,
    /// Leaf indexes (into `leaves`) for each `prefilter` pattern.
    prefiltered: Vec<usize>,
    /// Leaves whose regex cannot be flattened: always checked.
    always: Vec<usize>,
    /// Paths made only of literal `path()` routes, each with the view Django's walk picks for
    /// exactly that path (computed at build time, by the walk itself): such a request is
    /// resolved by one lookup, in Django's order, with no regex run.
    literal: HashMap<Box<str>, usize>,
    namespaces: HashSet<Vec<String>>,
}

/// Characters `reverse` leaves as they are: Python's `quote` safe set (alphanumerics and
/// `_.-~`) plus Django's `RFC3986_SUBDELIMS + "/~:@"`.
const REVERSE_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'/')
    .remove(b':')
    .remove(b'@');

struct Builder<'a, V> {
    converters: &'a Converters,
    patterns: Vec<Pattern>,
    leaves: Vec<Leaf<V>>,
    namespaces: HashSet<Vec<String>>,
}

impl<V> Builder<'_, V> {
    fn add(
        &mut self,
        entries: Vec<UrlEntry<V>>,
        chain: &[usize],
        namespaces: &[String],
        route: &str,
    ) -> Result<Vec<Node>, ImproperlyConfigured> {
        let mut nodes = Vec::with_capacity(entries.len());
        for entry in entries {
            let is_endpoint = matches!(entry.kind, EntryKind::Leaf(_));
            let text = entry.source.text().to_owned();
            let pattern = match &entry.source {
                Source::Route(r) => Pattern::route(r, is_endpoint, self.converters)?,
                Source::Regex(r) => Pattern::regex(r, is_endpoint)?,
            };
            let index = self.patterns.len();
            self.patterns.push(pattern);
            let mut sub_chain = chain.to_vec();
            sub_chain.push(index);
            // Django's `_join_route`: a nested pattern's leading `^` is dropped.
            let sub_route = if route.is_empty() {
                text.clone()
            } else {
                format!("{route}{}", text.strip_prefix('^').unwrap_or(&text))
            };
            match entry.kind {
                EntryKind::Leaf(view) => {
                    if entry.namespace.is_some() {
                        return Err(ImproperlyConfigured {
                            pattern: text,
                            problem: "a namespace belongs on include(), not on a view".into(),
                        });
                    }
                    nodes.push(Node::Leaf(self.leaves.len()));
                    self.leaves.push(Leaf {
                        chain: sub_chain,
                        view,
                        name: entry.name.map(Arc::from),
                        namespaces: Arc::from(namespaces),
                        route: Arc::from(sub_route),
                    });
                }
                EntryKind::Include(children) => {
                    if entry.name.is_some() {
                        return Err(ImproperlyConfigured {
                            pattern: text,
                            problem: "a name belongs on a view, not on include()".into(),
                        });
                    }
                    let mut sub_ns = namespaces.to_vec();
                    if let Some(ns) = entry.namespace {
                        if ns.is_empty() || ns.contains(':') {
                            return Err(ImproperlyConfigured {
                                pattern: text,
                                problem: format!("namespace '{ns}' must be non-empty without ':'"),
                            });
                        }
                        sub_ns.push(ns);
                        self.namespaces.insert(sub_ns.clone());
                    }
                    let children = self.add(children, &sub_chain, &sub_ns, &sub_route)?;
                    nodes.push(Node::Include {
                        pattern: index,
                        children,
                    });
                }
            }
        }
        Ok(nodes)
    }
}

impl<V: Clone> UrlResolver<V> {
    /// Builds the resolver with the built-in converters, validating every pattern now.
    pub fn new(patterns: Vec<UrlEntry<V>>) -> Result<Self, ImproperlyConfigured> {
        Self::with_converters(patterns, &Converters::new())
    }

    /// Builds the resolver with a converter registry that may hold user converters.
    pub fn with_converters(
        patterns: Vec<UrlEntry<V>>,
        converters: &Converters,
    ) -> Result<Self, ImproperlyConfigured> {
        let mut b = Builder {
            converters,
            patterns: Vec::new(),
            leaves: Vec::new(),
            namespaces: HashSet::new(),
        };
        let tree = b.add(patterns, &[], &[], "")?;
        let mut set_sources = Vec::new();
        let mut prefiltered = Vec::new();
        let mut always = Vec::new();
        for (i, leaf) in b.leaves.iter().enumerate() {
            let mut src = String::from("^");
            let mut ok = true;
            for &p in &leaf.chain {
                match &b.patterns[p].set_regex {
                    Some(r) => src.push_str(r),
                    None => ok = false,
                }
            }
            if ok {
                set_sources.push(src);
                prefiltered.push(i);
            } else {
                always.push(i);
            }
        }
        let prefilter = match RegexSet::new(&set_sources) {
            Ok(set) => Some(set),
            Err(e) => {
                // A set too large for the regex engine's limits still resolves correctly,
                // only without the prefilter.
                log::warn!("URL prefilter disabled: {e}");
                always = (0..b.leaves.len()).collect();
                prefiltered.clear();
                None
            }
        };
        let mut resolver = UrlResolver {
            patterns: b.patterns,
            leaves: b.leaves,
            tree,
            prefilter,
            prefiltered,
            always,
            literal: HashMap::new(),
            namespaces: b.namespaces,
        };
        resolver.literal = resolver.literal_paths();
        Ok(resolver)
    }

    /// The literal-path table: for each view whose every level is a `path()` route without
    /// converters, the exact path it matches, kept when the full walk picks that view for it
    /// (an earlier pattern that also matches the path wins instead, and the path is left to
    /// the walk).
    fn literal_paths(&self) -> HashMap<Box<str>, usize> {
        let mut table = HashMap::new();
        for (idx, leaf) in self.leaves.iter().enumerate() {
            let mut path = String::new();
            let literal = leaf
                .chain
                .iter()
                .all(|&p| match self.patterns[p].literal() {
                    Some(text) => {
                        path.push_str(text);
                        true
                    }
                    None => false,
                });
            if !literal || table.contains_key(path.as_str()) {
                continue;
            }
            if self.walk(&path).map(|(winner, _, _)| winner) == Some(idx) {
                table.insert(path.into_boxed_str(), idx);
            }
        }
        table
    }

    /// Django's walk: the first view, in declaration order, whose levels all match `rest`.
    fn walk(&self, rest: &str) -> Option<(usize, Vec<PathValue>, Kwargs)> {
        let mut candidates: Vec<usize> = match &self.prefilter {
            Some(set) => set
                .matches(rest)
                .into_iter()
                .map(|i| self.prefiltered[i])
                .collect(),
            None => Vec::new(),
        };
        if !self.always.is_empty() {
            candidates.extend_from_slice(&self.always);
            candidates.sort_unstable();
        }
        candidates
            .into_iter()
            .find_map(|idx| self.match_leaf(idx, rest).map(|(a, k)| (idx, a, k)))
    }

    fn resolver_match(&self, idx: usize, args: Vec<PathValue>, kwargs: Kwargs) -> ResolverMatch<V> {
        let leaf = &self.leaves[idx];
        ResolverMatch {
            func: leaf.view.clone(),
            args,
            kwargs,
            url_name: leaf.name.clone(),
            namespaces: Arc::clone(&leaf.namespaces),
            route: Arc::clone(&leaf.route),
        }
    }

    /// Django's `resolve(path)`. Accepts `request.path` as is: one leading `/` is stripped
    /// (Django's root resolver matches `^/`), so `"/articles/5/"` and `"articles/5/"` are the
    /// same.
    pub fn resolve(&self, path: &str) -> Result<ResolverMatch<V>, Resolver404> {
        let rest = path.strip_prefix('/').unwrap_or(path);
        if let Some(&idx) = self.literal.get(rest) {
            return Ok(self.resolver_match(idx, Vec::new(), Kwargs::default()));
        }
        if let Some((idx, args, kwargs)) = self.walk(rest) {
            return Ok(self.resolver_match(idx, args, kwargs));
        }
        let mut tried = Vec::new();
        self.collect_tried(&self.tree, rest, "", &mut tried);
        Err(Resolver404 {
            path: path.to_owned(),
            tried,
        })
    }

    /// Django's level-by-level match of one view; merges captures like `URLResolver.resolve`.
    fn match_leaf(&self, idx: usize, path: &str) -> Option<(Vec<PathValue>, Kwargs)> {
        let chain = &self.leaves[idx].chain;
        let mut rest = path;
        let mut levels = Vec::with_capacity(chain.len());
        for &p in chain {
            let m = self.patterns[p].matches(rest)?;
            rest = &rest[m.end..];
            levels.push(m);
        }
        // Fold from the view outwards as each `URLResolver.resolve` does: the outer level's
        // kwargs are updated by the inner ones, and the outer positional args are kept only
        // while no level so far captured a named value.
        let mut levels = levels.into_iter().rev();
        let inner = levels.next()?;
        let mut args = inner.args;
        let mut kwargs = Kwargs(inner.kwargs);
        for outer in levels {
            let mut merged = Kwargs(outer.kwargs);
            for (n, v) in kwargs.0 {
                merged.set(n, v);
            }
            if merged.is_empty() {
                let mut all = outer.args;
                all.extend(args);
                args = all;
            }
            kwargs = merged;
        }
        Some((args, kwargs))
    }

    fn collect_tried(&self, nodes: &[Node], path: &str, prefix: &str, tried: &mut Vec<String>) {
        for node in nodes {
            match node {
                Node::Leaf(i) => {
                    let leaf = &self.leaves[*i];
                    let own = leaf.chain.last().map_or("", |&p| &self.patterns[p].text);
                    let mut line = format!("{prefix}{own}");
                    if let Some(n) = &leaf.name {
                        line.push_str(&format!(" [name='{n}']"));
                    }
                    tried.push(line);
                }
                Node::Include { pattern, children } => {
                    let p = &self.patterns[*pattern];
                    let sub_prefix = format!("{prefix}{} ", p.text);
                    match p.matches(path) {
                        Some(m) => self.collect_tried(children, &path[m.end..], &sub_prefix, tried),
                        None => tried.push(format!("{prefix}{}", p.text)),
                    }
                }
            }
        }
    }

    /// Django's `reverse(viewname, args=, kwargs=)`: `"ns:inner:name"` picks the namespace;
    /// among several patterns with the name the last declared is tried first (Django's
    /// reverse dict order); the result starts with `/`, is percent-encoded like Django's
    /// `quote(..., safe=RFC3986_SUBDELIMS + "/~:@")` and must resolve to the same view.
    pub fn reverse(
        &self,
        name: &str,
        args: &[PathValue],
        kwargs: &[(&str, PathValue)],
    ) -> Result<String, NoReverseMatch> {
        if !args.is_empty() && !kwargs.is_empty() {
            return Err(NoReverseMatch {
                message: "Don't mix *args and **kwargs in call to reverse()!".into(),
            });
        }
        let mut parts: Vec<&str> = name.split(':').collect();
        let view = parts.pop().unwrap_or_default();
        let mut ns: Vec<String> = Vec::new();
        for part in &parts {
            ns.push((*part).to_owned());
            if !self.namespaces.contains(&ns) {
                let message = if ns.len() == 1 {
                    format!("'{part}' is not a registered namespace")
                } else {
                    format!(
                        "'{part}' is not a registered namespace inside '{}'",
                        ns[..ns.len() - 1].join(":")
                    )
                };
                return Err(NoReverseMatch { message });
            }
        }
        let possibilities: Vec<usize> = (0..self.leaves.len())
            .rev()
            .filter(|&i| {
                let l = &self.leaves[i];
                *l.namespaces == *ns && l.name.as_deref() == Some(view)
            })
            .collect();
        for &idx in &possibilities {
            if let Some(url) = self.try_reverse(idx, args, kwargs) {
                return Ok(url);
            }
        }
        if possibilities.is_empty() {
            return Err(NoReverseMatch {
                message: format!(
                    "Reverse for '{view}' not found. '{view}' is not a valid view function or pattern name."
                ),
            });
        }
        let arg_msg = if !args.is_empty() {
            let items: Vec<String> = args.iter().map(PathValue::py_repr).collect();
            if items.len() == 1 {
                format!("arguments '({},)'", items[0])
            } else {
                format!("arguments '({})'", items.join(", "))
            }
        } else if !kwargs.is_empty() {
            let items: Vec<String> = kwargs
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), v.py_repr()))
                .collect();
            format!("keyword arguments '{{{}}}'", items.join(", "))
        } else {
            "no arguments".to_owned()
        };
        let patterns: Vec<String> = possibilities
            .iter()
            .map(|&i| {
                let joined: String = self.leaves[i]
                    .chain
                    .iter()
                    .map(|&p| self.patterns[p].regex_display.as_str())
                    .collect();
                str_repr(&joined)
            })
            .collect();
        Err(NoReverseMatch {
            message: format!(
                "Reverse for '{view}' with {arg_msg} not found. {} pattern(s) tried: [{}]",
                possibilities.len(),
                patterns.join(", ")
            ),
        })
    }

    fn try_reverse(
        &self,
        idx: usize,
        args: &[PathValue],
        kwargs: &[(&str, PathValue)],
    ) -> Option<String> {
        let leaf = &self.leaves[idx];
        let mut segments: Vec<&Segment> = Vec::new();
        for &p in &leaf.chain {
            segments.extend(self.patterns[p].template.as_ref()?.iter());
        }
        let params: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(n, _) => Some(n.as_str()),
                Segment::Lit(_) => None,
            })
            .collect();
        if !args.is_empty() {
            if args.len() != params.len() {
                return None;
            }
        } else {
            let given: HashSet<&str> = kwargs.iter().map(|(k, _)| *k).collect();
            let wanted: HashSet<&str> = params.iter().copied().collect();
            if given != wanted {
                return None;
            }
        }
        let mut candidate = String::new();
        let mut positional = args.iter();
        for seg in segments {
            match seg {
                Segment::Lit(l) => candidate.push_str(l),
                Segment::Param(n, conv) => {
                    let value = if args.is_empty() {
                        kwargs.iter().find(|(k, _)| k == n).map(|(_, v)| v)?
                    } else {
                        positional.next()?
                    };
                    match conv {
                        Some(c) => candidate.push_str(&c.to_url(value).ok()?),
                        None => candidate.push_str(&value.to_string()),
                    }
                }
            }
        }
        // Django checks the candidate against the pattern's regex; checking it with the full
        // level-by-level match also runs the converters, so a reversed URL always resolves.
        self.match_leaf(idx, &candidate)?;
        let url = format!("/{}", utf8_percent_encode(&candidate, REVERSE_KEEP));
        // Django's `escape_leading_slashes`: "//x" would be a scheme-relative URL.
        Some(match url.strip_prefix("//") {
            Some(rest) => format!("/%2F{rest}"),
            None => url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urls::converters::{ConversionError, Converter};
    use std::sync::Arc;

    /// A name, positional args and keyword args for `reverse`.
    type ReverseCase = (&'static str, Vec<PathValue>, Vec<(&'static str, PathValue)>);

    fn build(patterns: Vec<UrlEntry<&'static str>>) -> UrlResolver<&'static str> {
        match UrlResolver::new(patterns) {
            Ok(r) => r,
            Err(e) => panic!("URL conf should build: {e}"),
        }
    }

    fn view(r: &UrlResolver<&'static str>, p: &str) -> Option<&'static str> {
        r.resolve(p).ok().map(|m| m.func)
    }

    fn conf() -> UrlResolver<&'static str> {
        build(vec![
            path("", "home").name("home"),
            path("articles/<int:id>/", "detail").name("article-detail"),
            path("articles/<slug:slug>/", "by-slug").name("article-slug"),
            path("files/<path:rest>", "files").name("files"),
            path("items/<uuid:key>/", "item").name("item"),
            re_path(r"^archive/(?P<year>[0-9]{4})/$", "archive").name("archive"),
            re_path(r"^pos/([0-9]+)/([a-z]+)/$", "pos").name("pos"),
            include(
                "api/",
                vec![include(
                    "v1/",
                    vec![
                        path("articles/", "api-list").name("list"),
                        path("articles/<int:id>/", "api-detail").name("detail"),
                    ],
                )
                .namespace("v1")],
            )
            .namespace("api"),
            include(
                "shop/<str:shop>/",
                vec![path("p/<int:id>/", "product").name("product")],
            ),
        ])
    }

    #[test]
    fn resolves_converters_and_strips_leading_slash() {
        let r = conf();
        assert_eq!(view(&r, "/"), Some("home"));
        assert_eq!(view(&r, ""), Some("home"));
        let m = r.resolve("/articles/5/");
        let Ok(m) = m else { panic!("should resolve") };
        assert_eq!(m.func, "detail");
        assert_eq!(m.kwargs.int("id"), Some(5));
        assert_eq!(m.url_name.as_deref(), Some("article-detail"));
        assert_eq!(&*m.route, "articles/<int:id>/");
        assert_eq!(view(&r, "articles/5/"), Some("detail"));
        assert_eq!(view(&r, "/files/a/b/c.txt"), Some("files"));
        assert_eq!(
            view(&r, "/items/123e4567-e89b-12d3-a456-426614174000/"),
            Some("item")
        );
        assert_eq!(
            view(&r, "/items/123E4567-E89B-12D3-A456-426614174000/"),
            None
        );
    }

    #[test]
    fn literal_paths_are_looked_up_but_django_order_still_wins() {
        let r = UrlResolver::new(vec![
            path("c/", "literal"),
            path("<str:slug>/", "by-slug"),
            path("plain/", "shadowed"),
            re_path(r"^a/(?P<rest>.*)$", "regex"),
            path("a/b/", "also-shadowed"),
            include("api/", vec![path("x/", "nested"), path("x/", "second")]),
        ])
        .unwrap();
        // An earlier pattern that matches the literal path wins, as in Django's walk.
        assert_eq!(view(&r, "/plain/"), Some("by-slug"));
        let Ok(m) = r.resolve("/a/b/") else {
            panic!("resolves")
        };
        assert_eq!((m.func, m.kwargs.str("rest")), ("regex", Some("b/")));
        // Paths only literal routes match come from the table, and resolve the same.
        assert_eq!(view(&r, "/api/x/"), Some("nested"));
        assert_eq!(view(&r, "/c/x"), None);
        assert!(r.literal.contains_key("api/x/") && r.literal.contains_key("c/"));
        assert!(!r.literal.contains_key("plain/") && !r.literal.contains_key("a/b/"));
        let Ok(m) = r.resolve("/c/") else {
            panic!("resolves")
        };
        assert_eq!(
            (m.func, m.route.as_ref(), m.args.len()),
            ("literal", "c/", 0)
        );
    }

    #[test]
    fn int_rejects_fall_through_to_the_next_pattern() {
        let r = conf();
        // "-1" and "abc" are not ints, but they are slugs.
        assert_eq!(view(&r, "/articles/-1/"), Some("by-slug"));
        assert_eq!(view(&r, "/articles/abc/"), Some("by-slug"));
        // Too big for i64 is still an int, as in Python: the int pattern takes it, and the
        // view gets a BigInt (a refusing to_python falls through: see `user_converter`).
        assert_eq!(view(&r, "/articles/99999999999999999999/"), Some("detail"));
        let Ok(m) = r.resolve("/articles/99999999999999999999/") else {
            panic!("resolves")
        };
        assert_eq!(m.kwargs.int("id"), None);
    }

    #[test]
    fn re_path_groups() {
        let r = conf();
        let Ok(m) = r.resolve("/archive/2024/") else {
            panic!("should resolve")
        };
        assert_eq!(m.kwargs.str("year"), Some("2024"));
        assert!(m.args.is_empty());
        assert_eq!(&*m.route, "^archive/(?P<year>[0-9]{4})/$");
        let Ok(m) = r.resolve("/pos/7/abc/") else {
            panic!("should resolve")
        };
        assert_eq!(m.args, vec![PathValue::from("7"), PathValue::from("abc")]);
        assert!(m.kwargs.is_empty());
        assert!(r.resolve("/archive/24/").is_err());
    }

    #[test]
    fn nested_include_with_namespaces() {
        let r = conf();
        let Ok(m) = r.resolve("/api/v1/articles/9/") else {
            panic!("should resolve")
        };
        assert_eq!(m.func, "api-detail");
        assert_eq!(*m.namespaces, ["api".to_string(), "v1".to_string()]);
        assert_eq!(m.view_name(), "api:v1:detail");
        assert_eq!(&*m.route, "api/v1/articles/<int:id>/");
        assert_eq!(
            r.reverse("api:v1:detail", &[], &[("id", 9.into())]),
            Ok("/api/v1/articles/9/".into())
        );
        assert_eq!(
            r.reverse("api:v1:list", &[], &[]),
            Ok("/api/v1/articles/".into())
        );
        let Ok(m) = r.resolve("/shop/acme/p/3/") else {
            panic!("should resolve")
        };
        assert_eq!(m.kwargs.str("shop"), Some("acme"));
        assert_eq!(m.kwargs.int("id"), Some(3));
    }

    #[test]
    fn reverse_round_trips() {
        let r = conf();
        let cases: Vec<ReverseCase> = vec![
            ("article-detail", vec![], vec![("id", 42.into())]),
            ("article-detail", vec![42.into()], vec![]),
            ("article-slug", vec![], vec![("slug", "hello-world".into())]),
            ("archive", vec![], vec![("year", "1999".into())]),
            ("pos", vec!["3".into(), "xy".into()], vec![]),
            ("files", vec![], vec![("rest", "a/b c.txt".into())]),
            (
                "product",
                vec![],
                vec![("shop", "acme".into()), ("id", 1.into())],
            ),
            ("home", vec![], vec![]),
        ];
        for (name, args, kwargs) in cases {
            let url = match r.reverse(name, &args, &kwargs) {
                Ok(u) => u,
                Err(e) => panic!("{name}: {e}"),
            };
            let decoded = url.replace("%20", " ");
            let Ok(m) = r.resolve(&decoded) else {
                panic!("{url} should resolve")
            };
            assert_eq!(m.url_name.as_deref(), Some(name));
            for (k, v) in &kwargs {
                assert_eq!(m.kwargs.get(k), Some(v), "{name} {k}");
            }
        }
        assert_eq!(
            r.reverse("files", &[], &[("rest", "a/b c.txt".into())]),
            Ok("/files/a/b%20c.txt".into())
        );
        assert_eq!(
            r.reverse("archive", &[], &[("year", "2020".into())]),
            Ok("/archive/2020/".into())
        );
    }

    #[test]
    fn reverse_errors_read_like_django() {
        let r = conf();
        let e = r.reverse("nope", &[], &[]).map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("Reverse for 'nope' not found. 'nope' is not a valid view function or pattern name.".into())
        );
        let e = r
            .reverse("article-detail", &["x".into()], &[])
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("Reverse for 'article-detail' with arguments '('x',)' not found. 1 pattern(s) tried: ['articles/(?P<id>[0-9]+)/\\\\Z']".into())
        );
        let e = r
            .reverse("article-detail", &[], &[("pk", 1.into())])
            .map_err(|e| e.to_string());
        assert!(
            matches!(&e, Err(m) if m.contains("with keyword arguments '{'pk': 1}' not found")),
            "{e:?}"
        );
        let e = r
            .reverse("article-detail", &[], &[])
            .map_err(|e| e.to_string());
        assert!(
            matches!(&e, Err(m) if m.contains("with no arguments not found")),
            "{e:?}"
        );
        let e = r.reverse("article-detail", &[1.into()], &[("id", 1.into())]);
        assert!(e.is_err());
        let e = r.reverse("zzz:detail", &[], &[]).map_err(|e| e.to_string());
        assert_eq!(e, Err("'zzz' is not a registered namespace".into()));
        let e = r
            .reverse("api:v2:detail", &[], &[])
            .map_err(|e| e.to_string());
        assert_eq!(
            e,
            Err("'v2' is not a registered namespace inside 'api'".into())
        );
        // A namespaced name is not reachable without its namespace.
        assert!(r.reverse("detail", &[], &[("id", 1.into())]).is_err());
        // The archive regex needs four digits; "99" fails the regex check.
        assert!(r.reverse("archive", &[], &[("year", "99".into())]).is_err());
    }

    #[test]
    fn first_match_wins_and_reverse_prefers_the_last_declared() {
        let r = build(vec![
            path("same/", "first").name("dup"),
            re_path("^same/$", "second").name("dup"),
            path("n/<int:a>/", "one-arg").name("n"),
            path("n/<int:a>/<int:b>/", "two-args").name("n"),
        ]);
        assert_eq!(view(&r, "/same/"), Some("first"));
        assert_eq!(r.reverse("n", &[1.into()], &[]), Ok("/n/1/".into()));
        assert_eq!(
            r.reverse("n", &[1.into(), 2.into()], &[]),
            Ok("/n/1/2/".into())
        );
        assert_eq!(r.reverse("dup", &[], &[]), Ok("/same/".into()));
    }

    struct Year;
    impl Converter for Year {
        fn regex(&self) -> &str {
            "[0-9]{4}"
        }
        fn to_python(&self, s: &str) -> Result<PathValue, ConversionError> {
            // There is no year zero: a value the regex matches but to_python refuses.
            match s.parse::<i64>() {
                Ok(0) => Err(ConversionError("year 0 does not exist".into())),
                Ok(y) => Ok(PathValue::Int(y)),
                Err(e) => Err(ConversionError(e.to_string())),
            }
        }
        fn to_url(&self, v: &PathValue) -> Result<String, ConversionError> {
            match v {
                PathValue::Int(i) if (0..10000).contains(i) => Ok(format!("{i:04}")),
                _ => Err(ConversionError(format!("{v} is not a year"))),
            }
        }
    }

    #[test]
    fn user_converter() {
        let mut c = Converters::new();
        c.register_converter("yyyy", Arc::new(Year));
        let r = UrlResolver::with_converters(
            vec![
                path("y/<yyyy:year>/", "year").name("year"),
                path("y/<str:other>/", "other"),
            ],
            &c,
        );
        let Ok(r) = r else { panic!("builds") };
        let Ok(m) = r.resolve("/y/2024/") else {
            panic!("resolves")
        };
        assert_eq!((m.func, m.kwargs.int("year")), ("year", Some(2024)));
        assert_eq!(view(&r, "/y/24/"), Some("other"));
        // to_python refusing is "no match": the next pattern is tried, as in Django.
        assert_eq!(view(&r, "/y/0000/"), Some("other"));
        assert_eq!(
            r.reverse("year", &[], &[("year", 7.into())]),
            Ok("/y/0007/".into())
        );
        assert!(r.reverse("year", &[], &[("year", "x".into())]).is_err());
        // Without the registration the same route is a configuration error.
        let e = UrlResolver::new(vec![path("y/<yyyy:year>/", "year")]);
        assert!(matches!(e, Err(e) if e.to_string().contains("invalid converter 'yyyy'")));
    }

    #[test]
    fn improperly_configured_names_the_pattern() {
        let cases: Vec<(UrlEntry<&'static str>, &str)> = vec![
            (path("a/<foo:x>/", "v"), "a/<foo:x>/"),
            (path("a/<int:x", "v"), "a/<int:x"),
            (path("a/<int:x>/<int:x>/", "v"), "more than once"),
            (re_path("^a/(?P<x>[0-9]+/$", "v"), "^a/(?P<x>[0-9]+/$"),
            (include("i/", vec![path("<bad:y>/", "v")]), "<bad:y>/"),
            (include("i/", vec![]).name("n"), "a name belongs on a view"),
            (
                path("a/", "v").namespace("n"),
                "a namespace belongs on include()",
            ),
        ];
        for (entry, needle) in cases {
            match UrlResolver::new(vec![path("ok/", "ok"), entry]) {
                Ok(_) => panic!("{needle} should fail"),
                Err(e) => assert!(e.to_string().contains(needle), "{e}"),
            }
        }
    }

    #[test]
    fn resolver404_lists_tried_patterns() {
        let r = build(vec![
            path("a/", "a").name("a"),
            include("api/", vec![path("x/", "x").name("x"), path("y/", "y")]).namespace("api"),
            include("other/", vec![path("z/", "z")]),
        ]);
        let Err(e) = r.resolve("/api/nope/") else {
            panic!("should be a 404")
        };
        assert_eq!(e.path, "/api/nope/");
        assert_eq!(
            e.tried,
            vec!["a/ [name='a']", "api/ x/ [name='x']", "api/ y/", "other/"]
        );
    }

    #[test]
    fn regex_without_anchor_and_include_re() {
        let r = build(vec![
            include_re(
                r"^blog/(?P<lang>[a-z]{2})/",
                vec![re_path(r"^post/(?P<n>[0-9]+)/$", "post").name("post")],
            ),
            re_path("search", "search"),
        ]);
        let Ok(m) = r.resolve("/blog/en/post/3/") else {
            panic!("resolves")
        };
        assert_eq!(m.kwargs.str("lang"), Some("en"));
        assert_eq!(m.kwargs.str("n"), Some("3"));
        assert_eq!(&*m.route, "^blog/(?P<lang>[a-z]{2})/post/(?P<n>[0-9]+)/$");
        // Python `search`: an unanchored leaf matches anywhere in the rest.
        assert_eq!(view(&r, "/x/search/more"), Some("search"));
        assert_eq!(
            r.reverse("post", &[], &[("lang", "fr".into()), ("n", "12".into())]),
            Ok("/blog/fr/post/12/".into())
        );
    }

    #[test]
    fn positional_and_named_captures_merge_like_django() {
        let r = build(vec![
            include_re(
                r"^n/(?P<lang>[a-z]{2})/",
                vec![re_path(r"^([0-9]+)/$", "named-outer")],
            ),
            include_re(
                r"^p/([a-z]{2})/",
                vec![re_path(r"^([0-9]+)/$", "positional")],
            ),
            include_re(
                r"^o/([a-z]{2})/",
                vec![re_path(r"^(?P<n>[0-9]+)/$", "named-inner")],
            ),
        ]);
        let got = |p: &str| r.resolve(p).ok().map(|m| (m.func, m.args, m.kwargs.len()));
        // The view's own positional group survives an outer named one (Django passes
        // `sub_match.args` when the merged kwargs are not empty).
        assert_eq!(
            got("/n/en/5/"),
            Some(("named-outer", vec![PathValue::from("5")], 1))
        );
        assert_eq!(
            got("/p/en/5/"),
            Some((
                "positional",
                vec![PathValue::from("en"), PathValue::from("5")],
                0
            ))
        );
        assert_eq!(got("/o/en/5/"), Some(("named-inner", vec![], 1)));
    }

    #[test]
    fn resolver_is_shared_across_worker_threads() {
        fn shareable<T: Send + Sync>(_: &T) -> bool {
            true
        }
        let r = conf();
        assert!(shareable(&r));
        let hits: Vec<Option<&'static str>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let r = &r;
                    s.spawn(move || view(r, &format!("/articles/{i}/")))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().ok().flatten())
                .collect()
        });
        assert_eq!(hits, vec![Some("detail"); 4]);
    }

    #[test]
    fn leading_double_slash_is_escaped() {
        let r = build(vec![path("<path:p>", "p").name("p")]);
        assert_eq!(
            r.reverse("p", &[], &[("p", "/evil.com".into())]),
            Ok("/%2Fevil.com".into())
        );
    }

    #[test]
    fn two_hundred_routes_resolve_the_right_one() {
        let mut entries = Vec::new();
        let names: Vec<String> = (0..200).map(|i| format!("r{i}")).collect();
        let views: Vec<&'static str> = names
            .iter()
            .map(|n| &*Box::leak(n.clone().into_boxed_str()))
            .collect();
        for (i, v) in views.iter().enumerate() {
            entries.push(path(&format!("section{i}/<int:id>/"), *v).name(v));
        }
        entries.push(path("<str:catch>/<int:id>/", "catch-all"));
        let r = build(entries);
        for i in [0usize, 1, 57, 123, 199] {
            let Ok(m) = r.resolve(&format!("/section{i}/{i}/")) else {
                panic!("section{i}")
            };
            assert_eq!(m.func, views[i]);
            assert_eq!(m.kwargs.int("id"), Some(i as i64));
            assert_eq!(
                r.reverse(views[i], &[(i as i64).into()], &[]),
                Ok(format!("/section{i}/{i}/"))
            );
        }
        assert_eq!(view(&r, "/section200/1/"), Some("catch-all"));
        assert!(r.resolve("/section1/x/").is_err());
        let start = std::time::Instant::now();
        for _ in 0..2000 {
            assert_eq!(view(&r, "/section150/7/"), Some("r150"));
        }
        // Generous bound: a debug build still does this in a few milliseconds.
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }
}
