//! Pagination (Django's `django.core.paginator`): a [`Paginator`] over a `Vec` or a
//! [`QuerySet`], its [`Page`]s, and Django's errors and messages.
//!
//! Over a queryset the paginator asks the database for `COUNT(*)` once and each page with
//! `LIMIT … OFFSET …`; it never loads the other pages' rows.
//!
//! ```
//! use handler_core::paginator::{Paginator, PaginatorError};
//!
//! let paginator = Paginator::new((1..=23).collect::<Vec<i32>>(), 10);
//! assert_eq!(paginator.num_pages().unwrap(), 3);
//! let page = paginator.page(3).unwrap();
//! assert_eq!(page.object_list, [21, 22, 23]);
//! assert_eq!((page.start_index(), page.end_index()), (21, 23));
//! assert!(matches!(paginator.page("x"), Err(PaginatorError::PageNotAnInteger(_))));
//! // get_page forgives: a bad number is page 1, a too large one the last page.
//! assert_eq!(paginator.get_page("x").unwrap().number, 1);
//! assert_eq!(paginator.get_page(99).unwrap().number, 3);
//! ```

use std::cell::OnceCell;
use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::db::models::{Model, QuerySet};
use crate::db::DatabaseError;

/// Django's `"That page number is not an integer"`.
pub const INVALID_PAGE: &str = "That page number is not an integer";
/// Django's `"That page number is less than 1"`.
pub const MIN_PAGE: &str = "That page number is less than 1";
/// Django's `"That page contains no results"`.
pub const NO_RESULTS: &str = "That page contains no results";

/// What a paginator can fail with: Django's `InvalidPage` family, or the database.
#[derive(Debug)]
pub enum PaginatorError {
    /// Django's `PageNotAnInteger` (an `InvalidPage`).
    PageNotAnInteger(String),
    /// Django's `EmptyPage` (an `InvalidPage`): below 1 or past the last page.
    EmptyPage(String),
    /// Counting or reading the rows failed.
    Database(DatabaseError),
}

impl PaginatorError {
    /// Whether it is Django's `InvalidPage` (not a database failure).
    pub fn is_invalid_page(&self) -> bool {
        !matches!(self, PaginatorError::Database(_))
    }
}

impl fmt::Display for PaginatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaginatorError::PageNotAnInteger(m) | PaginatorError::EmptyPage(m) => f.write_str(m),
            PaginatorError::Database(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PaginatorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PaginatorError::Database(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DatabaseError> for PaginatorError {
    fn from(e: DatabaseError) -> Self {
        PaginatorError::Database(e)
    }
}

/// What a paginator pages through: something that counts its items and gives a slice.
pub trait ObjectList {
    /// The item type.
    type Item;
    /// How many items there are (Django's `count()` or `len()`).
    fn count(&self) -> Result<u64, DatabaseError>;
    /// The items `start..end` (Django's `object_list[bottom:top]`).
    fn slice(&self, start: u64, end: u64) -> Result<Vec<Self::Item>, DatabaseError>;
}

impl<T: Clone> ObjectList for Vec<T> {
    type Item = T;
    fn count(&self) -> Result<u64, DatabaseError> {
        Ok(self.len() as u64)
    }
    fn slice(&self, start: u64, end: u64) -> Result<Vec<T>, DatabaseError> {
        let len = self.len();
        let start = usize::try_from(start).unwrap_or(len).min(len);
        let end = usize::try_from(end).unwrap_or(len).clamp(start, len);
        Ok(self[start..end].to_vec())
    }
}

impl<M: Model> ObjectList for QuerySet<M> {
    type Item = M;
    fn count(&self) -> Result<u64, DatabaseError> {
        QuerySet::count(self)
    }
    fn slice(&self, start: u64, end: u64) -> Result<Vec<M>, DatabaseError> {
        self.clone().slice(start, end).all()
    }
}

/// A page number as Django's `validate_number` takes it: an integer, or text Python's
/// `int()` reads (surrounding spaces, a sign, `_` between digits); anything else is
/// `PageNotAnInteger`.
pub trait PageNumber {
    /// The number, or `None` when Python's `int()` would raise.
    fn to_page_number(&self) -> Option<i64>;
}

macro_rules! int_page_number {
    ($($t:ty),*) => {$(
        impl PageNumber for $t {
            fn to_page_number(&self) -> Option<i64> {
                i64::try_from(*self).ok()
            }
        }
    )*};
}
int_page_number!(i32, i64, u32, u64, usize);

impl PageNumber for f64 {
    fn to_page_number(&self) -> Option<i64> {
        // Django: a float that is not integral is not an integer.
        (self.is_finite() && self.fract() == 0.0).then_some(*self as i64)
    }
}

impl PageNumber for str {
    fn to_page_number(&self) -> Option<i64> {
        python_int(self)
    }
}

impl PageNumber for &str {
    fn to_page_number(&self) -> Option<i64> {
        python_int(self)
    }
}

impl PageNumber for String {
    fn to_page_number(&self) -> Option<i64> {
        python_int(self)
    }
}

impl<T: PageNumber> PageNumber for Option<T> {
    fn to_page_number(&self) -> Option<i64> {
        self.as_ref().and_then(T::to_page_number)
    }
}

/// Python's `int(text)`: surrounding whitespace, an optional sign, decimal digits with single
/// `_` between them.
pub(crate) fn python_int(text: &str) -> Option<i64> {
    let s = text.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let n: i64 = clean.parse().ok()?;
    Some(if negative { -n } else { n })
}

/// Django's `Paginator(object_list, per_page, orphans=0, allow_empty_first_page=True)`.
pub struct Paginator<L: ObjectList> {
    object_list: L,
    per_page: u64,
    orphans: u64,
    allow_empty_first_page: bool,
    count: OnceCell<u64>,
}

impl<L: ObjectList> fmt::Debug for Paginator<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("per_page", &self.per_page)
            .field("orphans", &self.orphans)
            .field("allow_empty_first_page", &self.allow_empty_first_page)
            .field("count", &self.count.get())
            .finish()
    }
}

