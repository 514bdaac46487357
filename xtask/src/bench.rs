//! `cargo xtask bench`: httpd against nginx on the host's arch, side by side in one
//! run, serving the same bytes with the same Content-Type, without keep-alive.
//!
//! - Requests per second and latency (p50, p99) with 1, 50 and 500 concurrent
//!   clients, measured by ApacheBench (`ab`, Debian's apache2-utils) without `-k`;
//!   the percentiles come from ab's `-e` file (fractions of a millisecond).
//! - Memory per open connection: the resident set (VmRSS) of the server's process
//!   and its children (httpd's per-connection processes; nginx's workers), before and
//!   with `IDLE` connections open, each stopped in the middle of its request's
//!   headers, divided by their count. Kernel memory (socket
//!   buffers, a process's kernel stack and page tables) is in neither.
//!
//! Each level runs `rounds` times, httpd and nginx alternating, and each metric is the
//! median of its rounds: on a machine shared with other jobs, a burst of theirs then
//! skews one round of one server, not the result. The load average at the start and
//! the end is part of the result.
//!
//! httpd is built for the host's arch on a free port (HTTPD_PORT) into
//! target/hello/bench/httpd; nginx (Debian's nginx-light) runs in the foreground from
//! a generated config in a temporary directory, on another free port, with
//! `keepalive_timeout 0`, `worker_processes auto` and no access log, serving a copy of
//! the body httpd answers with. Both answers are fetched and compared first.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    io::{Read, Write},
    net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use xshell::Shell;

use crate::{arch::Arch, build, paths, program::Program};

/// The concurrency levels measured.
pub const CONCURRENCY: [u64; 3] = [1, 50, 500];
/// Connections held open (mid-request) to measure memory per connection.
pub const IDLE: usize = 200;

/// What one ab run reported.
#[derive(Debug, Clone, Serialize)]
pub struct Ab {
    pub complete: u64,
    /// "Failed requests": connect, receive, length and exception failures together.
    pub failed: u64,
    /// "Non-2xx responses" (absent from ab's output when there are none).
    pub non_2xx: u64,
    /// "Document Length": the first answer's body length.
    pub document_length: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Ab {
    /// Parse ab's report (`stdout`) and its `-e` percentile file (`csv`: `percent,ms`).
    pub fn parse(stdout: &str, csv: &str) -> Result<Ab> {
        let field = |name: &str| -> Option<&str> {
            stdout.lines().find_map(|l| l.strip_prefix(name)).and_then(|rest| rest.split_whitespace().next())
        };
        let number = |name: &str| -> Result<u64> {
            field(name).with_context(|| format!("no `{name}` in ab's output"))?.parse().context(name.to_string())
        };
        let percentile = |p: &str| -> Result<f64> {
            csv.lines()
                .find_map(|l| l.strip_prefix(p).and_then(|rest| rest.strip_prefix(',')))
                .with_context(|| format!("no {p}% in ab's percentile file"))?
                .trim()
                .parse()
                .context("a percentile")
        };
        Ok(Ab {
            complete: number("Complete requests:")?,
            failed: number("Failed requests:")?,
            non_2xx: field("Non-2xx responses:").map_or(Ok(0), str::parse).context("Non-2xx responses")?,
            document_length: number("Document Length:")?,
            requests_per_second: field("Requests per second:")
                .context("no `Requests per second:` in ab's output")?
                .parse()?,
            p50_ms: percentile("50")?,
            p99_ms: percentile("99")?,
        })
    }
}

/// Run `ab -n requests -c concurrency url` without keep-alive (`-r`: a receive error
/// counts as a failed request rather than ending the run), with the open-file limit
/// raised for the concurrency.
pub fn ab(url: &str, requests: u64, concurrency: u64) -> Result<Ab> {
    let csv = tempfile::NamedTempFile::new()?;
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"[ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096 2>/dev/null || true; exec ab "$@""#)
        .arg("ab")
        .args(["-q", "-r", "-s", "30", "-n", &requests.to_string(), "-c", &concurrency.to_string(), "-e"])
        .arg(csv.path())
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .context("cannot run sh and ab (apt-get install apache2-utils)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "ab -n {requests} -c {concurrency} {url} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            stdout.lines().last().unwrap_or("")
        );
    }
    Ab::parse(&stdout, &fs::read_to_string(csv.path())?).with_context(|| format!("ab said:\n{stdout}"))
}

