//! The data converter: typed values ↔ payloads, then an optional [`PayloadCodec`] (compression,
//! encryption) applied to every payload going out and coming in, including those inside failures.

use crate::payload::{self, PayloadArgs, PayloadError};
use crate::proto::common::{Payload, Payloads};
use crate::proto::failure::{Failure as ProtoFailure, failure::FailureInfo};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;

/// A codec failure (a key that is missing, a payload that does not authenticate, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload codec failed: {0}")]
pub struct CodecError(pub String);

/// Transforms payloads after conversion (encode) and before it (decode): compression,
/// encryption. Applied to all payloads the client and worker send and receive.
///
/// ```
/// use workflow_client::converter::{CodecError, PayloadCodec};
/// use workflow_client::proto::common::Payload;
///
/// /// Reverses the bytes; a stand-in for real encryption.
/// struct Reverse;
/// #[workflow_client::async_trait]
/// impl PayloadCodec for Reverse {
///     async fn encode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
///         payloads.iter_mut().for_each(|p| p.data.reverse());
///         Ok(payloads)
///     }
///     async fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
///         self.encode(payloads).await
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait PayloadCodec: Send + Sync + 'static {
    /// Transforms payloads on their way out.
    async fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
    /// Reverses [`PayloadCodec::encode`] on payloads coming in.
    async fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError>;
}

/// Converts values to payloads and back, with an optional codec. Cheap to clone.
#[derive(Clone, Default)]
pub struct DataConverter {
    codec: Option<Arc<dyn PayloadCodec>>,
    /// Whether failures sent carry their message and stack trace in `encoded_attributes`.
    encode_failure_attributes: bool,
}

/// The message a failure carries in the clear once its text moved to `encoded_attributes`
/// (the official SDKs write the same).
pub const ENCODED_FAILURE_MESSAGE: &str = "Encoded failure";

impl std::fmt::Debug for DataConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataConverter")
            .field("codec", &self.codec.as_ref().map(|_| "…"))
            .field("encode_failure_attributes", &self.encode_failure_attributes)
            .finish()
    }
}

