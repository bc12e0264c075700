//! Temporal headers: named payloads that travel beside a call's arguments (on a start, a
//! signal, a query, an update, an activity or a child), read by interceptors and by the code
//! on the other side — trace context, a tenant, an auth token.
//!
//! Values are ordinary payloads (JSON by default, as every SDK writes them), not passed
//! through the payload codec, so any SDK's interceptor can read them.

use crate::payload::{self, PayloadError};
use crate::proto::common::{Header, Payload};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The headers of one call.
///
/// ```
/// use workflow_client::headers::Headers;
/// let mut headers = Headers::new();
/// headers.insert("tenant", &"acme")?;
/// assert_eq!(headers.get::<String>("tenant")?, Some("acme".to_string()));
/// assert_eq!(headers.get::<String>("missing")?, None);
/// # Ok::<(), workflow_client::payload::PayloadError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Headers {
    fields: HashMap<String, Payload>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }

    /// The value under `key`, decoded as `T`; `None` when the key is absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PayloadError> {
        self.fields.get(key).map(payload::from_payload).transpose()
    }

    /// The raw payload under `key`.
    pub fn get_payload(&self, key: &str) -> Option<&Payload> {
        self.fields.get(key)
    }

    /// Sets `key` to `value`, encoded as the default converter encodes it (JSON for most types).
    pub fn insert<T: Serialize + ?Sized>(&mut self, key: impl Into<String>, value: &T) -> Result<(), PayloadError> {
        self.fields.insert(key.into(), payload::to_payload(value)?);
        Ok(())
    }

    /// Sets `key` to a raw payload.
    pub fn insert_payload(&mut self, key: impl Into<String>, value: Payload) {
        self.fields.insert(key.into(), value);
    }

    /// Removes `key`, returning its payload.
    pub fn remove(&mut self, key: &str) -> Option<Payload> {
        self.fields.remove(key)
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The keys and payloads, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Payload)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The headers as the wire carries them: `None` when there are none.
    pub fn to_proto(&self) -> Option<Header> {
        (!self.is_empty()).then(|| Header {
            fields: self.fields.clone(),
        })
    }
}

impl From<Header> for Headers {
    fn from(header: Header) -> Self {
        Headers { fields: header.fields }
    }
}

impl From<Option<Header>> for Headers {
    fn from(header: Option<Header>) -> Self {
        header.map(Headers::from).unwrap_or_default()
    }
}

impl From<&Option<Header>> for Headers {
    fn from(header: &Option<Header>) -> Self {
        header.clone().into()
    }
}
