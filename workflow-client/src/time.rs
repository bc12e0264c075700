//! Conversions between Rust time types and the protobuf well-known types.

use crate::proto::{Duration as ProtoDuration, Timestamp};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Rust duration as a protobuf duration (saturating at `i64::MAX` seconds).
pub fn to_proto_duration(d: Duration) -> ProtoDuration {
    ProtoDuration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos() as i32,
    }
}

/// A protobuf duration as a Rust duration (negative durations read as zero).
pub fn from_proto_duration(d: &ProtoDuration) -> Duration {
    if d.seconds < 0 || d.nanos < 0 {
        return Duration::ZERO;
    }
    Duration::new(d.seconds as u64, d.nanos as u32)
}

/// A protobuf timestamp as a `SystemTime`.
pub fn from_timestamp(t: &Timestamp) -> SystemTime {
    let nanos = Duration::from_nanos(t.nanos.max(0) as u64);
    if t.seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(t.seconds as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.seconds.unsigned_abs()) + nanos
    }
}

/// A `SystemTime` as a protobuf timestamp.
pub fn to_timestamp(t: SystemTime) -> Timestamp {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        },
        Err(e) => {
            let d = e.duration();
            let mut seconds = -(d.as_secs() as i64);
            let mut nanos = d.subsec_nanos() as i32;
            if nanos > 0 {
                seconds -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            Timestamp { seconds, nanos }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let d = Duration::new(12, 345);
        assert_eq!(from_proto_duration(&to_proto_duration(d)), d);
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(from_timestamp(&to_timestamp(t)), t);
        let before = UNIX_EPOCH - Duration::new(3, 250);
        assert_eq!(from_timestamp(&to_timestamp(before)), before);
    }
}
