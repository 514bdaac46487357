//! THE table of architectures. Adding one is a row here and a syscall crate
//! `crates/sys-<isa>` (named in crates/sys); everything else reads this table or is
//! written from it (`cargo xtask generate`), and tests/layout.rs checks both.

use anyhow::{Result, bail};
use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_LOONGARCH, EM_MIPS, EM_PPC64, EM_RISCV, EM_S390, EM_X86_64};

/// How an architecture's binary is built, described and run.
#[derive(Debug)]
pub struct Arch {
    /// Our name: `Dockerfiles/<name>`, `<program>:<name>` tags, target/hello/<name>.
    pub name: &'static str,
    /// The syscall crate: the system calls in inline asm and the entry glue (arches
    /// that share a system call ABI share a crate: armv5, armv6 and armv7 use `sys-arm`).
    pub syscalls: &'static str,
    /// The Rust target the crate is built for (core comes from build-std).
    pub target: &'static str,
    /// Docker/OCI platform: `os/architecture[/variant]`.
    pub platform: Platform,
    /// What the linked ELF must say: e_machine, class, byte order.
    pub elf: ElfKind,
    /// rustflags beyond the ones every arch gets (see `build::common_rustflags`), each
    /// with the reason it is there.
    pub rustflags: &'static [&'static str],
    /// rustflags for the program's own crate alone (`cargo rustc -- ...`), with fat LTO
    /// the flags the whole program is generated with: options that core and
    /// compiler_builtins cannot be built with.
    pub program_rustflags: &'static [&'static str],
    /// The built-in target insists on frame pointers (all Thumb targets and the i586
    /// one do): build
    /// with a copy of its spec that lets LLVM omit them, which drops the 4-byte
    /// `push {r7, lr}; add r7, sp, #0` from `_start` (`push ebp; mov ebp, esp` on x86).
    pub omit_frame_pointer: bool,
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

