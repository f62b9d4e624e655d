//! Microsoft Teams: the report as an Adaptive Card posted to a Workflows webhook (the
//! "Post to a channel when a webhook request is received" flow that replaced Office 365
//! connectors). The flow takes a message whose attachments hold the card
//! (`application/vnd.microsoft.card.adaptive`); Teams shows cards up to version 1.5 and answers
//! 202 Accepted. Teams gets approval as links to the approval page (GET shows, POST decides).

use super::{Post, Refusal, refusal_of};
use daybook_core::ports::{Web, WebRequest};
use serde_json::{Value, json};

/// The card schema version used: the highest Teams renders.
pub const CARD_VERSION: &str = "1.5";

fn text(text: &str, extra: Value) -> Value {
    let mut block = json!({"type": "TextBlock", "text": text, "wrap": true});
    if let (Some(block), Some(extra)) = (block.as_object_mut(), extra.as_object()) {
        block.extend(extra.clone());
    }
    block
}

/// Adaptive Card text is Markdown: the report's own words are shown as they are written.
fn plain(words: &str) -> String {
    let mut out = String::with_capacity(words.len());
    for c in words.chars() {
        if "\\*_[]()#>`~|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The card: title, date, summary, numbers as facts, what needs a look, then links (and, for
/// an approval, the approval page's links for each approver).
pub fn card(post: &Post, approval_links: &[(String, String)]) -> Value {
    let mut body = vec![
        text(
            &plain(&post.title),
            json!({"size": "Large", "weight": "Bolder"}),
        ),
        text(
            &plain(&format!(
                "{} · {}",
                post.date_shown,
                post.approved
                    .clone()
                    .unwrap_or_else(|| post.against.clone())
            )),
            json!({"isSubtle": true, "spacing": "None"}),
        ),
        text(&plain(&post.summary), json!({"weight": "Bolder"})),
    ];
    if !post.numbers.is_empty() {
        let facts: Vec<Value> = post
            .numbers
            .iter()
            .map(|n| {
                let moved = n.moved.as_deref().unwrap_or("");
                json!({"title": n.label, "value": format!("{}  {moved}", n.text).trim_end()})
            })
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    if !post.needs_a_look.is_empty() {
        body.push(text(
            "**Needs a look**",
            json!({"color": "Warning", "spacing": "Medium"}),
        ));
        for line in &post.needs_a_look {
            body.push(text(
                &format!("- {}", plain(line)),
                json!({"spacing": "None"}),
            ));
        }
    }
    let mut actions = Vec::new();
    for (label, url) in std::iter::once(("Full report", Some(&post.report_url)))
        .chain(std::iter::once(("Workbook", post.workbook_url.as_ref())))
    {
        match url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                actions.push(json!({"type": "Action.OpenUrl", "title": label, "url": url}));
            }
            // A file on this machine (a local run): shown, as a card opens only web links.
            Some(url) => body.push(text(
                &plain(&format!("{label}: {url}")),
                json!({"isSubtle": true, "spacing": "None"}),
            )),
            None => {}
        }
    }
    for (approver, url) in approval_links {
        actions.push(
            json!({"type": "Action.OpenUrl", "title": format!("Decide as {approver}"), "url": url}),
        );
    }
    json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
        "actions": actions,
    })
}

/// The message a Workflows webhook takes: one attachment, the card.
pub fn message(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }]
    })
}

/// Posts the card; the flow answers 202 (200 from some tenants) when it took it.
pub async fn post_card(
    web: &dyn Web,
    url: &str,
    url_secret: &str,
    card: Value,
) -> Result<(), Refusal> {
    let response = web
        .post(WebRequest {
            url: url.to_string(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&message(card)).expect("JSON serialises"),
        })
        .await
        .map_err(|e| {
            Refusal::from(e).with_context(&format!("Teams workflow of secret {url_secret}"))
        })?;
    if response.status == 200 || response.status == 202 {
        return Ok(());
    }
    Err(refusal_of(
        &format!("Teams workflow {}", daybook_core::ports::shown_url(url)),
        &response,
        &format!(
            "the workflow's URL in secret {url_secret} may be wrong, turned off or deleted: copy it again from the flow's trigger"
        ),
    ))
}
