use super::*;

/// `on_problem: stop` holds a report with a problem back: the build step fails, naming the
/// problem and where to read the report, and nothing goes on to approval or sending.
#[tokio::test]
async fn a_report_with_a_problem_stops_when_its_definition_says_so() {
    use daybook_core::Classify;
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let mut empty_chart = section(
        "Nothing to chart",
        "SELECT * FROM (VALUES ('a', 0), ('b', 0)) AS t(category, orders)",
    );
    empty_chart.chart = Some(daybook_core::config::ChartSpec::bar("category", "orders"));
    let mut input = build_input(vec![empty_chart]);
    input.report.on_problem = daybook_core::config::OnProblem::Stop;
    let error = build_report(&store, &warehouse, &input, chrono::Utc::now())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), daybook_core::ErrorKind::InvalidInput);
    let message = error.to_string();
    assert!(
        message.contains("Nothing to chart: every orders is 0")
            && message.contains("on_problem is stop")
            && message.contains("report.html"),
        "{message}"
    );
}

/// An analysis is written once, as a workbook beside its query; a second with the same id,
/// and anything but one reading statement, are refused before anything is written.
#[tokio::test]
async fn an_analysis_writes_its_workbook_once_and_refuses_what_is_not_one_query() {
    use daybook_core::Classify;
    use daybook_report::search::{SearchRequest, run_search};
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let warehouse = DataFusionWarehouse::new(dir.path());
    let request = SearchRequest {
        id: "categories".into(),
        sql: "SELECT * FROM (VALUES ('소설', 12), ('History', 7)) AS t(category, orders)".into(),
        title: Some("Orders per category".into()),
        date: None,
    };
    let result = run_search(&store, &warehouse, &request, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(result.rows, 2);
    assert_eq!(result.xlsx_key, "search/categories/result.xlsx");
    let workbook = store.get(&result.xlsx_key).await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(workbook)).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    assert!(strings.contains("소설") && strings.contains("Orders per category"));

    let again = run_search(&store, &warehouse, &request, chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(again.to_string().contains("never overwritten"), "{again}");
    for sql in [
        "DROP TABLE marts.search_top",
        "SELECT 1; DELETE FROM marts.search_top",
    ] {
        let refused = run_search(
            &store,
            &warehouse,
            &SearchRequest {
                id: "other".into(),
                sql: sql.into(),
                title: None,
                date: None,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            refused.kind(),
            daybook_core::ErrorKind::InvalidInput,
            "{sql}"
        );
    }
    assert!(store.list("search/other/").await.unwrap().is_empty());
}

/// Over `max_message_bytes` the workbook goes as a link: no attachment, and the email and its
/// text part say so at the top with the link.
#[tokio::test]
async fn a_workbook_too_large_to_attach_goes_as_a_link() {
    use daybook_core::config::EmailConfig;
    use mail_parser::MessageParser;
    let mut email = EmailConfig::new("reports@daybook.example", &["ana@example.com"], &[]);
    email.max_message_bytes = 10_000;
    let (artifacts, _, eml) = build_and_send(email).await;
    assert!(!artifacts.workbook_attached);
    let message = MessageParser::default().parse(&eml).unwrap();
    assert_eq!(message.attachments().count(), 1, "only the trend picture");
    let html = message.body_html(0).unwrap();
    let text = message.body_text(0).unwrap();
    assert!(
        html.contains("too large to attach") && html.contains("report.xlsx"),
        "{html:.2000}"
    );
    assert!(text.contains("too large to attach") && text.contains("report.xlsx"));
    assert!(!html.contains(daybook_report::render::html::WORKBOOK_LINK));
}
