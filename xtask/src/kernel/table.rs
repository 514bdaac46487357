//! The table of kernels: which Debian kernel boots which arches, in which qemu, and how
//! each starts the binary.

use super::boot::Start;
use crate::{
    arch::Arch,
    program::{Judge, Program},
};

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
    pub(super) fn sources(self) -> String {
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

/// The kernels that run `arch`.
pub fn kernels_for(arch: &Arch) -> impl Iterator<Item = &'static Kernel> + '_ {
    KERNELS.iter().filter(|k| k.runs.contains(&arch.name))
}

/// How `kernel` starts `program` for `arch` in kernel-test.
///
/// hello: as init always; from a shell too for the kernel's own arch and, on amd64 and
/// arm64, the first 32-bit one it runs in compat mode, so that the ordinary exec path
/// is proven on every kernel and in compat mode. (Other 32-bit ARM binaries on a
/// 32-bit kernel take the same exec path as its own.)
///
/// pause and httpd: where hello starts from a shell, and an arch that never does
/// (armv5) on its first kernel: every arch once, every kernel at least once. pause in a
/// PID namespace; httpd as a server on loopback, fetched over IPv4 and IPv6. No kernel
/// is left out and no check skipped: every one here has both (bookworm's and trixie's
/// configs say CONFIG_IPV6=y; sid's loong64 ships no config, and served over ::1).
pub fn starts(kernel: &Kernel, program: &Program, arch: &Arch) -> Vec<Start> {
    let from_shell = |k: &Kernel| {
        let is_64 = |name: &str| Arch::find(name).is_ok_and(|a| a.elf.is_64);
        let own = k.runs[0] == arch.name;
        own || (k.runs.get(1) == Some(&arch.name) && is_64(k.runs[0]) && !arch.elf.is_64)
    };
    // Once per kernel and once per arch, as above.
    let once = || {
        let first = kernels_for(arch).next().is_some_and(|k| std::ptr::eq(k, kernel));
        from_shell(kernel) || (first && !KERNELS.iter().any(|k| k.runs.contains(&arch.name) && from_shell(k)))
    };
    match program.judge {
        Judge::PrintsMessage if from_shell(kernel) => vec![Start::AsInit, Start::FromShell],
        Judge::PrintsMessage => vec![Start::AsInit],
        Judge::WaitsForSignal if once() => vec![Start::InPidNamespace],
        Judge::Serves if once() => vec![Start::Serving],
        Judge::WaitsForSignal | Judge::Serves => vec![],
    }
}