/// The hello-world image's platforms, and one more (loong64).
pub const ARCHES: &[Arch] = &[
    Arch {
        name: "x86_64",
        syscalls: "sys-x86_64",
        target: "x86_64-unknown-none",
        platform: Platform { os: "linux", architecture: "amd64", variant: None },
        elf: ElfKind { machine: EM_X86_64, is_64: true, little_endian: true },
        // The target defaults to the kernel code model (addresses in the top 2 GiB):
        // the small model lets the message address be a 5-byte `mov esi, imm32`.
        rustflags: &["-Ccode-model=small"],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "aarch64",
        syscalls: "sys-aarch64",
        target: "aarch64-unknown-none",
        platform: Platform { os: "linux", architecture: "arm64", variant: None },
        elf: ElfKind { machine: EM_AARCH64, is_64: true, little_endian: true },
        // Everything is within 1 MiB: one `adr` instead of `adrp` + `add` (4 bytes).
        rustflags: &["-Ccode-model=tiny"],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "armv7",
        syscalls: "sys-arm",
        // Thumb-2 code is 16 bytes smaller than A32 here; both run on every ARMv7-A core.
        target: "thumbv7a-none-eabi",
        platform: Platform { os: "linux", architecture: "arm", variant: Some("v7") },
        elf: ElfKind { machine: EM_ARM, is_64: false, little_endian: true },
        rustflags: &[],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: true,
        arm_cpu_arch: Some(ArmCpuArch { value: 10, name: "ARMv7" }),
    },
    Arch {
        name: "armv6",
        syscalls: "sys-arm",
        // Thumb-1 on ARMv6 (ARM1176, as on a Raspberry Pi Zero and 1).
        target: "thumbv6-none-eabi",
        platform: Platform { os: "linux", architecture: "arm", variant: Some("v6") },
        elf: ElfKind { machine: EM_ARM, is_64: false, little_endian: true },
        rustflags: &[],
        program_rustflags: &[],
        omit_frame_pointer: true,
        arm_cpu_arch: Some(ArmCpuArch { value: 6, name: "ARMv6" }),
    },
    Arch {
        name: "armv5",
        syscalls: "sys-arm",
        // Thumb-1 on ARMv5TE (ARM926EJ-S, XScale, Feroceon).
        target: "thumbv5te-none-eabi",
        platform: Platform { os: "linux", architecture: "arm", variant: Some("v5") },
        elf: ElfKind { machine: EM_ARM, is_64: false, little_endian: true },
        rustflags: &[],
        program_rustflags: &[],
        omit_frame_pointer: true,
        arm_cpu_arch: Some(ArmCpuArch { value: 4, name: "ARMv5TE" }),
    },
    Arch {
        name: "i686",
        syscalls: "sys-i686",
        // No bare-metal 32-bit x86 target ships; the musl one links no libc here
        // (rust-lld, no C runtime objects). i586, not i686: the i686 target assumes
        // SSE2 (core's float ABI needs it, so -Ctarget-cpu cannot remove it), and
        // i586 code runs on every i686 CPU.
        target: "i586-unknown-linux-musl",
        platform: Platform { os: "linux", architecture: "386", variant: None },
        elf: ElfKind { machine: EM_386, is_64: false, little_endian: true },
        rustflags: &[NO_LIBC_LINKER, NO_LIBC_FLAVOR, NO_LIBC_OBJECTS],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: true,
        arm_cpu_arch: None,
    },
    Arch {
        name: "riscv64",
        syscalls: "sys-riscv64",
        // RV64GC; the compressed (C) instructions halve most of the code.
        target: "riscv64gc-unknown-none-elf",
        platform: Platform { os: "linux", architecture: "riscv64", variant: None },
        elf: ElfKind { machine: EM_RISCV, is_64: true, little_endian: true },
        rustflags: &[],
        program_rustflags: &[],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "ppc64le",
        syscalls: "sys-ppc64le",
        // ELFv2, POWER8 (the target's default CPU); musl target, no libc linked.
        target: "powerpc64le-unknown-linux-musl",
        platform: Platform { os: "linux", architecture: "ppc64le", variant: None },
        elf: ElfKind { machine: EM_PPC64, is_64: true, little_endian: true },
        rustflags: &[NO_LIBC_LINKER, NO_LIBC_FLAVOR, NO_LIBC_OBJECTS],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "s390x",
        syscalls: "sys-s390x",
        // Big-endian; the target's CPU is z10. Linked by lld-22 (lld-16 crashes).
        target: "s390x-unknown-none-softfloat",
        platform: Platform { os: "linux", architecture: "s390x", variant: None },
        elf: ElfKind { machine: EM_S390, is_64: true, little_endian: false },
        rustflags: &[],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "mips64el",
        syscalls: "sys-mips64el",
        // n64 ABI; musl target, no libc linked. MIPS inline asm needs the unstable
        // asm_experimental_arch feature (RUSTC_BOOTSTRAP=1, which every build sets).
        target: "mips64el-unknown-linux-muslabi64",
        platform: Platform { os: "linux", architecture: "mips64le", variant: None },
        elf: ElfKind { machine: EM_MIPS, is_64: true, little_endian: true },
        rustflags: &[NO_LIBC_LINKER, NO_LIBC_FLAVOR, NO_LIBC_OBJECTS],
        // Every address fits in 32 bits sign-extended (the segment sits at 0x10000):
        // an address is `lui` + `daddiu`, not six instructions (16 bytes in hello).
        // compiler_builtins does not build with it; rustc warns that the feature is
        // unstable, and passes it on to LLVM.
        program_rustflags: &[SYM32, NO_MACHINE_LICM, MIPS_SLOTS_FROM_SUCCESSORS],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
    Arch {
        name: "loongarch64",
        syscalls: "sys-loongarch64",
        target: "loongarch64-unknown-none",
        platform: Platform { os: "linux", architecture: "loong64", variant: None },
        elf: ElfKind { machine: EM_LOONGARCH, is_64: true, little_endian: true },
        rustflags: &[],
        program_rustflags: &[NO_MACHINE_LICM],
        omit_frame_pointer: false,
        arm_cpu_arch: None,
    },
];

// Loop-invariant constants stay where they are used. LLVM's machine LICM hoists them
// out of loops into registers kept alive across the loop (callee-saved ones, pushed
// in the prologue), then copies them in on every pass: on x86 `push 61; pop r9` once
// and `mov rax, r9` per pass costs more than `push 61; pop rax` per pass. Measured
// per program and arch (`cargo xtask techniques`); it saves or costs nothing on
// every arch but riscv64, where pause grows by 4 (httpd shrinks by 8), so not there,
// and ARM, where packed pause grows by 5: on armv7 httpd shrinks by 16, so it stays
// (the flag is per arch, not per program); on armv6 and armv5, since httpd keeps
// frame pointers (`UndeclaredClobber::reserved_by`), httpd grows too (by 8 and 4), so
// not there.
pub const NO_MACHINE_LICM: &str = "-Cllvm-args=-disable-machine-licm";

/// MIPS n64 with 32-bit symbols (see the mips64el row).
pub const SYM32: &str = "-Ctarget-feature=+sym32";

/// MIPS: LLVM's delay-slot filler may also fill a branch's slot from the block it
/// branches to or falls into (off by default; it looks only before the branch), where
/// what it moves is dead on the other path. A nop less per slot it fills: pause 4
/// bytes, httpd 32 (`cargo xtask techniques`).
pub const MIPS_SLOTS_FROM_SUCCESSORS: &str = "-Cllvm-args=-disable-mips-df-succbb-search=false";

// For the Linux (musl) targets used without their libc: link with rust-lld directly,
// like the bare targets, and without musl's C runtime start files.
const NO_LIBC_LINKER: &str = "-Clinker=rust-lld";
const NO_LIBC_FLAVOR: &str = "-Clinker-flavor=ld.lld";
const NO_LIBC_OBJECTS: &str = "-Clink-self-contained=no";

impl Arch {
    /// The arch called `name`, or an error that lists the known ones.
    pub fn find(name: &str) -> Result<&'static Arch> {
        match ARCHES.iter().find(|a| a.name == name) {
            Some(arch) => Ok(arch),
            None => bail!("unknown architecture `{name}`: expected one of {}", names().join(", ")),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_platform_strings() {
        let p = |n| Arch::find(n).unwrap().platform.docker();
        assert_eq!(p("x86_64"), "linux/amd64");
        assert_eq!(p("armv7"), "linux/arm/v7");
        assert_eq!(p("armv5"), "linux/arm/v5");
        assert_eq!(p("i686"), "linux/386");
        assert_eq!(p("mips64el"), "linux/mips64le");
        assert_eq!(p("loongarch64"), "linux/loong64");
    }

    #[test]
    fn select_all_or_named_or_refuse() {
        assert_eq!(select(&[]).unwrap().len(), ARCHES.len());
        assert_eq!(select(&["s390x".into()]).unwrap()[0].target, "s390x-unknown-none-softfloat");
        let err = select(&["x86_64".into(), "vax".into()]).unwrap_err().to_string();
        assert!(err.starts_with("unknown architecture `vax`: expected one of x86_64, aarch64"), "{err}");
    }
}
