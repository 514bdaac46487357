//! `cargo xtask compare`: what `strip --strip-all`, sstrip (our in-place layout, the
//! same cut ELFkickers' sstrip makes) and our minimizer make of the same files: every
//! hello binary as linked, and foreign static programs built from tests/foreign/ (C
//! without libc, C on static glibc and musl, Go).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

use crate::{arch::ARCHES, build, elf, fsutil, message, paths, program};

/// The foreign programs: name, and how to build it from tests/foreign/ into `out`.
pub const FOREIGN: &[&str] = &["c-nolibc", "c-glibc", "c-musl", "go"];

/// Build the foreign static programs under target/hello/foreign; their paths by name.
pub fn build_foreign(sh: &Shell) -> Result<Vec<(&'static str, PathBuf)>> {
    let src = paths::project_root().join("tests/foreign");
    let out = paths::out_root().join("foreign");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let (nolibc, libc, go) = (src.join("nolibc.c"), src.join("libc.c"), src.join("hello.go"));
    FOREIGN
        .iter()
        .map(|&name| {
            // Built beside its final name and renamed into place: a test may be reading
            // the last build of it while `xtask compare` makes the next (seen: an empty
            // c-glibc read mid-write).
            let exe = out.join(format!(".{name}.{}", std::process::id()));
            let (command, package) = match name {
                "c-nolibc" => (cmd!(sh, "gcc -static -nostdlib -no-pie -Os -o {exe} {nolibc}"), "gcc"),
                "c-glibc" => (cmd!(sh, "gcc -static -O2 -o {exe} {libc}"), "gcc and libc6-dev"),
                "c-musl" => (cmd!(sh, "musl-gcc -static -O2 -o {exe} {libc}"), "musl-tools"),
                _ => (
                    // GOPATH mode, one file, nothing of this machine in the binary.
                    cmd!(sh, "go build -trimpath -ldflags=-buildid= -o {exe} {go}")
                        .env("CGO_ENABLED", "0")
                        .env("GO111MODULE", "off")
                        .env("GOCACHE", out.join("go-cache"))
                        .env("GOPATH", out.join("go-path")),
                    "golang-go",
                ),
            };
            command.quiet().run().with_context(|| {
                format!(
                    "cannot build the foreign sample {name}: it needs {package} (apt-get install it; setup.sh does)"
                )
            })?;
            let path = out.join(name);
            std::fs::rename(&exe, &path).with_context(|| format!("cannot rename {} into place", exe.display()))?;
            Ok((name, path))
        })
        .collect()
}

#[derive(Debug, serde::Serialize)]
pub struct Row {
    pub file: String,
    /// As the linker wrote it.
    pub input: u64,
    /// After `strip --strip-all`.
    pub stripped: u64,
    /// After the in-place layout alone (sstrip); None when it refuses the file.
    pub sstripped: Option<u64>,
    /// After our minimizer.
    pub ours: u64,
    pub layout: String,
}

/// Every hello binary (built with the default message) and every foreign program.
pub fn rows(sh: &Shell) -> Result<Vec<Row>> {
    // GNU strip reads the host's architecture only, and llvm-strip refuses static
    // glibc's .rela.plt: LLVM's for ours, GNU's for the foreign (host) programs.
    let mut inputs = Vec::new();
    for arch in ARCHES {
        let built = build::build(sh, program::DEFAULT, arch, message::DEFAULT, None)?;
        // Linked by link.ld, code last: its tail may move, as `xtask build` does it.
        inputs.push((format!("hello {}", arch.name), built.linked, LLVM_STRIP, elf::Options { pack: true }));
    }
    for (name, path) in build_foreign(sh)? {
        inputs.push((name.to_string(), path, GNU_STRIP, elf::Options::default()));
    }
    inputs.iter().map(|(file, path, strip, options)| measure(sh, file, path, strip, *options)).collect()
}

/// The strip programs and the packages they come in.
const LLVM_STRIP: (&str, &str) = ("llvm-strip-22", "llvm-22");
const GNU_STRIP: (&str, &str) = ("strip", "binutils");

fn measure(sh: &Shell, file: &str, path: &Path, (strip, package): &(&str, &str), options: elf::Options) -> Result<Row> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let stripped_path = paths::out_root().join("compare").join(file.replace(' ', "-"));
    std::fs::create_dir_all(stripped_path.parent().unwrap())?;
    cmd!(sh, "{strip} --strip-all -o {stripped_path} {path}")
        .quiet()
        .run()
        .with_context(|| format!("{strip} (package {package}; setup.sh installs it) failed on {}", path.display()))?;
    let stripped = std::fs::metadata(&stripped_path)?.len();
    // A file the in-place layout refuses shows as "refused"; a bug stops the table.
    let sstripped = match elf::shrink_in_place(&bytes) {
        Ok((_, out)) => Some(out.len() as u64),
        Err(elf::Error::Refusal(_)) => None,
        Err(bug) => return Err(bug.in_file(path)),
    };
    let (plan, ours) = elf::shrink(&bytes, options).map_err(|e| e.in_file(path))?;
    // Keep what we made beside the stripped copy, for anyone who wants to run it.
    fsutil::write_atomic(&stripped_path.with_extension("min"), &ours, 0o755)?;
    Ok(Row {
        file: file.to_string(),
        input: bytes.len() as u64,
        stripped,
        sstripped,
        ours: ours.len() as u64,
        layout: format!("{:?}", plan.layout).to_lowercase(),
    })
}

/// The table as Markdown, as README.md shows it.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from("| file | as linked | strip --strip-all | sstrip | ours | layout |\n");
    out += "|---|---|---|---|---|---|\n";
    for r in rows {
        let sstripped = r.sstripped.map_or("refused".to_string(), |n| n.to_string());
        out += &format!("| {} | {} | {} | {sstripped} | {} | {} |\n", r.file, r.input, r.stripped, r.ours, r.layout);
    }
    out
}
