//! Payload conversion: Rust values ↔ Temporal `Payload`s, with the standard encodings.
//!
//! - `binary/null` for `()` and `None` (anything that serializes as JSON `null`),
//! - `binary/plain` for raw bytes ([`Binary`], or any type that serializes as bytes),
//! - `json/protobuf` and `binary/protobuf` for protobuf messages wrapped in
//!   [`Proto`](crate::protobuf::Proto) and [`ProtoBinary`](crate::protobuf::ProtoBinary)
//!   (see [`protobuf`]),
//! - `json/plain` (serde_json) for everything else.
//!
//! Several arguments are several payloads, as every Temporal SDK sends them: argument lists are
//! tuples implementing [`PayloadArgs`].
//!
//! ```
//! use workflow_client::payload::{from_payload, to_payload, PayloadArgs};
//! let p = to_payload(&vec![1, 2, 3]).unwrap();
//! assert_eq!(p.data, b"[1,2,3]");
//! assert_eq!(from_payload::<Vec<i32>>(&p).unwrap(), vec![1, 2, 3]);
//! let args = ("order-7".to_string(), 3u32).to_payloads().unwrap();
//! assert_eq!(args.len(), 2);
//! ```

use crate::proto::common::Payload;
use crate::protobuf;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The metadata key holding a payload's encoding.
pub const ENCODING_KEY: &str = "encoding";
/// JSON text (serde_json).
pub const JSON_PLAIN: &str = "json/plain";
/// No value: `()` and `None`.
pub const BINARY_NULL: &str = "binary/null";
/// Raw bytes.
pub const BINARY_PLAIN: &str = "binary/plain";
/// The encoding of a protobuf message as proto3 JSON (its type under `messageType`).
pub const JSON_PROTOBUF: &str = "json/protobuf";
/// The encoding of a protobuf message in the protobuf wire format (its type under `messageType`).
pub const BINARY_PROTOBUF: &str = "binary/protobuf";
/// The metadata key naming a protobuf payload's message type.
pub const MESSAGE_TYPE_KEY: &str = "messageType";

/// Why a value could not become a payload or a payload a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// A payload did not decode as the expected Rust type.
    #[error("could not decode a `{encoding}` payload as `{type_name}`: {reason}")]
    Decode {
        /// The Rust type that was expected.
        type_name: &'static str,
        /// The payload's encoding (`json/plain`, …).
        encoding: String,
        /// What went wrong.
        reason: String,
    },
    /// A value could not be serialized.
    #[error("could not encode a `{type_name}` value as a payload: {reason}")]
    Encode {
        /// The Rust type being encoded.
        type_name: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The payload's encoding is not one the expected type reads: a protobuf payload for a
    /// type that is not a protobuf wrapper, or another encoding for a `Proto<M>` or
    /// `ProtoBinary<M>`.
    #[error("a `{encoding}` payload cannot decode as `{type_name}`, which reads {reads}")]
    EncodingMismatch {
        /// The Rust type that was expected.
        type_name: &'static str,
        /// The payload's encoding.
        encoding: String,
        /// The encodings that type reads.
        reads: &'static str,
    },
    /// A protobuf payload holds another message type than the one expected.
    #[error("a protobuf payload of message type `{found}` cannot decode as `{expected}`")]
    MessageTypeMismatch {
        /// The full name of the message the receiving code takes.
        expected: String,
        /// The payload's `messageType`.
        found: String,
    },
    /// The proto3 JSON mapping of a message needs its descriptor, and none is known.
    #[error(
        "no descriptor for protobuf message `{message_type}`: register its file descriptor set with \
         `workflow_client::protobuf::register_descriptors`, or send it as `ProtoBinary`"
    )]
    UnknownMessageType {
        /// The message's full name.
        message_type: String,
    },
    /// A file descriptor set given to `register_descriptors` does not decode or link.
    #[error("invalid protobuf descriptors: {reason}")]
    InvalidDescriptors {
        /// What went wrong.
        reason: String,
    },
    /// The number of payloads does not match the number of arguments.
    #[error("expected {expected} argument payload(s), got {got}")]
    ArgumentCount {
        /// Arguments the receiving code takes.
        expected: usize,
        /// Payloads that arrived.
        got: usize,
    },
}

