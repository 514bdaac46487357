//! `cargo xtask techniques`: what each size technique saves each program on each arch,
//! as min-sized-rust tabulates its own. Each number is measured, not quoted: the
//! program (hello with the default message) is built once as shipped and once more
//! without the technique, and the difference is the bytes it saves. README.md's table
//! is this command's output, and a test checks that it still is.
//!
//! Left out: `stack-probes: none` (arch.rs; measured once on httpd, 30 bytes on
//! x86_64): it is in the target spec, so measuring it would rebuild core for every
//! arch, minutes each time.

use std::{
    collections::{HashMap, hash_map::Entry},
    fmt::Write as _,
};

use anyhow::Result;
use serde::Serialize;
use xshell::Shell;

use crate::{
    arch::{Arch, MIPS_SLOTS_FROM_SUCCESSORS, NO_MACHINE_LICM, SYM32},
    build::{self, Variant},
    elf, message, paths,
    program::{self, Program},
};

/// One technique: its name, its cost, and how a program is built without it.
pub struct Technique {
    pub name: &'static str,
    /// What it costs or rules out.
    pub cost: &'static str,
    without: Without,
}

enum Without {
    /// The headers laid out one after the other: the bytes the overlap saves follow
    /// from the layout alone (elf/plan.rs), for any code.
    HeadersApart,
    /// A build: None where the program or the arch does not use the technique.
    Build(fn(&Program, &Arch) -> Option<Variant>),
}

/// Every technique the table shows, in the order the pipeline applies them.
pub const ALL: &[Technique] = &[
    Technique {
        name: "Exit status is the write's shortfall (`sys::write_status`)",
        cost: "a failed write exits `written - length` mod 256 (208 on /dev/full), not 1; \
               messages of 123 bytes and more exit 1",
        without: Without::Build(|program, _| {
            (program.name == "hello").then(|| Variant { cfgs: vec!["exit_by_comparison"], ..Variant::default() })
        }),
    },
    Technique {
        name: "LLVM's machine LICM off (`-Cllvm-args=-disable-machine-licm`)",
        cost: "a loop may rebuild a constant on each pass instead of keeping it in a register; \
               on where it saves or costs nothing (riscv64 pause grows with it, so it is off there; \
               armv7 pause grows by 5, but armv7 httpd shrinks more; armv6 and armv5 grow, so off there)",
        without: Without::Build(|_, arch| without_flag(arch, NO_MACHINE_LICM)),
    },
    Technique {
        name: "32-bit symbols on MIPS n64 (`-Ctarget-feature=+sym32`)",
        cost: "every address must fit in 32 bits, sign-extended: the file loads at 0x10000; \
               only the program's crate (compiler_builtins fails with it)",
        without: Without::Build(|_, arch| without_flag(arch, SYM32)),
    },
    Technique {
        name: "MIPS delay slots filled from the branch's successors (`-Cllvm-args=-disable-mips-df-succbb-search=false`)",
        cost: "none at run time: LLVM moves an instruction into the slot only where it is dead \
               on the other path (it may copy one, so a program can grow: measured)",
        without: Without::Build(|_, arch| without_flag(arch, MIPS_SLOTS_FROM_SUCCESSORS)),
    },
    Technique {
        name: "No register kept that the syscall asm destroys but cannot declare: MIPS `$1`, ARM `r7` \
               (`elf::isa::UndeclaredClobber`)",
        cost: "none where the build proves, on the linked code, that no value in it outlives a syscall \
               (MIPS: the kernel clobbers `$1`, hi and lo; ARM: the asm puts the number in `r7`; \
               Rust's asm can name neither); else the build keeps it across the syscalls of the numbers \
               the proof names (MIPS two moves a syscall, ARM a push and a pop) and says so, or, on ARM \
               where that is smaller, keeps frame pointers so that LLVM holds no value in `r7` (httpd: \
               4 bytes a function, where `r7` would be kept across 6 or 7 syscalls)",
        without: Without::Build(|_, arch| {
            elf::isa::undeclared_syscall_clobber(arch.elf.machine)
                .map(|_| Variant { keeps_undeclared_clobber: true, ..Variant::default() })
        }),
    },
    Technique {
        name: "Code aligned as the instruction set needs, not as the compiler asks (`SUBALIGN` in crates/link.ld)",
        cost: "none that matters here: compilers align functions to 16 on MIPS and PowerPC for the first \
               fetch's speed (4 on these, 1 on x86); elsewhere the compiler's alignment stays (`elf::code_alignment`)",
        without: Without::Build(|_, arch| {
            elf::code_alignment(arch.elf.machine)
                .map(|_| Variant { compiler_code_alignment: true, ..Variant::default() })
        }),
    },
    Technique {
        name: "Headers overlapped (`e_phnum` doubles as `p_type`, the body under the headers' tail)",
        cost: "none that any loader sees (ELF-NOTES.md); the file has no section headers, \
               so `objdump -d` shows nothing",
        without: Without::HeadersApart,
    },
    Technique {
        name: "Code packed into free header fields (`shrink --pack`)",
        cost: "the code is no longer in one piece (runs joined by jumps); only where the \
               instruction set's file in elf/isa/ can trace and re-encode every branch",
        without: Without::Build(|program, _| {
            program.code_may_move.then(|| Variant { code_stays: true, ..Variant::default() })
        }),
    },
];

