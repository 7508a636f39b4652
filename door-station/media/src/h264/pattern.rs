//! The simulated camera's picture: eight colour bars, a box that moves one step a frame and the
//! frame number drawn in the top-left corner, in planar YUV 4:2:0 (I420).

use openh264::formats::YUVSource;

/// The eight bars of EBU/SMPTE colour bars as BT.601 studio-range (Y, U, V).
const BARS: [(u8, u8, u8); 8] = [
    (235, 128, 128), // white
    (210, 16, 146),  // yellow
    (170, 166, 16),  // cyan
    (145, 54, 34),   // green
    (106, 202, 222), // magenta
    (81, 90, 240),   // red
    (41, 240, 110),  // blue
    (16, 128, 128),  // black
];

/// 3×5 bitmaps of the digits 0–9, one row per 3-bit number, top row first.
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// Horizontal step of the moving box per frame, in pixels.
const BOX_STEP: usize = 4;

/// An I420 picture; width and height are even.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    width: usize,
    height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Picture {
    /// A black picture. Odd sizes are rounded down to even (callers validate sizes first).
    pub fn new(width: usize, height: usize) -> Self {
        let (width, height) = (width & !1, height & !1);
        let chroma = (width / 2) * (height / 2);
        Picture { width, height, y: vec![16; width * height], u: vec![128; chroma], v: vec![128; chroma] }
    }

    /// A picture from one I420 buffer (Y plane, then U, then V, no padding), as a capture device
    /// delivers it. `None` if a size is odd or the buffer has the wrong length.
    pub fn from_i420(width: usize, height: usize, data: &[u8]) -> Option<Self> {
        let luma = width.checked_mul(height)?;
        let chroma = (width / 2) * (height / 2);
        let even = width.is_multiple_of(2) && height.is_multiple_of(2);
        if !even || data.len() != luma.checked_add(2 * chroma)? {
            return None;
        }
        let (y, uv) = data.split_at(luma);
        let (u, v) = uv.split_at(chroma);
        Some(Picture { width, height, y: y.to_vec(), u: u.to_vec(), v: v.to_vec() })
    }

    /// Sets the colour of the 2×2 block whose top-left luma sample is at (`x`, `y`), both even.
    fn set_block(&mut self, x: usize, y: usize, (luma, cb, cr): (u8, u8, u8)) {
        if x + 1 >= self.width || y + 1 >= self.height {
            return;
        }
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            self.y[(y + dy) * self.width + x + dx] = luma;
        }
        let c = (y / 2) * (self.width / 2) + x / 2;
        self.u[c] = cb;
        self.v[c] = cr;
    }

    /// Fills the rectangle [x0, x1) × [y0, y1) (rounded to 2×2 blocks) with one colour.
    fn fill(&mut self, x0: usize, y0: usize, x1: usize, y1: usize, colour: (u8, u8, u8)) {
        for y in (y0 & !1..y1.min(self.height)).step_by(2) {
            for x in (x0 & !1..x1.min(self.width)).step_by(2) {
                self.set_block(x, y, colour);
            }
        }
    }

    /// The picture resampled (bilinear) to `width`×`height`, rounded down to even; a camera's
    /// pictures for an encoder of another size.
    pub fn scaled(&self, width: usize, height: usize) -> Picture {
        let (width, height) = (width & !1, height & !1);
        Picture {
            width,
            height,
            y: resample(&self.y, (self.width, self.height), (width, height)),
            u: resample(&self.u, (self.width / 2, self.height / 2), (width / 2, height / 2)),
            v: resample(&self.v, (self.width / 2, self.height / 2), (width / 2, height / 2)),
        }
    }

    /// The luma sample at (`x`, `y`), for tests; `None` outside the picture.
    pub fn luma(&self, x: usize, y: usize) -> Option<u8> {
        (x < self.width && y < self.height).then(|| self.y[y * self.width + x])
    }
}

/// One plane of `from` samples resampled bilinearly to `to` (pixel centres aligned).
fn resample(plane: &[u8], from: (usize, usize), to: (usize, usize)) -> Vec<u8> {
    let ((fw, fh), (tw, th)) = (from, to);
    if fw == 0 || fh == 0 || plane.len() < fw * fh {
        return vec![128; tw * th];
    }
    // Source position of a target sample, in 1/256 of a sample.
    let position = |t: usize, f: usize, tn: usize| ((2 * t + 1) * f * 256 / (2 * tn)).saturating_sub(128);
    let mut out = Vec::with_capacity(tw * th);
    for ty in 0..th {
        let sy = position(ty, fh, th);
        let (y0, wy) = ((sy >> 8).min(fh - 1), (sy & 255) as u32);
        let y1 = (y0 + 1).min(fh - 1);
        for tx in 0..tw {
            let sx = position(tx, fw, tw);
            let (x0, wx) = ((sx >> 8).min(fw - 1), (sx & 255) as u32);
            let x1 = (x0 + 1).min(fw - 1);
            let at = |x: usize, y: usize| u32::from(plane[y * fw + x]);
            let top = at(x0, y0) * (256 - wx) + at(x1, y0) * wx;
            let bottom = at(x0, y1) * (256 - wx) + at(x1, y1) * wx;
            out.push(((top * (256 - wy) + bottom * wy + (1 << 15)) >> 16) as u8);
        }
    }
    out
}