/// Raw bytes, sent as a `binary/plain` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Binary(pub Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;
        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = Binary;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Binary, E> {
                Ok(Binary(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
                Ok(Binary(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Binary, E> {
                Ok(Binary(v.as_bytes().to_vec()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(Binary(out))
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// Encodes one value as one payload.
pub fn to_payload<T: Serialize + ?Sized>(value: &T) -> Result<Payload, PayloadError> {
    let fail = |reason: String| PayloadError::Encode {
        type_name: std::any::type_name::<T>(),
        reason,
    };
    match value.serialize(bytes_probe::BytesProbe::default()) {
        Ok(bytes_probe::Probed::Bytes(bytes)) => return Ok(payload_with(BINARY_PLAIN, bytes)),
        Ok(bytes_probe::Probed::Protobuf(envelope)) => {
            let (encoding, message_type, data) = protobuf::envelope::split(&envelope)
                .ok_or_else(|| fail("a protobuf wrapper wrote no envelope".to_string()))?;
            return Ok(protobuf_payload(encoding, message_type, data.to_vec()));
        }
        Err(bytes_probe::Refused::Protobuf(reason)) => return Err(fail(reason)),
        Err(_) => {}
    }
    let data = serde_json::to_vec(value).map_err(|e| fail(e.to_string()))?;
    if data == b"null" {
        return Ok(payload_with(BINARY_NULL, Vec::new()));
    }
    Ok(payload_with(JSON_PLAIN, data))
}

/// A decoder's message without the payload's own content: serde quotes the offending value
/// (`invalid type: string "4111 1111 1111 1111", expected u64`), and decode errors end up in
/// logs and in failure messages stored unencrypted in history. What kind of value it was,
/// what was expected, and where, stay.
pub(crate) fn redact(reason: String) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason.as_str();
    while let Some(i) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[i] as char;
        let before = &rest[..i];
        out.push_str(before);
        let value_follows = quote == '"'
            || ["integer ", "floating point ", "variant ", "field ", "char ", "boolean "]
                .iter()
                .any(|w| before.ends_with(w));
        let body = &rest[i + 1..];
        let mut end = None;
        let mut escaped = false;
        for (j, c) in body.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && quote == '"' {
                escaped = true;
            } else if c == quote {
                end = Some(j);
                break;
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[i..]);
            return out;
        };
        out.push(quote);
        out.push_str(if value_follows { "…" } else { &body[..end] });
        out.push(quote);
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Decodes one payload as a value of type `T`.
pub fn from_payload<T: DeserializeOwned>(payload: &Payload) -> Result<T, PayloadError> {
    let encoding = encoding_of(payload);
    if encoding == JSON_PROTOBUF || encoding == BINARY_PROTOBUF {
        let message_type = payload
            .metadata
            .get(MESSAGE_TYPE_KEY)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("");
        return protobuf::decode(encoding, message_type, &payload.data);
    }
    refuse_protobuf_wrapper::<T>(encoding)?;
    let fail = |reason: String| PayloadError::Decode {
        type_name: std::any::type_name::<T>(),
        encoding: encoding.to_string(),
        reason: redact(reason),
    };
    match encoding {
        JSON_PLAIN => serde_json::from_slice(&payload.data).map_err(|e| fail(e.to_string())),
        BINARY_NULL => T::deserialize(serde_json::Value::Null).map_err(|e| fail(e.to_string())),
        BINARY_PLAIN => {
            let de = serde::de::value::BytesDeserializer::<serde::de::value::Error>::new(&payload.data);
            T::deserialize(de).map_err(|e| fail(e.to_string()))
        }
        other => Err(fail(format!(
            "unsupported encoding `{other}` (this converter reads {JSON_PLAIN}, {BINARY_NULL}, {BINARY_PLAIN}, \
             {JSON_PROTOBUF} and {BINARY_PROTOBUF}; register a payload codec for anything else)"
        ))),
    }
}

/// Decodes an optional single payload: no payload at all reads as `null` (so `()` and
/// `Option<T>` results work when another SDK sends nothing).
pub fn from_optional_payload<T: DeserializeOwned>(payload: Option<&Payload>) -> Result<T, PayloadError> {
    const NO_PAYLOAD: &str = "(no payload)";
    match payload {
        Some(p) => from_payload(p),
        None => {
            refuse_protobuf_wrapper::<T>(NO_PAYLOAD)?;
            T::deserialize(serde_json::Value::Null).map_err(|e| PayloadError::Decode {
                type_name: std::any::type_name::<T>(),
                encoding: NO_PAYLOAD.to_string(),
                reason: redact(e.to_string()),
            })
        }
    }
}

/// A protobuf wrapper reads only protobuf payloads (outside one, as a field of a `json/plain`
/// value, it reads proto3 JSON).
fn refuse_protobuf_wrapper<T: DeserializeOwned>(encoding: &str) -> Result<(), PayloadError> {
    if protobuf::is_protobuf::<T>() {
        return Err(PayloadError::EncodingMismatch {
            type_name: std::any::type_name::<T>(),
            encoding: encoding.to_string(),
            reads: protobuf::PROTOBUF_READS,
        });
    }
    Ok(())
}

/// The encoding named in a payload's metadata (`""` when absent or not UTF-8).
pub fn encoding_of(payload: &Payload) -> &str {
    payload
        .metadata
        .get(ENCODING_KEY)
        .and_then(|e| std::str::from_utf8(e).ok())
        .unwrap_or("")
}

/// A Temporal API message as a `json/protobuf` payload, the way the other SDKs' default
/// converters write protobuf values (the message type named in `messageType`).
pub fn to_proto_json_payload<M: prost::Message + prost::Name>(message: &M) -> Result<Payload, PayloadError> {
    let data = protobuf::encode_data(JSON_PROTOBUF, message)?;
    Ok(protobuf_payload(JSON_PROTOBUF, &M::full_name(), data))
}

fn protobuf_payload(encoding: &str, message_type: &str, data: Vec<u8>) -> Payload {
    let mut payload = payload_with(encoding, data);
    if !message_type.is_empty() {
        payload
            .metadata
            .insert(MESSAGE_TYPE_KEY.to_string(), message_type.as_bytes().to_vec());
    }
    payload
}

fn payload_with(encoding: &str, data: Vec<u8>) -> Payload {
    let mut metadata = HashMap::with_capacity(1);
    metadata.insert(ENCODING_KEY.to_string(), encoding.as_bytes().to_vec());
    Payload {
        metadata,
        data,
        ..Default::default()
    }
}

/// An argument list: a tuple of values, one payload each.
///
/// Implemented for `()` and tuples of up to 8 elements whose members are
/// `Serialize + DeserializeOwned`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an argument list",
    label = "arguments are passed as a tuple of serializable values",
    note = "write `()` for no argument, `(value,)` for one, `(a, b)` for two; each element must implement serde's `Serialize` and `Deserialize`"
)]
pub trait PayloadArgs: Sized {
    /// How many payloads this list has.
    const COUNT: usize;
    /// Encodes each element as one payload.
    fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError>;
    /// Decodes exactly [`Self::COUNT`] payloads.
    fn from_payloads(payloads: &[Payload]) -> Result<Self, PayloadError>;
}

impl PayloadArgs for () {
    const COUNT: usize = 0;
    fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError> {
        Ok(Vec::new())
    }
    fn from_payloads(payloads: &[Payload]) -> Result<Self, PayloadError> {
        if payloads.is_empty() {
            Ok(())
        } else {
            Err(PayloadError::ArgumentCount {
                expected: 0,
                got: payloads.len(),
            })
        }
    }
}

macro_rules! tuple_args {
    ($count:expr; $($name:ident $idx:tt),+) => {
        impl<$($name: Serialize + DeserializeOwned),+> PayloadArgs for ($($name,)+) {
            const COUNT: usize = $count;
            fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError> {
                Ok(vec![$(to_payload(&self.$idx)?),+])
            }
            fn from_payloads(payloads: &[Payload]) -> Result<Self, PayloadError> {
                if payloads.len() != $count {
                    return Err(PayloadError::ArgumentCount { expected: $count, got: payloads.len() });
                }
                Ok(($(from_payload::<$name>(&payloads[$idx])?,)+))
            }
        }
    };
}

tuple_args!(1; A 0);
tuple_args!(2; A 0, B 1);
tuple_args!(3; A 0, B 1, C 2);
tuple_args!(4; A 0, B 1, C 2, D 3);
tuple_args!(5; A 0, B 1, C 2, D 3, E 4);
tuple_args!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_args!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_args!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// What a call site may pass for an argument list `Args`: the value itself when there is one
/// argument (or a one-element tuple), a tuple when there are several, `()` when there are none.
///
/// ```
/// use workflow_client::payload::IntoArgs;
/// fn takes<I: IntoArgs<(String,)>>(i: I) -> (String,) { i.into_args() }
/// assert_eq!(takes("Ada".to_string()), ("Ada".to_string(),));
/// assert_eq!(takes(("Ada".to_string(),)), ("Ada".to_string(),));
/// fn takes_two<I: IntoArgs<(u8, bool)>>(i: I) -> (u8, bool) { i.into_args() }
/// assert_eq!(takes_two((1, true)), (1, true));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not match the arguments `{Args}` this call takes",
    label = "expected arguments `{Args}`",
    note = "pass one argument as itself, several as a tuple `(a, b)`, and none as `()`"
)]
pub trait IntoArgs<Args> {
    /// The argument list.
    fn into_args(self) -> Args;
}

impl<T> IntoArgs<(T,)> for T {
    fn into_args(self) -> (T,) {
        (self,)
    }
}

impl IntoArgs<()> for () {
    fn into_args(self) {}
}

macro_rules! tuple_into_args {
    ($($name:ident),+) => {
        impl<$($name),+> IntoArgs<($($name,)+)> for ($($name,)+) {
            fn into_args(self) -> ($($name,)+) {
                self
            }
        }
    };
}

tuple_into_args!(A);
tuple_into_args!(A, B);
tuple_into_args!(A, B, C);
tuple_into_args!(A, B, C, D);
tuple_into_args!(A, B, C, D, E);
tuple_into_args!(A, B, C, D, E, F);
tuple_into_args!(A, B, C, D, E, F, G);
tuple_into_args!(A, B, C, D, E, F, G, H);

/// A serializer that succeeds only for values that serialize as raw bytes (possibly inside a
/// newtype struct) and for protobuf wrappers (possibly inside an `Option`); everything else is
/// refused at its first call, which costs nothing.
mod bytes_probe {
    use serde::ser::{Impossible, Serialize, Serializer};

    /// What a value accepted by the probe is.
    pub(super) enum Probed {
        /// Raw bytes (`binary/plain`).
        Bytes(Vec<u8>),
        /// A protobuf wrapper's envelope (see `protobuf::envelope`).
        Protobuf(Vec<u8>),
    }

    #[derive(Debug)]
    pub(super) enum Refused {
        /// Not bytes and not a protobuf wrapper.
        NotBytes,
        /// The value's own error, left for the JSON path to report.
        Custom(String),
        /// A protobuf wrapper that could not encode its message.
        Protobuf(String),
    }
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Refused::NotBytes => f.write_str("not bytes"),
                Refused::Custom(reason) | Refused::Protobuf(reason) => f.write_str(reason),
            }
        }
    }
    impl std::error::Error for Refused {}
    impl serde::ser::Error for Refused {
        fn custom<T: std::fmt::Display>(msg: T) -> Self {
            Refused::Custom(msg.to_string())
        }
    }

    /// `inside_protobuf`: serializing a protobuf wrapper's envelope, which is bytes to a
    /// serializer that is not human-readable.
    #[derive(Default)]
    pub(super) struct BytesProbe {
        inside_protobuf: bool,
    }

    macro_rules! refuse {
        ($($method:ident($($arg:ty),*)),* $(,)?) => {
            $(fn $method(self, $(_: $arg),*) -> Result<Probed, Refused> { Err(Refused::NotBytes) })*
        };
    }

    impl Serializer for BytesProbe {
        type Ok = Probed;
        type Error = Refused;
        type SerializeSeq = Impossible<Probed, Refused>;
        type SerializeTuple = Impossible<Probed, Refused>;
        type SerializeTupleStruct = Impossible<Probed, Refused>;
        type SerializeTupleVariant = Impossible<Probed, Refused>;
        type SerializeMap = Impossible<Probed, Refused>;
        type SerializeStruct = Impossible<Probed, Refused>;
        type SerializeStructVariant = Impossible<Probed, Refused>;

        fn is_human_readable(&self) -> bool {
            !self.inside_protobuf
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<Probed, Refused> {
            Ok(if self.inside_protobuf {
                Probed::Protobuf(v.to_vec())
            } else {
                Probed::Bytes(v.to_vec())
            })
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            name: &'static str,
            value: &T,
        ) -> Result<Probed, Refused> {
            if name != crate::protobuf::MARKER || self.inside_protobuf {
                return value.serialize(self);
            }
            match value.serialize(BytesProbe { inside_protobuf: true }) {
                Ok(Probed::Protobuf(envelope)) => Ok(Probed::Protobuf(envelope)),
                Err(Refused::Custom(reason) | Refused::Protobuf(reason)) => Err(Refused::Protobuf(reason)),
                Ok(Probed::Bytes(_)) | Err(Refused::NotBytes) => {
                    Err(Refused::Protobuf("a protobuf wrapper wrote no envelope".to_string()))
                }
            }
        }
        fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Probed, Refused> {
            // `Some(Proto(m))` is a protobuf payload, as `None` is `binary/null`; `Some(bytes)`
            // stays a JSON value.
            match value.serialize(self) {
                Ok(Probed::Protobuf(envelope)) => Ok(Probed::Protobuf(envelope)),
                Err(Refused::Protobuf(reason)) => Err(Refused::Protobuf(reason)),
                _ => Err(Refused::NotBytes),
            }
        }
        refuse!(
            serialize_bool(bool),
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            serialize_f32(f32),
            serialize_f64(f64),
            serialize_char(char),
            serialize_str(&str),
            serialize_none(),
            serialize_unit(),
            serialize_unit_struct(&'static str),
            serialize_unit_variant(&'static str, u32, &'static str),
        );
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Probed, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Refused> {
            Err(Refused::NotBytes)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Refused> {
            Err(Refused::NotBytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Order {
        id: String,
        qty: u32,
    }

    #[test]
    fn json_round_trip_uses_json_plain() {
        let order = Order {
            id: "o1".into(),
            qty: 2,
        };
        let p = to_payload(&order).unwrap();
        assert_eq!(encoding_of(&p), JSON_PLAIN);
        assert_eq!(p.data, br#"{"id":"o1","qty":2}"#);
        assert_eq!(from_payload::<Order>(&p).unwrap(), order);
    }

    #[test]
    fn unit_and_none_are_binary_null() {
        let p = to_payload(&()).unwrap();
        assert_eq!(encoding_of(&p), BINARY_NULL);
        assert!(p.data.is_empty());
        from_payload::<()>(&p).unwrap();
        let p = to_payload(&None::<u8>).unwrap();
        assert_eq!(encoding_of(&p), BINARY_NULL);
        assert_eq!(from_payload::<Option<u8>>(&p).unwrap(), None);
        assert_eq!(from_optional_payload::<Option<u8>>(None).unwrap(), None);
    }

    #[test]
    fn binary_is_binary_plain() {
        let p = to_payload(&Binary(vec![0, 159, 255])).unwrap();
        assert_eq!(encoding_of(&p), BINARY_PLAIN);
        assert_eq!(p.data, vec![0, 159, 255]);
        assert_eq!(from_payload::<Binary>(&p).unwrap(), Binary(vec![0, 159, 255]));
        // Vec<u8> is a JSON array, as serde defines it.
        assert_eq!(encoding_of(&to_payload(&vec![1u8]).unwrap()), JSON_PLAIN);
    }

    #[test]
    fn decode_errors_never_repeat_the_payload() {
        let card = to_payload("4111 1111 1111 1111").unwrap();
        let e = from_payload::<u64>(&card).unwrap_err().to_string();
        assert!(!e.contains("4111"), "{e}");
        assert!(e.contains("invalid type: string") && e.contains("u64"), "{e}");
        let pin = to_payload(&-1234i64).unwrap();
        let e = from_payload::<u8>(&pin).unwrap_err().to_string();
        assert!(!e.contains("1234"), "{e}");
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Tier {
            Gold,
            Silver,
        }
        let e = from_payload::<Tier>(&to_payload("secret-tier").unwrap())
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret-tier") && e.contains("Gold"), "{e}");
    }

    #[test]
    fn decode_error_names_type_and_encoding() {
        let p = to_payload("not a number").unwrap();
        let err = from_payload::<u64>(&p).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("`u64`"), "{text}");
        assert!(text.contains("json/plain"), "{text}");
        let mut odd = p.clone();
        odd.metadata.insert(ENCODING_KEY.into(), b"binary/encrypted".to_vec());
        assert!(
            from_payload::<u64>(&odd)
                .unwrap_err()
                .to_string()
                .contains("unsupported encoding `binary/encrypted`")
        );
    }

    #[test]
    fn argument_lists_check_their_count() {
        let ps = ("a".to_string(), 1u8, true).to_payloads().unwrap();
        assert_eq!(ps.len(), 3);
        let (a, b, c) = <(String, u8, bool)>::from_payloads(&ps).unwrap();
        assert_eq!((a.as_str(), b, c), ("a", 1, true));
        assert_eq!(
            <(String, u8)>::from_payloads(&ps).unwrap_err(),
            PayloadError::ArgumentCount { expected: 2, got: 3 }
        );
        assert!(<()>::from_payloads(&ps).is_err());
    }
}
