#!/usr/bin/env bash
# Set up a Debian 12 machine to build and test every hello image:
# Debian's Rust toolchain (its rustc ships the library source that -Zbuild-std needs),
# lld-22, qemu-user with binfmt_misc (to run foreign binaries and images), a Docker
# engine, cargo-make, and a local debian:bookworm-slim for the Dockerfiles' builder stage.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail

step() { printf '\n==> %s\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (it installs Debian packages and starts dockerd)" >&2; exit 1; }; }

# qemu-system-* boot real kernels (cargo xtask kernel-test); on a machine with
# backports' qemu-utils 10 installed, it is removed (it conflicts with 7.2, see below).
# docker-registry and skopeo: the push tests' registry and independent OCI reader;
# llvm-22 (llvm-strip), musl-tools and golang-go: `cargo xtask compare` and its test.
# curl and apache2-utils (ab): httpd's tests and load runs; nginx-light: `cargo xtask
# bench` measures httpd against it (its own nginx, in the foreground: the service is unused).
PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22
          qemu-user-static binfmt-support docker.io debootstrap ca-certificates
          qemu-system-x86 qemu-system-arm qemu-system-ppc qemu-system-misc qemu-system-mips
          qemu-system-data docker-registry skopeo llvm-22 musl-tools golang-go zstd
          curl apache2-utils nginx-light)

step "Debian packages: ${PACKAGES[*]}"
if dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -qv '^install ok installed$' \
   || [ "$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | wc -l)" -ne "${#PACKAGES[@]}" ]; then
  need_root
  apt-get update -q
  # Some machine images ship qemu-utils 10 from bookworm-backports without that suite
  # in their apt sources: it Breaks qemu-system-common 7.2 and apt will not resolve it
  # alone. Nothing here uses qemu-utils (qemu-img): remove it in the same transaction.
  REMOVE=()
  v=$(dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null || true)
  if [ -n "$v" ] && dpkg --compare-versions "$v" ge 1:8; then
    echo "qemu-utils $v conflicts with qemu-system 7.2: removing it"
    REMOVE=(qemu-utils-)
  fi
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${PACKAGES[@]}" "${REMOVE[@]}"; }
  # Seen once here: dpkg lost its unpacked archives halfway; a second run completes.
  install || { echo "apt-get install failed; trying once more"; install; }
else
  echo "already installed"
fi

step "qemu-user through binfmt_misc"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  need_root
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  need_root
  update-binfmts --enable
fi
for q in qemu-aarch64 qemu-arm; do
  [ -e /proc/sys/fs/binfmt_misc/$q ] || { echo "setup.sh: binfmt entry $q missing after update-binfmts" >&2; exit 1; }
done
echo "registered: $(cd /proc/sys/fs/binfmt_misc && ls -d qemu-* | wc -l) qemu interpreters"

step "cargo-make"
if cargo make --version >/dev/null 2>&1; then
  cargo make --version
else
  cargo install --locked cargo-make
fi

# Debian's docker.io client (20.10) has BuildKit built in; the docker on PATH may be a
# newer client without the buildx plugin. The xtask and tests pick the right one.
step "Docker engine"
if ! /usr/bin/docker info >/dev/null 2>&1; then
  need_root
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 60); do
    /usr/bin/docker info >/dev/null 2>&1 && break
    sleep 1
  done
  /usr/bin/docker info >/dev/null 2>&1 || { echo "setup.sh: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2; exit 1; }
fi
/usr/bin/docker version --format 'engine {{.Server.Version}}'

step "builder base image debian:bookworm-slim"
if /usr/bin/docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  echo "present"
elif /usr/bin/docker pull -q debian:bookworm-slim 2>/dev/null; then
  echo "pulled"
else
  # No registry reachable: make an equivalent from Debian's packages, with the apt
  # sources the official image has (rustc-web and lld-22 come from bookworm-security).
  need_root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  echo "no registry: debootstrap --variant=minbase bookworm (about 2 minutes)"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/tmp/debootstrap.log 2>&1 \
    || { echo "setup.sh: debootstrap failed; see /tmp/debootstrap.log" >&2; exit 1; }
  cat >"$root/etc/apt/sources.list" <<'SOURCES'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | /usr/bin/docker import - debian:bookworm-slim
fi

echo
echo "setup done"
