use crate::glue_crawler::CrawlerRun;
use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_glue::Client;
use aws_sdk_glue::types::{
    BatchUpdatePartitionRequestEntry, Column, PartitionInput, SerDeInfo, StorageDescriptor,
    TableInput,
};
use daybook_core::lake::SchemaColumn;
use daybook_core::ports::{Catalog, PartitionRef, PortError, Refresh};

const INPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// Lake tables in the Glue Data Catalog: one external Parquet table per lake table, partitioned
/// by `dt`, each partition pointing at the run folder that was committed last.
pub struct GlueCatalog {
    client: Client,
    database: String,
    bucket: String,
    crawler: Option<CrawlerRun>,
}

impl GlueCatalog {
    pub fn new(client: Client, database: impl Into<String>, bucket: impl Into<String>) -> Self {
        Self {
            client,
            database: database.into(),
            bucket: bucket.into(),
            crawler: None,
        }
    }

    /// Starts `crawler` once all of a load's tables are registered; the state machine waits
    /// for it before the marts.
    pub fn with_crawler(mut self, crawler: CrawlerRun) -> Self {
        self.crawler = Some(crawler);
        self
    }

    fn storage(&self, columns: Vec<Column>, prefix: &str) -> StorageDescriptor {
        StorageDescriptor::builder()
            .set_columns(Some(columns))
            .location(format!("s3://{}/{prefix}", self.bucket))
            .input_format(INPUT_FORMAT)
            .output_format(OUTPUT_FORMAT)
            .serde_info(
                SerDeInfo::builder()
                    .serialization_library(SERDE)
                    .parameters("serialization.format", "1")
                    .build(),
            )
            .build()
    }
}

/// The table's folder: the run prefix without its `dt=…/run=…/` tail.
pub fn table_prefix(run_prefix: &str) -> &str {
    run_prefix
        .find("dt=")
        .map_or(run_prefix, |at| &run_prefix[..at])
}

/// Glue's limit on the partitions of one BatchCreatePartition or BatchUpdatePartition call.
const PARTITIONS_PER_CALL: usize = 100;

#[async_trait]
impl Catalog for GlueCatalog {
    async fn start_refresh(&self) -> Result<Option<Refresh>, PortError> {
        match &self.crawler {
            Some(crawler) => crawler.start(&self.client).await.map(Some),
            None => Ok(None),
        }
    }

    async fn poll_refresh(&self, refresh: &Refresh) -> Result<Option<Refresh>, PortError> {
        match &self.crawler {
            Some(crawler) => crawler.poll(&self.client, refresh).await,
            None => Err(PortError::with_kind(
                format!(
                    "a refresh by {} is under way, but this function has no crawler configured (GLUE_CRAWLER); was the stack updated during the run?",
                    refresh.name
                ),
                daybook_core::ErrorKind::InvalidInput,
            )),
        }
    }

    async fn register_partitions(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        partitions: &[PartitionRef],
    ) -> Result<(), PortError> {
        self.register(table, schema, partitions, PartitionKeys::Day)
            .await
    }
}

/// How a table's partitions are keyed: by day (a daily run's folder per day), or by day and
/// run (every micro-batch of a stream is a run folder of its own, all of them read).
#[derive(Debug, Clone, Copy, PartialEq)]
enum PartitionKeys {
    Day,
    DayAndRun,
}

/// The run id of a run folder: `…/dt=D/run=<id>/` gives `<id>`.
fn run_id(run_prefix: &str) -> &str {
    run_prefix
        .rfind("run=")
        .map_or(run_prefix, |at| &run_prefix[at + 4..])
        .trim_end_matches('/')
}

impl GlueCatalog {
    /// Registers stream micro-batches: table `table` (the caller names it, e.g. with a
    /// `_stream` suffix, apart from the daily table) is partitioned by `dt` and `run`, and
    /// each batch's run folder is a partition of its own, so Spectrum reads every batch.
    pub async fn register_stream_runs(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        runs: &[PartitionRef],
    ) -> Result<(), PortError> {
        self.register(table, schema, runs, PartitionKeys::DayAndRun)
            .await
    }

