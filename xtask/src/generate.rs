//! `cargo xtask generate`: the files written from the arch and program tables, so that
//! no copy is kept by hand. tests/layout.rs checks that the committed files are what
//! this writes.
//!
//! - `Dockerfiles/<arch>`: one per arch, with an image stage per program. The last
//!   stage is hello's, so `docker build -f Dockerfiles/<arch> .` builds hello;
//!   `--target pause` builds pause. All programs share the builder stage (toolchain
//!   and xtask, built once for all arches) and the arch's compiled core.
//! - `Makefile.toml`: the cargo-make tasks, one `image-<arch>` (hello) and one
//!   `image-<program>-<arch>` per other program and arch.

use std::fmt::Write as _;

use anyhow::Result;

use crate::{
    arch::{ARCHES, Arch},
    fsutil, paths,
    program::{self, PROGRAMS, Program},
};

const BUILDER: &str = r#"# Programs for {arch} ({platform}), built from source; each image holds one binary.
#
#   DOCKER_BUILDKIT=1 docker build --platform {platform} -f Dockerfiles/{arch} -t hello:{arch} .
#   DOCKER_BUILDKIT=1 docker build --platform {platform} -f Dockerfiles/{arch} --target pause -t pause:{arch} .
#   DOCKER_BUILDKIT=1 docker build --platform {platform} -f Dockerfiles/{arch} --target httpd -t httpd:{arch} .
#
# --target PROGRAM          {programs} (default: the last stage, hello)
# --build-arg MESSAGE=...   hello's bytes to print (default "Hello Docker World!" and a newline)
# --secret id=cacerts,src=/etc/ssl/certs/ca-certificates.crt
#                           CA bundle for the cargo steps behind a TLS-intercepting proxy
#
# Written by `cargo xtask generate` from xtask/src/generate.rs: edit that, not this.

# The builder runs on the build machine's own platform and cross-compiles.
FROM --platform=$BUILDPLATFORM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      rustc-web cargo-web rust-web-src rust-web-llvm lld-22 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV CARGO_HOME=/cargo
WORKDIR /src
COPY . .
RUN --mount=type=secret,id=cacerts,target=/etc/ssl/certs/ca-certificates.crt \
    cargo build --locked --release --package xtask
"#;

/// Every program without a message, built in one stage on top of the shared builder:
/// core is compiled once per arch, and a later build of another program reuses it.
const PROGRAMS_STAGE: &str = r#"
# Programs without a build argument, in one stage: core is compiled once for {arch}.
FROM build AS programs
"#;

const PROGRAM_BUILD: &str = r#"RUN --mount=type=secret,id=cacerts,target=/etc/ssl/certs/ca-certificates.crt \
    target/release/xtask build --program {program} {arch}
"#;

/// The build of a program that prints a message, on top of the others (it reuses
/// their core): the MESSAGE build argument.
const MESSAGE_BUILD_STAGE: &str = r#"
FROM programs AS {program}-build
ARG MESSAGE
# An unset MESSAGE means the default message; a set but empty one is refused.
RUN --mount=type=secret,id=cacerts,target=/etc/ssl/certs/ca-certificates.crt \
    if [ "${MESSAGE+set}" = set ]; then export HELLO_MESSAGE="$MESSAGE"; fi; \
    target/release/xtask build --program {program} {arch}
"#;

/// A program's image: its binary alone. `{expose}` is an EXPOSE line for a program
/// that listens, or nothing.
const IMAGE_STAGE: &str = r#"
FROM scratch AS {program}
COPY --from={stage} /src/target/hello/{arch}/{program} {entrypoint}
USER {user}
{expose}ENTRYPOINT ["{entrypoint}"]
"#;

/// `EXPOSE 8080` (and further ports) for a program that listens; empty otherwise.
fn expose(program: &Program) -> String {
    match program.ports {
        [] => String::new(),
        ports => format!("EXPOSE {}\n", ports.iter().map(u16::to_string).collect::<Vec<_>>().join(" ")),
    }
}

