//! Talking to a Docker engine through its command-line client.
//!
//! Which client: $DOCKER if set; otherwise `docker` on PATH, or Debian's
//! /usr/bin/docker when the one on PATH cannot build (a client of 23 or later without
//! the buildx plugin has no BuildKit, and the Dockerfiles need it).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{arch::Arch, program::Program};

pub struct Docker {
    pub client: PathBuf,
}

impl Docker {
    /// A client whose engine answers, or one clear error saying what to do.
    pub fn connect(sh: &Shell) -> Result<Docker> {
        let mut last_error = String::from("no docker client found");
        for client in candidates() {
            // One `docker info`: its version on stdout when an engine answers, else
            // the client's reason on stderr.
            let format = "{{.ServerVersion}}";
            match cmd!(sh, "{client} info --format {format}").quiet().ignore_status().output() {
                Ok(o) if o.status.success() && !o.stdout.trim_ascii().is_empty() => return Ok(Docker { client }),
                Ok(o) => last_error = first_line(&String::from_utf8_lossy(&o.stderr)),
                Err(_) => last_error = format!("{} does not run", client.display()),
            }
        }
        bail!(
            "no Docker engine answered ({last_error}): start one (`bash setup.sh` starts dockerd here), \
             or set DOCKER to a client that reaches one"
        )
    }

    /// Like `connect`, but the client must be able to run BuildKit builds.
    pub fn connect_builder(sh: &Shell) -> Result<Docker> {
        let docker = Docker::connect(sh)?;
        if has_buildkit(sh, &docker.client) {
            return Ok(docker);
        }
        for client in candidates() {
            if has_buildkit(sh, &client)
                && cmd!(sh, "{client} info").quiet().ignore_stdout().ignore_stderr().run().is_ok()
            {
                return Ok(Docker { client });
            }
        }
        bail!(
            "{} cannot run BuildKit builds (no buildx plugin): install docker-buildx, or set DOCKER \
             to Debian's /usr/bin/docker (package docker.io)",
            docker.client.display()
        )
    }

    /// `docker load -i <archive>`; what it says goes to stderr, so that a command's
    /// stdout stays its own (`report --json`).
    pub fn load(&self, sh: &Shell, archive: &Path) -> Result<()> {
        let client = &self.client;
        eprintln!("$ {} load -i {}", client.display(), archive.display());
        let said = cmd!(sh, "{client} load -i {archive}").quiet().read().context("docker load failed")?;
        eprintln!("{said}");
        Ok(())
    }

    /// How long `docker stop` takes on a fresh container of `image` (for `platform`):
    /// what Kubernetes waits for when it tears a pod's sandbox down. Docker's own
    /// timeout is 10 s, after which it kills.
    pub fn stop_time(&self, sh: &Shell, image: &str, platform: &str) -> Result<std::time::Duration> {
        let client = &self.client;
        let id = cmd!(sh, "{client} run -d --rm --network none --platform {platform} {image}")
            .quiet()
            .read()
            .with_context(|| format!("docker run -d {image} failed"))?;
        // Give it the moment it needs to block its signals, as a pod's would have.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let started = std::time::Instant::now();
        cmd!(sh, "{client} stop {id}")
            .quiet()
            .ignore_stdout()
            .run()
            .with_context(|| format!("docker stop {image} failed"))?;
        Ok(started.elapsed())
    }

    /// `docker image inspect --format <format> <image>`, trimmed.
    pub fn inspect(&self, sh: &Shell, image: &str, format: &str) -> Result<String> {
        let client = &self.client;
        let out = cmd!(sh, "{client} image inspect --format {format} {image}")
            .quiet()
            .read()
            .with_context(|| format!("docker image inspect {image} failed"))?;
        Ok(out.trim().to_string())
    }

    /// Build `program`'s stage of `Dockerfiles/<arch>` for the arch's platform with
    /// BuildKit, tagged `tag`. `message` is passed as `--build-arg MESSAGE` when given;
    /// the host's CA bundle, when there is one, as the `cacerts` secret (for
    /// TLS-intercepting proxies).
    pub fn build_dockerfile(
        &self,
        sh: &Shell,
        program: &Program,
        arch: &Arch,
        tag: &str,
        message: Option<&[u8]>,
    ) -> Result<()> {
        let root = crate::paths::project_root();
        let dockerfile = root.join("Dockerfiles").join(arch.name);
        if !dockerfile.is_file() {
            bail!("no Dockerfile for {}: {} is missing", arch.name, dockerfile.display());
        }
        let mut args: Vec<String> = vec![format!("--target={}", program.name)];
        if let Some(m) = message {
            if m.contains(&0) {
                bail!(
                    "a message with a NUL byte cannot travel in a build argument: use `cargo xtask image --message-file`"
                );
            }
            let text = std::str::from_utf8(m).context("a build argument must be UTF-8")?;
            args.push(format!("--build-arg=MESSAGE={text}"));
        }
        let ca = Path::new("/etc/ssl/certs/ca-certificates.crt");
        if ca.is_file() {
            args.push(format!("--secret=id=cacerts,src={}", ca.display()));
        }
        let (client, platform) = (&self.client, arch.platform.docker());
        cmd!(sh, "{client} build --platform {platform} -f {dockerfile} -t {tag} {args...} {root}")
            .env("DOCKER_BUILDKIT", "1")
            .run()
            .with_context(|| format!("docker build of {} failed", dockerfile.display()))?;
        Ok(())
    }
}

fn candidates() -> Vec<PathBuf> {
    match std::env::var_os("DOCKER") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![PathBuf::from("docker"), PathBuf::from("/usr/bin/docker")],
    }
}

/// The client has the buildx plugin, or is older than 23 (BuildKit built in).
fn has_buildkit(sh: &Shell, client: &Path) -> bool {
    if cmd!(sh, "{client} buildx version").quiet().ignore_stdout().ignore_stderr().run().is_ok() {
        return true;
    }
    let format = "{{.Client.Version}}";
    let version = cmd!(sh, "{client} version --format {format}").quiet().ignore_stderr().read();
    version.ok().and_then(|v| v.trim().split('.').next()?.parse::<u32>().ok()).is_some_and(|major| major < 23)
}

fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no answer").to_string()
}
