//! sha256sums.txt: the bytes of every program on every arch, built with the default
//! message, pinned in the repository as docker-library/hello-world pins its binaries.
//! tests/sums.rs builds them all and fails on any byte that changed; `cargo xtask sums
//! --update` rewrites the file and prints what changed.
//!
//! The lines are sha256sum's (`<sha256>  <name>`), program by program, arch by arch,
//! in the order of the two tables; each name is the binary's path under target/hello,
//! so `cd target/hello && sha256sum -c ../../sha256sums.txt` checks a build too.

use std::fs;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::{
    arch::{ARCHES, Arch},
    build, fsutil, message, paths,
    program::{PROGRAMS, Program},
};

/// The file at the workspace root.
pub const FILE_NAME: &str = "sha256sums.txt";

/// The command that rewrites the file, for messages that ask for it.
pub const UPDATE: &str = "cargo xtask sums --update";

/// One binary's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sum {
    /// `<arch>/<program>`: the binary's path under target/hello.
    pub name: String,
    /// Lower-case hex, as sha256sum prints it.
    pub sha256: String,
}

impl Sum {
    pub fn of(program: &Program, arch: &Arch, binary: &[u8]) -> Sum {
        Sum { name: name(program, arch), sha256: format!("{:x}", Sha256::digest(binary)) }
    }
}

/// The line's name for `program` on `arch`.
pub fn name(program: &Program, arch: &Arch) -> String {
    format!("{}/{}", arch.name, program.name)
}

/// Every program on every arch, in the file's order: program by program, then arch by
/// arch, as the tables list them.
pub fn every() -> impl Iterator<Item = (&'static Program, &'static Arch)> {
    PROGRAMS.iter().flat_map(|program| ARCHES.iter().map(move |arch| (program, arch)))
}

/// Build every program for every arch with the default message, and hash each binary.
pub fn build_all(sh: &Shell) -> Result<Vec<Sum>> {
    every()
        .map(|(program, arch)| {
            let built = build::build(sh, program, arch, message::DEFAULT, None)?;
            let bytes = fs::read(&built.binary).with_context(|| format!("cannot read {}", built.binary.display()))?;
            Ok(Sum::of(program, arch, &bytes))
        })
        .collect()
}

/// The file's text for `sums`.
pub fn render(sums: &[Sum]) -> String {
    sums.iter().map(|s| format!("{}  {}\n", s.sha256, s.name)).collect()
}

/// The lines of a sha256sums file; an error names the first line that is not one.
pub fn parse(text: &str) -> Result<Vec<Sum>> {
    let line = |(n, line): (usize, &str)| {
        let (sha256, name) = line.split_once("  ").unwrap_or_default();
        let hex = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex || name.is_empty() {
            bail!("{FILE_NAME}, line {}: want `<sha256>  <arch>/<program>`, got {line:?}", n + 1);
        }
        Ok(Sum { name: name.to_string(), sha256: sha256.to_string() })
    };
    text.lines().enumerate().map(line).collect()
}

/// The committed file's lines.
pub fn read() -> Result<Vec<Sum>> {
    let path = paths::sums_file();
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {} ({UPDATE} writes it)", path.display()))?;
    parse(&text)
}

/// Write `sums` as the committed file.
pub fn write(sums: &[Sum]) -> Result<()> {
    fsutil::write_atomic(&paths::sums_file(), render(sums).as_bytes(), 0o644)
}

/// The committed file is exactly what `built` gives; Err names each binary that
/// differs and the command that updates the file.
pub fn compare(built: &[Sum]) -> Result<()> {
    let changes = changes(&read()?, built);
    if !changes.is_empty() {
        bail!(
            "{} of {} binaries differ from {FILE_NAME} (default message):\n  {}\nIf that is intended, run \
             `{UPDATE}` and commit {FILE_NAME}",
            changes.len(),
            built.len(),
            changes.join("\n  ")
        );
    }
    // Same hashes, other text (order, spacing): the file is still to be rewritten.
    if fs::read_to_string(paths::sums_file())? != render(built) {
        bail!("{FILE_NAME} is not in the order and format `{UPDATE}` writes: run it");
    }
    Ok(())
}

/// What differs between the `committed` lines and the `built` ones, a line each, by
/// name: a changed hash, a binary the file lacks, a line for none we build.
pub fn changes(committed: &[Sum], built: &[Sum]) -> Vec<String> {
    let find = |sums: &[Sum], name: &str| sums.iter().find(|s| s.name == name).map(|s| s.sha256.clone());
    let mut changes = Vec::new();
    for b in built {
        match find(committed, &b.name) {
            Some(was) if was == b.sha256 => {}
            Some(was) => changes.push(format!("{}: sha256 {}, was {was}", b.name, b.sha256)),
            None => changes.push(format!("{}: sha256 {}, new", b.name, b.sha256)),
        }
    }
    for c in committed.iter().filter(|c| find(built, &c.name).is_none()) {
        changes.push(format!("{}: gone (no such program and arch in the tables)", c.name));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(name: &str, digit: char) -> Sum {
        Sum { name: name.into(), sha256: digit.to_string().repeat(64) }
    }

    #[test]
    fn the_file_reads_back_as_written() {
        let sums = [sum("x86_64/hello", 'a'), sum("x86_64/pause", '0')];
        let text = render(&sums);
        assert_eq!(text, format!("{}  x86_64/hello\n{}  x86_64/pause\n", "a".repeat(64), "0".repeat(64)));
        assert_eq!(parse(&text).unwrap(), sums);
        let err = parse("abc  x86_64/hello\n").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn every_change_is_named() {
        let committed = [sum("x86_64/hello", 'a'), sum("sparc/hello", 'b')];
        let built = [sum("x86_64/hello", 'c'), sum("i686/hello", 'd')];
        let changes = changes(&committed, &built);
        assert_eq!(changes.len(), 3, "{changes:?}");
        assert!(changes[0].starts_with("x86_64/hello: sha256 ccc") && changes[0].contains("was aaa"));
        assert!(changes[1].starts_with("i686/hello") && changes[1].ends_with("new"));
        assert!(changes[2].starts_with("sparc/hello: gone"));
        assert!(super::changes(&built, &built).is_empty());
    }

    #[test]
    fn every_program_on_every_arch_has_a_line() {
        assert_eq!(every().count(), PROGRAMS.len() * ARCHES.len());
        assert_eq!(every().next().map(|(p, a)| name(p, a)), Some(format!("{}/hello", ARCHES[0].name)));
    }
}
