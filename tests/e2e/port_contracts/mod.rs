//! One suite per port, run against both of its adapters: what the core relies on must hold on
//! AWS (the adapter against moto, or against a stand-in holding AWS's documented rules where
//! moto is kinder) and on a laptop (the embedded adapter) alike. The state store's claims are
//! the exactly-once ledger of sends and the single decision of an approval, so they are tried
//! with many writers at once; so are the catalog's registrations and the callbacks' answers.
//! The state store and the object store are here; each other port has a file of its own.

mod callbacks;
mod catalog;
mod mailer;
mod secrets;
mod warehouse;

use crate::aws_moto::{BUCKET, sdk_config, with_bucket};
use crate::aws_pipeline::{STATE_TABLE, prepare_state_table};
use daybook_aws::{DynamoDbStateStore, S3Store};
use daybook_core::ports::StateStore;
use daybook_core::store::{ObjectStore, StoreError};
use daybook_local::FsStore;
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
    // One request at a time, as DynamoDB applies an item's conditional writes.
    let moto = MotoServer::start_serial();
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

/// The object store's contract: what the lake's commit rule, the fan-out's records and the
/// Segment batch listing rely on.
async fn object_store_contract(store: &dyn ObjectStore) {
    // Bytes come back as they went in; a second put replaces them.
    store
        .put("contract/a.json", b"first".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("contract/a.json").await.unwrap(), b"first");
    store
        .put("contract/a.json", b"second".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("contract/a.json").await.unwrap(), b"second");

    // A missing key is NotFound, which callers tell apart from a failure.
    let missing = store.get("contract/missing.json").await.unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }), "{missing}");

    // A file goes up whole and comes back as a local file with the same bytes.
    let scratch = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let local = scratch.path().join("big.bin");
    std::fs::write(&local, &big).unwrap();
    store.put_file("contract/big.bin", &local).await.unwrap();
    let fetched = store
        .fetch_to_local("contract/big.bin", &scratch.path().join("down"))
        .await
        .unwrap();
    assert_eq!(std::fs::read(fetched).unwrap(), big);

    // Listing is by string prefix, sorted, full keys: a prefix may end inside a name, as the
    // Segment batch folders' epoch prefixes do.
    for key in [
        "contract/p/171/b",
        "contract/p/170/a",
        "contract/p/2/c",
        "contract/pq/d",
    ] {
        store.put(key, b"x".to_vec()).await.unwrap();
    }
    assert_eq!(
        store.list("contract/p/17").await.unwrap(),
        ["contract/p/170/a", "contract/p/171/b"]
    );
    assert_eq!(
        store.list("contract/p/").await.unwrap(),
        ["contract/p/170/a", "contract/p/171/b", "contract/p/2/c"]
    );
    assert!(store.list("contract/none/").await.unwrap().is_empty());

    // A key that would leave the store's root is refused before anything is read or written.
    for bad in [
        "../outside",
        "contract/../../x",
        "/etc/passwd",
        "contract//x",
    ] {
        let refused = store.put(bad, b"x".to_vec()).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::InvalidKey { .. }),
            "{bad}: {refused}"
        );
        let refused = store.get(bad).await.unwrap_err();
        assert!(
            matches!(refused, StoreError::InvalidKey { .. }),
            "{bad}: {refused}"
        );
    }

    // A link people can open is made for an object that is there.
    let link = store
        .share_link("contract/a.json", std::time::Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(link.contains("contract/a.json"), "{link}");
}

#[tokio::test]
async fn the_local_object_store_keeps_the_object_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    object_store_contract(&FsStore::new(dir.path())).await;
}

#[tokio::test]
async fn the_s3_object_store_keeps_the_object_store_contract() {
    let moto = MotoServer::start();
    let config = with_bucket(&moto).await;
    let store = S3Store::new(daybook_aws::sdk::s3_client(&config), BUCKET);
    object_store_contract(&store).await;
}
