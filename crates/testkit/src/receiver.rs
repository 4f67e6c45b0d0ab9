//! A real HTTP/1.1 receiver on 127.0.0.1 for tests of what Baton sends out (event deliveries,
//! callback notifications): it records every request and answers the statuses a test queued,
//! then 200.

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for a request that should come.
const WAIT: Duration = Duration::from_secs(20);

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// The receiver: `url` is where it listens (`http://127.0.0.1:PORT{path}`).
pub struct Receiver {
    pub url: String,
    /// Statuses to answer, in order; 200 once it is empty.
    pub answers: Arc<Mutex<VecDeque<u16>>>,
    /// Every request so far.
    all: Arc<Mutex<Vec<Received>>>,
    /// The requests not taken yet by `next` / `take`.
    fresh: Mutex<mpsc::Receiver<Received>>,
}

impl Receiver {
    /// Listens on a free port; requests to any path are recorded.
    pub fn start(path: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!(
            "http://{}{path}",
            listener.local_addr().expect("an address")
        );
        let answers = Arc::new(Mutex::new(VecDeque::new()));
        let all = Arc::new(Mutex::new(Vec::new()));
        let (tx, fresh) = mpsc::channel();
        let (queued, seen) = (answers.clone(), all.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(r) = read_request(&mut stream) else {
                    continue;
                };
                let status = queued.lock().unwrap().pop_front().unwrap_or(200);
                seen.lock().unwrap().push(r.clone());
                let _ = tx.send(r);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver {
            url,
            answers,
            all,
            fresh: Mutex::new(fresh),
        }
    }

    /// The next request not taken yet (Baton's sender waits for the answer, so after a
    /// `deliver_due` it has arrived).
    pub fn next(&self) -> Received {
        self.fresh
            .lock()
            .unwrap()
            .recv_timeout(WAIT)
            .expect("a request")
    }

    /// The next `n` requests not taken yet.
    pub fn take(&self, n: usize) -> Vec<Received> {
        let fresh = self.fresh.lock().unwrap();
        (0..n)
            .map(|i| {
                fresh
                    .recv_timeout(WAIT)
                    .unwrap_or_else(|_| panic!("request {} of {n} did not arrive", i + 1))
            })
            .collect()
    }

    /// Whatever arrived and was not taken yet.
    pub fn rest(&self) -> Vec<Received> {
        self.fresh.lock().unwrap().try_iter().collect()
    }

    /// Asserts that no request arrived that was not taken yet.
    pub fn nothing(&self) {
        let rest = self.rest();
        assert!(rest.is_empty(), "no request expected, got {rest:?}");
    }

    /// Every request so far (taken or not), waiting until there are at least `n` or the wait
    /// ran out.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + WAIT;
        loop {
            let all = self.all.lock().unwrap().clone();
            if all.len() >= n || Instant::now() > deadline {
                return all;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Reads one request: its line, headers and a body of `content-length` bytes.
fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
