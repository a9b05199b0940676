//! The database half's failures, and the status they are answered with.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// Why the database half failed. Every variant is a `503 Service Unavailable`: the
/// request was fine, the service cannot serve it right now; retrying later may work.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database busy: no free connection within {waited:?} (pool of {pool_size})")]
    PoolExhausted { waited: Duration, pool_size: usize },
    #[error("database did not answer within {0:?}")]
    Timeout(Duration),
}

impl DbError {
    /// A library's error with its causes (tokio-postgres keeps the useful part, such
    /// as "Connection refused", in the source), on one line.
    pub fn unavailable(err: impl std::error::Error) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.contains(&text) {
                message = format!("{message}: {text}");
            }
            source = cause.source();
        }
        DbError::Unavailable(message.replace(['\n', '\r'], " "))
    }
}

impl ResponseError for DbError {
    fn status_code(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}
