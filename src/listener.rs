//! The daemon's HTTP listener (`[websub] listen`): WebSub hubs verify our
//! subscriptions and push new entries here. It is bound once, at start; a
//! reload swaps what answers behind it.

use crate::http::charset_of;
use crate::ingest::websub::{Pushed, Subscriber, Verified};
use crate::pipeline::{Pipeline, PollError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What answers hubs: the running config's subscriber and pipeline.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub subscriber: Arc<Subscriber>,
    pub pipeline: Arc<Pipeline>,
    /// Wakes the outbox: a push may have queued alerts.
    pub wake: watch::Sender<()>,
}

type Current = watch::Receiver<Option<Endpoint>>;

/// Serves hubs on `listener` until `stop`, with bodies up to `max_body`.
pub(crate) async fn serve(
    listener: TcpListener,
    current: Current,
    max_body: usize,
    stop: CancellationToken,
) {
    let app = Router::new()
        .fallback(answer)
        .with_state(current)
        .layer(DefaultBodyLimit::max(max_body));
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(%error, "The WebSub listener stopped");
    }
}

/// The callback URL ends with the subscription's token; whatever comes
/// before it is the public URL's path (a proxy may add or strip a prefix).
async fn answer(
    State(current): State<Current>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let Some(endpoint) = current.borrow().clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    };
    let token = uri.path().rsplit('/').find(|s| !s.is_empty());
    let Some(token) = token else {
        return (StatusCode::NOT_FOUND, String::new());
    };
    match method {
        Method::GET => {
            let query: HashMap<String, String> =
                url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                    .into_owned()
                    .collect();
            match endpoint.subscriber.verify(token, &query).await {
                Verified::Confirmed(challenge) => (StatusCode::OK, challenge),
                Verified::Noted => (StatusCode::OK, String::new()),
                Verified::Refused => (StatusCode::NOT_FOUND, String::new()),
            }
        }
        Method::POST => receive(&endpoint, token, &headers, &body).await,
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
    let (feed, topic) = match endpoint
        .subscriber
        .authenticate(token, signature, body)
        .await
    {
        Pushed::Unknown => return (StatusCode::GONE, String::new()),
        Pushed::BadSignature { feed } => {
            // The recommendation: acknowledge, but ignore what came.
            tracing::warn!(%feed, signed = signature.is_some(), "WebSub push ignored: not signed with this subscription's secret");
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
            (StatusCode::ACCEPTED, String::new())
        }
    }
}
