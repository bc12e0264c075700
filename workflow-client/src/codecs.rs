//! Ready-made payload codecs: AES-256-GCM encryption with keys by id, zlib compression, and a
//! chain that applies several in order.
//!
//! ```
//! use workflow_client::codecs::{AesGcmCodec, CodecChain, ZlibCodec};
//! use workflow_client::converter::DataConverter;
//!
//! let key = [7u8; 32]; // from your secret store, never from code
//! let codec = CodecChain::new()
//!     .then(ZlibCodec::default())                   // compress first…
//!     .then(AesGcmCodec::new("2026-11", key));       // …then encrypt
//! let converter = DataConverter::with_codec(codec);
//! ```

use crate::converter::{CodecError, PayloadCodec};
use crate::proto::common::Payload;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use prost::Message;
use std::collections::HashMap;
use std::io::{Read, Write};

const ENCODING: &str = "encoding";
const ENCRYPTED: &[u8] = b"binary/encrypted";
const KEY_ID: &str = "encryption-key-id";
const CIPHER: &str = "encryption-cipher";
const AES_GCM: &[u8] = b"AES256-GCM";
const ZLIB: &[u8] = b"binary/zlib";
const NONCE_LEN: usize = 12;

/// Encrypts each payload (its data and metadata) with AES-256-GCM under the current key; the
/// key id travels in the payload's metadata, so payloads written under earlier keys still
/// decrypt after a rotation (keep those keys with [`AesGcmCodec::with_old_key`]). Payloads
/// that are not encrypted pass through decoding untouched.
pub struct AesGcmCodec {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for AesGcmCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key material is never printed.
        let mut ids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("AesGcmCodec")
            .field("current_key_id", &self.current)
            .field("key_ids", &ids)
            .finish()
    }
}

impl AesGcmCodec {
    /// Encrypts with `key`, known as `key_id`.
    pub fn new(key_id: impl Into<String>, key: [u8; 32]) -> Self {
        let current = key_id.into();
        let keys = HashMap::from([(current.clone(), Aes256Gcm::new(&key.into()))]);
        AesGcmCodec { current, keys }
    }

    /// Keeps an earlier key to decrypt what was written with it.
    pub fn with_old_key(mut self, key_id: impl Into<String>, key: [u8; 32]) -> Self {
        self.keys.insert(key_id.into(), Aes256Gcm::new(&key.into()));
        self
    }

    fn encrypt(&self, payload: &Payload) -> Result<Payload, CodecError> {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, payload.encode_to_vec().as_slice())
            .map_err(|_| CodecError("AES-GCM encryption failed".into()))?;
        let mut data = nonce.to_vec();
        data.extend(ciphertext);
        Ok(Payload {
            metadata: HashMap::from([
                (ENCODING.to_string(), ENCRYPTED.to_vec()),
                (KEY_ID.to_string(), self.current.as_bytes().to_vec()),
                (CIPHER.to_string(), AES_GCM.to_vec()),
            ]),
            data,
            ..Default::default()
        })
    }

    fn decrypt(&self, payload: Payload) -> Result<Payload, CodecError> {
        if payload.metadata.get(ENCODING).map(Vec::as_slice) != Some(ENCRYPTED) {
            return Ok(payload);
        }
        let key_id = payload
            .metadata
            .get(KEY_ID)
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let cipher = self
            .keys
            .get(&key_id)
            .ok_or_else(|| CodecError(format!("no key `{key_id}` to decrypt a payload with")))?;
        if payload.data.len() < NONCE_LEN {
            return Err(CodecError("an encrypted payload too short to hold its nonce".into()));
        }
        let (nonce, ciphertext) = payload.data.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| CodecError(format!("a payload under key `{key_id}` does not authenticate")))?;
        Payload::decode(plain.as_slice()).map_err(|e| CodecError(format!("a decrypted payload does not decode: {e}")))
    }
}

#[async_trait::async_trait]
impl PayloadCodec for AesGcmCodec {
    async fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads.iter().map(|p| self.encrypt(p)).collect()
    }
    async fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads.into_iter().map(|p| self.decrypt(p)).collect()
    }
}

/// Compresses each payload (data and metadata) with zlib when that makes it smaller than
/// `min_size` bytes saved; other payloads pass unchanged.
#[derive(Debug, Clone)]
pub struct ZlibCodec {
    /// Payloads smaller than this are left alone (default 64 bytes).
    pub min_size: usize,
}

impl Default for ZlibCodec {
    fn default() -> Self {
        ZlibCodec { min_size: 64 }
    }
}

