//! Migration moving attachment bytes out of the `attachments` row into `attachment_chunks`
//! (contract §12, issue 16): an upload is stored as chunks of at most 256 KiB, each a small
//! statement of its own, so the single store writer interleaves them with message batches
//! instead of holding every chat behind one multi-megabyte statement. The `attachments` row is
//! written last and is what makes a file exist; chunks without a row are an upload in progress
//! (or one that failed, deleted by the writer). Existing files move over as a single chunk each,
//! then the old `data` column is dropped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AttachmentChunks::Table)
                    .col(
                        ColumnDef::new(AttachmentChunks::AttachmentId)
                            .string()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AttachmentChunks::Seq).integer().not_null())
                    .col(ColumnDef::new(AttachmentChunks::Data).blob().not_null())
                    .col(
                        ColumnDef::new(AttachmentChunks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(AttachmentChunks::AttachmentId)
                            .col(AttachmentChunks::Seq),
                    )
                    .to_owned(),
            )
            .await?;
        let copy = Query::insert()
            .into_table(AttachmentChunks::Table)
            .columns([
                AttachmentChunks::AttachmentId,
                AttachmentChunks::Seq,
                AttachmentChunks::Data,
                AttachmentChunks::CreatedAt,
            ])
            .select_from(
                Query::select()
                    .column(Attachments::Id)
                    .expr(Expr::val(0))
                    .column(Attachments::Data)
                    .column(Attachments::CreatedAt)
                    .from(Attachments::Table)
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.exec_stmt(copy).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Attachments::Table)
                    .drop_column(Attachments::Data)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Attachments::Table)
                    .add_column(
                        ColumnDef::new(Attachments::Data)
                            .blob()
                            .not_null()
                            .default(Vec::<u8>::new()),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AttachmentChunks::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AttachmentChunks {
    Table,
    AttachmentId,
    Seq,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attachments {
    Table,
    Id,
    Data,
    CreatedAt,
}
