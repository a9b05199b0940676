//! RFC 9112 (HTTP/1.1) and RFC 9110's rules for a server, on the wire: each request
//! below goes to a running dev server (one thread, which must survive all of them), and
//! the answer is the one the rule asks for. docs/reference.md ("HTTP conformance")
//! lists the rules with these tests and the parser's unit tests (`src/http.rs`).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::*;

const HI: &str = "Hi there! slow api response";

/// Where the status lines (`HTTP/1.x NNN `) of an answer start.
fn status_lines(answer: &str) -> Vec<usize> {
    let bytes = answer.as_bytes();
    answer
        .match_indices("HTTP/1.")
        .map(|(at, _)| at)
        .filter(|&at| {
            let status = bytes.get(at + 7..at + 13).unwrap_or_default();
            status.len() == 6
                && status[0].is_ascii_digit()
                && status[1] == b' '
                && status[2..5].iter().all(u8::is_ascii_digit)
                && status[5] == b' '
        })
        .collect()
}

/// How many responses an answer holds.
fn responses(answer: &str) -> usize {
    status_lines(answer).len()
}

#[test]
fn requests_the_rules_refuse_are_answered_and_the_connection_closed() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let long_target = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(app_sync::parse::MAX_HEAD_BYTES)
    );
    // A request smuggled behind one whose framing is refused must not be served.
    let next = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("Content-Length +3", format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc{next}"), 400, "Content-Length \"+3\" is not a number"),
        ("Content-Length -1", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".into(), 400, "Content-Length"),
        ("Content-Length 0x3", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\n".into(), 400, "Content-Length"),
        ("differing Content-Length", format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd{next}"), 400, "differing Content-Length"),
        ("differing Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n".into(), 400, "differing Content-Length"),
        ("Transfer-Encoding and Content-Length", format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{next}"), 400, "both Transfer-Encoding and Content-Length"),
        ("chunked not final", format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n{next}"), 400, "does not end with chunked"),
        ("unknown coding alone", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".into(), 400, "does not end with chunked"),
        ("unknown coding before chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n".into(), 501, "not implemented"),
        ("Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400, "HTTP/1.0"),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".into(), 400, "chunk size"),
        ("chunked body too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n".into(), 413, "too large"),
        ("Content-Length too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".into(), 413, "too large"),
        ("HTTP/1.1 without Host", "GET /?delay=0 HTTP/1.1\r\n\r\n".into(), 400, "needs a Host"),
        ("two Host lines", "GET /?delay=0 HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n".into(), 400, "more than one Host"),
        ("invalid Host", "GET /?delay=0 HTTP/1.1\r\nHost: a b\r\n\r\n".into(), 400, "Host"),
        ("whitespace before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n".into(), 400, "colon"),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n".into(), 400, "obs-fold"),
        ("whitespace after the request line", "GET / HTTP/1.1\r\n Host: x\r\n\r\n".into(), 400, "whitespace"),
        ("bare CR in a field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\rc\r\n\r\n".into(), 400, "bare CR"),
        ("bare CR in the request line", "GET / HTTP/1.1\rHost: x\r\n\r\n".into(), 400, "bad request"),
        ("NUL in a field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\0c\r\n\r\n".into(), 400, "bad request"),
        ("asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400, "request-target"),
        ("authority-form with GET", "GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400, "request-target"),
        ("fragment in the target", "GET /#f HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400, "request-target"),
        ("bad %-escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400, "request-target"),
        ("raw UTF-8 in the target", "GET /caf\u{e9} HTTP/1.1\r\nHost: x\r\n\r\n".into(), 400, "request-target"),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n".into(), 505, "HTTP/2.0 not supported"),
        ("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".into(), 505, "not supported"),
        ("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n".into(), 505, "not supported"),
        ("garbled version", "GET / HTTP/1.x\r\nHost: x\r\n\r\n".into(), 400, "bad request"),
        ("request line too long", long_target, 414, "request line too long"),
    ];
    for (name, request, status, reason) in cases {
        // raw_exchange reads until the server closes: a refusal closes the connection.
        let answer = raw_exchange(app.port, request.as_bytes());
        assert_eq!(status_of(&answer), status, "{name}: {answer}");
        assert!(answer.contains(reason), "{name}: {answer}");
        assert!(
            answer.contains("\r\nConnection: close\r\n"),
            "{name}: {answer}"
        );
        assert!(answer.contains("\r\nDate: "), "{name}: {answer}");
        assert_eq!(
            responses(&answer),
            1,
            "{name}: nothing after a refusal: {answer}"
        );
    }
    // The one thread is still there.
    let reply = get(&app.url("/?delay=0"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
}

/// The answers expected, in order: status and a part of the body.
type Expected = &'static [(u16, &'static str)];

#[test]
fn requests_the_rules_allow_are_served() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let cases: Vec<(&str, &str, Expected)> = vec![
        // A server MUST accept the absolute-form.
        ("absolute-form", "GET http://example.com/?delay=0 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", &[(200, HI)]),
        // A later HTTP/1.x minor is served as HTTP/1.1.
        ("HTTP/1.2", "GET /?delay=0 HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n", &[(200, HI)]),
        // HTTP/1.0 had no Host.
        ("HTTP/1.0 without Host", "GET /?delay=0 HTTP/1.0\r\n\r\n", &[(200, HI)]),
        // A repeated Content-Length of one value is that value.
        ("Content-Length 3, 3", "GET /?delay=0 HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabcGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &[(200, HI), (200, "ok")]),
        // A chunked body (with an extension and a trailer) is read to its end, and the
        // next request on the connection is found after it.
        ("chunked body", "GET /?delay=0 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &[(200, HI), (200, "ok")]),
        ("Content-Length body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &[(405, "method not allowed"), (200, "ok")]),
        // Connection: close: the server closes after that answer and serves no more.
        ("close", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &[(200, "ok")]),
        // Pipelined requests are answered in order.
        ("pipelined", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &[(404, "not found"), (200, "ok")]),
    ];
    for (name, request, expected) in cases {
        let answer = raw_exchange(app.port, request.as_bytes());
        assert_eq!(responses(&answer), expected.len(), "{name}: {answer}");
        let starts = status_lines(&answer);
        let ends = starts.iter().skip(1).copied().chain([answer.len()]);
        for ((start, end), (status, body)) in starts.iter().zip(ends).zip(expected) {
            let response = &answer[*start..end];
            assert_eq!(status_of(response), *status, "{name}: {answer}");
            assert!(response.contains(body), "{name}: {answer}");
            let head_end = response.find("\r\n\r\n").expect("a head");
            assert!(
                response[..head_end].contains("\r\nDate: "),
                "{name}: {answer}"
            );
        }
    }
}

#[test]
fn head_has_get_s_headers_and_no_body_and_405_says_allow() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let get = raw_exchange(app.port, b"GET /healthz HTTP/1.0\r\n\r\n");
    let head = raw_exchange(app.port, b"HEAD /healthz HTTP/1.0\r\n\r\n");
    assert!(
        get.contains("\r\nContent-Length: 2\r\n") && get.ends_with("\r\n\r\nok"),
        "{get}"
    );
    assert!(
        head.contains("\r\nContent-Length: 2\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    let delete = raw_exchange(app.port, b"DELETE / HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&delete), 405, "{delete}");
    assert!(delete.contains("\r\nAllow: GET, HEAD\r\n"), "{delete}");
    // The Date is an IMF-fixdate, e.g. "Tue, 01 Dec 2026 08:00:00 GMT".
    let date = get
        .lines()
        .find_map(|line| line.strip_prefix("Date: "))
        .expect("a Date");
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    assert!(date.ends_with(" GMT") && date.len() == 29, "{date}");
}

#[test]
fn expect_100_continue_gets_a_100_before_the_body_is_sent() {
    let api = slow_api();
    let app = app_sync_in_process(&api, &["--workers", "1", "--threads", "1"]);
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /?delay=0 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n")
        .expect("write");
    // Nothing of the body is sent until the 100 arrives.
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).expect("a 100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").expect("write the body");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.ends_with(HI), "{answer}");

    // HTTP/1.0 knows no 100: the expectation is ignored.
    let answer = raw_exchange(
        app.port,
        b"GET /?delay=0 HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert!(answer.starts_with("HTTP/1.0 200 OK\r\n"), "{answer}");
}