impl ZlibCodec {
    fn compress(&self, payload: Payload) -> Result<Payload, CodecError> {
        let plain = payload.encode_to_vec();
        if plain.len() < self.min_size {
            return Ok(payload);
        }
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(&plain)
            .and_then(|()| encoder.finish())
            .map_err(|e| CodecError(format!("zlib: {e}")))
            .map(|data| {
                if data.len() >= plain.len() {
                    return payload;
                }
                Payload {
                    metadata: HashMap::from([(ENCODING.to_string(), ZLIB.to_vec())]),
                    data,
                    ..Default::default()
                }
            })
    }

    fn decompress(payload: Payload) -> Result<Payload, CodecError> {
        if payload.metadata.get(ENCODING).map(Vec::as_slice) != Some(ZLIB) {
            return Ok(payload);
        }
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(payload.data.as_slice())
            .read_to_end(&mut plain)
            .map_err(|e| CodecError(format!("a zlib payload does not inflate: {e}")))?;
        Payload::decode(plain.as_slice()).map_err(|e| CodecError(format!("an inflated payload does not decode: {e}")))
    }
}

#[async_trait::async_trait]
impl PayloadCodec for ZlibCodec {
    async fn encode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads.into_iter().map(|p| self.compress(p)).collect()
    }
    async fn decode(&self, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        payloads.into_iter().map(Self::decompress).collect()
    }
}

/// Codecs applied one after another when encoding, and in reverse when decoding.
#[derive(Default)]
pub struct CodecChain {
    codecs: Vec<Box<dyn PayloadCodec>>,
}

impl CodecChain {
    /// An empty chain (payloads pass unchanged).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a codec after the ones already there.
    pub fn then(mut self, codec: impl PayloadCodec) -> Self {
        self.codecs.push(Box::new(codec));
        self
    }
}

#[async_trait::async_trait]
impl PayloadCodec for CodecChain {
    async fn encode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        for codec in &self.codecs {
            payloads = codec.encode(payloads).await?;
        }
        Ok(payloads)
    }
    async fn decode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        for codec in self.codecs.iter().rev() {
            payloads = codec.decode(payloads).await?;
        }
        Ok(payloads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{from_payload, to_payload};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn encryption_round_trips_hides_the_data_and_rotates_keys() {
        let secret = to_payload(&"the launch code is 0000").unwrap();
        let old = AesGcmCodec::new("k1", [1; 32]);
        let sealed = block_on(old.encode(vec![secret.clone()])).unwrap();
        assert!(!sealed[0].data.windows(4).any(|w| w == b"0000"));
        assert_eq!(sealed[0].metadata[KEY_ID], b"k1");
        // Two encryptions of the same payload differ (fresh nonce).
        assert_ne!(
            block_on(old.encode(vec![secret.clone()])).unwrap()[0].data,
            sealed[0].data
        );
        // After rotation, new payloads use k2 and old ones still decrypt.
        let rotated = AesGcmCodec::new("k2", [2; 32]).with_old_key("k1", [1; 32]);
        assert_eq!(block_on(rotated.decode(sealed.clone())).unwrap(), vec![secret.clone()]);
        assert_eq!(
            block_on(rotated.encode(vec![secret.clone()])).unwrap()[0].metadata[KEY_ID],
            b"k2"
        );
        // Without the key, or with a tampered byte: a typed error.
        let stranger = AesGcmCodec::new("k9", [9; 32]);
        assert!(
            block_on(stranger.decode(sealed.clone()))
                .unwrap_err()
                .0
                .contains("no key `k1`")
        );
        let mut tampered = sealed.clone();
        let last = tampered[0].data.len() - 1;
        tampered[0].data[last] ^= 1;
        assert!(
            block_on(old.decode(tampered))
                .unwrap_err()
                .0
                .contains("does not authenticate")
        );
        // Plain payloads pass decoding untouched.
        assert_eq!(block_on(old.decode(vec![secret.clone()])).unwrap(), vec![secret]);
        // The key never shows in debug output.
        assert!(!format!("{old:?}").contains("[1, 1"));
    }

    #[test]
    fn compression_shrinks_large_payloads_and_chains_with_encryption() {
        let big = to_payload(&"abc".repeat(1000)).unwrap();
        let small = to_payload(&"hi").unwrap();
        let zlib = ZlibCodec::default();
        let packed = block_on(zlib.encode(vec![big.clone(), small.clone()])).unwrap();
        assert!(packed[0].data.len() < big.data.len() / 10);
        assert_eq!(packed[1], small);
        let chain = CodecChain::new()
            .then(ZlibCodec::default())
            .then(AesGcmCodec::new("k", [3; 32]));
        let sealed = block_on(chain.encode(vec![big.clone()])).unwrap();
        assert_eq!(sealed[0].metadata[ENCODING], ENCRYPTED);
        let opened = block_on(chain.decode(sealed)).unwrap();
        assert_eq!(from_payload::<String>(&opened[0]).unwrap(), "abc".repeat(1000));
    }
}
