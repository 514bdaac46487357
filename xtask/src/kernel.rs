//! `cargo xtask kernel-test`: run hello as /init under real Linux kernels of each
//! architecture, booted in qemu-system (software emulation), because qemu-user's ELF
//! loader is not the kernel's: it accepts files a kernel refuses, and the other way.
//!
//! Kernels are Debian's own packages, fetched through the package registry with a
//! private apt configuration per release (the machine's apt state is not touched),
//! checked against the SHA256 in Debian's signed index, and cached under
//! target/hello/kernels/<release>; so is the one qemu the machine's packages lack.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

use crate::{arch::Arch, fsutil, paths};

/// A Debian kernel and the qemu machine that boots it.
pub struct Kernel {
    /// Debian's name for the kernel flavour.
    pub name: &'static str,
    /// The Debian release it comes from, with its busybox: bookworm where it has a
    /// kernel for the architecture.
    pub suite: Suite,
    /// Debian architecture and the metapackage naming the current kernel.
    pub deb_arch: &'static str,
    pub package: &'static str,
    pub qemu: Qemu,
    pub machine: &'static [&'static str],
    /// The device tree the machine needs, by file name in the kernel package.
    pub dtb: Option<&'static str>,
    pub console: &'static str,
    /// Kernel arguments beyond the console and `panic=-1`.
    pub append: &'static str,
    /// Our arches it runs: its own, and 32-bit ones its compat mode takes.
    pub runs: &'static [&'static str],
}

/// A Debian release, for the sources a kernel, its busybox or a qemu come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    Bookworm,
    /// For QEMU 10, the first that boots loong64 kernels.
    BookwormBackports,
    /// bookworm has no riscv64 port: trixie's kernel.
    Trixie,
    /// loong64 is a port of the release after trixie: unstable's kernel.
    Sid,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::BookwormBackports => "bookworm-backports",
            Suite::Trixie => "trixie",
            Suite::Sid => "sid",
        }
    }

    /// Its lines for sources.list: a stable release with its updates and security
    /// fixes, which carry the current kernels.
    fn sources(self) -> String {
        let deb = |suite: &str| format!("deb http://deb.debian.org/debian {suite} main\n");
        match self {
            Suite::Bookworm | Suite::Trixie => {
                let s = self.name();
                format!(
                    "{}{}deb http://deb.debian.org/debian-security {s}-security main\n",
                    deb(s),
                    deb(&format!("{s}-updates"))
                )
            }
            Suite::BookwormBackports | Suite::Sid => deb(self.name()),
        }
    }
}

/// Where a kernel's qemu-system comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qemu {
    /// The machine's own (qemu-system-* 7.2; setup.sh installs them).
    Installed(&'static str),
    /// A newer one, unpacked from Debian's package for this machine, never installed:
    /// it would conflict with the 7.2 packages the other kernels boot with.
    Unpacked { suite: Suite, package: &'static str, binary: &'static str },
}

