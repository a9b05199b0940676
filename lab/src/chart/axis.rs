//! Scales (where a value lands, which ticks are labelled) and the drawing of axes:
//! grid lines, tick labels and captions, below a plot or left of it.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use super::{esc, short, GRID, MUTED, TEXT};

/// A scale: a value's pixel along its axis.
pub(crate) trait Scale {
    /// The pixel of `value` (clamped to the axis' ends).
    fn map(&self, value: f64) -> f64;
}

/// The pixel a fraction `t` of the way from `p0` to `p1`.
fn along(p0: f64, p1: f64, t: f64) -> f64 {
    p0 + t * (p1 - p0)
}

/// The first 1-2-5 step at or above `value` (1 for nothing).
fn step_at_least(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let decade = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * decade)
        .find(|top| *top >= value * 0.999)
        .unwrap_or(decade * 10.0)
}

/// A linear axis mapping `[lo, hi]` to pixels `[p0, p1]` (`p1 < p0` for a vertical
/// axis, whose values grow upwards), ticked every `step`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LinearAxis {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) step: f64,
    pub(crate) p0: f64,
    pub(crate) p1: f64,
}

impl LinearAxis {
    /// From 0 to the first multiple of a round step at or above `max`, the step a 1-2-5
    /// one giving about `ticks` intervals: the top is labelled, and every label is round.
    pub(crate) fn from_zero(max: f64, ticks: u32, p0: f64, p1: f64) -> LinearAxis {
        let step = step_at_least(max / f64::from(ticks.max(1)));
        let hi = (max / step - 1e-9).ceil().max(1.0) * step;
        LinearAxis {
            lo: 0.0,
            hi,
            step,
            p0,
            p1,
        }
    }

    /// Exactly `[lo, hi]` (a run's seconds), ticked every round step that gives about
    /// `ticks` intervals.
    pub(crate) fn exact(lo: f64, hi: f64, ticks: u32, p0: f64, p1: f64) -> LinearAxis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        LinearAxis {
            lo,
            hi,
            step: step_at_least((hi - lo) / f64::from(ticks.max(1))),
            p0,
            p1,
        }
    }

    /// The multiples of the step within the range.
    pub(crate) fn ticks(&self) -> Vec<f64> {
        let first = (self.lo / self.step - 1e-9).ceil() as i64;
        (first..)
            .map(|i| i as f64 * self.step)
            .take_while(|tick| *tick <= self.hi + self.step * 1e-9)
            .collect()
    }
}

impl Scale for LinearAxis {
    fn map(&self, value: f64) -> f64 {
        along(
            self.p0,
            self.p1,
            ((value - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0),
        )
    }
}

/// A log10 axis mapping `[lo, hi]` to pixels `[p0, p1]`.
#[derive(Clone, Copy, Debug)]
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
        LogAxis {
            lo: 0.5,
            hi: step_at_least(max.max(1.0) * 1.6).max(10.0),
            p0,
            p1,
        }
    }

    /// The whole decades around the positive `values` (one decade at least).
    pub(crate) fn decades_around(values: impl Iterator<Item = f64>, p0: f64, p1: f64) -> LogAxis {
        let (lo, hi) = values
            .filter(|v| *v > 0.0 && v.is_finite())
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if hi > 0.0 { (lo, hi) } else { (1.0, 10.0) };
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
        LogAxis { lo, hi, p0, p1 }
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

    /// Only powers of ten (for crowded axes).
    pub(crate) fn decades(&self) -> Vec<f64> {
        self.ticks()
            .into_iter()
            .filter(|tick| (tick.log10() - tick.log10().round()).abs() < 1e-9)
            .collect()
    }

    /// This axis along the bottom of a plot from `top` to `bottom` that spans it (rows
    /// of bars against a rate), every 1-2-5 tick labelled: [`axis_below`].
    pub(crate) fn draw_below(&self, svg: &mut String, top: f64, bottom: f64, caption: &str) {
        let plot = Plot {
            left: self.p0,
            top,
            right: self.p1,
            bottom,
        };
        axis_below(svg, &plot, self, &self.ticks(), caption);
    }

    /// Every 1-2-5 tick, or only the decades where the axis spans more than four.
    pub(crate) fn readable_ticks(&self) -> Vec<f64> {
        if (self.hi / self.lo).log10() > 4.0 {
            self.decades()
        } else {
            self.ticks()
        }
    }
}

impl Scale for LogAxis {
    fn map(&self, value: f64) -> f64 {
        let value = value.clamp(self.lo, self.hi);
        let t = (value.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10());
        along(self.p0, self.p1, t)
    }
}

/// The box a plot's axes frame, in pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plot {
    pub(crate) left: f64,
    pub(crate) top: f64,
    pub(crate) right: f64,
    pub(crate) bottom: f64,
}

impl Plot {
    /// Its outline.
    pub(crate) fn frame(&self, svg: &mut String) {
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{y}" width="{w:.1}" height="{h:.1}" fill="none" stroke="{GRID}"/>
"#,
            x = self.left,
            y = self.top,
            w = self.right - self.left,
            h = self.bottom - self.top,
        );
    }
}

/// The horizontal axis along the bottom of `plot`: a vertical grid line across it at
/// each tick, then [`labels_below`].
pub(crate) fn axis_below(
    svg: &mut String,
    plot: &Plot,
    scale: &dyn Scale,
    ticks: &[f64],
    caption: &str,
) {
    for tick in ticks {
        let x = scale.map(*tick);
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="{GRID}" stroke-width="1"/>
"#,
            top = plot.top,
            bottom = plot.bottom,
        );
    }
    labels_below(svg, plot, scale, ticks, caption);
}

