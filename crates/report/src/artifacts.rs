//! What a built report is (its files in the lake and a summary), and the message made from
//! them: the one thing build, approval and send share. It knows the renderers and the model,
//! never the steps.

use crate::Result;
use crate::render::mime::{Attachment, Email, XLSX_MIME};
use daybook_core::config::EmailConfig;
use daybook_core::ports::Envelope;
use daybook_core::steps::JobContext;
use daybook_core::store::ObjectStore;
use serde::{Deserialize, Serialize};

/// Where the built report is, and a summary for the approval email and the run record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportArtifacts {
    pub name: String,
    pub title: String,
    pub prefix: String,
    /// The full report for a browser, its pictures beside it.
    pub html_key: String,
    /// The email's HTML part: pictures by Content-ID, links as placeholders.
    pub email_html_key: String,
    pub text_key: String,
    pub xlsx_key: String,
    pub data_key: String,
    /// The chart pictures, stored beside the report (`<prefix><name>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pictures: Vec<crate::render::pictures::Picture>,
    /// False when the workbook is too large for the message and goes as a link.
    pub workbook_attached: bool,
    pub workbook_bytes: u64,
    /// The report in one line (`Revenue $25,108.93 ▲ 3.2% · 1 needs a look`): the subject's
    /// `{summary}`.
    #[serde(default)]
    pub summary: String,
    /// The report's date with its weekday, as its locale writes it (`Sun 2026-12-06`): the
    /// subject's `{date}`.
    #[serde(default)]
    pub date_shown: String,
    pub sections: Vec<SectionSummary>,
    /// Whether the report is sent (its `send_when`), and why: the state machine reads
    /// `send.wanted`.
    #[serde(default)]
    pub send: crate::model::send_when::SendDecision,
}

impl ReportArtifacts {
    /// Every file of the report in the lake: email HTML, text, full HTML, workbook, data, then
    /// the pictures.
    pub fn stored_keys(&self) -> Vec<String> {
        let mut keys = vec![
            self.email_html_key.clone(),
            self.text_key.clone(),
            self.html_key.clone(),
            self.xlsx_key.clone(),
            self.data_key.clone(),
        ];
        keys.extend(
            self.pictures
                .iter()
                .map(|p| format!("{}{}", self.prefix, p.name)),
        );
        keys
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionSummary {
    pub title: String,
    pub rows: usize,
}

impl ReportArtifacts {
    /// The subject of the report's email from `template` (`{title}`, `{date}`, `{summary}`).
    pub fn subject(&self, template: &str, date: chrono::NaiveDate) -> String {
        let shown = if self.date_shown.is_empty() {
            date.to_string()
        } else {
            self.date_shown.clone()
        };
        crate::model::summary::subject(template, &self.title, &shown, &self.summary)
    }
}

/// The envelope of a report's messages: from, the configuration set, and tags naming the
/// report and job. SES tag names and values allow only ASCII letters, digits, `_` and `-`, at
/// most 256 (SESv2 API reference, MessageTag): anything else becomes `_`, so a job id with a
/// `.` is still sent.
pub fn envelope(email: &EmailConfig, report: &str, job_id: &str) -> Envelope {
    let clean = |v: &str| -> String {
        v.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .take(256)
            .collect()
    };
    let mut tags: Vec<(String, String)> = email
        .tags
        .iter()
        .map(|(k, v)| (clean(k), clean(v)))
        .collect();
    tags.push(("daybook_report".into(), clean(report)));
    tags.push(("daybook_job".into(), clean(job_id)));
    Envelope {
        from: email.from.clone(),
        to: vec![],
        configuration_set: email.configuration_set.clone(),
        tags,
    }
}

/// What differs between the report's messages: the approval preview and the sent report.
pub struct Framing<'a> {
    pub subject: String,
    pub to: &'a [String],
    pub cc: &'a [String],
    /// Put at [`crate::render::html::BANNER`].
    pub banner_html: String,
    /// Put before the text part.
    pub banner_text: String,
}

/// The report's message, built once per framing: every recipient gets these bytes, addressed
/// by the envelope. The links in it are made here, so that their life starts when it is sent.
pub async fn build_message(
    store: &dyn ObjectStore,
    job: &JobContext,
    artifacts: &ReportArtifacts,
    email: &EmailConfig,
    framing: Framing<'_>,
) -> Result<Vec<u8>> {
    let html = String::from_utf8_lossy(&store.get(&artifacts.email_html_key).await?).replacen(
        crate::render::html::BANNER,
        &framing.banner_html,
        1,
    );
    let text = format!(
        "{}{}",
        framing.banner_text,
        String::from_utf8_lossy(&store.get(&artifacts.text_key).await?)
    );
    let expiry = std::time::Duration::from_secs(u64::from(email.link_expiry_hours) * 3600);
    let report_link = store.share_link(&artifacts.html_key, expiry).await?;
    let workbook_link = if artifacts.workbook_attached {
        None
    } else {
        Some(store.share_link(&artifacts.xlsx_key, expiry).await?)
    };
    let fill = |body: &str, escape: bool| {
        let put = |link: &str| {
            if escape {
                link.replace('&', "&amp;").replace('"', "&quot;")
            } else {
                link.to_string()
            }
        };
        let body = body.replace(crate::render::html::FULL_REPORT_LINK, &put(&report_link));
        match &workbook_link {
            Some(link) => body.replace(crate::render::html::WORKBOOK_LINK, &put(link)),
            None => body,
        }
    };
    let (html, text) = (fill(&html, true), fill(&text, false));
    let mut inline = Vec::new();
    for picture in &artifacts.pictures {
        inline.push(crate::render::mime::Inline {
            content_id: picture.content_id(),
            content_type: "image/png".into(),
            bytes: store
                .get(&format!("{}{}", artifacts.prefix, picture.name))
                .await?,
        });
    }
    let mut attachments = Vec::new();
    if artifacts.workbook_attached {
        attachments.push(Attachment {
            name: format!("{}-{}.xlsx", artifacts.name, job.date),
            content_type: XLSX_MIME.into(),
            bytes: store.get(&artifacts.xlsx_key).await?,
        });
    }
    crate::render::mime::build(Email {
        from: &email.from,
        to: framing.to,
        cc: framing.cc,
        subject: &framing.subject,
        text: &text,
        html: &html,
        inline,
        attachments,
        job_id: &job.job_id,
    })
}
