//! `lab check-compose`: the compose files agree with the scenario table (docs/design.md).
//!
//! Each row of [`crate::scenarios`] that names a compose file says which file and
//! published port serve it, which service publishes the port, which service is the app,
//! with which binary and which workers / threads / client / driver / protocol, and what
//! stands in front of it. Every compose file is also held to the house rules: ports on
//! 127.0.0.1 only, `init: true`, a health check on every service, `depends_on` with
//! `condition: service_healthy`, a top comment naming the article's section, no
//! `version:`; and to the hardening every service gets (docs/docker.md): `read_only`,
//! `cap_drop: [ALL]`, no-new-privileges, memory and CPU limits, a nofile ulimit, a
//! `stop_grace_period` longer than the apps' 30 s drain, json-file log rotation, not root
//! for nginx and PostgreSQL, and nginx with the one main configuration (nginx/nginx.conf).
//!
//! [`check`] reads the files from disk; [`check_files`] holds the rules, over files
//! given as text (the unit tests' fixtures). Every disagreement is one line,
//! `WHERE: WHAT`; `make check-compose` (run by `make test`) exits 1 when there is any.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::scenarios::{Front, Scenario};

/// The services' defaults (docs/reference.md): a variable left unset means this.
const DEFAULTS: [(&str, &str); 6] = [
    ("WORKERS", "1"),
    ("THREADS", "1"),
    ("PROTOCOL", "http"),
    ("CLIENT", "async"),
    ("DRIVER", "async"),
    ("HOST", "127.0.0.1"),
];

/// Published ports that are no scenario's: PostgreSQL for the bonus, Prometheus, the
/// live page.
const OTHER_PORTS: [(&str, u16); 3] = [
    ("bonus-postgres.yml", 5432),
    ("prometheus.yml", 9090),
    ("live.yml", 8089),
];

/// Overlays added to a topology's file (`-f async-gevent.yml -f prometheus.yml`), not a
/// topology of the article: held to the house rules, but no article section to name.
const OVERLAYS: [&str; 2] = ["prometheus.yml", "live.yml"];

/// The apps' drain on SIGTERM (`SHUTDOWN_TIMEOUT`'s default, docs/reference.md), seconds.
const APP_DRAIN_S: u64 = 30;

/// What a check found: the disagreements, and how much it looked at.
#[derive(Debug, Default)]
pub struct Checked {
    /// One line each, `WHERE: WHAT`.
    pub errors: Vec<String>,
    pub files: usize,
    pub scenarios: usize,
}

impl Checked {
    /// The line printed when nothing disagrees.
    pub fn summary(&self) -> String {
        format!(
            "compose files agree with the {} scenarios ({} files checked)",
            self.scenarios, self.files
        )
    }
}

/// Checks `ROOT/compose/*.yml` against `scenarios`; the nginx sites they mount are read
/// from disk. An error only when the directory cannot be read.
pub fn check(root: &Path, scenarios: &[Scenario]) -> anyhow::Result<Checked> {
    let dir = root.join("compose");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml"))
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path)
            .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", path.display()))?;
        files.push((name, text));
    }
    let read = |path: &Path| std::fs::read_to_string(path).ok();
    Ok(check_files(root, &files, &read, scenarios))
}

/// The rules, over `files` (`(name in compose/, text)`); `read` gives a file the compose
/// files mount (an nginx site), by its path under `root`.
pub fn check_files(
    root: &Path,
    files: &[(String, String)],
    read: &dyn Fn(&Path) -> Option<String>,
    scenarios: &[Scenario],
) -> Checked {
    let mut checker = Checker {
        root,
        read,
        scenarios: scenarios
            .iter()
            .filter(|row| row.compose.is_some())
            .collect(),
        errors: Vec::new(),
    };
    let mut docs = BTreeMap::new();
    for (name, text) in files {
        let where_ = format!("compose/{name}");
        match parse(text) {
            Ok(doc) => {
                checker.file(name, text, &doc);
                docs.insert(name.as_str(), doc);
            }
            Err(err) => checker.fail(&where_, &format!("not YAML: {err}")),
        }
    }
    for scenario in checker.scenarios.clone() {
        checker.scenario(scenario, &docs);
    }
    Checked {
        errors: checker.errors,
        files: files.len(),
        scenarios: checker.scenarios.len(),
    }
}

/// One YAML document, with its `<<` merge keys applied.
fn parse(text: &str) -> anyhow::Result<Yaml> {
    let docs = YamlLoader::load_from_str(text).map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(docs.into_iter().next().map_or(Yaml::Null, merged))
}

