//! The configuration examples in the README and `docs/` are real configurations: a user who
//! copies one gets one that daybook takes. Every link between those pages reaches a page and a
//! heading that exist.

use daybook_core::config::PipelineConfig;
use daybook_core::flatten::FlattenConfig;

/// The user's pages: the README, ARCHITECTURE.md and every page of `docs/`, by path.
fn pages() -> Vec<(String, String)> {
    let root = daybook_tests::workspace_root();
    let mut paths = vec!["README.md".to_string(), "ARCHITECTURE.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(root.join(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            (path, text)
        })
        .collect()
}

/// The first ```json block after `heading`, on whichever page has the heading.
fn json_after(heading: &str) -> String {
    let pages = pages();
    let (_, page) = pages
        .iter()
        .find(|(_, text)| text.lines().any(|l| l == heading))
        .unwrap_or_else(|| panic!("no page has the heading {heading}"));
    let at = page.find(&format!("{heading}\n")).unwrap();
    let section = &page[at..];
    let start = section.find("```json\n").expect("a json block") + "```json\n".len();
    let end = section[start..].find("```").expect("the block ends") + start;
    section[start..end].to_string()
}

#[test]
fn the_flatten_config_example_is_one_daybook_takes() {
    let text = json_after("## Flatten config");
    let config: FlattenConfig = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let plan = daybook_core::flatten::FlattenPlan::resolve(&config, &[]).unwrap();
    assert!(!plan.scalars.is_empty());
}

#[test]
fn the_pipeline_config_example_is_one_daybook_takes() {
    let text = json_after("# The pipeline config");
    let config: PipelineConfig = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    config.check_names().unwrap();
}

#[test]
fn the_chart_examples_are_sections_daybook_takes() {
    use daybook_core::config::{ChartKind, ReportSection};
    let text = json_after("## The report");
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
    let text = json_after("### Recipients and sending");
    let email: daybook_core::config::EmailConfig =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(email.recipients().len(), 3);
    assert_eq!(email.configuration_set.as_deref(), Some("daybook"));
}

/// The README's test command on a machine without cargo, python3 and npm: it names each with
/// how to get it, before installing or building anything.
#[test]
fn the_chat_example_is_destinations_and_approval_daybook_takes() {
    #[derive(serde::Deserialize)]
    struct Chat {
        deliver: Vec<daybook_core::config::Destination>,
        approval: daybook_core::config::ApprovalConfig,
    }
    let text = json_after("## Destinations");
    let chat: Chat = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chat.deliver.len(), 4);
    daybook_core::config::deliver::check_destinations(&chat.deliver).unwrap();
    chat.approval
        .check(&["ana@example.com".to_string()])
        .unwrap();
    let condition = json_after("## Send only when it matters");
    let when: serde_json::Value = serde_json::from_str(&condition).unwrap();
    let parsed: daybook_core::config::SendWhen =
        serde_json::from_value(when["send_when"].clone()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!parsed.is_always());
}

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
    let text = format!("{{{}}}", json_after("## Run variables"));
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
    let text = json_after("## Big exports: the fan-out");
    let source: daybook_core::config::DynamoDbSource =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let (prefix, fan_out) = source.fan_out().expect("the example fans out");
    assert_eq!(prefix, "exports/search_queries/{date}");
    assert_eq!(fan_out.files_per_iteration, 4);
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> std::collections::BTreeSet<String> {
    let mut fenced = false;
    let mut out = std::collections::BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every `[text](target)` whose target is a page or file of the repository (not a URL).
fn local_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = &after[..end];
        if !target.contains("://") && !target.starts_with("mailto:") && !target.contains(' ') {
            links.push(target.to_string());
        }
        rest = &after[end..];
    }
    links
}

#[test]
fn every_link_between_the_pages_reaches_a_file_and_heading_that_exist() {
    let root = daybook_tests::workspace_root();
    let pages = pages();
    let mut broken = Vec::new();
    for (path, text) in &pages {
        let folder = std::path::Path::new(path).parent().unwrap();
        for link in local_links(text) {
            let (file, heading) = match link.split_once('#') {
                Some((file, heading)) => (file, Some(heading)),
                None => (link.as_str(), None),
            };
            let target = if file.is_empty() {
                std::path::PathBuf::from(path)
            } else {
                folder.join(file)
            };
            if !root.join(&target).exists() {
                broken.push(format!("{path}: {link} (no file {})", target.display()));
                continue;
            }
            if let Some(heading) = heading {
                let key = target.to_string_lossy().replace("docs/../", "");
                let Some((_, page)) = pages.iter().find(|(p, _)| *p == key) else {
                    continue;
                };
                if !anchors(page).contains(heading) {
                    broken.push(format!("{path}: {link} (no heading #{heading} in {key})"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_is_a_front_door() {
    let readme =
        std::fs::read_to_string(daybook_tests::workspace_root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 300,
        "the README has {lines} lines: the manual belongs in docs/"
    );
}
