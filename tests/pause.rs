//! pause on every arch: what Kubernetes' pause.c does, checked under qemu-user (or
//! natively) and under Docker, with both the xtask's image and the Dockerfile's.
//! Foreign binaries and images run through qemu-user (binfmt_misc); the Docker tests
//! need the engine setup.sh starts, and the local debian:bookworm-slim.

mod common;

use std::{
    fs,
    process::{Child, Command, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

use common::*;
use xtask::{arch::Arch, budgets, docker::Docker, program::Program};

fn pause() -> &'static Program {
    Program::find("pause").unwrap()
}

const VERSION: &str = concat!("pause ", env!("CARGO_PKG_VERSION"), "\n");

/// Generous: a stop must take well under Docker's 10 s kill timeout.
const STOP_BOUND: Duration = Duration::from_secs(5);

fn spawn(binary: &std::path::Path, args: &[&str]) -> Child {
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}

/// Send `signal` once `child` has blocked its signals (SigBlk in /proc; under qemu-user
/// it is qemu's own mask, so wait for the warning on stderr instead: written before).
fn signal_and_wait(mut child: Child, signal: &str) -> (Option<i32>, Duration, Vec<u8>) {
    sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + STOP_BOUND;
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), took, out.stderr)
}

#[test]
fn version_warning_and_signals_on_every_arch() {
    for arch in all_arches() {
        let binary = build_program(pause(), arch);
        let name = arch.name;
        for flag in ["-v", "-V"] {
            let out = spawn(&binary, &[flag, "--other"]).wait_with_output().unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), VERSION, "{name}: pause {flag}");
            assert_eq!(out.status.code(), Some(0), "{name}: pause {flag} exit status");
        }
        // As pause.c: only the first argument is looked at; with another first, it pauses.
        // `-`, the empty string and `-w` too: one load reads `-`, the letter and the
        // NUL at once on some arches (sys::arch::WORD_LOADS_ANYWHERE).
        for args in [&["--other", "-v"][..], &["-vv"], &["v"], &["-"], &[""], &["-w"], &["-v-"]] {
            let (code, _, stderr) = signal_and_wait(spawn(&binary, args), "TERM");
            assert_eq!((code, &stderr[..]), (Some(0), &b"pause: not PID 1\n"[..]), "{name}: pause {args:?} must pause");
        }
        for signal in ["TERM", "INT"] {
            let (code, took, stderr) = signal_and_wait(spawn(&binary, &[]), signal);
            assert_eq!(code, Some(0), "{name}: SIG{signal} must end pause with status 0");
            assert!(took < STOP_BOUND, "{name}: SIG{signal} took {took:?}");
            // Not PID 1 here: one line of warning, and it worked all the same.
            assert_eq!(stderr, b"pause: not PID 1\n", "{name}: stderr");
        }
        // Other signals are not its business: SIGUSR1 keeps its default action.
        let (code, _, _) = signal_and_wait(spawn(&binary, &[]), "USR1");
        assert_eq!(code, None, "{name}: SIGUSR1 should kill it by default");
    }
}

#[test]
fn is_one_static_segment_within_budget_and_in_the_readme() {
    let table = readme_section("pause-sizes");
    for arch in all_arches() {
        let bytes = fs::read(build_program(pause(), arch)).unwrap();
        check_structure(arch, &bytes);
        let budget = budgets::get(pause(), arch).unwrap();
        let size = bytes.len() as u64;
        assert!(size <= budget.binary, "{}: {size} bytes, over its budget of {}", arch.name, budget.binary);
        let want = format!("| {} | {} | {size} | {} |", arch.name, arch.platform.docker(), budget.binary);
        assert!(table.lines().any(|l| l.trim() == want), "README.md's pause table lacks {want}");
    }
}

fn docker_ok(docker: &Docker, args: &[&str]) -> String {
    let out = docker_cmd(docker, args);
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Start `image` detached, the way a pod sandbox would be locked down.
fn start(docker: &Docker, arch: &Arch, image: &str, name: &str) {
    docker_cmd(docker, &["rm", "-f", name]);
    let platform = arch.platform.docker();
    docker_ok(
        docker,
        &[
            "run",
            "-d",
            "--name",
            name,
            "--read-only",
            "--cap-drop",
            "ALL",
            "--network",
            "none",
            "--platform",
            &platform,
            image,
        ],
    );
}

/// Processes whose parent is `pid`, with their state letter, from the host's /proc.
fn children(pid: &str) -> Vec<(String, char)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.get(1) == Some(&pid) {
            found.push((entry.file_name().into_string().unwrap(), fields[0].chars().next().unwrap()));
        }
    }
    found
}

fn poll(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        sleep(Duration::from_millis(50));
    }
}

