//! The daemon's HTTP listener for WebSub (`[websub] listen`): hubs verify
//! our subscriptions and push new entries here. It is bound once, at start;
//! a reload swaps what answers behind it. Strangers may reach it: a body is
//! read only for a callback we gave out, a few at a time, within a time
//! limit.

use crate::http::charset_of;
use crate::ingest::websub::{Pushed, Subscriber, Verified};
use crate::metrics::{PushLabels, metrics};
use crate::pipeline::{Pipeline, PollError};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

/// What answers hubs: the running config's subscriber and pipeline.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub subscriber: Arc<Subscriber>,
    pub pipeline: Arc<Pipeline>,
    /// Wakes the outbox: a push may have queued alerts.
    pub wake: watch::Sender<()>,
}

/// Pushed bodies read at once; more wait for a hub's retry (503).
const BODIES_AT_ONCE: usize = 16;
/// The longest a pushed body may take to arrive.
const BODY_TIME: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Hubs {
    current: watch::Receiver<Option<Endpoint>>,
    max_body: usize,
    reading: Arc<Semaphore>,
}

/// Serves hubs on `listener` until `stop`, with bodies up to `max_body`.
pub(crate) async fn serve(
    listener: TcpListener,
    current: watch::Receiver<Option<Endpoint>>,
    max_body: usize,
    stop: CancellationToken,
) {
    let hubs = Hubs {
        current,
        max_body,
        reading: Arc::new(Semaphore::new(BODIES_AT_ONCE)),
    };
    let app = Router::new().fallback(answer).with_state(hubs);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(%error, "The WebSub listener stopped");
    }
}

/// The callback URL ends with the subscription's token; whatever comes
/// before it is the public URL's path (a proxy may add or strip a prefix).
async fn answer(State(hubs): State<Hubs>, request: Request) -> (StatusCode, String) {
    let Some(endpoint) = hubs.current.borrow().clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    };
    let (parts, body) = request.into_parts();
    let Some(token) = parts.uri.path().rsplit('/').find(|s| !s.is_empty()) else {
        return (StatusCode::NOT_FOUND, String::new());
    };
    match parts.method {
        Method::GET => {
            let query: HashMap<String, String> =
                url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            match endpoint.subscriber.verify(token, &query).await {
                Verified::Confirmed(challenge) => (StatusCode::OK, challenge),
                Verified::Noted => (StatusCode::OK, String::new()),
                Verified::Refused => (StatusCode::NOT_FOUND, String::new()),
                Verified::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, String::new()),
            }
        }
        Method::POST => {
            match endpoint.subscriber.knows(token).await {
                None => return (StatusCode::SERVICE_UNAVAILABLE, String::new()),
                Some(false) => return (StatusCode::GONE, String::new()),
                Some(true) => {}
            }
            let Ok(_reading) = hubs.reading.try_acquire() else {
                return (StatusCode::SERVICE_UNAVAILABLE, String::new());
            };
            let read = axum::body::to_bytes(body, hubs.max_body);
            match tokio::time::timeout(BODY_TIME, read).await {
                Ok(Ok(body)) => receive(&endpoint, token, &parts.headers, &body).await,
                Ok(Err(_)) => (StatusCode::PAYLOAD_TOO_LARGE, String::new()),
                Err(_) => (StatusCode::REQUEST_TIMEOUT, String::new()),
            }
        }
        _ => (StatusCode::METHOD_NOT_ALLOWED, String::new()),
    }
}

/// Content a hub pushed: read as the feed's document if the hub signed it.
/// Acknowledged unless it could not be recorded (then the hub retries).
async fn receive(
    endpoint: &Endpoint,
    token: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, String) {
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    let counted = |result| metrics().pushes.get_or_create(&PushLabels { result }).inc();
    let (feed, topic) = match endpoint
        .subscriber
        .authenticate(token, signature, body)
        .await
    {
        Pushed::Unknown => return (StatusCode::GONE, String::new()),
        Pushed::Unavailable => return (StatusCode::SERVICE_UNAVAILABLE, String::new()),
        Pushed::BadSignature { feed } => {
            // The recommendation: acknowledge, but ignore what came.
            tracing::warn!(%feed, signed = signature.is_some(), "WebSub push ignored: not signed with this subscription's secret");
            counted("ignored");
            return (StatusCode::ACCEPTED, String::new());
        }
        Pushed::Accepted { feed, topic } => (feed, topic),
    };
    let charset = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(charset_of);
    match endpoint
        .pipeline
        .ingest_push(&feed, &topic, body, charset.as_deref())
        .await
    {
        Ok((new, alerts)) => {
            tracing::info!(feed = %feed.name, new, alerts, "WebSub push received");
            counted("accepted");
            endpoint.wake.send_replace(());
            (StatusCode::NO_CONTENT, String::new())
        }
        Err(error @ PollError::Store(_)) => {
            tracing::error!(feed = %feed.name, %error, "WebSub push not recorded; the hub will retry");
            (StatusCode::SERVICE_UNAVAILABLE, String::new())
        }
        Err(error) => {
            // Sending it again would not help; the next poll reads the feed.
            tracing::warn!(feed = %feed.name, %error, "WebSub push unreadable; ignored");
            counted("ignored");
            (StatusCode::ACCEPTED, String::new())
        }
    }
}