/// The Dockerfile of `arch`: the default program's stages last.
pub fn dockerfile(arch: &Arch) -> String {
    let fill = |text: &str, p: &Program| {
        let stage = if p.takes_message() { format!("{}-build", p.name) } else { "programs".to_string() };
        text.replace("{stage}", &stage)
            .replace("{program}", p.name)
            .replace("{entrypoint}", &p.entrypoint())
            .replace("{user}", p.user)
            .replace("{expose}", &expose(p))
    };
    let mut out = BUILDER.replace("{programs}", &program::names().join(", ")) + PROGRAMS_STAGE;
    let (with_message, without): (Vec<&Program>, Vec<&Program>) = PROGRAMS.iter().partition(|p| p.takes_message());
    for p in &without {
        out += &fill(PROGRAM_BUILD, p);
    }
    for p in &with_message {
        out += &fill(MESSAGE_BUILD_STAGE, p);
    }
    // The default program's image last: what `docker build` makes without --target.
    let others = PROGRAMS.iter().filter(|p| p.name != program::DEFAULT.name);
    for p in others.chain([program::DEFAULT]) {
        out += &fill(IMAGE_STAGE, p);
    }
    out.replace("{arch}", arch.name).replace("{platform}", &arch.platform.docker())
}

/// The cargo-make task that builds and loads `program`'s image for `arch`.
pub fn image_task(program: &Program, arch: &Arch) -> String {
    match program.name == program::DEFAULT.name {
        true => format!("image-{}", arch.name),
        false => format!("image-{}-{}", program.name, arch.name),
    }
}

/// The task that builds every arch's image of `program`.
pub fn images_task(program: &Program) -> String {
    format!("images-{}", program.name)
}

const MAKEFILE_HEAD: &str = r#"# cargo-make tasks: each one is a single xtask (or cargo) call; the logic lives in xtask/.
# A custom message: HELLO_MESSAGE='Hi!' cargo make image-x86_64
# (or HELLO_MESSAGE_FILE=path for bytes an environment variable cannot hold, like NUL).
#
# Written by `cargo xtask generate` from xtask/src/generate.rs: edit that, not this.

[config]
# Run each task once at the workspace root, not once per member crate.
default_to_workspace = false
skip_core_tasks = true
"#;

/// The tasks that are not per program and arch: name, description, xtask arguments.
const TASKS: &[(&str, &str, &[&str])] = &[
    ("build", "Build, shrink and check every hello binary (target/hello/<arch>/hello)", &["xtask", "build"]),
    (
        "kernel-test",
        "Boot real Linux kernels in qemu-system with each program, as /init and from a shell",
        &["xtask", "kernel-test"],
    ),
    ("report", "hello's size table: binary, overhead, budget, image and pull bytes", &["xtask", "report"]),
    (
        "bench",
        "httpd against nginx-light on this machine: requests/s and p50/p99 at 1, 50, 500 clients, RSS per connection",
        &["xtask", "bench"],
    ),
    (
        "compare",
        "Sizes after strip, sstrip and our minimizer, for ours and foreign static programs",
        &["xtask", "compare"],
    ),
];

/// Makefile.toml.
pub fn makefile() -> String {
    let mut out = MAKEFILE_HEAD.to_string();
    let mut task = |name: &str, description: &str, args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        let _ = write!(
            out,
            "\n[tasks.{name}]\ndescription = {description:?}\ncommand = \"cargo\"\nargs = [{}]\n",
            args.join(", ")
        );
    };
    for p in PROGRAMS {
        for arch in ARCHES {
            let description =
                format!("Build {}:{} ({}) and load it into Docker", p.image, arch.name, arch.platform.docker());
            task(&image_task(p, arch), &description, &["xtask", "image", "--program", p.name, arch.name]);
        }
        let description = format!("Build every arch's {} image and load it into Docker", p.image);
        task(&images_task(p), &description, &["xtask", "image", "--program", p.name]);
        let description = format!("Write target/hello/{}.index.tar: one OCI image index over every arch", p.name);
        task(&format!("index-{}", p.name), &description, &["xtask", "index", "--program", p.name]);
    }
    for (name, description, args) in TASKS {
        task(name, description, args);
    }
    let all: Vec<String> = PROGRAMS.iter().map(|p| format!("{:?}", images_task(p))).collect();
    let _ = write!(
        out,
        "\n[tasks.images]\ndescription = \"Build every program's image for every arch and load them into Docker\"\n\
         dependencies = [{}]\n",
        all.join(", ")
    );
    out += "\n[tasks.test]\ndescription = \"The whole test suite: binaries, the shrinker, images built both ways, real kernels\"\n\
            command = \"cargo\"\nargs = [\"test\", \"--package\", \"xtask\"]\n";
    out
}

/// Write every generated file.
pub fn write_all() -> Result<()> {
    let root = paths::project_root();
    for arch in ARCHES {
        let path = root.join("Dockerfiles").join(arch.name);
        fsutil::write_atomic(&path, dockerfile(arch).as_bytes(), 0o644)?;
        eprintln!("wrote {}", path.display());
    }
    let path = root.join("Makefile.toml");
    fsutil::write_atomic(&path, makefile().as_bytes(), 0o644)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
