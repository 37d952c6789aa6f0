//! A small closed-loop HTTP/1.1 load generator for the toolwright benchmark (bench/mcp).
//!
//! N connections (kept alive) each send one request, read the whole response (JSON or an SSE
//! stream until the server ends it), check it, and send the next. After a warm-up, it measures
//! for a fixed time: completed requests, latency percentiles, and the CPU time (utime + stime
//! from /proc/PID/stat) and resident memory of the processes named with --pid over exactly the
//! measured window. It stops by itself: every request has a deadline past the window, and too
//! many errors end the run early. Prints one JSON object on stdout.
//!
//!   mcp-loadgen --url http://127.0.0.1:PORT/mcp [--method POST] [--body-file F] [-H 'Name: value']...
//!               [--init-body-file F --init-notify-file F]   (a session per connection: initialize,
//!                                                            then notifications/initialized)
//!               [--connections 16] [--duration 10] [--warmup 1] [--threads 1]
//!               [--expect STR] [--reject STR] [--pid PID]... [--check]
//!
//! Only use it against servers on 127.0.0.1 that you run yourself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpStream;

/// Errors after which a run gives up (a broken target should not spin for the whole window).
const MAX_ERRORS: u64 = 20_000;
/// How long past the end of the window a request may still take before it is abandoned.
const GRACE: Duration = Duration::from_secs(5);
/// Linux's USER_HZ (the unit of utime/stime in /proc/PID/stat) on every supported architecture.
const CLK_TCK: f64 = 100.0;

#[derive(Clone, Debug)]
struct Opts {
    host: String,
    port: u16,
    path: String,
    method: hyper::Method,
    body: Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
    init_body: Option<Bytes>,
    init_notify: Option<Bytes>,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    threads: usize,
    expect: Option<String>,
    reject: Option<String>,
    pids: Vec<u32>,
    check: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("mcp-loadgen: {msg}\nusage: mcp-loadgen --url URL [--method M] [--body-file F] [-H 'N: V']... [--init-body-file F --init-notify-file F] [--connections N] [--duration S] [--warmup S] [--threads N] [--expect S] [--reject S] [--pid P]... [--check]");
    std::process::exit(2);
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut o = Opts {
        host: String::new(),
        port: 80,
        path: "/".into(),
        method: hyper::Method::GET,
        body: Bytes::new(),
        headers: Vec::new(),
        init_body: None,
        init_notify: None,
        connections: 1,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(1),
        threads: 1,
        expect: None,
        reject: None,
        pids: Vec::new(),
        check: false,
    };
    let read = |p: &str| Bytes::from(std::fs::read(p).unwrap_or_else(|e| usage(&format!("cannot read {p}: {e}"))));
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--url" => url = Some(val()),
            "--method" => o.method = hyper::Method::from_bytes(val().as_bytes()).unwrap_or_else(|_| usage("bad method")),
            "--body-file" => o.body = read(&val()),
            "--init-body-file" => o.init_body = Some(read(&val())),
            "--init-notify-file" => o.init_notify = Some(read(&val())),
            "-H" | "--header" => {
                let h = val();
                let (n, v) = h.split_once(':').unwrap_or_else(|| usage("a header is `Name: value`"));
                let n = HeaderName::from_bytes(n.trim().as_bytes()).unwrap_or_else(|_| usage("bad header name"));
                let v = HeaderValue::from_str(v.trim()).unwrap_or_else(|_| usage("bad header value"));
                o.headers.push((n, v));
            }
            "--connections" | "-c" => o.connections = val().parse().unwrap_or_else(|_| usage("bad --connections")),
            "--duration" | "-d" => o.duration = Duration::from_secs_f64(val().parse().unwrap_or_else(|_| usage("bad --duration"))),
            "--warmup" => o.warmup = Duration::from_secs_f64(val().parse().unwrap_or_else(|_| usage("bad --warmup"))),
            "--threads" => o.threads = val().parse().unwrap_or_else(|_| usage("bad --threads")),
            "--expect" => o.expect = Some(val()),
            "--reject" => o.reject = Some(val()),
            "--pid" => o.pids.push(val().parse().unwrap_or_else(|_| usage("bad --pid"))),
            "--check" => o.check = true,
            other => usage(&format!("unknown argument {other}")),
        }
    }
    let url = url.unwrap_or_else(|| usage("--url is required"));
    let rest = url.strip_prefix("http://").unwrap_or_else(|| usage("only http:// URLs"));
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_owned(), p.parse().unwrap_or_else(|_| usage("bad port"))),
        None => (authority.to_owned(), 80),
    };
    if host != "127.0.0.1" && host != "localhost" {
        usage("only 127.0.0.1 or localhost targets are allowed");
    }
    o.host = host;
    o.port = port;
    o.path = path.to_owned();
    if o.connections == 0 || o.threads == 0 {
        usage("--connections and --threads must be positive");
    }
    o
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(o: &Opts) -> Result<Sender, String> {
    let addr = if o.host == "localhost" { "127.0.0.1" } else { o.host.as_str() };
    let stream = TcpStream::connect((addr, o.port)).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

fn request(o: &Opts, body: Bytes, session: Option<&HeaderValue>) -> hyper::Request<Full<Bytes>> {
    let mut b = hyper::Request::builder().method(o.method.clone()).uri(o.path.as_str());
    let h = b.headers_mut().expect("builder");
    h.insert(hyper::header::HOST, HeaderValue::from_str(&format!("{}:{}", o.host, o.port)).expect("host"));
    for (n, v) in &o.headers {
        h.append(n.clone(), v.clone());
    }
    if let Some(s) = session {
        h.insert(HeaderName::from_static("mcp-session-id"), s.clone());
    }
    b.body(Full::new(body)).expect("request")
}

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn send(sender: &mut Sender, req: hyper::Request<Full<Bytes>>) -> Result<Reply, String> {
    sender.ready().await.map_err(|e| format!("ready: {e}"))?;
    let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
    Ok(Reply { status, headers, body })
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && hay.windows(n.len()).any(|w| w == n)
}

fn judge(o: &Opts, r: &Reply) -> Result<(), String> {
    let excerpt = || String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).into_owned();
    if r.status != 200 {
        return Err(format!("status {}: {}", r.status, excerpt()));
    }
    if let Some(e) = &o.expect
        && !contains(&r.body, e)
    {
        return Err(format!("missing `{e}`: {}", excerpt()));
    }
    if let Some(x) = &o.reject
        && contains(&r.body, x)
    {
        return Err(format!("holds `{x}`: {}", excerpt()));
    }
    Ok(())
}

