//! Helpers for the cross-crate tests: servers started on free loopback ports, stopped on drop.

pub mod chromium;
pub mod databases;
pub mod fake_redshift;
pub mod fake_task_tokens;
pub mod iam;
pub mod json_api;
pub mod machine_iam;
pub mod redshift_on_postgres;
pub mod redshift_sql;
pub mod runtime_api;

pub use fake_redshift::FakeRedshift;
pub use fake_task_tokens::FakeTaskTokens;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1, as the OS hands it out.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind to a free port")
        .local_addr()
        .expect("local addr")
        .port()
}

/// A `moto_server` child on a loopback port it bound itself (port 0), killed when dropped. The
/// port is the one it says it runs on, so no other test's server can answer in its place.
pub struct MotoServer {
    child: Child,
    pub endpoint: String,
}

impl MotoServer {
    pub fn start() -> Self {
        let mut command = Command::new("moto_server");
        command.args(["-H", "127.0.0.1", "-p", "0"]);
        Self::start_with(command)
    }

    /// A server that answers one request at a time, as DynamoDB applies conditional writes to
    /// an item (moto's threaded server can let two conditional writes of one item both pass).
    pub fn start_serial() -> Self {
        let mut command = Command::new("python3");
        command
            .arg(workspace_root().join("tests/moto/serve.py"))
            .env("MOTO_SERIAL", "1");
        Self::start_with(command)
    }

    /// A server whose Step Functions interpreter can call back into it (`tests/moto/serve.py`
    /// says why `moto_server -p 0` cannot), with the interpreter switched on.
    pub fn start_interpreting() -> Self {
        let mut command = Command::new("python3");
        command.arg(workspace_root().join("tests/moto/serve.py"));
        let server = Self::start_with(command);
        http_post(
            &server.endpoint,
            "/moto-api/config",
            r#"{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}"#,
        );
        server
    }

    fn start_with(mut command: Command) -> Self {
        use std::io::BufRead;
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto is not installed: run the README's test command (scripts/test), which installs it");
        let (found, port) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("piped");
        // Werkzeug logs every request to stderr: read it to the end, or the server would block
        // once the pipe is full.
        std::thread::spawn(move || {
            let mut said = false;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                const SAYS: &str = "Running on http://127.0.0.1:";
                if !said && let Some(at) = line.find(SAYS) {
                    let digits: String = line[at + SAYS.len()..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    said = found.send(digits.parse::<u16>().ok()).is_ok();
                }
            }
        });
        let port = port
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("moto_server did not say which port it listens on within 30s");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {endpoint} within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, endpoint }
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace root, for reading shipped files (events, definitions, templates).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// The body of `GET path` on a loopback HTTP server, e.g. moto's `/moto-api/data.json`.
pub fn http_get(endpoint: &str, path: &str) -> String {
    http(endpoint, "GET", path, "")
}

/// The body of `POST path` with a JSON body, e.g. moto's `/moto-api/state-manager/set-transition`.
pub fn http_post(endpoint: &str, path: &str, body: &str) -> String {
    http(endpoint, "POST", path, body)
}

fn http(endpoint: &str, method: &str, path: &str, body: &str) -> String {
    let (status, body) = http_request(
        endpoint,
        method,
        path,
        &[("Content-Type", "application/json")],
        body,
    );
    assert!(
        status == 200 || status == 201,
        "{method} {path}: {status} {body}"
    );
    body
}

/// One HTTP/1.0 request to a loopback server with the given headers: its status and body.
pub fn http_request(
    endpoint: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the test server");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {address}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    write!(
        stream,
        "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .expect("an HTTP response has a head and a body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head}"));
    (status, body.to_string())
}

/// A raw message's text part, as a mail client reads it.
pub fn text_part(raw: &str) -> String {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a MIME message")
        .body_text(0)
        .expect("a text part")
        .into_owned()
}

/// What follows `label` on the first line of `text` that starts with it (an email's links).
pub fn after_label(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|rest| rest.trim().to_string())
}
