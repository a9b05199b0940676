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

/// A uwsgi server in miniature: reads one packet, checks its header and variables, and
/// answers as a uwsgi app does (an HTTP status line on the raw socket).
#[test]
fn uwsgi_probe_sends_a_well_formed_packet() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    let server = thread::spawn(move || -> Result<Vec<(String, String)>, String> {
        let (mut stream, _) = listener.accept().map_err(|e| e.to_string())?;
        let mut header = [0u8; 4];
        stream.read_exact(&mut header).map_err(|e| e.to_string())?;
        if header[0] != 0 || header[3] != 0 {
            return Err(format!("modifiers {} {}", header[0], header[3]));
        }
        let mut vars = vec![0u8; u16::from_le_bytes([header[1], header[2]]) as usize];
        stream.read_exact(&mut vars).map_err(|e| e.to_string())?;
        let mut pairs = Vec::new();
        let mut rest = &vars[..];
        let take = |rest: &mut &[u8]| -> Result<String, String> {
            if rest.len() < 2 {
                return Err("truncated length".into());
            }
            let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
            let text = rest.get(2..2 + len).ok_or("truncated value")?;
            let text = String::from_utf8(text.to_vec()).map_err(|e| e.to_string())?;
            *rest = &rest[2 + len..];
            Ok(text)
        };
        while !rest.is_empty() {
            let key = take(&mut rest)?;
            let value = take(&mut rest)?;
            pairs.push((key, value));
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            .map_err(|e| e.to_string())?;
        Ok(pairs)
    });
    let out = probe(&format!("uwsgi://127.0.0.1:{port}/healthz?deep=1"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pairs = server
        .join()
        .expect("server thread")
        .expect("well-formed packet");
    let var = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(var("REQUEST_METHOD"), Some("GET"));
    assert_eq!(var("PATH_INFO"), Some("/healthz"));
    assert_eq!(var("QUERY_STRING"), Some("deep=1"));
    assert_eq!(var("REQUEST_URI"), Some("/healthz?deep=1"));
}
