//! What every short form of the report says, read once from the built report.

use crate::Result;
use crate::artifacts::ReportArtifacts;
use crate::model::data::ReportData;
use daybook_core::store::ObjectStore;
use serde::Serialize;

/// A headline number as a chat message shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostNumber {
    /// The query's column.
    pub name: String,
    pub label: String,
    pub text: String,
    /// Its move, against the same weekday a week before (else the day before): `▼ 1.1%`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<String>,
    /// 1 good news, -1 bad, 0 neither.
    pub tone: i8,
    /// 1 unusually high, -1 unusually low for the weekday, 0 neither.
    pub unusual: i8,
}

/// The report in short, with links to the whole of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Post {
    pub report: String,
    pub title: String,
    pub job_id: String,
    pub date: chrono::NaiveDate,
    /// The date with its weekday, as the report's locale writes it.
    pub date_shown: String,
    /// The summary line (the email's `{summary}`).
    pub summary: String,
    /// What the moves compare with: "moves vs last Sunday".
    pub against: String,
    pub numbers: Vec<PostNumber>,
    /// Unusual numbers, then problems, each a sentence.
    pub needs_a_look: Vec<String>,
    pub report_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workbook_url: Option<String>,
    /// SHA-256 of the report's files: what was approved, and what this post stands for.
    pub report_sha256: String,
    /// Who approved, in words ("Approved by ana@example.com at 08:02 UTC"), if anyone did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<String>,
    /// The report's first chart, as a picture to upload where the service takes one.
    #[serde(skip)]
    pub chart: Option<PostChart>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PostChart {
    pub name: String,
    pub alt: String,
    pub png: Vec<u8>,
}

/// The numbers a chat shows: its headline numbers, the summary's first, at most this many
/// (a Slack section takes ten fields).
pub const MOST_NUMBERS: usize = 10;

/// Reads the built report and makes its short form. Links live `link_hours`, as the email's.
pub async fn post_of(
    store: &dyn ObjectStore,
    artifacts: &ReportArtifacts,
    job_id: &str,
    link_hours: u32,
    report_sha256: &str,
    approved: Option<String>,
) -> Result<Post> {
    let data: ReportData =
        serde_json::from_slice(&store.get(&artifacts.data_key).await?).map_err(|e| {
            crate::ReportError::Render {
                what: format!("the report data {}", store.location(&artifacts.data_key)),
                message: e.to_string(),
            }
        })?;
    let numbers = data
        .tiles()
        .into_iter()
        .take(MOST_NUMBERS)
        .map(|tile| {
            let moved = tile.shown.week.as_ref().or(tile.shown.day.as_ref());
            PostNumber {
                moved: moved.map(|d| d.text.clone()),
                tone: moved.map_or(0, |d| d.tone),
                unusual: tile.unusual,
                name: tile.shown.name,
                label: tile.shown.label,
                text: tile.shown.text,
            }
        })
        .collect();
    let needs_a_look = data
        .unusual()
        .into_iter()
        .map(|u| u.text)
        .chain(data.problems())
        .collect();
    let expiry = std::time::Duration::from_secs(u64::from(link_hours) * 3600);
    let report_url = store.share_link(&artifacts.html_key, expiry).await?;
    let workbook_url = Some(store.share_link(&artifacts.xlsx_key, expiry).await?);
    let chart = match artifacts.pictures.first() {
        Some(picture) => Some(PostChart {
            name: picture.name.clone(),
            alt: picture.alt.clone(),
            png: store
                .get(&format!("{}{}", artifacts.prefix, picture.name))
                .await?,
        }),
        None => None,
    };
    Ok(Post {
        report: artifacts.name.clone(),
        title: artifacts.title.clone(),
        job_id: job_id.to_string(),
        date: data.date,
        date_shown: data.conventions().locale.weekday_date(data.date),
        summary: data.summary_line(),
        against: data.summary_against(),
        numbers,
        needs_a_look,
        report_url,
        workbook_url,
        report_sha256: report_sha256.to_string(),
        approved,
        chart,
    })
}

impl Post {
    /// The line under the title: the date, then who approved (or what the moves compare
    /// with, when a number moved).
    pub fn byline(&self) -> String {
        let moved = self.numbers.iter().any(|n| n.moved.is_some());
        match (&self.approved, moved) {
            (Some(approved), _) => format!("{} · {approved}", self.date_shown),
            (None, true) => format!("{} · {}", self.date_shown, self.against),
            (None, false) => self.date_shown.clone(),
        }
    }

    /// One line for a notification or a card's summary: `Daily — Sun 2026-12-06: Revenue …`.
    pub fn headline(&self) -> String {
        crate::model::summary::subject(
            "{title} — {date}: {summary}",
            &self.title,
            &self.date_shown,
            &self.summary,
        )
    }
}
