//! Property tests of the request parsers (the fuzz targets `http_head`, `uwsgi_packet`
//! and `uwsgi_vars` run the same checks on bytes no one chose): whatever arrives, the
//! answer is a request, "not yet", or a refusal, never a panic, and a well-formed
//! request reads back as it was written.

use app_sync::parse::{
    packet_len, parse_chunked, parse_head, parse_packet, parse_vars, Body, HeadError,
    MAX_BODY_BYTES, MAX_HEADERS, UWSGI_MAX_BODY_BYTES,
};
use proptest::prelude::*;

/// A uwsgi vars block, as nginx writes it.
fn encode_vars(vars: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in vars {
        for part in [key, value] {
            let len = u16::try_from(part.len()).expect("a short var");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(part.as_bytes());
        }
    }
    out
}

/// A whole uwsgi packet: the 4-byte header, then the vars.
fn packet(vars: &[(String, String)]) -> Vec<u8> {
    let block = encode_vars(vars);
    let size = u16::try_from(block.len()).expect("a short block");
    let mut out = vec![0];
    out.extend_from_slice(&size.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&block);
    out
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}"
}

proptest! {
    #[test]
    fn any_bytes_are_a_head_not_yet_or_a_refusal(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match parse_head(&bytes) {
            Ok(Some(head)) => {
                prop_assert!(head.len <= bytes.len());
                prop_assert!(head.minor_version <= 1);
            }
            Ok(None) => {}
            Err(HeadError::Refused { status, .. }) => {
                prop_assert!([400, 413, 414, 431, 501, 505].contains(&status), "status {}", status);
            }
            Err(other) => prop_assert!(false, "a parse cannot time out or end: {other:?}"),
        }
    }

    #[test]
    fn a_written_request_reads_back(
        method in "GET|HEAD|POST|PUT",
        path in "/[a-z0-9/]{0,20}",
        query in "[a-z0-9=&.]{0,20}",
        minor in 0u8..=1,
        headers in proptest::collection::vec((token(), "[ -~]{0,30}"), 0..10),
        body_len in 0usize..100_000,
    ) {
        let target = if query.is_empty() { path.clone() } else { format!("{path}?{query}") };
        let mut text = format!("{method} {target} HTTP/1.{minor}\r\n");
        for (name, value) in &headers {
            // Only the names the parser looks at could change what it reads.
            let name = if ["connection", "content-length", "transfer-encoding", "host", "expect"]
                .contains(&name.to_ascii_lowercase().as_str()) { "X-Other" } else { name };
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str(&format!("Host: example.com:3000\r\nContent-Length: {body_len}\r\n\r\nbody"));
        let head = parse_head(text.as_bytes()).expect("well formed").expect("complete");
        prop_assert_eq!(&head.method, &method);
        prop_assert_eq!(&head.target, &target);
        prop_assert_eq!(head.minor_version, minor);
        prop_assert_eq!(head.keep_alive, minor == 1);
        prop_assert_eq!(head.body, Body::Length(body_len));
        prop_assert_eq!(head.len, text.len() - 4);
        // Every proper prefix is "not yet": nothing is decided on half a head.
        for cut in [1, head.len / 2, head.len - 1] {
            prop_assert_eq!(parse_head(&text.as_bytes()[..cut]), Ok(None));
        }
    }

    #[test]
    fn more_headers_than_the_bound_is_a_431(extra in 1usize..20) {
        let mut text = String::from("GET / HTTP/1.1\r\n");
        for i in 0..MAX_HEADERS + extra {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        let refused = matches!(parse_head(text.as_bytes()), Err(HeadError::Refused { status: 431, .. }));
        prop_assert!(refused);
    }

    #[test]
    fn any_bytes_are_vars_or_a_reason(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(vars) = parse_vars(&bytes) {
            let encoded: usize = vars.iter().map(|(k, v)| 4 + k.len() + v.len()).sum();
            prop_assert_eq!(encoded, bytes.len());
        }
    }

    #[test]
    fn any_bytes_are_a_packet_or_a_refusal(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(len) = packet_len(&bytes) {
            prop_assert!((4..=4 + usize::from(u16::MAX)).contains(&len));
        }
        if let Ok(packet) = parse_packet(&bytes) {
            prop_assert!(packet.content_length <= UWSGI_MAX_BODY_BYTES);
            prop_assert!(matches!(packet.protocol, "HTTP/1.0" | "HTTP/1.1"));
        }
    }

    #[test]
    fn vars_round_trip_and_cuts_are_refused(
        vars in proptest::collection::vec((token(), "[ -~]{0,40}"), 0..12),
    ) {
        let block = encode_vars(&vars);
        let parsed = parse_vars(&block).expect("well formed");
        let expected: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        prop_assert_eq!(parsed, expected);
        for cut in 1..block.len() {
            // A cut inside a length or a string is refused; a cut between vars is a
            // shorter, valid block.
            if let Ok(shorter) = parse_vars(&block[..cut]) {
                prop_assert!(shorter.len() < vars.len());
            }
        }
    }

    #[test]
    fn a_request_packet_reads_back(
        method in "GET|HEAD|POST",
        path in "/[a-z0-9/]{0,20}",
        query in "[a-z0-9=&.]{0,20}",
        content_length in 0usize..200_000,
    ) {
        let vars: Vec<(String, String)> = [
            ("REQUEST_METHOD", method.as_str()),
            ("PATH_INFO", path.as_str()),
            ("QUERY_STRING", query.as_str()),
            ("CONTENT_LENGTH", &content_length.to_string()),
            ("SERVER_PROTOCOL", "HTTP/1.0"),
        ].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let bytes = packet(&vars);
        prop_assert_eq!(packet_len(&bytes), Ok(bytes.len()));
        match parse_packet(&bytes) {
            Ok(packet) => {
                prop_assert!(content_length <= UWSGI_MAX_BODY_BYTES);
                prop_assert_eq!(packet.method, method.as_str());
                prop_assert_eq!(packet.path, path.as_str());
                prop_assert_eq!(packet.query, query.as_str());
                prop_assert_eq!(packet.protocol, "HTTP/1.0");
                prop_assert_eq!(packet.content_length, content_length);
            }
            Err(err) => {
                prop_assert!(content_length > UWSGI_MAX_BODY_BYTES);
                prop_assert_eq!(err.status, 413);
            }
        }
        prop_assert!(parse_packet(&bytes[..bytes.len() - 1]).is_err());
    }
}

proptest! {
    #[test]
    fn any_bytes_are_a_chunked_body_not_yet_or_a_refusal(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        match parse_chunked(&bytes, MAX_BODY_BYTES) {
            Ok(Some(len)) => prop_assert!(len <= bytes.len()),
            Ok(None) => {}
            Err(HeadError::Refused { status, .. }) => {
                prop_assert!([400, 413, 431].contains(&status), "status {}", status);
            }
            Err(other) => prop_assert!(false, "a parse cannot time out or end: {other:?}"),
        }
    }

    #[test]
    fn a_chunked_body_reads_back_whole_and_not_before(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..8),
        ext in proptest::option::of("[a-z]{1,8}(=[a-z0-9]{1,8})?"),
        trailers in proptest::collection::vec((token(), "[ -~]{0,20}"), 0..3),
        next in "[A-Z]{0,10}",
    ) {
        let mut body = Vec::new();
        for chunk in &chunks {
            body.extend_from_slice(format!("{:X}", chunk.len()).as_bytes());
            if let Some(ext) = &ext {
                body.extend_from_slice(format!(";{ext}").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n");
        for (name, value) in &trailers {
            body.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        let whole = body.len();
        body.extend_from_slice(next.as_bytes());
        prop_assert_eq!(parse_chunked(&body, MAX_BODY_BYTES), Ok(Some(whole)));
        for cut in [0, whole / 3, whole / 2, whole - 1] {
            prop_assert_eq!(parse_chunked(&body[..cut], MAX_BODY_BYTES), Ok(None));
        }
        let data: usize = chunks.iter().map(Vec::len).sum();
        if data > 0 {
            let refused = matches!(
                parse_chunked(&body, data - 1),
                Err(HeadError::Refused { status: 413, .. })
            );
            prop_assert!(refused);
        }
    }
}
