//! The tuning decisions, driven by hand: poll outcomes into the scaler, injected measurements
//! into resource-based slots, paused time into the rate limiter.

use super::resource::{Admission, Held, admission};
use super::scaler::{INGESTION_PERIOD, PollOutcome, PollerCount, SCALED_UP_POLL_TIMEOUT};
use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(70);

fn task(suggestion: Option<i32>) -> PollOutcome {
    PollOutcome::Answered { task: true, suggestion }
}

fn empty() -> PollOutcome {
    PollOutcome::Answered {
        task: false,
        suggestion: None,
    }
}

fn autoscaling(minimum: usize, maximum: usize, initial: usize) -> PollScaler {
    PollScaler::new(PollerBehavior::Autoscaling {
        minimum,
        maximum,
        initial,
    })
}

#[test]
fn empty_polls_remove_pollers_only_once_the_server_has_suggested_a_change() {
    let s = autoscaling(1, 10, 4);
    // Tasks alone move nothing, and until the server suggests anything, neither do empty
    // polls (nothing would add the pollers back).
    for outcome in [task(None), task(None), empty(), empty(), empty()] {
        s.observe(outcome);
        assert_eq!(s.count().target, 4);
    }
    s.observe(task(Some(0)));
    for expected in [3, 2, 1, 1] {
        s.observe(empty());
        assert_eq!(s.count().target, expected);
    }
}

#[test]
fn the_servers_suggestions_move_the_target_within_bounds() {
    let s = autoscaling(1, 10, 5);
    s.observe(task(Some(-1)));
    assert_eq!(s.count().target, 4);
    s.observe(task(Some(3)));
    assert_eq!(s.count().target, 7);
    s.observe(task(Some(0)));
    assert_eq!(s.count().target, 7);
    s.observe(task(Some(100)));
    assert_eq!(s.count().target, 10);
    s.observe(PollOutcome::Answered {
        task: false,
        suggestion: Some(-20),
    });
    assert_eq!(s.count().target, 1);
}

#[test]
fn a_suggestion_to_poll_more_counts_only_while_tasks_come_in_faster() {
    let s = autoscaling(1, 50, 5);
    // Periods of INGESTION_PERIOD (100 ms) from the scaler's creation, just before `start`:
    // `at(k, i)` is inside period k.
    let start = std::time::Instant::now();
    let at = |period: u64, i: u64| start + INGESTION_PERIOD * period as u32 + Duration::from_millis(10 + i);
    let tasks = |period: u64, n: u64| {
        for i in 0..n {
            s.observe_at(task(None), at(period, i));
        }
    };
    // At first a suggestion to grow is followed.
    tasks(0, 10);
    s.observe_at(task(Some(1)), at(0, 20));
    assert_eq!(s.count().target, 6);
    // Period 0 took 11 tasks (the suggestion's own among them), none before it: followed.
    tasks(1, 11);
    s.observe_at(task(Some(1)), at(1, 20));
    assert_eq!(s.count().target, 7);
    // Period 1 took 12, not 10 % more than 11: suggestions to grow wait, those to shrink do not.
    tasks(2, 20);
    s.observe_at(task(Some(2)), at(2, 30));
    assert_eq!(s.count().target, 7);
    s.observe_at(task(Some(-1)), at(2, 31));
    assert_eq!(s.count().target, 6);
    // Period 2 took 22 after 12: faster again.
    s.observe_at(task(Some(3)), at(3, 0));
    assert_eq!(s.count().target, 9);
    // Quiet periods (nothing taken) end the comparison: growing is allowed again.
    s.observe_at(task(Some(1)), at(9, 0));
    assert_eq!(s.count().target, 10);
}

#[test]
fn an_overloaded_server_halves_the_pollers_and_failures_remove_one() {
    let s = autoscaling(2, 20, 16);
    s.observe(PollOutcome::Overloaded);
    assert_eq!(s.count().target, 8);
    s.observe(PollOutcome::Failed);
    assert_eq!(s.count().target, 7);
    for _ in 0..5 {
        s.observe(PollOutcome::Overloaded);
    }
    assert_eq!(s.count().target, 2);
}

