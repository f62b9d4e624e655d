//! How a reader goes through the report: which rows a cut keeps, what data quality lists, and
//! what colour a move is.

use super::*;
use crate::model::data::SectionData;

#[test]
fn a_trend_cut_to_fit_the_email_keeps_its_latest_days_and_data_quality_lists_only_what_failed() {
    use crate::model::data::SectionKind;
    use daybook_core::config::ChartKind;
    // Thirty days, oldest first, as a trend's SQL orders them: more than the email shows.
    let days: Vec<Vec<Value>> = (1..=30)
        .map(|d| vec![json!(format!("2026-11-{d:02}")), json!(100 + d)])
        .collect();
    let mut trend = SectionData::new("Sales over 30 days", result(&["day", "orders"], days));
    let mut line = ChartSpec::bar("day", "orders");
    line.kind = ChartKind::Line;
    trend.chart = Some(line);
    let mut checks = SectionData::new(
        "Data quality",
        result(
            &["status", "table", "check", "detail"],
            vec![
                vec![
                    json!("FAILED"),
                    json!("orders"),
                    json!("volume"),
                    json!("3 rows"),
                ],
                vec![
                    json!("ok"),
                    json!("orders"),
                    json!("freshness"),
                    json!("fresh"),
                ],
            ],
        ),
    );
    checks.kind = SectionKind::Checks;
    let mut passed = checks.clone();
    passed.result.rows.remove(0);
    let data = report(vec![trend, checks]);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    let text = crate::render::text::render_text(&data, true);
    for shown in [&html, &text] {
        assert!(shown.contains("2026-11-30"), "yesterday is shown");
        assert!(
            !shown.contains("2026-11-01"),
            "the oldest day is the one cut"
        );
        assert!(shown.contains("FAILED") && !shown.contains("freshness"));
    }
    assert!(html.contains("Showing the latest 25 of 30 rows"), "{html}");
    assert!(
        html.find("2026-11-30").unwrap() < html.find("2026-11-29").unwrap(),
        "newest first"
    );
    let all_passed = report(vec![passed]);
    let html = crate::render::html::render_email(&all_passed, &[], true).unwrap();
    assert!(html.contains("Every check passed") && !html.contains("freshness"));
    let text = crate::render::text::render_text(&all_passed, true);
    assert!(text.contains("Every check passed") && !text.contains("freshness"));
}

#[test]
fn a_move_is_coloured_by_whether_it_is_good_news_and_small_or_unmoved_numbers_are_grey() {
    use crate::model::display::{columns, delta};
    let mut section = SectionData::new(
        "Headline figures",
        result(
            &["orders", "zero_result_rate", "units", "queries"],
            vec![vec![json!(1200), json!(0.020), json!(57), json!(5000)]],
        ),
    );
    section.columns.insert(
        "zero_result_rate".into(),
        ColumnDisplay {
            label: None,
            format: None,
            higher_is_better: Some(false),
            private: false,
        },
    );
    let before = result(
        &["orders", "zero_result_rate", "units", "queries"],
        vec![vec![json!(1000), json!(0.025), json!(28), json!(4999)]],
    );
    let views = columns(&section, Default::default());
    let moved = |column| delta(&section, &views, 0, column, &before).unwrap();
    // More orders: up and good. A falling zero-result rate: down, and good news.
    assert_eq!((moved(0).direction, moved(0).tone), (1, 1));
    assert_eq!((moved(1).direction, moved(1).tone), (-1, 1));
    assert_eq!(moved(1).text, "▼ 0.5 pt");
    // 28 to 57 units: a big share of a small count, shown but neither good nor bad.
    assert_eq!(moved(2).text, "▲ 103.6%");
    assert_eq!((moved(2).direction, moved(2).tone), (1, 0));
    // 4,999 to 5,000 reads 0.0%: unchanged, not a green arrow.
    assert_eq!(moved(3).text, "= 0.0%");
    assert_eq!(moved(3).tone, 0);
}

/// Revenue 2,000 where the last five Saturdays made 4,800 to 5,200: unusual, and bad news.
fn sales_with_history(revenue: f64) -> SectionData {
    let row = |revenue: f64, orders: i64| vec![json!(revenue), json!(orders)];
    let mut sales = SectionData::new(
        "Yesterday's sales",
        result(&["revenue", "orders"], vec![row(revenue, 412)]),
    );
    sales.headline = true;
    sales.unusual = Some(daybook_core::config::UnusualRule::default());
    sales.same_weekdays = [5000.0, 4800.0, 5200.0, 5100.0, 4900.0]
        .iter()
        .map(|&r| result(&["revenue", "orders"], vec![row(r, 400)]))
        .collect();
    sales.previous_week = sales.same_weekdays.first().cloned();
    sales.columns.insert(
        "revenue".into(),
        ColumnDisplay {
            format: Some(ValueFormat::Money),
            ..Default::default()
        },
    );
    sales
}

