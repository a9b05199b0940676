//! The pieces every hand-written SVG chart of the lab draws with (no plotting library,
//! nothing to install to view them): the font, one colour per kind of topology
//! (blocking orange, async blue, the article red), escaping, a log-scale axis and the
//! short number labels. It imports nothing from the lab, so every chart can use it:
//! bench-all's (`bench_chart.rs`), the sweep's, the comparison's, the timelines'
//! and the swarm's.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

pub(crate) const FONT: &str = "font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\"";
pub(crate) const BLOCKING: &str = "#d9822b";
pub(crate) const ASYNC: &str = "#2b6cb0";
pub(crate) const ARTICLE: &str = "#c53030";
pub(crate) const PALE: &str = "#e2e8f0";
pub(crate) const GRID: &str = "#cbd5e0";
pub(crate) const TEXT: &str = "#1a202c";
pub(crate) const MUTED: &str = "#4a5568";

/// Escapes text for SVG.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A log10 axis mapping `[lo, hi]` to `[x0, x1]` pixels.
#[derive(Clone, Copy)]
pub(crate) struct LogAxis {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) p0: f64,
    pub(crate) p1: f64,
}

impl LogAxis {
    /// A requests-per-second axis from 0.5 to the first 1-2-5 step at least 1.6 times
    /// `max` (room for labels past the longest bar), on pixels `p0` to `p1`.
    pub(crate) fn requests_per_second(max: f64, p0: f64, p1: f64) -> LogAxis {
        let max = max.max(1.0) * 1.6;
        let decade = 10f64.powf(max.log10().floor());
        let hi = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|step| step * decade)
            .find(|top| *top >= max)
            .unwrap_or(decade * 10.0)
            .max(10.0);
        LogAxis {
            lo: 0.5,
            hi,
            p0,
            p1,
        }
    }

    pub(crate) fn map(&self, value: f64) -> f64 {
        let value = value.clamp(self.lo, self.hi);
        let t = (value.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10());
        self.p0 + t * (self.p1 - self.p0)
    }

    /// 1, 2, 5, 10, 20, 50, ... within the range.
    pub(crate) fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut decade = 10f64.powf(self.lo.log10().floor());
        while decade <= self.hi {
            for step in [1.0, 2.0, 5.0] {
                let tick = decade * step;
                if tick >= self.lo * 0.999 && tick <= self.hi * 1.001 {
                    ticks.push(tick);
                }
            }
            decade *= 10.0;
        }
        ticks
    }

    /// The axis along the bottom of a plot: a vertical grid line from `top` to `bottom`
    /// at each tick, its label under it, and `caption` centred below.
    pub(crate) fn draw_below(&self, svg: &mut String, top: f64, bottom: f64, caption: &str) {
        use std::fmt::Write;
        for tick in self.ticks() {
            let x = self.map(tick);
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>
<text x="{x:.1}" y="{ly}" fill="{MUTED}" text-anchor="middle">{label}</text>
"#,
                ly = bottom + 16.0,
                label = short(tick),
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{y}" fill="{TEXT}" text-anchor="middle">{caption}</text>
"#,
            x = (self.p0 + self.p1) / 2.0,
            y = bottom + 36.0,
            caption = esc(caption),
        );
    }

    /// Only powers of ten (for crowded axes).
    pub(crate) fn decades(&self) -> Vec<f64> {
        self.ticks()
            .into_iter()
            .filter(|tick| (tick.log10() - tick.log10().round()).abs() < 1e-9)
            .collect()
    }
}

/// `0.5`, `2`, `1k`, `10k`.
pub(crate) fn short(value: f64) -> String {
    if value >= 1000.0 {
        format!("{}k", trim(value / 1000.0))
    } else {
        trim(value)
    }
}

pub(crate) fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub(crate) fn rps(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_maps_ends_and_ticks() {
        let axis = LogAxis {
            lo: 1.0,
            hi: 1000.0,
            p0: 0.0,
            p1: 300.0,
        };
        assert!((axis.map(1.0) - 0.0).abs() < 1e-9);
        assert!((axis.map(10.0) - 100.0).abs() < 1e-9);
        assert!((axis.map(1e6) - 300.0).abs() < 1e-9);
        assert_eq!(axis.decades(), vec![1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(short(2000.0), "2k");
        assert_eq!(short(0.5), "0.5");
    }
}
