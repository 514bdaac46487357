//! httpd on every arch, under qemu-user (foreign arches, through binfmt_misc) or
//! natively: exact bytes for GET and HEAD over IPv4 and IPv6, 405 and 431, and
//! hostile clients (silent, oversized, reset mid-request, a body it does not read)
//! that must neither stop others from being served nor make a client see a reset;
//! SIGTERM and SIGINT end it with status 0 at once. The arches run side by side,
//! each on its own port, chosen free at run time and built in (HTTPD_PORT).
//! Needs curl.

mod common;

use std::{
    fs,
    io::{ErrorKind, Read, Write},
    net::{Ipv6Addr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Barrier},
    thread::{self, sleep},
    time::{Duration, Instant},
};

use common::{http::*, *};
use xtask::{arch::Arch, budgets, program::Program};

fn httpd() -> &'static Program {
    Program::find("httpd").unwrap()
}

/// How long a connection may live (TIMEOUT_SECONDS in crates/httpd/src/main.rs).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Generous: a stop must take well under Docker's 10 s kill timeout.
const STOP_BOUND: Duration = Duration::from_secs(5);
/// Build httpd for `arch` listening on `port`, into its own file.
fn build_with_port(arch: &Arch, port: u16) -> PathBuf {
    let out = xtask::paths::out_root().join("httpd-test").join(arch.name).join("httpd");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build", "--program", "httpd", arch.name, "--out", out.to_str().unwrap()])
        .env("HTTPD_PORT", port.to_string())
        .env_remove("HTTPD_BODY_FILE")
        .env_remove("HTTPD_CONTENT_TYPE")
        .env_remove("HTTPD_STATUS")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}: build failed:\n{}", arch.name, String::from_utf8_lossy(&output.stderr));
    out
}

/// A running server; killed (SIGKILL) when dropped, if still running.
struct Server {
    child: Child,
    name: &'static str,
}

