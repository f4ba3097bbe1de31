//! The PostgreSQL schema, upgraded at start-up by numbered migrations that
//! run under an advisory lock, so that instances starting together migrate
//! once.

use super::super::StoreError;
use tokio_postgres::{Client, IsolationLevel};

/// Each entry upgrades the schema by one version; never edit a shipped one.
/// Times are whole seconds since the epoch, as in the SQLite store.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE feed_state (
    feed                  TEXT PRIMARY KEY,
    etag                  TEXT,
    last_modified         TEXT,
    error_count           INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT,
    next_poll_at          BIGINT,
    polled_ok             BOOLEAN NOT NULL DEFAULT FALSE,
    -- Why the feed's last document was malformed (logged once per change).
    malformed             TEXT,
    -- Feed health: when it was last tried, last worked, last had a new
    -- entry, since when it fails (NULL while it works), the failing run
    -- whose notice went out, its usual gap between new entries, whether its
    -- "quiet" notice went out, and when it last sent a whole document.
    last_attempt_at       BIGINT,
    last_success_at       BIGINT,
    last_new_entry_at     BIGINT,
    failing_since         BIGINT,
    failing_noticed_since BIGINT,
    entry_gap_secs        DOUBLE PRECISION,
    quiet_noticed         BOOLEAN NOT NULL DEFAULT FALSE,
    last_document_at      BIGINT
);
-- One row per entry ever alerted on (or recorded): the key is unique, so
-- two instances that read the same entry record it once.
CREATE TABLE seen (
    feed        TEXT NOT NULL,
    key         TEXT NOT NULL,
    seen_at     BIGINT NOT NULL,
    -- When a document of the feed last held it (NULL: when first seen).
    present_at  BIGINT,
    -- What it said when last read: the same text under a new key is the
    -- same article; new text under its key, an edit.
    fingerprint TEXT,
    PRIMARY KEY (feed, key)
);
CREATE INDEX seen_fingerprint ON seen (feed, fingerprint) WHERE fingerprint IS NOT NULL;
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    destination     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    delivered_at    BIGINT,
    -- The digest the alert waits for.
    batch           TEXT
);
CREATE INDEX outbox_destination_due ON outbox (destination, status, next_attempt_at);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered';
-- WebSub: each feed's subscription to its hub; `token` ends our callback URL.
CREATE TABLE websub (
    feed         TEXT PRIMARY KEY,
    hub          TEXT NOT NULL,
    topic        TEXT NOT NULL,
    token        TEXT NOT NULL UNIQUE,
    secret       TEXT NOT NULL,
    state        TEXT NOT NULL,
    lease_until  BIGINT,
    requested_at BIGINT NOT NULL,
    verified_at  BIGINT,
    last_error   TEXT
);
-- One row, written by /healthz to show the store can be written.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at BIGINT NOT NULL
);
-- The articles of the stories of the window, to place new ones after a
-- restart, in the order they were placed.
CREATE TABLE story_article (
    feed   TEXT NOT NULL,
    key    TEXT NOT NULL,
    story  TEXT NOT NULL,
    at     BIGINT NOT NULL,
    title  TEXT NOT NULL,
    lead   TEXT NOT NULL,
    placed BIGINT GENERATED ALWAYS AS IDENTITY,
    -- The transaction that wrote it: instances read what others placed
    -- since the horizon of their last read (numbers are taken before
    -- commit, so not in the order rows become visible).
    tx     XID8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (feed, key)
);
CREATE INDEX story_article_at ON story_article (at, placed);
CREATE INDEX story_article_tx ON story_article (tx);
CREATE INDEX story_article_story ON story_article (story);
-- Each story's first headline and when it began.
CREATE TABLE story (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    first_seen BIGINT NOT NULL
);
-- Each story's first alert per rule and destination: later articles follow
-- it (or are only recorded), whichever instance or poll brings them.
CREATE TABLE story_thread (
    story       TEXT NOT NULL,
    rule        TEXT NOT NULL,
    destination TEXT NOT NULL,
    root        TEXT NOT NULL,
    PRIMARY KEY (story, rule, destination)
);
-- Leases on feeds and destinations (`feed:<name>`, `destination:<name>`):
-- the instance that holds one works it until `until`.
CREATE TABLE lease (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
"#];

/// The advisory lock migrations take (any fixed number: instances of one
/// database agree on it).
const MIGRATION_LOCK: i64 = 0x6e65_7773_7761_7463; // "newswatc"

/// Brings the schema (the connection's `search_path`) to the latest version;
/// returns how many migrations ran. Everything happens in one transaction
/// holding the lock, so a failed migration leaves the schema as it was;
/// READ COMMITTED whatever the database's default, so that an instance that
/// waited for the lock reads the version the first one wrote.
pub(super) async fn migrate(client: &mut Client) -> Result<usize, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    // Looked up first: CREATE TABLE IF NOT EXISTS logs a notice at every start.
    let versioned: bool = tx
        .query_one("SELECT to_regclass('newswatch_schema') IS NOT NULL", &[])
        .await?
        .try_get(0)?;
    if !versioned {
        tx.batch_execute("CREATE TABLE newswatch_schema (version INTEGER NOT NULL)")
            .await?;
    }
    let version: i32 = tx
        .query_opt("SELECT version FROM newswatch_schema", &[])
        .await?
        .map_or(0, |r| r.get(0));
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(StoreError::Newer {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for sql in &MIGRATIONS[version..] {
        tx.batch_execute(sql).await?;
    }
    let latest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    tx.execute("DELETE FROM newswatch_schema", &[]).await?;
    tx.execute(
        "INSERT INTO newswatch_schema (version) VALUES ($1)",
        &[&latest],
    )
    .await?;
    tx.commit().await?;
    Ok(MIGRATIONS.len() - version)
}