/// A session for one connection (initialize + notifications/initialized), when asked for.
async fn open_session(o: &Opts, sender: &mut Sender) -> Result<Option<HeaderValue>, String> {
    let Some(init) = &o.init_body else { return Ok(None) };
    let mut req = request(o, init.clone(), None);
    *req.method_mut() = hyper::Method::POST;
    let r = send(sender, req).await?;
    if r.status != 200 {
        return Err(format!("initialize: status {}", r.status));
    }
    let sid = r.headers.get("mcp-session-id").cloned().ok_or("initialize: no mcp-session-id header")?;
    if let Some(n) = &o.init_notify {
        let mut req = request(o, n.clone(), Some(&sid));
        *req.method_mut() = hyper::Method::POST;
        let r = send(sender, req).await?;
        if r.status != 202 && r.status != 200 {
            return Err(format!("notifications/initialized: status {}", r.status));
        }
    }
    Ok(Some(sid))
}

#[derive(Default)]
struct Shared {
    errors: AtomicU64,
    error_samples: std::sync::Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, m: String) {
        let n = self.errors.fetch_add(1, Ordering::Relaxed);
        if n < 5
            && let Ok(mut s) = self.error_samples.lock()
        {
            s.push(m);
        }
    }
    fn too_many(&self) -> bool {
        self.errors.load(Ordering::Relaxed) >= MAX_ERRORS
    }
}

/// One connection's closed loop; returns the latencies (µs) of the requests completed in the window.
async fn worker(o: Arc<Opts>, sh: Arc<Shared>, t_start: Instant, t_end: Instant) -> (Vec<u32>, u64) {
    let mut lat = Vec::with_capacity(4096);
    let mut in_window_errors = 0u64;
    let hard_stop = tokio::time::Instant::from_std(t_end + GRACE);
    'outer: while Instant::now() < t_end && !sh.too_many() {
        let mut sender = match tokio::time::timeout_at(hard_stop, connect(&o)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                sh.error(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(_) => break,
        };
        let session = match tokio::time::timeout_at(hard_stop, open_session(&o, &mut sender)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                sh.error(e);
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
            Err(_) => break,
        };
        while Instant::now() < t_end && !sh.too_many() {
            let req = request(&o, o.body.clone(), session.as_ref());
            let sent = Instant::now();
            let result = match tokio::time::timeout_at(hard_stop, send(&mut sender, req)).await {
                Ok(r) => r,
                Err(_) => break 'outer,
            };
            let done = Instant::now();
            let in_window = done >= t_start && done <= t_end;
            match result.and_then(|r| judge(&o, &r)) {
                Ok(()) => {
                    if in_window {
                        lat.push(u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX));
                    }
                }
                Err(e) => {
                    if in_window {
                        in_window_errors += 1;
                    }
                    let broken = e.starts_with("ready") || e.starts_with("send") || e.starts_with("body");
                    sh.error(e);
                    if broken {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue 'outer; // reconnect
                    }
                }
            }
        }
    }
    (lat, in_window_errors)
}

