//! The one chart module: every hand-written SVG chart of the lab (no plotting library,
//! nothing to install to view them) draws with these pieces and nothing else of its
//! own for frames, axes, grids and legends:
//!
//! - the document ([`document`], [`title`], [`note`], [`end`]): size, font, white
//!   background, a bold title and muted notes under it;
//! - scales ([`LinearAxis`], [`LogAxis`]: where a value lands, which ticks are
//!   labelled) and their drawing ([`Plot`], [`axis_below`], [`labels_below`],
//!   [`axis_left`]): grid lines, tick labels, captions;
//! - the legend ([`legend`]): swatches (line, dashed line, dot, bar, ...) and labels,
//!   wrapped to the width;
//! - colours: **one colour per topology, in every chart** ([`topology_color`]). The
//!   rule: a topology's hue says what caps the requests it holds in flight ([`Kind`]):
//!   oranges for threads or a blocked loop, blues for the load alone (an event loop, or
//!   a thread per connection), greys for no app at all (the slow API alone, nginx as
//!   the proxy); within its hue each topology has its own shade, the same wherever it
//!   is drawn (bench-all's bars, the sweep's lines, the comparison's bars, the swarm's
//!   panels, a timeline's app series). Rows of a topology under another load
//!   (`sync-workers-c1000`, `async-keepalive`) take that topology's colour. Colours
//!   that do not stand for a topology (the article's red, the pale ceilings, the
//!   timelines' client and upstream series) are none of those hues.
//!
//! It imports nothing from the rest of the lab (it is the bottom of the dependency
//! graph), so every chart can use it: bench-all's (`bench_chart.rs`), the sweep's, the
//! comparison's, the timelines' and the swarm's.

// SVG elements are written as raw-string lines, each ending in its newline.
#![allow(clippy::write_with_newline)]

mod axis;
mod colour;
mod legend;

use std::fmt::Write;

pub(crate) use axis::{axis_below, axis_left, labels_below, LinearAxis, LogAxis, Plot, Scale};
#[cfg(test)]
pub(crate) use colour::coloured;
pub(crate) use colour::{topology_color, Kind};
pub(crate) use legend::{legend, Entry, Swatch, DASHED, DOTTED};

pub(crate) const FONT: &str = "font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\"";
/// The article's figures, and errors.
pub(crate) const ARTICLE: &str = "#c53030";
/// A ceiling's bar (Little's law), drawn under what was measured.
pub(crate) const PALE: &str = "#e2e8f0";
pub(crate) const GRID: &str = "#cbd5e0";
pub(crate) const TEXT: &str = "#1a202c";
pub(crate) const MUTED: &str = "#4a5568";
/// Series that are not a topology: what the client saw, the upstream calls, the
/// database (none of the topologies' hues, nor their greys).
pub(crate) const CLIENT: &str = "#b83280";
pub(crate) const UPSTREAM: &str = "#2f855a";
pub(crate) const DATABASE: &str = "#805ad5";

/// Escapes text for SVG.
pub(crate) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The opening of a `width` x `height` chart: the SVG element (with the xlink namespace,
/// for charts whose names link elsewhere), the font at `font_size` px, a white ground.
pub(crate) fn document(width: f64, height: f64, font_size: u32) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} font-size="{font_size}">
<rect width="100%" height="100%" fill="white"/>
"#
    )
}

/// One line of text, its baseline at `y`, in `style` (attributes).
fn line_of_text(svg: &mut String, (x, y): (f64, f64), style: &str, text: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x}" y="{y}" {style}>{text}</text>
"#,
        text = esc(text),
    );
}

/// The chart's title, its baseline at `y`.
pub(crate) fn title(svg: &mut String, x: f64, y: f64, text: &str) {
    let style = format!(r#"font-size="18" font-weight="bold" fill="{TEXT}""#);
    line_of_text(svg, (x, y), &style, text);
}

/// A muted line of explanation (a subtitle or a footnote), its baseline at `y`.
pub(crate) fn note(svg: &mut String, x: f64, y: f64, text: &str) {
    line_of_text(svg, (x, y), &format!(r#"fill="{MUTED}""#), text);
}

/// An aside in italics (a line between rows that starts a section), baseline at `y`.
pub(crate) fn aside(svg: &mut String, x: f64, y: f64, text: &str) {
    let style = format!(r#"font-style="italic" fill="{MUTED}""#);
    line_of_text(svg, (x, y), &style, text);
}

/// A panel's heading (bold, the document's size), its baseline at `y`.
pub(crate) fn heading(svg: &mut String, x: f64, y: f64, text: &str) {
    let style = format!(r#"font-weight="bold" fill="{TEXT}""#);
    line_of_text(svg, (x, y), &style, text);
}

/// Closes the document.
pub(crate) fn end(mut svg: String) -> String {
    svg.push_str("</svg>\n");
    svg
}

/// `0.5`, `2`, `1k`, `10k`.
pub(crate) fn short(value: f64) -> String {
    if value >= 1000.0 {
        format!("{}k", trim(value / 1000.0))
    } else {
        trim(value)
    }
}

/// At most two decimals, without trailing zeros.
pub(crate) fn trim(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Requests per second with the decimals its size deserves.
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
    fn numbers_read_short_and_text_is_escaped() {
        assert_eq!(short(2000.0), "2k");
        assert_eq!(short(0.5), "0.5");
        assert_eq!(short(12.5), "12.5");
        assert_eq!(rps(4.987), "4.99");
        assert_eq!(esc("a <b> & \"c\""), "a &lt;b&gt; &amp; &quot;c&quot;");
        let svg = end(document(100.0, 50.0, 12));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains(r#"width="100" height="50""#));
    }
}