/// The stop of a running pause container: exit code 0, fast.
fn check_stop(docker: &Docker, name: &str, how: &[&str]) -> Duration {
    let started = Instant::now();
    let mut args = how.to_vec();
    args.push(name);
    docker_ok(docker, &args);
    poll(&format!("{name} to exit after {how:?}"), STOP_BOUND, || {
        docker_ok(docker, &["inspect", "--format", "{{.State.Running}}", name]) == "false"
    });
    let took = started.elapsed();
    let code = docker_ok(docker, &["inspect", "--format", "{{.State.ExitCode}}", name]);
    assert_eq!(code, "0", "{name}: exit code after {how:?}");
    took
}

#[test]
fn images_stop_at_once_reap_orphans_and_hold_the_dockerfile_bytes() {
    let docker = docker();
    let sh = xshell::Shell::new().unwrap();
    for arch in all_arches() {
        let name = arch.name;
        xtask_ok(&["image", "--program", "pause", name]);
        let image = format!("pause:{name}");
        let field = |f: &str| docker.inspect(&sh, &image, f).unwrap();
        assert_eq!(field("{{.Config.User}}"), "65535:65535", "{name}: user");
        assert_eq!(field("{{json .Config.Entrypoint}}"), r#"["/pause"]"#, "{name}: entrypoint");
        assert_eq!(field("{{.Architecture}}"), arch.platform.architecture, "{name}: architecture");

        let platform = arch.platform.docker();
        let version = docker_cmd(&docker, &["run", "--rm", "--platform", &platform, &image, "-v"]);
        assert_eq!(String::from_utf8_lossy(&version.stdout), VERSION, "{name}: docker run pause -v");

        // docker stop: SIGTERM, exit 0, long before the 10 s kill. The names carry our
        // pid: two suites sharing one engine must not remove each other's containers.
        let container = format!("pause-test-{name}-{}", std::process::id());
        start(&docker, arch, &image, &container);
        let pid = docker_ok(&docker, &["inspect", "--format", "{{.State.Pid}}", &container]);
        // An orphan in its PID namespace, as a pod's other containers would leave: the
        // subshell exits at once, its `sleep 3` goes to PID 1, pause. The joined
        // container lives on meanwhile (when it ends, Docker kills what is left in it).
        let joined = format!("container:{container}");
        let orphaner = format!("pause-orphaner-{name}-{}", std::process::id());
        docker_cmd(&docker, &["rm", "-f", &orphaner]);
        let script = "(sleep 3 &); exec sleep 60";
        docker_ok(
            &docker,
            &["run", "-d", "--name", &orphaner, "--pid", &joined, "debian:bookworm-slim", "sh", "-c", script],
        );
        poll(&format!("{name}: the orphan adopted by pause"), Duration::from_secs(10), || !children(&pid).is_empty());
        poll(&format!("{name}: no zombie left under pause"), Duration::from_secs(15), || children(&pid).is_empty());
        docker_cmd(&docker, &["rm", "-f", &orphaner]);
        let logs = docker_cmd(&docker, &["logs", &container]);
        assert!(logs.stdout.is_empty() && logs.stderr.is_empty(), "{name}: PID 1 prints nothing: {logs:?}");
        let took = check_stop(&docker, &container, &["stop"]);
        eprintln!("{name}: docker stop took {took:?}, {:.3} of the 10 s timeout", took.as_secs_f64() / 10.0);

        // docker kill -s INT: the same.
        start(&docker, arch, &image, &container);
        check_stop(&docker, &container, &["kill", "-s", "INT"]);
        docker_cmd(&docker, &["rm", "-f", &container]);

        // The Dockerfile's pause stage: the very bytes of the xtask's.
        check_dockerfile_bytes(&docker, pause(), arch);
    }
}

#[test]
fn refuses_a_message_and_an_unknown_program() {
    let out = xtask(&["build", "--program", "pause", "x86_64", "--message", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(one_error_line(&out).contains("pause prints no message"), "{:?}", out);
    let out = xtask(&["build", "--program", "nginx", "x86_64"]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.contains("unknown program `nginx`: expected one of hello, pause, httpd"), "{line}");
}

/// The report records how long `docker stop` takes, against Docker's 10 s timeout.
#[test]
fn the_report_records_the_stop_time() {
    let out = xtask(&["report", "--program", "pause", "--json", "x86_64"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report --json prints JSON");
    let row = &rows[0];
    assert_eq!(row["program"], "pause");
    let stop = row["stop_seconds"].as_f64().expect("stop_seconds with an engine");
    assert!(stop > 0.0 && stop < STOP_BOUND.as_secs_f64(), "docker stop took {stop} s");
    assert_eq!(row["message_bytes"], serde_json::Value::Null, "pause has no message");
}
