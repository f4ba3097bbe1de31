//! The fields of an article that queries search and excerpts quote, one by
//! one (`Field`) and as a set (`FieldSet`, a bit per field in `Field::ALL`
//! order).

use serde::{Deserialize, Serialize};

/// The article fields a query can search, in the order excerpts prefer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Category,
    Feed,
    Link,
}

impl Field {
    /// Every field, in declaration order: a field's place here is its bit in
    /// a [`FieldSet`] and its index in the matcher's tokenised document.
    pub(crate) const ALL: [Field; 7] = [
        Field::Title,
        Field::Summary,
        Field::Content,
        Field::Author,
        Field::Category,
        Field::Feed,
        Field::Link,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Author => "author",
            Field::Category => "category",
            Field::Feed => "feed",
            Field::Link => "link",
        }
    }

    /// Whether this is about the article (author, category, feed, link)
    /// rather than its text.
    pub(crate) fn is_metadata(self) -> bool {
        !matches!(self, Field::Title | Field::Summary | Field::Content)
    }

    /// The set holding just this field.
    pub(crate) const fn set(self) -> FieldSet {
        FieldSet(1 << self as u8)
    }
}

/// Which article fields a term is searched in (a bit set).
#[derive(Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldSet(pub u8);

impl FieldSet {
    pub(crate) const TITLE: FieldSet = Field::Title.set();
    pub(crate) const SUMMARY: FieldSet = Field::Summary.set();
    pub(crate) const CONTENT: FieldSet = Field::Content.set();
    pub(crate) const AUTHOR: FieldSet = Field::Author.set();
    pub(crate) const CATEGORY: FieldSet = Field::Category.set();
    pub(crate) const FEED: FieldSet = Field::Feed.set();
    pub(crate) const LINK: FieldSet = Field::Link.set();
    /// Where unscoped terms are searched.
    pub(crate) const TEXT: FieldSet = FieldSet(Self::TITLE.0 | Self::SUMMARY.0 | Self::CONTENT.0);

    pub(crate) fn contains(self, other: FieldSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The field written `name` in a query (`title:`).
    pub(crate) fn named(name: &str) -> Option<FieldSet> {
        Field::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .map(Field::set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fields_bit_is_its_place_in_all() {
        for (i, field) in Field::ALL.into_iter().enumerate() {
            assert_eq!(field.set(), FieldSet(1 << i));
            assert_eq!(FieldSet::named(field.name()), Some(field.set()));
        }
        assert_eq!(FieldSet::TEXT, FieldSet(0b111));
        assert_eq!(FieldSet::named("body"), None);
    }
}
