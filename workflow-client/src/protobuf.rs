//! Protobuf messages as payloads: `json/protobuf` and `binary/protobuf`, with the message's full
//! name under `messageType`, as the Go, Java, Python and TypeScript SDKs write them.
//!
//! Wrap a [`prost`] message in [`Proto`] (proto3 JSON) or [`ProtoBinary`] (the protobuf wire
//! format) and use it wherever a serde value goes: a workflow, activity, signal, query or update
//! argument or result, failure details. Each wrapper picks the encoding its values are *sent*
//! with; both *read* either encoding, as the other SDKs do (they pick the decoder by the
//! payload's `encoding`). A payload of another encoding, or of another `messageType`, is a
//! [`PayloadError`] ([`PayloadError::EncodingMismatch`], [`PayloadError::MessageTypeMismatch`]);
//! a payload without `messageType` (the Go SDK can leave it out) is read as the expected type.
//!
//! ```
//! use workflow_client::payload::{from_payload, to_payload};
//! use workflow_client::proto::common::WorkflowExecution;
//! use workflow_client::protobuf::{Proto, ProtoBinary};
//!
//! let run = WorkflowExecution { workflow_id: "order-7".into(), run_id: "r1".into() };
//! let json = to_payload(&Proto(run.clone())).unwrap();
//! assert_eq!(json.metadata["encoding"], b"json/protobuf");
//! assert_eq!(json.metadata["messageType"], b"temporal.api.common.v1.WorkflowExecution");
//! assert_eq!(json.data, br#"{"workflowId":"order-7","runId":"r1"}"#);
//! let binary = to_payload(&ProtoBinary(run.clone())).unwrap();
//! assert_eq!(binary.metadata["encoding"], b"binary/protobuf");
//! // Either wrapper reads either encoding.
//! assert_eq!(from_payload::<Proto<WorkflowExecution>>(&binary).unwrap().0, run);
//! ```
//!
//! Inside another value (a struct field, a `Vec`), a wrapper is its message's proto3 JSON within
//! that value's `json/plain` payload; `Option<Proto<M>>` is `binary/null` or a protobuf payload.
//!
//! The JSON mapping is the canonical proto3 one (lowerCamelCase names, enums by name, 64-bit
//! integers as strings, well-known types such as `Duration` and `Timestamp` as strings), done by
//! [`prost_reflect`] from the message's descriptor. The Temporal API's descriptors are built in;
//! an application's own messages need theirs registered once with [`register_descriptors`]
//! (the `FileDescriptorSet` that `prost-build` writes with `file_descriptor_set_path`, or that
//! `protox` returns). `binary/protobuf` needs no descriptor. Unknown JSON fields (from a sender
//! with a newer schema) are skipped, as unknown fields are in the binary format.

use crate::payload::{BINARY_PROTOBUF, JSON_PROTOBUF, PayloadError};
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};
use serde::ser::{self, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;
use std::sync::{OnceLock, RwLock};

/// The newtype name by which the payload converter recognises a protobuf value.
pub(crate) const MARKER: &str = "$workflow_client::protobuf";

/// The Temporal API's descriptors, which `temporalio-protos` builds (see `build.rs`).
static TEMPORAL_DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));

macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident, $encoding:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
        pub struct $name<M>(pub M);

        impl<M> $name<M> {
            /// The message.
            pub fn into_inner(self) -> M {
                self.0
            }
        }

        impl<M> From<M> for $name<M> {
            fn from(message: M) -> Self {
                $name(message)
            }
        }

        impl<M> std::ops::Deref for $name<M> {
            type Target = M;
            fn deref(&self) -> &M {
                &self.0
            }
        }

        impl<M> std::ops::DerefMut for $name<M> {
            fn deref_mut(&mut self) -> &mut M {
                &mut self.0
            }
        }

        impl<M: Message + Name> Serialize for $name<M> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_newtype_struct(
                    MARKER,
                    &Wire {
                        encoding: $encoding,
                        message: &self.0,
                    },
                )
            }
        }

        impl<'de, M: Message + Name + Default> serde::Deserialize<'de> for $name<M> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer
                    .deserialize_newtype_struct(MARKER, WireVisitor(PhantomData))
                    .map($name)
            }
        }
    };
}