impl<L: ObjectList> Paginator<L> {
    /// Pages of `per_page` items (a `per_page` of 0 is taken as 1, where Django would divide
    /// by zero).
    pub fn new(object_list: L, per_page: u64) -> Self {
        Paginator {
            object_list,
            per_page: per_page.max(1),
            orphans: 0,
            allow_empty_first_page: true,
            count: OnceCell::new(),
        }
    }

    /// Django's `orphans`: a last page of this many items or fewer joins the one before.
    pub fn orphans(mut self, orphans: u64) -> Self {
        self.orphans = orphans;
        self
    }

    /// Django's `allow_empty_first_page`: whether no items still make one (empty) page.
    pub fn allow_empty_first_page(mut self, allow: bool) -> Self {
        self.allow_empty_first_page = allow;
        self
    }

    /// Items per page.
    pub fn per_page(&self) -> u64 {
        self.per_page
    }

    /// The items paged through.
    pub fn object_list(&self) -> &L {
        &self.object_list
    }

    /// Django's `count`: the number of items on all pages (counted once).
    pub fn count(&self) -> Result<u64, DatabaseError> {
        if let Some(c) = self.count.get() {
            return Ok(*c);
        }
        let c = self.object_list.count()?;
        Ok(*self.count.get_or_init(|| c))
    }

    /// Django's `num_pages`.
    pub fn num_pages(&self) -> Result<u64, DatabaseError> {
        let count = self.count()?;
        if count == 0 && !self.allow_empty_first_page {
            return Ok(0);
        }
        let hits = count.saturating_sub(self.orphans).max(1);
        Ok(hits.div_ceil(self.per_page))
    }

    /// Django's `page_range`: `1..=num_pages`.
    pub fn page_range(&self) -> Result<std::ops::RangeInclusive<u64>, DatabaseError> {
        Ok(1..=self.num_pages()?)
    }

    /// Django's `validate_number`.
    pub fn validate_number<N: PageNumber + ?Sized>(
        &self,
        number: &N,
    ) -> Result<u64, PaginatorError> {
        let n = number
            .to_page_number()
            .ok_or_else(|| PaginatorError::PageNotAnInteger(INVALID_PAGE.into()))?;
        if n < 1 {
            return Err(PaginatorError::EmptyPage(MIN_PAGE.into()));
        }
        let n = n as u64;
        if n > self.num_pages()? {
            return Err(PaginatorError::EmptyPage(NO_RESULTS.into()));
        }
        Ok(n)
    }

    /// Django's `page(number)`: that page, or `PageNotAnInteger` / `EmptyPage`.
    pub fn page<N: PageNumber>(&self, number: N) -> Result<Page<L::Item>, PaginatorError> {
        let number = self.validate_number(&number)?;
        self.page_of(number)
    }

