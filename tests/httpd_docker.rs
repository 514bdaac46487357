//! httpd's images under Docker on every arch (foreign ones through qemu-user), run as
//! a careful user would: read-only root, no capabilities, the port published on
//! 127.0.0.1 and [::1] only. The arches run side by side, each on its own host port.
//!
//! - GET and HEAD give the exact bytes over both published addresses (IPv6 reaches
//!   Docker's userland proxy, which forwards over IPv4: the engine runs its bridge
//!   without IPv6), and over IPv6 inside the container's own network namespace, where
//!   a second container turns IPv6 on (`--sysctl`) and curl runs through `nsenter -n`.
//! - ab's load run through the published port: every request complete, none failed,
//!   none non-2xx, each document the body's length.
//! - Hostile clients (silent, a byte a second, 16 KiB of headers, binary garbage,
//!   resets, 300 idle connections), sent to the container's own address on Docker's
//!   bridge so that they reach httpd itself rather than Docker's proxy; after each a
//!   normal request through the published port still gets the exact answer.
//! - `docker stop` (SIGTERM) and `docker kill -s INT` end it with exit code 0 at once.
//! - The IPv4 fallback (x86_64 and aarch64): under a seccomp profile that refuses
//!   AF_INET6 sockets it serves IPv4 alone.
//! - The Dockerfile's httpd stage holds the xtask's bytes (x86_64 and one foreign arch:
//!   each docker build takes minutes).
//!
//! Needs the engine setup.sh starts, curl, ab (apache2-utils), nsenter, and root (for
//! nsenter).

mod common;

use std::{
    net::SocketAddr,
    process::Command,
    thread::{self, sleep},
    time::{Duration, Instant},
};

use common::{http::*, *};
use xtask::{arch::Arch, bench, docker::Docker, program::Program};

fn httpd() -> &'static Program {
    Program::find("httpd").unwrap()
}

/// Generous: a stop must take well under Docker's 10 s kill timeout.
const STOP_BOUND: Duration = Duration::from_secs(5);
/// Idle connections held open while a normal request must still get through.
const IDLE: usize = 300;

/// A container, removed (`docker rm -f`) when dropped: also when a check fails.
struct Container {
    client: std::path::PathBuf,
    name: String,
}

impl Container {
    /// `docker run -d` httpd:<arch> locked down, with `extra` options.
    fn run(docker: &Docker, arch: &Arch, name: String, extra: &[&str]) -> Container {
        docker_cmd(docker, &["rm", "-f", &name]);
        let platform = arch.platform.docker();
        let image = format!("httpd:{}", arch.name);
        let mut args = vec!["run", "-d", "--name", &name, "--read-only", "--cap-drop", "ALL", "--platform", &platform];
        args.extend_from_slice(extra);
        args.push(&image);
        let out = docker_cmd(docker, &args);
        assert!(out.status.success(), "{}: docker run: {}", arch.name, text(&out.stderr));
        Container { client: docker.client.clone(), name }
    }

    fn inspect(&self, format: &str) -> String {
        let out = Command::new(&self.client).args(["inspect", "--format", format, &self.name]).output().unwrap();
        assert!(out.status.success(), "docker inspect {}: {}", self.name, text(&out.stderr));
        text(&out.stdout).trim().to_string()
    }

    /// httpd's own address and port on Docker's bridge.
    fn address(&self) -> SocketAddr {
        SocketAddr::new(self.inspect("{{.NetworkSettings.IPAddress}}").parse().unwrap(), 8080)
    }

    /// `docker <how...> <name>`; it must end with exit code 0 within STOP_BOUND. The time.
    fn stop(&self, how: &[&str]) -> Duration {
        let started = Instant::now();
        let out = Command::new(&self.client).args(how).arg(&self.name).output().unwrap();
        assert!(out.status.success(), "docker {how:?} {}: {}", self.name, text(&out.stderr));
        while self.inspect("{{.State.Running}}") != "false" {
            assert!(started.elapsed() < STOP_BOUND, "{}: still running {STOP_BOUND:?} after {how:?}", self.name);
            sleep(Duration::from_millis(20));
        }
        let took = started.elapsed();
        assert!(took < STOP_BOUND, "{}: {how:?} took {took:?}", self.name);
        assert_eq!(self.inspect("{{.State.ExitCode}}"), "0", "{}: exit code after {how:?}", self.name);
        took
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(&self.client).args(["rm", "-f", &self.name]).output();
    }
}

/// Wait until `at` answers a GET in full (the container is up and httpd listens).
fn wait_serving(name: &str, at: SocketAddr) {
    let deadline = Instant::now() + ANSWER_BOUND * 2;
    loop {
        let answered = std::net::TcpStream::connect_timeout(&at, Duration::from_secs(1)).is_ok_and(|mut s| {
            use std::io::{Read, Write};
            let mut answer = Vec::new();
            s.set_read_timeout(Some(ANSWER_BOUND)).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\n\r\n").is_ok() && s.read_to_end(&mut answer).is_ok() && !answer.is_empty()
        });
        if answered {
            return;
        }
        assert!(Instant::now() < deadline, "{name}: httpd does not answer at {at}");
        sleep(Duration::from_millis(50));
    }
}

