//! Storing the store writer's batches of message rows, like with like: SeaORM (`store::messages`)
//! against plain sqlx (`QueryBuilder::push_values`), the same 500 rows (the store writer's default
//! `store.batch_max_rows`) in one multi-row INSERT, each pair with the same transaction handling:
//! `*_statement` sends the INSERT alone (what `insert_batch` and so the store writer do for up to
//! 1,000 rows: one statement is atomic), `*_txn` wraps it in BEGIN/COMMIT. `store_writer_actor`
//! sends the rows to the `StoreWriter` actor itself and waits for its answer (the path a chat
//! actor's send takes). Every variant gets a fresh database of its own (a new SQLite file, WAL, the
//! engine's connection settings; or a new PostgreSQL database this bench creates and drops, skipped
//! when `SWITCHBOARD_BENCH_PG=0`), so none inherits another's table. Throughput is rows/s.

// A benchmark, like a test, stops at the first thing that goes wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, SystemRunner};

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sea_orm::sqlx::{self, Database, QueryBuilder};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use switchboard::actors::store_writer::{StoreRows, StoreWriter};
use switchboard::domain::RoutingMode;
use switchboard::settings::{DatabaseSettings, SqliteSync, StoreSettings};
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

/// The same rows without the ORM: multi-row INSERTs built by sqlx, in a transaction or not.
async fn plain_insert<DB>(pool: &sqlx::Pool<DB>, rows: &[NewMessage], in_txn: bool)
where
    DB: Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> chrono::DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
{
    macro_rules! insert_chunks {
        ($conn:expr) => {
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
                query.build().execute(&mut *$conn).await.unwrap();
            }
        };
    }
    if in_txn {
        let mut txn = pool.begin().await.unwrap();
        insert_chunks!(txn);
        txn.commit().await.unwrap();
    } else {
        let mut conn = pool.acquire().await.unwrap();
        insert_chunks!(conn);
    }
}

/// Times `iters` batches, built beforehand so only the insert is measured.
fn timed<F, Fut>(rt: &SystemRunner, rows: &mut Rows, iters: u64, insert: F) -> Duration
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

/// Where each variant's database comes from.
enum Server {
    Sqlite(std::path::PathBuf),
    Postgres(DatabaseConnection),
}

impl Server {
    /// A fresh, migrated database with its chats, and how to name it for dropping.
    fn fresh(&self, rt: &SystemRunner, variant: &str) -> (DatabaseConnection, Rows, String) {
        let (url, name) = match self {
            Server::Sqlite(dir) => {
                let file = dir.join(format!("{variant}.db"));
                (
                    format!("sqlite://{}?mode=rwc", file.display()),
                    String::new(),
                )
            }
            Server::Postgres(admin) => {
                let name = format!("switchboard_bench_{}_{variant}", std::process::id());
                rt.block_on(admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")))
                    .unwrap();
                (format!("{PG_SERVER}/{name}"), name)
            }
        };
        let db = rt.block_on(open(&url));
        let chats = rt.block_on(chats(&db));
        (db, Rows { chats, n: 0 }, name)
    }

    fn drop_db(&self, rt: &SystemRunner, db: DatabaseConnection, name: &str) {
        rt.block_on(db.close()).unwrap();
        if let Server::Postgres(admin) = self {
            rt.block_on(
                admin.execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )),
            )
            .unwrap();
        }
    }
}

/// How a variant stores one batch.
#[derive(Clone, Copy)]
enum Variant {
    SqlxStatement,
    SeaormStatement,
    SqlxTxn,
    SeaormTxn,
    Actor,
}

impl Variant {
    const ALL: [Variant; 5] = [
        Variant::SqlxStatement,
        Variant::SeaormStatement,
        Variant::SqlxTxn,
        Variant::SeaormTxn,
        Variant::Actor,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::SqlxStatement => "sqlx_statement_500",
            Variant::SeaormStatement => "seaorm_statement_500",
            Variant::SqlxTxn => "sqlx_txn_500",
            Variant::SeaormTxn => "seaorm_txn_500",
            Variant::Actor => "store_writer_actor_500",
        }
    }
}

async fn store(
    variant: Variant,
    db: &DatabaseConnection,
    writer: &Addr<StoreWriter>,
    batch: Vec<NewMessage>,
) {
    match variant {
        Variant::SqlxStatement | Variant::SqlxTxn => {
            let in_txn = matches!(variant, Variant::SqlxTxn);
            match db.get_database_backend() {
                sea_orm::DbBackend::Sqlite => {
                    plain_insert(db.get_sqlite_connection_pool(), &batch, in_txn).await;
                }
                _ => plain_insert(db.get_postgres_connection_pool(), &batch, in_txn).await,
            }
        }
        Variant::SeaormStatement => {
            assert!(
                batch.len() <= ROWS_PER_INSERT,
                "insert_batch: one statement"
            );
            store::messages::insert_batch(db, &batch).await.unwrap();
        }
        Variant::SeaormTxn => {
            let txn = db.begin().await.unwrap();
            store::messages::insert_in(&txn, &batch).await.unwrap();
            txn.commit().await.unwrap();
        }
        Variant::Actor => writer.send(StoreRows(batch)).await.unwrap().unwrap(),
    }
}

fn bench_db(c: &mut Criterion, name: &str, server: &Server, rt: &SystemRunner) {
    let mut group = c.benchmark_group(format!("store_writer_{name}"));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    for variant in Variant::ALL {
        let (db, mut rows, db_name) = server.fresh(rt, variant.name());
        let settings = StoreSettings {
            batch_max_rows: BATCH,
            max_waiting_rows: 50_000,
        };
        let writer = rt.block_on(async {
            StoreWriter::new(db.clone(), &settings, Arc::new(AtomicBool::new(true))).start()
        });
        group.bench_function(variant.name(), |b| {
            b.iter_custom(|iters| {
                timed(rt, &mut rows, iters, |batch| {
                    let (db, writer) = (db.clone(), writer.clone());
                    async move { store(variant, &db, &writer, batch).await }
                })
            });
        });
        drop(writer);
        server.drop_db(rt, db, &db_name);
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = actix::System::new();
    let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench_db(c, "sqlite", &Server::Sqlite(dir.clone()), &rt);
    let _ = std::fs::remove_dir_all(&dir);

    if std::env::var("SWITCHBOARD_BENCH_PG").as_deref() == Ok("0") {
        return;
    }
    let admin = rt
        .block_on(sea_orm::Database::connect(format!("{PG_SERVER}/postgres")))
        .unwrap();
    bench_db(c, "postgres", &Server::Postgres(admin), &rt);
}

criterion_group!(benches, bench);
criterion_main!(benches);