/// `bench`'s options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Small counts: seconds in all, for the test that keeps the command working.
    pub quick: bool,
    /// How many times each level runs per server (the median counts); at least 1.
    pub rounds: usize,
}

/// One metric for both servers.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub metric: String,
    pub unit: &'static str,
    pub httpd: f64,
    pub nginx: f64,
    /// httpd / nginx.
    pub ratio: f64,
}

/// A whole run: where, the rows, and the issue's two goals.
#[derive(Debug, Serialize)]
pub struct Bench {
    pub machine: String,
    /// /proc/loadavg's 1, 5 and 15 minute averages when the run started and ended.
    pub load_start: String,
    pub load_end: String,
    /// Runs per level and server; each metric is their median.
    pub rounds: usize,
    pub nginx: String,
    pub requests: BTreeMap<u64, u64>,
    pub idle_connections: usize,
    pub rows: Vec<Row>,
    /// The lowest requests-per-second ratio is at least 0.5.
    pub goal_throughput: bool,
    /// The highest p99 ratio is at most 2.
    pub goal_p99: bool,
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
    name: &'static str,
    port: u16,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        // nginx's master ends its workers on SIGTERM (SIGKILL would leave them).
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited at start ({status})", self.name);
            }
            if Instant::now() > deadline {
                bail!("{} does not listen on port {} within 10 s", self.name, self.port);
            }
            sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// VmRSS of the server and its children, in KiB.
    fn rss_kib(&self) -> u64 {
        let pid = self.child.id();
        std::iter::once(pid).chain(children(pid)).filter_map(vm_rss_kib).sum()
    }
}

/// A TCP port nobody listens on now (IPv6 and IPv4).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0))?.local_addr()?.port())
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            // pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
            fs::read_to_string(format!("/proc/{child}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<u32>().ok()) == Some(pid)
            })
        })
        .collect()
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

/// Our arch table's name for the host's arch.
fn host_arch() -> Result<&'static Arch> {
    let name = match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7",
        "powerpc64" => "ppc64le",
        "mips64" => "mips64el",
        other => other,
    };
    Arch::find(name).with_context(|| format!("no httpd build for this host ({})", std::env::consts::ARCH))
}

/// One GET with HTTP/1.0, read until the server closes: (Content-Type, body).
fn fetch(port: u16) -> Result<(String, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").context("no end of headers in the answer")?;
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    if !head.starts_with("HTTP/1.1 200 ") {
        bail!("the answer is not 200: {}", head.lines().next().unwrap_or(""));
    }
    let content_type = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.trim()))
        .unwrap_or("")
        .to_string();
    Ok((content_type, answer[end + 4..].to_vec()))
}

/// httpd for the host's arch, built to listen on `port`, running.
fn start_httpd(sh: &Shell, port: u16) -> Result<Server> {
    let program = Program::find("httpd")?;
    let arch = host_arch()?;
    let out = binary();
    let _port = sh.push_env("HTTPD_PORT", port.to_string());
    build::build(sh, program, arch, crate::message::DEFAULT, Some(&out))?;
    let child = Command::new(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {}", out.display()))?;
    let mut server = Server { child, name: "httpd", port, _dir: None };
    server.wait_listening()?;
    Ok(server)
}

/// nginx's config: one server on `port`, every path answered with the file `body`.
fn nginx_config(dir: &Path, port: u16, content_type: &str) -> String {
    let dir = dir.display();
    format!(
        r#"daemon off;
worker_processes auto;
worker_rlimit_nofile 8192;
error_log stderr;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_timeout 0;
    server_tokens off;
    etag off;
    types {{ }}
    default_type "{content_type}";
    open_file_cache max=16;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
        location / {{ try_files /body =404; }}
    }}
}}
"#
    )
}

