//! Ramps: a client ramp for a closed loop ([`ClientRamp`]), rate stages for an open
//! loop ([`RateStage`], [`RateSchedule`]), and the parsing of their flags
//! (`--ramp A:B:T`, `--rate-stages R:S,...`) and of durations.

use std::time::Duration;

use crate::error::LoadError;

/// A client ramp (closed loop): `from` clients start at once, and the others of
/// [`LoadSpec::concurrency`](crate::LoadSpec::concurrency) (B) join evenly, so that all
/// B are running at `over`; they keep going until `-n` or `-t` ends the load.
///
/// ```
/// use std::time::Duration;
/// // --ramp 10:1000:30
/// let spec = loadgen::LoadSpec {
///     concurrency: 1000,
///     time_limit: Some(Duration::from_secs(60)),
///     requests: None,
///     ramp: Some(loadgen::ClientRamp { from: 10, over: Duration::from_secs(30) }),
///     ..loadgen::LoadSpec::new("http://127.0.0.1:3000/")
/// };
/// # let _ = spec;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRamp {
    /// A: the clients that start at once (0 is allowed); fewer than B.
    pub from: usize,
    /// T: when the last client starts. Positive.
    pub over: Duration,
}

impl ClientRamp {
    /// When client `client` (0-based) of `to` starts, from the load's start: at once
    /// for `client < from`; else at `over x (client - from + 1) / (to - from)`, so that
    /// the last one starts at `over`.
    pub fn start_offset(&self, client: usize, to: usize) -> Duration {
        if client < self.from || to <= self.from {
            return Duration::ZERO;
        }
        let step = (client - self.from + 1).min(to - self.from) as u128;
        let nanos = self.over.as_nanos() * step / (to - self.from) as u128;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// One stage of an open-loop load: `rate` requests per second for `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStage {
    /// Requests per second; positive.
    pub rate: f64,
    /// How long the stage lasts; positive.
    pub duration: Duration,
}

/// The due times of rate stages, for the whole (unsharded) load.
///
/// Stage `j` (rate `r_j`, lasting `d_j`) starts at `T_{j-1}`, the sum of the durations
/// before it, with `N_{j-1}` requests before it; it holds the requests due before it
/// ends, `ceil(r_j x d_j)` of them, and its request `i` is due at
/// `T_{j-1} + (i - N_{j-1}) / r_j`. The schedule ends with the last stage.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSchedule {
    stages: Vec<RateStage>,
    /// Per stage: its start and the number of its first request.
    starts: Vec<(Duration, u64)>,
    requests: u64,
    duration: Duration,
}

impl RateSchedule {
    /// The schedule of `stages`; a usage error if there are none or one has a rate or
    /// duration that is not positive.
    pub fn new(stages: &[RateStage]) -> Result<RateSchedule, LoadError> {
        if stages.is_empty() {
            return Err(LoadError::InvalidSpec(
                "--rate-stages needs at least one stage".into(),
            ));
        }
        let mut starts = Vec::with_capacity(stages.len());
        let (mut start, mut first) = (Duration::ZERO, 0u64);
        for (n, stage) in stages.iter().enumerate() {
            if !(stage.rate.is_finite() && stage.rate > 0.0) {
                return Err(LoadError::InvalidSpec(format!(
                    "--rate-stages: stage {} has rate {}; it must be a positive number",
                    n + 1,
                    stage.rate
                )));
            }
            if stage.duration.is_zero() {
                return Err(LoadError::InvalidSpec(format!(
                    "--rate-stages: stage {} lasts 0 s; it must last more",
                    n + 1
                )));
            }
            starts.push((start, first));
            start = start.saturating_add(stage.duration);
            first = first.saturating_add(stage_requests(stage));
        }
        Ok(RateSchedule {
            stages: stages.to_vec(),
            starts,
            requests: first,
            duration: start,
        })
    }

