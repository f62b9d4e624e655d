//! Each Lambda compiles and links only what it calls: its AWS SDK crates from `daybook-aws`'s
//! per-service features (and STS, which `aws-config` always brings; SSO only in the CLI), no
//! DataFusion, and no data generator. Read from `cargo tree`, which
//! resolves features as `cargo lambda build -p <function>` (and `sam build`) does.

use std::collections::BTreeSet;
use std::process::Command;

/// The packages `package` links, resolved as a build of that package alone (with `features`).
fn linked_with(package: &str, features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(daybook_tests::workspace_root()).args([
        "tree",
        "--offline",
        "--locked",
        "-p",
        package,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let output = command.output().expect("run cargo tree");
    assert!(
        output.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn linked(function: &str) -> BTreeSet<String> {
    linked_with(function, &[])
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
        // The link key signs the email's report links.
        (
            "send-report",
            &["dynamodb", "s3", "secretsmanager", "sesv2", "sts"],
        ),
    ];
    for (function, sdks) in expected {
        let packages = linked(function);
        let got: Vec<&str> = packages
            .iter()
            .filter_map(|p| p.strip_prefix("aws-sdk-"))
            .collect();
        assert_eq!(&got, sdks, "{function} links these SDK crates");
        for never in [
            "datafusion",
            "daybook-generate",
            "daybook-local",
            "libsqlite3-sys",
        ] {
            assert!(
                !packages.contains(never),
                "{function} links {never}, which no Lambda calls"
            );
        }
    }
}

/// `cargo run -p daybook-cli -- demo` compiles no AWS SDK and no TLS: they were 819 of the 2,625
/// compile seconds of its cold build. `--features aws` brings them for the commands that reach
/// a stack.
#[test]
fn the_demo_builds_without_the_aws_sdk_and_operators_get_it_with_a_feature() {
    let demo = linked("daybook-cli");
    let cloud: Vec<&String> = demo
        .iter()
        .filter(|p| p.starts_with("aws-sdk-") || p.starts_with("aws-lc") || p.contains("rustls"))
        .collect();
    assert!(cloud.is_empty(), "the demo build links {cloud:?}");
    assert!(demo.contains("datafusion") && demo.contains("libsqlite3-sys"));

    let operator = linked_with("daybook-cli", &["aws"]);
    for needed in [
        "aws-sdk-dynamodb",
        "aws-sdk-sfn",
        "aws-sdk-secretsmanager",
        "aws-sdk-sso",
        "rustls",
    ] {
        assert!(operator.contains(needed), "--features aws lacks {needed}");
    }
}

/// `sam build` builds every function through the Makefile (one `make build-<LogicalId>` each),
/// and every target copies the bootstrap of a function that exists: a function added to the
/// template without a target, or a target naming a renamed function, fails here rather than in
/// an operator's `sam build`.
#[test]
fn sam_build_has_a_make_target_for_every_function() {
    let root = daybook_tests::workspace_root();
    let template = std::fs::read_to_string(root.join("infra/template.yaml")).unwrap();
    let makefile = std::fs::read_to_string(root.join("Makefile")).unwrap();
    let functions_in_template = template
        .matches("Type: AWS::Serverless::Function\n    Metadata:\n      BuildMethod: makefile\n    Properties:\n      CodeUri: ..\n")
        .count();
    assert_eq!(
        functions_in_template,
        template.matches("Type: AWS::Serverless::Function").count(),
        "every function builds with the Makefile from the repository root"
    );
    let mut built = BTreeSet::new();
    let mut lines = makefile.lines();
    while let Some(line) = lines.next() {
        let Some(logical_id) = line
            .strip_prefix("build-")
            .and_then(|l| l.strip_suffix(':'))
        else {
            continue;
        };
        assert!(
            template.contains(&format!(
                "\n  {logical_id}:\n    Type: AWS::Serverless::Function\n"
            )),
            "the Makefile builds {logical_id}, which the template does not have"
        );
        let recipe = lines.next().unwrap_or_default();
        let function = recipe
            .strip_prefix("\tscripts/build-lambdas --copy ")
            .and_then(|rest| rest.strip_suffix(" \"$(ARTIFACTS_DIR)\""))
            .unwrap_or_else(|| panic!("build-{logical_id} runs {recipe:?}"));
        assert!(
            root.join("functions")
                .join(function)
                .join("Cargo.toml")
                .exists(),
            "build-{logical_id} copies {function}, which is not under functions/"
        );
        built.insert(function.to_string());
    }
    assert_eq!(built.len(), functions_in_template);
    let all: BTreeSet<String> = std::fs::read_dir(root.join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(built, all, "every function under functions/ is deployed");
}
