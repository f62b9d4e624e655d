//! Cross-crate tests. Run them all with the README's test command (`scripts/test`).

mod approval;
mod asl_differential;
mod aws_exports;
mod aws_iam;
mod aws_moto;
mod aws_operate;
mod aws_pipeline;
mod backfill;
mod build_graph;
mod events;
mod fan_out;
mod hostile;
mod lake_postgres;
mod local_pipeline;
mod marts;
mod module_graph;
mod parquet_shape;
mod port_contracts;
mod rds;
mod readme;
mod redshift_postgres;
mod redshift_sql;
mod report;
mod retry_rules;
mod variables;