    /// When request `request` (numbered from 0 in the whole schedule) is due, from the
    /// load's start; `None` past the last stage's requests.
    pub fn due(&self, request: u64) -> Option<Duration> {
        if request >= self.requests {
            return None;
        }
        // The last stage whose first request is at or before `request`.
        let stage = self
            .starts
            .partition_point(|&(_, first)| first <= request)
            .checked_sub(1)?;
        let (start, first) = self.starts[stage];
        let rate = self.stages[stage].rate;
        let within = Duration::try_from_secs_f64((request - first) as f64 / rate).ok()?;
        Some(start.saturating_add(within))
    }

    /// The stages.
    pub fn stages(&self) -> &[RateStage] {
        &self.stages
    }

    /// Requests in the whole schedule (`N` of the last stage).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The sum of the stages' durations: when the load ends.
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The stages' rates averaged over their durations, requests per second.
    pub fn mean_rate(&self) -> f64 {
        let weighted: f64 = self
            .stages
            .iter()
            .map(|s| s.rate * s.duration.as_secs_f64())
            .sum();
        weighted / self.duration.as_secs_f64()
    }
}

/// The requests a stage holds: the whole numbers `m` with `m / rate < duration`, that is
/// `ceil(rate x duration)` (a product a rounding error away from a whole number counts
/// as that number: 0.3/s for 10 s is 3 requests).
fn stage_requests(stage: &RateStage) -> u64 {
    let exact = stage.rate * stage.duration.as_secs_f64();
    let nearest = exact.round();
    let count = if (exact - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        exact.ceil()
    };
    // `as` saturates; a stage always holds its first request.
    (count as u64).max(1)
}

/// Parses a duration: seconds as a number (`0.5`) or with a unit, `ms` or `s`
/// (`500ms`, `0.5s`); positive and under 10^9 s.
pub fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let (number, scale) = if let Some(ms) = raw.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = raw.strip_suffix('s') {
        (s, 1.0)
    } else {
        (raw, 1.0)
    };
    match number.trim().parse::<f64>().map(|n| n * scale) {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "{raw:?} is not a positive number of seconds (e.g. 0.5, 0.5s or 500ms)"
        )),
    }
}

/// Parses `--ramp A:B:T`: from A to B clients over T seconds (a [`parse_seconds`]
/// duration), with A < B. Returns the ramp and B (the load's `-c`).
pub fn parse_ramp(raw: &str) -> Result<(ClientRamp, usize), LoadError> {
    let bad = |why: String| LoadError::InvalidSpec(format!("{raw:?} is not a ramp A:B:T: {why}"));
    let parts: Vec<&str> = raw.split(':').map(str::trim).collect();
    let [from, to, over] = parts[..] else {
        return Err(bad(
            "give from A to B clients over T seconds (e.g. 10:1000:30)".into(),
        ));
    };
    let clients = |what: &str, text: &str| {
        text.parse::<usize>()
            .map_err(|_| bad(format!("{what} {text:?} is not a whole number of clients")))
    };
    let (from, to) = (clients("A", from)?, clients("B", to)?);
    if from >= to {
        return Err(bad(format!(
            "A ({from}) must be below B ({to}): a ramp adds clients"
        )));
    }
    let over = parse_seconds(over).map_err(|why| bad(format!("T {why}")))?;
    Ok((ClientRamp { from, over }, to))
}

