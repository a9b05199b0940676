//! The `delay` parser (common/src/delay.rs), on a raw value and on a whole query
//! string: a finite delay in [0, max], or a one-line reason for the 400.
#![no_main]

use common::delay::{delay_from_query, parse_delay, DelayError};
use libfuzzer_sys::fuzz_target;

const MAX: f64 = 60.0;

fn check(result: Result<f64, DelayError>) {
    match result {
        Ok(seconds) => assert!(seconds.is_finite() && (0.0..=MAX).contains(&seconds)),
        Err(err) => {
            let line = err.to_string();
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            // The value is echoed escaped: at most 32 bytes, each at most `\u{10ffff}`.
            assert!(line.len() <= 400, "{line:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(parse_delay(Some(&text), MAX));
    check(delay_from_query(&text, MAX));
});
