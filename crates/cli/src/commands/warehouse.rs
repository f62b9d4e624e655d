//! `daybook load` and `daybook query`: the local warehouse from the command line.

use anyhow::Context;
use clap::Args;
use daybook_core::config::bind_run_date;
use daybook_core::quality::{self, CheckStatus};
use daybook_local::load::load_date;
use daybook_local::warehouse::{DataFusionWarehouse, format_table, to_query_result};
use daybook_report::model::data::{ReportData, SectionData};
use std::path::PathBuf;

#[derive(Args)]
pub struct LoadArgs {
    /// The day to load: its newest committed exports are registered, checked and the marts built.
    #[arg(long, value_parser = super::run_date)]
    date: chrono::NaiveDate,
    /// The local folder (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// A value for one of the config's variables the marts use, as name=value (repeat for
    /// more); the others take their defaults.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
}

#[derive(Args)]
pub struct QueryArgs {
    /// SQL over `lake.<table>` and `marts.<mart>`; `{run_date}` becomes the --date literal.
    sql: String,
    /// The local folder (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
    /// The date `{run_date}` stands for (default: yesterday, UTC).
    #[arg(long, value_parser = super::run_date)]
    date: Option<chrono::NaiveDate>,
    /// Write the result to this Excel file instead of printing it.
    #[arg(long)]
    xlsx: Option<PathBuf>,
}

#[derive(Args)]
pub struct TablesArgs {
    /// The local folder (the demo's --out).
    #[arg(long, default_value = "daybook-demo")]
    root: PathBuf,
}

/// `daybook tables`: what `daybook query` can read, from the local catalog: each lake table
/// and mart, its columns and the days it holds.
pub fn tables(args: TablesArgs) -> anyhow::Result<()> {
    let catalog = daybook_local::catalog::LocalCatalog::new(&args.root)
        .load()
        .map_err(anyhow::Error::msg)?;
    let listed: Vec<(String, &daybook_local::catalog::CatalogTable)> = catalog
        .tables
        .iter()
        .map(|(name, table)| (format!("lake.{name}"), table))
        .chain(
            catalog
                .marts
                .iter()
                .map(|(name, table)| (format!("marts.{name}"), table)),
        )
        .collect();
    if listed.is_empty() {
        println!(
            "no tables in {}: run `daybook demo --out {0}` or `daybook load --date D --root {0}` first",
            args.root.display()
        );
        return Ok(());
    }
    let width = listed.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, table) in &listed {
        let days = match (
            table.partitions.keys().next(),
            table.partitions.keys().last(),
        ) {
            (Some(first), Some(last)) if first == last => format!("1 day, {first}"),
            (Some(first), Some(last)) => {
                format!("{} days, {first} to {last}", table.partitions.len())
            }
            _ => "no days".into(),
        };
        println!(
            "{name:<width$}  {:>3} columns  {days}",
            table.schema.len() + 1
        );
    }
    println!(
        "{} tables; `daybook query \"SELECT * FROM <table> WHERE dt = {{run_date}} LIMIT 10\"` reads one",
        listed.len()
    );
    Ok(())
}

pub async fn load(args: LoadArgs) -> anyhow::Result<()> {
    let job_id =
        daybook_core::steps::job::new_job_id(args.date, chrono::Utc::now(), rand::random());
    let given =
        daybook_core::variables::parse_assignments(&args.variables).map_err(anyhow::Error::msg)?;
    let output = load_date(&args.root, args.date, &job_id, &given)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("loading {} in {}", args.date, args.root.display()))?;
    println!(
        "registered {} tables for {}",
        output.tables.len(),
        args.date
    );
    println!("checks: {}", quality::summary(&output.checks));
    for check in output
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Passed)
    {
        println!(
            "  {:?} {} {}: {}",
            check.status, check.table, check.check, check.detail
        );
    }
    for mart in &output.marts {
        println!(
            "mart {:<22} {:>8} rows  {}",
            mart.mart, mart.rows, mart.location
        );
    }
    Ok(())
}

pub async fn query(args: QueryArgs) -> anyhow::Result<()> {
    let date = args.date.unwrap_or_else(super::yesterday);
    let sql = bind_run_date(&args.sql, date);
    let warehouse = DataFusionWarehouse::new(&args.root);
    let batches = warehouse
        .query_batches(&sql)
        .await
        .with_context(|| format!("querying the local warehouse in {}", args.root.display()))?;
    let Some(path) = args.xlsx else {
        println!("{}", format_table(&batches));
        return Ok(());
    };
    let result = to_query_result(&batches);
    let rows = result.rows.len();
    let data = ReportData {
        variables: Vec::new(),
        summary: Vec::new(),
        name: "query".into(),
        title: "Query".into(),
        date,
        job_id: "query".into(),
        generated_at: chrono::Utc::now(),
        currency: None,
        locale: None,
        sections: vec![SectionData {
            description: Some(args.sql.clone()),
            ..SectionData::new("Query", result)
        }],
    };
    let bytes = daybook_report::render::xlsx::render_workbook(&data)?;
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    println!("{rows} rows written to {}", path.display());
    Ok(())
}
