//! Optional crawler mode of the Glue catalog: after daybook has pointed its partitions, a
//! crawler of the operator's (over datasets daybook does not write, or with their own
//! classifiers) runs to completion before the marts read the catalog. The state machine waits
//! for it (a Wait/Choice loop around `poll`); no function sleeps on it.

use crate::sdk::{classified, describe};
use aws_sdk_glue::Client;
use aws_sdk_glue::types::{CrawlerState, LastCrawlStatus};
use daybook_core::ports::{PortError, Refresh};
use std::time::Duration;

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

    fn fail(&self, what: &str, why: String) -> PortError {
        PortError::new(format!("Glue crawler {}: {what}: {why}", self.name))
    }

    /// Starts the crawler, or, when someone else's crawl is running, notes that ours is still
    /// to start (the next look starts it once that crawl ends).
    pub async fn start(&self, client: &Client) -> Result<Refresh, PortError> {
        let deadline = chrono::Duration::from_std(self.deadline)
            .map_err(|e| self.fail("reading its timeout", e.to_string()))?;
        let mut refresh = Refresh {
            name: self.name.clone(),
            started: false,
            deadline: chrono::Utc::now() + deadline,
            poll_seconds: self.poll_every.as_secs_f64().ceil().max(1.0) as u64,
        };
        self.try_start(client, &mut refresh).await?;
        Ok(refresh)
    }

    async fn try_start(&self, client: &Client, refresh: &mut Refresh) -> Result<(), PortError> {
        match client.start_crawler().name(&self.name).send().await {
            Ok(_) => refresh.started = true,
            // Someone else's crawl is running: ours starts when it ends, and then sees the
            // partitions this run registered.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_crawler_running_exception()) => {}
            Err(e) => return Err(classified(self.fail("starting", describe(&e)), &e)),
        }
        Ok(())
    }

    /// One look at the crawl: `None` once ours has finished well, the refresh (updated) while
    /// it runs; an error if it failed, was cancelled, or is still running at the deadline.
    pub async fn poll(
        &self,
        client: &Client,
        refresh: &Refresh,
    ) -> Result<Option<Refresh>, PortError> {
        let mut refresh = refresh.clone();
        if !refresh.started {
            self.try_start(client, &mut refresh).await?;
        }
        if refresh.started {
            let crawler = client
                .get_crawler()
                .name(&self.name)
                .send()
                .await
                .map_err(|e| classified(self.fail("reading its state", describe(&e)), &e))?
                .crawler
                .ok_or_else(|| self.fail("reading its state", "Glue returned no crawler".into()))?;
            if crawler.state() == Some(&CrawlerState::Ready) {
                let last = crawler.last_crawl();
                return match last.and_then(|l| l.status()) {
                    Some(LastCrawlStatus::Failed) | Some(LastCrawlStatus::Cancelled) => Err(self
                        .fail(
                            "the crawl did not succeed",
                            last.and_then(|l| l.error_message())
                                .unwrap_or("no error message; see the crawler's log in CloudWatch")
                                .to_string(),
                        )),
                    _ => Ok(None),
                };
            }
        }
        if chrono::Utc::now() >= refresh.deadline {
            return Err(self.fail(
                "still running",
                format!(
                    "gave up after {} s, before building any mart; raise GlueCrawlerTimeoutSeconds (at most 720) or make the crawl smaller",
                    self.deadline.as_secs_f64()
                ),
            ));
        }
        Ok(Some(refresh))
    }
}