#[test]
fn the_first_lines_say_what_happened_and_an_unusual_number_is_listed_before_the_problems() {
    let mut failed = SectionData::new("Broken", result(&["x"], vec![]));
    failed.error = Some("no such table".into());
    let mut search = headline();
    search.headline = true;
    let mut data = report(vec![sales_with_history(2000.0), search, failed]);
    data.summary = vec!["revenue".into(), "orders".into()];
    // The summary's revenue is the first headline section's, not the other one's; its move is
    // against the Saturday before (5,000).
    assert_eq!(
        data.summary_line(),
        "Revenue $2,000.00 ▼ 60.0% · Orders 412 ▲ 3.0% · 2 need a look"
    );
    let unusual = data.unusual();
    assert_eq!(unusual.len(), 1, "{unusual:?}");
    assert_eq!(
        unusual[0].text,
        "Revenue is unusually low for a Saturday: $2,000.00, where the last 5 Saturdays ran $4,800.00 to $5,200.00 (median $5,000.00)."
    );
    assert_eq!(unusual[0].tone, -1);
    let html = crate::render::html::render_email(&data, &[], true).unwrap();
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("the email lacks {needle}"))
    };
    assert!(at("daybook · Sat 2026-11-21") < at("need a look"));
    assert!(at("Unusual for a Saturday") < at("This report has 1 problem"));
    assert!(at("unusually low") < at("Broken"));
    // The tiles open with the summary's numbers, in its order.
    let tiles = data.tiles();
    assert_eq!(tiles[0].shown.name, "revenue");
    assert_eq!(tiles[1].shown.name, "orders");
    assert_eq!(tiles[2].shown.name, "queries");
    // The revenue's sparkline: the five Saturdays before, oldest first (4,900, 5,100, 5,200,
    // 4,800, 5,000), then today's 2,000, each 3 px + 21 px × its share of 2,000 to 5,200.
    assert_eq!(tiles[0].spark, vec![22, 23, 24, 21, 23, 3]);
    assert!(html.contains("The last 5 Saturdays and today: $2,000.00 to $5,200.00"));
    assert_eq!((tiles[0].unusual, tiles[1].unusual), (-1, 0));
    let text = crate::render::text::render_text(&data, true);
    assert!(text.starts_with(
        "Daily — Sat 2026-11-21\nRevenue $2,000.00 ▼ 60.0% · Orders 412 ▲ 3.0% · 2 need a look (moves vs last Saturday)\n"
    ), "{text}");
    assert!(text.contains("Unusual for a Saturday:\n  * Revenue is unusually low"));
}

#[test]
fn a_usual_day_says_nothing_is_unusual_and_a_subject_without_a_summary_ends_cleanly() {
    let mut data = report(vec![sales_with_history(5050.0)]);
    data.summary = vec!["revenue".into()];
    assert!(data.unusual().is_empty());
    assert_eq!(
        data.summary_line(),
        "Revenue $5,050.00 ▲ 1.0% · nothing unusual"
    );
    use crate::model::summary::subject;
    assert_eq!(
        subject(
            "{title} — {date}: {summary}",
            "Daily",
            "Sat 2026-11-21",
            "Revenue $5,050.00 ▲ 1.0% · nothing unusual"
        ),
        "Daily — Sat 2026-11-21: Revenue $5,050.00 ▲ 1.0% · nothing unusual"
    );
    assert_eq!(
        subject("{title} — {date}: {summary}", "Daily", "Sat 2026-11-21", ""),
        "Daily — Sat 2026-11-21"
    );
}

/// The workbook's charts read as the email's: a rate axis in percent, every bar named, and a
/// quadrant chart whose dots are named and coloured by quadrant, with the median lines.
#[test]
fn the_workbook_charts_use_the_columns_formats_and_name_every_bar_and_dot() {
    use daybook_core::config::ChartKind;
    let mut late = SectionData::new(
        "Late deliveries",
        result(
            &["carrier", "late_rate"],
            (0..20)
                .map(|i| vec![json!(format!("carrier {i}")), json!(0.02 * f64::from(i))])
                .collect(),
        ),
    );
    late.chart = chart("carrier", "late_rate");
    let mut portfolio = SectionData::new(
        "Product portfolio",
        result(
            &["category", "units", "avg_unit_price"],
            ["Children", "Comics", "Travel", "Poetry"]
                .iter()
                .zip([(2127, 23.17), (1175, 20.30), (1338, 17.85), (1058, 19.53)])
                .map(|(c, (u, p))| vec![json!(c), json!(u), json!(p)])
                .collect(),
        ),
    );
    let mut quadrant = ChartSpec::bar("category", "avg_unit_price");
    quadrant.kind = ChartKind::Quadrant;
    quadrant.x = Some("units".into());
    portfolio.chart = Some(quadrant);
    let data = report(vec![late, portfolio]);
    let parts = workbook_parts(&crate::render::xlsx::render_workbook(&data).unwrap());
    let chart = |n: usize| {
        parts
            .iter()
            .find(|(name, _)| name == &format!("xl/charts/chart{n}.xml"))
            .map(|(_, xml)| xml.clone())
            .unwrap()
    };
    let bars = chart(1);
    assert!(
        bars.contains(r#"formatCode="0.0%""#),
        "the rate axis reads in percent"
    );
    // Every bar is named when each has a line of the axis: Excel's 288 px hold about ten.
    let drawing = parts
        .iter()
        .find(|(name, _)| name == "xl/drawings/drawing1.xml")
        .map(|(_, xml)| xml.clone())
        .unwrap();
    // The chart spans rows of 20 px from its first to its last (a two-cell anchor).
    let rows: Vec<u32> = drawing
        .split("<xdr:row>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next()?.parse().ok())
        .collect();
    let height = (rows[1] - rows[0]) * 20;
    assert!(height >= 20 * 22, "20 bars get {height} px");
    let dots = chart(2);
    assert_eq!(
        dots.matches("<c:ser>").count(),
        4 + 2,
        "a series per dot, two median lines"
    );
    for name in ["Children", "Comics", "Travel", "Poetry"] {
        assert!(
            dots.contains(&format!("<a:t>{name}</a:t>")),
            "{name} labelled"
        );
    }
    for colour in ["2563EB", "9333EA", "16A34A", "EA580C"] {
        assert!(dots.contains(colour), "quadrant colour {colour}");
    }
}
