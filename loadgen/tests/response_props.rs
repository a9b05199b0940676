//! Property tests of loadgen's response handling, through [`loadgen::read_response`]
//! (the same code a load runs; the fuzz target `loadgen_response` feeds it bytes no one
//! chose): a well-formed response is counted as written, anything else is a counted
//! failure, never a hang or a panic.

use loadgen::{read_response, ResponseOutcome};
use proptest::prelude::*;

fn outcome(raw: &[u8]) -> ResponseOutcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(read_response(raw))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_response_with_a_length_is_counted_as_written(
        status in 200u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..4096),
        headers in proptest::collection::vec(("X-[A-Za-z]{1,10}", "[!-~]{0,30}"), 0..8),
    ) {
        let mut raw = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\n", body.len()).into_bytes();
        for (name, value) in &headers {
            raw.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        match outcome(&raw) {
            ResponseOutcome::Complete { status: got, body_bytes, .. } => {
                prop_assert_eq!(got, status);
                // 204 and 304 have no body whatever their Content-Length says (RFC 9110).
                let expected = if matches!(status, 204 | 304) { 0 } else { body.len() as u64 };
                prop_assert_eq!(body_bytes, expected);
            }
            other => prop_assert!(false, "{other:?}"),
        }
    }

    #[test]
    fn a_body_cut_short_is_a_receive_failure(len in 1usize..4096, cut in 0usize..4096) {
        let cut = cut % len;
        let mut raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
        raw.extend(std::iter::repeat_n(b'x', cut));
        let got = outcome(&raw);
        let receive = matches!(got, ResponseOutcome::Failed { kind: "receive", .. });
        prop_assert!(receive, "{:?}", got);
    }

    #[test]
    fn any_bytes_are_counted_never_hung(raw in proptest::collection::vec(any::<u8>(), 0..1024)) {
        prop_assert_ne!(outcome(&raw), ResponseOutcome::Hung);
    }
}
