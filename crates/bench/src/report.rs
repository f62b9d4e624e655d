//! `daybook-bench report`: renders a built report again (the demo's `report.json`) as the
//! build step does (chart pictures, the email and browser HTML, the text part, the workbook),
//! then a 100,000-row section to a workbook, and prints each time and peak RSS.

use daybook_core::ports::QueryResult;
use daybook_report::{ReportData, SectionData};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Each timing is the best of this many runs after a first, cold one (printed apart: a Lambda
/// pays it once per container).
const RUNS: usize = 5;

pub fn report(data: &Path) -> anyhow::Result<()> {
    let data: ReportData = serde_json::from_slice(&std::fs::read(data)?)?;
    let cold = render(&data)?;
    let mut best = render(&data)?;
    for _ in 1..RUNS {
        let times = render(&data)?;
        for (b, t) in best.iter_mut().zip(times) {
            b.1 = b.1.min(t.1);
        }
    }
    let total: Duration = best.iter().map(|(_, t)| *t).sum();
    let cold_total: Duration = cold.iter().map(|(_, t)| *t).sum();
    println!(
        "report {:?}: {} sections, {} rows",
        data.name,
        data.sections.len(),
        data.sections
            .iter()
            .map(|s| s.result.rows.len())
            .sum::<usize>()
    );
    for (part, time) in &best {
        println!("  {part:<16} {:>8.1} ms", time.as_secs_f64() * 1000.0);
    }
    println!(
        "  {:<16} {:>8.1} ms (best of {RUNS}; the first run, font parsing included: {:.1} ms)",
        "whole report",
        total.as_secs_f64() * 1000.0,
        cold_total.as_secs_f64() * 1000.0
    );

    let rows: Vec<Vec<serde_json::Value>> = (0..100_000)
        .map(|i| {
            vec![
                json!(format!("item {i}")),
                json!(i),
                json!((i % 1000) as f64 / 1000.0),
                json!(i as f64 * 1.25),
                json!(format!("2026-11-{:02}", i % 28 + 1)),
            ]
        })
        .collect();
    let big = ReportData {
        variables: Vec::new(),
        summary: Vec::new(),
        sections: vec![SectionData::new(
            "100,000 rows",
            QueryResult {
                columns: ["item", "count", "zero_result_rate", "revenue", "day"]
                    .map(String::from)
                    .to_vec(),
                rows,
            },
        )],
        ..data
    };
    let started = Instant::now();
    let workbook = daybook_report::render::xlsx::render_workbook(&big)?;
    println!(
        "100,000-row section to xlsx: {:.0} ms, {:.1} MB",
        started.elapsed().as_secs_f64() * 1000.0,
        workbook.len() as f64 / 1e6
    );
    println!(
        "  peak RSS       {:.0} MiB",
        super::peak_rss_kib()? as f64 / 1024.0
    );
    Ok(())
}

fn render(data: &ReportData) -> anyhow::Result<Vec<(&'static str, Duration)>> {
    let mut times = Vec::new();
    let mut timed = |part: &'static str, started: Instant| times.push((part, started.elapsed()));
    let started = Instant::now();
    let pictures = daybook_report::render::pictures::pictures(data);
    let mut bytes = 0;
    for picture in &pictures {
        bytes += daybook_report::render::pictures::draw(data, picture)?.len();
    }
    anyhow::ensure!(bytes > 0 || pictures.is_empty(), "the pictures are empty");
    timed("chart pictures", started);
    let started = Instant::now();
    daybook_report::render::html::render_email(data, &pictures, true)?;
    timed("email HTML", started);
    let started = Instant::now();
    daybook_report::render::html::render_browser(data, &pictures)?;
    timed("browser HTML", started);
    let started = Instant::now();
    daybook_report::render::text::render_text(data, true);
    timed("text part", started);
    let started = Instant::now();
    daybook_report::render::xlsx::render_workbook(data)?;
    timed("workbook", started);
    Ok(times)
}
