pub mod approve;
pub mod backfill;
mod cloud;
pub mod demo;
pub mod export;
pub mod flatten;
pub mod generate;
pub mod link_key;
pub mod progress;
pub mod redrive;
pub mod runs;
pub mod serve;
pub mod stack;
pub mod start;
pub mod status;
pub mod warehouse;

/// A day given on the command line, between 1971 and 2999: the generators and the history go
/// back years and the lake's layout forward, and far dates would overflow the calendar.
pub fn run_date(text: &str) -> Result<chrono::NaiveDate, String> {
    let date: chrono::NaiveDate = text
        .parse()
        .map_err(|_| format!("{text:?} is not a date such as 2026-11-21"))?;
    let first = chrono::NaiveDate::from_ymd_opt(1971, 1, 1).expect("a date");
    let last = chrono::NaiveDate::from_ymd_opt(2999, 12, 31).expect("a date");
    if date < first || date > last {
        return Err(format!("{date} is outside 1971-01-01 to 2999-12-31"));
    }
    Ok(date)
}

/// Yesterday in UTC: the day a daily report is about.
pub fn yesterday() -> chrono::NaiveDate {
    chrono::Utc::now()
        .date_naive()
        .pred_opt()
        .expect("today has a yesterday")
}