/// utime + stime of a process (all its threads), in seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the stat line (utime, stime) are the 12th and 13th after the name.
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some((ut + st) / CLK_TCK)
}

/// VmRSS and VmHWM in KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn check(o: Arc<Opts>) -> i32 {
    let mut sender = match connect(&o).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let session = match open_session(&o, &mut sender).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let started = Instant::now();
    match tokio::time::timeout(Duration::from_secs(10), send(&mut sender, request(&o, o.body.clone(), session.as_ref()))).await {
        Ok(Ok(r)) => {
            let verdict = judge(&o, &r);
            let headers: BTreeMap<String, String> =
                r.headers.iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
            let out = json!({
                "status": r.status,
                "headers": headers,
                "body": String::from_utf8_lossy(&r.body),
                "latency_us": started.elapsed().as_micros() as u64,
                "ok": verdict.is_ok(),
                "problem": verdict.err(),
            });
            println!("{out}");
            if out["ok"] == Value::Bool(true) { 0 } else { 1 }
        }
        Ok(Err(e)) => {
            eprintln!("{e}");
            1
        }
        Err(_) => {
            eprintln!("no answer within 10 s");
            1
        }
    }
}

async fn run(o: Arc<Opts>) -> Value {
    let sh = Arc::new(Shared::default());
    let t0 = Instant::now();
    let t_start = t0 + o.warmup;
    let t_end = t_start + o.duration;
    let mut handles = Vec::with_capacity(o.connections);
    for _ in 0..o.connections {
        handles.push(tokio::spawn(worker(o.clone(), sh.clone(), t_start, t_end)));
    }
    // CPU and memory of the named processes over exactly the measured window.
    let pids: Vec<String> = o.pids.iter().map(|p| p.to_string()).collect();
    tokio::time::sleep_until(tokio::time::Instant::from_std(t_start)).await;
    let cpu0: Vec<Option<f64>> = pids.iter().map(|p| cpu_seconds(p)).collect();
    let self0 = cpu_seconds("self");
    let w0 = Instant::now();
    let mut rss_max = vec![0u64; o.pids.len()];
    loop {
        for (i, p) in o.pids.iter().enumerate() {
            if let Some((rss, _)) = memory_kib(*p) {
                rss_max[i] = rss_max[i].max(rss);
            }
        }
        let now = Instant::now();
        if now >= t_end {
            break;
        }
        tokio::time::sleep((t_end - now).min(Duration::from_millis(250))).await;
    }
    let cpu1: Vec<Option<f64>> = pids.iter().map(|p| cpu_seconds(p)).collect();
    let self1 = cpu_seconds("self");
    let window = w0.elapsed().as_secs_f64();
    let mut all = Vec::new();
    let mut window_errors = 0;
    for h in handles {
        if let Ok((lat, errs)) = h.await {
            all.extend(lat);
            window_errors += errs;
        }
    }
    all.sort_unstable();
    let n = all.len() as u64;
    let mean = if all.is_empty() { 0.0 } else { all.iter().map(|&v| f64::from(v)).sum::<f64>() / all.len() as f64 };
    let mut procs = serde_json::Map::new();
    for (i, p) in o.pids.iter().enumerate() {
        let cpu = match (cpu0[i], cpu1[i]) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let (rss, hwm) = memory_kib(*p).unwrap_or((0, 0));
        procs.insert(
            p.to_string(),
            json!({
                "cpu_s": cpu,
                "cpu_us_per_call": cpu.filter(|_| n > 0).map(|c| c * 1e6 / n as f64),
                "rss_kib_max": rss_max[i],
                "rss_kib_end": rss,
                "hwm_kib_end": hwm,
            }),
        );
    }
    let samples = sh.error_samples.lock().map(|s| s.clone()).unwrap_or_default();
    json!({
        "connections": o.connections,
        "threads": o.threads,
        "window_s": window,
        "requests": n,
        "errors": window_errors,
        "errors_total": sh.errors.load(Ordering::Relaxed),
        "error_samples": samples,
        "rps": n as f64 / window,
        "latency_us": {
            "p50": percentile(&all, 50.0),
            "p90": percentile(&all, 90.0),
            "p99": percentile(&all, 99.0),
            "p999": percentile(&all, 99.9),
            "max": all.last().copied().unwrap_or(0),
            "mean": mean,
        },
        "processes": procs,
        "loadgen_cpu_s": match (self0, self1) { (Some(a), Some(b)) => Some(b - a), _ => None },
    })
}

fn main() {
    let o = Arc::new(parse_args());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(o.threads).enable_all().build().expect("runtime");
    if o.check {
        let code = rt.block_on(check(o));
        std::process::exit(code);
    }
    let out = rt.block_on(run(o));
    println!("{out}");
    let errors = out["requests"].as_u64().unwrap_or(0) == 0;
    std::process::exit(if errors { 1 } else { 0 });
}
