//! The real probe binary against a real socket: 0 on a 2xx answer, 1 with a reason on
//! anything else (an error status, nothing listening).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::thread;

/// Serves `answers` one connection each on a loopback port, then stops.
fn one_shot_server(answers: &'static [&'static str]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || {
        for answer in answers {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

fn probe(url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_healthcheck"))
        .arg(url)
        .output()
        .expect("healthcheck binary runs")
}

#[test]
fn two_hundred_is_healthy_anything_else_is_not() {
    let port = one_shot_server(&[
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
    ]);
    let out = probe(&format!("http://127.0.0.1:{port}/healthz"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = probe(&format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("status 503"), "{stderr}");
}

#[test]
fn nothing_listening_exits_one_with_a_reason() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.local_addr().expect("local addr").port()
    };
    let out = probe(&format!("http://127.0.0.1:{port}/healthz"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect"));
}
