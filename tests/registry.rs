//! `cargo xtask push` against a real registry (Debian's docker-registry, started here
//! on 127.0.0.1), read back by Docker and by skopeo; and every way a push can fail,
//! against a registry stand-in that answers what each case needs.
//! These tests need docker-registry, skopeo and a Docker engine (setup.sh installs
//! them); without them they fail.

mod common;

use std::{
    fs,
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command},
    time::{Duration, Instant},
};

use common::*;
use xtask::{arch::Arch, message::DEFAULT};

/// docker-registry serving a fresh store on a free loopback port; stopped on drop.
struct Registry {
    child: Child,
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
                dir.path().join("store").display()
            ),
        )
        .unwrap();
        // It logs every request (on stderr): the test counts uploads there.
        let log = dir.path().join("registry.log");
        let log_file = fs::File::create(&log).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", config.to_str().unwrap()])
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("docker-registry runs (setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {address}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry { child, address, log, _dir: dir }
    }

    /// How many blob uploads the registry has started so far.
    fn uploads_started(&self) -> usize {
        let log = fs::read_to_string(&self.log).unwrap();
        log.lines().filter(|l| l.contains("http.request.method=POST") && l.contains("/blobs/uploads/")).count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn arch(name: &str) -> &'static Arch {
    Arch::find(name).unwrap()
}

/// The config digest of an arch's image: what `docker image inspect` shows as its Id.
fn config_digest(arch: &Arch) -> String {
    let binary = fs::read(build_default(arch)).unwrap();
    xtask::oci::image::image(hello(), arch, &binary).unwrap().config.digest
}

