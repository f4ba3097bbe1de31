//! An article as the matcher reads it: each searched field tokenised once,
//! and the places (hits) where terms were found.

use super::text::{self, Tokens};
use crate::model::article::Article;
use crate::model::field::FieldSet;
use std::borrow::Cow;
use std::ops::Range;

/// An article's fields, each tokenised once.
pub(super) struct Document<'a> {
    pub(super) fields: [FieldText<'a>; 7],
    /// The content repeated the summary and was left out; the summary stands in.
    pub(super) content_is_summary: bool,
}

pub(super) struct FieldText<'a> {
    pub(super) text: Cow<'a, str>,
    pub(super) tokens: Tokens,
}

impl<'a> FieldText<'a> {
    #[inline]
    pub(super) fn new(text: Cow<'a, str>) -> Self {
        let tokens = text::tokenize(&text);
        FieldText { text, tokens }
    }
}

impl<'a> Document<'a> {
    /// Tokenises the fields in `searched` (a field no rule looks at stays
    /// empty); `content:` also needs the summary, which may stand in for it.
    #[inline]
    pub(super) fn new(article: &'a Article, feed: &'a str, searched: FieldSet) -> Self {
        // Feeds often repeat the summary as the content: search it once.
        let content_is_summary = article.content == article.summary;
        let content = if content_is_summary {
            ""
        } else {
            &article.content
        };
        let wanted = |f: FieldSet| {
            searched.contains(f) || (f == FieldSet::SUMMARY && searched.contains(FieldSet::CONTENT))
        };
        let field = |f: FieldSet, text: &dyn Fn() -> Cow<'a, str>| {
            if wanted(f) {
                FieldText::new(text())
            } else {
                FieldText::new(Cow::Borrowed(""))
            }
        };
        Document {
            fields: [
                field(FieldSet::TITLE, &|| Cow::Borrowed(&article.title)),
                field(FieldSet::SUMMARY, &|| Cow::Borrowed(&article.summary)),
                field(FieldSet::CONTENT, &|| Cow::Borrowed(content)),
                field(FieldSet::AUTHOR, &|| Cow::Owned(article.authors.join("\n"))),
                field(FieldSet::CATEGORY, &|| {
                    Cow::Owned(article.categories.join("\n"))
                }),
                field(FieldSet::FEED, &|| Cow::Borrowed(feed)),
                field(FieldSet::LINK, &|| {
                    Cow::Borrowed(article.link.as_deref().unwrap_or(""))
                }),
            ],
            content_is_summary,
        }
    }

    /// Whether field `f` is searched by terms scoped to `fields` (`content:`
    /// also searches the summary when the content merely repeated it).
    #[inline]
    pub(super) fn in_scope(&self, fields: FieldSet, f: usize) -> bool {
        fields.contains(FieldSet(1 << f))
            || (self.content_is_summary && f == 1 && fields.contains(FieldSet::CONTENT))
    }
}

/// Where a term was found: a field index and a range of token indices.
/// Sixteen bytes: matching copies, sorts and compares many of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct Hit {
    pub(super) field: u32,
    pub(super) start: u32,
    pub(super) end: u32,
    /// The term's [`Leaf::rank`].
    pub(super) rank: u32,
}

impl Hit {
    #[inline]
    pub(super) fn new(field: usize, tokens: Range<usize>) -> Hit {
        Hit {
            field: field as u32,
            start: tokens.start as u32,
            end: tokens.end as u32,
            rank: 0,
        }
    }

    #[inline]
    pub(super) fn field(&self) -> usize {
        self.field as usize
    }

    #[inline]
    pub(super) fn tokens(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}
