//! Camera pixel formats to the I420 [`Picture`] that OpenH264 encodes: packed YUYV (4:2:2, what
//! most UVC cameras give uncompressed), RGB24, and with feature `v4l` Motion-JPEG (what they give
//! at larger sizes).
//!
//! Chroma is subsampled vertically by averaging each pair of rows. RGB uses the BT.601
//! studio-range matrix, the one H.264 decoders assume when the SPS says nothing.

use crate::h264::Picture;

/// What is wrong with a camera frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// Width or height is odd (I420 needs both even).
    #[error("{width}x{height} is not even in both directions")]
    OddSize {
        /// Width.
        width: usize,
        /// Height.
        height: usize,
    },
    /// The buffer is shorter than the size and stride say.
    #[error("{format} frame of {got} bytes, need {expected}")]
    Length {
        /// "YUYV", "RGB24".
        format: &'static str,
        /// Bytes needed.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The JPEG did not decode.
    #[error("MJPEG frame: {reason}")]
    Jpeg {
        /// The decoder's message.
        reason: String,
    },
}

fn check(
    format: &'static str,
    width: usize,
    height: usize,
    stride: usize,
    bpp: usize,
    len: usize,
) -> Result<(), ConvertError> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) {
        return Err(ConvertError::OddSize { width, height });
    }
    let row = width * bpp;
    let expected = if height == 0 { 0 } else { stride.max(row) * (height - 1) + row };
    if len < expected || stride < row {
        return Err(ConvertError::Length { format, expected, got: len });
    }
    Ok(())
}

/// Builds a picture from planes filled by `sample(x, y) -> (Y, U, V)` at full resolution,
/// averaging U and V over each 2×2 block.
fn from_yuv444(width: usize, height: usize, sample: impl Fn(usize, usize) -> (u8, u8, u8)) -> Picture {
    let (cw, ch) = (width / 2, height / 2);
    let mut data = vec![0u8; width * height + 2 * cw * ch];
    let (y_plane, chroma) = data.split_at_mut(width * height);
    let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
    for y in 0..height {
        for x in 0..width {
            y_plane[y * width + x] = sample(x, y).0;
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut u, mut v) = (0u32, 0u32);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (_, su, sv) = sample(2 * cx + dx, 2 * cy + dy);
                u += u32::from(su);
                v += u32::from(sv);
            }
            u_plane[cy * cw + cx] = ((u + 2) / 4) as u8;
            v_plane[cy * cw + cx] = ((v + 2) / 4) as u8;
        }
    }
    Picture::from_i420(width, height, &data).unwrap_or_else(|| Picture::new(width, height))
}

/// Packed YUYV (Y0 U Y1 V per pixel pair), rows `stride` bytes apart.
pub fn yuyv_to_i420(width: usize, height: usize, stride: usize, data: &[u8]) -> Result<Picture, ConvertError> {
    check("YUYV", width, height, stride, 2, data.len())?;
    Ok(from_yuv444(width, height, |x, y| {
        let pair = y * stride + (x & !1) * 2;
        (data[pair + (x & 1) * 2], data[pair + 1], data[pair + 3])
    }))
}

/// BT.601 studio-range (Y, U, V) of an RGB pixel.
pub fn rgb_to_yuv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    let clamp = |c: i32| c.clamp(0, 255) as u8;
    (clamp(y), clamp(u), clamp(v))
}

/// Packed RGB24, rows `stride` bytes apart.
pub fn rgb_to_i420(width: usize, height: usize, stride: usize, data: &[u8]) -> Result<Picture, ConvertError> {
    check("RGB24", width, height, stride, 3, data.len())?;
    Ok(from_yuv444(width, height, |x, y| {
        let p = y * stride + x * 3;
        rgb_to_yuv(data[p], data[p + 1], data[p + 2])
    }))
}

