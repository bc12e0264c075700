//! Typed search attribute keys: the name a server indexes under, and the Rust type of its
//! values, so a keyword cannot be set to a number by mistake.
//!
//! ```
//! use workflow_client::StartOptions;
//! use workflow_client::search_attributes::SearchAttributeKey;
//!
//! const TIER: SearchAttributeKey<String> = SearchAttributeKey::keyword("CustomKeywordField");
//! const ITEMS: SearchAttributeKey<i64> = SearchAttributeKey::int("CustomIntField");
//!
//! let options = StartOptions::new("order-42", "orders")
//!     .search_attribute(TIER, "gold".to_string())
//!     .search_attribute(ITEMS, 3);
//! let query = format!("{} = 'gold' AND {} > 2", TIER.name(), ITEMS.name());
//! # assert_eq!(query, "CustomKeywordField = 'gold' AND CustomIntField > 2");
//! ```

use crate::payload::{self, PayloadError};
use crate::proto::common::Payload;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::marker::PhantomData;

/// A search attribute's name and value type. Make them `const`s next to the code that uses
/// them; the attribute must be registered on the server (the dev server takes
/// `--search-attribute NAME=TYPE`).
#[derive(Debug)]
pub struct SearchAttributeKey<T> {
    name: &'static str,
    kind: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for SearchAttributeKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SearchAttributeKey<T> {}

impl<T> SearchAttributeKey<T> {
    const fn new(name: &'static str, kind: &'static str) -> Self {
        SearchAttributeKey {
            name,
            kind,
            _value: PhantomData,
        }
    }

    /// The name, for visibility queries (`format!("{} = 'gold'", KEY.name())`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The server's type of the attribute (`Keyword`, `Int`, …).
    pub const fn kind(&self) -> &'static str {
        self.kind
    }
}

impl SearchAttributeKey<String> {
    /// An exact-match string (ids, states, tiers).
    pub const fn keyword(name: &'static str) -> Self {
        Self::new(name, "Keyword")
    }
    /// A full-text string.
    pub const fn text(name: &'static str) -> Self {
        Self::new(name, "Text")
    }
}

impl SearchAttributeKey<i64> {
    /// A 64-bit integer.
    pub const fn int(name: &'static str) -> Self {
        Self::new(name, "Int")
    }
}

impl SearchAttributeKey<f64> {
    /// A floating-point number.
    pub const fn double(name: &'static str) -> Self {
        Self::new(name, "Double")
    }
}

impl SearchAttributeKey<bool> {
    /// A boolean.
    pub const fn bool(name: &'static str) -> Self {
        Self::new(name, "Bool")
    }
}

impl SearchAttributeKey<Vec<String>> {
    /// A list of exact-match strings (tags).
    pub const fn keyword_list(name: &'static str) -> Self {
        Self::new(name, "KeywordList")
    }
}

impl<T: Serialize + DeserializeOwned> SearchAttributeKey<T> {
    /// The payload the server indexes: JSON, with the attribute's type in its metadata.
    pub fn to_payload(&self, value: &T) -> Result<Payload, PayloadError> {
        let mut p = payload::to_payload(value)?;
        p.metadata.insert("type".to_string(), self.kind.as_bytes().to_vec());
        Ok(p)
    }

    /// Sets the attribute in a map of attributes (of a start, of a schedule).
    pub(crate) fn insert_into(&self, attributes: &mut HashMap<String, Payload>, value: &T) {
        let payload = self
            .to_payload(value)
            .expect("search attribute values (strings, numbers, booleans) always encode as JSON");
        attributes.insert(self.name.to_string(), payload);
    }

    /// A change that sets the attribute (for `ctx.upsert_search_attributes`).
    pub fn set(&self, value: T) -> SearchAttributeUpdate {
        SearchAttributeUpdate {
            name: self.name,
            value: self.to_payload(&value),
        }
    }

    /// A change that removes the attribute.
    pub fn unset(&self) -> SearchAttributeUpdate {
        SearchAttributeUpdate {
            name: self.name,
            value: payload::to_payload(&()),
        }
    }

    /// The attribute's value among `attributes` (a summary's or a run's), if set.
    pub fn get(&self, attributes: &HashMap<String, Payload>) -> Option<Result<T, PayloadError>> {
        let p = attributes.get(self.name)?;
        // An unset attribute may be kept as an empty payload or JSON null.
        if p.data.is_empty() || p.data == b"null" {
            return None;
        }
        Some(payload::from_payload(p))
    }
}

/// One attribute set or removed; made by [`SearchAttributeKey::set`] and
/// [`SearchAttributeKey::unset`].
#[derive(Debug)]
pub struct SearchAttributeUpdate {
    name: &'static str,
    value: Result<Payload, PayloadError>,
}

impl SearchAttributeUpdate {
    /// The attribute's name and its payload (or why the value does not encode).
    pub fn into_parts(self) -> (&'static str, Result<Payload, PayloadError>) {
        (self.name, self.value)
    }
}
