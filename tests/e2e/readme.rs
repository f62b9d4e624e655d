//! The README's configuration examples are real configurations: a user who copies one gets
//! one that daybook takes.

use daybook_core::config::PipelineConfig;
use daybook_core::flatten::FlattenConfig;

/// The first ```json block after `heading`.
fn json_after(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(daybook_tests::workspace_root().join("README.md")).unwrap();
    let section = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading}"))..];
    let start = section.find("```json\n").expect("a json block") + "```json\n".len();
    let end = section[start..].find("```").expect("the block ends") + start;
    section[start..end].to_string()
}

#[test]
fn the_flatten_config_example_is_one_daybook_takes() {
    let text = json_after("### Flatten config");
    let config: FlattenConfig = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let plan = daybook_core::flatten::FlattenPlan::resolve(&config, &[]).unwrap();
    assert!(!plan.scalars.is_empty());
}

#[test]
fn the_pipeline_config_example_is_one_daybook_takes() {
    let text = json_after("## The pipeline config");
    let config: PipelineConfig = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    config.check_names().unwrap();
}

#[test]
fn the_chart_examples_are_sections_daybook_takes() {
    use daybook_core::config::{ChartKind, ReportSection};
    let text = json_after("### The report");
    let sections: Vec<ReportSection> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<ChartKind> = sections
        .iter()
        .map(|s| {
            let chart = s.chart.as_ref().unwrap();
            chart.check().unwrap();
            chart.kind
        })
        .collect();
    assert_eq!(
        kinds,
        [ChartKind::Line, ChartKind::StackedBar, ChartKind::Quadrant]
    );
}

#[test]
fn the_email_example_is_one_daybook_takes() {
    let text = json_after("#### Recipients and sending");
    let email: daybook_core::config::EmailConfig =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(email.recipients().len(), 3);
    assert_eq!(email.configuration_set.as_deref(), Some("daybook"));
}
