//! The `line_latency` cost key's value: what one cache line costs a thread walking a working
//! set alone in random order, against the working set's size (`calibrate`'s
//! `line_latency_ns`, the baselines of its `switch_working_set` curve). The cache model reads
//! a line's refill off it (`crate::cache`).

/// Most points a curve holds: `calibrate` writes one per measured working set (13 on the
/// reference machine), and the value is kept inline so that [`crate::cost::Costs`] stays `Copy`.
pub const MAX_POINTS: usize = 32;

/// A curve of `(bytes, ns per line)` points, bytes strictly increasing; empty when not given.
#[derive(Clone, Copy, PartialEq)]
pub struct LineLatency {
    len: usize,
    points: [(u64, f64); MAX_POINTS],
}

/// How a file writes a curve, for messages.
pub const EXAMPLE: &str = "[[4096, 1.7], [1048576, 8.7], [16777216, 168]]";

impl LineLatency {
    /// No curve: the cache model uses its level formula.
    pub const EMPTY: LineLatency = LineLatency {
        len: 0,
        points: [(0, 0.0); MAX_POINTS],
    };

    /// A curve of `points`; the error says which point is wrong and why.
    pub fn new(points: &[(u64, f64)]) -> Result<LineLatency, String> {
        if points.is_empty() {
            return Err("give at least one [bytes, ns] point".into());
        }
        if points.len() > MAX_POINTS {
            return Err(format!(
                "{} points; give at most {MAX_POINTS} (one per measured working set)",
                points.len()
            ));
        }
        for (i, &(bytes, ns)) in points.iter().enumerate() {
            let n = i + 1;
            if bytes == 0 {
                return Err(format!(
                    "point {n} has 0 bytes; a working set is at least 1 byte"
                ));
            }
            if !(ns.is_finite() && ns >= 0.0) {
                return Err(format!(
                    "point {n} ({bytes} bytes) costs {ns} ns; give a finite number of ns per line, at least 0"
                ));
            }
            if i > 0 && points[i - 1].0 >= bytes {
                return Err(format!(
                    "point {n} ({bytes} bytes) does not come after point {i} ({} bytes); list the points by growing working set",
                    points[i - 1].0
                ));
            }
        }
        let mut curve = LineLatency::EMPTY;
        curve.points[..points.len()].copy_from_slice(points);
        curve.len = points.len();
        Ok(curve)
    }

    /// Reads a file's value: an array of `[bytes, ns]` arrays (bytes an integer, ns a number).
    pub fn from_toml(value: &toml::Value) -> Result<LineLatency, String> {
        let toml::Value::Array(items) = value else {
            return Err(format!(
                "a list of [bytes, ns] points, not {}",
                value.type_str()
            ));
        };
        let mut points = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let pair = match item {
                toml::Value::Array(pair) if pair.len() == 2 => Some(pair),
                _ => None,
            };
            let bytes = pair.and_then(|p| p[0].as_integer());
            let ns = pair.and_then(|p| p[1].as_float().or(p[1].as_integer().map(|n| n as f64)));
            match (bytes, ns) {
                (Some(bytes), Some(ns)) if bytes >= 0 => points.push((bytes as u64, ns)),
                (Some(bytes), Some(_)) => {
                    return Err(format!(
                        "point {} has {bytes} bytes; give a size in bytes",
                        i + 1
                    ));
                }
                _ => {
                    return Err(format!(
                        "point {} is not [bytes, ns] (two numbers, bytes an integer)",
                        i + 1
                    ));
                }
            }
        }
        LineLatency::new(&points)
    }

    /// Reads `calibrate --json`'s `line_latency_ns` (an array of `[bytes, ns]` arrays); `None`
    /// when it is not a valid curve (not measured: `null`).
    pub fn from_json(value: &serde_json::Value) -> Option<LineLatency> {
        let points: Option<Vec<(u64, f64)>> = value
            .as_array()?
            .iter()
            .map(|p| Some((p.get(0)?.as_u64()?, p.get(1)?.as_f64()?)))
            .collect();
        LineLatency::new(&points?).ok()
    }

    /// The curve as a file writes it (`[[4096, 1.733], ...]`, ns to the picosecond), read back
    /// by [`LineLatency::from_toml`].
    pub fn to_toml(&self) -> String {
        let points: Vec<String> = self
            .points()
            .iter()
            .map(|(bytes, ns)| format!("[{bytes}, {ns:.3}]"))
            .collect();
        format!("[{}]", points.join(", "))
    }

    /// The points, by growing working set.
    pub fn points(&self) -> &[(u64, f64)] {
        &self.points[..self.len]
    }

    /// Whether no curve was given.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// ns per line at a working set of `bytes`: linear in log2(bytes) between the points,
    /// clamped at the ends; 0 for an empty curve. The curve is read as measured, not smoothed:
    /// a point that is higher than the next one (noise, such as a reference's first point)
    /// stays so, and the cache model charges a return at least 0.
    pub fn at(&self, bytes: f64) -> f64 {
        let x = bytes.max(1.0).log2();
        let points = self.points();
        let Some(&(first_bytes, first_ns)) = points.first() else {
            return 0.0;
        };
        if x <= (first_bytes as f64).log2() {
            return first_ns;
        }
        for pair in points.windows(2) {
            let ((b0, y0), (b1, y1)) = (pair[0], pair[1]);
            let (x0, x1) = ((b0 as f64).log2(), (b1 as f64).log2());
            if x <= x1 {
                return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
            }
        }
        points[points.len() - 1].1
    }
}