/// `node` with every mapping's `<<` (a mapping, or a list of them) merged in: the
/// compose files write their shared settings once (`<<: *hardened`) and YAML 1.2
/// parsers leave merge keys to the application. A key the mapping sets itself wins,
/// then the earlier of the merged mappings, as in YAML 1.1's merge key.
fn merged(node: Yaml) -> Yaml {
    match node {
        Yaml::Array(items) => Yaml::Array(items.into_iter().map(merged).collect()),
        Yaml::Hash(hash) => {
            let merge_key = Yaml::String("<<".to_owned());
            let mut out = yaml_rust2::yaml::Hash::new();
            let mut sources = Vec::new();
            for (key, value) in hash {
                if key == merge_key {
                    match value {
                        Yaml::Array(list) => sources.extend(list),
                        other => sources.push(other),
                    }
                } else {
                    out.insert(key, merged(value));
                }
            }
            for source in sources {
                if let Yaml::Hash(source) = merged(source) {
                    for (key, value) in source {
                        out.entry(key).or_insert(value);
                    }
                }
            }
            Yaml::Hash(out)
        }
        other => other,
    }
}

/// A scalar as Python's `str()` and compose read it (`"4"`, `4` and `4.0` alike as
/// written); `None` for a missing key, a null, a list or a mapping.
fn text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(value) | Yaml::Real(value) => Some(value.clone()),
        Yaml::Integer(value) => Some(value.to_string()),
        Yaml::Boolean(value) => Some(value.to_string()),
        _ => None,
    }
}

/// Python's truthiness: set, and not empty, zero or false.
fn truthy(node: &Yaml) -> bool {
    match node {
        Yaml::String(value) => !value.is_empty(),
        Yaml::Real(value) => value.parse::<f64>() != Ok(0.0),
        Yaml::Integer(value) => *value != 0,
        Yaml::Boolean(value) => *value,
        Yaml::Array(items) => !items.is_empty(),
        Yaml::Hash(hash) => !hash.is_empty(),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => false,
    }
}

/// The entries of a mapping, as `(key as text, value)`; none for anything else.
fn entries(node: &Yaml) -> Vec<(String, &Yaml)> {
    node.as_hash()
        .map(|hash| {
            hash.iter()
                .filter_map(|(key, value)| text(key).map(|key| (key, value)))
                .collect()
        })
        .unwrap_or_default()
}

/// The items of a list, as text.
fn texts(node: &Yaml) -> Vec<String> {
    node.as_vec()
        .map(|items| items.iter().filter_map(text).collect())
        .unwrap_or_default()
}

/// A service's environment, as text (a mapping, or a list of `KEY=value`).
fn env_of(service: &Yaml) -> BTreeMap<String, String> {
    let env = &service["environment"];
    match env.as_vec() {
        Some(_) => texts(env)
            .iter()
            .filter_map(|item| item.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
        None => entries(env)
            .into_iter()
            .map(|(key, value)| (key, text(value).unwrap_or_default()))
            .collect(),
    }
}

/// The binary a service's image is built with (`build.args.BIN`).
fn binary_of(service: &Yaml) -> Option<String> {
    text(&service["build"]["args"]["BIN"])
}

/// One published port, short syntax: `[IP:]HOST:CONTAINER`.
#[derive(Debug, PartialEq)]
struct Published {
    ip: Option<String>,
    host: Option<u32>,
    /// The container's port, or the entry as written when it is no `HOST:CONTAINER`.
    container: String,
}

fn published(service: &Yaml) -> Vec<Published> {
    let Some(entries) = service["ports"].as_vec() else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|entry| {
            let written = text(entry).unwrap_or_default();
            parse_port(&written).unwrap_or(Published {
                ip: None,
                host: None,
                container: written,
            })
        })
        .collect()
}

fn parse_port(written: &str) -> Option<Published> {
    let digits = |part: &str| {
        (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())
            .flatten()
    };
    let parts: Vec<&str> = written.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [host, container] => (None, *host, *container),
        [ip, host, container]
            if !ip.is_empty() && ip.bytes().all(|byte| byte.is_ascii_digit() || byte == b'.') =>
        {
            (Some((*ip).to_owned()), *host, *container)
        }
        _ => return None,
    };
    let (host, container) = (digits(host)?, digits(container)?);
    Some(Published {
        ip,
        host: Some(host),
        container: container.to_string(),
    })
}

/// Compose durations as the files write them: `40s`, `1m10s`; 0 for anything else.
fn seconds(written: &str) -> u64 {
    let (minutes, rest) = match written.split_once('m') {
        Some((minutes, rest)) => (Some(minutes), rest),
        None => (None, written),
    };
    let number = |part: &str| {
        (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| part.parse::<u64>().ok())
            .flatten()
    };
    let minutes = match minutes {
        Some(minutes) => match number(minutes) {
            Some(minutes) => minutes,
            None => return 0,
        },
        None => 0,
    };
    let secs = match rest.strip_suffix('s') {
        Some(secs) => match number(secs) {
            Some(secs) => secs,
            None => return 0,
        },
        None if rest.is_empty() => 0,
        None => return 0,
    };
    minutes * 60 + secs
}

/// `path` without `.` and `..` (no file system: the fixtures name files that are not).
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// What an nginx site says: its first upstream server, and how it passes requests on.
#[derive(Debug, PartialEq)]
struct Site {
    /// `(host, port)` of the first `server` line inside an `upstream NAME { ... }`.
    upstream: Option<(String, String)>,
    uwsgi_pass: bool,
    proxy_pass: bool,
    /// A `keepalive N;` line (a pool of upstream connections).
    keepalive: bool,
}

