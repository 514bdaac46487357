//! Debian's packages through a private apt: kernels, busybox and the unpacked qemu,
//! checked against the signed index's SHA256 and cached under target/hello/kernels.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

use super::table::{KERNELS, Kernel, Qemu, Suite};
use crate::{fsutil, paths};

/// A kernel ready to boot: its image, its device tree, its package version.
pub(super) struct Fetched {
    pub(super) image: PathBuf,
    pub(super) dtb: Option<PathBuf>,
    pub(super) version: String,
}

/// The kernel image of `kernel`, downloaded and unpacked once.
pub(super) fn fetch(sh: &Shell, kernel: &Kernel) -> Result<Fetched> {
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
pub(super) fn qemu(sh: &Shell, kernel: &Kernel) -> Result<PathBuf> {
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
pub(super) fn busybox(sh: &Shell, kernel: &Kernel) -> Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
