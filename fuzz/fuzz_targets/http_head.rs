//! app_sync's HTTP request head parser (`app_sync::parse::parse_head`): any bytes are a
//! head, "not yet", or a refusal (400/431); a head never claims more bytes than it got.
#![no_main]

use app_sync::parse::{parse_head, HeadError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_head(data) {
        Ok(Some(head)) => {
            assert!(head.len <= data.len());
            assert!(head.minor_version <= 1);
            // The rest of the buffer is the next request (or the body): parsing it
            // must be as safe.
            let _ = parse_head(&data[head.len..]);
        }
        Ok(None) | Err(HeadError::Malformed(_) | HeadError::TooLarge(_)) => {}
        Err(other) => panic!("a parse cannot end or time out: {other:?}"),
    }
});
