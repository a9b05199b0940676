//! `--protocol uwsgi` behind a real nginx (`uwsgi_pass`), the article's nginx -> uWSGI
//! topology, plus malformed packets sent straight to the socket.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::testing::{free_port, raw_get_status};
use support::*;

const HI: &str = "Hi there! slow api response";

/// A real nginx on a free port, configured in a temporary directory, stopped on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start(uwsgi_port: u16) -> Nginx {
        let bin = ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nginx");
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("app_sync-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("nginx temp dir");
        let d = dir.display();
        // The stock uwsgi_params, inline so the test does not depend on /etc/nginx.
        let config = format!(
            r#"worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            uwsgi_param QUERY_STRING $query_string;
            uwsgi_param REQUEST_METHOD $request_method;
            uwsgi_param CONTENT_TYPE $content_type;
            uwsgi_param CONTENT_LENGTH $content_length;
            uwsgi_param REQUEST_URI $request_uri;
            uwsgi_param PATH_INFO $document_uri;
            uwsgi_param DOCUMENT_ROOT $document_root;
            uwsgi_param SERVER_PROTOCOL $server_protocol;
            uwsgi_param REQUEST_SCHEME $scheme;
            uwsgi_param REMOTE_ADDR $remote_addr;
            uwsgi_param REMOTE_PORT $remote_port;
            uwsgi_param SERVER_PORT $server_port;
            uwsgi_param SERVER_NAME $server_name;
            uwsgi_pass 127.0.0.1:{uwsgi_port};
        }}
    }}
}}
"#
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config).expect("write nginx.conf");
        let child = Command::new(bin)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start nginx ({bin}): {err}; install it with: apt-get install -y nginx-light")
            });
        Nginx { child, dir, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGQUIT is nginx's graceful stop; SIGKILL would leave its worker behind.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// slow_api <- app_sync (uwsgi) <- nginx, ready when nginx's /healthz reaches app_sync.
fn topology(args: &[&str]) -> (Service, Service, Nginx) {
    let api = slow_api();
    let api_port = api.port.to_string();
    let mut all = vec!["--protocol", "uwsgi", "--port-api", &api_port];
    all.extend_from_slice(args);
    let mut app = Service::spawn_with_env(APP, "--port-app", &all, &[]);
    let nginx = Nginx::start(app.port);
    let nginx_port = nginx.port;
    app.wait_ready(Duration::from_secs(30), || {
        raw_get_status(nginx_port, "/healthz") == Some(200)
    });
    (api, app, nginx)
}

#[test]
fn nginx_uwsgi_pass_reaches_the_app() {
    let (_api, _app, nginx) = topology(&["--threads", "2"]);
    let reply = get(&nginx.url("/?delay=0.2"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    let reply = get(&nginx.url("/?delay=abc"));
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.body.contains("bad delay"), "{reply:?}");
    assert_eq!(get(&nginx.url("/nope")).status, 404);
    // A query string with encoded characters passes through untouched.
    let reply = get(&nginx.url("/?x=%20y&delay=0%2E1"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
}

#[test]
fn nginx_in_front_of_prefork_workers_keeps_the_cap() {
    let (_api, app, nginx) = topology(&["--workers", "2", "--threads", "2"]);
    let url = nginx.url("/?delay=0.6");
    let (replies, took) = get_concurrently(&url, 4);
    for reply in &replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    assert!(
        took < Duration::from_millis(1100),
        "4 x 0.6 s on 2x2 took {took:?}"
    );
    let (replies, took) = get_concurrently(&url, 8);
    for reply in &replies {
        assert_eq!((reply.status, reply.body.as_str()), (200, HI));
    }
    assert!(
        took >= Duration::from_millis(1150),
        "8 x 0.6 s on 2x2 took only {took:?}"
    );
    drop(nginx);
    stop(app);
}

#[test]
fn malformed_uwsgi_packets_get_400_and_the_thread_survives() {
    let (_api, app, nginx) = topology(&["--threads", "1"]);
    // modifier1 5 (PSGI) is not ours.
    let answer = raw_exchange(app.port, &[5, 0, 0, 0]);
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("modifier1"), "{answer}");
    // A vars block whose key claims more bytes than the block has.
    let answer = raw_exchange(app.port, &[0, 4, 0, 0, 200, 0, b'A', b'B']);
    assert_eq!(status_of(&answer), 400, "{answer}");
    // No REQUEST_METHOD.
    let answer = raw_exchange(app.port, &[0, 0, 0, 0]);
    assert_eq!(status_of(&answer), 400, "{answer}");
    assert!(answer.contains("REQUEST_METHOD"), "{answer}");
    // HTTP sent to the uwsgi port is garbage to it, answered and not fatal.
    let answer = raw_exchange(app.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.is_empty() || status_of(&answer) == 400, "{answer}");

    let reply = get(&nginx.url("/?delay=0"));
    assert_eq!((reply.status, reply.body.as_str()), (200, HI));
}