/// Each tick's label under `plot`, and `caption` (if any) centred below them.
pub(crate) fn labels_below(
    svg: &mut String,
    plot: &Plot,
    scale: &dyn Scale,
    ticks: &[f64],
    caption: &str,
) {
    for tick in ticks {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{y}" font-size="11" fill="{MUTED}" text-anchor="middle">{label}</text>
"#,
            x = scale.map(*tick),
            y = plot.bottom + 15.0,
            label = short(*tick),
        );
    }
    if !caption.is_empty() {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{y}" font-size="12" fill="{TEXT}" text-anchor="middle">{caption}</text>
"#,
            x = (plot.left + plot.right) / 2.0,
            y = plot.bottom + 32.0,
            caption = esc(caption),
        );
    }
}

/// The vertical axis along the left of `plot`: a horizontal grid line across it at each
/// tick, the tick's label left of the plot, and `caption` (if any) turned upright 46 px
/// left of the plot.
pub(crate) fn axis_left(
    svg: &mut String,
    plot: &Plot,
    scale: &dyn Scale,
    ticks: &[f64],
    caption: &str,
) {
    for tick in ticks {
        let y = scale.map(*tick);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/><text x="{lx}" y="{ly:.1}" font-size="11" fill="{MUTED}" text-anchor="end">{label}</text>
"#,
            left = plot.left,
            right = plot.right,
            lx = plot.left - 5.0,
            ly = y + 4.0,
            label = short(*tick),
        );
    }
    if !caption.is_empty() {
        let (x, y) = (plot.left - 46.0, (plot.top + plot.bottom) / 2.0);
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{y}" font-size="12" fill="{TEXT}" transform="rotate(-90 {x} {y})" text-anchor="middle">{caption}</text>
"#,
            caption = esc(caption),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_axis_places_points_by_their_logarithm() {
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
        assert_eq!(axis.ticks().len(), 10);
        // Upwards: the larger value sits higher.
        let up = LogAxis {
            p0: 300.0,
            p1: 0.0,
            ..axis
        };
        assert!((up.map(100.0) - 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_linear_axis_places_points_proportionally() {
        let axis = LinearAxis::from_zero(50.0, 4, 400.0, 100.0);
        assert_eq!((axis.lo, axis.hi, axis.step), (0.0, 60.0, 20.0));
        assert!((axis.map(30.0) - 250.0).abs() < 1e-9);
        assert!((axis.map(-5.0) - 400.0).abs() < 1e-9);
        assert_eq!(axis.ticks(), vec![0.0, 20.0, 40.0, 60.0]);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        // A round maximum is the top tick.
        let axis = LinearAxis::from_zero(200.0, 4, 0.0, 1.0);
        assert_eq!(axis.ticks(), vec![0.0, 50.0, 100.0, 150.0, 200.0]);
        // Nothing to show: one step.
        assert_eq!(LinearAxis::from_zero(0.0, 4, 0.0, 1.0).hi, 1.0);
        // A run of 10.1 s: every 2 s, the axis ending where the run did.
        let time = LinearAxis::exact(0.0, 10.1, 6, 0.0, 1.0);
        assert_eq!(time.ticks(), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(time.hi, 10.1);
        // 0.1-steps do not drift.
        let short_run = LinearAxis::exact(0.0, 0.6, 6, 0.0, 1.0);
        assert_eq!(short_run.ticks().len(), 7);
        // Log: whole decades around the values; requests per second with room.
        let around = LogAxis::decades_around([3.0, 450.0].into_iter(), 0.0, 1.0);
        assert_eq!((around.lo, around.hi), (1.0, 1000.0));
        assert_eq!(around.readable_ticks().len(), 10);
        let wide = LogAxis::decades_around([0.5, 20_000.0].into_iter(), 0.0, 1.0);
        assert_eq!(
            wide.readable_ticks(),
            vec![0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0]
        );
        assert_eq!(LogAxis::requests_per_second(200.0, 0.0, 1.0).hi, 500.0);
        assert_eq!(LogAxis::requests_per_second(1.0, 0.0, 1.0).hi, 10.0);
    }

    #[test]
    fn axes_draw_a_grid_line_and_a_label_per_tick() {
        let plot = Plot {
            left: 50.0,
            top: 10.0,
            right: 250.0,
            bottom: 110.0,
        };
        let x = LinearAxis::exact(0.0, 10.0, 5, plot.left, plot.right);
        let y = LogAxis {
            lo: 1.0,
            hi: 100.0,
            p0: plot.bottom,
            p1: plot.top,
        };
        let mut svg = String::new();
        axis_below(&mut svg, &plot, &x, &x.ticks(), "seconds");
        axis_left(&mut svg, &plot, &y, &y.decades(), "ms");
        assert_eq!(svg.matches("<line").count(), 6 + 3);
        assert!(
            svg.contains(r##"<text x="130.0" y="125" font-size="11" fill="#4a5568" text-anchor="middle">4</text>"##),
            "{svg}"
        );
        assert!(svg.contains(">seconds</text>") && svg.contains(">ms</text>"));
        assert!(svg.contains(r#"y1="60.0""#), "10 ms halfway up: {svg}");
    }
}