/// Seen booting here (ENVIRONMENT.md). No Debian kernel boots an ARMv5 machine that
/// qemu models (armel's marvell flavour needs Feroceon SoCs): armv5 runs on the
/// ARMv6, ARMv7 and arm64 kernels.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        suite: Suite::Bookworm,
        name: "amd64",
        deb_arch: "amd64",
        package: "linux-image-amd64",
        qemu: Qemu::Installed("qemu-system-x86_64"),
        machine: &["-M", "pc", "-cpu", "max", "-m", "256"],
        dtb: None,
        append: "",
        console: "ttyS0",
        runs: &["x86_64", "i686"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "arm64",
        deb_arch: "arm64",
        package: "linux-image-arm64",
        qemu: Qemu::Installed("qemu-system-aarch64"),
        machine: &["-M", "virt", "-cpu", "cortex-a57", "-m", "256"],
        dtb: None,
        append: "",
        console: "ttyAMA0",
        runs: &["aarch64", "armv7", "armv6", "armv5"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "armmp",
        deb_arch: "armhf",
        package: "linux-image-armmp",
        qemu: Qemu::Installed("qemu-system-arm"),
        machine: &["-M", "virt", "-cpu", "cortex-a15", "-m", "256"],
        dtb: None,
        append: "",
        console: "ttyAMA0",
        runs: &["armv7", "armv6", "armv5"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "powerpc64le",
        deb_arch: "ppc64el",
        package: "linux-image-powerpc64le",
        qemu: Qemu::Installed("qemu-system-ppc64"),
        machine: &[
            "-M",
            "pseries,x-vof=on,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off",
            "-cpu",
            "power9",
            "-m",
            "512",
        ],
        dtb: None,
        append: "",
        console: "hvc0",
        runs: &["ppc64le"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "s390x",
        deb_arch: "s390x",
        package: "linux-image-s390x",
        qemu: Qemu::Installed("qemu-system-s390x"),
        machine: &["-M", "s390-ccw-virtio", "-cpu", "max", "-m", "512"],
        dtb: None,
        append: "",
        console: "ttysclp0",
        runs: &["s390x"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "5kc-malta",
        deb_arch: "mips64el",
        package: "linux-image-5kc-malta",
        qemu: Qemu::Installed("qemu-system-mips64el"),
        machine: &["-M", "malta", "-cpu", "MIPS64R2-generic", "-m", "256"],
        dtb: None,
        append: "",
        console: "ttyS0",
        runs: &["mips64el"],
    },
    Kernel {
        suite: Suite::Trixie,
        name: "riscv64",
        deb_arch: "riscv64",
        package: "linux-image-riscv64",
        qemu: Qemu::Installed("qemu-system-riscv64"),
        // OpenSBI (qemu-system-data's default firmware for virt) starts the kernel.
        machine: &["-M", "virt", "-cpu", "rv64", "-m", "512"],
        dtb: None,
        append: "",
        console: "ttyS0",
        runs: &["riscv64"],
    },
    Kernel {
        suite: Suite::Bookworm,
        name: "rpi",
        deb_arch: "armel",
        package: "linux-image-rpi",
        qemu: Qemu::Installed("qemu-system-arm"),
        // A Raspberry Pi Zero: ARM1176, ARMv6. The kernel cannot power it off: boot()
        // stops qemu once the kernel has said how init exited.
        machine: &["-M", "raspi0"],
        dtb: Some("bcm2835-rpi-zero.dtb"),
        // The power-management driver hangs on qemu's model of the SoC.
        append: "initcall_blacklist=bcm2835_pm_driver_init",
        console: "ttyAMA0",
        runs: &["armv6", "armv5"],
    },
    Kernel {
        suite: Suite::Sid,
        name: "loong64",
        deb_arch: "loong64",
        package: "linux-image-loong64",
        // QEMU 7.2 cannot load this kernel; bookworm-backports has QEMU 10.
        qemu: Qemu::Unpacked {
            suite: Suite::BookwormBackports,
            package: "qemu-system-misc",
            binary: "qemu-system-loongarch64",
        },
        // -nodefaults: no network card, whose option ROM only QEMU 10's own data files
        // have; the serial console then has to be named.
        machine: &["-M", "virt", "-cpu", "la464", "-m", "1G", "-nodefaults", "-serial", "mon:stdio"],
        dtb: None,
        // No i8042 on this machine; probing for one stalls the boot.
        append: "initcall_blacklist=i8042_init",
        console: "ttyS0",
        runs: &["loongarch64"],
    },
];

/// The most the whole kernel-test matrix may take, booting under TCG on 2 cores
/// (issue 6); tests/kernels.rs holds it.
pub const MATRIX_BUDGET: Duration = Duration::from_secs(15 * 60);

/// What the kernel prints when init exits with status 0.
pub const CLEAN_EXIT: &str = "Attempted to kill init! exitcode=0x00000000";

/// The kernels that run `arch`.
pub fn kernels_for(arch: &Arch) -> impl Iterator<Item = &'static Kernel> + '_ {
    KERNELS.iter().filter(|k| k.runs.contains(&arch.name))
}

/// A boot's result: the kernel's package version and what the console showed.
pub struct Boot {
    pub kernel: &'static str,
    pub version: String,
    pub passed: bool,
    pub console: String,
}

/// How the kernel gets to run the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The binary is /init: the kernel's own exec of the first process.
    AsInit,
    /// /init is a shell script run by Debian's busybox-static (of the kernel's own
    /// architecture), which forks and execs the binary as an ordinary process and
    /// exits with its status: the exec path every later program takes.
    FromShell,
}

/// The script that runs the binary under busybox: init exits 0 only if hello did.
const SHELL_INIT: &str = "#!/busybox sh\n/hello\nstatus=$?\necho \"hello exited with $status\"\nexit $status\n";

/// Boot `kernel` with `binary` started as `start` says; pass if the console shows
/// `expect` and the kernel reports init's clean exit.
pub fn boot(sh: &Shell, kernel: &'static Kernel, binary: &[u8], expect: &str, start: Start) -> Result<Boot> {
    let Fetched { image, dtb, version } = fetch(sh, kernel)?;
    let qemu = qemu(sh, kernel)?;
    // Removed when dropped, however the boot ends.
    let scratch = paths::out_root().join("kernels");
    fs::create_dir_all(&scratch)?;
    let dir = tempfile::Builder::new().prefix("boot.").tempdir_in(&scratch)?;
    let initrd = dir.path().join("initrd.cpio");
    let cpio = match start {
        Start::AsInit => newc_cpio(&[("init", binary)]),
        Start::FromShell => {
            let busybox = fs::read(busybox(sh, kernel)?)?;
            newc_cpio(&[("init", SHELL_INIT.as_bytes()), ("busybox", &busybox), ("hello", binary)])
        }
    };
    fs::write(&initrd, cpio)?;
    let log = dir.path().join("console.log");
    let append = format!("console={} panic=-1 quiet {}", kernel.console, kernel.append);
    let mut command = Command::new(&qemu);
    command.args(kernel.machine).args(["-nographic", "-no-reboot", "-kernel"]).arg(&image);
    if let Some(dtb) = &dtb {
        command.arg("-dtb").arg(dtb);
    }
    let mut child = command
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", append.trim_end()])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&log)?)
        .stderr(fs::File::create(dir.path().join("qemu.stderr"))?)
        .spawn()
        .with_context(|| {
            format!("cannot run {} (apt-get install qemu-system-*; `bash setup.sh` does)", qemu.display())
        })?;
    // panic=-1 reboots at once and -no-reboot turns that into qemu's exit. A kernel
    // that cannot reboot the machine (rpi) halts instead: qemu is stopped once the
    // kernel has said how init exited. One that hangs is killed after two minutes.
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline || verdict(&fs::read(&log)?).is_some() {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let console = String::from_utf8_lossy(&fs::read(&log)?).replace('\r', "");
    // What qemu itself said, if anything, goes after the console: a failure shows it.
    let complaints = fs::read_to_string(dir.path().join("qemu.stderr")).unwrap_or_default();
    let console = if complaints.trim().is_empty() { console } else { format!("{console}\nqemu: {complaints}") };
    // From a shell, the script's own line proves hello ran as its child and exited 0.
    let shell_saw_it = start == Start::AsInit || console.contains("hello exited with 0");
    // As init, the exit panics the kernel at once, and the serial driver may never
    // send the last bytes still queued for the console: seen on loong64, the
    // message's final newline lost. The exit status (0 only when write() took the
    // whole message) says it was all written; the console must show the rest.
    let shown = match start {
        Start::AsInit => console.contains(expect.trim_end_matches('\n')),
        Start::FromShell => console.contains(expect),
    };
    let passed = shown && console.contains(CLEAN_EXIT) && shell_saw_it;
    Ok(Boot { kernel: kernel.name, version, passed, console })
}

/// The line a kernel prints when init exits, with its status, once it is all there.
fn verdict(console: &[u8]) -> Option<&[u8]> {
    const LINE: &[u8] = b"Attempted to kill init! exitcode=0x";
    let at = console.windows(LINE.len()).position(|w| w == LINE)?;
    let line = console.get(at..at + LINE.len() + 8)?;
    line[LINE.len()..].iter().all(u8::is_ascii_hexdigit).then_some(line)
}

/// A kernel ready to boot: its image, its device tree, its package version.
struct Fetched {
    image: PathBuf,
    dtb: Option<PathBuf>,
    version: String,
}

/// The kernel image of `kernel`, downloaded and unpacked once.
fn fetch(sh: &Shell, kernel: &Kernel) -> Result<Fetched> {
    let apt = Apt::new(kernel.suite)?;
    let meta = format!("{}:{}", kernel.package, kernel.deb_arch);
    let depends = apt.run(sh, &["apt-cache", "depends", &meta])?;
    let package = depends
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-"))
        .with_context(|| format!("{meta} names no kernel package (apt index not fetched?)"))?;
    // apt-cache says `name:arch` for a foreign architecture, `name` for the first one.
    let package = package.split(':').next().unwrap_or(package);
    let (unpacked, version) = apt.unpacked(sh, &format!("{package}:{}", kernel.deb_arch))?;
    let deb_name = unpacked.file_name().unwrap_or_default().to_string_lossy().into_owned();
    // bookworm and trixie ship /boot/vmlinuz-*; sid moved the image to its own
    // package, linux-binary-*, as /usr/lib/modules/<version>/vmlinuz.
    let image = match kernel_image(&unpacked) {
        Some(image) => image,
        None => {
            let binary = format!("linux-binary-{}:{}", package.trim_start_matches("linux-image-"), kernel.deb_arch);
            let (unpacked, _) = apt.unpacked(sh, &binary)?;
            kernel_image(&unpacked).with_context(|| format!("{deb_name} and {binary}: no kernel image in either"))?
        }
    };
    let dtb = match kernel.dtb {
        Some(name) => Some(
            find_file(&unpacked.join("usr/lib"), name)
                .with_context(|| format!("{deb_name}: no {name} under /usr/lib"))?,
        ),
        None => None,
    };
    Ok(Fetched { image: unzboot(sh, &image)?, dtb, version })
}

/// /boot/vmlinuz-* or vmlinux-*, else /usr/lib/modules/*/vmlinuz, in an unpacked
/// kernel package.
fn kernel_image(unpacked: &Path) -> Option<PathBuf> {
    let entries = |dir: PathBuf| fs::read_dir(dir).into_iter().flatten().filter_map(|e| e.ok().map(|e| e.path()));
    let named = |p: &PathBuf, prefixes: &[&str]| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| prefixes.iter().any(|x| n.starts_with(x)))
    };
    entries(unpacked.join("boot"))
        .find(|p| named(p, &["vmlinuz-", "vmlinux-"]))
        .or_else(|| entries(unpacked.join("usr/lib/modules")).map(|d| d.join("vmlinuz")).find(|p| p.is_file()))
}

/// The file called `name` somewhere below `dir`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in fs::read_dir(dir).ok()?.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if entry.file_name() == name {
            return Some(path);
        }
    }
    None
}