fn site(conf: &str) -> Site {
    let word = |ch: char| ch.is_alphanumeric() || ch == '_';
    let upstream = conf.match_indices("upstream").find_map(|(at, _)| {
        // upstream NAME {  then the first `server HOST:PORT` before the `}`.
        let rest = &conf[at + "upstream".len()..];
        let after_space = rest.trim_start();
        if after_space.len() == rest.len() {
            return None;
        }
        let name_len = after_space.find(|ch: char| !word(ch))?;
        if name_len == 0 {
            return None;
        }
        let block = after_space[name_len..].trim_start().strip_prefix('{')?;
        let block = &block[..block.find('}')?];
        block.match_indices("server").find_map(|(at, _)| {
            let rest = &block[at + "server".len()..];
            let address = rest.trim_start();
            if address.len() == rest.len() {
                return None;
            }
            let host_len = address.find(|ch: char| !(word(ch) || ch == '-'))?;
            let port = address[host_len..].strip_prefix(':')?;
            let port_len = port
                .find(|ch: char| !ch.is_ascii_digit())
                .unwrap_or(port.len());
            (host_len > 0 && port_len > 0)
                .then(|| (address[..host_len].to_owned(), port[..port_len].to_owned()))
        })
    });
    // `keepalive N;` at the start of a line (after blanks).
    let keepalive = conf.lines().any(|line| {
        line.trim_start()
            .strip_prefix("keepalive")
            .and_then(|rest| {
                let number = rest.trim_start();
                (number.len() < rest.len()).then_some(number)
            })
            .is_some_and(|number| {
                let digits = number
                    .find(|ch: char| !ch.is_ascii_digit())
                    .unwrap_or(number.len());
                digits > 0 && number[digits..].starts_with(';')
            })
    });
    Site {
        upstream,
        uwsgi_pass: conf.contains("uwsgi_pass"),
        proxy_pass: conf.contains("proxy_pass"),
        keepalive,
    }
}

/// How a row's front reaches its app: nothing, or nginx with this directive.
fn via(front: Front) -> Option<&'static str> {
    match front {
        Front::Direct => None,
        Front::NginxHttp => Some("proxy_pass"),
        Front::NginxHttpKeepAlive => Some("proxy_pass+keepalive"),
        Front::NginxUwsgi => Some("uwsgi_pass"),
    }
}

struct Checker<'a> {
    root: &'a Path,
    read: &'a dyn Fn(&Path) -> Option<String>,
    /// The rows with a compose file.
    scenarios: Vec<&'a Scenario>,
    errors: Vec<String>,
}

