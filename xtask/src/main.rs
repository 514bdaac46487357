//! `cargo xtask <command>`: see `cargo xtask --help`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use xshell::Shell;
use xtask::{
    arch, bench, build, compare, docker::Docker, elf, kernel, message::MessageArgs, pipeline, program::ProgramArg,
    report, sums,
};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build the smallest static binaries (hello, pause, httpd) and their Docker images"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, shrink and check a program's binary: target/hello/<arch>/<program>
    Build(Build),
    /// Strip an ELF executable down to what the kernel loads
    #[command(after_help = "Exit status: 0 written; 2 the input is refused (one line says why); \
        70 a bug in the minimizer: its own check rejected its output (please report it with the input \
        file); 1 anything else (e.g. OUTPUT cannot be written). Nothing is written unless it exits 0.")]
    Shrink(Shrink),
    /// Build the image archive target/hello/<arch>/<program>.image.tar and load it as <program>:<arch>
    Image(Image),
    /// Build an image from Dockerfiles/<arch> with BuildKit, for the arch's platform
    DockerBuild(DockerBuild),
    /// The size table: binary, message, overhead, budget, image, sha256
    Report(Report),
    /// Write Dockerfiles/<arch> and Makefile.toml from the arch and program tables
    Generate,
    /// Write target/hello/<program>.index.tar: one OCI image index over every arch's image
    Index(Index),
    /// Boot real Linux kernels in qemu-system with a program as /init and from a shell
    KernelTest(KernelTest),
    /// Push every arch's image and one index over them to a registry
    Push(Push),
    /// Sizes after strip, sstrip and our minimizer, for ours and foreign programs
    Compare(Compare),
    /// Build every program for every arch (default message) and compare each binary's
    /// sha256 with sha256sums.txt; --update rewrites the file
    Sums(Sums),
    /// What each size technique saves hello on each arch: README.md's table, measured
    Techniques(Techniques),
    /// httpd against nginx (nginx-light) on this machine: requests/s and p50/p99 latency
    /// at 1, 50 and 500 clients without keep-alive (ab), RSS per open connection
    Bench(Bench),
}

#[derive(clap::Args)]
struct Build {
    #[command(flatten)]
    program: ProgramArg,
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    #[command(flatten)]
    message: MessageArgs,
    /// Write the binary here instead of target/hello/<arch>/hello, and the linked ELF
    /// as <PATH>.elf (one arch only)
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(clap::Args)]
struct Shrink {
    input: PathBuf,
    output: PathBuf,
    /// Print each decision and the bytes it saves
    #[arg(long)]
    explain: bool,
    /// The segment ends in code that runs only from the entry point on, with nothing
    /// executable before the entry (as crates/link.ld links it): pack the code
    /// into free header fields (--move-tail is the old name)
    #[arg(long, alias = "move-tail", long_help = xtask::elf::isa::pack_help())]
    pack: bool,
}

#[derive(clap::Args)]
struct Image {
    #[command(flatten)]
    program: ProgramArg,
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    #[command(flatten)]
    message: MessageArgs,
    /// Only write the archive; do not load it into Docker
    #[arg(long)]
    no_load: bool,
    #[command(flatten)]
    annotations: xtask::oci::annotations::AnnotationArgs,
}

#[derive(clap::Args)]
struct DockerBuild {
    #[command(flatten)]
    program: ProgramArg,
    #[arg(value_name = "ARCH")]
    arch: String,
    /// Image tag (default <program>:<arch>)
    #[arg(long)]
    tag: Option<String>,
    #[command(flatten)]
    message: MessageArgs,
}

#[derive(clap::Args)]
struct Index {
    #[command(flatten)]
    program: ProgramArg,
    /// The index's name (default <program>:latest); each image is also tagged
    /// <name>:<arch> for docker load
    #[arg(long)]
    tag: Option<String>,
    #[command(flatten)]
    message: MessageArgs,
    /// Also load every image into Docker (docker load cannot load an index itself)
    #[arg(long)]
    load: bool,
    #[command(flatten)]
    annotations: xtask::oci::annotations::AnnotationArgs,
}

#[derive(clap::Args)]
struct Push {
    #[command(flatten)]
    program: ProgramArg,
    /// Where: REGISTRY/NAME[:TAG] (TAG defaults to latest), e.g. 127.0.0.1:5000/hello
    reference: String,
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    #[command(flatten)]
    message: MessageArgs,
    #[command(flatten)]
    annotations: xtask::oci::annotations::AnnotationArgs,
}

