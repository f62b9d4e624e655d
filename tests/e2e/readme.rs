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

/// The README's test command on a machine without cargo, python3 and npm: it names each with
/// how to get it, before installing or building anything.
#[test]
fn the_test_command_names_every_missing_tool_before_doing_anything() {
    let bare = tempfile::tempdir().unwrap();
    for tool in ["bash", "dirname", "ls", "id", "printf"] {
        let found = std::process::Command::new("bash")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        let path = String::from_utf8(found.stdout).unwrap();
        std::os::unix::fs::symlink(path.trim(), bare.path().join(tool)).unwrap();
    }
    let tools = bare.path().join("tools");
    let output = std::process::Command::new(bare.path().join("bash"))
        .arg(daybook_tests::workspace_root().join("scripts/test"))
        .env_clear()
        .env("PATH", bare.path())
        .env("DAYBOOK_TOOLS_DIR", &tools)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for needed in [
        "cargo: install Rust with rustup",
        "python3 (with venv)",
        "npm, for asl-validator",
    ] {
        assert!(stderr.contains(needed), "{needed} in:\n{stderr}");
    }
    assert!(!tools.exists(), "nothing was installed");
    assert!(output.stdout.is_empty(), "no step started");
}

#[test]
fn the_run_variables_example_is_declarations_daybook_takes() {
    use daybook_core::variables::{VariableSpec, check_declarations, resolve};
    use std::collections::BTreeMap;
    let text = format!("{{{}}}", json_after("### Run variables"));
    let declared: BTreeMap<String, BTreeMap<String, VariableSpec>> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let declared = &declared["variables"];
    check_declarations(declared).unwrap();
    let given = BTreeMap::from([("since".to_string(), serde_json::json!("2026-11-01"))]);
    let variables = resolve(declared, &given).unwrap();
    let bound = daybook_core::variables::bind_variables(
        "WHERE item_rank <= {var.top_n} AND carrier IN {var.carriers}",
        &variables,
    )
    .unwrap();
    assert_eq!(
        bound.render(daybook_core::variables::Placeholders::Colon),
        "WHERE item_rank <= CAST(:var_top_n AS DOUBLE PRECISION) AND carrier IN (NULL)"
    );
}

#[test]
fn the_fan_out_example_is_a_source_daybook_fans_out() {
    let text = json_after("### Big exports: the fan-out");
    let source: daybook_core::config::DynamoDbSource =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let (prefix, fan_out) = source.fan_out().expect("the example fans out");
    assert_eq!(prefix, "exports/search_queries/{date}");
    assert_eq!(fan_out.files_per_iteration, 4);
}
