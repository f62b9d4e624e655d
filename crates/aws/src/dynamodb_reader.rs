//! Items for a day from a live table: a Query on a date index (pages fetched ahead of the
//! writer), or a parallel Scan with one lane per segment.

use crate::convert;
use crate::sdk::port_error;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue as Sdk;
use chrono::NaiveDate;
use daybook_core::config::DynamoDbRead;
use daybook_core::error::{Error, Result};
use daybook_core::flatten::ItemBatch;
use daybook_core::ports::PortError;
use daybook_core::steps::flatten::{ItemLane, ItemReader};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// Pages buffered per lane between the reader and the writer: enough to overlap the two,
/// few enough to keep memory bounded.
const PAGES_AHEAD: usize = 4;

pub struct DynamoDbReader {
    client: Client,
}

impl DynamoDbReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

type Key = HashMap<String, Sdk>;
type Page = (Vec<HashMap<String, Sdk>>, Option<Key>);

/// Fetches pages until the last one, sending each as a batch; stops at the first error (sent
/// on, so the step fails) or when the writer has gone.
async fn pump<F, Fut>(
    tx: mpsc::Sender<std::result::Result<ItemBatch, PortError>>,
    label: impl Fn(usize) -> String,
    mut fetch: F,
) where
    F: FnMut(Option<Key>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Page, PortError>>,
{
    let mut start = None;
    for page in 0.. {
        match fetch(start.take()).await {
            Err(e) => {
                let _ = tx.send(Err(e.context(label(page)))).await;
                return;
            }
            Ok((items, last_key)) => {
                let batch = ItemBatch {
                    input: label(page),
                    items: items.into_iter().map(convert::item).collect(),
                };
                if tx.send(Ok(batch)).await.is_err() {
                    return;
                }
                match last_key {
                    Some(key) => start = Some(key),
                    None => return,
                }
            }
        }
    }
}

#[async_trait]
impl ItemReader for DynamoDbReader {
    async fn open(&self, read: &DynamoDbRead, date: NaiveDate) -> Result<Vec<ItemLane>> {
        match read {
            DynamoDbRead::Query {
                table,
                index,
                date_attribute,
                date_format,
            } => {
                let day = date
                    .format(date_format.as_deref().unwrap_or("%Y-%m-%d"))
                    .to_string();
                let (tx, rx) = mpsc::channel(PAGES_AHEAD);
                let client = self.client.clone();
                let (table, index, date_attribute) =
                    (table.clone(), index.clone(), date_attribute.clone());
                let source = format!("dynamodb://{table}/{index} {date_attribute}={day}");
                let label = move |page| format!("{source} page {page}");
                tokio::spawn(pump(tx, label, move |start| {
                    let request = client
                        .query()
                        .table_name(&table)
                        .index_name(&index)
                        .key_condition_expression("#d = :day")
                        .expression_attribute_names("#d", &date_attribute)
                        .expression_attribute_values(":day", Sdk::S(day.clone()))
                        .set_exclusive_start_key(start);
                    async move {
                        let output = request.send().await.map_err(|e| port_error("Query", &e))?;
                        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
                    }
                }));
                Ok(vec![rx])
            }
            DynamoDbRead::Scan { table, segments } => {
                if *segments == 0 || *segments > 1_000_000 {
                    return Err(Error::Invalid(format!(
                        "scan of {table}: segments must be 1..=1000000, got {segments}"
                    )));
                }
                let total = *segments as i32;
                let mut lanes = Vec::new();
                for segment in 0..total {
                    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
                    let client = self.client.clone();
                    let table = table.clone();
                    let source = format!("dynamodb://{table} segment {segment}/{total}");
                    let label = move |page| format!("{source} page {page}");
                    tokio::spawn(pump(tx, label, move |start| {
                        let request = client
                            .scan()
                            .table_name(&table)
                            .segment(segment)
                            .total_segments(total)
                            .set_exclusive_start_key(start);
                        async move {
                            let output =
                                request.send().await.map_err(|e| port_error("Scan", &e))?;
                            Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
                        }
                    }));
                    lanes.push(rx);
                }
                Ok(lanes)
            }
            DynamoDbRead::Export { .. } => Err(Error::Invalid(
                "exports are read from the object store, not through DynamoDB".into(),
            )),
        }
    }
}
