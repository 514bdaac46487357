//! `cargo xtask <command>`: see `cargo xtask --help`.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Result, bail};
use clap::{Parser, Subcommand};
use xshell::Shell;
use xtask::{arch, build, compare, docker::Docker, elf, image, kernel, message::MessageArgs, registry, report};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build the smallest hello binaries and their Docker images")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, shrink and check the binary: target/hello/<arch>/hello
    Build(Build),
    /// Strip an ELF executable down to what the kernel loads
    Shrink(Shrink),
    /// Build the image archive target/hello/<arch>/image.tar and load it as hello:<arch>
    Image(Image),
    /// Build an image from Dockerfiles/<arch> with BuildKit, for the arch's platform
    DockerBuild(DockerBuild),
    /// The size table: binary, message, overhead, budget, image, sha256
    Report(Report),
    /// Write Dockerfiles/<arch> for every arch from the one template
    Dockerfiles,
    /// Write target/hello/index.tar: one OCI image index over every arch's image
    Index(Index),
    /// Boot real Linux kernels in qemu-system with hello as /init
    KernelTest(KernelTest),
    /// Push every arch's image and one index over them to a registry
    Push(Push),
    /// Sizes after strip, sstrip and our minimizer, for ours and foreign programs
    Compare(Compare),
}

#[derive(clap::Args)]
struct Build {
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
    /// executable before the entry (as crates/hello/hello.ld links it): move the
    /// code's last instructions into free header fields (x86 and s390x so far)
    #[arg(long)]
    move_tail: bool,
}

#[derive(clap::Args)]
struct Image {
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    #[command(flatten)]
    message: MessageArgs,
    /// Only write the archive; do not load it into Docker
    #[arg(long)]
    no_load: bool,
}

#[derive(clap::Args)]
struct DockerBuild {
    #[arg(value_name = "ARCH")]
    arch: String,
    /// Image tag (default hello:<arch>)
    #[arg(long)]
    tag: Option<String>,
    #[command(flatten)]
    message: MessageArgs,
}

#[derive(clap::Args)]
struct Index {
    /// The index's name; each image is also tagged <name>:<arch> for docker load
    #[arg(long, default_value = "hello:latest")]
    tag: String,
    #[command(flatten)]
    message: MessageArgs,
    /// Also load every image into Docker (docker load cannot load an index itself)
    #[arg(long)]
    load: bool,
}

#[derive(clap::Args)]
struct Push {
    /// Where: REGISTRY/NAME[:TAG] (TAG defaults to latest), e.g. 127.0.0.1:5000/hello
    reference: String,
    /// Architectures (default: all)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    #[command(flatten)]
    message: MessageArgs,
}

#[derive(clap::Args)]
struct Compare {
    /// Print JSON instead of the Markdown table README.md shows
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct KernelTest {
    /// Architectures (default: every one a kernel is known for)
    #[arg(value_name = "ARCH")]
    arches: Vec<String>,
    /// Run this static binary instead of ours (give one ARCH)
    #[arg(long, value_name = "FILE")]
    binary: Option<PathBuf>,
    /// What the console must show (default: our message)
    #[arg(long, value_name = "TEXT")]
    expect: Option<String>,
}

#[derive(clap::Args)]
struct Report {
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
        let message = self.message.resolve()?;
        for arch in arches {
            build::build(sh, arch, &message, self.out.as_deref())?;
        }
        Ok(())
    }
}

impl Shrink {
    fn run(self) -> Result<()> {
        let before = std::fs::metadata(&self.input).map(|m| m.len()).unwrap_or(0);
        let plan =
            elf::shrink_file(&self.input, &self.output, elf::Options { move_tail: self.move_tail }, self.explain)?;
        println!("{}: {before} -> {} bytes", self.output.display(), plan.len);
        Ok(())
    }
}

impl Image {
    fn run(self, sh: &Shell) -> Result<()> {
        let arches = arch::select(&self.arches)?;
        let message = self.message.resolve()?;
        // Ask for the engine first: no point building for minutes to fail at the end.
        let docker = if self.no_load { None } else { Some(Docker::connect(sh)?) };
        for arch in arches {
            image::build_and_archive(sh, arch, &message, docker.as_ref())?;
        }
        Ok(())
    }
}

