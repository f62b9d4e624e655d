//! The SQL a user's config and daybook's marts send to Redshift, held to what Redshift documents
//! it runs. Every other statement (the checks, grants, staging) meets the same rule in the Data
//! API stand-in, which refuses such a statement whenever a test sends one.

use chrono::NaiveDate;
use daybook_core::config::{bind_run_date, bind_section_dates};
use daybook_core::marts::MARTS;
use daybook_tests::redshift_sql::unsupported;

#[test]
fn no_mart_or_report_section_uses_what_redshift_does_not_run() {
    let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let config = daybook_local::demo::demo_config();
    let statements = MARTS
        .iter()
        .map(|(name, sql)| (format!("mart {name}"), bind_run_date(sql, day)))
        .chain(config.report.sections.iter().map(|section| {
            (
                format!("section {:?}", section.title),
                bind_section_dates(&section.sql, day, None),
            )
        }));
    let mut refused = Vec::new();
    let mut checked = 0;
    for (what, sql) in statements {
        checked += 1;
        if let Some(why) = unsupported(&sql) {
            refused.push(format!("{what}: {why}"));
        }
    }
    assert!(checked > 20, "every mart and section is checked: {checked}");
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
