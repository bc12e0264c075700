//! Payload conversion: Rust values ↔ Temporal `Payload`s, with the standard encodings.
//!
//! - `binary/null` for `()` and `None` (anything that serializes as JSON `null`),
//! - `binary/plain` for raw bytes ([`Binary`], or any type that serializes as bytes),
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
    if let Ok(bytes) = value.serialize(bytes_probe::BytesProbe) {
        return Ok(payload_with(BINARY_PLAIN, bytes));
    }
    let data = serde_json::to_vec(value).map_err(|e| PayloadError::Encode {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })?;
    if data == b"null" {
        return Ok(payload_with(BINARY_NULL, Vec::new()));
    }
    Ok(payload_with(JSON_PLAIN, data))
}

/// A decoder's message without the payload's own content: serde quotes the offending value
/// (`invalid type: string "4111 1111 1111 1111", expected u64`), and decode errors end up in
/// logs and in failure messages stored unencrypted in history. What kind of value it was,
/// what was expected, and where, stay.
fn redact(reason: String) -> String {
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
            "unsupported encoding `{other}` (this converter reads {JSON_PLAIN}, {BINARY_NULL} and {BINARY_PLAIN}; \
             register a payload codec for anything else)"
        ))),
    }
}

/// Decodes an optional single payload: no payload at all reads as `null` (so `()` and
/// `Option<T>` results work when another SDK sends nothing).
pub fn from_optional_payload<T: DeserializeOwned>(payload: Option<&Payload>) -> Result<T, PayloadError> {
    match payload {
        Some(p) => from_payload(p),
        None => T::deserialize(serde_json::Value::Null).map_err(|e| PayloadError::Decode {
            type_name: std::any::type_name::<T>(),
            encoding: "(no payload)".to_string(),
            reason: redact(e.to_string()),
        }),
    }
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
    let json = crate::history::message_to_json(message).map_err(|e| PayloadError::Encode {
        type_name: std::any::type_name::<M>(),
        reason: e.to_string(),
    })?;
    let mut payload = payload_with(JSON_PROTOBUF, json.into_bytes());
    payload
        .metadata
        .insert(MESSAGE_TYPE_KEY.to_string(), M::full_name().into_bytes());
    Ok(payload)
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
/// newtype struct); everything else is refused at its first call, which costs nothing.
mod bytes_probe {
    use serde::ser::{Impossible, Serialize, Serializer};

    #[derive(Debug)]
    pub(super) struct NotBytes;
    impl std::fmt::Display for NotBytes {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("not bytes")
        }
    }
    impl std::error::Error for NotBytes {}
    impl serde::ser::Error for NotBytes {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            NotBytes
        }
    }

    pub(super) struct BytesProbe;

    macro_rules! refuse {
        ($($method:ident($($arg:ty),*)),* $(,)?) => {
            $(fn $method(self, $(_: $arg),*) -> Result<Vec<u8>, NotBytes> { Err(NotBytes) })*
        };
    }

    impl Serializer for BytesProbe {
        type Ok = Vec<u8>;
        type Error = NotBytes;
        type SerializeSeq = Impossible<Vec<u8>, NotBytes>;
        type SerializeTuple = Impossible<Vec<u8>, NotBytes>;
        type SerializeTupleStruct = Impossible<Vec<u8>, NotBytes>;
        type SerializeTupleVariant = Impossible<Vec<u8>, NotBytes>;
        type SerializeMap = Impossible<Vec<u8>, NotBytes>;
        type SerializeStruct = Impossible<Vec<u8>, NotBytes>;
        type SerializeStructVariant = Impossible<Vec<u8>, NotBytes>;

        fn serialize_bytes(self, v: &[u8]) -> Result<Vec<u8>, NotBytes> {
            Ok(v.to_vec())
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _name: &'static str,
            value: &T,
        ) -> Result<Vec<u8>, NotBytes> {
            value.serialize(self)
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
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Vec<u8>, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Vec<u8>, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotBytes> {
            Err(NotBytes)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, NotBytes> {
            Err(NotBytes)
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
        odd.metadata.insert(ENCODING_KEY.into(), b"json/protobuf".to_vec());
        assert!(
            from_payload::<u64>(&odd)
                .unwrap_err()
                .to_string()
                .contains("unsupported encoding `json/protobuf`")
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
