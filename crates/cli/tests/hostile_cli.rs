//! The `daybook` binary over the bad-input corpus (`tests/fixtures/hostile/`), as a user runs
//! it: the exit status says whether anything was published, the message names the input and
//! what to do, and nothing is written outside the output folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/hostile")
        .join(case)
}

fn daybook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_daybook"))
        .args(args)
        .env("DAYBOOK_LOG", "off")
        .output()
        .expect("run daybook")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An output folder `<tmp>/nested/out`, and a check that nothing appeared beside it.
struct Out(tempfile::TempDir);

impl Out {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("nested")).unwrap();
        Self(dir)
    }
    fn path(&self) -> String {
        self.0.path().join("nested/out").display().to_string()
    }
    fn nothing_beside(&self, case: &str) {
        let beside: Vec<_> = std::fs::read_dir(self.0.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "out")
            .collect();
        assert!(beside.is_empty(), "{case}: wrote {beside:?} beside --out");
        assert!(!Path::new("/dt=2026-11-21").exists(), "{case}");
    }
}

fn flatten(case: &str, key: &str, out: &Out, job: &str) -> Output {
    let export = corpus(case).display().to_string();
    let out_path = out.path();
    daybook(&[
        "flatten",
        "--export",
        &export,
        "--key",
        key,
        "--out",
        &out_path,
        "--date",
        "2026-11-21",
        "--job-id",
        job,
        // The corpus is mostly bad on purpose.
        "--max-quarantined-share",
        "1",
    ])
}

#[test]
fn flatten_publishes_what_it_can_and_refuses_what_it_must() {
    for case in ["dynamodb/names", "dynamodb/bad-lines"] {
        let out = Out::new();
        let run = flatten(case, "query_id", &out, "j1");
        assert!(run.status.success(), "{case}: {}", text(&run.stderr));
        out.nothing_beside(case);
    }

    for case in ["dynamodb/manifest-escape", "dynamodb/manifest-parent"] {
        let out = Out::new();
        let run = flatten(case, "query_id", &out, "j1");
        let stderr = text(&run.stderr);
        assert!(!run.status.success(), "{case}");
        assert!(
            stderr.contains("manifest-files.json line 1"),
            "{case}: {stderr}"
        );
        out.nothing_beside(case);
    }

    // A misspelt key quarantines every item: nothing is published and the run fails.
    let out = Out::new();
    let run = flatten("dynamodb/bad-lines", "queryid", &out, "j1");
    let stderr = text(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("every one of the") && stderr.contains("queryid"),
        "{stderr}"
    );

    let out = Out::new();
    let run = flatten("dynamodb/names", "query_id", &out, "../../escape");
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("is not one plain name"),
        "{}",
        text(&run.stderr)
    );
    out.nothing_beside("job id");
}

#[test]
fn segment_and_rds_exports_refuse_names_that_leave_the_output() {
    let out = Out::new();
    let input = corpus("segment/bad-lines").display().to_string();
    let out_path = out.path();
    let run = daybook(&[
        "export",
        "segment",
        "--input",
        &input,
        "--out",
        &out_path,
        "--date",
        "2026-11-21",
        "--max-quarantined-share",
        "1",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    out.nothing_beside("segment");

    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("empty.sqlite").display()
    );
    for table in ["/abs/path", "../../x"] {
        let out = Out::new();
        let out_path = out.path();
        let run = daybook(&[
            "export", "rds", "--url", &url, "--table", table, "--out", &out_path,
        ]);
        let stderr = text(&run.stderr);
        assert!(!run.status.success(), "{table}");
        assert!(stderr.contains("not a plain name"), "{table}: {stderr}");
        out.nothing_beside(table);
    }
}

#[test]
fn query_only_reads() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("copied.csv");
    let root_path = root.path().display().to_string();
    let copy = format!("COPY (SELECT 1 AS one) TO '{}'", target.display());
    let run = daybook(&["query", "--root", &root_path, &copy]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("only reads"),
        "{}",
        text(&run.stderr)
    );
    assert!(!target.exists());
}