/// The kernel inside an EFI zboot image (an EFI stub around the compressed kernel, as
/// sid's loong64 kernel comes): qemu boots the inner image, not the stub. Any other
/// image is returned as it is. The inner image is kept beside the package's.
fn unzboot(sh: &Shell, image: &Path) -> Result<PathBuf> {
    let bytes = fs::read(image).with_context(|| format!("cannot read {}", image.display()))?;
    if bytes.len() < 0x20 || &bytes[..2] != b"MZ" || &bytes[4..8] != b"zimg" {
        return Ok(image.to_path_buf());
    }
    let inner = PathBuf::from(format!("{}.unpacked", image.display()));
    if inner.is_file() {
        return Ok(inner);
    }
    // The zboot header (linux drivers/firmware/efi/libstub/zboot-header.S): payload
    // offset and size at 8 and 12, the compression's name at 0x18.
    let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let (offset, size) = (word(8), word(12));
    let method = String::from_utf8_lossy(&bytes[0x18..0x20]).trim_end_matches('\0').to_string();
    let payload = offset
        .checked_add(size)
        .and_then(|end| bytes.get(offset..end))
        .with_context(|| format!("{}: the zboot payload runs past the end of the file", image.display()))?;
    if method != "zstd" {
        bail!("{}: a zboot image compressed with {method:?}; only zstd is unpacked", image.display());
    }
    let kernel = cmd!(sh, "zstd -d -q -c")
        .stdin(payload)
        .quiet()
        .output()
        .with_context(|| format!("cannot unpack {} (zstd: apt-get install zstd; setup.sh does)", image.display()))?
        .stdout;
    fsutil::write_atomic(&inner, &kernel, 0o644)?;
    Ok(inner)
}

