//! Headless Chromium (Debian's `chromium`) driven over the DevTools protocol: open a page,
//! read it, type, press a button, take a screenshot, as a person at a browser would.

use base64::Engine;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

pub struct Chromium {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// A fresh browser with a blank page, on a loopback port it bound itself (port 0): the
    /// port it got is the one it writes to `DevToolsActivePort` in its own profile.
    pub fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                // CI containers give /dev/shm a few MB, which Chromium's renderer can outgrow.
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=720,1100",
            ])
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromium (scripts/test installs it from Debian)");
        let started = Instant::now();
        let active = profile.path().join("DevToolsActivePort");
        let port = loop {
            let written = std::fs::read_to_string(&active).unwrap_or_default();
            if let Some(port) = written.lines().next().and_then(|l| l.parse::<u16>().ok()) {
                break port;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromium did not write {}",
                active.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let page = loop {
            if let Some(text) = targets(port)
                && let Ok(Value::Array(list)) = serde_json::from_str::<Value>(&text)
                && let Some(page) = list.iter().find(|t| t["type"] == "page")
            {
                break page["webSocketDebuggerUrl"].as_str().unwrap().to_string();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromium did not open its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let (socket, _) = tungstenite::connect(&page).expect("connect to the page's DevTools");
        Self {
            child,
            socket,
            next_id: 0,
            _profile: profile,
        }
    }

    /// One DevTools command; its result.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(request.to_string()))
            .expect("send to chromium");
        loop {
            let message = self.socket.read().expect("read from chromium");
            let Ok(text) = message.to_text() else {
                continue;
            };
            let Ok(reply) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        result["result"]["value"].clone()
    }

    /// Opens `url` and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'");
    }

    /// Waits until `condition` (a JavaScript expression) is true, for at most 20 s.
    pub fn wait_for(&mut self, condition: &str) {
        let started = Instant::now();
        while self.eval(&format!("Boolean({condition})")) != json!(true) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the page never got to: {condition}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The page's visible text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A PNG of the page as shown.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}

/// DevTools' list of targets, once the port answers. DevTools speaks HTTP/1.1 only and keeps
/// the connection open: the body is read by its length.
fn targets(port: u16) -> Option<String> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON a page's own script left in its body's `attribute` once loaded, read from the DOM
/// headless Chromium dumps of `page` in a window `width`×`height`: how a test has a page
/// measure its own layout (widths, broken words, pictures) as a browser lays it out.
pub fn measured_by_page(page: &std::path::Path, attribute: &str, width: u32, height: u32) -> Value {
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            // CI containers give /dev/shm a few MB, which Chromium's renderer can outgrow.
            "--disable-dev-shm-usage",
            // A frame's page reads its own file beside it.
            "--allow-file-access-from-files",
            &format!("--window-size={width},{height}"),
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium (scripts/test installs it from Debian)");
    let dom = String::from_utf8_lossy(&output.stdout);
    let marker = format!("{attribute}=\"");
    let start = dom
        .rfind(&marker)
        .unwrap_or_else(|| panic!("the page did not report {attribute}: {dom:.2000}"))
        + marker.len();
    let end = start + dom[start..].find('"').unwrap();
    serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap()
}
