//! A Lambda Runtime API on loopback, for running a real function binary as Lambda does: the
//! binary polls `/runtime/invocation/next`, gets each queued event, and posts a response or an
//! error. What it posts is recorded, so a test reads the `errorType` Step Functions would see.
//!
//! Requests outside the Runtime API are answered as an S3 endpoint in trouble would answer
//! them, chosen by the key: a key containing `slow-down` gets 503 `SlowDown`, one containing
//! `denied` gets 403 `AccessDenied`, anything else 404 `NoSuchKey`. Point `AWS_ENDPOINT_URL`
//! at the same address to exercise a function's error kinds without a cloud.

use serde_json::Value;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a function posted for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    Error { error_type: String, message: String },
}

#[derive(Default)]
struct Shared {
    events: VecDeque<(String, Value)>,
    outcomes: Vec<(String, Outcome)>,
    init_error: Option<String>,
}

pub struct RuntimeApi {
    pub address: String,
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl RuntimeApi {
    /// Starts the API with `events` queued, each with its request id.
    pub fn start(events: Vec<(String, Value)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("local addr").to_string();
        let shared = Arc::new((
            Mutex::new(Shared {
                events: events.into(),
                ..Shared::default()
            }),
            Condvar::new(),
        ));
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Self { address, shared }
    }

    /// Waits until `count` invocations have an outcome, or the function failed its init.
    pub fn wait_for(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<(String, Outcome)>, String> {
        let (lock, ready) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut shared = lock.lock().unwrap();
        loop {
            if let Some(error) = &shared.init_error {
                return Err(format!("the function failed its init: {error}"));
            }
            if shared.outcomes.len() >= count {
                return Ok(shared.outcomes.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{} of {count} invocations answered within {timeout:?}",
                    shared.outcomes.len()
                ));
            }
            shared = ready.wait_timeout(shared, left).unwrap().0;
        }
    }
}

struct Request {
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let _method = parts.next()?;
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { path, body })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

fn serve(stream: TcpStream, shared: &(Mutex<Shared>, Condvar)) {
    let mut writer = stream.try_clone().expect("clone the stream");
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let (lock, ready) = shared;
        let path = request.path.as_str();
        if path == "/2018-06-01/runtime/invocation/next" {
            let next = lock.lock().unwrap().events.pop_front();
            // No more events: hold the poll open, as Lambda does between invocations.
            let Some((id, event)) = next else {
                std::thread::sleep(Duration::from_secs(3600));
                return;
            };
            let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
            respond(
                &mut writer,
                "200 OK",
                &[
                    ("Content-Type", "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id", id),
                    ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:under-test".into(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        "Root=1-00000000-000000000000000000000000".into(),
                    ),
                ],
                event.to_string().as_bytes(),
            );
            continue;
        }
        if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let outcome = match kind {
                "response" => Outcome::Response(body),
                _ => Outcome::Error {
                    error_type: body["errorType"].as_str().unwrap_or_default().to_string(),
                    message: body["errorMessage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                },
            };
            lock.lock()
                .unwrap()
                .outcomes
                .push((id.to_string(), outcome));
            ready.notify_all();
            respond(&mut writer, "202 Accepted", &[], b"{\"status\":\"OK\"}");
            continue;
        }
        if path == "/2018-06-01/runtime/init/error" {
            lock.lock().unwrap().init_error = Some(String::from_utf8_lossy(&request.body).into());
            ready.notify_all();
            respond(&mut writer, "202 Accepted", &[], b"{\"status\":\"OK\"}");
            continue;
        }
        let (status, code) = if path.contains("slow-down") {
            ("503 Slow Down", "SlowDown")
        } else if path.contains("denied") {
            ("403 Forbidden", "AccessDenied")
        } else {
            ("404 Not Found", "NoSuchKey")
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code} from the test endpoint</Message><RequestId>test</RequestId></Error>"
        );
        respond(
            &mut writer,
            status,
            &[("Content-Type", "application/xml".into())],
            xml.as_bytes(),
        );
    }
}
