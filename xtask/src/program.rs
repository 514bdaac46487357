//! THE table of programs. Adding one is a row here and a crate `crates/<name>`
//! (`#![no_std]` `#![no_main]`, over the `sys` crate); the build, the images, the
//! Dockerfiles, the cargo-make tasks, the budgets and the tests read this table.

use anyhow::{Result, bail};

/// A program we build for every architecture and ship as an image.
#[derive(Debug)]
pub struct Program {
    /// The crate `crates/<name>`, its binary, and the file `/<name>` in the image.
    pub name: &'static str,
    /// The image's repository name: `<image>:<arch>`.
    pub image: &'static str,
    /// What it is for, in one line (help text, cargo-make task descriptions).
    pub about: &'static str,
    /// `uid:gid` the image runs it as.
    pub user: &'static str,
    /// How the tests and kernel-test judge a run of it.
    pub judge: Judge,
    /// The TCP ports it listens on as built by default: `EXPOSE` in its Dockerfile
    /// stage, `ExposedPorts` in its image config. Empty for programs without a socket.
    pub ports: &'static [u16],
    /// Whether all its code is reached from the entry point by branches the shrinker
    /// can decode: then `build` packs the code into free header fields
    /// (`shrink --pack`). A signal handler breaks this: the kernel enters it at an
    /// address the program keeps as data, which the packer would not rewrite.
    pub code_may_move: bool,
}

/// How a run of a program is judged, under Docker, qemu-user and real kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judge {
    /// It prints its message (set at build time) on stdout and exits 0.
    PrintsMessage,
    /// It runs until SIGINT or SIGTERM, reaping orphans meanwhile, then exits 0.
    WaitsForSignal,
    /// It serves HTTP on its port (`ports`), answering every GET with the response
    /// fixed at build time and HEAD with its headers, until SIGINT or SIGTERM, then
    /// exits 0. Judged by HTTP clients: exact bytes over IPv4 and IPv6, and hostile
    /// clients (silent, oversized, reset) that must not stop others being served.
    Serves,
}

pub const PROGRAMS: &[Program] = &[
    Program {
        name: "hello",
        image: "hello",
        about: "prints a message fixed at build time",
        // nobody: no privileges needed to print.
        user: "65534:65534",
        judge: Judge::PrintsMessage,
        ports: &[],
        code_may_move: true,
    },
    Program {
        name: "pause",
        image: "pause",
        about: "the Kubernetes pause container: holds a pod's namespaces and reaps its orphans",
        // What registry.k8s.io/pause runs as.
        user: "65535:65535",
        judge: Judge::WaitsForSignal,
        ports: &[],
        // It takes its signals with rt_sigtimedwait: no handler.
        code_may_move: true,
    },
    Program {
        name: "httpd",
        image: "httpd",
        about: "the smallest web server: one response fixed at build time, for GET and HEAD",
        // nobody: Docker lets any user bind low ports in a container, and 8080 needs no
        // privilege anywhere.
        user: "65534:65534",
        judge: Judge::Serves,
        ports: &[8080],
        // Its SIGTERM/SIGINT handler sits at the end of the code.
        code_may_move: false,
    },
];

/// The program `cargo make image-<arch>`, `Dockerfiles/<arch>` and `xtask image <arch>`
/// mean when no program is named.
pub const DEFAULT: &Program = &PROGRAMS[0];

impl Program {
    /// The program called `name`, or an error that lists the known ones.
    pub fn find(name: &str) -> Result<&'static Program> {
        match PROGRAMS.iter().find(|p| p.name == name) {
            Some(program) => Ok(program),
            None => bail!("unknown program `{name}`: expected one of {}", names().join(", ")),
        }
    }

    /// The image's entrypoint: the one file in it.
    pub fn entrypoint(&self) -> String {
        format!("/{}", self.name)
    }

    /// Whether the program prints a message given at build time (`--message`).
    pub fn takes_message(&self) -> bool {
        self.judge == Judge::PrintsMessage
    }
}

/// `--program NAME`, where a command takes one (default: hello).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ProgramArg {
    #[arg(long = "program", short = 'p', value_name = "NAME", help = help("default", DEFAULT.name))]
    pub name: Option<String>,
}

/// `--program`'s help line, listing the table's programs: `The program: hello, pause
/// (<default_word>: <default>)`.
pub fn help(default_word: &str, default: &str) -> String {
    format!("The program: {} ({default_word}: {default})", names().join(", "))
}

impl ProgramArg {
    pub fn get(&self) -> Result<&'static Program> {
        self.name.as_deref().map_or(Ok(DEFAULT), Program::find)
    }
}

pub fn names() -> Vec<&'static str> {
    PROGRAMS.iter().map(|p| p.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_or_refuse() {
        assert_eq!(Program::find("pause").unwrap().user, "65535:65535");
        assert_eq!(DEFAULT.name, "hello");
        let err = Program::find("nginx").unwrap_err().to_string();
        assert_eq!(err, "unknown program `nginx`: expected one of hello, pause, httpd");
    }
}