/// A run of `docker run` names that no other test run on this engine uses.
fn container_name(what: &str, arch: &Arch) -> String {
    format!("httpd-test-{what}-{}-{}", arch.name, std::process::id())
}

/// What one arch's run took, for the log.
struct Timings {
    name: &'static str,
    total: Duration,
    image: Duration,
    idle: Duration,
    load: Duration,
    stop: Duration,
}

fn check_arch(docker: &Docker, arch: &'static Arch) -> Timings {
    let started = Instant::now();
    let name = arch.name;
    xtask_ok(&["image", "--program", "httpd", name]);
    let image_took = started.elapsed();
    let image = format!("httpd:{name}");
    let sh = xshell::Shell::new().unwrap();
    let field = |f: &str| docker.inspect(&sh, &image, f).unwrap();
    assert_eq!(field("{{.Config.User}}"), "65534:65534", "{name}: user");
    assert_eq!(field("{{json .Config.ExposedPorts}}"), r#"{"8080/tcp":{}}"#, "{name}: exposed ports");
    assert_eq!(field("{{.Architecture}}"), arch.platform.architecture, "{name}: architecture");

    let get = text(&expected_get());
    let head = expected_head(body().len());
    let port = free_port();
    let published = [format!("127.0.0.1:{port}:8080"), format!("[::1]:{port}:8080")];
    let server =
        Container::run(docker, arch, container_name("serve", arch), &["-p", &published[0], "-p", &published[1]]);
    let direct = server.address();
    wait_serving(name, local(port));

    // A normal request, through the published port: the exact answer.
    let url = format!("http://127.0.0.1:{port}/");
    let normal = |after: &str| {
        assert_eq!(text(&curl_ok(name, &["--include", &url])), get, "{name}: GET after {after}");
    };
    for host in ["127.0.0.1", "[::1]"] {
        let url = format!("http://{host}:{port}/any/path?q=1");
        assert_eq!(text(&curl_ok(name, &["--include", &url])), get, "{name}: GET over {host}");
        assert_eq!(text(&curl_ok(name, &["--head", &url])), head, "{name}: HEAD over {host}");
    }
    assert_eq!(text(&exchange(name, direct, b"HEAD / HTTP/1.1\r\n\r\n")), head, "{name}: HEAD sends no body");

    // Hostile clients, each then followed by a normal request.
    let silent = connect(direct);
    let slow = SlowClient::start(direct, 3);
    normal("a silent client connected, a slow one sending");
    oversized_headers(name, direct);
    normal("16 KiB of headers");
    garbage(name, direct);
    normal("binary garbage");
    resets(direct);
    sleep(Duration::from_millis(100));
    normal("resets mid-request");
    slow.finish(name);
    normal("a byte a second");
    drop(silent);
    normal("the silent client left");
    let idle_started = Instant::now();
    let idle = idle_connections(name, direct, IDLE);
    normal(&format!("{IDLE} idle connections"));
    let idle_took = idle_started.elapsed();
    drop(idle);

    // Load: no failed, short or non-2xx answer (qemu-user forks an emulator per
    // connection: fewer there).
    let (requests, concurrency) = if cfg!(target_arch = "x86_64") && name == "x86_64" { (2000, 50) } else { (300, 20) };
    let load_started = Instant::now();
    let ab = bench::ab(&url, requests, concurrency).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let load = load_started.elapsed();
    assert_eq!(ab.complete, requests, "{name}: ab's complete requests");
    assert_eq!(ab.failed, 0, "{name}: ab's failed requests");
    assert_eq!(ab.non_2xx, 0, "{name}: ab's non-2xx responses");
    assert_eq!(ab.document_length, body().len() as u64, "{name}: ab's document length");
    normal("the load run");
    let logs = docker_cmd(docker, &["logs", &server.name]);
    assert!(logs.stdout.is_empty() && logs.stderr.is_empty(), "{name}: httpd printed {logs:?}");
    let stop = server.stop(&["stop"]);

    // IPv6 inside the container: Docker turns it off in a container's namespace unless
    // asked; httpd's one socket serves both there.
    let v6 = Container::run(
        docker,
        arch,
        container_name("ipv6", arch),
        &["--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.lo.disable_ipv6=0"],
    );
    wait_serving(name, v6.address());
    let pid = v6.inspect("{{.State.Pid}}");
    for host in ["[::1]", "127.0.0.1"] {
        let url = format!("http://{host}:8080/");
        let inside = |flag: &str| {
            let max_time = ANSWER_BOUND.as_secs().to_string();
            let out = Command::new("nsenter")
                .args(["-t", &pid, "-n", "curl", "--silent", "--show-error", "--max-time", &max_time, flag, &url])
                .output()
                .expect("nsenter runs (util-linux; as root)");
            assert!(out.status.success(), "{name}: nsenter curl {flag} {url}: {}", text(&out.stderr));
            text(&out.stdout)
        };
        assert_eq!(inside("--include"), get, "{name}: GET over {host} inside the container");
        assert_eq!(inside("--head"), head, "{name}: HEAD over {host} inside the container");
    }
    v6.stop(&["kill", "-s", "INT"]);
    Timings { name, total: started.elapsed(), image: image_took, idle: idle_took, load, stop }
}

#[test]
fn images_serve_exact_bytes_under_load_and_hostile_clients_and_stop_at_once() {
    let docker = docker();
    let started = Instant::now();
    let threads: Vec<_> = all_arches()
        .map(|arch| {
            let docker = Docker { client: docker.client.clone() };
            (arch.name, thread::spawn(move || check_arch(&docker, arch)))
        })
        .collect();
    let mut failures = Vec::new();
    for (name, t) in threads {
        match t.join() {
            Ok(t) => eprintln!(
                "{:<12} {:>5.1} s in all; xtask image {:>5.1} s; {IDLE} idle + a GET {:>4.1} s; ab {:>4.1} s; \
                 docker stop {:>4.2} s",
                t.name,
                t.total.as_secs_f64(),
                t.image.as_secs_f64(),
                t.idle.as_secs_f64(),
                t.load.as_secs_f64(),
                t.stop.as_secs_f64()
            ),
            Err(panic) => {
                failures.push(format!("{name}: {}", panic_message(&*panic)));
            }
        }
    }
    eprintln!("every arch: {:.1} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} arches failed:\n{}", failures.len(), failures.join("\n"));
}

/// A seccomp profile that lets every system call through but socket(AF_INET6, ...),
/// which fails with EAFNOSUPPORT, as on a kernel without IPv6 (`ipv6.disable=1`).
/// (Turning IPv6 off with a sysctl is no test: AF_INET6 sockets still open then.)
const NO_IPV6_SOCKETS: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
     "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]}
  ]
}"#;