#[test]
fn pushed_images_pull_and_run_and_a_second_push_uploads_nothing() {
    let registry = Registry::start();
    let reference = format!("{}/hello:latest", registry.address);
    let out = xtask(&["push", &reference]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    // Every distinct layer and config once (armv5 and armv6 binaries can be the same
    // bytes: one layer); the second copy of a blob is found already there.
    let n = xtask::arch::ARCHES.len();
    let blobs: Vec<String> = xtask::arch::ARCHES
        .iter()
        .flat_map(|arch| {
            let image = xtask::oci::image::image(hello(), arch, &fs::read(build_default(arch)).unwrap()).unwrap();
            [image.layer.digest, image.config.digest]
        })
        .collect();
    let distinct = blobs.iter().collect::<std::collections::BTreeSet<_>>().len();
    let want = format!("{n} platforms): {distinct} blobs uploaded, {} already there", 2 * n - distinct);
    assert!(said.contains(&want), "{said}");
    let started = registry.uploads_started();
    assert_eq!(started, distinct, "one upload per distinct layer and config");

    let docker = docker();
    let pull = |platform: &str| {
        let out = docker_cmd(&docker, &["pull", "--platform", platform, &reference]);
        assert!(out.status.success(), "docker pull {platform}: {}", String::from_utf8_lossy(&out.stderr));
    };
    for (platform, name) in [("linux/amd64", "x86_64"), ("linux/arm/v6", "armv6"), ("linux/arm64", "aarch64")] {
        pull(platform);
        let id = docker_cmd(&docker, &["image", "inspect", "--format", "{{.Id}}", &reference]);
        assert_eq!(
            String::from_utf8_lossy(&id.stdout).trim(),
            config_digest(arch(name)),
            "{platform} got another image"
        );
        let run = docker_cmd(&docker, &["run", "--rm", "--platform", platform, &reference]);
        assert_eq!((run.stdout.as_slice(), run.status.code()), (DEFAULT, Some(0)), "{platform}");
    }

    // Again: every blob is there, nothing is uploaded, the index is the same.
    let again = xtask(&["push", &reference]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let said_again = String::from_utf8_lossy(&again.stdout).to_string();
    assert!(said_again.contains(&format!("0 blobs uploaded, {} already there", 2 * n)), "{said_again}");
    assert_eq!(registry.uploads_started(), started, "the second push started uploads");
    let index = |s: &str| s.split("(index ").nth(1).and_then(|r| r.split(',').next()).map(str::to_string);
    assert_eq!(index(&said_again), index(&said));
}

/// An independent reader: skopeo inspects our archives and copies them into the
/// registry, where the manifest keeps its digest.
#[test]
fn skopeo_reads_and_copies_our_archives() {
    let registry = Registry::start();
    for name in ["x86_64", "armv7"] {
        let arch = arch(name);
        xtask_ok(&["image", name, "--no-load"]);
        let archive = format!("oci-archive:{}", xtask::paths::image_archive(hello(), arch).display());
        let binary = fs::read(build_default(arch)).unwrap();
        let image = xtask::oci::image::image(hello(), arch, &binary).unwrap();
        let inspect = |what: &str, tls: &[&str]| -> serde_json::Value {
            let out = Command::new("skopeo").arg("inspect").args(tls).arg(what).output().expect("skopeo runs");
            assert!(out.status.success(), "skopeo inspect {what}: {}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice(&out.stdout).unwrap()
        };
        let local = inspect(&archive, &[]);
        assert_eq!(local["Digest"], image.manifest.digest.as_str(), "{name}");
        assert_eq!(local["Architecture"], arch.platform.architecture, "{name}");
        assert_eq!(local["Layers"][0], image.layer.digest.as_str(), "{name}");
        let remote = format!("docker://{}/copied:{name}", registry.address);
        let copy = Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false", &archive, &remote])
            .output()
            .expect("skopeo runs");
        assert!(copy.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&copy.stderr));
        assert_eq!(inspect(&remote, &["--tls-verify=false"])["Digest"], image.manifest.digest.as_str(), "{name}");
    }
}

/// Status, headers and body of a stand-in's answer.
type Answer = (u16, Vec<(&'static str, String)>, String);

/// A request as the stand-in sees it: method, path, Host and Authorization headers.
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    host: &'a str,
    authorization: &'a str,
}

/// A registry stand-in: answers each request with what `answer` says, on a free
/// loopback port, until the test ends.
fn stand_in(answer: fn(&Request) -> Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let (mut length, mut host, mut authorization) = (0, String::new(), String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or((&line, ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = value.trim().to_string(),
                    "host" => host = value.trim().to_string(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let mut parts = request_line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let (status, headers, text) = answer(&Request { method, path, host: &host, authorization: &authorization });
            let mut response =
                format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", text.len());
            for (k, v) in headers {
                response += &format!("{k}: {v}\r\n");
            }
            response += "\r\n";
            response += &text;
            let _ = stream.write_all(response.as_bytes());
        }
    });
    address
}

/// `push` failing: one `error:` line containing `want`, exit status 1.
fn assert_push_fails(reference: &str, env: &[(&str, &str)], want: &str) {
    let out = xtask_with_env(&["push", reference, "x86_64"], env);
    assert_eq!(out.status.code(), Some(1), "push {reference}: want exit 1");
    let line = one_error_line(&out);
    assert!(line.contains(want), "push {reference}: {line:?} should say {want:?}");
}

#[test]
fn push_failures_are_one_clear_line() {
    build_default(arch("x86_64"));
    assert_push_fails("hello", &[], "is not REGISTRY/NAME");
    let out = xtask(&["push", "127.0.0.1:1/hello", "vax"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_error_line(&out).contains("unknown architecture `vax`"));
    assert_push_fails("127.0.0.1:1/Hello", &[], "lowercase");
    // Nothing listens on a port just freed.
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    assert_push_fails(&format!("{free}/hello"), &[], "cannot reach registry");

    let refusing = stand_in(|_| (500, vec![], r#"{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}"#.into()));
    assert_push_fails(&format!("{refusing}/hello"), &[], "answered 500 to GET /v2/: UNKNOWN (disk on fire)");

    let locked = stand_in(|_| (401, vec![("WWW-Authenticate", r#"Basic realm="test""#.into())], String::new()));
    assert_push_fails(&format!("{locked}/hello"), &[("DOCKER_CONFIG", "/nonexistent")], "wants credentials");
    let config = tempfile::tempdir().unwrap();
    let auth = "dXNlcjp3cm9uZw=="; // user:wrong
    fs::write(config.path().join("config.json"), format!(r#"{{"auths":{{"{locked}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    let config_dir = config.path().to_str().unwrap();
    assert_push_fails(
        &format!("{locked}/hello"),
        &[("DOCKER_CONFIG", config_dir)],
        "refused the credentials of `user`",
    );

    // Accepts everything but the blob's digest.
    let mismatch = stand_in(|r| match r.method {
        "HEAD" => (404, vec![], String::new()),
        "POST" => (202, vec![("Location", "/v2/hello/blobs/uploads/1".into())], String::new()),
        "PUT" => (400, vec![], r#"{"errors":[{"code":"DIGEST_INVALID","message":"digest did not match"}]}"#.into()),
        _ => (200, vec![], "{}".into()),
    });
    assert_push_fails(&format!("{mismatch}/hello"), &[], "DIGEST_INVALID");

    // Stores a manifest under another digest than ours.
    let wrong_digest = stand_in(|r| match r.method {
        "HEAD" => (200, vec![], String::new()),
        "PUT" => (201, vec![("Docker-Content-Digest", format!("sha256:{}", "0".repeat(64)))], String::new()),
        _ => (200, vec![], "{}".into()),
    });
    assert_push_fails(&format!("{wrong_digest}/hello"), &[], "digest mismatch");
}

/// A registry that wants a Bearer token: push asks the realm for one with the
/// configured credentials (Basic), then uses it; the blobs are all there already.
#[test]
fn push_fetches_a_bearer_token_with_the_configured_credentials() {
    build_default(arch("x86_64"));
    let registry = stand_in(|r| {
        let challenge = || ("WWW-Authenticate", format!(r#"Bearer realm="http://{}/token",service="test""#, r.host));
        match (r.method, r.path, r.authorization) {
            // user:secret, as config.json holds it
            (_, p, "Basic dXNlcjpzZWNyZXQ=")
                if p.starts_with("/token?") && p.contains("scope=repository%3Ahello%3Apull%2Cpush") =>
            {
                (200, vec![], r#"{"token":"t0ken"}"#.into())
            }
            (_, p, _) if p.starts_with("/token") => (401, vec![], String::new()),
            (_, _, auth) if auth != "Bearer t0ken" => (401, vec![challenge()], String::new()),
            ("HEAD", _, _) => (200, vec![], String::new()),
            ("PUT", _, _) => (201, vec![], String::new()),
            _ => (200, vec![], "{}".into()),
        }
    });
    let config = tempfile::tempdir().unwrap();
    fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#),
    )
    .unwrap();
    let out = xtask_with_env(
        &["push", &format!("{registry}/hello"), "x86_64"],
        &[("DOCKER_CONFIG", config.path().to_str().unwrap())],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 platforms): 0 blobs uploaded, 2 already there"), "{stdout}");
}
