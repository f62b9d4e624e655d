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

/// Yesterday in UTC: the day a daily report is about.
pub fn yesterday() -> chrono::NaiveDate {
    chrono::Utc::now()
        .date_naive()
        .pred_opt()
        .expect("today has a yesterday")
}