    fn page_of(&self, number: u64) -> Result<Page<L::Item>, PaginatorError> {
        let count = self.count()?;
        let bottom = (number - 1) * self.per_page;
        let mut top = bottom + self.per_page;
        if top + self.orphans >= count {
            top = count;
        }
        let object_list = self.object_list.slice(bottom, top)?;
        Ok(Page {
            object_list,
            number,
            count,
            per_page: self.per_page,
            num_pages: self.num_pages()?,
        })
    }

    /// Django's `get_page(number)`: a number that is not an integer gives page 1, one out of
    /// range the last page (with no pages at all, `EmptyPage` as Django's does).
    pub fn get_page<N: PageNumber>(&self, number: N) -> Result<Page<L::Item>, PaginatorError> {
        let number = match self.validate_number(&number) {
            Ok(n) => n,
            Err(PaginatorError::PageNotAnInteger(_)) => 1,
            Err(PaginatorError::EmptyPage(_)) => self.num_pages()?,
            Err(e) => return Err(e),
        };
        self.page(number)
    }
}

/// Django's `Page`: one page's items and where it stands. It serializes for a template with
/// its items, `number`, the booleans and numbers Django's methods give (`has_next`,
/// `next_page_number` or `null`, …) and `paginator` (`count`, `num_pages`, `per_page`,
/// `page_range`).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub object_list: Vec<T>,
    /// Its 1-based number.
    pub number: u64,
    count: u64,
    per_page: u64,
    num_pages: u64,
}

impl<T> Page<T> {
    /// Django's `has_next()`.
    pub fn has_next(&self) -> bool {
        self.number < self.num_pages
    }
    /// Django's `has_previous()`.
    pub fn has_previous(&self) -> bool {
        self.number > 1
    }
    /// Django's `has_other_pages()`.
    pub fn has_other_pages(&self) -> bool {
        self.has_previous() || self.has_next()
    }
    /// Django's `next_page_number()`: `EmptyPage` on the last page.
    pub fn next_page_number(&self) -> Result<u64, PaginatorError> {
        if self.has_next() {
            Ok(self.number + 1)
        } else {
            Err(PaginatorError::EmptyPage(NO_RESULTS.into()))
        }
    }
    /// Django's `previous_page_number()`: `EmptyPage` on the first page.
    pub fn previous_page_number(&self) -> Result<u64, PaginatorError> {
        if self.number > 1 {
            Ok(self.number - 1)
        } else {
            Err(PaginatorError::EmptyPage(MIN_PAGE.into()))
        }
    }
    /// Django's `start_index()`: the 1-based index of the first item (0 with no items).
    pub fn start_index(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.per_page * (self.number - 1) + 1
        }
    }
    /// Django's `end_index()`: the 1-based index of the last item.
    pub fn end_index(&self) -> u64 {
        if self.number == self.num_pages {
            self.count
        } else {
            self.number * self.per_page
        }
    }
    /// The paginator's `count`.
    pub fn paginator_count(&self) -> u64 {
        self.count
    }
    /// The paginator's `num_pages`.
    pub fn num_pages(&self) -> u64 {
        self.num_pages
    }
    /// `len(page)`.
    pub fn len(&self) -> usize {
        self.object_list.len()
    }
    /// Whether the page has no items.
    pub fn is_empty(&self) -> bool {
        self.object_list.is_empty()
    }
    /// The page's items with another type (a view's serializable rows).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            object_list: self.object_list.into_iter().map(f).collect(),
            number: self.number,
            count: self.count,
            per_page: self.per_page,
            num_pages: self.num_pages,
        }
    }
}

impl<T> fmt::Display for Page<T> {
    /// Django's repr: `<Page 2 of 3>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Page {} of {}>", self.number, self.num_pages)
    }
}

/// The paginator as a template sees it.
#[derive(Serialize)]
struct PaginatorData {
    count: u64,
    num_pages: u64,
    per_page: u64,
    page_range: Vec<u64>,
}

