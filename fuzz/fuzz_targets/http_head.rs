//! app_sync's HTTP request head parser (`app_sync::parse::parse_head`): any bytes are a
//! head, "not yet", or a refusal with one of the statuses the rules give (400, 413,
//! 414, 431, 501, 505); a head never claims more bytes than it got, and its target is
//! in origin-form (or `*`/authority-form for the methods that have them).
#![no_main]

use app_sync::parse::{head_too_large, parse_head, HeadError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_head(data) {
        Ok(Some(head)) => {
            assert!(head.len <= data.len());
            assert!(head.minor_version <= 1);
            assert!(
                head.target.starts_with('/') || head.method == "OPTIONS" || head.method == "CONNECT",
                "{head:?}"
            );
            // The rest of the buffer is the next request (or the body): parsing it
            // must be as safe.
            let _ = parse_head(&data[head.len..]);
        }
        Ok(None) => {
            // What read_head answers once the buffer is full and still "not yet".
            let HeadError::Refused { status, .. } = head_too_large(data) else {
                panic!("head_too_large is a refusal");
            };
            assert!(status == 414 || status == 431);
        }
        Err(HeadError::Refused { status, .. }) => {
            assert!([400, 413, 414, 431, 501, 505].contains(&status), "{status}");
        }
        Err(other) => panic!("a parse cannot end or time out: {other:?}"),
    }
});
