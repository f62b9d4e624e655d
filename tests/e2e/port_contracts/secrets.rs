//! The secrets port: a chat token or webhook key by name, as stored (surrounding whitespace
//! dropped, as a file written with `echo` has a newline), and a missing or empty secret named
//! with what to do. Secrets Manager on moto, files locally.

use daybook_aws::secrets::SecretsManagerSecrets;
use daybook_core::ports::Secrets;
use daybook_local::adapters::secrets::FileSecrets;
use daybook_tests::MotoServer;

async fn secrets_contract(secrets: &dyn Secrets) {
    assert_eq!(
        secrets.read("daybook/chat/slack-bot").await.unwrap(),
        "xoxb-1-token"
    );
    let missing = secrets
        .read("daybook/chat/missing")
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("daybook/chat/missing"), "{missing}");
}

#[tokio::test]
async fn secrets_manager_and_files_read_a_secret_alike() {
    let moto = MotoServer::start();
    let config = crate::aws_moto::sdk_config(&moto).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    client
        .create_secret()
        .name("daybook/chat/slack-bot")
        .secret_string("xoxb-1-token\n")
        .send()
        .await
        .unwrap();
    secrets_contract(&SecretsManagerSecrets { client }).await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("daybook/chat/slack-bot");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "xoxb-1-token\n").unwrap();
    let files = FileSecrets {
        dir: dir.path().to_path_buf(),
    };
    secrets_contract(&files).await;
    // A name that climbs out of the folder is no secret's.
    assert!(files.read("daybook/../../etc/passwd").await.is_err());
}