#[test]
fn a_simple_maximum_never_moves_and_polls_long() {
    let s = PollScaler::new(PollerBehavior::SimpleMaximum(3));
    for outcome in [task(Some(5)), empty(), PollOutcome::Overloaded, task(None)] {
        s.observe(outcome);
        assert_eq!(s.count().target, 3);
    }
    assert_eq!(s.poll_timeout(LONG), LONG);
}

#[test]
fn polls_are_short_only_while_scaled_above_the_minimum() {
    let s = autoscaling(1, 5, 1);
    assert_eq!(s.poll_timeout(LONG), LONG);
    s.observe(task(Some(1)));
    assert_eq!(s.poll_timeout(LONG), SCALED_UP_POLL_TIMEOUT);
    s.observe(empty());
    assert_eq!(s.poll_timeout(LONG), LONG);
}

#[tokio::test(start_paused = true)]
async fn turns_wait_while_the_target_is_reached_and_follow_it_down() {
    let s = autoscaling(1, 3, 2);
    let a = s.turn().await;
    let b = s.turn().await;
    assert_eq!(s.count(), PollerCount { active: 2, target: 2 });
    // A third waits until the server suggests one more.
    let third = tokio::time::timeout(Duration::from_secs(1), s.turn()).await;
    assert!(third.is_err(), "a turn beyond the target was given");
    s.observe(task(Some(1)));
    let c = tokio::time::timeout(Duration::from_secs(1), s.turn())
        .await
        .expect("a turn after scaling up");
    assert_eq!(s.count(), PollerCount { active: 3, target: 3 });
    // Down to the minimum: the open polls finish, and only one may start again.
    for _ in 0..2 {
        s.observe(empty());
    }
    drop((a, b, c));
    assert_eq!(s.count(), PollerCount { active: 0, target: 1 });
    let _one = s.turn().await;
    assert!(tokio::time::timeout(Duration::from_secs(1), s.turn()).await.is_err());
}

/// A measurement the test sets, as fractions in thousandths.
#[derive(Clone, Default)]
struct Gauge(Arc<(AtomicU64, AtomicU64)>);

impl Gauge {
    fn set(&self, cpu: f64, memory: f64) {
        self.0.0.store((cpu * 1000.0) as u64, Ordering::Relaxed);
        self.0.1.store((memory * 1000.0) as u64, Ordering::Relaxed);
    }
    fn tuner(&self, cpu: f64, memory: f64) -> ResourceTuner {
        let gauge = self.clone();
        ResourceTuner::with_usage(cpu, memory, move || {
            Ok(Usage {
                cpu: gauge.0.0.load(Ordering::Relaxed) as f64 / 1000.0,
                memory: gauge.0.1.load(Ordering::Relaxed) as f64 / 1000.0,
            })
        })
        .unwrap()
    }
}

fn held(used: usize, since_last_ms: Option<u64>) -> Held {
    Held {
        used,
        class_used: None,
        since_last: since_last_ms.map(Duration::from_millis),
    }
}

#[test]
fn resource_admission_follows_minimum_maximum_throttle_and_measurement() {
    let o = ResourceSlotOptions {
        min_slots: 2,
        max_slots: 5,
        ramp_throttle: Duration::from_millis(50),
    };
    let never = || panic!("measured when the decision does not depend on it");
    // Below the minimum: whatever the use.
    assert_eq!(admission(&o, held(1, Some(0)), never), Admission::Admit);
    // At the maximum: wait for a release.
    assert_eq!(admission(&o, held(5, Some(1000)), never), Admission::WhenReleased);
    // Within the throttle: ask again when it has passed.
    assert_eq!(
        admission(&o, held(3, Some(20)), never),
        Admission::RetryIn(Duration::from_millis(30))
    );
    // Otherwise the measurement decides.
    assert_eq!(admission(&o, held(3, Some(60)), || true), Admission::Admit);
    assert_eq!(admission(&o, held(3, None), || true), Admission::Admit);
    assert_eq!(
        admission(&o, held(3, Some(60)), || false),
        Admission::RetryIn(resource::RECHECK)
    );
    // A class holding nothing gets its first slot, but not beyond the maximum.
    let first = Held {
        class_used: Some(0),
        ..held(3, Some(0))
    };
    assert_eq!(admission(&o, first, never), Admission::Admit);
    let full = Held {
        class_used: Some(0),
        ..held(5, Some(0))
    };
    assert_eq!(admission(&o, full, never), Admission::WhenReleased);
}

