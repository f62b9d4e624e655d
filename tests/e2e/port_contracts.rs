//! One suite per port, run against both of its adapters: what the core relies on must hold on
//! AWS (the adapter against moto) and on a laptop (the embedded adapter) alike. The state
//! store's claims are the exactly-once ledger of sends and the single decision of an approval,
//! so they are tried with many writers at once.

use crate::aws_moto::sdk_config;
use crate::aws_pipeline::{STATE_TABLE, prepare_state_table};
use daybook_aws::DynamoDbStateStore;
use daybook_core::ports::StateStore;
use daybook_local::state::FileStateStore;
use daybook_tests::MotoServer;
use serde_json::json;
use std::sync::Arc;

/// Writers racing for one key in the concurrent cases.
const WRITERS: usize = 16;

/// The contract, on keys below `prefix`. `open` gives another client of the same store (another
/// process locally, another Lambda on AWS).
async fn state_store_contract(open: impl Fn() -> Arc<dyn StateStore>, prefix: &str) {
    let store = open();
    let key = |name: &str| format!("{prefix}/{name}");

    // A claim is made once; a second claim gets the first record back, unchanged.
    let first = json!({ "status": "sending", "attempt": 1 });
    assert_eq!(
        store.put_if_absent(&key("a"), first.clone()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .put_if_absent(&key("a"), json!({ "status": "sending", "attempt": 2 }))
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get(&key("a")).await.unwrap(), Some(first.clone()));
    assert_eq!(store.get(&key("missing")).await.unwrap(), None);

    // A put replaces; a removal happens only while the record is the one expected.
    let sent = json!({ "status": "sent" });
    store.put(&key("a"), sent.clone()).await.unwrap();
    assert!(
        !store.remove_if(&key("a"), &first).await.unwrap(),
        "not the expected record"
    );
    assert_eq!(store.get(&key("a")).await.unwrap(), Some(sent.clone()));
    assert!(store.remove_if(&key("a"), &sent).await.unwrap());
    assert_eq!(store.get(&key("a")).await.unwrap(), None);
    assert!(
        !store.remove_if(&key("a"), &sent).await.unwrap(),
        "already gone"
    );

    // Listing: every record under the prefix, in key order, and nothing beside it.
    for name in ["list/b", "list/a", "list/c"] {
        store
            .put(&key(name), json!({ "name": name }))
            .await
            .unwrap();
    }
    store.put(&key("listed-not"), json!({})).await.unwrap();
    let listed: Vec<String> = store
        .list(&key("list/"))
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(listed, [key("list/a"), key("list/b"), key("list/c")]);

    // Many writers claim one key at once: exactly one wins, and every other is told the
    // winner's record. Each record is large, so a half-written one would show.
    let padding = "x".repeat(256 * 1024);
    let claims: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, key, padding) = (open(), key("claimed"), padding.clone());
            tokio::spawn(async move {
                let mine = json!({ "writer": writer, "padding": padding });
                let answer = store.put_if_absent(&key, mine).await.unwrap();
                (writer, answer)
            })
        })
        .collect();
    let readers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, key) = (open(), key("claimed"));
            tokio::spawn(async move {
                for _ in 0..20 {
                    // A record is read whole or not at all, never as a parse failure.
                    if let Some(record) = store.get(&key).await.unwrap() {
                        assert!(record["writer"].is_u64(), "{}", &record.to_string()[..40]);
                    }
                }
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut told = Vec::new();
    for claim in claims {
        match claim.await.unwrap() {
            (writer, None) => winners.push(writer),
            (_, Some(record)) => told.push(record["writer"].as_u64().unwrap() as usize),
        }
    }
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
    assert!(
        told.iter().all(|w| *w == winners[0]),
        "{told:?} {winners:?}"
    );
    let kept = store.get(&key("claimed")).await.unwrap().unwrap();
    assert_eq!(kept["writer"], winners[0]);

    // Many attempts release the same claim at once: one removal happens.
    let releases: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (store, key, kept) = (open(), key("claimed"), kept.clone());
            tokio::spawn(async move { store.remove_if(&key, &kept).await.unwrap() })
        })
        .collect();
    let mut removed = 0;
    for release in releases {
        removed += usize::from(release.await.unwrap());
    }
    assert_eq!(removed, 1);
    assert_eq!(store.get(&key("claimed")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_local_state_store_keeps_the_state_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(".daybook/state");
    let open = || -> Arc<dyn StateStore> { Arc::new(FileStateStore::new(&folder)) };
    state_store_contract(open, "contract").await;
    let left: Vec<String> = std::fs::read_dir(folder.join("contract"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dynamodb_state_store_keeps_the_state_store_contract() {
    let moto = MotoServer::start();
    let config = sdk_config(&moto).await;
    prepare_state_table(&config).await;
    let open = || -> Arc<dyn StateStore> {
        Arc::new(DynamoDbStateStore::new(
            daybook_aws::sdk::dynamodb_client(&config),
            STATE_TABLE,
        ))
    };
    state_store_contract(open, "contract").await;
}