fn without_flag(arch: &Arch, flag: &'static str) -> Option<Variant> {
    arch.program_rustflags.contains(&flag).then(|| Variant { without_flags: vec![flag], ..Variant::default() })
}

/// What one technique saves one program (or every program alike) on each arch.
#[derive(Debug, Serialize)]
pub struct Row {
    pub technique: &'static str,
    /// A program's name, or "every program".
    pub program: &'static str,
    pub cost: &'static str,
    /// (arch, bytes saved; None where the arch does not use it), in the order measured.
    pub saves: Vec<(&'static str, Option<i64>)>,
}

/// Build each program for each of `arches` with and without each technique.
pub fn measure(sh: &Shell, arches: &[&'static Arch]) -> Result<Vec<Row>> {
    let dir = paths::out_root().join("techniques");
    let size = |program: &Program, arch: &Arch, name: &str, variant: &Variant| -> Result<i64> {
        let out = dir.join(arch.name).join(format!("{}-{name}", program.name));
        let built = build::build_variant(sh, program, arch, message::DEFAULT, Some(&out), variant)?;
        Ok(std::fs::metadata(built.binary)?.len() as i64)
    };
    let mut rows = Vec::new();
    let mut shipped = HashMap::new();
    for (n, technique) in ALL.iter().enumerate() {
        let Without::Build(variant) = technique.without else {
            let saves = arches.iter().map(|arch| (arch.name, Some(headers_overlap(arch)))).collect();
            rows.push(Row { technique: technique.name, program: "every program", cost: technique.cost, saves });
            continue;
        };
        for program in program::PROGRAMS {
            if arches.iter().all(|arch| variant(program, arch).is_none()) {
                continue;
            }
            let mut saves = Vec::new();
            for &arch in arches {
                let saved = match variant(program, arch) {
                    None => None,
                    Some(variant) => {
                        let key = (program.name, arch.name);
                        // Each program and arch is built as shipped once, for every technique.
                        let shipped = match shipped.entry(key) {
                            Entry::Occupied(known) => *known.get(),
                            Entry::Vacant(slot) => *slot.insert(size(program, arch, "shipped", &Variant::default())?),
                        };
                        Some(size(program, arch, &format!("without-{n}"), &variant)? - shipped)
                    }
                };
                saves.push((arch.name, saved));
            }
            rows.push(Row { technique: technique.name, program: program.name, cost: technique.cost, saves });
        }
    }
    Ok(rows)
}
/// The two headers' sizes less where the body starts when they overlap.
fn headers_overlap(arch: &Arch) -> i64 {
    let e = &arch.elf;
    let (ehdr, phdr) = elf::header_sizes(e.is_64);
    let body = elf::overlapped_body_offset(e.is_64, e.little_endian, e.machine).unwrap_or(ehdr + phdr);
    (ehdr + phdr - body) as i64
}

/// The table as README.md holds it.
pub fn markdown(rows: &[Row]) -> String {
    let Some(first) = rows.first() else { return String::new() };
    let mut out = String::from("| technique | program |");
    for (arch, _) in &first.saves {
        write!(out, " {arch} |").unwrap();
    }
    out += " cost |\n|---|---|";
    out += &"---:|".repeat(first.saves.len());
    out += "---|\n";
    let mut last = "";
    for row in rows {
        // A technique's name and cost once, on its first row.
        let (name, cost) = if row.technique == last { ("", "") } else { (row.technique, row.cost) };
        last = row.technique;
        write!(out, "| {name} | {} |", row.program).unwrap();
        for (_, saved) in &row.saves {
            match saved {
                Some(bytes) => write!(out, " {bytes} |").unwrap(),
                None => out += " – |",
            }
        }
        writeln!(out, " {cost} |").unwrap();
    }
    out
}
