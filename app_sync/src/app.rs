//! The application itself: the article's Flask app, independent of how it is served.
//!
//! ```python
//! @app.route('/')
//! def index():
//!     delay = float(request.args.get('delay') or 1)
//!     resp = requests.get(f'{api_url}?delay={delay}')
//!     return 'Hi there! ' + resp.text
//! ```
//!
//! Both protocols (HTTP and uwsgi) turn a request into a [`Request`] and write back the
//! [`Response`] this module returns.

use std::time::Duration;

use common::delay::delay_from_query;
use common::metrics::{Dependency, Metrics};
use common::upstream::{get_blocking, upstream_url, APP_MAX_DELAY};

/// The content type of every answer but `/metrics`.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// What the application needs from a request, whatever protocol carried it.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string, still percent-encoded, without the `?`.
    pub query: &'a str,
}

/// A complete answer: status and a small text body.
pub struct Response {
    pub status: u16,
    pub body: String,
    /// `Allow` header value for a 405.
    pub allow: Option<&'static str>,
    pub content_type: &'static str,
}

impl Response {
    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            allow: None,
            content_type: TEXT,
        }
    }

    /// An error answer: one line, ending in a newline.
    pub fn error(status: u16, reason: impl std::fmt::Display) -> Response {
        Response::text(status, format!("{reason}\n"))
    }
}

/// The application's state, shared by every thread of one process.
pub struct App {
    pub api_url: String,
    pub timeout: Duration,
    /// One blocking HTTP client per process; it pools idle keep-alive connections to
    /// the upstream for all threads.
    pub agent: ureq::Agent,
    /// `GET /metrics`'s counters; in a prefork tree, shared by every process.
    pub metrics: Metrics,
}

impl App {
    /// Routes a request. Runs on the calling thread and blocks it for the whole
    /// upstream call: this is what makes the server "sync".
    pub fn handle(&self, request: &Request) -> Response {
        // Everything but /metrics and /healthz is counted: one atomic add in, a few out.
        let tracked = self.metrics.request(request.path);
        let response = self.route(request);
        if let Some(tracked) = tracked {
            tracked.finish(response.status);
        }
        response
    }

    fn route(&self, request: &Request) -> Response {
        if request.method != "GET" && request.method != "HEAD" {
            let mut response = Response::error(405, "method not allowed: use GET");
            response.allow = Some("GET, HEAD");
            return response;
        }
        match request.path {
            "/" => self.index(request.query),
            "/healthz" => Response::text(200, "ok"),
            // The sum over every worker, whichever one answers.
            "/metrics" => Response {
                content_type: common::metrics::CONTENT_TYPE,
                ..Response::text(200, self.metrics.render())
            },
            _ => Response::error(404, "not found: try /?delay=1"),
        }
    }

    /// `GET /?delay=S`
    fn index(&self, query: &str) -> Response {
        let delay = match delay_from_query(query, APP_MAX_DELAY) {
            Ok(delay) => delay,
            Err(reason) => return Response::error(400, reason),
        };
        let url = upstream_url(&self.api_url, delay);
        // The thread waits here, doing nothing else, for `delay` seconds.
        let call = self.metrics.call(Dependency::Upstream);
        let answer = get_blocking(&self.agent, &url, self.timeout);
        call.finish();
        match answer {
            Ok(body) => Response::text(200, format!("Hi there! {body}")),
            Err(err) => {
                tracing::warn!("GET {url}: {err}");
                Response::error(err.status_code(), err)
            }
        }
    }
}

/// The reason phrase for the statuses this service sends.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