wrapper!(
    /// A protobuf message sent as a `json/protobuf` payload (proto3 JSON), the encoding the
    /// official SDKs' default converters use for protobuf values. Reads `json/protobuf` and
    /// `binary/protobuf` payloads. Needs the message's descriptor (built in for the Temporal
    /// API; [`register_descriptors`] for others).
    Proto,
    JSON_PROTOBUF
);

wrapper!(
    /// A protobuf message sent as a `binary/protobuf` payload (the protobuf wire format):
    /// smaller and faster than JSON, and needs no descriptor to send. Reads `binary/protobuf`
    /// and `json/protobuf` payloads (the latter needs the descriptor, as for [`Proto`]).
    ProtoBinary,
    BINARY_PROTOBUF
);

/// Adds an application's message descriptors (an encoded `google.protobuf.FileDescriptorSet`)
/// to those the JSON mapping knows, so its messages can travel as [`Proto`]. Files already
/// known (such as the well-known types, or Temporal's own) are skipped; a set that does not
/// decode or link leaves the known descriptors as they were.
///
/// ```no_run
/// // build.rs: prost_build::Config::new()
/// //     .enable_type_names()                                   // `prost::Name` for each message
/// //     .file_descriptor_set_path(out_dir.join("descriptors.bin"))
/// //     .compile_protos(&["proto/shop/v1/shipment.proto"], &["proto"])?;
/// # macro_rules! include_bytes { ($($path:tt)*) => { &[] } }
/// # fn main() -> Result<(), workflow_client::PayloadError> {
/// // At startup, before the first `Proto<shop::v1::Shipment>` travels:
/// workflow_client::protobuf::register_descriptors(include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin")))?;
/// # Ok(()) }
/// ```
pub fn register_descriptors(file_descriptor_set: &[u8]) -> Result<(), PayloadError> {
    let lock = pool()?;
    let mut known = lock.write().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut extended = known.clone();
    extended
        .decode_file_descriptor_set(file_descriptor_set)
        .map_err(|e| PayloadError::InvalidDescriptors { reason: e.to_string() })?;
    *known = extended;
    Ok(())
}

fn pool() -> Result<&'static RwLock<DescriptorPool>, PayloadError> {
    static POOL: OnceLock<Result<RwLock<DescriptorPool>, String>> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(TEMPORAL_DESCRIPTORS)
            .map(RwLock::new)
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| PayloadError::InvalidDescriptors {
        reason: format!("the Temporal API descriptor set is unreadable: {e}"),
    })
}

/// The descriptor of the message named `full_name` (`temporal.api.common.v1.WorkflowExecution`).
pub(crate) fn descriptor(full_name: &str) -> Result<MessageDescriptor, PayloadError> {
    let known = pool()?.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    known
        .get_message_by_name(full_name)
        .ok_or_else(|| PayloadError::UnknownMessageType {
            message_type: full_name.to_string(),
        })
}

/// `message` as its descriptor's dynamic counterpart.
pub(crate) fn to_dynamic<M: Message + Name>(message: &M) -> Result<DynamicMessage, PayloadError> {
    DynamicMessage::decode(descriptor(&M::full_name())?, message.encode_to_vec().as_slice()).map_err(|e| {
        PayloadError::Encode {
            type_name: std::any::type_name::<M>(),
            reason: format!("{} does not match its descriptor: {e}", M::full_name()),
        }
    })
}

