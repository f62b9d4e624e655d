use crate::sdk::describe;
use async_trait::async_trait;
use aws_sdk_glue::Client;
use aws_sdk_glue::types::{Column, PartitionInput, SerDeInfo, StorageDescriptor, TableInput};
use chrono::NaiveDate;
use daybook_core::lake::SchemaColumn;
use daybook_core::ports::{Catalog, PortError};

const INPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// Lake tables in the Glue Data Catalog: one external Parquet table per lake table, partitioned
/// by `dt`, each partition pointing at the run folder that was committed last.
pub struct GlueCatalog {
    client: Client,
    database: String,
    bucket: String,
}

impl GlueCatalog {
    pub fn new(client: Client, database: impl Into<String>, bucket: impl Into<String>) -> Self {
        Self {
            client,
            database: database.into(),
            bucket: bucket.into(),
        }
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

#[async_trait]
impl Catalog for GlueCatalog {
    async fn register_partition(
        &self,
        table: &str,
        schema: &[SchemaColumn],
        dt: NaiveDate,
        run_prefix: &str,
    ) -> Result<(), PortError> {
        let fail = |what: &str, why: String| {
            PortError::new(format!(
                "Glue {what} {}.{table} dt={dt}: {why}",
                self.database
            ))
        };
        let columns: Vec<Column> = schema
            .iter()
            .map(|c| Column::builder().name(&c.name).r#type(&c.hive_type).build())
            .collect::<Result<_, _>>()
            .map_err(|e| fail("describing", e.to_string()))?;
        let dt_key = Column::builder()
            .name("dt")
            .r#type("date")
            .build()
            .map_err(|e| fail("describing", e.to_string()))?;
        let table_input = TableInput::builder()
            .name(table)
            .table_type("EXTERNAL_TABLE")
            .parameters("classification", "parquet")
            .parameters("EXTERNAL", "TRUE")
            .partition_keys(dt_key)
            .storage_descriptor(self.storage(columns.clone(), table_prefix(run_prefix)))
            .build()
            .map_err(|e| fail("describing", e.to_string()))?;
        let exists = match self
            .client
            .get_table()
            .database_name(&self.database)
            .name(table)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found_exception()) =>
            {
                false
            }
            Err(e) => return Err(fail("reading table", describe(&e))),
        };
        // A new column in today's schema widens the table: Spectrum reads older files with nulls.
        if exists {
            self.client
                .update_table()
                .database_name(&self.database)
                .table_input(table_input)
                .send()
                .await
                .map_err(|e| fail("updating table", describe(&e)))?;
        } else {
            self.client
                .create_table()
                .database_name(&self.database)
                .table_input(table_input)
                .send()
                .await
                .map_err(|e| fail("creating table", describe(&e)))?;
        }
        let partition = PartitionInput::builder()
            .values(dt.to_string())
            .storage_descriptor(self.storage(columns, run_prefix))
            .build();
        let created = self
            .client
            .create_partition()
            .database_name(&self.database)
            .table_name(table)
            .partition_input(partition.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_already_exists_exception()) =>
            {
                self.client
                    .update_partition()
                    .database_name(&self.database)
                    .table_name(table)
                    .partition_value_list(dt.to_string())
                    .partition_input(partition)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| fail("repointing partition", describe(&e)))
            }
            Err(e) => Err(fail("creating partition", describe(&e))),
        }
    }
}
