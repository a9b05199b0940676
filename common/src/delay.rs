//! The `delay` query parameter: how many seconds the slow API should take.
//!
//! It is the only value a user sends, so it is checked strictly and every rejection is a
//! one-line reason suitable for a 400 body. Absent or empty means [`DEFAULT_DELAY`], as in
//! the article's `float(request.args.get('delay') or 1)`.

/// Seconds used when `delay` is absent or empty.
pub const DEFAULT_DELAY: f64 = 1.0;

/// Longest raw value looked at; anything longer is refused before parsing.
const MAX_RAW_LEN: usize = 32;

/// Why a `delay` was refused. Its `Display` is the one-line body of the 400.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DelayError {
    #[error("bad delay: {0} is not a number of seconds")]
    NotANumber(String),
    #[error("bad delay: must be a finite number of seconds")]
    NotFinite,
    #[error("bad delay: must not be negative")]
    Negative,
    #[error("bad delay: {got} is over the maximum of {max} seconds")]
    TooLarge { got: f64, max: f64 },
    #[error("bad delay: value is {0} bytes long, at most {MAX_RAW_LEN} accepted")]
    TooLong(usize),
}

/// Finds `delay` in a raw (still percent-encoded) query string and parses it.
///
/// The first `delay` wins, like Flask's `request.args.get`.
pub fn delay_from_query(query: &str, max: f64) -> Result<f64, DelayError> {
    let raw = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "delay")
        .map(|(_, value)| value);
    parse_delay(raw.as_deref(), max)
}

/// Parses one raw `delay` value: a plain decimal number of seconds in `[0, max]`.
///
/// Rust's `f64` parser already refuses hex, spaces and trailing junk; what it accepts
/// and we must still refuse is `inf`, `nan` and overflow to infinity (`1e309`).
pub fn parse_delay(raw: Option<&str>, max: f64) -> Result<f64, DelayError> {
    let raw = match raw {
        None | Some("") => return Ok(DEFAULT_DELAY),
        Some(raw) => raw,
    };
    if raw.len() > MAX_RAW_LEN {
        return Err(DelayError::TooLong(raw.len()));
    }
    let seconds: f64 = raw
        .parse()
        .map_err(|_| DelayError::NotANumber(format!("{raw:?}")))?;
    if !seconds.is_finite() {
        return Err(DelayError::NotFinite);
    }
    if seconds < 0.0 {
        return Err(DelayError::Negative);
    }
    if seconds > max {
        return Err(DelayError::TooLarge { got: seconds, max });
    }
    // `-0` is accepted above; hand back a plain zero.
    Ok(seconds.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_empty_means_one_second() {
        assert_eq!(parse_delay(None, 60.0), Ok(1.0));
        assert_eq!(parse_delay(Some(""), 60.0), Ok(1.0));
        assert_eq!(delay_from_query("", 60.0), Ok(1.0));
        assert_eq!(delay_from_query("other=3", 60.0), Ok(1.0));
    }

    #[test]
    fn accepts_plain_decimals_in_range() {
        assert_eq!(delay_from_query("delay=0.25", 60.0), Ok(0.25));
        assert_eq!(delay_from_query("delay=60", 60.0), Ok(60.0));
        assert_eq!(delay_from_query("delay=0", 60.0), Ok(0.0));
        assert_eq!(delay_from_query("delay=-0", 60.0), Ok(0.0));
        assert_eq!(delay_from_query("delay=1e-3", 60.0), Ok(0.001));
        assert_eq!(delay_from_query("x=1&delay=2&delay=3", 60.0), Ok(2.0));
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        let cases = [
            ("delay=abc", "not a number"),
            ("delay=0x10", "not a number"),
            ("delay=%00", "not a number"),
            ("delay=1%3B%20DROP%20TABLE%20x", "not a number"),
            ("delay=%20", "not a number"),
            ("delay=nan", "finite"),
            ("delay=inf", "finite"),
            ("delay=-inf", "finite"),
            ("delay=1e309", "finite"),
            ("delay=-1", "negative"),
            ("delay=61", "maximum"),
        ];
        for (query, reason) in cases {
            let err = delay_from_query(query, 60.0).expect_err(query).to_string();
            assert!(err.contains(reason), "{query}: {err}");
            assert!(
                !err.contains('\n') && !err.contains('\0'),
                "{query}: {err:?}"
            );
        }
        let huge = format!("delay={}", "9".repeat(100_000));
        assert_eq!(
            delay_from_query(&huge, 60.0),
            Err(DelayError::TooLong(100_000))
        );
    }
}