/// The qemu-system binary that boots `kernel`: the machine's, or one unpacked from a
/// Debian package of this machine's architecture.
fn qemu(sh: &Shell, kernel: &Kernel) -> Result<PathBuf> {
    match kernel.qemu {
        Qemu::Installed(binary) => Ok(PathBuf::from(binary)),
        Qemu::Unpacked { suite, package, binary } => {
            let (unpacked, _) = Apt::new(suite)?.unpacked(sh, &format!("{package}:{}", host_arch()?))?;
            Ok(unpacked.join("usr/bin").join(binary))
        }
    }
}

/// This machine's Debian architecture.
fn host_arch() -> Result<String> {
    let out = Command::new("dpkg").arg("--print-architecture").output().context("cannot run dpkg")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Debian's static busybox for the kernel's architecture: /bin/busybox in bookworm,
/// /usr/bin/busybox in trixie (merged /usr).
fn busybox(sh: &Shell, kernel: &Kernel) -> Result<PathBuf> {
    let (unpacked, _) = Apt::new(kernel.suite)?.unpacked(sh, &format!("busybox-static:{}", kernel.deb_arch))?;
    ["bin/busybox", "usr/bin/busybox"]
        .iter()
        .map(|p| unpacked.join(p))
        .find(|p| p.is_file())
        .with_context(|| format!("{}: no bin/busybox or usr/bin/busybox in it", unpacked.display()))
}

/// apt with its own configuration, lists and cache under target/hello/kernels/<suite>:
/// one state per release, so that each kernel's metapackage names its own release's
/// kernel.
struct Apt {
    root: PathBuf,
    config: PathBuf,
    /// Held while this Apt lives: runs at once (tests) share the cache, so one
    /// fetches and unpacks while the others wait for it.
    _lock: fs::File,
}

impl Apt {
    fn new(suite: Suite) -> Result<Apt> {
        let root = paths::out_root().join("kernels").join(suite.name());
        for d in ["lists/partial", "cache/archives/partial", "etc"] {
            fs::create_dir_all(root.join(d))?;
        }
        let lock = fs::File::create(root.join("etc/lock"))?;
        lock.lock()?;
        let r = root.display();
        // The kernels' architectures, and this machine's for a qemu from this suite.
        let qemu_here = KERNELS.iter().any(|k| matches!(k.qemu, Qemu::Unpacked { suite: s, .. } if s == suite));
        let host = if qemu_here { Some(host_arch()?) } else { None };
        let archs: Vec<String> = KERNELS
            .iter()
            .filter(|k| k.suite == suite)
            .map(|k| k.deb_arch.to_string())
            .chain(host)
            .map(|a| format!("\"{a}\";"))
            .collect();
        let s = suite.name();
        fs::write(root.join("etc/sources.list"), suite.sources())?;
        let config = root.join("etc/apt.conf");
        let text = format!(
            "Dir::State \"{r}\";\nDir::State::Lists \"{r}/lists\";\nDir::State::status \"{r}/etc/status\";\n\
             Dir::Cache \"{r}/cache\";\nDir::Etc::SourceList \"{r}/etc/sources.list\";\n\
             Dir::Etc::SourceParts \"/nonexistent\";\nDir::Etc::Preferences \"{r}/etc/preferences\";\n\
             Dir::Etc::PreferencesParts \"/nonexistent\";\nAPT::Architectures {{ {} }};\n\
             APT::Sandbox::User \"root\";\nAcquire::Retries \"3\";\n",
            archs.join(" ")
        );
        if fs::read_to_string(&config).ok().as_deref() != Some(&text) {
            fsutil::write_atomic(&config, text.as_bytes(), 0o644)?;
            // Other architectures or sources: the lists fetched before do not cover them.
            let _ = fs::remove_file(root.join("lists/.updated"));
        }
        if !root.join("etc/status").exists() {
            fs::write(root.join("etc/status"), b"")?;
        }
        let apt = Apt { root, config, _lock: lock };
        // One index fetch a day is plenty: kernels change with point releases.
        let fresh = fs::metadata(apt.root.join("lists/.updated"))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(86400));
        if !fresh {
            eprintln!("fetching Debian's package index ({s}) for the kernels");
            // A mirror mid-sync fails an index we may not need; a missing package is
            // reported when it is looked up.
            let _ = apt.run(&Shell::new()?, &["apt-get", "update", "-q"]);
            fs::write(apt.root.join("lists/.updated"), b"")?;
        }
        Ok(apt)
    }

    /// `package` (name:arch) downloaded, checked against the index's SHA256 and
    /// unpacked, once; the folder and the package's version.
    fn unpacked(&self, sh: &Shell, package: &str) -> Result<(PathBuf, String)> {
        let show = self.run(sh, &["apt-cache", "show", package])?;
        let field = |name: &str| {
            show.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .with_context(|| format!("{package}: no {name} in the apt index"))
        };
        let (sha256, version, filename) = (field("SHA256:")?, field("Version:")?, field("Filename:")?);
        let deb_name = filename.rsplit('/').next().unwrap_or(&filename).to_string();
        let deb = self.root.join(&deb_name);
        if !deb.is_file() || sha256_file(&deb)? != sha256 {
            eprintln!("downloading {package} {version}");
            let _dir = sh.push_dir(&self.root);
            self.run(sh, &["apt-get", "download", "-q", package])?;
            // apt-get download names the file after the version, epoch included
            // (as %3a); the pool's name has no epoch.
            let (name, arch) = (field("Package:")?, field("Architecture:")?);
            let downloaded = self.root.join(format!("{name}_{}_{arch}.deb", version.replace(':', "%3a")));
            if downloaded != deb {
                fs::rename(&downloaded, &deb)
                    .with_context(|| format!("apt-get download wrote no {}", downloaded.display()))?;
            }
            let got = sha256_file(&deb)?;
            if got != sha256 {
                let _ = fs::remove_file(&deb);
                bail!("{deb_name}: sha256 {got}, the signed index says {sha256}");
            }
        }
        let unpacked = self.root.join(deb_name.trim_end_matches(".deb"));
        if !unpacked.join(".complete").is_file() {
            let _ = fs::remove_dir_all(&unpacked);
            cmd!(sh, "dpkg-deb -x {deb} {unpacked}")
                .quiet()
                .run()
                .with_context(|| format!("cannot unpack {deb_name}"))?;
            fs::write(unpacked.join(".complete"), b"")?;
        }
        Ok((unpacked, version))
    }

    fn run(&self, sh: &Shell, args: &[&str]) -> Result<String> {
        let (program, rest) = args.split_first().unwrap();
        cmd!(sh, "{program} {rest...}")
            .env("APT_CONFIG", &self.config)
            .quiet()
            .ignore_stderr()
            .read()
            .with_context(|| format!("{} failed", args.join(" ")))
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    Ok(format!("{:x}", Sha256::digest(fs::read(path)?)))
}

/// An initramfs: a "newc" cpio archive of executable files at the root.
pub fn newc_cpio(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entry = |ino: u32, mode: u32, name: &str, data: &[u8]| {
        let fields = [ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    };
    for (i, (name, data)) in files.iter().enumerate() {
        entry(i as u32 + 1, 0o100755, name, data);
    }
    entry(0, 0, "TRAILER!!!", &[]);
    out
}

/// How `kernel` starts `arch`'s binary in kernel-test: as init always; from a shell
/// too for its own arch and, on amd64 and arm64, the first 32-bit one it runs in
/// compat mode, so that the ordinary exec path is proven on every kernel and in
/// compat mode. (Other 32-bit ARM binaries on a 32-bit kernel take the same exec path
/// as its own: the matrix keeps its 15 minutes.)
pub fn starts(kernel: &Kernel, arch: &Arch) -> Vec<Start> {
    let is_64 = |name: &str| Arch::find(name).is_ok_and(|a| a.elf.is_64);
    let own = kernel.runs[0] == arch.name;
    let compat = kernel.runs.get(1) == Some(&arch.name) && is_64(kernel.runs[0]) && !arch.elf.is_64;
    match own || compat {
        true => vec![Start::AsInit, Start::FromShell],
        false => vec![Start::AsInit],
    }
}

/// `cargo xtask kernel-test`: boot each arch's kernels with its binary (built with the
/// default message, or `binary`) and print one PASS/FAIL line per boot; an error
/// naming every failure. Arches without a kernel are skipped, or refused when named.
pub fn test(sh: &Shell, arches: &[&Arch], explicit: bool, binary: Option<&Path>, expect: &str) -> Result<()> {
    let all = Instant::now();
    // Every boot to make: build (or read) each binary first, then boot.
    let mut jobs = Vec::new();
    for &arch in arches {
        if kernels_for(arch).next().is_none() {
            if explicit {
                bail!("no kernel to boot {} yet (see kernel.rs for what was tried)", arch.name);
            }
            eprintln!("SKIP {:<12} no kernel in the table yet", arch.name);
            continue;
        }
        let bytes = match binary {
            Some(path) => fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            None => fs::read(crate::build::build(sh, arch, crate::message::DEFAULT, None)?.binary)?,
        };
        for k in kernels_for(arch) {
            for start in starts(k, arch) {
                jobs.push((arch, k, start, bytes.clone()));
            }
        }
    }
    // Two boots at a time: qemu's software emulation of one CPU keeps one core busy,
    // and the matrix must fit its 15 minutes on 2 cores. Downloads are serialized by
    // the apt lock of each release.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..BOOTS_AT_ONCE)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let sh = Shell::new()?;
                    while let Some((arch, k, start, bytes)) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                        let started = Instant::now();
                        let boot = boot(&sh, k, bytes, expect, *start)?;
                        let verdict = if boot.passed { "PASS" } else { "FAIL" };
                        let seconds = started.elapsed().as_secs_f64();
                        let on = match start {
                            Start::AsInit => k.name.to_string(),
                            Start::FromShell => format!("{}+sh", k.name),
                        };
                        println!("{verdict} {:<12} on {on:<12} linux {:<12} {seconds:.1} s", arch.name, boot.version);
                        if !boot.passed {
                            let tail: Vec<&str> = boot.console.lines().rev().take(15).collect();
                            let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
                            eprintln!("{} on {on}: console, last lines:\n{tail}", arch.name);
                            failed.lock().unwrap().push(format!("{} on {on}", arch.name));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| bail!("a boot thread panicked")))
    })?;
    println!("{} boots in {:.0} s", jobs.len(), all.elapsed().as_secs_f64());
    let failed = failed.into_inner().unwrap();
    if !failed.is_empty() {
        bail!("the kernel did not run it to a clean exit: {}", failed.join(", "));
    }
    Ok(())
}