impl Checker<'_> {
    fn fail(&mut self, where_: &str, message: &str) {
        self.errors.push(format!("{where_}: {message}"));
    }

    /// `compose/` + a path a compose file names, normalised.
    fn under_compose(&self, written: &str) -> PathBuf {
        normal(&self.root.join("compose").join(written))
    }

    /// The house rules, for one file and each of its services.
    fn file(&mut self, name: &str, source: &str, doc: &Yaml) {
        let where_ = format!("compose/{name}");
        let first = source.lines().next().unwrap_or_default();
        if !OVERLAYS.contains(&name) && !first.starts_with("# The article") {
            self.fail(
                &where_,
                "the first line must be a comment naming the article's section",
            );
        }
        if !doc["version"].is_badvalue() {
            self.fail(
                &where_,
                "no `version:` key (the Compose Specification, read by v1.29 and v2)",
            );
        }
        for (service_name, service) in entries(&doc["services"]) {
            let at = format!("{where_} service {service_name}");
            if service["init"].as_bool() != Some(true) {
                self.fail(&at, "init: true is missing");
            }
            if !truthy(&service["healthcheck"]["test"]) {
                self.fail(&at, "no health check");
            }
            let depends_on = &service["depends_on"];
            for (dep, how) in entries(depends_on) {
                if text(&how["condition"]).as_deref() != Some("service_healthy") {
                    self.fail(
                        &at,
                        &format!("depends_on {dep} must use condition: service_healthy"),
                    );
                }
            }
            if depends_on.as_vec().is_some() {
                self.fail(
                    &at,
                    "depends_on must be a mapping with condition: service_healthy",
                );
            }
            for port in published(service) {
                if port.ip.as_deref() != Some("127.0.0.1") {
                    let shown = port
                        .host
                        .map_or_else(|| port.container.clone(), |host| host.to_string());
                    self.fail(
                        &at,
                        &format!("port {shown} must be published on 127.0.0.1 only"),
                    );
                } else if port.host.map(|host| host.to_string()) != Some(port.container.clone()) {
                    self.fail(
                        &at,
                        &format!(
                            "publishes {} from container port {}; keep them equal",
                            port.host.unwrap_or_default(),
                            port.container
                        ),
                    );
                } else if let Some(host) = port.host {
                    let other = OTHER_PORTS
                        .iter()
                        .any(|&(file, other)| file == name && u32::from(other) == host);
                    let a_row = self.scenarios.iter().any(|row| {
                        row.compose.is_some_and(|compose| {
                            compose.file == name && u32::from(compose.port) == host
                        })
                    });
                    if !other && !a_row {
                        self.fail(&at, &format!("port {host} is no scenario's port"));
                    }
                }
            }
            self.hardened(&at, service);
            // The apps call the slow API; slow_api is it, and `lab` (live.yml) calls the apps.
            if let Some(binary) = binary_of(service) {
                if binary != "slow_api" && binary != "lab" {
                    let env = env_of(service);
                    if env.get("API_URL").map(String::as_str) != Some("http://slow_api:4000/") {
                        self.fail(&at, "API_URL must be http://slow_api:4000/");
                    }
                    if env.get("HOST").map(String::as_str) != Some("0.0.0.0") {
                        self.fail(&at, "HOST must be 0.0.0.0 in a container");
                    }
                }
            }
        }
    }

    /// The hardening every service gets (docs/docker.md, "Hardening").
    fn hardened(&mut self, at: &str, service: &Yaml) {
        if service["read_only"].as_bool() != Some(true) {
            self.fail(
                at,
                "read_only: true is missing (a tmpfs for what it writes)",
            );
        }
        let cap_drop = &service["cap_drop"];
        if cap_drop.as_vec().map(Vec::len) != Some(1) || texts(cap_drop) != ["ALL"] {
            self.fail(at, "cap_drop: [ALL] is missing");
        }
        if !texts(&service["security_opt"]).contains(&"no-new-privileges:true".to_owned()) {
            self.fail(at, "security_opt no-new-privileges:true is missing");
        }
        if !truthy(&service["mem_limit"]) || !truthy(&service["cpus"]) {
            self.fail(at, "memory and CPU limits (mem_limit, cpus) are missing");
        }
        let nofile = &service["ulimits"]["nofile"];
        if nofile.as_hash().is_none() || !truthy(&nofile["soft"]) || !truthy(&nofile["hard"]) {
            self.fail(at, "a nofile ulimit (soft and hard) is missing");
        }
        let grace = text(&service["stop_grace_period"]).unwrap_or_default();
        if seconds(&grace) <= APP_DRAIN_S {
            self.fail(
                at,
                &format!("stop_grace_period must be longer than the apps' {APP_DRAIN_S} s drain"),
            );
        }
        let logging = &service["logging"];
        let options = &logging["options"];
        if text(&logging["driver"]).as_deref() != Some("json-file")
            || options["max-size"].is_badvalue()
            || options["max-file"].is_badvalue()
        {
            self.fail(
                at,
                "json-file logging with max-size and max-file (rotation) is missing",
            );
        }
        let image = text(&service["image"]).unwrap_or_default();
        let user = text(&service["user"]).unwrap_or_else(|| "root".to_owned());
        let user = user.split(':').next().unwrap_or_default();
        if (image.starts_with("nginx:") || image.starts_with("postgres:"))
            && (user == "root" || user == "0")
        {
            self.fail(at, &format!("{image} must run as a non-root user"));
        }
        if image.starts_with("nginx:") {
            let main = normal(&self.root.join("nginx").join("nginx.conf"));
            let mounts_main = texts(&service["volumes"]).iter().any(|volume| {
                let parts: Vec<&str> = volume.rsplitn(3, ':').collect();
                // rsplitn: [options, target, source]
                parts.len() == 3
                    && parts[1] == "/etc/nginx/nginx.conf"
                    && self.under_compose(parts[2]) == main
            });
            if !mounts_main {
                self.fail(
                    at,
                    "must mount ../nginx/nginx.conf as /etc/nginx/nginx.conf (the one main configuration)",
                );
            }
        }
    }

    /// One row against the file it names.
    fn scenario(&mut self, scenario: &Scenario, docs: &BTreeMap<&str, Yaml>) {
        let Some(compose) = scenario.compose else {
            return;
        };
        let where_ = format!(
            "scenario {} (compose/{}:{})",
            scenario.id, compose.file, compose.port
        );
        let Some(doc) = docs.get(compose.file) else {
            self.fail(&where_, "compose file missing");
            return;
        };
        let services = entries(&doc["services"]);
        let owners: Vec<&(String, &Yaml)> = services
            .iter()
            .filter(|(_, service)| {
                published(service)
                    .iter()
                    .any(|port| port.host == Some(u32::from(compose.port)))
            })
            .collect();
        let [(publisher, publisher_service)] = owners.as_slice() else {
            self.fail(
                &where_,
                &format!(
                    "{} services publish port {}, expected 1",
                    owners.len(),
                    compose.port
                ),
            );
            return;
        };
        if publisher != compose.service {
            self.fail(
                &where_,
                &format!(
                    "{publisher} publishes port {}, the scenario table says {}",
                    compose.port, compose.service
                ),
            );
        }
        let (name, service) = match via(scenario.front) {
            Some(via) => {
                match self.upstream_of(&where_, via, publisher_service, &services, compose.file) {
                    Some(app) => app,
                    None => return,
                }
            }
            None => {
                let port_app = env_of(publisher_service).get("PORT_APP").cloned();
                if port_app != Some(compose.port.to_string()) {
                    self.fail(
                        &where_,
                        &format!(
                            "{publisher} publishes {} but PORT_APP is {}",
                            compose.port,
                            port_app.as_deref().unwrap_or("None")
                        ),
                    );
                }
                (publisher.clone(), *publisher_service)
            }
        };
        if name != compose.app {
            self.fail(
                &where_,
                &format!("the app is {name}, the scenario table says {}", compose.app),
            );
        }
        let env = env_of(service);
        if env.get("METRICS_PORT").map(String::as_str) != Some("9100") {
            self.fail(
                &where_,
                &format!("{name} must serve /metrics on METRICS_PORT 9100 (lab live reads it)"),
            );
        }
        let binary = binary_of(service);
        if binary.as_deref() != Some(scenario.app.binary()) {
            self.fail(
                &where_,
                &format!(
                    "{name} builds {}, expected {}",
                    binary.as_deref().unwrap_or("None"),
                    scenario.app.binary()
                ),
            );
        }
        for (key, value) in scenario.app.env() {
            let default = DEFAULTS
                .iter()
                .find(|(name, _)| *name == key)
                .map_or("", |(_, value)| *value);
            let actual = env.get(key).map_or(default, String::as_str);
            if actual != value {
                self.fail(
                    &where_,
                    &format!("{name} runs with {key}={actual}, the scenario says {value}"),
                );
            }
        }
    }

    /// nginx publishes the port; the app is the upstream its site names. `None` (and a
    /// line) when that cannot be followed.
    fn upstream_of<'s>(
        &mut self,
        where_: &str,
        via: &str,
        nginx: &Yaml,
        services: &'s [(String, &'s Yaml)],
        file: &str,
    ) -> Option<(String, &'s Yaml)> {
        let confs: Vec<String> = texts(&nginx["volumes"])
            .iter()
            .filter(|mount| mount.ends_with("/etc/nginx/conf.d/default.conf:ro"))
            .map(|mount| mount.split(':').next().unwrap_or_default().to_owned())
            .collect();
        let image = text(&nginx["image"]).unwrap_or_default();
        let [conf] = confs.as_slice() else {
            self.fail(
                where_,
                "must be the nginx image with one config mounted as conf.d/default.conf",
            );
            return None;
        };
        if !image.starts_with("nginx:") {
            self.fail(
                where_,
                "must be the nginx image with one config mounted as conf.d/default.conf",
            );
            return None;
        }
        let path = self.under_compose(conf);
        let conf_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(text) = (self.read)(&path) else {
            self.fail(where_, &format!("{conf_name} cannot be read"));
            return None;
        };
        let site = site(&text);
        let Some((app_name, app_port)) = site.upstream.clone() else {
            self.fail(where_, &format!("{conf_name} has no upstream server"));
            return None;
        };
        let wants_uwsgi = via.contains("uwsgi_pass");
        let wants_proxy = via.contains("proxy_pass");
        if wants_uwsgi != site.uwsgi_pass || wants_proxy != site.proxy_pass {
            let directive = via.split('+').next().unwrap_or(via);
            self.fail(where_, &format!("{conf_name} must use {directive}"));
        }
        let wants_keepalive = via.contains("keepalive");
        if wants_keepalive != site.keepalive {
            let expected = if wants_keepalive {
                "required"
            } else {
                "not expected"
            };
            self.fail(
                where_,
                &format!("{conf_name}: upstream keep-alive {expected}"),
            );
        }
        let Some((_, app)) = services.iter().find(|(name, _)| *name == app_name) else {
            self.fail(
                where_,
                &format!("{conf_name} proxies to {app_name}, which is no service of {file}"),
            );
            return None;
        };
        let listens = env_of(app).get("PORT_APP").cloned();
        if listens.as_deref() != Some(app_port.as_str()) {
            self.fail(
                where_,
                &format!(
                    "{conf_name} proxies to port {app_port}, {app_name} listens on {}",
                    listens.as_deref().unwrap_or("None")
                ),
            );
        }
        Some((app_name, *app))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{by_id, SCENARIOS};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    #[test]
    fn the_committed_compose_files_agree_with_the_table() {
        let checked = check(&root(), SCENARIOS).expect("compose/ reads");
        assert!(checked.errors.is_empty(), "{:#?}", checked.errors);
        assert!(checked.files >= 10, "{}", checked.files);
        assert_eq!(
            checked.scenarios,
            SCENARIOS.iter().filter(|row| row.compose.is_some()).count()
        );
    }

    /// A hardened service, as the committed files write it (through a merge key).
    const HARDENED: &str = "\
x-hardened: &hardened
  init: true
  read_only: true
  cap_drop: [ALL]
  security_opt: [\"no-new-privileges:true\"]
  stop_grace_period: 40s
  mem_limit: 512m
  cpus: 2
  ulimits: {nofile: {soft: 16384, hard: 16384}}
  logging: {driver: json-file, options: {max-size: 10m, max-file: \"3\"}}
x-check: &check {test: [\"CMD\", \"healthcheck\"]}
";

    /// async-gevent.yml's shape, one row (`async` on 3000): a fixture that passes.
    fn async_file(service_extra: &str, top_extra: &str) -> String {
        format!(
            "# The article's gevent\n{HARDENED}{top_extra}services:
  slow_api:
    build: {{args: {{BIN: slow_api}}}}
    <<: *hardened
    healthcheck: *check
  app_async:
    build: {{args: {{BIN: app_async}}}}
    <<: *hardened
    healthcheck: *check
    environment: {{HOST: 0.0.0.0, PORT_APP: \"3000\", METRICS_PORT: \"9100\", API_URL: http://slow_api:4000/, WORKERS: \"1\", CLIENT: async}}
    ports: [\"127.0.0.1:3000:3000\"]
    depends_on:
      slow_api: {{condition: service_healthy}}
{service_extra}"
        )
    }

    /// nginx-proxy shape (`nginx-async` on 8080), with `site` as its nginx site.
    fn nginx_file(nginx_extra: &str) -> String {
        format!(
            "# The article's nginx\n{HARDENED}services:
  slow_api:
    build: {{args: {{BIN: slow_api}}}}
    <<: *hardened
    healthcheck: *check
  app_async:
    build: {{args: {{BIN: app_async}}}}
    <<: *hardened
    healthcheck: *check
    environment: {{HOST: 0.0.0.0, PORT_APP: \"3000\", METRICS_PORT: \"9100\", API_URL: http://slow_api:4000/, WORKERS: \"1\", CLIENT: async}}
  nginx:
    image: nginx:1.27-bookworm
    <<: *hardened
    user: \"101:101\"
    healthcheck: *check
    volumes:
      - ../nginx/nginx.conf:/etc/nginx/nginx.conf:ro
      - ../nginx/site.conf:/etc/nginx/conf.d/default.conf:ro
    ports: [\"127.0.0.1:8080:8080\"]
{nginx_extra}"
        )
    }

    /// nginx-async's site: a pool of upstream connections (`keepalive`).
    const SITE: &str = "upstream app {\n    server app_async:3000;\n    keepalive 64;\n}\nserver {\n    listen 8080;\n    location / { proxy_pass http://app; }\n}\n";

    /// What the rules say of `file`, as the compose file of `rows` (the first row's),
    /// with `site` as nginx/site.conf.
    fn lines_of(file: &str, rows: &[Scenario], site: &str) -> Vec<String> {
        let name = rows
            .first()
            .and_then(|row| row.compose)
            .map_or("none.yml", |compose| compose.file);
        let site = site.to_owned();
        let read =
            move |path: &Path| (path == Path::new("/repo/nginx/site.conf")).then(|| site.clone());
        check_files(
            Path::new("/repo"),
            &[(name.to_owned(), file.to_owned())],
            &read,
            rows,
        )
        .errors
    }

    /// [`lines_of`] the rows called `ids`.
    fn lines(file: &str, ids: &[&str], site: &str) -> Vec<String> {
        let rows: Vec<Scenario> = ids.iter().filter_map(|id| by_id(id).copied()).collect();
        lines_of(file, &rows, site)
    }

    /// `file` breaks exactly one rule, whose line is `expected`.
    fn breaks(file: &str, ids: &[&str], site: &str, expected: &str) {
        let found = lines(file, ids, site);
        assert_eq!(found, vec![expected.to_owned()], "{file}");
    }

    #[test]
    fn the_fixtures_pass() {
        assert_eq!(
            lines(&async_file("", ""), &["async"], SITE),
            Vec::<String>::new()
        );
        assert_eq!(
            lines(&nginx_file(""), &["nginx-async"], SITE),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_file_rule_has_its_line() {
        let ok = async_file("", "");
        breaks(
            &ok.replacen("# The article's gevent", "# gevent", 1),
            &["async"],
            SITE,
            "compose/async-gevent.yml: the first line must be a comment naming the article's section",
        );
        breaks(
            &async_file("", "version: \"3.8\"\n"),
            &["async"],
            SITE,
            "compose/async-gevent.yml: no `version:` key (the Compose Specification, read by v1.29 and v2)",
        );
    }

    /// Replaces one line of the app_async service (the second `<<: *hardened`).
    fn app_line(old: &str, new: &str) -> String {
        async_file("", "").replacen(old, new, 1)
    }

    #[test]
    fn each_service_rule_has_its_line() {
        let at = "compose/async-gevent.yml service app_async";
        let cases: Vec<(String, String)> = vec![
            (
                app_line(
                    "    healthcheck: *check\n    environment",
                    "    environment",
                ),
                format!("{at}: no health check"),
            ),
            (
                app_line(
                    "      slow_api: {condition: service_healthy}",
                    "      slow_api: {condition: service_started}",
                ),
                format!("{at}: depends_on slow_api must use condition: service_healthy"),
            ),
            (
                app_line(
                    "    depends_on:\n      slow_api: {condition: service_healthy}",
                    "    depends_on: [slow_api]",
                ),
                format!("{at}: depends_on must be a mapping with condition: service_healthy"),
            ),
            (
                app_line("\"127.0.0.1:3000:3000\"", "\"3000:3000\""),
                format!("{at}: port 3000 must be published on 127.0.0.1 only"),
            ),
            (
                app_line(
                    "\"127.0.0.1:3000:3000\"",
                    "\"127.0.0.1:3000:3000\", \"127.0.0.1:3002:3003\"",
                ),
                format!("{at}: publishes 3002 from container port 3003; keep them equal"),
            ),
            (
                app_line(
                    "\"127.0.0.1:3000:3000\"",
                    "\"127.0.0.1:3000:3000\", \"127.0.0.1:3009:3009\"",
                ),
                format!("{at}: port 3009 is no scenario's port"),
            ),
            (
                app_line(
                    "API_URL: http://slow_api:4000/",
                    "API_URL: http://other:4000/",
                ),
                format!("{at}: API_URL must be http://slow_api:4000/"),
            ),
            (
                app_line("{HOST: 0.0.0.0, ", "{"),
                format!("{at}: HOST must be 0.0.0.0 in a container"),
            ),
        ];
        for (file, expected) in cases {
            breaks(&file, &["async"], SITE, &expected);
        }
    }

    /// The app service with `key: value` set over the hardened defaults.
    fn app_setting(setting: &str) -> String {
        app_line(
            "    <<: *hardened\n    healthcheck: *check\n    environment",
            &format!("    <<: *hardened\n{setting}\n    healthcheck: *check\n    environment"),
        )
    }

    #[test]
    fn each_hardening_rule_has_its_line() {
        let at = "compose/async-gevent.yml service app_async";
        let cases = [
            ("    init: false", "init: true is missing"),
            (
                "    read_only: false",
                "read_only: true is missing (a tmpfs for what it writes)",
            ),
            ("    cap_drop: [NET_RAW]", "cap_drop: [ALL] is missing"),
            (
                "    security_opt: []",
                "security_opt no-new-privileges:true is missing",
            ),
            (
                "    mem_limit: \"\"",
                "memory and CPU limits (mem_limit, cpus) are missing",
            ),
            (
                "    ulimits: {}",
                "a nofile ulimit (soft and hard) is missing",
            ),
            (
                "    stop_grace_period: 10s",
                "stop_grace_period must be longer than the apps' 30 s drain",
            ),
            (
                "    logging: {driver: json-file}",
                "json-file logging with max-size and max-file (rotation) is missing",
            ),
        ];
        for (setting, message) in cases {
            breaks(
                &app_setting(setting),
                &["async"],
                SITE,
                &format!("{at}: {message}"),
            );
        }
        // A merged setting the service overrides is the service's (1m10s is 70 s).
        assert!(lines(
            &app_setting("    stop_grace_period: 1m10s"),
            &["async"],
            SITE
        )
        .is_empty());
    }

    #[test]
    fn nginx_rules_have_their_lines() {
        let at = "compose/nginx-async.yml service nginx";
        breaks(
            &nginx_file("").replacen("    user: \"101:101\"\n", "", 1),
            &["nginx-async"],
            SITE,
            &format!("{at}: nginx:1.27-bookworm must run as a non-root user"),
        );
        breaks(
            &nginx_file("").replacen("../nginx/nginx.conf:", "./nginx.conf:", 1),
            &["nginx-async"],
            SITE,
            &format!("{at}: must mount ../nginx/nginx.conf as /etc/nginx/nginx.conf (the one main configuration)"),
        );
    }

    #[test]
    fn each_row_rule_has_its_line() {
        let row = "scenario async (compose/async-gevent.yml:3000)";
        let cases: Vec<(String, String)> = vec![
            (
                app_line("PORT_APP: \"3000\"", "PORT_APP: \"3001\""),
                format!("{row}: app_async publishes 3000 but PORT_APP is 3001"),
            ),
            (
                app_line("METRICS_PORT: \"9100\"", "METRICS_PORT: \"9200\""),
                format!(
                    "{row}: app_async must serve /metrics on METRICS_PORT 9100 (lab live reads it)"
                ),
            ),
            (
                app_line("CLIENT: async", "CLIENT: blocking"),
                format!("{row}: app_async runs with CLIENT=blocking, the scenario says async"),
            ),
            (
                // WORKERS unset is its default, 1: still the row's.
                app_line("WORKERS: \"1\", ", ""),
                String::new(),
            ),
        ];
        for (file, expected) in cases {
            let found = lines(&file, &["async"], SITE);
            let expected: Vec<String> = [expected].into_iter().filter(|l| !l.is_empty()).collect();
            assert_eq!(found, expected, "{file}");
        }
        // The row's port published by nobody (and the port that is, by no row).
        assert_eq!(
            lines(
                &app_line("\"127.0.0.1:3000:3000\"", "\"127.0.0.1:3001:3001\""),
                &["async"],
                SITE
            ),
            [
                "compose/async-gevent.yml service app_async: port 3001 is no scenario's port"
                    .to_owned(),
                format!("{row}: 0 services publish port 3000, expected 1"),
            ]
        );
        // The wrong binary, and a file the table names but compose/ lacks.
        let renamed = app_line("BIN: app_async", "BIN: app_sync");
        assert_eq!(
            lines(&renamed, &["async"], SITE),
            vec![format!(
                "{row}: app_async builds app_sync, expected app_async"
            )]
        );
        let missing = check_files(
            Path::new("/repo"),
            &[],
            &|_| None,
            &[*by_id("async").expect("async")],
        );
        assert_eq!(
            missing.errors,
            vec!["scenario async (compose/async-gevent.yml:3000): compose file missing"]
        );
    }

    #[test]
    fn each_nginx_row_rule_has_its_line() {
        let row = "scenario nginx-async (compose/nginx-async.yml:8080)";
        let check = |file: &str, site: &str| lines(file, &["nginx-async"], site);
        assert_eq!(
            check(&nginx_file("").replacen("  nginx:", "  front:", 1), SITE),
            vec![format!(
                "{row}: front publishes port 8080, the scenario table says nginx"
            )]
        );
        assert_eq!(
            check(
                &nginx_file("").replacen(
                    "../nginx/site.conf:/etc/nginx/conf.d/default.conf:ro",
                    "../nginx/site.conf:/etc/nginx/conf.d/other.conf:ro",
                    1
                ),
                SITE
            ),
            vec![format!(
                "{row}: must be the nginx image with one config mounted as conf.d/default.conf"
            )]
        );
        assert_eq!(
            check(
                &nginx_file(""),
                "server { listen 8080; location / { proxy_pass http://app_async:3000; } }"
            ),
            vec![format!("{row}: site.conf has no upstream server")]
        );
        assert_eq!(
            check(
                &nginx_file(""),
                &SITE.replace("proxy_pass http://app", "uwsgi_pass app")
            ),
            vec![format!("{row}: site.conf must use proxy_pass")]
        );
        assert_eq!(
            check(&nginx_file(""), &SITE.replace("    keepalive 64;\n", "")),
            vec![format!("{row}: site.conf: upstream keep-alive required")]
        );
        assert_eq!(
            check(
                &nginx_file(""),
                &SITE.replace("app_async:3000", "app_other:3000")
            ),
            vec![format!(
                "{row}: site.conf proxies to app_other, which is no service of nginx-async.yml"
            )]
        );
        assert_eq!(
            check(
                &nginx_file(""),
                &SITE.replace("app_async:3000", "app_async:3005")
            ),
            vec![format!(
                "{row}: site.conf proxies to port 3005, app_async listens on 3000"
            )]
        );
        assert_eq!(
            check(
                &nginx_file("").replacen("  app_async:", "  app_other:", 1),
                &SITE.replace("app_async:3000", "app_other:3000")
            ),
            vec![format!(
                "{row}: the app is app_other, the scenario table says app_async"
            )]
        );
        // A row whose nginx opens a connection per request wants no pool.
        let mut unpooled = *by_id("nginx-async").expect("nginx-async");
        unpooled.front = Front::NginxHttp;
        assert_eq!(
            lines_of(&nginx_file(""), &[unpooled], SITE),
            vec![format!(
                "{row}: site.conf: upstream keep-alive not expected"
            )]
        );
    }

    #[test]
    fn merge_keys_apply_with_the_mappings_own_keys_winning() {
        let doc = parse("a: &a {x: 1, y: 2}\nb: {<<: *a, y: 3}\nc: {<<: [{z: 1}, {z: 2}]}\n")
            .expect("YAML");
        assert_eq!(doc["b"]["x"].as_i64(), Some(1));
        assert_eq!(doc["b"]["y"].as_i64(), Some(3));
        assert_eq!(doc["c"]["z"].as_i64(), Some(1));
        assert!(doc["b"]["<<"].is_badvalue());
    }

    #[test]
    fn ports_durations_and_sites_read_as_compose_and_nginx_do() {
        assert_eq!(
            parse_port("127.0.0.1:8080:8080"),
            Some(Published {
                ip: Some("127.0.0.1".into()),
                host: Some(8080),
                container: "8080".into()
            })
        );
        assert_eq!(parse_port("3000"), None);
        assert_eq!(parse_port("localhost:1:1"), None);
        assert_eq!(seconds("40s"), 40);
        assert_eq!(seconds("1m10s"), 70);
        assert_eq!(seconds("2m"), 120);
        assert_eq!(seconds("soon"), 0);
        assert_eq!(seconds(""), 0);
        let read = site("upstream app {\n  server app_sync:3000;\n  keepalive 64;\n}\n");
        assert_eq!(read.upstream, Some(("app_sync".into(), "3000".into())));
        assert!(read.keepalive && !read.proxy_pass);
        assert!(!site("upstream a {\n  server b:1;\n  keepalive 64\n}\n").keepalive);
        assert!(!site("  keepalive_timeout 65s;\n").keepalive);
        assert_eq!(
            normal(Path::new("/repo/compose/../nginx/./nginx.conf")),
            Path::new("/repo/nginx/nginx.conf")
        );
    }
}
