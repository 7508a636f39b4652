//! H.264 levels (ITU-T H.264 Table A-1) and fitting a stream into one.
//!
//! A peer that names a lower level than the camera's stream cannot be sent that stream;
//! [`fit_to_level`] gives the largest picture of the configured aspect and the highest frame
//! rate within the level's limits. Plain arithmetic, no encoder.

use super::VideoConfig;

/// The limits of one level (Table A-1): frame size in macroblocks, macroblocks per second,
/// and the baseline-profile bit rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelLimits {
    /// MaxFS: macroblocks per frame.
    pub max_frame_mbs: u32,
    /// MaxMBPS: macroblocks per second.
    pub max_mbs_per_s: u32,
    /// MaxBR × 1000 (cpbBrVclFactor of the baseline profile), bits per second.
    pub max_bitrate_bps: u32,
}

/// The limits of `level_idc` (9 for level 1b, as `profile-level-id` levels are read in the
/// station); `None` for a value Table A-1 does not have.
pub fn level_limits(level_idc: u8) -> Option<LevelLimits> {
    let (fs, mbps, br_kbps) = match level_idc {
        10 => (99, 1485, 64),
        9 => (99, 1485, 128),
        11 => (396, 3000, 192),
        12 => (396, 6000, 384),
        13 => (396, 11880, 768),
        20 => (396, 11880, 2000),
        21 => (792, 19800, 4000),
        22 => (1620, 20250, 4000),
        30 => (1620, 40500, 10000),
        31 => (3600, 108000, 14000),
        32 => (5120, 216000, 20000),
        40 => (8192, 245760, 20000),
        41 => (8192, 245760, 50000),
        42 => (8704, 522240, 50000),
        50 => (22080, 589824, 135000),
        51 => (36864, 983040, 240000),
        52 => (36864, 2073600, 240000),
        _ => return None,
    };
    Some(LevelLimits { max_frame_mbs: fs, max_mbs_per_s: mbps, max_bitrate_bps: br_kbps * 1000 })
}

/// Macroblocks in a `width`×`height` picture.
pub fn frame_mbs(width: u32, height: u32) -> u32 {
    width.div_ceil(16) * height.div_ceil(16)
}

/// Frame rates below this are only taken when even the smallest picture allows no more.
const MIN_FPS: u32 = 10;

/// The stream for a peer at `level_idc`: `configured` itself when it fits; otherwise the
/// largest picture of the configured aspect (width in steps of 16, height even) whose size
/// fits MaxFS and that still allows `min(configured fps, 10)` frames per second, the highest
/// frame rate up to the configured one that MaxMBPS then allows, and the bit rate capped at
/// MaxBR. `None` for an unknown level.
pub fn fit_to_level(level_idc: u8, configured: VideoConfig) -> Option<VideoConfig> {
    let limits = level_limits(level_idc)?;
    let fits = |w: u32, h: u32, fps: u32| {
        let mbs = frame_mbs(w, h);
        mbs <= limits.max_frame_mbs && mbs * fps <= limits.max_mbs_per_s
    };
    let (cw, ch) = (configured.width.max(16), configured.height.max(16));
    let bitrate_bps = configured.bitrate_bps.min(limits.max_bitrate_bps).max(10_000);
    if fits(cw, ch, configured.fps) {
        return Some(VideoConfig { bitrate_bps, ..configured });
    }
    let height_for = |w: u32| ((u64::from(w) * u64::from(ch) / u64::from(cw)) as u32 & !1).max(16);
    let want_fps = configured.fps.clamp(1, MIN_FPS);
    let widths = (1..=cw / 16).rev().map(|n| n * 16);
    let (width, height) = widths
        .map(|w| (w, height_for(w)))
        .find(|&(w, h)| fits(w, h, want_fps))
        .or_else(|| (1..=cw / 16).rev().map(|n| (n * 16, height_for(n * 16))).find(|&(w, h)| fits(w, h, 1)))
        .unwrap_or((16, 16));
    let fps = (limits.max_mbs_per_s / frame_mbs(width, height)).clamp(1, configured.fps.max(1));
    Some(VideoConfig { width, height, fps, bitrate_bps, ..configured })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vga(fps: u32) -> VideoConfig {
        VideoConfig {
            width: 640,
            height: 480,
            fps,
            bitrate_bps: 1_000_000,
            keyframe_interval_s: 2,
            ..VideoConfig::default()
        }
    }

    #[test]
    fn table_a_1_limits_and_unknown_levels() {
        assert_eq!(
            level_limits(12),
            Some(LevelLimits { max_frame_mbs: 396, max_mbs_per_s: 6000, max_bitrate_bps: 384_000 })
        );
        assert_eq!(level_limits(9).unwrap().max_frame_mbs, 99, "level 1b");
        assert_eq!(level_limits(31).unwrap().max_mbs_per_s, 108_000);
        assert_eq!(level_limits(14), None);
        assert_eq!(fit_to_level(14, vga(30)), None);
    }

    #[test]
    fn a_stream_within_the_level_is_kept() {
        assert_eq!(fit_to_level(31, vga(30)), Some(vga(30)));
        let qvga = VideoConfig {
            width: 320,
            height: 240,
            fps: 15,
            bitrate_bps: 300_000,
            keyframe_interval_s: 2,
            ..VideoConfig::default()
        };
        assert_eq!(fit_to_level(12, qvga), Some(qvga), "300 MBs at 15 fps is 4500 MB/s");
    }

    #[test]
    fn vga_is_shrunk_to_the_largest_four_by_three_picture_of_the_level() {
        let fitted = fit_to_level(12, vga(30)).unwrap();
        assert_eq!((fitted.width, fitted.height), (352, 264));
        assert_eq!(frame_mbs(352, 264), 374);
        assert_eq!(fitted.fps, 16, "6000 / 374");
        assert_eq!(fitted.bitrate_bps, 384_000);
        assert_eq!(fitted.keyframe_interval_s, 2);
        fitted.validate().unwrap();
        for level in [9, 10, 11, 12, 13, 20, 21, 22, 30] {
            let f = fit_to_level(level, vga(30)).unwrap();
            let l = level_limits(level).unwrap();
            let mbs = frame_mbs(f.width, f.height);
            assert!(mbs <= l.max_frame_mbs && mbs * f.fps <= l.max_mbs_per_s, "level {level}: {f:?}");
            assert!(f.width * 3 / 4 - f.height <= 2 && f.validate().is_ok(), "level {level}: {f:?}");
        }
        let one = fit_to_level(10, vga(30)).unwrap();
        assert_eq!((one.width, one.height, one.fps), (176, 132, 15));
    }

    #[test]
    fn a_slow_level_takes_a_smaller_picture_before_a_frame_rate_under_ten() {
        let f = fit_to_level(11, vga(30)).unwrap();
        assert_eq!((f.width, f.height, f.fps), (320, 240, 10), "300 MBs at 10 fps is 3000 MB/s");
        let slow = fit_to_level(11, vga(5)).unwrap();
        assert_eq!((slow.width, slow.height, slow.fps), (352, 264, 5));
    }
}
