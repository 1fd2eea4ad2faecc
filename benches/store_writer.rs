//! The store writer's batched insert (`store::messages::insert_batch`, SeaORM `insert_many` in one
//! transaction) against a plain batched insert of the same rows without the ORM (sqlx
//! `QueryBuilder::push_values`, also one transaction, also 1,000 rows per statement), on SQLite
//! (a fresh file, WAL, the engine's own connection settings) and PostgreSQL (a database this
//! bench creates and drops; skipped when `SWITCHBOARD_BENCH_PG=0`). Throughput is rows/s.
//! Batches of 500 rows are the store writer's default `store.batch_max_rows`.

// A benchmark, like a test, stops at the first thing that goes wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sea_orm::sqlx::{self, Database, QueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use switchboard::domain::RoutingMode;
use switchboard::settings::{DatabaseSettings, SqliteSync};
use switchboard::store::{self, messages::NewMessage};

/// Rows per transaction: the store writer's default batch.
const BATCH: usize = 500;
/// Chats the rows are spread over (messages of many chats commit together).
const CHATS: usize = 200;
const ROWS_PER_INSERT: usize = 1000;
const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

async fn open(url: &str) -> DatabaseConnection {
    let db = store::connect(&DatabaseSettings {
        url: url.into(),
        max_connections: 4,
        sqlite_cache_mb: 64,
        sqlite_synchronous: SqliteSync::Normal,
        sqlite_busy_timeout_ms: 5000,
        sqlite_checkpoint_ms: 1000,
        sqlite_wal_limit_mb: 64,
    })
    .await
    .unwrap();
    store::migrate(&db).await.unwrap();
    db
}

/// A queue, a user, a call and `CHATS` chats for the rows to belong to.
async fn chats(db: &DatabaseConnection) -> Vec<String> {
    let spec = store::queues::QueueSpec {
        name: "Bench".into(),
        description: String::new(),
        enabled: true,
        routing: RoutingMode::Auto,
        priority: 0,
        sla_answer_secs: 60,
        max_wait_secs: 0,
        offer_timeout_secs: 20,
    };
    store::queues::upsert(db, "bench", spec).await.unwrap();
    store::users::upsert(db, "bench-user", "Bench User")
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..CHATS {
        let call = store::calls::create(db, "bench-user", "bench", Utc::now())
            .await
            .unwrap();
        let id = uuid::Uuid::now_v7().to_string();
        store::chats::insert(
            db,
            store::chats::NewChat {
                id: id.clone(),
                queue_id: "bench".into(),
                user_id: "bench-user".into(),
                call_id: call.id,
                subject: "bench".into(),
                created_at: Utc::now(),
            },
        )
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}

/// The next `BATCH` rows: round-robin over the chats, each chat's seq counting up.
struct Rows {
    chats: Vec<String>,
    n: i64,
}

impl Rows {
    fn batch(&mut self) -> Vec<NewMessage> {
        (0..BATCH)
            .map(|_| {
                self.n += 1;
                let chat = usize::try_from(self.n).unwrap() % self.chats.len();
                NewMessage {
                    chat_id: self.chats[chat].clone(),
                    seq: self.n,
                    sender_role: "user".into(),
                    sender_id: "bench-user".into(),
                    sender_name: "Bench User".into(),
                    body: "x".repeat(64),
                    client_msg_id: Some(format!("{}.{}", self.n, chat)),
                    visibility: switchboard::domain::Visibility::All,
                    created_at: Utc::now(),
                    attachments: Vec::new(),
                }
            })
            .collect()
    }
}

/// The same rows without the ORM: one transaction, multi-row INSERTs built by sqlx.
async fn plain_insert<DB>(pool: &sqlx::Pool<DB>, rows: &[NewMessage])
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> chrono::DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let mut txn = pool.begin().await.unwrap();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut query = QueryBuilder::<DB>::new(
            "INSERT INTO chat_messages (chat_id, seq, sender_role, sender_id, sender_name, body, client_msg_id, created_at) ",
        );
        query.push_values(chunk, |mut b, r| {
            b.push_bind(r.chat_id.clone())
                .push_bind(r.seq)
                .push_bind(r.sender_role.clone())
                .push_bind(r.sender_id.clone())
                .push_bind(r.sender_name.clone())
                .push_bind(r.body.clone())
                .push_bind(r.client_msg_id.clone())
                .push_bind(r.created_at);
        });
        query.build().execute(&mut *txn).await.unwrap();
    }
    txn.commit().await.unwrap();
}

/// Times `iters` batches, built beforehand so only the insert is measured.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, rows: &mut Rows, iters: u64, insert: F) -> Duration
where
    F: Fn(Vec<NewMessage>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let batches: Vec<Vec<NewMessage>> = (0..iters).map(|_| rows.batch()).collect();
    rt.block_on(async {
        let started = Instant::now();
        for batch in batches {
            insert(batch).await;
        }
        started.elapsed()
    })
}

fn bench_db(c: &mut Criterion, name: &str, url: &str, rt: &tokio::runtime::Runtime) {
    let db = rt.block_on(open(url));
    let chat_ids = rt.block_on(chats(&db));
    let mut rows = Rows {
        chats: chat_ids,
        n: 0,
    };
    let mut group = c.benchmark_group(format!("store_writer_{name}"));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("seaorm_insert_batch_500", |b| {
        b.iter_custom(|iters| {
            timed(rt, &mut rows, iters, |batch| {
                let db = db.clone();
                async move { store::messages::insert_batch(&db, &batch).await.unwrap() }
            })
        });
    });
    group.bench_function("plain_sqlx_batch_500", |b| {
        b.iter_custom(|iters| {
            timed(rt, &mut rows, iters, |batch| {
                let db = db.clone();
                async move {
                    match db.get_database_backend() {
                        sea_orm::DbBackend::Sqlite => {
                            plain_insert(db.get_sqlite_connection_pool(), &batch).await;
                        }
                        _ => plain_insert(db.get_postgres_connection_pool(), &batch).await,
                    }
                }
            })
        });
    });
    group.finish();
    rt.block_on(db.close()).unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.db");
    bench_db(
        c,
        "sqlite",
        &format!("sqlite://{}?mode=rwc", file.display()),
        &rt,
    );
    let _ = std::fs::remove_dir_all(&dir);

    if std::env::var("SWITCHBOARD_BENCH_PG").as_deref() == Ok("0") {
        return;
    }
    let name = format!("switchboard_bench_{}", std::process::id());
    let admin = rt
        .block_on(sea_orm::Database::connect(format!("{PG_SERVER}/postgres")))
        .unwrap();
    rt.block_on(admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")))
        .unwrap();
    bench_db(c, "postgres", &format!("{PG_SERVER}/{name}"), &rt);
    rt.block_on(
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")),
    )
    .unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
