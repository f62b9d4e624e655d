//! Optional crawler mode of the Glue catalog: after daybook has pointed its partitions, a
//! crawler of the operator's (over datasets daybook does not write, or with their own
//! classifiers) runs to completion before the marts read the catalog.

use crate::sdk::{classified, describe};
use aws_sdk_glue::Client;
use aws_sdk_glue::types::{CrawlerState, LastCrawlStatus};
use daybook_core::ports::PortError;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct CrawlerRun {
    pub name: String,
    pub poll_every: Duration,
    /// How long the crawl may take before the load step gives up on it.
    pub deadline: Duration,
}

impl CrawlerRun {
    pub fn new(name: impl Into<String>, deadline: Duration) -> Self {
        Self {
            name: name.into(),
            poll_every: Duration::from_secs(10),
            deadline,
        }
    }

    /// Starts the crawler (or joins the crawl already running) and waits for it to be ready,
    /// with its last crawl succeeded.
    pub async fn run(&self, client: &Client) -> Result<(), PortError> {
        let fail = |what: &str, why: String| {
            PortError::new(format!("Glue crawler {}: {what}: {why}", self.name))
        };
        let started = Instant::now();
        let mut ours = false;
        loop {
            if !ours {
                match client.start_crawler().name(&self.name).send().await {
                    Ok(_) => ours = true,
                    // Someone else's crawl is running: wait for it, then start ours, which
                    // sees the partitions this run registered.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_crawler_running_exception()) => {}
                    Err(e) => return Err(classified(fail("starting", describe(&e)), &e)),
                }
            }
            let crawler = client
                .get_crawler()
                .name(&self.name)
                .send()
                .await
                .map_err(|e| classified(fail("reading its state", describe(&e)), &e))?
                .crawler
                .ok_or_else(|| fail("reading its state", "Glue returned no crawler".into()))?;
            if ours && crawler.state() == Some(&CrawlerState::Ready) {
                let last = crawler.last_crawl();
                return match last.and_then(|l| l.status()) {
                    Some(LastCrawlStatus::Failed) | Some(LastCrawlStatus::Cancelled) => Err(fail(
                        "the crawl did not succeed",
                        last.and_then(|l| l.error_message())
                            .unwrap_or("no error message; see the crawler's log in CloudWatch")
                            .to_string(),
                    )),
                    _ => Ok(()),
                };
            }
            if started.elapsed() >= self.deadline {
                return Err(fail(
                    "still running",
                    format!(
                        "gave up after {} s, before building any mart; raise GLUE_CRAWLER_TIMEOUT_SECONDS or make the crawl smaller",
                        self.deadline.as_secs_f64()
                    ),
                ));
            }
            tokio::time::sleep(self.poll_every).await;
        }
    }
}