/// Boots kernel-test runs side by side (see `test`).
const BOOTS_AT_ONCE: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_counts_once_its_status_is_all_there() {
        let line = b"[ 4.7] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n";
        assert_eq!(verdict(line), Some(&b"Attempted to kill init! exitcode=0x00000100"[..]));
        assert_eq!(verdict(&line[..line.len() - 4]), None, "status cut short");
        assert_eq!(verdict(b"Hello Docker World!\n"), None);
    }

    #[test]
    fn zboot_images_are_unpacked_and_others_left_alone() {
        let sh = Shell::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("vmlinux");
        fs::write(&plain, b"\x7fELF not a zboot image, whatever it is").unwrap();
        assert_eq!(unzboot(&sh, &plain).unwrap(), plain);
        // A zboot header whose payload runs past the end of the file.
        let mut header = vec![0; 0x40];
        header[..2].copy_from_slice(b"MZ");
        header[4..8].copy_from_slice(b"zimg");
        header[8..12].copy_from_slice(&0x40u32.to_le_bytes());
        header[12..16].copy_from_slice(&0x1000u32.to_le_bytes());
        header[0x18..0x1c].copy_from_slice(b"zstd");
        let zboot = dir.path().join("vmlinuz");
        fs::write(&zboot, &header).unwrap();
        let err = unzboot(&sh, &zboot).unwrap_err().to_string();
        assert!(err.contains("runs past the end"), "{err}");
        // A real one: the payload is what zstd made of our bytes.
        let kernel = b"a kernel image, compressed".repeat(10);
        let payload = cmd!(sh, "zstd -q -c").stdin(&kernel).output().unwrap().stdout;
        header[12..16].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        fs::write(&zboot, [&header[..], &payload].concat()).unwrap();
        let inner = unzboot(&sh, &zboot).unwrap();
        assert_eq!(fs::read(inner).unwrap(), kernel);
    }
}