    async fn register(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        partitions: &[PartitionRef],
        keys: PartitionKeys,
    ) -> Result<(), PortError> {
        let fail = |what: &str, why: String| {
            PortError::new(format!("Glue {what} {}.{table}: {why}", self.database))
        };
        let Some(newest) = partitions.iter().max_by_key(|p| p.dt) else {
            return Ok(());
        };
        let columns: Vec<Column> = schema
            .iter()
            .map(|c| Column::builder().name(&c.name).r#type(&c.hive_type).build())
            .collect::<Result<_, _>>()
            .map_err(|e| fail("describing", e.to_string()))?;
        let mut partition_keys = vec![
            Column::builder()
                .name("dt")
                .r#type("date")
                .build()
                .map_err(|e| fail("describing", e.to_string()))?,
        ];
        if keys == PartitionKeys::DayAndRun {
            partition_keys.push(
                Column::builder()
                    .name("run")
                    .r#type("string")
                    .build()
                    .map_err(|e| fail("describing", e.to_string()))?,
            );
        }
        let values = |p: &PartitionRef| match keys {
            PartitionKeys::Day => vec![p.dt.to_string()],
            PartitionKeys::DayAndRun => vec![p.dt.to_string(), run_id(&p.run_prefix).to_string()],
        };
        let table_input = TableInput::builder()
            .name(table)
            .table_type("EXTERNAL_TABLE")
            .parameters("classification", "parquet")
            .parameters("EXTERNAL", "TRUE")
            .set_partition_keys(Some(partition_keys))
            .storage_descriptor(self.storage(columns.clone(), table_prefix(&newest.run_prefix)))
            .build()
            .map_err(|e| fail("describing", e.to_string()))?;
        let existing = match self
            .client
            .get_table()
            .database_name(&self.database)
            .name(table)
            .send()
            .await
        {
            Ok(found) => found.table,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(classified(fail("reading table", describe(&e)), &e)),
        };
        // A new column in today's schema widens the table: Spectrum reads older files with nulls.
        // Only a change is written, and without archiving the old version: every UpdateTable
        // otherwise keeps a table version, and a stream's micro-batch a minute would reach
        // Glue's limit of versions per table within months.
        let update = |input: TableInput| {
            self.client
                .update_table()
                .database_name(&self.database)
                .skip_archive(true)
                .table_input(input)
                .send()
        };
        match existing {
            Some(existing) if same_definition(&existing, &table_input) => {}
            Some(_) => {
                update(table_input)
                    .await
                    .map_err(|e| classified(fail("updating table", describe(&e)), &e))?;
            }
            None => {
                let created = self
                    .client
                    .create_table()
                    .database_name(&self.database)
                    .table_input(table_input.clone())
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    // Another load created it since the look above (parallel stream batches,
                    // two runs of a backfill): make it say what this one needs.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_already_exists_exception()) =>
                    {
                        update(table_input)
                            .await
                            .map_err(|e| classified(fail("updating table", describe(&e)), &e))?;
                    }
                    Err(e) => return Err(classified(fail("creating table", describe(&e)), &e)),
                }
            }
        }
        let input = |p: &PartitionRef| {
            PartitionInput::builder()
                .set_values(Some(values(p)))
                .storage_descriptor(self.storage(columns.clone(), &p.run_prefix))
                .build()
        };
        let mut existing = Vec::new();
        for chunk in partitions.chunks(PARTITIONS_PER_CALL) {
            let created = self
                .client
                .batch_create_partition()
                .database_name(&self.database)
                .table_name(table)
                .set_partition_input_list(Some(chunk.iter().map(input).collect()))
                .send()
                .await
                .map_err(|e| classified(fail("creating partitions", describe(&e)), &e))?;
            for error in created.errors() {
                let detail = error.error_detail();
                let code = detail.and_then(|d| d.error_code()).unwrap_or_default();
                let failed = error.partition_values().join("/");
                if code != "AlreadyExistsException" {
                    return Err(fail(
                        &format!("creating partition {failed} of"),
                        format!(
                            "{code}: {}",
                            detail.and_then(|d| d.error_message()).unwrap_or_default()
                        ),
                    ));
                }
                existing.extend(chunk.iter().filter(|p| values(p).join("/") == failed));
            }
        }
        // A rerun of a day repoints its partition at the new run folder.
        for chunk in existing.chunks(PARTITIONS_PER_CALL) {
            let entries = chunk
                .iter()
                .map(|p| {
                    BatchUpdatePartitionRequestEntry::builder()
                        .set_partition_value_list(Some(values(p)))
                        .partition_input(input(p))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail("describing", e.to_string()))?;
            let updated = self
                .client
                .batch_update_partition()
                .database_name(&self.database)
                .table_name(table)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| classified(fail("repointing partitions", describe(&e)), &e))?;
            if let Some(error) = updated.errors().first() {
                let detail = error.error_detail();
                return Err(fail(
                    &format!(
                        "repointing partition {} of",
                        error.partition_value_list().join("/")
                    ),
                    format!(
                        "{}: {}",
                        detail.and_then(|d| d.error_code()).unwrap_or_default(),
                        detail.and_then(|d| d.error_message()).unwrap_or_default()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether the catalog's table already says what `wanted` would: the same columns with the same
/// types in the same order, the same partition keys, location and formats.
fn same_definition(existing: &aws_sdk_glue::types::Table, wanted: &TableInput) -> bool {
    let columns = |list: &[Column]| -> Vec<(String, String)> {
        list.iter()
            .map(|c| {
                (
                    c.name().to_ascii_lowercase(),
                    c.r#type().unwrap_or_default().to_ascii_lowercase(),
                )
            })
            .collect()
    };
    let (Some(have), Some(want)) = (existing.storage_descriptor(), wanted.storage_descriptor())
    else {
        return false;
    };
    columns(existing.partition_keys()) == columns(wanted.partition_keys())
        && columns(have.columns()) == columns(want.columns())
        && have.location() == want.location()
        && have.input_format() == want.input_format()
        && have.serde_info().and_then(|s| s.serialization_library())
            == want.serde_info().and_then(|s| s.serialization_library())
        && existing.table_type() == wanted.table_type()
}

/// The catalog table of a streamed lake table: apart from the daily table of the same name,
/// as it is keyed by run too.
pub fn stream_table_name(source: &str, table: &str) -> String {
    format!(
        "{}_stream",
        daybook_core::marts::catalog_table_name(source, table)
    )
}

/// Registers every table a stream micro-batch committed, each run folder a partition of the
/// table's `_stream` catalog table, with the schema its manifest records.
pub async fn register_stream_report(
    store: &dyn daybook_core::store::ObjectStore,
    catalog: &GlueCatalog,
    report: &daybook_core::steps::publish::ExportReport,
) -> Result<Vec<String>, daybook_core::Error> {
    let mut registered = Vec::new();
    for table in &report.tables {
        let bytes = store.get(&table.manifest_key).await?;
        let manifest: daybook_core::lake::TableManifest =
            serde_json::from_slice(&bytes).map_err(|source| daybook_core::Error::Json {
                context: format!("reading {}", store.location(&table.manifest_key)),
                source,
            })?;
        let name = stream_table_name(&report.source, &table.table);
        let run = PartitionRef {
            dt: manifest.dt,
            run_prefix: table.run_prefix.clone(),
        };
        catalog
            .register_stream_runs(&name, &manifest.schema, &[run])
            .await
            .map_err(|e| daybook_core::Error::port(format!("registering {name}"), e))?;
        registered.push(name);
    }
    Ok(registered)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_run_folder_gives_its_run_id() {
        assert_eq!(
            super::run_id("lake/search_queries/_items/dt=2026-11-21/run=stream-4900001/"),
            "stream-4900001"
        );
        assert_eq!(
            super::stream_table_name("search_queries", "_items"),
            "search_queries_items_stream"
        );
    }
}