#[tokio::test(start_paused = true)]
async fn resource_slots_are_handed_out_while_use_is_under_both_targets() {
    let gauge = Gauge::default();
    gauge.set(0.95, 0.5);
    let tuner = gauge.tuner(0.8, 0.7);
    let slots = Slots::new(&tuner.slots(ResourceSlotOptions {
        min_slots: 1,
        max_slots: 3,
        ramp_throttle: Duration::ZERO,
    }));
    let first = slots.try_acquire().expect("the minimum slot whatever the use");
    assert!(slots.try_acquire().is_none(), "CPU is over its target");
    gauge.set(0.5, 0.75);
    assert!(slots.try_acquire().is_none(), "memory is over its target");
    gauge.set(0.5, 0.5);
    let second = slots.try_acquire().expect("room on both");
    let third = slots.try_acquire().expect("room on both");
    assert!(slots.try_acquire().is_none(), "the maximum");
    assert_eq!(slots.used(), 3);
    drop((first, second, third));
    assert_eq!(slots.used(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_request_gets_its_slot_once_use_falls() {
    let gauge = Gauge::default();
    gauge.set(0.9, 0.1);
    let slots = Slots::new(&gauge.tuner(0.8, 0.9).slots(ResourceSlotOptions::ACTIVITIES));
    let _minimum = slots.acquire().await;
    let waiting = tokio::spawn({
        let slots = slots.clone();
        async move { slots.acquire().await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!waiting.is_finished(), "admitted while CPU was over its target");
    gauge.set(0.3, 0.1);
    let _second = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("admitted within a recheck")
        .unwrap();
    assert_eq!(slots.used(), 2);
}

#[tokio::test(start_paused = true)]
async fn the_ramp_throttle_spaces_slots_beyond_the_minimum() {
    let gauge = Gauge::default();
    let slots = Slots::new(&gauge.tuner(0.8, 0.8).slots(ResourceSlotOptions {
        min_slots: 2,
        max_slots: 100,
        ramp_throttle: Duration::from_millis(50),
    }));
    let start = tokio::time::Instant::now();
    let mut permits = Vec::new();
    let mut times = Vec::new();
    for _ in 0..6 {
        permits.push(slots.acquire().await);
        times.push(start.elapsed());
    }
    // Two at once (the minimum), then one per 50 ms.
    assert_eq!(times[0], Duration::ZERO);
    assert_eq!(times[1], Duration::ZERO);
    for pair in times[1..].windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(50), "{times:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_measurement_admits_only_the_minimum() {
    let tuner = ResourceTuner::with_usage(0.8, 0.8, || {
        Err(TuningError::Parse {
            path: "test".into(),
            detail: "broken".into(),
        })
    })
    .unwrap();
    let slots = Slots::new(&tuner.workflow_task_slots());
    let _a = slots.try_acquire().unwrap();
    let _b = slots.try_acquire().unwrap();
    assert!(slots.try_acquire().is_none());
}

#[tokio::test(start_paused = true)]
async fn each_class_of_asker_gets_a_first_slot() {
    let gauge = Gauge::default();
    gauge.set(1.0, 1.0);
    let slots = Slots::new(&gauge.tuner(0.5, 0.5).slots(ResourceSlotOptions {
        min_slots: 1,
        max_slots: 10,
        ramp_throttle: Duration::ZERO,
    }));
    let (normal, sticky) = (slots.class(), slots.class());
    let _n1 = normal.try_acquire().expect("the minimum");
    assert!(normal.try_acquire().is_none(), "over the targets");
    let s1 = sticky.try_acquire().expect("the sticky queue's first slot");
    assert!(sticky.try_acquire().is_none());
    drop(s1);
    assert!(sticky.try_acquire().is_some(), "its first slot again once released");
}

#[tokio::test(start_paused = true)]
async fn fixed_slots_wait_for_a_release() {
    let slots = Slots::new(&SlotSupplier::Fixed(2));
    let a = slots.acquire().await;
    let _b = slots.acquire().await;
    assert!(slots.try_acquire().is_none());
    let waiting = tokio::spawn({
        let slots = slots.clone();
        async move { slots.acquire().await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!waiting.is_finished());
    drop(a);
    let _c = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .unwrap()
        .unwrap();
    let all = tokio::time::timeout(Duration::from_secs(1), slots.all_released()).await;
    assert!(all.is_err(), "two slots are still held");
}

#[tokio::test(start_paused = true)]
async fn the_rate_limiter_spaces_starts_and_readiness_takes_nothing() {
    let limit = Arc::new(RateLimiter::per_second(5.0));
    let start = tokio::time::Instant::now();
    limit.ready().await;
    limit.ready().await;
    assert_eq!(start.elapsed(), Duration::ZERO, "readiness took a start");
    let mut times = Vec::new();
    for _ in 0..11 {
        limit.waiting().start().await;
        times.push(start.elapsed());
    }
    assert_eq!(times[0], Duration::ZERO);
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::from_millis(200), "{times:?}");
    }
    // Ten intervals after the first: no burst.
    assert!(times[10] >= Duration::from_secs(2));
    // Readiness waits for the next start without taking it.
    limit.ready().await;
    assert!(start.elapsed() >= times[10] + Duration::from_millis(200));
    let before = start.elapsed();
    limit.waiting().start().await;
    assert_eq!(start.elapsed(), before);
}

#[tokio::test(start_paused = true)]
async fn no_poll_is_ready_while_a_polled_task_waits_for_its_start() {
    let limit = Arc::new(RateLimiter::per_second(10.0));
    limit.waiting().start().await;
    // Two tasks arrived together (two polls were open): the second waits an interval.
    let (first, second) = (limit.waiting(), limit.waiting());
    let ready = tokio::spawn({
        let limit = limit.clone();
        async move { limit.ready().await }
    });
    let t0 = tokio::time::Instant::now();
    first.start().await;
    assert!(!ready.is_finished(), "ready while a task waits");
    second.start().await;
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "two starts within an interval"
    );
    tokio::time::timeout(Duration::from_millis(101), ready)
        .await
        .expect("ready an interval after the last start")
        .unwrap();
}

#[test]
fn settings_that_cannot_work_are_named() {
    assert!(PollerBehavior::SimpleMaximum(0).problem().is_some());
    assert!(PollerBehavior::autoscaling().problem().is_none());
    for (minimum, maximum, initial) in [(0, 5, 1), (3, 5, 2), (1, 5, 6)] {
        let b = PollerBehavior::Autoscaling {
            minimum,
            maximum,
            initial,
        };
        assert!(b.problem().is_some(), "{b:?}");
    }
    assert!(SlotSupplier::Fixed(0).problem().is_some());
    let tuner = Gauge::default().tuner(0.5, 0.5);
    assert!(tuner.activity_slots().problem().is_none());
    let upside_down = ResourceSlotOptions {
        min_slots: 5,
        max_slots: 2,
        ramp_throttle: Duration::ZERO,
    };
    assert!(tuner.slots(upside_down).problem().is_some());
    for (cpu, memory) in [(0.0, 0.5), (0.5, 1.5), (f64::NAN, 0.5)] {
        let refused = ResourceTuner::with_usage(cpu, memory, || Ok(Usage { cpu: 0.0, memory: 0.0 }));
        assert!(matches!(refused, Err(TuningError::Target { .. })), "{cpu} {memory}");
    }
}