/// nginx in the foreground on `port`, serving `body` as `content_type`.
fn start_nginx(port: u16, content_type: &str, body: &[u8]) -> Result<Server> {
    if content_type.contains(['"', '\\', '\n', '\r', '$']) {
        bail!("a Content-Type nginx's config cannot hold as it is: {content_type:?}");
    }
    let dir = tempfile::Builder::new().prefix("bench-nginx").tempdir()?;
    // nginx's workers run as nobody when it is started as root: let them read.
    let www = dir.path().join("www");
    fs::create_dir(&www)?;
    fs::write(www.join("body"), body)?;
    for (path, mode) in [(dir.path().to_path_buf(), 0o755), (www.clone(), 0o755), (www.join("body"), 0o644)] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
    }
    let config = dir.path().join("nginx.conf");
    fs::write(&config, nginx_config(dir.path(), port, content_type))?;
    let child = Command::new(nginx())
        .args(["-e", "stderr", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run nginx (apt-get install nginx-light)")?;
    let mut server = Server { child, name: "nginx", port, _dir: Some(dir) };
    server.wait_listening()?;
    Ok(server)
}

/// nginx on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH).
fn nginx() -> &'static str {
    let runs = |n: &str| Command::new(n).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    ["nginx", "/usr/sbin/nginx"].into_iter().find(|n| runs(n)).unwrap_or("nginx")
}

/// Wait until `server` has no children but its steady ones (`steady`: nginx's
/// workers), at most 15 s: httpd's connection processes from the last run end.
fn settle(server: &Server, steady: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while children(server.child.id()).len() > steady && Instant::now() < deadline {
        sleep(Duration::from_millis(50));
    }
}

/// RSS per open connection, in KiB: `IDLE` connections in the middle of a request.
fn rss_per_connection(server: &Server, steady: usize) -> Result<f64> {
    settle(server, steady);
    let before = server.rss_kib();
    let at = SocketAddr::from(([127, 0, 0, 1], server.port));
    // Each has sent the start of a request and waits: both servers hold a request in
    // progress (an idle connection without a byte costs nginx no memory of its own).
    let idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| {
            let mut stream = TcpStream::connect(at)?;
            stream.write_all(b"GET / HTTP/1.1\r\nHost: bench\r\n")?;
            Ok(stream)
        })
        .collect::<std::io::Result<_>>()?;
    // httpd: a process each, once accepted; nginx: nothing to count, so a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.name == "httpd" && children(server.child.id()).len() < IDLE && Instant::now() < deadline {
        sleep(Duration::from_millis(20));
    }
    sleep(Duration::from_millis(300));
    let with = server.rss_kib();
    drop(idle);
    Ok((with as f64 - before as f64) / IDLE as f64)
}

/// Requests per concurrency level: a few seconds each (or a fraction with `quick`).
fn requests(quick: bool) -> BTreeMap<u64, u64> {
    let counts: [u64; 3] = if quick { [200, 1000, 1000] } else { [5000, 20000, 20000] };
    CONCURRENCY.into_iter().zip(counts).collect()
}

/// The machine, for the record: CPU model, cores, kernel.
fn machine() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, Linux {}", kernel.trim())
}

