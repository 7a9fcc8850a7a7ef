//! The look every chart shares: 1920x1080, one embedded font, large type, the Okabe-Ito palette.
//!
//! Slides are read from the back of a room, so type is large and lines are thick. The palette is
//! Okabe and Ito's, distinguishable under the common colour-vision deficiencies; each scheduling
//! model keeps one colour on every chart.

use sim::config::ModelKind;
use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor, register_font};

use crate::error::ChartError;

/// Width and height of every chart, in pixels (16:9).
pub const SIZE: (u32, u32) = (1920, 1080);

/// The family name charts use for all text. Registered with plotters from the embedded TTF and
/// declared inside every SVG, so no system font is consulted.
pub const FONT: &str = "DejaVu Sans";

/// DejaVu Sans 2.37 (Bitstream Vera license; see `assets/README.md` for its source).
pub static FONT_TTF: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Type sizes in pixels.
pub mod size {
    /// The chart's message.
    pub const TITLE: u32 = 52;
    /// The line under the title that says what is plotted.
    pub const SUBTITLE: u32 = 32;
    /// A panel's own heading.
    pub const PANEL: u32 = 36;
    /// Axis descriptions.
    pub const AXIS: u32 = 32;
    /// Tick labels.
    pub const TICK: u32 = 28;
    /// Legend entries.
    pub const LEGEND: u32 = 28;
    /// Values written on bars and points.
    pub const NOTE: u32 = 26;
    /// The footer (machine, date).
    pub const FOOTER: u32 = 22;
}

/// Okabe-Ito colours.
pub mod color {
    use plotters::style::RGBColor;
    /// Black.
    pub const BLACK: RGBColor = RGBColor(0, 0, 0);
    /// Orange.
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    /// Sky blue.
    pub const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
    /// Bluish green.
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    /// Yellow.
    pub const YELLOW: RGBColor = RGBColor(240, 228, 66);
    /// Blue.
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    /// Vermillion.
    pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
    /// Reddish purple.
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    /// Neutral grey for published figures, claims and grid lines.
    pub const GREY: RGBColor = RGBColor(120, 120, 120);
    /// Light grey for grid lines.
    pub const LIGHT: RGBColor = RGBColor(225, 225, 225);
    /// The background.
    pub const WHITE: RGBColor = RGBColor(255, 255, 255);
}

/// The palette in the order series take it when no model decides.
pub const SERIES: [RGBColor; 7] = [
    color::BLUE,
    color::VERMILLION,
    color::GREEN,
    color::ORANGE,
    color::PURPLE,
    color::SKY_BLUE,
    color::BLACK,
];

/// The colour of a scheduling model, the same on every chart.
pub fn model_color(model: ModelKind) -> RGBColor {
    match model {
        ModelKind::ThreadPerRequest => color::VERMILLION,
        ModelKind::Preemptive => color::BLUE,
        ModelKind::Cooperative => color::GREEN,
    }
}

/// Registers the embedded font with plotters, once per process. Registered under [`FONT`] and
/// under plotters' generic `sans-serif`, so text drawn with a default style uses it too.
pub fn install_font() -> Result<(), ChartError> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for name in [FONT, "sans-serif"] {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                register_font(name, style, FONT_TTF)
                    .map_err(|_| format!("the embedded font {FONT} could not be parsed"))?;
            }
        }
        Ok(())
    })
    .clone()
    .map_err(ChartError::Font)
}

/// `@font-face` rule that makes an SVG carry its own font: browsers load no external resource
/// for an SVG shown through `<img>`, so the font travels inside as a data URL.
pub fn svg_font_style() -> &'static str {
    static STYLE: OnceLock<String> = OnceLock::new();
    STYLE.get_or_init(|| {
        format!(
            "<style>@font-face{{font-family:'{FONT}';src:url(data:font/ttf;base64,{}) format('truetype');}}</style>",
            base64(FONT_TTF)
        )
    })
}

/// Standard base64 with padding (RFC 4648), enough for one data URL; not worth a dependency.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_examples() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn the_embedded_font_registers() {
        install_font().unwrap();
        install_font().unwrap();
    }

    #[test]
    fn models_keep_their_colours() {
        assert_eq!(model_color(ModelKind::Cooperative), color::GREEN);
        assert_ne!(
            model_color(ModelKind::Preemptive),
            model_color(ModelKind::ThreadPerRequest)
        );
    }
}