#[test]
fn approval_commands_say_what_is_pending_and_refuse_what_is_not() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path().display().to_string();
    let listed = daybook(&["approvals", "--root", &root]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(text(&listed.stdout).trim(), "no approval is pending");
    // No run waits: approving says so, naming the job and where it looked.
    let approve = daybook(&["approve", "20261121-060000-abc123", "--root", &root]);
    assert!(!approve.status.success());
    let said = text(&approve.stderr);
    assert!(
        said.contains("job 20261121-060000-abc123 has not asked for approval"),
        "{said}"
    );
    assert!(said.contains(&root), "{said}");
    // A job id that is a path is refused before anything is read.
    let escape = daybook(&[
        "reject",
        "../../etc/passwd",
        "--reason",
        "x",
        "--root",
        &root,
    ]);
    assert!(!escape.status.success());
    assert!(
        text(&escape.stderr).contains("is not one plain name"),
        "{}",
        text(&escape.stderr)
    );
    // The local link key: made on first use, rotated keeping the key before.
    let first = daybook(&["link-key", "rotate", "--root", &root]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let said = text(&first.stdout);
    assert!(said.contains("new links are signed with key k"), "{said}");
    assert!(said.contains("still work"), "{said}");
    let key = std::fs::read_to_string(Path::new(&root).join(".daybook/link-key.json")).unwrap();
    assert!(key.contains("\"previous\":[{"), "{key}");
}

/// `daybook runs | head -1`: the reader leaves before daybook writes; daybook ends as any Unix
/// tool does (SIGPIPE), without a panic and its backtrace.
#[test]
fn a_reader_that_leaves_early_ends_the_command_quietly() {
    let root = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_daybook"))
        .args(["runs", "--root", root.path().to_str().unwrap()])
        .env("DAYBOOK_LOG", "off")
        .stdout(writer)
        .output()
        .expect("run daybook");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !out.status.success(),
        "a write to a closed pipe does not succeed"
    );
}

/// Numbers and dates that overflowed the calendar or made nothing: each refused with what to
/// give, never a panic.
#[test]
fn dates_and_counts_out_of_range_are_refused_with_what_to_give() {
    let out = tempfile::tempdir().unwrap();
    let at = |name: &str| out.path().join(name).display().to_string();
    for (args, says) in [
        (
            vec!["demo", "--date", "0001-01-01", "--out", &at("a")],
            "outside 1971-01-01",
        ),
        (
            vec![
                "generate",
                "rds",
                "--days",
                "100000000",
                "--out",
                &at("s.sqlite"),
            ],
            "100000000",
        ),
        (vec!["demo", "--items", "0", "--out", &at("b")], "0"),
        (
            vec![
                "generate",
                "dynamodb-export",
                "--items",
                "10",
                "--files",
                "0",
                "--out",
                &at("e"),
            ],
            "give 1 to 100000 files",
        ),
    ] {
        let run = daybook(&args);
        let stderr = text(&run.stderr);
        assert!(!run.status.success(), "{args:?} succeeded");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The CLI's recipe makes one lake: `flatten`, `export segment` and `export rds` with `--out
/// <root>/lake` write `lake/<source>/<table>/…` as the pipeline does, so `load` registers them
/// and `query` finds `lake.<source>_<table>` (a flat folder of tables left `query` with nothing).
#[test]
fn the_recipe_exports_one_lake_that_load_and_query_read() {
    let dir = tempfile::tempdir().unwrap();
    let at = |p: &str| dir.path().join(p).display().to_string();
    std::fs::create_dir_all(dir.path().join("root/config")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/daybook.json"),
        dir.path().join("root/config/daybook.json"),
    )
    .unwrap();
    let (lake, root) = (at("root/lake"), at("root"));
    let rds_url = format!("sqlite://{}", at("shop.sqlite"));
    let mut rds = vec!["export", "rds", "--url", &rds_url, "--out", &lake];
    for table in daybook_rds::shop::TABLES {
        rds.extend(["--table", table]);
    }
    let (export, segment, shop) = (at("export"), at("segment"), at("shop.sqlite"));
    let steps: Vec<Vec<&str>> = vec![
        vec![
            "generate",
            "dynamodb-export",
            "--items",
            "500",
            "--files",
            "1",
            "--out",
            &export,
        ],
        vec![
            "flatten", "--export", &export, "--key", "query_id", "--out", &lake,
        ],
        vec!["generate", "segment", "--events", "500", "--out", &segment],
        vec!["export", "segment", "--input", &segment, "--out", &lake],
        vec![
            "generate",
            "rds",
            "--days",
            "3",
            "--orders-per-day",
            "20",
            "--out",
            &shop,
        ],
        rds,
        vec!["load", "--root", &root],
    ];
    for step in steps {
        let mut args = step.clone();
        args.extend(["--date", "2026-11-21"]);
        let run = daybook(&args);
        assert!(run.status.success(), "{step:?}: {}", text(&run.stderr));
    }
    assert!(dir.path().join("root/lake/search_queries/_items").is_dir());
    for (sql, expected) in [
        (
            "SELECT count(*) AS n FROM lake.search_queries_items WHERE dt = {run_date}",
            "500",
        ),
        (
            "SELECT count(*) > 0 AS some FROM lake.segment_pages WHERE dt = {run_date}",
            "true",
        ),
        (
            "SELECT count(*) > 0 AS some FROM lake.shop_orders WHERE dt = {run_date}",
            "true",
        ),
        (
            "SELECT count(*) > 0 AS some FROM marts.search_top WHERE dt = {run_date}",
            "true",
        ),
    ] {
        let run = daybook(&["query", "--root", &root, sql, "--date", "2026-11-21"]);
        let out = text(&run.stdout);
        assert!(run.status.success(), "{sql}: {}", text(&run.stderr));
        assert!(out.contains(&format!("| {expected}")), "{sql}: {out}");
    }
}
