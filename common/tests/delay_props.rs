//! Property tests of the `delay` parser (the fuzz target `delay` runs the same checks on
//! bytes no one chose).

use common::delay::{delay_from_query, parse_delay, DelayError, DEFAULT_DELAY};
use proptest::prelude::*;

/// What every answer of the parser must satisfy, whatever it was given.
fn check(result: &Result<f64, DelayError>, max: f64) {
    match result {
        Ok(seconds) => {
            assert!(seconds.is_finite() && *seconds >= 0.0 && *seconds <= max);
            assert!(seconds.is_sign_positive(), "{seconds}");
        }
        Err(err) => {
            let line = err.to_string();
            assert!(line.starts_with("bad delay: "), "{line}");
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            // The value is echoed escaped: at most 32 bytes, each at most `\u{10ffff}`.
            assert!(line.len() <= 400, "a 400 body stays short: {line:?}");
        }
    }
}

/// Found by `make fuzz` (target `delay`): 32 bytes of control characters, each echoed as
/// `\u{10}`, made a 219-byte reason, over the 200 the checks first assumed; the real bound
/// is the escaped 32-byte cap, and the reason stays one line.
#[test]
fn control_characters_are_echoed_escaped_on_one_bounded_line() {
    let mut raw = b"d'%".to_vec();
    raw.extend(std::iter::repeat_n(0x10, 28));
    raw.push(0);
    let raw = String::from_utf8(raw).expect("ASCII");
    let result = parse_delay(Some(&raw), 60.0);
    assert!(
        matches!(result, Err(DelayError::NotANumber(_))),
        "{result:?}"
    );
    check(&result, 60.0);
    let line = result.expect_err("refused").to_string();
    assert!(line.len() > 200 && line.contains("\\u{10}"), "{line}");
}

proptest! {
    #[test]
    fn any_value_is_a_delay_in_range_or_a_one_line_reason(raw in any::<String>()) {
        check(&parse_delay(Some(&raw), 60.0), 60.0);
    }

    #[test]
    fn any_query_is_a_delay_in_range_or_a_one_line_reason(query in any::<String>()) {
        check(&delay_from_query(&query, 60.0), 60.0);
    }

    #[test]
    fn plain_decimals_in_range_are_accepted_as_written(millis in 0u32..=60_000) {
        let raw = format!("{}.{:03}", millis / 1000, millis % 1000);
        let expected: f64 = raw.parse().expect("a decimal");
        prop_assert_eq!(delay_from_query(&format!("delay={raw}"), 60.0), Ok(expected));
    }

    #[test]
    fn over_the_maximum_is_refused(extra in 1u32..1_000_000) {
        let raw = format!("{}", 60 + extra);
        let got = parse_delay(Some(&raw), 60.0);
        let refused = matches!(got, Err(DelayError::TooLarge { .. }));
        prop_assert!(refused, "{:?}", got);
    }

    #[test]
    fn the_first_delay_wins_and_other_keys_do_not_matter(
        key in "[a-ce-z]{1,8}", value in ".*", seconds in 0u8..60,
    ) {
        let query = format!("{key}={}&delay={seconds}&delay=99", form_escape(&value));
        prop_assert_eq!(delay_from_query(&query, 60.0), Ok(f64::from(seconds)));
        prop_assert_eq!(delay_from_query(&format!("{key}=1"), 60.0), Ok(DEFAULT_DELAY));
    }
}

/// Percent-encodes every byte, so that no `&` or `=` in `value` splits the pair.
fn form_escape(value: &str) -> String {
    value.bytes().map(|byte| format!("%{byte:02X}")).collect()
}