/// `message` in `encoding` (`json/protobuf`: compact proto3 JSON; `binary/protobuf`).
pub(crate) fn encode_data<M: Message + Name>(encoding: &str, message: &M) -> Result<Vec<u8>, PayloadError> {
    if encoding == BINARY_PROTOBUF {
        return Ok(message.encode_to_vec());
    }
    let mut out = Vec::new();
    to_dynamic(message)?
        .serialize_with_options(&mut serde_json::Serializer::new(&mut out), &SerializeOptions::new())
        .map_err(|e| PayloadError::Encode {
            type_name: std::any::type_name::<M>(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// A message from `data` in `encoding`; the error's reason says what went wrong.
fn decode_data<M: Message + Name + Default>(encoding: &str, data: &[u8]) -> Result<M, String> {
    if encoding == BINARY_PROTOBUF {
        return M::decode(data).map_err(|e| e.to_string());
    }
    let descriptor = descriptor(&M::full_name()).map_err(|e| e.to_string())?;
    let mut json = serde_json::Deserializer::from_slice(data);
    let dynamic =
        DynamicMessage::deserialize_with_options(descriptor, &mut json, &json_options()).map_err(|e| e.to_string())?;
    json.end().map_err(|e| e.to_string())?;
    dynamic.transcode_to::<M>().map_err(|e| e.to_string())
}

fn json_options() -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(false)
}

/// How a protobuf value crosses a serializer that is not the payload converter's: proto3 JSON
/// in human-readable formats, otherwise an envelope of encoding, message type and data.
struct Wire<'a, M> {
    encoding: &'static str,
    message: &'a M,
}

impl<M: Message + Name> Serialize for Wire<'_, M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let dynamic = to_dynamic(self.message).map_err(ser::Error::custom)?;
            return dynamic.serialize_with_options(serializer, &SerializeOptions::new());
        }
        let data = encode_data(self.encoding, self.message).map_err(ser::Error::custom)?;
        serializer.serialize_bytes(&envelope::join(self.encoding, &M::full_name(), &data))
    }
}

struct WireVisitor<M>(PhantomData<M>);

/// The message type a wrapper expects, as serde's `Expected`.
struct Named(String);

impl de::Expected for Named {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de, M: Message + Name + Default> Visitor<'de> for WireVisitor<M> {
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "protobuf message `{}`", M::full_name())
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<M, D::Error> {
        if !deserializer.is_human_readable() {
            return deserializer.deserialize_bytes(self);
        }
        let descriptor = descriptor(&M::full_name()).map_err(de::Error::custom)?;
        DynamicMessage::deserialize_with_options(descriptor, deserializer, &json_options())?
            .transcode_to::<M>()
            .map_err(de::Error::custom)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<M, E> {
        let (encoding, message_type, data) = envelope::split(bytes).ok_or_else(|| E::custom("not a protobuf value"))?;
        let expected = M::full_name();
        if !message_type.is_empty() && message_type != expected {
            return Err(E::invalid_value(Unexpected::Other(message_type), &Named(expected)));
        }
        decode_data(encoding, data).map_err(E::custom)
    }
}

/// A protobuf value between its wrapper and the payload converter: the encoding, the message
/// type (empty when unknown) and the data, joined by NUL (which no encoding or type name holds).
pub(crate) mod envelope {
    /// Joins the three parts.
    pub(crate) fn join(encoding: &str, message_type: &str, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(encoding.len() + message_type.len() + data.len() + 2);
        out.extend_from_slice(encoding.as_bytes());
        out.push(0);
        out.extend_from_slice(message_type.as_bytes());
        out.push(0);
        out.extend_from_slice(data);
        out
    }

    /// Splits what [`join`] made.
    pub(crate) fn split(envelope: &[u8]) -> Option<(&str, &str, &[u8])> {
        let mut parts = envelope.splitn(3, |b| *b == 0);
        let encoding = std::str::from_utf8(parts.next()?).ok()?;
        let message_type = std::str::from_utf8(parts.next()?).ok()?;
        Some((encoding, message_type, parts.next()?))
    }
}

