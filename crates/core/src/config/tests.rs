use super::*;

/// A subject of `"{title}\r\nBcc: evil@example.com"` would send a real Bcc header.
#[test]
fn header_bound_fields_with_control_characters_are_refused_at_start() {
    let mut email = EmailConfig::new(
        "reports@daybook.example",
        &["a@x.example"],
        &["b@x.example"],
    );
    email.subject = "{title}\r\nBcc: evil@example.com".into();
    let refused = check_header_fields(&email, "Daily");
    assert!(refused.unwrap_err().contains("email.subject"));
    email.subject = "{title} for {date}".into();
    assert!(
        check_header_fields(&email, "Daily\n\nfake body")
            .unwrap_err()
            .contains("report.title")
    );
    for from in [
        "Reports <reports@daybook.example>",
        "evil",
        "a@b.example, c@d.example",
    ] {
        email.from = from.into();
        assert!(
            check_header_fields(&email, "Daily")
                .unwrap_err()
                .contains("email.from"),
            "{from}"
        );
    }
    email.from = "reports@daybook.example".into();
    assert!(check_header_fields(&email, "Daily").is_ok());
}

#[test]
fn a_chart_without_what_its_kind_needs_is_refused_in_words() {
    let mut chart = ChartSpec::bar("carrier", "deliveries");
    assert!(chart.check().is_ok());
    chart.kind = ChartKind::StackedBar;
    assert!(chart.check().unwrap_err().contains("`series`"));
    chart.kind = ChartKind::Quadrant;
    assert!(chart.check().unwrap_err().contains("`x`"));
    chart.kind = ChartKind::Line;
    chart.days = Some(1);
    assert!(chart.check().unwrap_err().contains("between 2 and 366"));
}

#[test]
fn a_trend_binds_its_first_day() {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    assert_eq!(
        bind_section_dates("dt BETWEEN {first_date} AND {run_date}", date, Some(28)),
        "dt BETWEEN DATE '2026-10-25' AND DATE '2026-11-21'"
    );
    assert_eq!(
        bind_section_dates("{first_date}", date, None),
        "DATE '2026-11-21'"
    );
}

#[test]
fn every_recipient_once_in_to_cc_bcc_order() {
    let mut email = EmailConfig::new("r@x.example", &["a@x.example", "B@x.example"], &[]);
    email.cc = vec!["b@x.example".into(), "c@x.example".into()];
    email.bcc = vec!["d@x.example".into()];
    assert_eq!(
        email.recipients(),
        ["a@x.example", "B@x.example", "c@x.example", "d@x.example"]
    );
}

/// Approvers decide who gets the report, so they see everyone; a Bcc address says it is hidden
/// from the other recipients, who see only To and Cc.
#[test]
fn approvers_see_every_recipient_with_bcc_marked() {
    let mut email = EmailConfig::new("reports@daybook.example", &["a@x.example"], &[]);
    email.cc = vec!["c@x.example".into()];
    email.bcc = vec!["b@x.example".into(), "A@x.example".into()];
    assert_eq!(
        email.recipients_for_approvers(),
        [
            "a@x.example",
            "c@x.example",
            "b@x.example (Bcc: hidden from the other recipients)"
        ]
    );
}

#[test]
fn a_private_column_may_not_be_drawn_by_a_chart() {
    let section: ReportSection = serde_json::from_value(serde_json::json!({
        "title": "Top customers",
        "sql": "SELECT email, orders FROM marts.customers",
        "chart": { "category": "email", "value": "orders" },
        "columns": { "email": { "private": true } }
    }))
    .unwrap();
    let refused = section.check_private().unwrap_err();
    assert!(refused.contains("\"email\" is private"), "{refused}");
    let mut table_only = section.clone();
    table_only.chart = None;
    assert!(table_only.check_private().is_ok());
    assert_eq!(
        masked(&serde_json::json!("kim@example.com")),
        serde_json::json!("k•••")
    );
    assert_eq!(masked(&serde_json::json!(42)), serde_json::json!("•••"));
}

#[test]
fn a_sections_history_names_a_table_of_the_warehouse_and_a_span_of_days() {
    let history = |table: &str, days: u32| SectionHistory {
        table: table.into(),
        days,
    };
    assert!(history("lake.segment_pages", 30).check().is_ok());
    assert!(history("marts.active_users", 7).check().is_ok());
    for (table, days) in [
        ("segment_pages", 30),
        ("lake.pages; DROP TABLE x", 30),
        ("other.pages", 30),
        ("lake.segment_pages", 1),
        ("lake.segment_pages", 400),
    ] {
        assert!(history(table, days).check().is_err(), "{table} {days}");
    }
}

#[test]
fn a_date_reads_with_its_weekday_as_its_locale_writes_it() {
    use super::Locale;
    let sunday = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
    assert_eq!(Locale::Iso.weekday_date(sunday), "Sun 2026-12-06");
    assert_eq!(Locale::EnUs.weekday_date(sunday), "Sun, Dec 6, 2026");
    assert_eq!(Locale::KoKr.weekday_date(sunday), "2026. 12. 6. (일)");
    assert_eq!(Locale::DeDe.weekday_date(sunday), "So., 06.12.2026");
    assert_eq!(Locale::KoKr.weekday(sunday), "일요일");
    assert_eq!(Locale::Iso.weekday(sunday), "Sunday");
}
