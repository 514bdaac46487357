//! What the loaders accept, beyond the ELF format itself: the e_flags rules measured
//! on Linux 6.1/6.18 kernels of each architecture and qemu-user 7.2 (the project's
//! ELF-NOTES.md), and the lowest load address. A file that breaks one runs on some
//! loader and not another: the shrinker refuses to write it. Each rule says why it is
//! there. The input is checked before planning (a refusal) and the output again by
//! the verifier (a bug if it fails there).

use goblin::elf::header::{EM_ARM, EM_MIPS, EM_PPC64, EM_RISCV};

use super::{Elf, Refusal, plan::MIN_LOAD_ADDRESS, refuse};

struct Rule {
    machine: u16,
    /// True when the header obeys the rule.
    holds: fn(&Elf) -> bool,
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        machine: EM_ARM,
        holds: |elf| elf.header.e_flags & 0xff00_0000 != 0,
        why: "32-bit ARM needs an EABI version in e_flags: arm64 kernels (compat mode) and the armv6 kernel refuse 0",
    },
    Rule {
        machine: EM_PPC64,
        holds: |elf| !elf.little_endian || elf.header.e_flags & 3 == 2,
        why: "ppc64le needs ELFv2 (e_flags & 3 == 2): qemu-user takes the entry point for an ELFv1 function descriptor otherwise",
    },
    Rule {
        machine: EM_MIPS,
        holds: |elf| elf.header.e_flags & (0x400 | 0x20) == 0,
        why: "MIPS e_flags must not claim NaN2008 (0x400) or ABI2 (0x20): the kernel or qemu-user refuse them",
    },
    Rule {
        machine: EM_RISCV,
        holds: |elf| elf.header.e_flags & 0x8 == 0,
        why: "RISC-V e_flags must not set RVE (0x8): qemu-user then runs it as an RV32E/RV64E program",
    },
];

/// The first rule `elf` breaks, as a refusal.
pub fn check(elf: &Elf) -> Result<(), Refusal> {
    if let Some(rule) = RULES.iter().find(|r| r.machine == elf.header.e_machine && !(r.holds)(elf)) {
        refuse!("e_flags {:#x}: {}", elf.header.e_flags, rule.why);
    }
    // The output loads every byte at the input's address (verify.rs): a segment
    // too low stays too low.
    if let Some((n, p)) = elf.loads().enumerate().find(|(_, p)| p.p_vaddr < MIN_LOAD_ADDRESS) {
        refuse!(
            "segment {n} loads at {:#x}, below {MIN_LOAD_ADDRESS:#x} (vm.mmap_min_addr): the kernel refuses it",
            p.p_vaddr
        );
    }
    Ok(())
}