impl std::fmt::Debug for LineLatency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.points()).finish()
    }
}

impl serde::Serialize for LineLatency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.points())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LineLatency, String> {
        let value: toml::Table = toml::from_str(&format!("v = {text}")).unwrap();
        LineLatency::from_toml(&value["v"])
    }

    #[test]
    fn interpolates_in_log2_of_bytes_and_clamps_at_the_ends() {
        let c = LineLatency::new(&[(4096, 2.0), (16384, 6.0), (65536, 6.0)]).unwrap();
        assert_eq!(c.at(1.0), 2.0);
        assert_eq!(c.at(4096.0), 2.0);
        assert!((c.at(8192.0) - 4.0).abs() < 1e-12);
        assert_eq!(c.at(32768.0), 6.0);
        assert_eq!(c.at(1e12), 6.0);
        assert_eq!(LineLatency::EMPTY.at(4096.0), 0.0);
    }

    #[test]
    fn a_dip_in_the_curve_is_kept_as_measured() {
        // The quiet reference's first points: 4.7 ns at 4 KiB (noise), 2.8 at 16 KiB.
        let c = LineLatency::new(&[(4096, 4.7), (16384, 2.8), (49152, 5.0)]).unwrap();
        assert!((c.at(8192.0) - 3.75).abs() < 1e-12);
        assert_eq!(c.at(16384.0), 2.8);
    }

    #[test]
    fn a_file_value_reads_back_from_its_own_text() {
        let c = parse("[[4096, 1.7329999], [16384, 2], [2097152, 18.2148]]").unwrap();
        assert_eq!(
            c.points(),
            &[(4096, 1.7329999), (16384, 2.0), (2097152, 18.2148)]
        );
        assert_eq!(
            c.to_toml(),
            "[[4096, 1.733], [16384, 2.000], [2097152, 18.215]]"
        );
        assert_eq!(parse(&c.to_toml()).unwrap().to_toml(), c.to_toml());
    }

    #[test]
    fn bad_curves_are_refused_with_the_point_at_fault() {
        for (text, says) in [
            ("[]", "at least one"),
            ("\"4KiB\"", "not string"),
            (
                "[[4096, 2.0], [4096, 3.0]]",
                "point 2 (4096 bytes) does not come after",
            ),
            ("[[16384, 2.0], [4096, 3.0]]", "growing working set"),
            ("[[4096, -1.0]]", "at least 0"),
            ("[[4096, nan]]", "finite"),
            ("[[0, 1.0]]", "0 bytes"),
            ("[[-5, 1.0]]", "-5 bytes"),
            ("[[4096]]", "point 1 is not [bytes, ns]"),
            ("[[4096.5, 1.0]]", "bytes an integer"),
        ] {
            let message = parse(text).unwrap_err();
            assert!(message.contains(says), "{text}: {message}");
        }
        let many: Vec<(u64, f64)> = (1..=33).map(|i| (i * 64, 1.0)).collect();
        assert!(LineLatency::new(&many).unwrap_err().contains("at most 32"));
    }
}