/// A Motion-JPEG frame (one baseline JPEG), decoded and converted.
#[cfg(feature = "v4l")]
pub fn mjpeg_to_i420(jpeg: &[u8]) -> Result<Picture, ConvertError> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().map_err(|e| ConvertError::Jpeg { reason: e.to_string() })?;
    let info = decoder.info().ok_or_else(|| ConvertError::Jpeg { reason: "no frame header".into() })?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    match info.pixel_format {
        PixelFormat::RGB24 => rgb_to_i420(w, h, w * 3, &pixels),
        PixelFormat::L8 => {
            let rgb: Vec<u8> = pixels.iter().flat_map(|&l| [l, l, l]).collect();
            rgb_to_i420(w, h, w * 3, &rgb)
        }
        other => Err(ConvertError::Jpeg { reason: format!("unsupported pixel format {other:?}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openh264::formats::YUVSource;

    /// A YUYV frame whose left half is (Y=200, U=60, V=190) and right half (Y=50, U=180, V=90),
    /// with two bytes of padding per row.
    fn yuyv_halves(w: usize, h: usize) -> Vec<u8> {
        let stride = w * 2 + 2;
        let mut data = vec![0xEE; stride * h];
        for y in 0..h {
            for pair in 0..w / 2 {
                let (luma, u, v) = if pair < w / 4 { (200, 60, 190) } else { (50, 180, 90) };
                data[y * stride + pair * 4..][..4].copy_from_slice(&[luma, u, luma, v]);
            }
        }
        data
    }

    #[test]
    fn yuyv_keeps_luma_and_halves_chroma() {
        let (w, h) = (8, 4);
        let p = yuyv_to_i420(w, h, w * 2 + 2, &yuyv_halves(w, h)).unwrap();
        assert_eq!(p.dimensions(), (8, 4));
        assert_eq!(&p.y()[..8], &[200, 200, 200, 200, 50, 50, 50, 50]);
        assert_eq!(p.u(), &[60, 60, 180, 180, 60, 60, 180, 180]);
        assert_eq!(p.v()[0], 190);
        assert_eq!(p.v()[3], 90);
    }

    #[test]
    fn rgb_primaries_map_to_bt601_studio_range() {
        assert_eq!(rgb_to_yuv(255, 255, 255), (235, 128, 128));
        assert_eq!(rgb_to_yuv(0, 0, 0), (16, 128, 128));
        assert_eq!(rgb_to_yuv(255, 0, 0), (82, 90, 240));
        let red = [255u8, 0, 0].repeat(4);
        let p = rgb_to_i420(2, 2, 6, &red).unwrap();
        assert_eq!((p.y()[3], p.u()[0], p.v()[0]), (82, 90, 240));
    }

    #[test]
    fn short_or_odd_frames_are_refused() {
        assert_eq!(
            yuyv_to_i420(8, 4, 16, &[0; 63]),
            Err(ConvertError::Length { format: "YUYV", expected: 64, got: 63 })
        );
        assert_eq!(yuyv_to_i420(7, 4, 14, &[0; 64]), Err(ConvertError::OddSize { width: 7, height: 4 }));
        assert!(matches!(rgb_to_i420(4, 4, 11, &[0; 64]), Err(ConvertError::Length { .. })));
    }

    #[cfg(feature = "v4l")]
    #[test]
    fn an_mjpeg_frame_decodes_to_its_colours() {
        // A 16×16 JPEG, left half white and right half blue.
        let mut rgb = Vec::new();
        for _y in 0..16 {
            for x in 0..16 {
                rgb.extend_from_slice(if x < 8 { &[255, 255, 255] } else { &[0, 0, 255] });
            }
        }
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95).encode(&rgb, 16, 16, jpeg_encoder::ColorType::Rgb).unwrap();
        let p = mjpeg_to_i420(&jpeg).unwrap();
        assert_eq!(p.dimensions(), (16, 16));
        let (white, blue) = (p.y()[16 * 8 + 2], p.y()[16 * 8 + 13]);
        assert!((230..=240).contains(&white), "white luma {white}");
        assert!((36..=46).contains(&blue), "blue luma {blue}");
        assert!(p.u()[8 * 4 + 7] > 220, "blue has high U");
        assert!(matches!(mjpeg_to_i420(b"not a jpeg"), Err(ConvertError::Jpeg { .. })));
    }
}
