//! Each Lambda compiles and links only what it calls: its AWS SDK crates from `daybook-aws`'s
//! per-service features (and STS, which `aws-config` always brings; SSO only in the CLI), no
//! DataFusion, and no data generator. Read from `cargo tree`, which
//! resolves features as `cargo lambda build -p <function>` (and `sam build`) does.

use std::collections::BTreeSet;
use std::process::Command;

/// The packages `function` links, resolved as a build of that function alone.
fn linked(function: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(daybook_tests::workspace_root())
        .args([
            "tree",
            "--offline",
            "--locked",
            "-p",
            function,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {function}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn each_lambda_links_only_the_sdks_it_calls() {
    let expected: &[(&str, &[&str])] = &[
        ("start-job", &["s3", "sts"]),
        ("flatten-dynamodb", &["dynamodb", "glue", "s3", "sts"]),
        ("export-rds", &["dynamodb", "s3", "secretsmanager", "sts"]),
        ("export-segment", &["s3", "sts"]),
        ("load-warehouse", &["glue", "redshiftdata", "s3", "sts"]),
        ("build-report", &["redshiftdata", "s3", "sts"]),
        ("run-query", &["redshiftdata", "s3", "sts"]),
        (
            "request-approval",
            &["dynamodb", "s3", "secretsmanager", "sesv2", "sfn", "sts"],
        ),
        (
            "approval-api",
            &["dynamodb", "s3", "secretsmanager", "sesv2", "sfn", "sts"],
        ),
        ("send-report", &["dynamodb", "s3", "sesv2", "sts"]),
    ];
    for (function, sdks) in expected {
        let packages = linked(function);
        let got: Vec<&str> = packages
            .iter()
            .filter_map(|p| p.strip_prefix("aws-sdk-"))
            .collect();
        assert_eq!(&got, sdks, "{function} links these SDK crates");
        for never in ["datafusion", "daybook-generate", "daybook-local"] {
            assert!(
                !packages.contains(never),
                "{function} links {never}, which no Lambda calls"
            );
        }
    }
}
