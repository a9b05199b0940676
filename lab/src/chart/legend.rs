//! The legend: a swatch and a label per series, left to right, wrapped to the width.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

use std::fmt::Write;

use super::{esc, GRID, PALE, TEXT};

/// How a series is drawn, as its legend shows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Swatch {
    /// A line in the colour.
    Line(&'static str),
    /// A dashed line (Little's law, waiters).
    Dashed(&'static str),
    /// A dotted line (a second ceiling).
    Dotted(&'static str),
    /// A dot (values that exist only at some points).
    Dot(&'static str),
    /// A solid bar.
    Bar(&'static str),
    /// A bar's outline (the other side of a pair).
    Hollow(&'static str),
    /// The pale bar of a ceiling.
    Ceiling,
    /// A diamond (the article's figure).
    Diamond(&'static str),
    /// A short upright line (a bound on a bar), dashed or not.
    Mark(&'static str, bool),
}

impl Swatch {
    /// The colour it is drawn in.
    pub(crate) fn color(self) -> &'static str {
        match self {
            Swatch::Line(color)
            | Swatch::Dashed(color)
            | Swatch::Dotted(color)
            | Swatch::Dot(color)
            | Swatch::Bar(color)
            | Swatch::Hollow(color)
            | Swatch::Diamond(color)
            | Swatch::Mark(color, _) => color,
            Swatch::Ceiling => PALE,
        }
    }
}

/// One series in the legend.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) swatch: Swatch,
    pub(crate) label: String,
}

impl Entry {
    /// A series' entry.
    pub(crate) fn new(swatch: Swatch, label: impl Into<String>) -> Entry {
        Entry {
            swatch,
            label: label.into(),
        }
    }
}

/// Dashes, as the series' own lines are drawn.
pub(crate) const DASHED: &str = "5 3";
pub(crate) const DOTTED: &str = "2 3";

/// The swatch's SVG, in a 24 x 12 box whose middle left is (`x`, `y`).
fn swatch(swatch: Swatch, x: f64, y: f64) -> String {
    let line = |color: &str, dash: &str| {
        format!(
            r#"<line x1="{x}" y1="{y}" x2="{x2}" y2="{y}" stroke="{color}" stroke-width="2.5"{dash}/>"#,
            x2 = x + 24.0,
        )
    };
    let bar = |fill: &str, stroke: &str| {
        format!(
            r#"<rect x="{x}" y="{by}" width="24" height="10" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#,
            by = y - 5.0,
        )
    };
    let mark = |color: &str, dash: &str| {
        format!(
            r#"<line x1="{mx}" y1="{y0}" x2="{mx}" y2="{y1}" stroke="{color}" stroke-width="2"{dash}/>"#,
            mx = x + 12.0,
            y0 = y - 8.0,
            y1 = y + 8.0,
        )
    };
    let dash = |pattern: &str| format!(r#" stroke-dasharray="{pattern}""#);
    match swatch {
        Swatch::Line(color) => line(color, ""),
        Swatch::Dashed(color) => line(color, &dash(DASHED)),
        Swatch::Dotted(color) => line(color, &dash(DOTTED)),
        Swatch::Dot(color) => format!(
            r#"<circle cx="{cx}" cy="{y}" r="3.5" fill="{color}"/>"#,
            cx = x + 12.0
        ),
        Swatch::Bar(color) => bar(color, "none"),
        Swatch::Hollow(color) => bar("white", color),
        Swatch::Ceiling => bar(PALE, GRID),
        Swatch::Diamond(color) => format!(
            r#"<path d="M {cx} {top} l 6 6 l -6 6 l -6 -6 z" fill="{color}"/>"#,
            cx = x + 12.0,
            top = y - 6.0,
        ),
        Swatch::Mark(color, dashed) => mark(
            color,
            if dashed {
                " stroke-dasharray=\"3 2\""
            } else {
                ""
            },
        ),
    }
}

/// Draws `entries` from `x` with the first row's text on baseline `y`, each row 20 px
/// under the last, wrapping before `right` (labels are measured at 7.2 px a character,
/// enough for 13 px text). Returns the baseline of the last row.
pub(crate) fn legend(svg: &mut String, x: f64, y: f64, right: f64, entries: &[Entry]) -> f64 {
    let (mut lx, mut ly) = (x, y);
    for entry in entries {
        let width = 30.0 + entry.label.chars().count() as f64 * 7.2 + 18.0;
        if lx > x && lx + width > right {
            (lx, ly) = (x, ly + 20.0);
        }
        let _ = write!(
            svg,
            r#"{mark}<text x="{tx}" y="{ly}" fill="{TEXT}">{label}</text>
"#,
            mark = swatch(entry.swatch, lx, ly - 4.0),
            tx = lx + 30.0,
            label = esc(&entry.label),
        );
        lx += width;
    }
    ly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_series_wrapped_to_the_width() {
        let entries: Vec<Entry> = ["client", "app", "a longer series name"]
            .iter()
            .zip([
                Swatch::Line("#111111"),
                Swatch::Dashed("#222222"),
                Swatch::Dot("#333333"),
            ])
            .map(|(label, swatch)| Entry::new(swatch, *label))
            .collect();
        let mut svg = String::new();
        let last = legend(&mut svg, 20.0, 100.0, 1000.0, &entries);
        assert_eq!(last, 100.0);
        assert_eq!(svg.lines().count(), entries.len());
        assert_eq!(svg.matches("<text").count(), entries.len());
        for (entry, line) in entries.iter().zip(svg.lines()) {
            assert!(line.contains(&format!(">{}</text>", entry.label)), "{line}");
        }
        assert!(svg.contains("stroke-dasharray=\"5 3\"") && svg.contains("<circle"));
        // Too narrow for all three: the long one on a second row.
        let mut narrow = String::new();
        assert_eq!(legend(&mut narrow, 20.0, 100.0, 200.0, &entries), 120.0);
        assert!(narrow
            .lines()
            .nth(2)
            .is_some_and(|line| line.contains(r#"y="120""#)));
    }
}
