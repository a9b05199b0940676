//! The actix-web side: the middleware that counts every request and the `GET /metrics`
//! handler.

use super::Metrics;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};
use std::future::Future;

/// Middleware for `App::wrap_fn`: counts every request but `/metrics` and `/healthz`.
///
/// ```ignore
/// .wrap_fn(move |request, service| common::metrics::track(&metrics, request, service))
/// ```
pub fn track<S, B>(
    metrics: &Metrics,
    request: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    S::Future: 'static,
{
    let tracked = metrics.request(request.path());
    let response = service.call(request);
    async move {
        let response = response.await;
        if let Some(tracked) = tracked {
            let status = match &response {
                Ok(response) => response.status(),
                Err(err) => err.as_response_error().status_code(),
            };
            tracked.finish(status.as_u16());
        }
        response
    }
}

/// `GET /metrics` on an actix-web app holding `web::Data<Metrics>`.
pub async fn handler(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(super::CONTENT_TYPE)
        .body(metrics.render())
}