/// Decodes a `json/protobuf` or `binary/protobuf` payload's parts as `T`, which must be a
/// protobuf wrapper (possibly in an `Option` or a newtype).
pub(crate) fn decode<T: DeserializeOwned>(encoding: &str, message_type: &str, data: &[u8]) -> Result<T, PayloadError> {
    let envelope = envelope::join(encoding, message_type, data);
    T::deserialize(PayloadDeserializer::Payload(&envelope)).map_err(|e| match e {
        DeError::NotProtobuf | DeError::IsProtobuf => PayloadError::EncodingMismatch {
            type_name: std::any::type_name::<T>(),
            encoding: encoding.to_string(),
            reads: NOT_PROTOBUF_READS,
        },
        DeError::MessageType { expected, found } => PayloadError::MessageTypeMismatch { expected, found },
        DeError::Other(reason) => PayloadError::Decode {
            type_name: std::any::type_name::<T>(),
            encoding: encoding.to_string(),
            reason: crate::payload::redact(reason),
        },
    })
}

/// What a type that is not a protobuf wrapper reads, for [`PayloadError::EncodingMismatch`].
const NOT_PROTOBUF_READS: &str = "`json/plain`, `binary/null` and `binary/plain` payloads \
     (a protobuf payload decodes as `Proto<M>` or `ProtoBinary<M>`)";

/// What a protobuf wrapper reads, for [`PayloadError::EncodingMismatch`].
pub(crate) const PROTOBUF_READS: &str = "`json/protobuf` and `binary/protobuf` payloads";

/// Whether `T` is a protobuf wrapper (or a newtype around one), which reads only protobuf
/// payloads. Costs one refused call of `T`'s `Deserialize`.
pub(crate) fn is_protobuf<T: DeserializeOwned>() -> bool {
    matches!(T::deserialize(PayloadDeserializer::Probe), Err(DeError::IsProtobuf))
}

/// The deserializer the payload converter hands a protobuf payload to (or, as `Probe`, any
/// type it wants to know about): it answers a protobuf wrapper, through newtypes and `Option`,
/// and refuses everything else.
#[derive(Clone, Copy)]
enum PayloadDeserializer<'a> {
    Payload(&'a [u8]),
    Probe,
}

#[derive(Debug)]
enum DeError {
    /// The type is not a protobuf wrapper.
    NotProtobuf,
    /// (Probe) the type is a protobuf wrapper.
    IsProtobuf,
    MessageType {
        expected: String,
        found: String,
    },
    Other(String),
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::NotProtobuf => f.write_str("not a protobuf wrapper"),
            DeError::IsProtobuf => f.write_str("a protobuf wrapper"),
            DeError::MessageType { expected, found } => write!(f, "message type `{found}`, expected `{expected}`"),
            DeError::Other(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Other(msg.to_string())
    }

    fn invalid_value(unexpected: Unexpected, expected: &dyn de::Expected) -> Self {
        match unexpected {
            // Only the wrappers' visitor reaches this deserializer's values.
            Unexpected::Other(found) => DeError::MessageType {
                expected: expected.to_string(),
                found: found.to_string(),
            },
            other => DeError::Other(format!("invalid value: {other}, expected {expected}")),
        }
    }
}

impl<'de> Deserializer<'de> for PayloadDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DeError> {
        Err(DeError::NotProtobuf)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        match (name == MARKER, self) {
            (true, PayloadDeserializer::Payload(envelope)) => visitor.visit_newtype_struct(Envelope(envelope)),
            (true, PayloadDeserializer::Probe) => Err(DeError::IsProtobuf),
            (false, _) => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            PayloadDeserializer::Payload(_) => visitor.visit_some(self),
            // An `Option` reads `binary/null` too: not a wrapper for the converter's purpose.
            PayloadDeserializer::Probe => Err(DeError::NotProtobuf),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The envelope, handed to a wrapper's visitor as bytes.
struct Envelope<'a>(&'a [u8]);

impl<'de> Deserializer<'de> for Envelope<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bytes(self.0)
    }

    fn is_human_readable(&self) -> bool {
        false
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests;
