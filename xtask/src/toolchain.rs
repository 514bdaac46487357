//! Finding a Rust toolchain that can build `core` from source (-Zbuild-std) and link
//! for bare targets: a rustc whose sysroot holds the library source, its cargo, and
//! rust-lld.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

#[derive(Debug, Clone)]
pub struct Toolchain {
    pub rustc: PathBuf,
    pub cargo: PathBuf,
    /// `rustc --version`, for the report.
    pub version: String,
}

const INSTALL_HINT: &str = "install one: `apt-get install rustc-web cargo-web rust-web-src \
    rust-web-llvm lld-22` (Debian 12), or `rustup component add rust-src` (rustup), or set \
    HELLO_RUSTC to a rustc whose sysroot has lib/rustlib/src/rust";

/// The first usable toolchain: $HELLO_RUSTC, else `rustc` on PATH, else Debian's
/// /usr/bin/rustc (rustup's shim comes first on PATH but has no rust-src here).
pub fn find(sh: &Shell) -> Result<Toolchain> {
    let candidates: Vec<PathBuf> = match std::env::var_os("HELLO_RUSTC") {
        Some(path) => vec![PathBuf::from(path)],
        None => vec![PathBuf::from("rustc"), PathBuf::from("/usr/bin/rustc")],
    };
    let mut tried = Vec::new();
    for rustc in candidates {
        match probe(sh, &rustc) {
            Ok(toolchain) => return Ok(toolchain),
            Err(why) => tried.push(format!("{} ({why})", rustc.display())),
        }
    }
    bail!("no Rust toolchain that can build core from source: tried {}; {INSTALL_HINT}", tried.join(", "))
}

fn probe(sh: &Shell, rustc: &Path) -> Result<Toolchain, String> {
    let run = |args: &[&str]| {
        cmd!(sh, "{rustc} {args...}").quiet().ignore_stderr().read().map_err(|_| "does not run".to_string())
    };
    let version = run(&["--version"])?;
    let sysroot = PathBuf::from(run(&["--print", "sysroot"])?);
    if !sysroot.join("lib/rustlib/src/rust/library/core/Cargo.toml").is_file() {
        return Err(format!("no library source in {}", sysroot.display()));
    }
    let cargo = sysroot.join("bin/cargo");
    if !cargo.is_file() {
        return Err(format!("no cargo in {}", sysroot.join("bin").display()));
    }
    let host = run(&["--print", "host-tuple"])?;
    let bundled_lld = sysroot.join("lib/rustlib").join(&host).join("bin/rust-lld");
    if !bundled_lld.is_file() && which("rust-lld").is_none() {
        return Err("no rust-lld beside it or on PATH (Debian: rust-web-llvm and lld-22)".into());
    }
    Ok(Toolchain { rustc: sysroot.join("bin/rustc"), cargo, version })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}
