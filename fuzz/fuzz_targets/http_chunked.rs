//! app_sync's chunked request body reader (`app_sync::parse::parse_chunked`): any bytes
//! are a whole body, "not yet", or a refusal (400, 413, 431); a body never claims more
//! bytes than it got, and a complete body stays complete with more bytes after it (the
//! next request).
#![no_main]

use app_sync::parse::{parse_chunked, HeadError, MAX_BODY_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_chunked(data, MAX_BODY_BYTES) {
        Ok(Some(len)) => {
            assert!(len <= data.len());
            assert_eq!(parse_chunked(&data[..len], MAX_BODY_BYTES), Ok(Some(len)));
        }
        Ok(None) => {}
        Err(HeadError::Refused { status, .. }) => {
            assert!([400, 413, 431].contains(&status), "{status}");
        }
        Err(other) => panic!("a parse cannot end or time out: {other:?}"),
    }
});
