//! `cargo xtask dockerfiles`: write Dockerfiles/<arch> for every arch from one
//! template, so that the builder steps stay the same in all of them (BuildKit then
//! builds the toolchain layer and the xtask once for all arches). A test checks that
//! the committed files are what this writes.

use anyhow::Result;

use crate::{arch::Arch, fsutil, paths};

const TEMPLATE: &str = r#"# hello for {arch} ({platform}), built from source; the image holds the binary alone.
#
#   DOCKER_BUILDKIT=1 docker build --platform {platform} -f Dockerfiles/{arch} -t hello:{arch} .
#
# --build-arg MESSAGE=...   the bytes to print (default "Hello Docker World!" and a newline)
# --secret id=cacerts,src=/etc/ssl/certs/ca-certificates.crt
#                           CA bundle for the cargo steps behind a TLS-intercepting proxy
#
# Written by `cargo xtask dockerfiles` from xtask/src/dockerfile.rs: edit that, not this.

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
ARG MESSAGE
# An unset MESSAGE means the default message; a set but empty one is refused.
RUN --mount=type=secret,id=cacerts,target=/etc/ssl/certs/ca-certificates.crt \
    if [ "${MESSAGE+set}" = set ]; then export HELLO_MESSAGE="$MESSAGE"; fi; \
    target/release/xtask build {arch}

FROM scratch
COPY --from=build /src/target/hello/{arch}/hello /hello
USER 65534:65534
ENTRYPOINT ["/hello"]
"#;

/// The Dockerfile of `arch`.
pub fn render(arch: &Arch) -> String {
    TEMPLATE.replace("{arch}", arch.name).replace("{platform}", &arch.platform.docker())
}

/// Write Dockerfiles/<arch> for each arch.
pub fn write_all(arches: &[&Arch]) -> Result<()> {
    for arch in arches {
        let path = paths::project_root().join("Dockerfiles").join(arch.name);
        fsutil::write_atomic(&path, render(arch).as_bytes(), 0o644)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
