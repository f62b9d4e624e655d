//! A lake table as DataFusion reads it: the catalog's schema and current partitions, and only
//! the partitions a query's `dt` conditions leave, so that a day's queries cost the same with
//! a week of history as with a year (no Parquet footer of another day is read).

use arrow::array::{Array, Date32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use chrono::NaiveDate;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::prelude::{DataFrame, ParquetReadOptions, SessionContext, lit};
use daybook_core::lake::SchemaColumn;
use std::path::PathBuf;
use std::sync::Arc;

/// The partition column every lake table has.
const DT: &str = "dt";

/// One table of the lake or of the marts.
#[derive(Debug)]
pub struct LakeTable {
    name: String,
    /// The catalog's columns, then `dt`: as Glue's table schema is what Spectrum reads every
    /// partition with, a column an older partition lacks reads as NULL.
    schema: SchemaRef,
    partitions: Vec<(NaiveDate, PathBuf)>,
}

impl LakeTable {
    /// The table `name` of `columns` over `partitions` (their folders). None when a column's
    /// type is not one Arrow writes (a catalog from another version): the caller reads the
    /// files' own schemas instead.
    pub fn new(
        name: &str,
        columns: &[SchemaColumn],
        partitions: Vec<(NaiveDate, PathBuf)>,
    ) -> Option<Self> {
        let mut fields = Vec::with_capacity(columns.len() + 1);
        for column in columns.iter().filter(|c| c.name != DT) {
            let ty: DataType = column.ty.parse().ok()?;
            fields.push(Field::new(&column.name, ty, column.nullable));
        }
        fields.push(Field::new(DT, DataType::Date32, false));
        Some(Self {
            name: name.to_string(),
            schema: Arc::new(Schema::new(fields)),
            partitions,
        })
    }

    fn file_schema(&self) -> Schema {
        let fields: Vec<Field> = self
            .schema
            .fields()
            .iter()
            .filter(|f| f.name() != DT)
            .map(|f| f.as_ref().clone())
            .collect();
        Schema::new(fields)
    }

    /// Whether a filter reads nothing but `dt`: such a filter decides which partitions are read.
    fn on_dt_only(filter: &Expr) -> bool {
        let columns = filter.column_refs();
        !columns.is_empty() && columns.iter().all(|c| c.name == DT)
    }

    /// The partitions none of `filters` rules out.
    fn kept(&self, state: &dyn Session, filters: &[Expr]) -> Result<Vec<&(NaiveDate, PathBuf)>> {
        let on_dt: Vec<&Expr> = filters.iter().filter(|f| Self::on_dt_only(f)).collect();
        if on_dt.is_empty() {
            return Ok(self.partitions.iter().collect());
        }
        let dt_schema = Arc::new(Schema::new(vec![Field::new(DT, DataType::Date32, false)]));
        let df_schema = DFSchema::try_from(dt_schema.as_ref().clone())?;
        let days: Vec<i32> = self
            .partitions
            .iter()
            .map(|(d, _)| epoch_days(*d))
            .collect();
        let batch = RecordBatch::try_new(dt_schema, vec![Arc::new(Date32Array::from(days))])?;
        let mut keep = vec![true; self.partitions.len()];
        for filter in on_dt {
            let physical = state.create_physical_expr(filter.clone(), &df_schema)?;
            let values = physical.evaluate(&batch)?.into_array(batch.num_rows())?;
            let verdicts = values
                .as_any()
                .downcast_ref::<arrow::array::BooleanArray>()
                .ok_or_else(|| {
                    DataFusionError::Internal(format!("the filter {filter} is not a condition"))
                })?;
            for (at, kept) in keep.iter_mut().enumerate() {
                // Only a definite false rules a partition out; DataFusion applies the filter
                // to the rows again (the pushdown is inexact).
                if verdicts.is_valid(at) && !verdicts.value(at) {
                    *kept = false;
                }
            }
        }
        Ok(self
            .partitions
            .iter()
            .zip(keep)
            .filter(|(_, kept)| *kept)
            .map(|(p, _)| p)
            .collect())
    }
}

fn epoch_days(date: NaiveDate) -> i32 {
    (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if Self::on_dt_only(f) {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projected = match projection {
            Some(columns) => Arc::new(self.schema.project(columns)?),
            None => self.schema.clone(),
        };
        let kept = self.kept(state, filters)?;
        if kept.is_empty() {
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let reader = SessionContext::new_with_state(
            datafusion::execution::SessionStateBuilder::new()
                .with_config(state.config().clone())
                .with_runtime_env(state.runtime_env().clone())
                .with_default_features()
                .build(),
        );
        let file_schema = self.file_schema();
        let mut combined: Option<DataFrame> = None;
        for (dt, folder) in kept {
            let path = folder.to_string_lossy();
            let options = ParquetReadOptions::default().file_extension(".parquet");
            // Its footers read first, with their own schema: a broken file is named by its
            // partition now, not by a bare Parquet error when the rows are read.
            let frame = async {
                reader.read_parquet(path.as_ref(), options.clone()).await?;
                reader
                    .read_parquet(path.as_ref(), options.schema(&file_schema))
                    .await?
                    .with_column(DT, lit(ScalarValue::Date32(Some(epoch_days(*dt)))))
            }
            .await
            .map_err(|e| {
                DataFusionError::Plan(format!(
                    "reading table {} partition dt={dt} at {}: {e}",
                    self.name,
                    folder.display()
                ))
            })?;
            combined = Some(match combined {
                None => frame,
                Some(all) => all.union(frame)?,
            });
        }
        let frame = combined.expect("at least one partition was kept");
        let columns: Vec<Expr> = projected
            .fields()
            .iter()
            .map(|f| Expr::Column(Column::new_unqualified(f.name())))
            .collect();
        frame.select(columns)?.create_physical_plan().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;

    /// Every type the lake writes comes back from the catalog's text as itself: a table is
    /// read with the schema its catalog entry names, never a guess.
    #[test]
    fn the_catalog_types_read_back_as_the_arrow_types_written() {
        let written = Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("v", DataType::Utf8View, true),
            Field::new("i", DataType::Int32, false),
            Field::new("n", DataType::Int64, true),
            Field::new("u", DataType::UInt64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("d", DataType::Date32, true),
            Field::new("m", DataType::Decimal128(38, 2), true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new(
                "l",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let table = LakeTable::new("lake.t", &SchemaColumn::from_arrow(&written), vec![])
            .expect("every type parses");
        assert_eq!(table.file_schema(), written);
        assert_eq!(
            table.schema().field_with_name(DT).unwrap().data_type(),
            &DataType::Date32
        );
    }
}