/// The IPv4 fallback: where no IPv6 socket can be made, httpd serves on a plain IPv4
/// socket. In a container whose seccomp profile refuses AF_INET6 sockets (and whose
/// namespace does have `::1`, so that a dual-stack socket would answer there), GET over
/// IPv4 gets the exact answer, [::1] is refused (the socket really is IPv4 alone), and
/// `docker stop` still ends it with 0. The host's arch and one foreign arch (qemu-user
/// makes the guest's socket call as its own, so the profile reaches it too).
#[test]
fn serves_ipv4_alone_where_no_ipv6_socket_can_be_made() {
    let docker = docker();
    let mut profile = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut profile, NO_IPV6_SOCKETS.as_bytes()).unwrap();
    let seccomp = format!("seccomp={}", profile.path().display());
    for name in ["x86_64", "aarch64"] {
        let arch = Arch::find(name).unwrap();
        xtask_ok(&["image", "--program", "httpd", name]);
        let port = free_port();
        let published = format!("127.0.0.1:{port}:8080");
        let server = Container::run(
            &docker,
            arch,
            container_name("ipv4-only", arch),
            &[
                "--security-opt",
                &seccomp,
                "--sysctl",
                "net.ipv6.conf.all.disable_ipv6=0",
                "--sysctl",
                "net.ipv6.conf.lo.disable_ipv6=0",
                "-p",
                &published,
            ],
        );
        wait_serving(name, local(port));
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(text(&curl_ok(name, &["--include", &url])), text(&expected_get()), "{name}: GET over IPv4");
        let pid = server.inspect("{{.State.Pid}}");
        let inside = |host: &str| {
            let max_time = ANSWER_BOUND.as_secs().to_string();
            let url = format!("http://{host}:8080/");
            Command::new("nsenter")
                .args(["-t", &pid, "-n", "curl", "--silent", "--show-error", "--max-time", &max_time, &url])
                .output()
                .expect("nsenter runs (util-linux; as root)")
        };
        let v4 = inside("127.0.0.1");
        assert!(v4.status.success(), "{name}: curl 127.0.0.1 inside: {}", text(&v4.stderr));
        assert_eq!(v4.stdout, body(), "{name}: the body over IPv4 inside the container");
        // curl's exit code 7: could not connect (refused), not a timeout or a reset.
        let v6 = inside("[::1]");
        assert_eq!(v6.status.code(), Some(7), "{name}: [::1] must be refused: {}", text(&v6.stderr));
        server.stop(&["stop"]);
    }
}

/// `docker build --target httpd` gives the very bytes of `cargo xtask build --program
/// httpd`: on the host's arch and one foreign arch (a docker build takes minutes; the
/// Dockerfiles are written from one template, and tests/images.rs and tests/pause.rs
/// cover the other stages on every arch).
#[test]
fn dockerfile_stage_holds_the_xtask_bytes() {
    let docker = docker();
    for name in ["x86_64", "aarch64"] {
        let arch = Arch::find(name).unwrap();
        let image = check_dockerfile_bytes(&docker, httpd(), arch);
        let field = |f: &str| docker.inspect(&xshell::Shell::new().unwrap(), &image, f).unwrap();
        assert_eq!(field("{{json .Config.ExposedPorts}}"), r#"{"8080/tcp":{}}"#, "{name}: exposed ports");
        assert_eq!(field("{{.Config.User}}"), "65534:65534", "{name}: user");
    }
}
