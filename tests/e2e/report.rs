//! build-report over a real (local) warehouse: a section whose query fails is built as a
//! problem, not as a missing report; the rest of the report is there.

use daybook_core::config::{ReportDefinition, ReportSection};
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use daybook_local::FsStore;
use daybook_local::warehouse::DataFusionWarehouse;
use daybook_report::ReportData;
use daybook_report::steps::{BuildInput, build_report};

fn section(title: &str, sql: &str) -> ReportSection {
    ReportSection {
        title: title.into(),
        description: None,
        sql: sql.into(),
        chart: None,
        columns: Default::default(),
        compare: false,
        headline: false,
    }
}

#[tokio::test]
async fn a_failing_section_query_is_shown_as_a_problem_and_the_rest_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let input = BuildInput {
        job: JobContext {
            job_id: "job-1".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        report: ReportDefinition {
            name: "daily".into(),
            title: "Daily".into(),
            currency: None,
            sections: vec![
                section("Works", "SELECT 1 AS one"),
                section(
                    "Broken",
                    "SELECT * FROM marts.nowhere WHERE dt = {run_date}",
                ),
            ],
        },
        checks: vec![],
    };
    let artifacts = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap();
    let data: ReportData =
        serde_json::from_slice(&store.get(&artifacts.data_key).await.unwrap()).unwrap();
    let problems = data.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Broken: the query failed") && problems[0].contains("nowhere"),
        "{problems:?}"
    );
    let html = String::from_utf8(store.get(&artifacts.html_key).await.unwrap()).unwrap();
    assert!(html.contains("This report has 1 problem"), "{html}");
    assert!(html.contains("Works"));
}
