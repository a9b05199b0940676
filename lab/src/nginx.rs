//! nginx in front of an app, run in the foreground as a supervised child.
//!
//! The site configuration is the one the compose files mount (`nginx/*.conf`, compiled
//! in): the runner rewrites only its `listen` line and its upstream `server` line for
//! loopback ports, and wraps it in a main configuration that keeps every file nginx
//! writes inside a scratch directory (no `/etc/nginx`, no `/var`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::procs::{find_executable, Service};
use crate::scenarios::{App, Front, Scenario};

/// What to install when nginx is missing.
pub const PACKAGE_HINT: &str =
    "nginx not found: install it with `apt-get install -y nginx-light` (or set NGINX=/path/to/nginx)";

/// The nginx binary: `$NGINX`, else `nginx` in `PATH` or `/usr/sbin`.
pub fn find() -> Option<PathBuf> {
    find_executable("nginx", "NGINX", &["/usr/sbin", "/usr/local/sbin"])
}

/// nginx -> app_sync over HTTP, one upstream connection per request: a
/// thread-per-connection backend must not have its threads held by idle keep-alive
/// sockets (compose/nginx-sync.yml).
pub const SYNC: &str = include_str!("../../nginx/nginx-sync.conf");
/// nginx -> app_async over HTTP with a pool of keep-alive upstream connections: an event
/// loop holds them for free (compose/nginx-async.yml).
pub const ASYNC: &str = include_str!("../../nginx/nginx-async.conf");
/// nginx `uwsgi_pass` -> app_async's event loop, the article's nginx -> uWSGI + gevent
/// (compose/nginx-uwsgi.yml).
pub const UWSGI: &str = include_str!("../../nginx/nginx-uwsgi.conf");
/// nginx `uwsgi_pass` -> app_sync's threads (compose/nginx-uwsgi-sync.yml).
pub const UWSGI_SYNC: &str = include_str!("../../nginx/nginx-uwsgi-sync.conf");

/// nginx straight to the slow API with a keep-alive pool: the yardstick a proxy in Rust
/// is measured against (no compose file; a reference row).
pub const PROXY: &str = include_str!("../../nginx/nginx-proxy.conf");

/// The site configuration of `scenario`: the file its compose file mounts.
pub fn site(scenario: &Scenario) -> Option<&'static str> {
    match (scenario.front, scenario.app) {
        (Front::Direct, _) => None,
        (_, App::Upstream) => Some(PROXY),
        (Front::NginxHttp, _) => Some(SYNC),
        (Front::NginxHttpKeepAlive, _) => Some(ASYNC),
        (Front::NginxUwsgi, App::Sync { .. }) => Some(UWSGI_SYNC),
        (Front::NginxUwsgi, _) => Some(UWSGI),
    }
}

/// `site` with its `listen` line on 127.0.0.1:`listen_port` and its upstream `server`
/// line on 127.0.0.1:`app_port`. Errors if either line is not there exactly once.
pub fn rewrite_site(site: &str, listen_port: u16, app_port: u16) -> anyhow::Result<String> {
    let (mut listens, mut servers) = (0, 0);
    let mut out = String::with_capacity(site.len());
    for line in site.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let directive = line.trim_start();
        if directive.starts_with("listen ") {
            listens += 1;
            out.push_str(&format!(
                "{indent}listen 127.0.0.1:{listen_port} backlog=4096;\n"
            ));
        } else if directive.starts_with("server ") && directive.ends_with(';') {
            servers += 1;
            out.push_str(&format!("{indent}server 127.0.0.1:{app_port};\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if listens != 1 || servers != 1 {
        anyhow::bail!(
            "an nginx site must have one `listen` and one upstream `server` line; found {listens} and {servers}"
        );
    }
    Ok(out)
}

/// How many worker processes: `auto` (one per core, as the official image runs) or a
/// number (the reference row compares one nginx worker with one event loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Auto,
    Exactly(u32),
}

impl Workers {
    /// The workers `scenario`'s nginx runs: one for the reference proxy, else auto.
    pub fn of(scenario: &Scenario) -> Workers {
        match scenario.app {
            App::Upstream => Workers::Exactly(1),
            _ => Workers::Auto,
        }
    }
}

/// A complete nginx configuration for `site` (one of this module's constants): the
/// shared site, on loopback ports, with every path nginx writes under `dir`.
pub fn config(
    site: &str,
    workers: Workers,
    dir: &Path,
    listen_port: u16,
    app_port: u16,
) -> anyhow::Result<String> {
    let site = rewrite_site(site, listen_port, app_port)?;
    let workers = match workers {
        Workers::Auto => "auto".to_owned(),
        Workers::Exactly(count) => count.to_string(),
    };
    let dir = dir.display();
    Ok(format!(
        r#"# Written by the lab for one run; every path is under this directory.
worker_processes {workers};
worker_rlimit_nofile 65536;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;

events {{
    # A proxied request holds two connections (the client's and the upstream's): one
    # worker must hold 10,000 clients' worth (the sweep's top point) without refusing any.
    worker_connections 65536;
    multi_accept on;
}}

http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

{site}}}
"#
    ))
}

