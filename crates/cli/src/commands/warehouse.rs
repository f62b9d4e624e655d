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