/// Parses `--rate-stages R:S,R:S,...`: requests per second (positive) and for how long
/// (a [`parse_seconds`] duration), stage after stage.
pub fn parse_rate_stages(raw: &str) -> Result<Vec<RateStage>, LoadError> {
    let bad =
        |why: String| LoadError::InvalidSpec(format!("{raw:?} is not rate stages R:S,...: {why}"));
    let mut stages = Vec::new();
    for (n, item) in raw.split(',').enumerate() {
        let item = item.trim();
        let Some((rate, seconds)) = item.split_once(':') else {
            return Err(bad(format!(
                "stage {} is {item:?}, not R:S (R requests per second for S seconds, \
                 e.g. 100:5,200:5)",
                n + 1
            )));
        };
        let rate = match rate.trim().parse::<f64>() {
            Ok(rate) if rate.is_finite() && rate > 0.0 => rate,
            _ => {
                return Err(bad(format!(
                    "stage {}: rate {rate:?} is not a positive number of requests per second",
                    n + 1
                )))
            }
        };
        let duration =
            parse_seconds(seconds.trim()).map_err(|why| bad(format!("stage {}: {why}", n + 1)))?;
        stages.push(RateStage { rate, duration });
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn stage(rate: f64, seconds: f64) -> RateStage {
        RateStage {
            rate,
            duration: secs(seconds),
        }
    }

    #[test]
    fn ramp_start_offsets() {
        // --ramp 2:10:1: clients 0 and 1 at once, then one every 1/8 s, the last at 1 s.
        let ramp = ClientRamp {
            from: 2,
            over: Duration::from_secs(1),
        };
        let offsets: Vec<Duration> = (0..10).map(|k| ramp.start_offset(k, 10)).collect();
        let expected: Vec<Duration> = [0, 0, 125, 250, 375, 500, 625, 750, 875, 1000]
            .into_iter()
            .map(Duration::from_millis)
            .collect();
        assert_eq!(offsets, expected);
        // From 0: the first client starts one step in, the last at T exactly.
        let ramp = ClientRamp {
            from: 0,
            over: Duration::from_secs(30),
        };
        assert_eq!(ramp.start_offset(0, 1000), Duration::from_millis(30));
        assert_eq!(ramp.start_offset(999, 1000), Duration::from_secs(30));
        // 10 -> 1000 over 30 s: client k >= 10 starts at 30 x (k - 9) / 990 s.
        let ramp = ClientRamp {
            from: 10,
            over: Duration::from_secs(30),
        };
        assert_eq!(ramp.start_offset(9, 1000), Duration::ZERO);
        assert_eq!(
            ramp.start_offset(10, 1000),
            Duration::from_nanos(30_303_030)
        );
        assert_eq!(ramp.start_offset(504, 1000), Duration::from_secs(15));
        assert_eq!(ramp.start_offset(999, 1000), Duration::from_secs(30));
        // Non-decreasing; a shard whose share of A is all of its clients starts at once.
        assert!(offsets.windows(2).all(|w| w[0] <= w[1]));
        let all_at_once = ClientRamp {
            from: 2,
            over: Duration::from_secs(1),
        };
        assert_eq!(all_at_once.start_offset(1, 2), Duration::ZERO);
    }

    #[test]
    fn due_times_across_stage_boundaries() {
        // 100/s for 5 s, 200/s for 5 s, 400/s for 10 s.
        let schedule =
            RateSchedule::new(&[stage(100.0, 5.0), stage(200.0, 5.0), stage(400.0, 10.0)])
                .expect("valid stages");
        assert_eq!(schedule.requests(), 500 + 1000 + 4000);
        assert_eq!(schedule.duration(), Duration::from_secs(20));
        let due = |i| schedule.due(i).map(|d| d.as_secs_f64());
        let near = |i: u64, expected: f64| {
            let got = due(i).expect("in the schedule");
            assert!(
                (got - expected).abs() < 1e-9,
                "request {i}: {got} vs {expected}"
            );
        };
        near(0, 0.0);
        near(1, 0.01);
        near(499, 4.99);
        // The second stage starts at 5 s with request 500, every 5 ms.
        near(500, 5.0);
        near(501, 5.005);
        near(1499, 9.995);
        // The third at 10 s with request 1500, every 2.5 ms.
        near(1500, 10.0);
        near(1501, 10.0025);
        near(5499, 19.9975);
        assert_eq!(due(5500), None, "past the last stage");
        assert_eq!(due(u64::MAX), None);
        // Due times never go back, and each lies inside its stage.
        let all: Vec<f64> = (0..5500).filter_map(due).collect();
        assert_eq!(all.len(), 5500);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        assert!((schedule.mean_rate() - (500.0 + 1000.0 + 4000.0) / 20.0).abs() < 1e-9);
    }

    #[test]
    fn stages_that_hold_a_fraction_of_a_request_round_up() {
        // 0.3/s for 10 s: due at 0, 3.33, 6.67 s (3 requests, not 4 by a rounding error);
        // 1.5/s for 1 s: at 10 and 10.67 s; 0.5/s for 1 s: one request, at 11 s.
        let schedule = RateSchedule::new(&[stage(0.3, 10.0), stage(1.5, 1.0), stage(0.5, 1.0)])
            .expect("valid stages");
        assert_eq!(schedule.requests(), 3 + 2 + 1);
        let due: Vec<f64> = (0..6)
            .filter_map(|i| schedule.due(i))
            .map(|d| d.as_secs_f64())
            .collect();
        let expected = [0.0, 10.0 / 3.0, 20.0 / 3.0, 10.0, 10.0 + 2.0 / 3.0, 11.0];
        for (got, want) in due.iter().zip(expected) {
            assert!((got - want).abs() < 1e-9, "{due:?}");
        }
        assert_eq!(due.len(), 6);
    }

    #[test]
    fn bad_schedules_are_usage_errors() {
        for stages in [
            vec![],
            vec![stage(0.0, 1.0)],
            vec![stage(-1.0, 1.0)],
            vec![stage(f64::NAN, 1.0)],
            vec![stage(f64::INFINITY, 1.0)],
            vec![stage(10.0, 1.0), stage(10.0, 0.0)],
        ] {
            let err = RateSchedule::new(&stages).expect_err("invalid");
            assert!(err.is_usage(), "{stages:?}: {err}");
        }
    }

    #[test]
    fn ramp_strings() {
        let ramp = |from, over| ClientRamp { from, over };
        assert_eq!(
            parse_ramp("10:1000:30").expect("valid"),
            (ramp(10, Duration::from_secs(30)), 1000)
        );
        assert_eq!(
            parse_ramp("0:4:500ms").expect("valid"),
            (ramp(0, Duration::from_millis(500)), 4)
        );
        assert_eq!(
            parse_ramp(" 2 : 10 : 1.5s ").expect("valid"),
            (ramp(2, Duration::from_millis(1500)), 10)
        );
        for bad in [
            "",
            "10",
            "10:1000",
            "10:1000:30:4",
            "a:1000:30",
            "10:b:30",
            "-1:10:30",
            "10:10:30",
            "100:10:30",
            "0:0:1",
            "1:10:0",
            "1:10:-1",
            "1:10:soon",
            "1:10:inf",
            "1.5:10:30",
        ] {
            match parse_ramp(bad) {
                Err(err) => {
                    assert!(err.is_usage(), "{bad:?}: {err}");
                    let message = err.to_string();
                    assert!(message.contains("is not a ramp A:B:T: "), "{message}");
                    assert_eq!(message.lines().count(), 1, "{message}");
                }
                Ok(parsed) => panic!("{bad:?} should be rejected, got {parsed:?}"),
            }
        }
        let err = parse_ramp("100:10:30").expect_err("A above B");
        assert!(err.to_string().contains("must be below B"), "{err}");
    }

    #[test]
    fn rate_stage_strings() {
        assert_eq!(
            parse_rate_stages("100:5,200:5,400:10").expect("valid"),
            [stage(100.0, 5.0), stage(200.0, 5.0), stage(400.0, 10.0)]
        );
        assert_eq!(
            parse_rate_stages("0.5:500ms").expect("valid"),
            [stage(0.5, 0.5)]
        );
        assert_eq!(
            parse_rate_stages(" 50 : 1 , 150:1s ").expect("valid"),
            [stage(50.0, 1.0), stage(150.0, 1.0)]
        );
        for bad in [
            "",
            ",",
            "100",
            "100:",
            ":5",
            "100:5,",
            ",100:5",
            "100:5,,200:5",
            "0:5",
            "-100:5",
            "inf:5",
            "NaN:5",
            "x:5",
            "100:0",
            "100:-5",
            "100:5:6",
            "100:forever",
        ] {
            match parse_rate_stages(bad) {
                Err(err) => {
                    assert!(err.is_usage(), "{bad:?}: {err}");
                    let message = err.to_string();
                    assert!(
                        message.contains("is not rate stages R:S,...: "),
                        "{message}"
                    );
                    assert_eq!(message.lines().count(), 1, "{message}");
                }
                Ok(parsed) => panic!("{bad:?} should be rejected, got {parsed:?}"),
            }
        }
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "0", "-1", "soon", "1e10", "NaNs", "ms"] {
            assert!(parse_seconds(bad).is_err(), "{bad:?}");
        }
    }
}
