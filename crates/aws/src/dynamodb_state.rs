use crate::sdk::{classified, describe};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use daybook_core::ports::{PortError, StateStore};
use serde_json::Value;

/// Idempotency and approval records in a DynamoDB table keyed by `pk` (S), the value as JSON text
/// in `value`; `put_if_absent` is a conditional write.
pub struct DynamoDbStateStore {
    client: Client,
    table: String,
}

impl DynamoDbStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn fail(&self, action: &str, key: &str, why: String) -> PortError {
        PortError::new(format!(
            "{action} state record {key} in table {}: {why}",
            self.table
        ))
    }
}

#[async_trait]
impl StateStore for DynamoDbStateStore {
    async fn put_if_absent(&self, key: &str, value: Value) -> Result<Option<Value>, PortError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_string()))
            .item("value", AttributeValue::S(value.to_string()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.get(key).await
            }
            Err(e) => Err(classified(self.fail("writing", key, describe(&e)), &e)),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Value>, PortError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classified(self.fail("reading", key, describe(&e)), &e))?;
        match output.item.as_ref().and_then(|item| item.get("value")) {
            None => Ok(None),
            Some(AttributeValue::S(text)) => serde_json::from_str(text)
                .map(Some)
                .map_err(|e| self.fail("parsing", key, e.to_string())),
            Some(other) => Err(self.fail(
                "parsing",
                key,
                format!("value is {other:?}, expected JSON text"),
            )),
        }
    }

    async fn put(&self, key: &str, value: Value) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.to_string()))
            .item("value", AttributeValue::S(value.to_string()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classified(self.fail("writing", key, describe(&e)), &e))
    }

    async fn remove_if(&self, key: &str, expected: &Value) -> Result<bool, PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.to_string()))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":expected", AttributeValue::S(expected.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classified(self.fail("removing", key, describe(&e)), &e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Value)>, PortError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_string()))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| classified(self.fail("listing", prefix, describe(&e)), &e))?;
            for item in page.items() {
                let (Some(AttributeValue::S(key)), Some(AttributeValue::S(text))) =
                    (item.get("pk"), item.get("value"))
                else {
                    continue;
                };
                let value = serde_json::from_str(text)
                    .map_err(|e| self.fail("parsing", key, e.to_string()))?;
                found.push((key.clone(), value));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }
}