/// A conversion error: the value side or the codec side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A value did not encode or a payload did not decode.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The codec refused.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl DataConverter {
    /// The default converter (JSON, no codec).
    pub fn new() -> Self {
        Self::default()
    }

    /// A converter that runs every payload through `codec`.
    pub fn with_codec(codec: impl PayloadCodec) -> Self {
        DataConverter {
            codec: Some(Arc::new(codec)),
            encode_failure_attributes: false,
        }
    }

    /// Moves the message and stack trace of every failure this side sends into the failure's
    /// `encoded_attributes` (a JSON payload that goes through the codec, so an encrypting codec
    /// hides them too); the failure keeps only the message `"Encoded failure"` in the clear.
    /// Failures that arrive that way are decoded whatever this setting, as in every official
    /// SDK, so the other side's setting is what matters.
    ///
    /// ```
    /// # use workflow_client::DataConverter;
    /// # use workflow_client::codecs::ZlibCodec;
    /// let converter = DataConverter::with_codec(ZlibCodec::default()).encode_failure_attributes(true);
    /// assert!(converter.encodes_outgoing());
    /// ```
    pub fn encode_failure_attributes(mut self, on: bool) -> Self {
        self.encode_failure_attributes = on;
        self
    }

    /// Whether a codec is configured (without one, payloads pass through untouched).
    pub fn has_codec(&self) -> bool {
        self.codec.is_some()
    }

    /// Whether anything this side sends is changed on its way out (a codec, or failure
    /// attributes to encode).
    pub fn encodes_outgoing(&self) -> bool {
        self.codec.is_some() || self.encode_failure_attributes
    }

    /// Applies the codec's encode to an optional payload list in place.
    pub async fn encode_in_place(&self, slot: &mut Option<Payloads>) -> Result<(), ConvertError> {
        if let Some(p) = slot.take() {
            *slot = Some(self.encode_raw(p.payloads).await?);
        }
        Ok(())
    }

    /// Applies the codec's decode to an optional payload list in place.
    pub async fn decode_in_place(&self, slot: &mut Option<Payloads>) -> Result<(), ConvertError> {
        if slot.is_some() {
            *slot = Some(Payloads {
                payloads: self.decode_raw(slot.take()).await?,
            });
        }
        Ok(())
    }

    /// Encodes an argument list: one payload per element, then the codec.
    pub async fn encode_args<A: PayloadArgs>(&self, args: &A) -> Result<Payloads, ConvertError> {
        let payloads = args.to_payloads()?;
        self.encode_raw(payloads).await
    }

    /// Decodes an argument list: the codec, then one element per payload.
    pub async fn decode_args<A: PayloadArgs>(&self, payloads: Option<Payloads>) -> Result<A, ConvertError> {
        let payloads = self.decode_raw(payloads).await?;
        Ok(A::from_payloads(&payloads)?)
    }

    /// Encodes a single value (a result) as one payload.
    pub async fn encode_value<T: Serialize + ?Sized>(&self, value: &T) -> Result<Payloads, ConvertError> {
        let payload = payload::to_payload(value)?;
        self.encode_raw(vec![payload]).await
    }

    /// Decodes a single value (a result); no payload at all reads as `null`.
    pub async fn decode_value<T: DeserializeOwned>(&self, payloads: Option<Payloads>) -> Result<T, ConvertError> {
        let payloads = self.decode_raw(payloads).await?;
        Ok(payload::from_optional_payload(payloads.first())?)
    }

    /// Applies the codec's encode to raw payloads.
    pub async fn encode_raw(&self, payloads: Vec<Payload>) -> Result<Payloads, ConvertError> {
        let payloads = match &self.codec {
            Some(codec) if !payloads.is_empty() => codec.encode(payloads).await?,
            _ => payloads,
        };
        Ok(Payloads { payloads })
    }

    /// Applies the codec's decode to raw payloads.
    pub async fn decode_raw(&self, payloads: Option<Payloads>) -> Result<Vec<Payload>, ConvertError> {
        let payloads = payloads.map(|p| p.payloads).unwrap_or_default();
        Ok(match &self.codec {
            Some(codec) if !payloads.is_empty() => codec.decode(payloads).await?,
            _ => payloads,
        })
    }

    /// Applies the codec's encode to each value of a map (memo fields), one payload at a time.
    pub async fn encode_map(&self, map: &HashMap<String, Payload>) -> Result<HashMap<String, Payload>, ConvertError> {
        let mut encoded = HashMap::with_capacity(map.len());
        for (key, value) in map {
            let mut payloads = self.encode_raw(vec![value.clone()]).await?.payloads;
            encoded.insert(key.clone(), payloads.pop().unwrap_or_default());
        }
        Ok(encoded)
    }

    /// Applies the codec's decode to each value of a map (memo fields), one payload at a time.
    pub async fn decode_map(&self, map: HashMap<String, Payload>) -> Result<HashMap<String, Payload>, ConvertError> {
        let mut decoded = HashMap::with_capacity(map.len());
        for (key, value) in map {
            let mut payloads = self.decode_raw(Some(Payloads { payloads: vec![value] })).await?;
            decoded.insert(key, payloads.pop().unwrap_or_default());
        }
        Ok(decoded)
    }

    /// Applies the codec's encode to every payload inside a failure and its causes.
    pub async fn encode_failure(&self, failure: &mut ProtoFailure) -> Result<(), ConvertError> {
        self.transform_failure(failure, true).await
    }

    /// Applies the codec's decode to every payload inside a failure and its causes.
    pub async fn decode_failure(&self, failure: &mut ProtoFailure) -> Result<(), ConvertError> {
        self.transform_failure(failure, false).await
    }

    async fn transform_failure(&self, failure: &mut ProtoFailure, encode: bool) -> Result<(), ConvertError> {
        let mut current = Some(failure);
        while let Some(f) = current {
            if encode && self.encode_failure_attributes {
                let text = serde_json::json!({ "message": f.message, "stack_trace": f.stack_trace });
                let attributes = payload::to_payload(&text)?;
                f.encoded_attributes = self.encode_raw(vec![attributes]).await?.payloads.pop();
                f.message = ENCODED_FAILURE_MESSAGE.to_string();
                f.stack_trace.clear();
            } else if !encode && let Some(attributes) = f.encoded_attributes.take() {
                let decoded = self
                    .decode_raw(Some(Payloads {
                        payloads: vec![attributes],
                    }))
                    .await?;
                let text: serde_json::Value = match decoded.first() {
                    Some(p) => payload::from_payload(p)?,
                    None => serde_json::Value::Null,
                };
                if let Some(message) = text.get("message").and_then(|m| m.as_str()) {
                    f.message = message.to_string();
                }
                if let Some(trace) = text.get("stack_trace").and_then(|m| m.as_str()) {
                    f.stack_trace = trace.to_string();
                }
            }
            if self.codec.is_none() {
                current = f.cause.as_deref_mut();
                continue;
            }
            let slot = match f.failure_info.as_mut() {
                Some(FailureInfo::ApplicationFailureInfo(i)) => i.details.as_mut(),
                Some(FailureInfo::CanceledFailureInfo(i)) => i.details.as_mut(),
                Some(FailureInfo::TimeoutFailureInfo(i)) => i.last_heartbeat_details.as_mut(),
                Some(FailureInfo::ResetWorkflowFailureInfo(i)) => i.last_heartbeat_details.as_mut(),
                _ => None,
            };
            if let Some(slot) = slot {
                let taken = std::mem::take(&mut slot.payloads);
                slot.payloads = if encode {
                    self.encode_raw(taken).await?.payloads
                } else {
                    self.decode_raw(Some(Payloads { payloads: taken })).await?
                };
            }
            current = f.cause.as_deref_mut();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Xor;
    #[async_trait::async_trait]
    impl PayloadCodec for Xor {
        async fn encode(&self, mut ps: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            for p in &mut ps {
                p.data.iter_mut().for_each(|b| *b ^= 0x5a);
            }
            Ok(ps)
        }
        async fn decode(&self, ps: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
            self.encode(ps).await
        }
    }

    #[tokio::test]
    async fn codec_applies_both_ways() {
        let dc = DataConverter::with_codec(Xor);
        let encoded = dc.encode_args(&("hello".to_string(), 5u8)).await.unwrap();
        assert_ne!(encoded.payloads[0].data, b"\"hello\"");
        let (s, n): (String, u8) = dc.decode_args(Some(encoded)).await.unwrap();
        assert_eq!((s.as_str(), n), ("hello", 5));
    }

    #[tokio::test]
    async fn codec_reaches_failure_causes() {
        let dc = DataConverter::with_codec(Xor);
        let details = payload::to_payload(&"secret").unwrap();
        let inner = crate::failure::Failure::application("inner", "Inner").with_details(vec![details.clone()]);
        let outer = crate::failure::Failure::application("outer", "Outer").with_cause(inner);
        let mut proto: ProtoFailure = outer.into();
        dc.encode_failure(&mut proto).await.unwrap();
        let Some(FailureInfo::ApplicationFailureInfo(i)) = &proto.cause.as_ref().unwrap().failure_info else {
            panic!("cause lost its kind")
        };
        assert_ne!(i.details.as_ref().unwrap().payloads[0].data, details.data);
        dc.decode_failure(&mut proto).await.unwrap();
        let back = crate::failure::Failure::from(proto);
        let cause = back.cause.unwrap();
        assert_eq!(cause.details::<String>().unwrap(), "secret");
    }
}
