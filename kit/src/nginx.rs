//! nginx in front of an app, run in the foreground as a supervised child.
//!
//! The configuration is the one the compose files and swarm stacks mount (compiled in):
//! the main `nginx/nginx.conf` and the topology's site (`nginx/nginx-*.conf`). The runner
//! rewrites only the site's `listen` and upstream `server` lines for loopback ports, and
//! in the main file the worker count, the error log (into the scratch directory) and the
//! `include` (replaced by the site). nginx runs with `-p <scratch directory>`, where the
//! main file's relative paths put everything it writes (no `/etc/nginx`, no `/var`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::procs::{find_executable, Service};
use crate::topology::{App, Front, Topology};

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

/// The main configuration every nginx of the lab runs, native or in a container.
pub const MAIN: &str = include_str!("../../nginx/nginx.conf");

/// The site configuration of `topology`: the file its compose file mounts.
pub fn site(topology: &Topology) -> Option<&'static str> {
    match (topology.front, topology.app) {
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
    /// The workers `topology`'s nginx runs: one for the reference proxy, else auto.
    pub fn of(topology: &Topology) -> Workers {
        match topology.app {
            App::Upstream => Workers::Exactly(1),
            _ => Workers::Auto,
        }
    }
}

/// A complete nginx configuration for `site` (one of this module's constants): `MAIN`
/// with the shared site in place of its `include`, on loopback ports, its worker count
/// and its error log under `dir` (nginx runs with `-p dir`, which holds every other path).
/// Errors if a line it rewrites is not in `MAIN` exactly once.
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
    let mut seen = [0; 3];
    let mut out = String::with_capacity(MAIN.len() + site.len());
    for line in MAIN.lines() {
        let directive = line.trim_start();
        if directive.starts_with("worker_processes ") {
            seen[0] += 1;
            out.push_str(&format!("worker_processes {workers};\n"));
        } else if directive.starts_with("error_log ") {
            seen[1] += 1;
            out.push_str(&format!("error_log {}/error.log warn;\n", dir.display()));
        } else if directive.starts_with("include conf.d/") {
            seen[2] += 1;
            out.push_str(&site);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if seen != [1, 1, 1] {
        anyhow::bail!("nginx/nginx.conf must have one `worker_processes`, `error_log` and `include conf.d/` line each; found {seen:?}");
    }
    Ok(out)
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
    let mut command = Command::new(bin);
    command.args(prepare(site, workers, dir, listen_port, app_port)?);
    command.args(["-g", "daemon off;"]);
    // QUIT: nginx's graceful stop.
    Service::spawn("nginx", command, &dir.join("stderr.log"), libc::SIGQUIT)
}

/// Writes the configuration for `site` (and the `uwsgi_params` it may include) into
/// `dir` and returns the arguments that run nginx on it from there: `-p dir -c conf -e
/// error.log` (errors before the configuration is read go there too, not to /var/log).
/// The caller adds its `-g` globals and whatever runs nginx (valgrind, for one).
pub fn prepare(
    site: &str,
    workers: Workers,
    dir: &Path,
    listen_port: u16,
    app_port: u16,
) -> anyhow::Result<Vec<std::ffi::OsString>> {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(site, workers, dir, listen_port, app_port)?)?;
    std::fs::write(dir.join("uwsgi_params"), UWSGI_PARAMS)?;
    Ok(vec![
        "-p".into(),
        dir.into(),
        "-c".into(),
        conf.into(),
        "-e".into(),
        dir.join("error.log").into(),
    ])
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
            assert!(conf.contains("error_log /tmp/x/error.log warn;"));
            assert!(conf.contains("access_log off;") && conf.contains("server_tokens off;"));
            assert!(!conf.contains("include conf.d/"));
            assert!(!conf.contains("app_sync:3000") && !conf.contains("app_async:3000"));
        }
        assert!(sync.contains("proxy_pass") && !sync.contains("keepalive "));
        assert!(keep.contains("keepalive 256") && keep.contains("Connection \"\""));
        for conf in [&uwsgi, &uwsgi_sync] {
            assert!(conf.contains("uwsgi_pass app") && !conf.contains("proxy_pass"));
        }
    }

    #[test]
    fn each_front_has_its_site() {
        let sync = App::Sync {
            workers: 4,
            threads: 50,
            protocol: common::config::Protocol::Uwsgi,
        };
        let topology = |app, front| Topology {
            name: "t",
            app,
            front,
        };
        assert_eq!(site(&topology(sync, Front::Direct)), None);
        assert_eq!(site(&topology(sync, Front::NginxHttp)), Some(SYNC));
        assert_eq!(site(&topology(sync, Front::NginxUwsgi)), Some(UWSGI_SYNC));
        let proxy = topology(App::Upstream, Front::NginxHttpKeepAlive);
        assert_eq!(site(&proxy), Some(PROXY));
        assert_eq!(Workers::of(&proxy), Workers::Exactly(1));
        assert_eq!(
            Workers::of(&topology(sync, Front::NginxHttp)),
            Workers::Auto
        );
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