/// /proc/loadavg's first three fields: the 1, 5 and 15 minute load averages.
fn load_average() -> String {
    let loadavg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Each metric's median over `runs` (the upper one of an even count), apart.
pub fn median_of(runs: &[Ab]) -> Ab {
    let median = |metric: fn(&Ab) -> f64| {
        let mut values: Vec<f64> = runs.iter().map(metric).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Ab {
        complete: runs[0].complete,
        failed: runs.iter().map(|r| r.failed).sum(),
        non_2xx: runs.iter().map(|r| r.non_2xx).sum(),
        document_length: runs[0].document_length,
        requests_per_second: median(|r| r.requests_per_second),
        p50_ms: median(|r| r.p50_ms),
        p99_ms: median(|r| r.p99_ms),
    }
}

fn nginx_version() -> String {
    Command::new(nginx())
        .arg("-v")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().trim_start_matches("nginx version: ").to_string())
        .unwrap_or_default()
}

/// Run the whole benchmark.
pub fn run(sh: &Shell, options: Options) -> Result<Bench> {
    let load_start = load_average();
    let mut httpd = start_httpd(sh, free_port()?)?;
    let (content_type, body) = fetch(httpd.port).context("httpd's answer")?;
    let nginx = start_nginx(free_port()?, &content_type, &body)?;
    let nginx_answer = fetch(nginx.port).context("nginx's answer")?;
    if nginx_answer != (content_type.clone(), body.clone()) {
        bail!("nginx serves {nginx_answer:?}, httpd ({content_type:?}, {:?}): not the same bytes", body);
    }
    httpd.wait_listening()?;
    let nginx_workers = children(nginx.child.id()).len();

    let requests = requests(options.quick);
    let mut rows = Vec::new();
    let mut row = |metric: String, unit: &'static str, httpd: f64, nginx: f64| {
        rows.push(Row { metric, unit, httpd, nginx, ratio: if nginx == 0.0 { f64::NAN } else { httpd / nginx } });
    };
    let mut latency = Vec::new();
    let rounds = options.rounds.max(1);
    for (&concurrency, &n) in &requests {
        // Per server, every round's result.
        let mut runs: [Vec<Ab>; 2] = [Vec::new(), Vec::new()];
        for round in 1..=rounds {
            for (i, server) in [&httpd, &nginx].into_iter().enumerate() {
                settle(server, if server.name == "nginx" { nginx_workers } else { 0 });
                eprintln!("{}: ab -n {n} -c {concurrency} (round {round} of {rounds})", server.name);
                let result =
                    ab(&server.url(), n, concurrency).with_context(|| format!("{} under load", server.name))?;
                if result.failed != 0 || result.non_2xx != 0 || result.complete != n {
                    bail!("{}: {n} requests at {concurrency}: {result:?}", server.name);
                }
                if result.document_length != body.len() as u64 {
                    bail!("{}: ab saw documents of {} bytes, not {}", server.name, result.document_length, body.len());
                }
                runs[i].push(result);
            }
        }
        let results: Vec<Ab> = runs.iter().map(|r| median_of(r)).collect();
        let clients = if concurrency == 1 { "1 client".to_string() } else { format!("{concurrency} clients") };
        row(format!("requests/s, {clients}"), "1/s", results[0].requests_per_second, results[1].requests_per_second);
        latency.push((clients, results));
    }
    for (clients, results) in &latency {
        row(format!("p50 latency, {clients}"), "ms", results[0].p50_ms, results[1].p50_ms);
    }
    for (clients, results) in &latency {
        row(format!("p99 latency, {clients}"), "ms", results[0].p99_ms, results[1].p99_ms);
    }
    let load_end = load_average();
    let httpd_rss = rss_per_connection(&httpd, 0)?;
    let nginx_rss = rss_per_connection(&nginx, nginx_workers)?;
    row("RSS per open connection".to_string(), "KiB", httpd_rss, nginx_rss);

    let ratios = |prefix: &'static str| rows.iter().filter(move |r| r.metric.starts_with(prefix)).map(|r| r.ratio);
    let goal_throughput = ratios("requests/s").all(|r| r >= 0.5);
    let goal_p99 = ratios("p99").all(|r| r <= 2.0);
    Ok(Bench {
        machine: machine(),
        load_start,
        load_end,
        rounds,
        nginx: nginx_version(),
        requests,
        idle_connections: IDLE,
        rows,
        goal_throughput,
        goal_p99,
    })
}