/// Writes the configuration for `site` into `dir` and starts nginx on `listen_port` in
/// front of the app on `app_port`. The caller waits for it to answer.
pub fn start(
    site: &str,
    workers: Workers,
    dir: &Path,
    listen_port: u16,
    app_port: u16,
) -> anyhow::Result<Service> {
    let bin = find().ok_or_else(|| anyhow::anyhow!(PACKAGE_HINT))?;
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(site, workers, dir, listen_port, app_port)?)?;
    std::fs::write(dir.join("uwsgi_params"), UWSGI_PARAMS)?;
    let mut command = Command::new(bin);
    command
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        // Errors before the configuration is read go here too, not to /var/log.
        .arg("-e")
        .arg(dir.join("error.log"))
        .args(["-g", "daemon off;"]);
    // QUIT: nginx's graceful stop.
    Service::spawn("nginx", command, &dir.join("stderr.log"), libc::SIGQUIT)
}

/// `uwsgi_params`, as Debian ships it, for configurations that `include` it (written
/// next to the generated configuration, so nginx need not have /etc/nginx).
pub const UWSGI_PARAMS: &str = "uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;
uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;
uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_site_is_its_compose_file_on_loopback_ports() {
        let dir = Path::new("/tmp/x");
        let conf = |site| config(site, Workers::Auto, dir, 8080, 3000).expect("a valid site");
        let (sync, keep, uwsgi, uwsgi_sync) =
            (conf(SYNC), conf(ASYNC), conf(UWSGI), conf(UWSGI_SYNC));
        for conf in [&sync, &keep, &uwsgi, &uwsgi_sync] {
            assert!(conf.contains("listen 127.0.0.1:8080 backlog=4096;"));
            assert!(conf.contains("server 127.0.0.1:3000;"));
            assert!(conf.contains("pid /tmp/x/nginx.pid"));
            assert!(!conf.contains("app_sync:3000") && !conf.contains("app_async:3000"));
        }
        assert!(sync.contains("proxy_pass") && !sync.contains("keepalive "));
        assert!(keep.contains("keepalive 256") && keep.contains("Connection \"\""));
        for conf in [&uwsgi, &uwsgi_sync] {
            assert!(conf.contains("uwsgi_pass app") && !conf.contains("proxy_pass"));
        }
    }

    #[test]
    fn each_nginx_scenario_has_its_site() {
        for scenario in crate::scenarios::SCENARIOS {
            assert_eq!(
                site(scenario).is_some(),
                scenario.front.is_nginx(),
                "{}",
                scenario.id
            );
        }
        let by_id = |id| crate::scenarios::by_id(id).and_then(site);
        assert_eq!(by_id("nginx-uwsgi"), Some(UWSGI));
        assert_eq!(by_id("nginx-uwsgi-sync"), Some(UWSGI_SYNC));
        assert_eq!(by_id("nginx-proxy"), Some(PROXY));
        let one = config(PROXY, Workers::Exactly(1), Path::new("/x"), 1, 2).expect("valid");
        assert!(one.contains("worker_processes 1;"));
    }

    #[test]
    fn a_site_without_exactly_one_listen_and_server_is_refused() {
        let two = "upstream a {\n server x:1;\n server y:2;\n}\nserver {\n listen 80;\n}\n";
        assert!(rewrite_site(two, 1, 2).is_err());
        let none = "server {\n}\n";
        assert!(rewrite_site(none, 1, 2).is_err());
    }
}