#[derive(clap::Args)]
struct Compare {
    /// Print JSON instead of the Markdown table README.md shows
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(after_help = "sha256sums.txt pins the bytes of every binary, as docker-library/hello-world's CI \
    diffs its binaries: one line `<sha256>  <arch>/<program>` per program and arch (the binary's path under \
    target/hello, so `cd target/hello && sha256sum -c ../../sha256sums.txt` checks a build too). \
    tests/sums.rs fails on any byte that changed.")]
struct Sums {
    /// Rewrite sha256sums.txt from this build and print each line that changed
    #[arg(long)]
    update: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Builds hello with the default message once as shipped and once without each \
    technique (about a minute for every arch), into target/hello/techniques/. Prints the Markdown table \
    README.md holds between its techniques markers; a test checks that the README's is current.")]
struct Techniques {
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    /// JSON instead of the Markdown table
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Needs ab (apache2-utils) and nginx (nginx-light): setup.sh installs both. \
    httpd is built for this machine's arch on a free port (target/hello/bench/httpd); nginx runs in the \
    foreground from a generated config in a temporary directory, serving the same bytes. Takes about a \
    minute per round (--quick: seconds, numbers too small to mean much).")]
struct Bench {
    /// Small request counts: checks that everything runs, measures little
    #[arg(long)]
    quick: bool,
    /// Runs of each level per server, alternating; each metric is their median
    /// (default 3, with --quick 1)
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,
    /// JSON instead of a table
    #[arg(long)]
    json: bool,
}

impl Bench {
    fn run(self, sh: &Shell) -> Result<()> {
        let rounds = self.rounds.unwrap_or(if self.quick { 1 } else { 3 });
        let result = bench::run(sh, bench::Options { quick: self.quick, rounds })?;
        match self.json {
            true => println!("{}", serde_json::to_string_pretty(&result)?),
            false => print!("{}", bench::markdown(&result)),
        }
        Ok(())
    }
}

#[derive(clap::Args)]
struct KernelTest {
    #[arg(long = "program", short = 'p', value_name = "NAME", help = xtask::program::help("default", "every one"))]
    program: Option<String>,
    /// Architectures (default: every one a kernel is known for)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    /// Run this static binary instead of ours (give one ARCH)
    #[arg(long, value_name = "FILE")]
    binary: Option<PathBuf>,
    /// What the console must show (default: hello's message)
    #[arg(long, value_name = "TEXT")]
    expect: Option<String>,
}

#[derive(clap::Args)]
struct Report {
    #[command(flatten)]
    program: ProgramArg,
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    /// JSON instead of a table
    #[arg(long)]
    json: bool,
    /// Do not load the images to read their size from Docker
    #[arg(long)]
    no_docker: bool,
    /// Also boot each binary under real kernels (cargo xtask kernel-test): minutes
    #[arg(long)]
    kernels: bool,
}

impl Build {
    fn run(self, sh: &Shell) -> Result<()> {
        let arches = arch::select(&self.arches)?;
        if self.out.is_some() && arches.len() != 1 {
            bail!("--out takes one architecture; give exactly one");
        }
        let program = self.program.get()?;
        let message = self.message.resolve_for(program)?;
        for arch in arches {
            build::build(sh, program, arch, &message, self.out.as_deref())?;
        }
        Ok(())
    }
}

impl Shrink {
    fn run(self) -> Result<()> {
        let before = std::fs::metadata(&self.input).map(|m| m.len()).unwrap_or(0);
        let plan = elf::shrink_file(&self.input, &self.output, elf::Options { pack: self.pack }, self.explain)?;
        println!("{}: {before} -> {} bytes", self.output.display(), plan.len);
        Ok(())
    }
}

impl Image {
    fn run(self, sh: &Shell) -> Result<()> {
        let arches = arch::select(&self.arches)?;
        let program = self.program.get()?;
        let message = self.message.resolve_for(program)?;
        // Ask for the engine first: no point building for minutes to fail at the end.
        let docker = if self.no_load { None } else { Some(Docker::connect(sh)?) };
        for arch in arches {
            pipeline::image_archive(sh, program, arch, &message, docker.as_ref(), &self.annotations)?;
        }
        Ok(())
    }
}

impl DockerBuild {
    fn run(self, sh: &Shell) -> Result<()> {
        let arch = arch::Arch::find(&self.arch)?;
        let program = self.program.get()?;
        // Only a message the user gave travels as a build argument; none means the
        // Dockerfile's default.
        let message = self.message.given_for(program)?;
        let tag = self.tag.unwrap_or_else(|| pipeline::arch_tag(program, arch));
        Docker::connect_builder(sh)?.build_dockerfile(sh, program, arch, &tag, message.as_deref())
    }
}

impl Index {
    fn run(self, sh: &Shell) -> Result<()> {
        let program = self.program.get()?;
        let message = self.message.resolve_for(program)?;
        let docker = if self.load { Some(Docker::connect(sh)?) } else { None };
        let tag = self.tag.unwrap_or_else(|| format!("{}:latest", program.image));
        pipeline::index(sh, program, &arch::select(&[])?, &message, &tag, docker.as_ref(), &self.annotations)
    }
}

impl Compare {
    fn run(self, sh: &Shell) -> Result<()> {
        let rows = compare::rows(sh)?;
        match self.json {
            true => println!("{}", serde_json::to_string_pretty(&rows)?),
            false => print!("{}", compare::markdown(&rows)),
        }
        Ok(())
    }
}

impl Techniques {
    fn run(self, sh: &Shell) -> Result<()> {
        let rows = xtask::techniques::measure(sh, &arch::select(&self.arches)?)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            print!("{}", xtask::techniques::markdown(&rows));
        }
        Ok(())
    }
}

impl Sums {
    fn run(self, sh: &Shell) -> Result<()> {
        let built = sums::build_all(sh)?;
        if !self.update {
            sums::compare(&built)?;
            println!("{}: all {} binaries match", sums::FILE_NAME, built.len());
            return Ok(());
        }
        // A file that is missing or unreadable is rewritten whole: every line is new.
        let changes = sums::changes(&sums::read().unwrap_or_default(), &built);
        sums::write(&built)?;
        for change in &changes {
            println!("{change}");
        }
        println!("{}: {} binaries, {} changed", sums::FILE_NAME, built.len(), changes.len());
        Ok(())
    }
}

impl Push {
    fn run(self, sh: &Shell) -> Result<()> {
        let program = self.program.get()?;
        let arches = arch::select(&self.arches)?;
        let message = self.message.resolve_for(program)?;
        pipeline::push(sh, program, &self.reference, &arches, &message, &self.annotations)
    }
}

impl KernelTest {
    fn run(self, sh: &Shell) -> Result<()> {
        let explicit = !self.arches.is_empty();
        let arches = arch::select(&self.arches)?;
        if self.binary.is_some() && arches.len() != 1 {
            bail!("--binary takes one architecture: kernel-test --binary FILE ARCH");
        }
        // Every program unless one is named.
        let programs = match self.program.as_deref() {
            Some(name) => vec![xtask::program::Program::find(name)?],
            None => xtask::program::PROGRAMS.iter().collect(),
        };
        if self.binary.is_some() && programs.len() != 1 {
            bail!("--binary takes one program: kernel-test --program NAME --binary FILE ARCH");
        }
        let expect = self.expect.unwrap_or_else(|| String::from_utf8_lossy(xtask::message::DEFAULT).into_owned());
        kernel::test(sh, &programs, &arches, explicit, self.binary.as_deref(), &expect).map(|_| ())
    }
}

impl Report {
    fn run(self, sh: &Shell) -> Result<()> {
        let docker = if self.no_docker { None } else { Some(Docker::connect(sh)?) };
        let program = self.program.get()?;
        let (rows, index_bytes) =
            report::rows(sh, program, &arch::select(&self.arches)?, docker.as_ref(), self.kernels)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            print!("{}", report::text(&rows, index_bytes));
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Shell::new().map_err(anyhow::Error::from).and_then(|sh| match cli.command {
        Command::Build(c) => c.run(&sh),
        Command::Shrink(c) => c.run(),
        Command::Image(c) => c.run(&sh),
        Command::DockerBuild(c) => c.run(&sh),
        Command::Report(c) => c.run(&sh),
        Command::Generate => xtask::generate::write_all(),
        Command::Index(c) => c.run(&sh),
        Command::KernelTest(c) => c.run(&sh),
        Command::Push(c) => c.run(&sh),
        Command::Compare(c) => c.run(&sh),
        Command::Sums(c) => c.run(&sh),
        Command::Techniques(c) => c.run(&sh),
        Command::Bench(c) => c.run(&sh),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole chain of context, outermost first.
            eprintln!("error: {e:#}");
            // The minimizer's errors carry their own status (elf/mod.rs): 2 for a
            // refused input, 70 for our own bug. Anything else: 1.
            elf::exit_status(&e).map_or(ExitCode::FAILURE, ExitCode::from)
        }
    }
}
