//! THE table of architectures. Adding one is a row here, a crate `crates/hello-<name>`
//! and a Dockerfile `Dockerfiles/<name>`; everything else reads this table.

use anyhow::{Result, bail};

/// How an architecture's binary is built, described and run.
#[derive(Debug)]
pub struct Arch {
    /// Our name: `hello-<name>` crate, `Dockerfiles/<name>`, `hello:<name>` tag.
    pub name: &'static str,
    /// The Rust target the crate is built for (core comes from build-std).
    pub target: &'static str,
    /// Docker/OCI platform: `os/architecture[/variant]`.
    pub platform: Platform,
    /// What the linked ELF must say: e_machine, class, byte order.
    pub elf: ElfKind,
    /// rustflags beyond the ones every arch gets (see `build::COMMON_RUSTFLAGS`), each
    /// with the reason it is there.
    pub rustflags: &'static [&'static str],
    /// ARM only: the `Tag_CPU_arch` build attribute the linked ELF must carry, so a
    /// binary meant for an older core is never built with newer instructions.
    pub arm_cpu_arch: Option<ArmCpuArch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub os: &'static str,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfKind {
    pub machine: u16,
    pub is_64: bool,
    pub little_endian: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmCpuArch {
    /// The attribute's value (ARM IHI 0045: 5 = v5TE, 6 = v6, 10 = v7).
    pub value: u64,
    pub name: &'static str,
}

pub const ARCHES: &[Arch] = &[
    Arch {
        name: "x86_64",
        target: "x86_64-unknown-none",
        platform: Platform { os: "linux", architecture: "amd64", variant: None },
        elf: ElfKind { machine: goblin::elf::header::EM_X86_64, is_64: true, little_endian: true },
        // The target defaults to the kernel code model (addresses in the top 2 GiB):
        // the small model lets the message address be a 5-byte `mov esi, imm32`.
        rustflags: &["-Ccode-model=small"],
        arm_cpu_arch: None,
    },
    Arch {
        name: "aarch64",
        target: "aarch64-unknown-none",
        platform: Platform { os: "linux", architecture: "arm64", variant: None },
        elf: ElfKind { machine: goblin::elf::header::EM_AARCH64, is_64: true, little_endian: true },
        // Everything is within 1 MiB: one `adr` instead of `adrp` + `add` (4 bytes).
        rustflags: &["-Ccode-model=tiny"],
        arm_cpu_arch: None,
    },
    Arch {
        name: "armv7",
        // Thumb-2 code is 16 bytes smaller than A32 here; both run on every ARMv7-A core.
        target: "thumbv7a-none-eabi",
        platform: Platform { os: "linux", architecture: "arm", variant: Some("v7") },
        elf: ElfKind { machine: goblin::elf::header::EM_ARM, is_64: false, little_endian: true },
        rustflags: &[],
        arm_cpu_arch: Some(ArmCpuArch { value: 10, name: "ARMv7" }),
    },
];

impl Arch {
    /// The arch called `name`, or an error that lists the known ones.
    pub fn find(name: &str) -> Result<&'static Arch> {
        match ARCHES.iter().find(|a| a.name == name) {
            Some(arch) => Ok(arch),
            None => bail!("unknown architecture `{name}`: expected one of {}", names().join(", ")),
        }
    }

    /// The crate that holds this arch's `_start` and system calls.
    pub fn crate_name(&self) -> String {
        format!("hello-{}", self.name)
    }
}

impl Platform {
    /// `linux/arm/v7`, as `docker build --platform` takes it.
    pub fn docker(&self) -> String {
        match self.variant {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

pub fn names() -> Vec<&'static str> {
    ARCHES.iter().map(|a| a.name).collect()
}

/// Parse a list of arch names; an empty list means all of them.
pub fn select(names: &[String]) -> Result<Vec<&'static Arch>> {
    if names.is_empty() {
        return Ok(ARCHES.iter().collect());
    }
    names.iter().map(|n| Arch::find(n)).collect()
}
