//! DynamoDB Streams records to items: inserts and updates flatten their new image; removals are
//! counted, not written (the day's export or scan is the source of truth for deletes).

use aws_lambda_events::event::dynamodb::Event;
use chrono::NaiveDate;
use daybook_core::dynamo::Item;
use daybook_core::flatten::{FlattenConfig, ItemBatch};
use daybook_core::lake::PartitionLayout;

pub struct StreamBatch {
    pub items: ItemBatch,
    pub date: NaiveDate,
    pub batch_id: String,
    pub removed: usize,
}

impl StreamBatch {
    /// Each micro-batch is its own run folder, named after its first record.
    pub fn layout(&self, config: &FlattenConfig) -> PartitionLayout {
        PartitionLayout::lake(&config.source, self.date, &self.batch_id)
    }
}

pub fn to_batch(event: &Event) -> Result<StreamBatch, String> {
    let first = event
        .records
        .first()
        .ok_or("the stream batch has no records")?;
    let mut items = Vec::new();
    let mut removed = 0;
    for record in &event.records {
        if record.event_name == "REMOVE" {
            removed += 1;
            continue;
        }
        let image = serde_json::to_string(&record.change.new_image).map_err(|e| {
            format!(
                "stream record {}: new image does not serialise: {e}",
                record.event_id
            )
        })?;
        let item = Item::from_dynamodb_json(&image)
            .map_err(|e| format!("stream record {}: new image is not DynamoDB JSON ({e}); is the stream view NEW_IMAGE or NEW_AND_OLD_IMAGES?", record.event_id))?;
        items.push(item);
    }
    let sequence = first
        .change
        .sequence_number
        .clone()
        .unwrap_or_else(|| first.event_id.clone());
    Ok(StreamBatch {
        items: ItemBatch {
            input: format!("{} records from {sequence}", event.records.len()),
            items,
        },
        date: first.change.approximate_creation_date_time.date_naive(),
        batch_id: format!("stream-{sequence}"),
        removed,
    })
}