impl Server {
    /// Start `binary` and wait until it accepts connections on `port`.
    fn start(binary: &Path, port: u16, name: &'static str) -> Server {
        let child = Command::new(binary)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot run {}: {e}", binary.display()));
        let mut server = Server { child, name };
        let deadline = Instant::now() + ANSWER_BOUND;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(server.child.try_wait().unwrap().is_none(), "{name}: the server exited at start");
            assert!(Instant::now() < deadline, "{name}: not listening on {port} within {ANSWER_BOUND:?}");
            sleep(Duration::from_millis(20));
        }
        server
    }

    fn assert_running(&mut self, after: &str) {
        let status = self.child.try_wait().unwrap();
        assert!(status.is_none(), "{}: the server exited ({status:?}) after {after}", self.name);
    }

    /// Send `signal`; the exit status and how long the server took to exit.
    fn stop(mut self, signal: &str) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let status = Command::new("kill").args(["-s", signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        while self.child.try_wait().unwrap().is_none() && started.elapsed() < STOP_BOUND {
            sleep(Duration::from_millis(10));
        }
        let took = started.elapsed();
        let _ = self.child.kill();
        (self.child.wait().unwrap().code(), took)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything one arch's server must do, on its own port.
fn check_arch(arch: &'static Arch, port: u16) {
    let name = arch.name;
    let binary = build_with_port(arch, port);
    let get = expected_get();
    let head = expected_head(body().len());
    let at = local(port);

    // The port taken: exit 1 at once (not a server on some other port, not a hang).
    let holder = TcpListener::bind((Ipv6Addr::UNSPECIFIED, port)).unwrap();
    let out = Command::new(&binary).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{name}: with the port taken it must exit 1");
    drop(holder);

    let mut server = Server::start(&binary, port, name);
    // A client that connects and sends nothing, held open meanwhile: nothing below
    // may wait for it.
    let silent = connect(at);
    let silent_since = Instant::now();
    silent.set_read_timeout(Some(CONNECTION_TIMEOUT * 3)).unwrap();

    // GET over IPv4 and IPv6: the exact bytes, headers and body.
    for host in ["127.0.0.1", "[::1]"] {
        let url = format!("http://{host}:{port}/any/path?q=1");
        let started = Instant::now();
        assert_eq!(text(&curl_ok(name, &["--include", &url])), text(&get), "{name}: GET over {host}");
        let took = started.elapsed();
        assert!(took < ANSWER_BOUND, "{name}: GET over {host} took {took:?} with a silent client connected");
        // HEAD: the same headers, no body (curl stops at the headers, so ask raw too).
        assert_eq!(text(&curl_ok(name, &["--head", &url])), head, "{name}: HEAD over {host}");
    }
    let raw_head = exchange(name, at, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(text(&raw_head), head, "{name}: HEAD sends the headers and no body");
    // HTTP/1.0, and bare LF line ends (RFC 9112 lets a server accept them).
    assert_eq!(text(&exchange(name, at, b"GET / HTTP/1.0\r\n\r\n")), text(&get), "{name}: HTTP/1.0 GET");
    assert_eq!(text(&exchange(name, at, b"GET / HTTP/1.0\n\n")), text(&get), "{name}: GET with LF line ends");
    // A request sent a byte at a time is read whole all the same.
    {
        let mut stream = connect(at);
        for byte in b"GET / HTTP/1.1\r\nHost: slow\r\n\r\n" {
            stream.write_all(&[*byte]).unwrap();
            stream.flush().unwrap();
            sleep(Duration::from_millis(2));
        }
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert_eq!(text(&answer), text(&get), "{name}: GET sent byte by byte");
    }

    // Other methods: 405 with Allow, also when the client sends a body it never reads.
    let url = format!("http://127.0.0.1:{port}/");
    let post = curl_ok(name, &["--include", "--request", "POST", "--data", "a=1", &url]);
    assert_eq!(text(&post), text(NOT_ALLOWED), "{name}: POST");
    for method in ["PUT", "DELETE", "OPTIONS", "HEADX", "get"] {
        let request = format!("{method} / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(text(&exchange(name, at, request.as_bytes())), text(NOT_ALLOWED), "{name}: {method}");
    }
    let mut big_post = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 262144\r\n\r\n".to_vec();
    big_post.resize(big_post.len() + 262144, b'x');
    assert_eq!(text(&exchange(name, at, &big_post)), text(NOT_ALLOWED), "{name}: POST with 256 KiB unread");

    // Headers that do not end within 8 KiB: 431, and no reset though most is unread.
    oversized_headers(name, at);
    let mut endless = b"GET / HTTP/1.1\r\nX: ".to_vec();
    endless.resize(8192, b'a');
    assert_eq!(text(&exchange(name, at, &endless)), text(TOO_LARGE), "{name}: 8 KiB, no end of headers");
    // Just under the limit is fine: the headers end at byte 8192.
    let mut largest = b"GET / HTTP/1.1\r\nX: ".to_vec();
    largest.resize(8192 - 4, b'a');
    largest.extend_from_slice(b"\r\n\r\n");
    assert_eq!(text(&exchange(name, at, &largest)), text(&get), "{name}: headers of exactly 8 KiB");

    // A client that resets mid-request: the server goes on.
    resets(at);
    sleep(Duration::from_millis(100));
    server.assert_running("clients reset their connections");
    assert_eq!(text(&curl_ok(name, &["--include", &url])), text(&get), "{name}: GET after resets");

    // Many clients at once, all answered in full (500 natively; qemu-user forks a
    // whole emulator per connection, so fewer there).
    let clients = if cfg!(target_arch = "x86_64") && name == "x86_64" { 500 } else { 50 };
    let barrier = Arc::new(Barrier::new(clients));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_read_timeout(Some(ANSWER_BOUND * 3))?;
                barrier.wait();
                stream.write_all(b"GET / HTTP/1.1\r\nHost: many\r\n\r\n")?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer)?;
                Ok::<_, std::io::Error>(answer)
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let answer = t.join().unwrap().unwrap_or_else(|e| panic!("{name}: client {i} of {clients}: {e}"));
        assert_eq!(text(&answer), text(&get), "{name}: client {i} of {clients}");
    }

    // The silent client is cut off after the connection timeout, not before, not never.
    let mut silent = silent;
    let mut nothing = Vec::new();
    let result = silent.read_to_end(&mut nothing);
    let lived = silent_since.elapsed();
    assert!(
        matches!(&result, Ok(0)) || matches!(&result, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{name}: the silent client: {result:?}"
    );
    assert!(nothing.is_empty(), "{name}: the silent client got {nothing:?}");
    assert!(
        lived > CONNECTION_TIMEOUT - Duration::from_secs(1) && lived < CONNECTION_TIMEOUT * 2,
        "{name}: the silent connection lived {lived:?}, want about {CONNECTION_TIMEOUT:?}"
    );
    server.assert_running("all that");

    // SIGTERM and SIGINT: exit 0, at once.
    let (code, took) = server.stop("TERM");
    assert_eq!(code, Some(0), "{name}: SIGTERM must end httpd with status 0");
    assert!(took < STOP_BOUND, "{name}: SIGTERM took {took:?}");
    let server = Server::start(&binary, port, name);
    let (code, took) = server.stop("INT");
    assert_eq!(code, Some(0), "{name}: SIGINT must end httpd with status 0");
    assert!(took < STOP_BOUND, "{name}: SIGINT took {took:?}");
    // Other signals keep their default action: SIGUSR1 kills it.
    let server = Server::start(&binary, port, name);
    let (code, _) = server.stop("USR1");
    assert_eq!(code, None, "{name}: SIGUSR1 should kill it by default");
}

#[test]
fn serves_exact_bytes_and_survives_hostile_clients_on_every_arch() {
    // Each arch on its own port, all at once: the connection timeout alone is 10 s.
    let threads: Vec<_> =
        all_arches().map(|arch| (arch.name, thread::spawn(move || check_arch(arch, free_port())))).collect();
    let mut failures = Vec::new();
    for (name, t) in threads {
        if let Err(panic) = t.join() {
            failures.push(format!("{name}: {}", panic_message(&*panic)));
        }
    }
    assert!(failures.is_empty(), "{} arches failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn is_one_static_segment_within_budget_and_in_the_readme() {
    let table = readme_section("httpd-sizes");
    for arch in all_arches() {
        let bytes = fs::read(build_program(httpd(), arch)).unwrap();
        check_structure(arch, &bytes);
        let budget = budgets::get(httpd(), arch).unwrap();
        let size = bytes.len() as u64;
        assert!(size <= budget.binary, "{}: {size} bytes, over its budget of {}", arch.name, budget.binary);
        let want = format!("| {} | {} | {size} | {} |", arch.name, arch.platform.docker(), budget.binary);
        assert!(table.lines().any(|l| l.trim() == want), "README.md's httpd table lacks {want}");
    }
}

/// The default build serves on 8080 (checked in a network namespace of its own, so
/// that nothing else on the machine holds the port), and the Dockerfile exposes it.
/// Needs root for `unshare --net` (as the test machines run).
#[test]
fn listens_on_8080_by_default_and_exposes_it() {
    assert_eq!(httpd().ports, &[8080]);
    let dockerfile = fs::read_to_string(xtask::paths::project_root().join("Dockerfiles/x86_64")).unwrap();
    let stage = dockerfile.split("FROM scratch AS httpd\n").nth(1).expect("an httpd stage");
    let stage = stage.split("\nFROM ").next().unwrap();
    assert!(stage.contains("\nEXPOSE 8080\n"), "no EXPOSE 8080 in:\n{stage}");
    assert!(stage.contains("USER 65534:65534\n"), "httpd runs as nobody:\n{stage}");

    let arch = Arch::find("x86_64").unwrap();
    let binary = build_program(httpd(), arch);
    let script = r#"ip link set lo up || exit 2
"$0" & pid=$!
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.05; done
curl -s --include --max-time 5 "http://[::1]:8080/"; status=$?
kill -TERM $pid; wait $pid; echo "exit=$?"; exit $status"#;
    let out = Command::new("unshare")
        .args(["--net", "sh", "-c", script])
        .arg(&binary)
        .stdin(Stdio::null())
        .output()
        .expect("unshare runs");
    assert!(out.status.success(), "{:?}: {}", out.status, text(&out.stderr));
    let mut want = expected_get();
    want.extend_from_slice(b"exit=0\n");
    assert_eq!(text(&out.stdout), text(&want));
}

/// `cargo xtask bench --quick` runs both servers and prints every row with numbers
/// above zero, so the command cannot rot (the real run takes a minute: not a test).
/// Needs ab and nginx (setup.sh).
#[test]
fn bench_quick_measures_every_row_for_both_servers() {
    let out = xtask(&["bench", "--quick", "--json"]);
    assert!(out.status.success(), "bench --quick failed:\n{}", text(&out.stderr));
    let bench: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bench --json prints JSON");
    let rows = bench["rows"].as_array().unwrap();
    let metrics: Vec<&str> = rows.iter().map(|r| r["metric"].as_str().unwrap()).collect();
    let mut want = Vec::new();
    for prefix in ["requests/s", "p50 latency", "p99 latency"] {
        for clients in ["1 client", "50 clients", "500 clients"] {
            want.push(format!("{prefix}, {clients}"));
        }
    }
    want.push("RSS per open connection".to_string());
    assert_eq!(metrics, want);
    for row in rows {
        for column in ["httpd", "nginx", "ratio"] {
            let value = row[column].as_f64().unwrap_or(f64::NAN);
            assert!(value > 0.0 && value.is_finite(), "{}: {column} is {value}", row["metric"]);
        }
    }
    assert!(bench["goal_throughput"].is_boolean() && bench["goal_p99"].is_boolean());
    // And the table form: a row per metric.
    let out = xtask(&["bench", "--quick"]);
    assert!(out.status.success(), "bench --quick failed:\n{}", text(&out.stderr));
    let table = text(&out.stdout);
    for metric in &want {
        assert!(table.lines().any(|l| l.starts_with(&format!("| {metric} |"))), "no {metric} row in:\n{table}");
    }
}

/// README's table of what each feature costs is the one `cargo xtask report` prints,
/// line for line (x86_64 alone: each variant builds in seconds). The report itself
/// checks that the build with every feature is the default build to the byte.
#[test]
fn readme_feature_costs_are_the_reports() {
    let out = xtask(&["report", "--program", "httpd", "--no-docker", "x86_64"]);
    assert!(out.status.success(), "report failed:\n{}", text(&out.stderr));
    let table = |s: &str| s.lines().filter(|l| l.starts_with('|')).map(str::to_string).collect::<Vec<_>>();
    // The report's only table lines are the feature costs'.
    let measured = table(&text(&out.stdout));
    assert!(measured.len() > 3, "no feature table in the report:\n{}", text(&out.stdout));
    assert_eq!(table(&readme_section("httpd-features")), measured, "README.md's httpd-features table is stale");
    // And the JSON carries the same numbers.
    let out = xtask(&["report", "--program", "httpd", "--no-docker", "--json", "x86_64"]);
    assert!(out.status.success(), "report --json failed:\n{}", text(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let costs = &rows[0]["feature_costs"];
    let all = costs["all_bytes"].as_u64().unwrap();
    assert_eq!(all, rows[0]["binary_bytes"].as_u64().unwrap(), "all features is the default build");
    assert!(costs["none_bytes"].as_u64().unwrap() < all);
    for feature in costs["features"].as_array().unwrap() {
        let want = format!("| {} | {} |", feature["name"].as_str().unwrap(), feature["bytes"]);
        assert!(measured.iter().any(|l| l.starts_with(&want)), "no {want} in the report's table");
    }
}
