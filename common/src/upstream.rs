//! Calling the slow API, and what its failures mean to our own clients.
//!
//! The mapping is the same in every app: an upstream that cannot be reached (refused,
//! reset, garbled) is `502 Bad Gateway`; one slower than `UPSTREAM_TIMEOUT` is
//! `504 Gateway Timeout`. Each body is one line.

use std::time::Duration;

/// Largest `delay` an app accepts and forwards (one hour); the slow API has its own limit.
pub const APP_MAX_DELAY: f64 = 3600.0;

/// The upstream request for a given delay: `API_URL?delay=S`.
///
/// `f64`'s `Display` never uses exponent notation, so the slow API parses it back exactly.
pub fn upstream_url(api_url: &str, delay: f64) -> String {
    format!("{api_url}?delay={delay}")
}

/// An upstream call that did not produce a body.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream answered {0}")]
    BadStatus(u16),
}

impl UpstreamError {
    /// 504 for a timeout, 502 for everything else.
    pub fn status_code(&self) -> u16 {
        match self {
            UpstreamError::Timeout(_) => 504,
            _ => 502,
        }
    }

    /// Keeps a library's error message on one line.
    #[cfg(any(feature = "actix", feature = "blocking", test))]
    fn unreachable(err: impl std::fmt::Display) -> Self {
        UpstreamError::Unreachable(err.to_string().replace(['\n', '\r'], " "))
    }
}

#[cfg(feature = "actix")]
mod actix_client {
    use super::UpstreamError;
    use actix_web::http::StatusCode;
    use actix_web::{HttpResponse, ResponseError};
    use awc::error::SendRequestError;
    use std::time::Duration;

    /// A bad `delay` is the client's mistake: 400 with the reason.
    impl ResponseError for crate::delay::DelayError {
        fn status_code(&self) -> StatusCode {
            StatusCode::BAD_REQUEST
        }

        fn error_response(&self) -> HttpResponse {
            HttpResponse::BadRequest()
                .content_type("text/plain; charset=utf-8")
                .body(format!("{self}\n"))
        }
    }

    impl ResponseError for UpstreamError {
        fn status_code(&self) -> StatusCode {
            StatusCode::from_u16(UpstreamError::status_code(self))
                .unwrap_or(StatusCode::BAD_GATEWAY)
        }

        fn error_response(&self) -> HttpResponse {
            HttpResponse::build(ResponseError::status_code(self))
                .content_type("text/plain; charset=utf-8")
                .body(format!("{self}\n"))
        }
    }

    /// An awc client for one event loop (awc clients are per thread, not `Send`).
    ///
    /// awc's connector allows only 100 connections per host by default, which would
    /// quietly cap an event loop at 100 requests in flight: the lesson would become a
    /// pool setting. `max_connections` is instead what the open-files limit allows (see
    /// [`crate::limits::connections_per_side`]): past it a request waits for a free
    /// connection rather than the process running out of descriptors.
    ///
    /// awc keeps an idle connection for 15 s, but actix-web servers (the slow API) close
    /// theirs after 5 s: a connection reused in between can be closed under the request,
    /// which awc reports as "connector has been disconnected" (seen as a few 502s in
    /// app_pg's benchmark, where upstream connections idle while requests queue for the
    /// database). Dropping idle connections after 4 s avoids that race.
    pub fn async_client(timeout: Duration, max_connections: usize) -> awc::Client {
        let connector = awc::Connector::new()
            .limit(max_connections)
            .conn_keep_alive(Duration::from_secs(4))
            .timeout(timeout.min(Duration::from_secs(5)));
        awc::Client::builder()
            .connector(connector)
            .timeout(timeout)
            .disable_redirects()
            .finish()
    }

    /// `GET url` on the event loop: the thread serves other requests while this waits.
    pub async fn get_async(
        client: &awc::Client,
        url: &str,
        timeout: Duration,
    ) -> Result<String, UpstreamError> {
        let mut response = client.get(url).send().await.map_err(|err| match err {
            SendRequestError::Timeout => UpstreamError::Timeout(timeout),
            other => UpstreamError::unreachable(other),
        })?;
        if !response.status().is_success() {
            return Err(UpstreamError::BadStatus(response.status().as_u16()));
        }
        let body = response.body().await.map_err(UpstreamError::unreachable)?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

#[cfg(feature = "actix")]
pub use actix_client::{async_client, get_async};

#[cfg(feature = "blocking")]
mod blocking_client {
    use super::UpstreamError;
    use std::time::Duration;

    /// A blocking client (ureq: plain sockets, no runtime of its own). Share one per
    /// process: it pools idle keep-alive connections for every thread.
    pub fn blocking_agent(timeout: Duration, max_idle: usize) -> ureq::Agent {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(max_idle)
            .max_idle_connections_per_host(max_idle)
            // ureq's defaults (128 KiB each way, per pooled connection) would make the
            // client's buffers, not the threads, most of a blocking server's memory:
            // 4 x 50 threads measured 77 MiB RSS with them, 32 MiB with these. The slow
            // API's answers are a few hundred bytes.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .build();
        ureq::Agent::new_with_config(config)
    }

    /// `GET url`, blocking the calling thread until the answer or the timeout.
    pub fn get_blocking(
        agent: &ureq::Agent,
        url: &str,
        timeout: Duration,
    ) -> Result<String, UpstreamError> {
        let classify = |err: ureq::Error| match err {
            ureq::Error::Timeout(_) => UpstreamError::Timeout(timeout),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                UpstreamError::Timeout(timeout)
            }
            other => UpstreamError::unreachable(other),
        };
        let mut response = agent.get(url).call().map_err(classify)?;
        if !response.status().is_success() {
            return Err(UpstreamError::BadStatus(response.status().as_u16()));
        }
        response.body_mut().read_to_string().map_err(classify)
    }
}

#[cfg(feature = "blocking")]
pub use blocking_client::{blocking_agent, get_blocking};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_has_no_exponent() {
        assert_eq!(upstream_url("http://a/", 1.0), "http://a/?delay=1");
        assert_eq!(upstream_url("http://a/", 0.5), "http://a/?delay=0.5");
        assert_eq!(upstream_url("http://a/", 1e-7), "http://a/?delay=0.0000001");
    }

    #[test]
    fn statuses() {
        assert_eq!(UpstreamError::Timeout(Duration::ZERO).status_code(), 504);
        assert_eq!(UpstreamError::unreachable("a\nb").status_code(), 502);
        assert_eq!(
            UpstreamError::unreachable("a\nb").to_string(),
            "upstream unreachable: a b"
        );
        assert_eq!(UpstreamError::BadStatus(500).status_code(), 502);
    }
}