impl DockerBuild {
    fn run(self, sh: &Shell) -> Result<()> {
        let arch = arch::Arch::find(&self.arch)?;
        // Only a message the user gave travels as a build argument; none means the
        // Dockerfile's default.
        let message = self.message.given()?;
        let tag = self.tag.unwrap_or_else(|| format!("hello:{}", arch.name));
        Docker::connect_builder(sh)?.build_dockerfile(sh, arch, &tag, message.as_deref())
    }
}

impl Index {
    fn run(self, sh: &Shell) -> Result<()> {
        let message = self.message.resolve()?;
        let docker = if self.load { Some(Docker::connect(sh)?) } else { None };
        let (name, _) = image::split_tag(&self.tag);
        let images = image::build_images(sh, &arch::select(&[])?, &message)?;
        let tagged: Vec<image::Tagged> = images
            .iter()
            .map(|(arch, image)| image::Tagged { arch, image, tag: format!("{name}:{}", arch.name) })
            .collect();
        let (index, archive) = image::index_archive(&tagged, &self.tag)?;
        let path = xtask::paths::out_root().join("index.tar");
        xtask::fsutil::write_atomic(&path, &archive, 0o644)?;
        eprintln!(
            "wrote {} (index {}, {} bytes; {} platforms)",
            path.display(),
            index.digest,
            index.bytes.len(),
            tagged.len()
        );
        if let Some(docker) = docker {
            docker.load(sh, &path)?;
        }
        Ok(())
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

impl Push {
    fn run(self, sh: &Shell) -> Result<()> {
        let reference = registry::Reference::parse(&self.reference)?;
        let arches = arch::select(&self.arches)?;
        let message = self.message.resolve()?;
        // Reach the registry (and pass its authentication) before building anything.
        let mut registry = registry::Registry::connect(&reference)?;
        let images = image::build_images(sh, &arches, &message)?;
        let mut counts = registry::Counts::default();
        for (arch, image) in &images {
            for blob in [&image.layer, &image.config] {
                match registry.push_blob(blob)? {
                    true => counts.uploaded += 1,
                    false => counts.present += 1,
                }
            }
            registry.push_manifest(&image.manifest, image::MANIFEST_MEDIA_TYPE, &image.manifest.digest)?;
            eprintln!("{:<12} manifest {}", arch.name, image.manifest.digest);
        }
        let index = image::index(images.iter().map(|(arch, image)| (*arch, image)))?;
        registry.push_manifest(&index, image::INDEX_MEDIA_TYPE, &reference.tag)?;
        println!(
            "pushed {reference} (index {}, {} platforms): {} blobs uploaded, {} already there",
            index.digest,
            images.len(),
            counts.uploaded,
            counts.present
        );
        Ok(())
    }
}

impl KernelTest {
    fn run(self, sh: &Shell) -> Result<()> {
        let explicit = !self.arches.is_empty();
        let arches = arch::select(&self.arches)?;
        if self.binary.is_some() && arches.len() != 1 {
            bail!("--binary takes one architecture: kernel-test --binary FILE ARCH");
        }
        let expect = self.expect.unwrap_or_else(|| String::from_utf8_lossy(xtask::message::DEFAULT).into_owned());
        kernel::test(sh, &arches, explicit, self.binary.as_deref(), &expect)
    }
}

impl Report {
    fn run(self, sh: &Shell) -> Result<()> {
        let docker = if self.no_docker { None } else { Some(Docker::connect(sh)?) };
        let (rows, index_bytes) = report::rows(sh, &arch::select(&self.arches)?, docker.as_ref(), self.kernels)?;
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
        Command::Dockerfiles => arch::select(&[]).and_then(|a| xtask::dockerfile::write_all(&a)),
        Command::Index(c) => c.run(&sh),
        Command::KernelTest(c) => c.run(&sh),
        Command::Push(c) => c.run(&sh),
        Command::Compare(c) => c.run(&sh),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the whole chain of context, outermost first.
            eprintln!("error: {e:#}");
            // A refused input file is the caller's to fix: status 2, like sstrip.
            if e.chain().any(|c| c.is::<elf::Refusal>()) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
