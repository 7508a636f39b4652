//! Interarrival jitter (RFC 3550 §6.4.1, computed as in appendix A.8) and the playout delay it
//! asks for.

use std::time::{Duration, Instant};

/// How many jitters of headroom the target delay keeps above one frame. Three mean deviations
/// cover nearly every packet of a roughly normal delay distribution.
const JITTER_HEADROOM: f64 = 3.0;

/// The RFC 3550 estimate `J += (|D| - J) / 16`, in units of the RTP clock.
#[derive(Clone, Debug)]
pub(crate) struct JitterEstimator {
    clock_rate: u32,
    epoch: Option<Instant>,
    last_transit: Option<f64>,
    /// Smoothed transit time (same 1/16 gain as the jitter), to place a new stream by arrival.
    mean_transit: Option<f64>,
    jitter: f64,
}

impl JitterEstimator {
    pub(crate) fn new(clock_rate: u32) -> Self {
        JitterEstimator { clock_rate, epoch: None, last_transit: None, mean_transit: None, jitter: 0.0 }
    }

    /// Records a packet whose (offset-corrected) timestamp is `media_time` and that arrived at
    /// `now`.
    pub(crate) fn observe(&mut self, now: Instant, media_time: i64) {
        let transit = self.arrival_units(now) - media_time as f64;
        let mean = self.mean_transit.get_or_insert(transit);
        *mean += (transit - *mean) / 16.0;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    fn arrival_units(&mut self, now: Instant) -> f64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_secs_f64() * f64::from(self.clock_rate)
    }

    /// The media time that a packet arriving at `now` would have on the timeline so far, from the
    /// smoothed transit; `None` before the first packet.
    pub(crate) fn expected_media_time(&self, now: Instant) -> Option<i64> {
        let (epoch, mean) = (self.epoch?, self.mean_transit?);
        let arrival = now.saturating_duration_since(epoch).as_secs_f64() * f64::from(self.clock_rate);
        Some((arrival - mean).round() as i64)
    }

    /// Forgets the transit time after a timestamp-base change, keeping the estimate.
    pub(crate) fn restart(&mut self) {
        self.last_transit = None;
    }

    /// The estimate in RTP clock units (the value an RTCP receiver report carries).
    pub(crate) fn jitter_units(&self) -> f64 {
        self.jitter
    }

    /// The estimate as a duration.
    pub(crate) fn jitter(&self) -> Duration {
        Duration::from_secs_f64(self.jitter / f64::from(self.clock_rate.max(1)))
    }

    /// One frame plus [`JITTER_HEADROOM`] jitters, clamped to `[min, max]`.
    pub(crate) fn target_delay(&self, frame: Duration, min: Duration, max: Duration) -> Duration {
        (frame + self.jitter().mul_f64(JITTER_HEADROOM)).clamp(min, max.max(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_transit_has_no_jitter_and_one_step_is_a_sixteenth() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut e = JitterEstimator::new(8000);
        for i in 0..10 {
            e.observe(t0 + ms(20 * i), 160 * i as i64);
        }
        assert_eq!(e.jitter_units(), 0.0);
        // The next packet is 10 ms (80 units) late: J = 80 / 16 = 5.
        e.observe(t0 + ms(210), 1600);
        assert!((e.jitter_units() - 5.0).abs() < 1e-9);
        // Back on time: D = 80 again, J = 5 + (80 - 5) / 16.
        e.observe(t0 + ms(220), 1760);
        assert!((e.jitter_units() - (5.0 + 75.0 / 16.0)).abs() < 1e-9);
    }

    #[test]
    fn target_delay_is_clamped() {
        let mut e = JitterEstimator::new(8000);
        let ms = Duration::from_millis;
        assert_eq!(e.target_delay(ms(20), ms(40), ms(200)), ms(40));
        e.jitter = 8000.0; // one second
        assert_eq!(e.target_delay(ms(20), ms(40), ms(200)), ms(200));
    }
}