impl<T: Serialize> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Page", 11)?;
        s.serialize_field("object_list", &self.object_list)?;
        s.serialize_field("number", &self.number)?;
        s.serialize_field("has_next", &self.has_next())?;
        s.serialize_field("has_previous", &self.has_previous())?;
        s.serialize_field("has_other_pages", &self.has_other_pages())?;
        s.serialize_field("next_page_number", &self.next_page_number().ok())?;
        s.serialize_field("previous_page_number", &self.previous_page_number().ok())?;
        s.serialize_field("start_index", &self.start_index())?;
        s.serialize_field("end_index", &self.end_index())?;
        s.serialize_field("paginator", &self.paginator_data())?;
        s.end()
    }
}

impl<T> Page<T> {
    fn paginator_data(&self) -> PaginatorData {
        PaginatorData {
            count: self.count,
            num_pages: self.num_pages,
            per_page: self.per_page,
            page_range: (1..=self.num_pages).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tests::temp_databases;

    fn items(n: i32) -> Vec<i32> {
        (1..=n).collect()
    }

    fn msg(e: PaginatorError) -> (String, &'static str) {
        let kind = match e {
            PaginatorError::PageNotAnInteger(_) => "PageNotAnInteger",
            PaginatorError::EmptyPage(_) => "EmptyPage",
            PaginatorError::Database(_) => "Database",
        };
        (e.to_string(), kind)
    }

    #[test]
    fn counts_pages_and_ranges_as_django() {
        // Django's test_paginator cases: (count, per_page, orphans, allow_empty) -> pages.
        let cases: &[(i32, u64, u64, bool, u64)] = &[
            (10, 10, 0, true, 1),
            (10, 4, 0, true, 3),
            (10, 4, 1, true, 3),
            (10, 4, 2, true, 2),
            (10, 4, 3, true, 2),
            (10, 4, 5, true, 2),
            (10, 5, 0, true, 2),
            (10, 5, 1, true, 2),
            (11, 5, 1, true, 2),
            (1, 4, 0, true, 1),
            (1, 4, 1, true, 1),
            (0, 4, 0, true, 1),
            (0, 4, 0, false, 0),
            (0, 4, 5, true, 1),
        ];
        for &(n, per, orphans, allow, pages) in cases {
            let p = Paginator::new(items(n), per)
                .orphans(orphans)
                .allow_empty_first_page(allow);
            assert_eq!(p.count().unwrap(), n as u64);
            assert_eq!(p.num_pages().unwrap(), pages, "{n} {per} {orphans} {allow}");
            assert_eq!(
                p.page_range().unwrap().collect::<Vec<_>>().len() as u64,
                pages
            );
        }
    }

    #[test]
    fn page_raises_djangos_errors() {
        let p = Paginator::new(items(10), 4);
        assert_eq!(
            msg(p.page("x").unwrap_err()),
            (INVALID_PAGE.into(), "PageNotAnInteger")
        );
        assert_eq!(msg(p.page("1.5").unwrap_err()).1, "PageNotAnInteger");
        assert_eq!(msg(p.page("").unwrap_err()).1, "PageNotAnInteger");
        assert_eq!(msg(p.page(None::<&str>).unwrap_err()).1, "PageNotAnInteger");
        assert_eq!(msg(p.page(1.5).unwrap_err()).1, "PageNotAnInteger");
        assert_eq!(p.page(2.0).unwrap().number, 2);
        assert_eq!(msg(p.page(0).unwrap_err()), (MIN_PAGE.into(), "EmptyPage"));
        assert_eq!(
            msg(p.page("-1").unwrap_err()),
            (MIN_PAGE.into(), "EmptyPage")
        );
        assert_eq!(
            msg(p.page(4).unwrap_err()),
            (NO_RESULTS.into(), "EmptyPage")
        );
        // Python's int(): spaces, a sign and underscores between digits.
        assert_eq!(p.page(" 2 ").unwrap().number, 2);
        assert_eq!(p.page("+3").unwrap().number, 3);
        assert_eq!(
            Paginator::new(items(100), 1).page("1_0").unwrap().number,
            10
        );
        assert_eq!(msg(p.page("1__0").unwrap_err()).1, "PageNotAnInteger");
        // No items and no empty first page: page 1 is empty.
        let empty = Paginator::new(items(0), 4).allow_empty_first_page(false);
        assert_eq!(
            msg(empty.page(1).unwrap_err()),
            (NO_RESULTS.into(), "EmptyPage")
        );
        // With an empty first page allowed, page 1 exists and is empty.
        let page = Paginator::new(items(0), 4).page(1).unwrap();
        assert!(page.is_empty());
        assert_eq!((page.start_index(), page.end_index()), (0, 0));
        assert!(!page.has_other_pages());
    }

    #[test]
    fn get_page_forgives_as_django() {
        let p = Paginator::new(items(10), 4);
        assert_eq!(p.get_page("x").unwrap().number, 1);
        assert_eq!(p.get_page(None::<&str>).unwrap().number, 1);
        assert_eq!(
            p.get_page(0).unwrap().number,
            3,
            "EmptyPage -> the last page"
        );
        assert_eq!(p.get_page(-5).unwrap().number, 3);
        assert_eq!(p.get_page(99).unwrap().number, 3);
        assert_eq!(p.get_page("2").unwrap().number, 2);
        assert_eq!(p.get_page(3).unwrap().object_list, [9, 10]);
        // An empty list still has page 1 ...
        assert_eq!(Paginator::new(items(0), 4).get_page(5).unwrap().number, 1);
        // ... unless allow_empty_first_page is off: Django's get_page raises EmptyPage.
        let none = Paginator::new(items(0), 4).allow_empty_first_page(false);
        assert_eq!(
            msg(none.get_page(1).unwrap_err()),
            (MIN_PAGE.into(), "EmptyPage")
        );
    }

    #[test]
    fn pages_know_their_neighbours_and_orphans_join_the_last() {
        let p = Paginator::new(items(11), 5).orphans(1);
        assert_eq!(p.num_pages().unwrap(), 2);
        let last = p.page(2).unwrap();
        assert_eq!(last.object_list, [6, 7, 8, 9, 10, 11]);
        assert_eq!((last.start_index(), last.end_index()), (6, 11));
        assert!(!last.has_next() && last.has_previous() && last.has_other_pages());
        assert_eq!(last.previous_page_number().unwrap(), 1);
        assert_eq!(
            msg(last.next_page_number().unwrap_err()),
            (NO_RESULTS.into(), "EmptyPage")
        );
        let first = p.page(1).unwrap();
        assert_eq!((first.start_index(), first.end_index()), (1, 5));
        assert_eq!(first.next_page_number().unwrap(), 2);
        assert_eq!(
            msg(first.previous_page_number().unwrap_err()),
            (MIN_PAGE.into(), "EmptyPage")
        );
        assert_eq!(first.to_string(), "<Page 1 of 2>");
        let json = serde_json::to_value(&first).unwrap();
        assert_eq!(json["has_next"], true);
        assert_eq!(json["previous_page_number"], serde_json::Value::Null);
        assert_eq!(json["next_page_number"], 2);
        assert_eq!(json["paginator"]["page_range"], serde_json::json!([1, 2]));
        assert_eq!(json["object_list"], serde_json::json!([1, 2, 3, 4, 5]));
        assert_eq!(json["end_index"], 5);
    }

    crate::model! {
        /// A row to page through.
        pub struct Row in "pag_row" {
            pk id: i64,
            name: String,
        }
    }

    #[test]
    fn a_queryset_is_counted_and_sliced_by_the_database() {
        let (databases, dir) = temp_databases("paginator");
        let _active = databases.activate();
        let db = crate::db::connection("default").unwrap();
        db.execute_script("CREATE TABLE pag_row (id integer PRIMARY KEY AUTOINCREMENT, name text)")
            .unwrap();
        for i in 0..7 {
            Row::objects()
                .create(Row {
                    id: 0,
                    name: format!("r{i}"),
                })
                .unwrap();
        }
        let p = Paginator::new(Row::objects().order_by("-id"), 3);
        assert_eq!(p.num_pages().unwrap(), 3);
        let page = p.page(2).unwrap();
        assert_eq!(
            page.object_list.iter().map(|r| r.id).collect::<Vec<_>>(),
            [4, 3, 2]
        );
        // The count is kept: a row added later does not change it.
        Row::objects()
            .create(Row {
                id: 0,
                name: "late".into(),
            })
            .unwrap();
        assert_eq!(p.count().unwrap(), 7);
        assert_eq!(
            p.page(3).unwrap().object_list.len(),
            1,
            "LIMIT 1 OFFSET 6 of 8 rows"
        );
        db.execute_script("DROP TABLE pag_row").unwrap();
        let fresh = Paginator::new(Row::objects(), 3);
        assert!(!fresh.page(1).unwrap_err().is_invalid_page());
        drop(_active);
        databases.close_all();
        std::fs::remove_dir_all(dir).ok();
    }
}