/// The table README.md shows, and the goals.
pub fn markdown(bench: &Bench) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| metric | httpd | nginx | httpd/nginx |");
    let _ = writeln!(out, "|---|---|---|---|");
    for r in &bench.rows {
        let value = |v: f64| match r.unit {
            "1/s" => format!("{v:.0}"),
            "ms" => format!("{v:.2} ms"),
            _ => format!("{v:.1} {}", r.unit),
        };
        let _ = writeln!(out, "| {} | {} | {} | {:.2} |", r.metric, value(r.httpd), value(r.nginx), r.ratio);
    }
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let _ = writeln!(
        out,
        "\nGoals: requests/s at least half of nginx's at every level: {}; p99 at most 2x nginx's: {}.",
        verdict(bench.goal_throughput),
        verdict(bench.goal_p99)
    );
    let requests: Vec<String> = bench.requests.iter().map(|(c, n)| format!("{n} at {c}")).collect();
    let _ = writeln!(
        out,
        "{}; {}; ab without keep-alive, requests: {}, each level {} times per server, alternating \
         (medians); RSS with {} connections open mid-request; load average {} at the start, {} at the end.",
        bench.machine,
        bench.nginx,
        requests.join(", "),
        bench.rounds,
        bench.idle_connections,
        bench.load_start,
        bench.load_end
    );
    out
}

/// The httpd binary `bench` runs.
pub fn binary() -> PathBuf {
    paths::out_root().join("bench").join("httpd")
}

#[cfg(test)]
mod tests {
    use super::*;

    const AB: &str = "Server Software:        \nDocument Path:          /\nDocument Length:        35 bytes\n\n\
        Concurrency Level:      50\nComplete requests:      2000\nFailed requests:        3\n   (Connect: 0, Receive: 0, Length: 3, Exceptions: 0)\n\
        Non-2xx responses:      7\nRequests per second:    3005.55 [#/sec] (mean)\n";

    #[test]
    fn parses_ab() {
        let ab = Ab::parse(AB, "Percentage served,Time in ms\n0,1.195\n50,10.482\n99,155.653\n100,161.104\n").unwrap();
        assert_eq!((ab.complete, ab.failed, ab.non_2xx, ab.document_length), (2000, 3, 7, 35));
        assert_eq!((ab.requests_per_second, ab.p50_ms, ab.p99_ms), (3005.55, 10.482, 155.653));
        let clean = AB.replace("Non-2xx responses:      7\n", "");
        assert_eq!(Ab::parse(&clean, "50,1\n99,2\n").unwrap().non_2xx, 0);
        assert!(Ab::parse("", "").is_err());
    }

    #[test]
    fn medians_each_metric_apart() {
        let run = |rps: f64, p50: f64, p99: f64| Ab {
            complete: 10,
            failed: 0,
            non_2xx: 0,
            document_length: 35,
            requests_per_second: rps,
            p50_ms: p50,
            p99_ms: p99,
        };
        let m = median_of(&[run(100.0, 3.0, 9.0), run(300.0, 1.0, 7.0), run(200.0, 2.0, 80.0)]);
        assert_eq!((m.requests_per_second, m.p50_ms, m.p99_ms), (200.0, 2.0, 9.0));
        assert_eq!(median_of(&[run(5.0, 1.0, 1.0)]).requests_per_second, 5.0);
    }

    #[test]
    fn nginx_serves_one_file_without_keep_alive() {
        let config = nginx_config(Path::new("/tmp/x"), 9999, "text/plain; charset=utf-8");
        assert!(config.contains("keepalive_timeout 0;"));
        assert!(config.contains("daemon off;") && config.contains("pid /tmp/x/nginx.pid;"));
        assert!(config.contains("listen 127.0.0.1:9999;"));
        assert!(config.contains(r#"default_type "text/plain; charset=utf-8";"#));
    }
}