impl YUVSource for Picture {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }
    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }
    fn y(&self) -> &[u8] {
        &self.y
    }
    fn u(&self) -> &[u8] {
        &self.u
    }
    fn v(&self) -> &[u8] {
        &self.v
    }
}

/// Draws frame `n` of the test pattern into `picture`.
pub fn draw_test_pattern(picture: &mut Picture, n: u64) {
    draw_bars(picture);
    draw_moving_box(picture, n);
    draw_counter(picture, n);
}

fn draw_bars(p: &mut Picture) {
    let (w, h) = (p.width, p.height);
    for (i, &colour) in BARS.iter().enumerate() {
        p.fill(i * w / 8, 0, (i + 1) * w / 8, h, colour);
    }
}

/// A grey square a sixth of the height tall that bounces between the left and right edges.
fn draw_moving_box(p: &mut Picture, n: u64) {
    let side = (p.height / 6).max(2);
    let travel = p.width.saturating_sub(side).max(1);
    let pos = (n as usize).wrapping_mul(BOX_STEP) % (2 * travel);
    let x = if pos < travel { pos } else { 2 * travel - pos };
    let y = (p.height / 2).saturating_sub(side / 2);
    p.fill(x, y, x + side, y + side, (128, 128, 128));
}

/// The frame number in white on black, 8 decimal digits, at the top left.
fn draw_counter(p: &mut Picture, n: u64) {
    let scale = (p.height / 60).max(1) * 2;
    let digits = format!("{:08}", n % 100_000_000);
    let cell = 4 * scale;
    p.fill(0, 0, digits.len() * cell + scale, 7 * scale, BARS[7]);
    for (i, d) in digits.bytes().enumerate() {
        draw_digit(p, usize::from(d - b'0'), scale + i * cell, scale, scale);
    }
}

fn draw_digit(p: &mut Picture, digit: usize, x0: usize, y0: usize, scale: usize) {
    for (row, bits) in DIGITS[digit % 10].iter().enumerate() {
        for col in 0..3 {
            if bits & (4 >> col) != 0 {
                let (x, y) = (x0 + col * scale, y0 + row * scale);
                p.fill(x, y, x + scale, y + scale, BARS[0]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_box_and_counter_are_where_they_belong() {
        let mut p = Picture::new(320, 240);
        draw_test_pattern(&mut p, 0);
        // Bottom row: the bars, white first and black last.
        assert_eq!(p.luma(10, 230), Some(235));
        assert_eq!(p.luma(310, 230), Some(16));
        // The box starts at the left edge, mid-height.
        assert_eq!(p.luma(4, 120), Some(128));
        // Counter background is black; "0" has its top-left pixel lit.
        assert_eq!(p.luma(4 * 8 * 4, 2), Some(16));
        assert_eq!(p.luma(8, 8), Some(235));
        assert_eq!(p.luma(320, 0), None);
    }

    #[test]
    fn successive_frames_differ_and_the_box_moves() {
        let mut a = Picture::new(320, 240);
        let mut b = Picture::new(320, 240);
        draw_test_pattern(&mut a, 10);
        draw_test_pattern(&mut b, 11);
        assert_ne!(a, b);
        // Frame 10: box at x = 40..80; frame 11: 44..84.
        assert_eq!(a.luma(41, 120), Some(128));
        assert_ne!(b.luma(41, 120), Some(128));
        assert_eq!(b.luma(82, 120), Some(128));
    }

    #[test]
    fn i420_buffers_are_checked() {
        let p = Picture::from_i420(4, 2, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]).unwrap();
        assert_eq!((p.luma(3, 1), p.u(), p.v()), (Some(8), &[9, 10][..], &[11, 12][..]));
        assert_eq!(Picture::from_i420(4, 2, &[0; 11]), None);
        assert_eq!(Picture::from_i420(3, 2, &[0; 9]), None);
        assert_eq!(Picture::from_i420(usize::MAX, 2, &[]), None);
    }

    #[test]
    fn tiny_and_odd_sizes_do_not_panic() {
        for (w, h) in [(2, 2), (3, 5), (16, 16), (0, 0)] {
            let mut p = Picture::new(w, h);
            draw_test_pattern(&mut p, 123_456_789);
        }
    }
}
