//! The async driver: tokio-postgres through a deadpool-postgres pool, every wait a
//! yield to the event loop.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::DbError;
use crate::QUERY;

/// The pool and the limits it is used with. Cloning it clones a handle: every worker
/// shares the one pool.
#[derive(Clone)]
pub struct AsyncDb {
    pool: Pool,
    pool_size: usize,
    wait_timeout: Duration,
    db_timeout: Duration,
}

impl AsyncDb {
    /// deadpool's defaults would quietly shape the lesson: a pool of 2 x cores (4
    /// here), and no timeouts at all, so a dead database hangs requests forever. Every
    /// limit is set from a flag instead.
    ///
    /// Connections are opened on first use, so the app starts (and `/healthz` says 503)
    /// even while the database is down.
    pub fn new(config: &Config) -> anyhow::Result<AsyncDb> {
        let mut pg_config = config.database_url.clone();
        pg_config.connect_timeout(config.db_connect_timeout);
        // `Fast` recycling reuses a connection unless its socket is known closed; a
        // connection that broke mid-query is closed by then and gets replaced.
        let manager = Manager::from_config(
            pg_config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .wait_timeout(Some(config.pool_wait_timeout))
            .create_timeout(Some(config.db_connect_timeout))
            .recycle_timeout(Some(config.pool_recycle_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| anyhow::anyhow!("cannot build the connection pool: {err}"))?;
        Ok(AsyncDb {
            pool,
            pool_size: config.pool_size,
            wait_timeout: config.pool_wait_timeout,
            db_timeout: config.db_timeout,
        })
    }

    /// A pooled connection, or the 503 that says why there is none.
    async fn connection(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(|err| match err {
            PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => DbError::PoolExhausted {
                waited: self.wait_timeout,
                pool_size: self.pool_size,
            },
            PoolError::Backend(err) => DbError::unavailable(err),
            other => DbError::unavailable(other),
        })
    }

    /// `SELECT NOW(), pg_sleep($1)`: every wait in here yields to the event loop.
    pub async fn sleep(&self, seconds: f64) -> Result<OffsetDateTime, DbError> {
        let client = self.connection().await?;
        let limit = Duration::from_secs_f64(seconds) + self.db_timeout;
        let query = async {
            // Prepared once per connection, then reused: one round trip per request.
            let statement = client.prepare_cached(QUERY).await?;
            client.query_one(&statement, &[&seconds]).await
        };
        match tokio::time::timeout(limit, query).await {
            Ok(Ok(row)) => row.try_get(0).map_err(DbError::unavailable),
            Ok(Err(err)) => Err(DbError::unavailable(err)),
            Err(_) => {
                // The connection is still busy with the query: take it out of the pool
                // (dropping it closes it) rather than hand it to the next request.
                drop(deadpool_postgres::Object::take(client));
                Err(DbError::Timeout(limit))
            }
        }
    }

    /// `db_pool_size`, `db_pool_in_use`, `db_pool_waiters` from deadpool's status:
    /// connections open, open and lent out, requests waiting for one.
    pub fn gauges(&self) -> Vec<common::metrics::Gauge> {
        let status = self.pool.status();
        let size = i64::try_from(status.size).unwrap_or(i64::MAX);
        let available = i64::try_from(status.available).unwrap_or(0);
        crate::pool_gauges(
            size,
            size - available,
            i64::try_from(status.waiting).unwrap_or(i64::MAX),
        )
    }

    /// `SELECT 1` on a pooled connection.
    pub async fn ping(&self) -> Result<(), DbError> {
        let client = self.connection().await?;
        match tokio::time::timeout(self.db_timeout, client.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(DbError::unavailable(err)),
            Err(_) => Err(DbError::Timeout(self.db_timeout)),
        }
    }
}
