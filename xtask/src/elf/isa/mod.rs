//! What the minimizer knows of each instruction set, one file per ISA: how long its
//! instructions are and how to tell them apart, which are branches or depend on where
//! they sit, how to encode a jump and how far it reaches, where instructions may
//! start, and which bits of e_flags no loader of that machine reads (the ELF-generic
//! header facts stay in fields.rs).
//!
//! Enough to move runs of instructions to other addresses, re-encoding what depends on
//! where it sits (pack.rs), and to prove the result (verify.rs). Adding an ISA: a file here, a variant of
//! `Isa`, and its arm in each match below.

mod aarch64;
mod arm;
pub mod liveness;
mod loongarch;
mod mips64;
mod ppc64;
mod riscv;
mod s390x;
mod x86;

use goblin::elf::header::{
    EI_CLASS, EI_DATA, ELFCLASS64, ELFDATA2LSB, EM_386, EM_AARCH64, EM_ARM, EM_MIPS, EM_PPC64, EM_RISCV, EM_S390,
    EM_X86_64, Header,
};

/// EM_LOONGARCH (goblin 0.10 does not name it).
pub const EM_LOONGARCH: u16 = 258;

/// One decoded instruction.
#[derive(Debug, Clone)]
pub struct Insn {
    pub address: u64,
    pub len: usize,
    pub kind: Kind,
    /// For `--explain`: the instruction as an assembler would write it.
    pub text: String,
}

/// What an instruction does to the flow of control and how it depends on its address.
/// Control flow that leaves no trace of where it goes (indirect branches, calls,
/// returns) is no kind: decoding fails on it, since then nobody can say what jumps
/// into a given run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Runs the same at any address and goes on to the next instruction.
    Plain,
    /// Reads the entry address the ABI leaves in a register (ppc64le's r12, from
    /// which the TOC prologue computes r2): the same wherever it sits; moving the
    /// entry point means re-encoding it.
    EntryRelative,
    /// Reads the address it sits at, or one that an instruction before it left (adr,
    /// adrp, auipc, larl, ldr literal, pcaddi, rip-relative operands, rcx after
    /// syscall): moving it means re-encoding it. `refers`: the address it names,
    /// where the instruction alone says it (adr, ldr literal, larl, rip-relative; not
    /// the page-relative halves of pairs such as auipc, adrp, pcalau12i): the data
    /// there, an ARM literal pool after the code say, must not move.
    PcRelative { refers: Option<u64> },
    /// A direct branch to `target`; `unconditional`: a plain jump, which a jump
    /// re-encoded at another address replaces.
    Branch { target: u64, unconditional: bool },
    /// Runs only as one with an instruction next to it: a MIPS branch's delay slot,
    /// a Thumb IT instruction and the block it makes conditional. The group moves
    /// whole or not at all.
    Bound,
    /// Raises an exception and does not go on (ud2, udf, break).
    Trap,
}

impl Insn {
    /// Its bytes in `code`, which holds the instructions from address `base`.
    pub fn bytes_in<'a>(&self, code: &'a [u8], base: u64) -> Option<&'a [u8]> {
        code.get(self.address.checked_sub(base)? as usize..)?.get(..self.len)
    }

    /// Runs the same at any address and then goes on to the next instruction.
    pub fn movable(&self) -> bool {
        matches!(self.kind, Kind::Plain | Kind::EntryRelative)
    }

    /// A direct branch's target.
    pub fn target(&self) -> Option<u64> {
        match self.kind {
            Kind::Branch { target, .. } => Some(target),
            _ => None,
        }
    }

    /// An unconditional direct jump.
    pub fn jump(&self) -> bool {
        matches!(self.kind, Kind::Branch { unconditional: true, .. })
    }

    /// The address a PC-relative operand names, where known.
    pub fn refers(&self) -> Option<u64> {
        match self.kind {
            Kind::PcRelative { refers } => refers,
            _ => None,
        }
    }
}

/// The alignment the linker gives each piece of code in place of the compiler's
/// (crates/link.ld's SUBALIGN), where that saves bytes: every instruction of the
/// machine may start there. x86 needs none; MIPS and PowerPC need 4, and their
/// compilers ask for 16. None: the compiler's own. Thumb, RISC-V's compressed code and
/// s390x need only 2, but a function may hold data that needs more (ARM's literal
/// pools), which only the compiler's alignment knows; 4 there costs httpd padding
/// (`cargo xtask techniques` measures it).
pub fn code_alignment(e_machine: u16) -> Option<u64> {
    match e_machine {
        EM_X86_64 | EM_386 => Some(1),
        EM_MIPS | EM_PPC64 => Some(4),
        _ => None,
    }
}

/// Bits of e_flags that no loader of a machine reads, and why: measured on Linux
/// 6.1/6.18 and qemu-user 7.2 (ELF-NOTES.md; the code-in-header layouts of
/// shared/packing ran on each real kernel).
#[derive(Debug, Clone, Copy)]
pub struct FreeFlags {
    pub bits: u32,
    pub why: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    X86 {
        bitness: u32,
    },
    S390x,
    /// 32-bit ARM: Thumb (2- and 4-byte instructions) or A32.
    Arm {
        thumb: bool,
    },
    Aarch64,
    /// RV64 with or without the C extension (2-byte instructions).
    Riscv64 {
        compressed: bool,
    },
    Ppc64le,
    Mips64el,
    LoongArch64,
}

/// Every instruction set the minimizer decodes: help text and tests read this list.
pub const ALL: &[Isa] = &[
    Isa::X86 { bitness: 64 },
    Isa::X86 { bitness: 32 },
    Isa::Aarch64,
    Isa::Arm { thumb: true },
    Isa::Arm { thumb: false },
    Isa::Riscv64 { compressed: true },
    Isa::Riscv64 { compressed: false },
    Isa::Ppc64le,
    Isa::S390x,
    Isa::Mips64el,
    Isa::LoongArch64,
];

impl Isa {
    /// The instruction set the code of a file with ELF header `h` is in, if the
    /// minimizer knows it: by machine, class and byte order, and on ARM by the entry
    /// point's bit 0 (Thumb), on RISC-V by EF_RISCV_RVC (compressed instructions).
    pub fn of(h: &Header) -> Option<Isa> {
        let is_64 = h.e_ident[EI_CLASS] == ELFCLASS64;
        let little_endian = h.e_ident[EI_DATA] == ELFDATA2LSB;
        let isa = match (h.e_machine, is_64) {
            (EM_X86_64, true) => Isa::X86 { bitness: 64 },
            (EM_386, false) => Isa::X86 { bitness: 32 },
            (EM_S390, true) => Isa::S390x,
            (EM_ARM, false) => Isa::Arm { thumb: h.e_entry & 1 == 1 },
            (EM_AARCH64, true) => Isa::Aarch64,
            (EM_RISCV, true) => Isa::Riscv64 { compressed: h.e_flags & riscv::EF_RISCV_RVC != 0 },
            (EM_PPC64, true) => Isa::Ppc64le,
            (EM_MIPS, true) => Isa::Mips64el,
            (EM_LOONGARCH, true) => Isa::LoongArch64,
            _ => return None,
        };
        // Each decoder reads one byte order: the machine's usual one.
        (little_endian == isa.little_endian()).then_some(isa)
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::X86 { bitness: 64 } => "x86-64",
            Isa::X86 { .. } => "i386",
            Isa::S390x => "s390x",
            Isa::Arm { thumb: true } => "Thumb",
            Isa::Arm { thumb: false } => "A32",
            Isa::Aarch64 => "AArch64",
            Isa::Riscv64 { compressed: true } => "RV64GC",
            Isa::Riscv64 { compressed: false } => "RV64G",
            Isa::Ppc64le => "ppc64le",
            Isa::Mips64el => "mips64el",
            Isa::LoongArch64 => "LoongArch64",
        }
    }

    fn little_endian(self) -> bool {
        self != Isa::S390x
    }

    /// Every instruction of `code`, which starts at `address` and must end on an
    /// instruction boundary. Err: a byte sequence that is no instruction the decoder
    /// knows (never a panic: any bytes may come in), or control flow that leaves no
    /// trace of where it goes.
    pub fn decode(self, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
        match self {
            Isa::X86 { bitness } => x86::decode(bitness, code, address),
            Isa::S390x => s390x::decode(code, address),
            Isa::Arm { thumb } => arm::decode(thumb, code, address),
            Isa::Aarch64 => aarch64::decode(code, address),
            Isa::Riscv64 { compressed } => riscv::decode(compressed, code, address),
            Isa::Ppc64le => ppc64::decode(code, address),
            Isa::Mips64el => mips64::decode(code, address),
            Isa::LoongArch64 => loongarch::decode(code, address),
        }
    }

    /// The instructions of `code` (at `address`) that start before `stop`: a segment
    /// may go on past its code in bytes that are no instructions (POWER's traceback
    /// table, zero padding), which the shrinker cuts from the file anyway. The code
    /// ends at the first instruction boundary at or past `stop`: the shortest prefix
    /// that decodes whole (a cut inside an instruction leaves it short, which no
    /// decoder takes).
    pub fn decode_until(self, code: &[u8], address: u64, stop: u64) -> Result<Vec<Insn>, String> {
        /// The longest instruction of any ISA here: x86's limit is 15 bytes; a Thumb IT
        /// block, which decodes as one, takes up to 2 + 4 * 4.
        const LONGEST: usize = 18;
        let at_least = usize::try_from(stop.saturating_sub(address)).map_or(code.len(), |n| n.min(code.len()));
        let mut first_error = None;
        for len in at_least..=(at_least + LONGEST).min(code.len()) {
            match self.decode(&code[..len], address) {
                Ok(insns) => return Ok(insns),
                Err(why) => {
                    first_error.get_or_insert(why);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| "no code".into()))
    }

    /// The instructions control reaches from `entry`, in address order: a worklist
    /// over branch targets and fall-throughs, each instruction decoded where control
    /// gets to it (`code` starts at `entry`). Bytes no path reaches (alignment
    /// padding, a dead global-entry prologue) are not among them. Falling through at
    /// or past `stop` falls off the code (undefined already in the input); a branch
    /// to outside `entry..stop`, or into the middle of an instruction, is an Err, and
    /// so is any reached byte sequence the decoder does not know. A group of
    /// instructions that runs as one (`Kind::Bound`) is decoded whole.
    pub fn reach(self, code: &[u8], entry: u64, stop: u64) -> Result<Vec<Insn>, String> {
        let mut found: std::collections::BTreeMap<u64, Insn> = std::collections::BTreeMap::new();
        let mut work = vec![entry];
        let end_of = |i: &Insn| i.address + i.len as u64;
        while let Some(at) = work.pop() {
            if found.contains_key(&at) {
                continue;
            }
            if at < entry || at >= stop {
                return Err(format!("a branch leaves the code for {at:#x}: cannot see what may jump back into it"));
            }
            let rest = code.get((at - entry) as usize..).unwrap_or_default();
            let mut group = self.decode_until(rest, at, at + 1)?;
            group.truncate(1);
            // A branch with a delay slot: the two as one (the slot runs either way).
            if self.delay_slots() && group[0].target().is_some() {
                group = self.decode_until(rest, at, end_of(&group[0]) + 1)?;
                group.truncate(2);
            }
            while let Some(last) = group.last().filter(|i| i.kind == Kind::Bound) {
                let end = end_of(last);
                if end >= stop || (end - at) as usize >= rest.len() {
                    break;
                }
                let mut longer = self.decode_until(rest, at, end + 1)?;
                if longer.last().is_some_and(|i| i.kind != Kind::Bound) {
                    longer.pop();
                    group = longer;
                    break;
                }
                group = longer;
            }
            // Where control goes on past the group's last instruction: not after a
            // jump (or a jump's delay slot), a trap, or a branch whose slot is next.
            let goes_on: Vec<bool> = (0..group.len())
                .map(|k| {
                    let insn = &group[k];
                    let slot_of_jump = self.delay_slots() && k > 0 && group[k - 1].jump();
                    let slot_next = self.delay_slots() && insn.target().is_some();
                    !insn.jump() && insn.kind != Kind::Trap && !slot_of_jump && !slot_next
                })
                .collect();
            for (insn, goes_on) in group.into_iter().zip(goes_on) {
                let into =
                    |i: &Insn| i.address < end_of(&insn) && insn.address < end_of(i) && i.address != insn.address;
                let before = found.range(..insn.address).next_back().map(|(_, i)| i);
                let after = found.range(insn.address..).next().map(|(_, i)| i);
                if let Some(other) = before.into_iter().chain(after).find(|i| into(i)) {
                    return Err(format!(
                        "control reaches {:#x}, inside the instruction at {:#x}",
                        insn.address.max(other.address),
                        insn.address.min(other.address)
                    ));
                }
                if let Some(t) = insn.target() {
                    work.push(t);
                }
                if goes_on && end_of(&insn) < stop {
                    work.push(end_of(&insn));
                }
                found.entry(insn.address).or_insert(insn);
            }
        }
        // Each stretch of instructions that lie back to back, decoded again as one:
        // decoders that read context (x86: what reads rcx after a syscall; Thumb: IT
        // blocks) see it as a linear decode would. On x86, as if a syscall came
        // before each stretch that lies past one, as in a linear decode.
        let mut syscall = false;
        let mut out: Vec<Insn> = Vec::with_capacity(found.len());
        let insns: Vec<Insn> = found.into_values().collect();
        let mut start = 0;
        for k in 0..insns.len() {
            let end = end_of(&insns[k]);
            if insns.get(k + 1).is_some_and(|next| next.address == end) {
                continue;
            }
            let from = insns[start].address;
            let bytes =
                code.get((from - entry) as usize..(end - entry) as usize).ok_or("the code runs past the file")?;
            let again = if syscall {
                let mut with = self.decode(&[&[0x0f, 0x05][..], bytes].concat(), from.wrapping_sub(2))?;
                with.remove(0);
                with
            } else {
                self.decode(bytes, from)?
            };
            let same = again.len() == k + 1 - start
                && again.iter().zip(&insns[start..=k]).all(|(a, b)| (a.address, a.len) == (b.address, b.len));
            if !same {
                return Err(format!("the code from {from:#x} decodes differently along control flow"));
            }
            syscall |= matches!(self, Isa::X86 { .. }) && again.iter().any(|i| i.text.starts_with("syscall"));
            out.extend(again);
            start = k + 1;
        }
        Ok(out)
    }

    /// An unconditional jump at `from` to `to`, as short as it encodes; None when it
    /// does not reach or either address is misaligned.
    pub fn jump(self, from: u64, to: u64) -> Option<Vec<u8>> {
        if !self.aligned(from) || !self.aligned(to) {
            return None;
        }
        match self {
            Isa::X86 { bitness } => x86::jump(bitness, from, to),
            Isa::S390x => s390x::jump(from, to),
            Isa::Arm { thumb } => arm::jump(thumb, from, to),
            Isa::Aarch64 => aarch64::jump(from, to),
            Isa::Riscv64 { compressed } => riscv::jump(compressed, from, to),
            Isa::Ppc64le => ppc64::jump(from, to),
            Isa::Mips64el => mips64::jump(from, to),
            Isa::LoongArch64 => loongarch::jump(from, to),
        }
    }

    /// The bytes of an instruction that the code may end in and that, read as a
    /// little-endian p_filesz (= p_memsz) from the program header's first byte of that
    /// field, give a segment size loaders take: the packer may then drop the
    /// instruction from the file and let the header word run as it (pack.rs,
    /// `Input::size_word_at`). The ISA's file says which and why; None where no
    /// instruction's word makes a usable size: AArch64's `svc #0` (0xd4000001, a 3.5 GiB
    /// segment), RISC-V's `ecall` (0x73: smaller than the file, unmeasured), s390x's
    /// `svc 0` (big-endian: it would lie behind six zero bytes, which do not run).
    pub fn size_word(self) -> Option<&'static [u8]> {
        match self {
            Isa::X86 { bitness } => Some(x86::size_word(bitness)),
            Isa::LoongArch64 => Some(&loongarch::SIZE_WORD),
            _ => None,
        }
    }

    /// The segment size `size_word` spells as a little-endian p_filesz.
    pub fn size_word_value(self) -> Option<u64> {
        let word = self.size_word().filter(|w| w.len() <= 8)?;
        let mut bytes = [0; 8];
        bytes[..word.len()].copy_from_slice(word);
        Some(u64::from_le_bytes(bytes))
    }

    /// What each of `insns` (the code that runs; `code` holds its bytes from `base`)
    /// does to the registers, for liveness (liveness.rs); None where the ISA's file
    /// has no register model: Thumb only.
    pub fn effects(self, insns: &[Insn], code: &[u8], base: u64) -> Option<Vec<liveness::Effects>> {
        match self {
            Isa::Arm { thumb: true } => Some(arm::effects(insns, code, base)),
            _ => None,
        }
    }

    /// The registers liveness never lets be dead (the stack pointer, say).
    pub fn always_live(self) -> liveness::RegSet {
        match self {
            Isa::Arm { .. } => arm::ALWAYS_LIVE,
            _ => liveness::ALL,
        }
    }

    /// Header words (`bytes`, at `at`) that may run on the way from one run of code to
    /// the next: instructions that go on to the next, touch no memory and write
    /// registers only; what they destroy, and their text. None where they do
    /// anything else, or the ISA's file has no register model.
    pub fn passage(self, bytes: &[u8], at: u64) -> Option<(liveness::RegSet, String)> {
        match self {
            Isa::Arm { thumb: true } => arm::passage(bytes, at),
            _ => None,
        }
    }

    /// A load address (64 KiB aligned) at which the header words that hold it run as
    /// an instruction that writes only registers of `free` (and the flags), where the
    /// ISA's file knows one (`passage`).
    pub fn passage_load(self, free: liveness::RegSet) -> Option<u64> {
        match self {
            Isa::Arm { thumb: true } => arm::passage_load(free),
            _ => None,
        }
    }

    /// A branch or jump runs the instruction after it (its delay slot) before it goes:
    /// MIPS. A jump the packer inserts needs its slot filled: with the run's last
    /// instruction where it `fills_delay_slot`, else with `DELAY_SLOT_NOP`.
    pub fn delay_slots(self) -> bool {
        self == Isa::Mips64el
    }

    /// The code's first two instructions, `first` and `second`, as one that does what
    /// both do, run at the entry (`fold_entry_toc`); the ISA's file says when. ppc64le:
    /// the ELFv2 global entry's TOC set-up with a high half of 0.
    pub fn fold_entry_pair(self, first: &[u8], second: &[u8]) -> Option<Vec<u8>> {
        match self {
            Isa::Ppc64le => ppc64::fold_toc_setup(first, second).map(|one| one.to_vec()),
            _ => None,
        }
    }

    /// How many of `insns`' first instructions (what runs, in packing order, less the
    /// no-op jumps `alias` sends on; bytes in `code` from `base`) only save registers
    /// for a caller the entry point does not have, which nothing reads back
    /// (`drop_entry_saves`); the ISA's file proves it. x86 only: the other backends
    /// skip such saves in a `-> !` function themselves.
    pub fn entry_saves(
        self,
        insns: &[Insn],
        code: &[u8],
        base: u64,
        alias: &std::collections::BTreeMap<u64, u64>,
    ) -> usize {
        match self {
            Isa::X86 { bitness } => x86::entry_saves(bitness, insns, code, base, alias),
            _ => 0,
        }
    }

    /// `bytes` is an instruction that does nothing at all, which the code may go without
    /// (`skip_noop_jumps`): PowerPC's `nop`. Not MIPS's: there a nop fills a delay slot.
    /// The byte the linker fills gaps between this ISA's functions with, besides
    /// zero (lld's trap fill: x86's int3, ARM's 0xd4d4d4d4), where one was seen in our
    /// programs: such gaps are no code (`entered_only_from_the_entry`).
    pub fn fill(self) -> Option<u8> {
        match self {
            Isa::X86 { .. } => Some(x86::FILL),
            Isa::Arm { .. } => Some(arm::FILL),
            _ => None,
        }
    }

    /// Whether `bytes`, which no branch from the entry reaches, right before code that
    /// one does, are a function's entry set-up that a caller in the same file branches
    /// past: ppc64le's ELFv2 global entry (`_start` branches to `main`'s local entry).
    pub fn skipped_entry(self, bytes: &[u8]) -> bool {
        self == Isa::Ppc64le && ppc64::is_global_entry_setup(bytes)
    }

    pub fn nop(self, bytes: &[u8]) -> bool {
        self == Isa::Ppc64le && bytes == ppc64::NOP
    }

    /// `bytes`, one instruction, run twice in a row do what they do once: they write
    /// a register from others, or from an immediate, and nothing else (no memory, no
    /// trap). Known on MIPS only.
    pub fn idempotent(self, bytes: &[u8]) -> bool {
        self == Isa::Mips64el && mips64::idempotent(bytes)
    }

    /// `insn` (whose bytes are `bytes`) may run in the delay slot of an inserted jump
    /// instead of right before it, to the same effect.
    pub fn fills_delay_slot(self, insn: &Insn, bytes: &[u8]) -> bool {
        self.delay_slots() && insn.kind == Kind::Plain && mips64::fits_delay_slot(bytes)
    }

    /// `insn` (whose bytes are `bytes`) re-encoded to sit at `to`, the same length:
    /// a branch then goes to `target` (where its original target's copy is), a
    /// PC-relative instruction still names the address it named. Position-independent
    /// instructions come back unchanged. None: it does not reach, the form has no
    /// re-encoding here, or it reads the PC in a way only its own address fixes
    /// (auipc, rcx after syscall: they stay where they are; adrp and pcalau12i name
    /// their 4 KiB page, and move within it unchanged). Every result is decoded back
    /// and checked to name what it should.
    pub fn relocate(self, insn: &Insn, bytes: &[u8], to: u64, target: Option<u64>) -> Option<Vec<u8>> {
        if !self.aligned(to) || bytes.len() != insn.len {
            return None;
        }
        let dest = match insn.kind {
            Kind::Plain | Kind::EntryRelative | Kind::Trap => return Some(bytes.to_vec()),
            // A MIPS delay slot holds a plain instruction (the decoder refuses any other):
            // it moves with its branch, which the packer keeps right before it.
            Kind::Bound => return (to == insn.address || self.delay_slots()).then(|| bytes.to_vec()),
            Kind::PcRelative { refers: None } => {
                let same_page = self.page_relative(bytes) && to >> 12 == insn.address >> 12;
                return (to == insn.address || same_page).then(|| bytes.to_vec());
            }
            Kind::Branch { .. } => target?,
            Kind::PcRelative { refers: Some(r) } => r,
        };
        let out = match self {
            Isa::X86 { bitness } => x86::retarget(bitness, bytes, insn.address, to, dest),
            Isa::S390x => s390x::retarget(bytes, to, dest),
            Isa::Aarch64 => aarch64::retarget(bytes, to, dest),
            Isa::Riscv64 { .. } => riscv::retarget(bytes, to, dest),
            Isa::Ppc64le => ppc64::retarget(bytes, to, dest),
            Isa::LoongArch64 => loongarch::retarget(bytes, to, dest),
            Isa::Arm { thumb } => arm::retarget(thumb, bytes, to, dest),
            Isa::Mips64el => mips64::retarget(bytes, to, dest),
        }?;
        // (A MIPS branch decodes only with its delay slot: a nop there.)
        let slot = if self.delay_slots() { &DELAY_SLOT_NOP[..] } else { &[] };
        let mut back = self.decode(&[&out[..], slot].concat(), to).ok()?;
        back.truncate(1);
        let same = match (back.as_slice(), insn.kind) {
            ([b], Kind::Branch { unconditional, .. }) => {
                b.len == insn.len && b.kind == Kind::Branch { target: dest, unconditional }
            }
            ([b], Kind::PcRelative { .. }) => b.len == insn.len && b.kind == Kind::PcRelative { refers: Some(dest) },
            _ => false,
        };
        same.then_some(out)
    }

    /// Pairs of instructions that compute one PC-relative address together, where
    /// the ISA's file knows them: (first, second, the address), indices into
    /// `insns`, whose bytes `code` start at `base`. RISC-V's auipc/addi.
    pub fn pairs(self, insns: &[Insn], code: &[u8], base: u64) -> Vec<(usize, usize, u64)> {
        match self {
            Isa::Riscv64 { .. } => riscv::pairs(insns, code, base),
            _ => Vec::new(),
        }
    }

    /// A pair's two instructions re-encoded, the first at `first_at`, to compute
    /// `value` still; None where it does not reach. `short`: the second in its short
    /// form where that computes the same there (RISC-V: `addi rd, rd, lo` as `c.addi`
    /// when the new lo fits 6 bits, `pair_short_len` bytes), else in full, whatever
    /// form it came in (the verifier moves a copy back that way).
    pub fn encode_pair(
        self,
        first: &[u8],
        second: &[u8],
        first_at: u64,
        value: u64,
        short: bool,
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        match self {
            Isa::Riscv64 { compressed } => riscv::encode_pair(compressed, first, second, first_at, value, short),
            _ => None,
        }
    }

    /// The length of a pair's second in its short form (`encode_pair` with `short`),
    /// where the ISA has one: RISC-V's `c.addi`, where compressed instructions may be.
    pub fn pair_short_len(self) -> Option<usize> {
        (self == Isa::Riscv64 { compressed: true }).then_some(2)
    }

    /// The address a pair's two instructions (`first` at `first_at`) compute.
    pub fn pair_value(self, first: &[u8], second: &[u8], first_at: u64) -> Option<u64> {
        let word = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(u32::from_le_bytes);
        match self {
            Isa::Riscv64 { .. } => riscv::pair_value(word(first)?, second, first_at),
            _ => None,
        }
    }

    /// `bytes` are one instruction that loads a word from the literal it names (ARM's
    /// `ldr rt, [pc, #imm]`): the instruction of the same length that computes an
    /// address PC-relatively into the same register instead (`adr rt`), which
    /// `relocate` re-encodes to name the literal's value. An instruction of that other
    /// form comes back in the same normal form. None: no such form here.
    pub fn literal_as_address(self, bytes: &[u8]) -> Option<Vec<u8>> {
        match self {
            Isa::Arm { thumb } => arm::literal_as_address(thumb, bytes),
            _ => None,
        }
    }

    /// `bytes` are one instruction that reads only the 4 KiB page it sits in, not its
    /// own address: AArch64's adrp, LoongArch's pcalau12i. It may move within that
    /// page unchanged.
    pub fn page_relative(self, bytes: &[u8]) -> bool {
        let Ok(word) = <[u8; 4]>::try_from(bytes).map(u32::from_le_bytes) else { return false };
        match self {
            Isa::Aarch64 => word & 0x9f00_0000 == 0x9000_0000,
            Isa::LoongArch64 => word >> 25 == 0b000_1101,
            _ => false,
        }
    }

    /// Instructions may start at `address`.
    pub fn aligned(self, address: u64) -> bool {
        let align = match self {
            Isa::X86 { .. } => 1,
            Isa::S390x => 2,
            Isa::Arm { thumb } => arm::align(thumb),
            Isa::Riscv64 { compressed } => riscv::align(compressed),
            Isa::Aarch64 | Isa::Ppc64le | Isa::Mips64el | Isa::LoongArch64 => 4,
        };
        address.is_multiple_of(align)
    }
}

/// The code as the packer moves it, and as the verifier holds the runs against it.
pub struct WhatRuns {
    /// The instructions that run from the entry, in address order, less what
    /// `skip_noop_jumps`, `drop_literals` and `drop_entry_saves` drop.
    pub insns: Vec<Insn>,
    /// Where control that went to a dropped instruction goes instead (`resolve`).
    pub alias: std::collections::BTreeMap<u64, u64>,
    /// Loads turned into what computes their literal's value (`drop_literals`).
    pub turned: Turned,
    /// The instruction that stands for the entry pair folded (`fold_entry_toc`).
    pub folded: Turned,
    /// Past the last instruction control reaches, before any was dropped.
    pub end: u64,
}

impl WhatRuns {
    /// The code's bytes from `entry` (`code` holds the input's) up to `end`, as the
    /// packed copies hold them: turned loads and the folded pair in their new form.
    pub fn copied(&self, code: &[u8], entry: u64) -> Option<Vec<u8>> {
        let mut copy = code.get(..self.end.checked_sub(entry)? as usize)?.to_vec();
        for (&address, bytes) in self.turned.iter().chain(&self.folded) {
            let at = (address - entry) as usize;
            copy.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
        }
        Some(copy)
    }
}

/// What runs of `code` (bytes from `entry` on; control falling through at or past
/// `stop` falls off the code), in the steps the planner and the verifier both take:
/// decoded along control flow (`Isa::reach`), less the no-op jumps, an ARM literal
/// pool's loads turned, ppc64le's entry pair folded, x86's entry saves dropped. One
/// place, so that the two cannot disagree on what the runs must hold.
pub fn what_runs(isa: Isa, code: &[u8], entry: u64, stop: u64) -> Result<WhatRuns, String> {
    let reached = isa.reach(code, entry, stop)?;
    entered_only_from_the_entry(isa, &reached, code, entry, stop)?;
    let end = reached.last().map_or(entry, |i| i.address + i.len as u64);
    let (insns, mut alias) = skip_noop_jumps(isa, reached, code, entry);
    // The code's bytes reach to the segment's file end, trailing zeros included: a
    // reference into those zeros counts as one into the code.
    let code_end = (entry + code.len() as u64).max(end);
    let (insns, turned) = drop_literals(isa, insns, code, entry, code_end)?;
    let (insns, folded) = fold_entry_toc(isa, insns, code, entry, &mut alias);
    let insns = drop_entry_saves(isa, insns, code, entry, &mut alias);
    Ok(WhatRuns { insns, alias, turned, folded, end })
}

/// Err where the code may be entered by other ways than from its entry point, which
/// packing would break: it moves code and drops what no branch reaches, and an
/// address of that code held elsewhere would then point at other bytes. The bytes
/// between `entry` and `stop` (where control falls off; `code` holds them from
/// `entry`) that no instruction in `reached` (what `Isa::reach` found from `entry`, in
/// address order) covers, nor a literal one of them loads, must be fill: zeros, the
/// linker's fill between functions (`Isa::fill`), or a function's entry set-up that
/// the code branches past (`Isa::skipped_entry`). Anything else is code that no branch
/// from the entry reaches: a signal handler, say, whose address the program holds in
/// data or builds in an immediate (httpd's `stop`), and which the kernel enters.
fn entered_only_from_the_entry(isa: Isa, reached: &[Insn], code: &[u8], entry: u64, stop: u64) -> Result<(), String> {
    let end = stop.min(entry + code.len() as u64);
    let mut covered: Vec<std::ops::Range<u64>> = reached.iter().map(|i| i.address..i.address + i.len as u64).collect();
    // A literal (ARM's; `drop_literals` checks it is one).
    covered.extend(reached.iter().filter_map(Insn::refers).filter(|r| (entry..end).contains(r)).map(|r| r..r + 4));
    covered.sort_by_key(|r| r.start);
    let fill = isa.fill();
    let mut at = entry;
    for r in covered.iter().chain(std::iter::once(&(end..end))) {
        let to = r.start.min(end);
        if to > at {
            let gap = &code[(at - entry) as usize..(to - entry) as usize];
            let fill_only = gap.iter().all(|&b| b == 0 || Some(b) == fill);
            let skipped_entry = to < end && isa.skipped_entry(gap);
            if !(fill_only || skipped_entry) {
                return Err(format!(
                    "the bytes at {at:#x}..{to:#x} are code that no branch from the entry reaches (a signal \
                     handler's?): it may be entered from elsewhere"
                ));
            }
        }
        at = at.max(r.end);
    }
    Ok(())
}

/// `insns` (what `Isa::reach` found, in address order) less the no-op jumps: an
/// unconditional jump whose target is the instruction that follows it (once the bytes
/// between are gone, and the no-op jumps before it) does nothing. Returns what is
/// kept and, for each jump dropped, the address control goes on to instead (a
/// branch to it goes there; follow `alias` until it names a kept instruction).
/// On `isa`s with delay slots, a jump whose target follows its slot does nothing but
/// run the slot: it goes, and the slot's instruction stays, plain now. And an
/// instruction that only repeats the conditional branch's delay slot right before it
/// (LLVM copies a successor's first instruction into a slot, and may leave the
/// original on the path that falls through) goes too, where no branch goes to it: it
/// runs only right after its copy, and running it twice is running it once
/// (`Isa::idempotent`). A nop (`Isa::nop`) goes like a no-op jump. `code` holds the
/// instructions' bytes from `base`.
pub fn skip_noop_jumps(
    isa: Isa,
    mut insns: Vec<Insn>,
    code: &[u8],
    base: u64,
) -> (Vec<Insn>, std::collections::BTreeMap<u64, u64>) {
    let mut alias = std::collections::BTreeMap::new();
    let bytes = |i: &Insn| i.bytes_in(code, base);
    let repeats = |insns: &[Insn], alias: &std::collections::BTreeMap<u64, u64>, k: usize| {
        // (A branch to a dropped jump goes where that jump went.)
        let targeted = insns.iter().filter_map(Insn::target).any(|t| resolve(alias, t) == insns[k].address);
        let (branch, slot, insn) = (&insns[k - 2], &insns[k - 1], &insns[k]);
        let after = |a: &Insn, b: &Insn| a.address + a.len as u64 == b.address;
        isa.delay_slots()
            && branch.target().is_some()
            && !branch.jump()
            && slot.kind == Kind::Bound
            && insn.kind == Kind::Plain
            && after(branch, slot)
            && after(slot, insn)
            && !targeted
            && bytes(slot).is_some_and(|s| Some(s) == bytes(insn) && isa.idempotent(s))
    };
    while let Some(k) = (2..insns.len()).find(|&k| repeats(&insns, &alias, k)) {
        let repeated = insns.remove(k);
        alias.insert(repeated.address, repeated.address + repeated.len as u64);
    }
    // How many instructions a jump at k takes with it (its delay slot).
    let slot = |insns: &[Insn], k: usize| {
        usize::from(isa.delay_slots() && insns.get(k + 1).is_some_and(|i| i.kind == Kind::Bound))
    };
    loop {
        let noop = (0..insns.len()).find(|&k| {
            let next = insns.get(k + 1 + slot(&insns, k)).map(|i| i.address);
            let goes_on = insns[k].jump() && insns[k].target().map(|t| resolve(&alias, t)) == next;
            next.is_some() && (goes_on || bytes(&insns[k]).is_some_and(|b| isa.nop(b)))
        });
        let Some(k) = noop else { return (insns, alias) };
        let had_slot = slot(&insns, k) == 1;
        let jump = insns.remove(k);
        if had_slot {
            insns[k].kind = Kind::Plain;
            // The slot, plain now, falls through to what the jump went to: past it
            // lie only bytes nothing reaches (else the jump would not be a no-op).
            let (after_slot, target) = (insns[k].address + insns[k].len as u64, insns[k + 1].address);
            if after_slot != target {
                alias.entry(after_slot).or_insert(target);
            }
        }
        alias.insert(jump.address, insns[k].address);
    }
}

/// The code's first two instructions, where they are the ELFv2 global entry's TOC
/// set-up with a high half of 0, as the one instruction they make
/// (`ppc64::fold_toc_setup`): `insns` less the `addis`, the `addi` standing for both
/// (`EntryRelative`: it reads r12, the entry address, so the entry stays where it
/// was), and its new bytes by its address; `alias` sends the entry on to it. Not
/// where a branch goes to either of the two. `code` holds the instructions' bytes
/// from `entry`.
pub fn fold_entry_toc(
    isa: Isa,
    mut insns: Vec<Insn>,
    code: &[u8],
    entry: u64,
    alias: &mut std::collections::BTreeMap<u64, u64>,
) -> (Vec<Insn>, Turned) {
    let mut folded = Turned::new();
    let bytes = |i: &Insn| i.bytes_in(code, entry);
    let [first, second, ..] = &insns[..] else { return (insns, folded) };
    let targeted =
        insns.iter().filter_map(Insn::target).any(|t| [first.address, second.address].contains(&resolve(&*alias, t)));
    let one = match (bytes(first), bytes(second)) {
        (Some(a), Some(b)) if first.address == entry && !targeted => isa.fold_entry_pair(a, b),
        _ => None,
    };
    if let Some(one) = one {
        let addis = insns.remove(0);
        alias.insert(addis.address, insns[0].address);
        insns[0].kind = Kind::EntryRelative;
        insns[0].text = format!("{} (and the addis before it: addi 2,12)", insns[0].text);
        folded.insert(insns[0].address, one);
    }
    (insns, folded)
}

/// `insns` less the saves at the entry that nothing reads back (`Isa::entry_saves`),
/// the entry sent on past them by `alias`: what the code runs from there is what it
/// ran after them, with the stack pointer higher by what they pushed, which no
/// instruction reads. `code` holds the instructions' bytes from `base`.
pub fn drop_entry_saves(
    isa: Isa,
    mut insns: Vec<Insn>,
    code: &[u8],
    base: u64,
    alias: &mut std::collections::BTreeMap<u64, u64>,
) -> Vec<Insn> {
    let saves = isa.entry_saves(&insns, code, base, alias);
    if saves > 0 {
        let next = insns[saves].address;
        for save in insns.drain(..saves) {
            alias.insert(save.address, next);
        }
    }
    insns
}

/// Instructions whose copies hold other bytes than the input's, by address: loads
/// turned into instructions that compute their literal's value (`drop_literals`), or
/// the instruction that stands for an entry pair folded (`fold_entry_toc`).
pub type Turned = std::collections::BTreeMap<u64, Vec<u8>>;

/// The code's literal pool dropped: `insns` (what `Isa::reach` found from `entry`,
/// less no-op jumps) with every load from a literal inside the code (`code_end`:
/// its bytes reach that far; `code` holds them from `entry`, zeros past its end) turned into
/// the instruction that computes the literal's value (`Isa::literal_as_address`:
/// ARM's `ldr rt, =value` as `adr rt, value`), and the literals' words, which control
/// reaches only by falling into them after the last instruction, gone. Returns the
/// instructions kept and the bytes that stand for each load turned, by its address.
/// The literals lie in the code, which nothing writes (pack.rs's contract), so a
/// load reads the value the file holds. Err: data read inside the code that is no
/// such literal, a literal that holds an address inside the code (a pointer the
/// packer would have to rewrite), or literals that are not the code's tail.
pub fn drop_literals(
    isa: Isa,
    mut insns: Vec<Insn>,
    code: &[u8],
    entry: u64,
    code_end: u64,
) -> Result<(Vec<Insn>, Turned), String> {
    let in_code = |a: u64| a >= entry && a < code_end;
    let bytes_at = |a: u64, len: usize| -> Vec<u8> {
        (0..len as u64).map(|k| code.get((a - entry + k) as usize).copied().unwrap_or(0)).collect()
    };
    let mut turned = std::collections::BTreeMap::new();
    let mut pool: Vec<std::ops::Range<u64>> = Vec::new();
    for insn in &mut insns {
        let Some(literal) = insn.refers().filter(|&r| in_code(r)) else { continue };
        let why = || format!("an instruction reads data at {literal:#x}, inside the code");
        let as_address = isa.literal_as_address(&bytes_at(insn.address, insn.len)).ok_or_else(why)?;
        let word = bytes_at(literal, 4);
        let value = u64::from(u32::from_le_bytes([word[0], word[1], word[2], word[3]]));
        // (A Thumb code address has bit 0 set.)
        if in_code(value & !1) {
            return Err(format!("the literal at {literal:#x} holds {value:#x}, an address inside the code"));
        }
        insn.kind = Kind::PcRelative { refers: Some(value) };
        insn.text = format!("{} (=> {value:#x}, its literal dropped)", insn.text);
        turned.insert(insn.address, as_address);
        pool.push(literal..literal + 4);
    }
    let Some(start) = pool.iter().map(|r| r.start).min() else { return Ok((insns, turned)) };
    let in_pool = |i: &Insn| pool.iter().any(|r| r.start < i.address + i.len as u64 && i.address < r.end);
    let overlap = |i: &Insn| i.address + i.len as u64 > start;
    if insns.iter().any(|i| overlap(i) && !in_pool(i) || i.target().is_some_and(|t| t >= start)) {
        return Err(format!("the literals from {start:#x} are not the code's tail that nothing branches to"));
    }
    insns.retain(|i| !overlap(i));
    Ok((insns, turned))
}
/// What fills the delay slot of an inserted jump when no instruction of the run may.
pub const DELAY_SLOT_NOP: [u8; 4] = mips64::NOP;

/// Where control that goes to `address` goes on to, past dropped no-op jumps
/// (`skip_noop_jumps`: each points further on, so this ends).
pub fn resolve(alias: &std::collections::BTreeMap<u64, u64>, mut address: u64) -> u64 {
    while let Some(&next) = alias.get(&address) {
        address = next;
    }
    address
}

/// `shrink --pack`'s long help: what it does, and on which instruction sets.
pub fn pack_help() -> String {
    let names = |isas: &[Isa]| isas.iter().map(|isa| isa.name()).collect::<Vec<_>>().join(", ");
    format!(
        "The segment ends in code that runs only from the entry point on, with nothing executable before the \
         entry (as crates/link.ld links it), and nothing jumps into the code from outside: split the code \
         into runs and pack them into free header fields and the body, joined by jumps, the entry point where \
         the first run lands (--move-tail is the old name). Falling off the code's end stays undefined, as it \
         was. On {}. On {}, the code's last instruction may be the program header's p_filesz = p_memsz, \
         when that size holds the segment within its first page. Where the input keeps its relocations \
         (linked with --emit-relocs) and they show that only instructions of the code name the data before \
         the code (PC-relative ones, re-encoded, and on x86 absolute addresses in 4 bytes, rewritten), the \
         data may move behind the code, and the load address may change to one where e_entry runs as a jump \
         (AArch64: 0x14000000); where each object of the data is a section of its own (linked with \
         --unique) and each reference names an address inside its own, the objects move one by one, onto \
         header bytes that are free or already hold their bytes, or behind the code. On {}, header words between holes may run as instructions \
         on the way from one run to the next, where they write only registers nothing reads there; the load \
         address and p_filesz = p_memsz may change so that they do. --explain says what moved, or why \
         nothing did",
        names(ALL),
        names(&ALL.iter().copied().filter(|isa| isa.size_word().is_some()).collect::<Vec<_>>()),
        names(&ALL.iter().copied().filter(|isa| isa.passage(&[0, 0, 0, 0], 0).is_some()).collect::<Vec<_>>()),
    )
}

/// A register that a machine's syscall asm destroys without declaring it, because
/// Rust's inline asm cannot name it: MIPS's `$1` (the kernel's syscall entry uses it
/// and does not restore it), Thumb's r7 (the asm puts the syscall number there; LLVM
/// reserves r7 as the frame pointer, so Rust refuses it as an operand, yet allocates
/// it once frame pointers are omitted). Keeping it across each syscall costs bytes at
/// every call, so the build proves on the linked code that no value in it outlives a
/// syscall, and only where that fails builds again with it kept (the syscall crate
/// reads `HELLO_KEEP_UNDECLARED_CLOBBER` with `option_env!`). Adding an ISA: its
/// entry in `undeclared_syscall_clobber`, the proof in its file, the `option_env!` in
/// its syscall crate.
#[derive(Debug, Clone, Copy)]
pub struct UndeclaredClobber {
    /// The register as the ISA's assembler names it (messages).
    pub register: &'static str,
    /// The proof on the linked code.
    pub prove: SyscallProof,
    /// Whether the syscall still destroys something undeclared with the register kept,
    /// so that the proof must hold then too: MIPS's hi and lo, which Rust's asm has no
    /// name for. ARM's then destroys nothing it does not declare.
    pub prove_when_kept: bool,
    /// A section of the linked ELF (loaded or not) that lists every procedure the
    /// compiler emitted, and how to read their addresses from it: more entries for
    /// `prove`, where the program may build a code address in immediates (MIPS's `lui`
    /// and `daddiu`: httpd's signal handler), which no scan of data words finds. The
    /// build fails where the section is missing. MIPS's `.pdr`; none on ARM, whose
    /// handler addresses lie in literal pools, and whose proof fails on a `movt` that
    /// may build one.
    pub procedures: Option<(&'static str, ReadProcedures)>,
    /// A flag for the program's crate under which LLVM holds no value in the register
    /// at all: ARM's `-Cforce-frame-pointers=yes`, r7 being Thumb's frame pointer
    /// (then only the frame pointer can be destroyed, and the proof checks that
    /// nothing reads it after a syscall). It costs a frame set-up (4 bytes a function),
    /// so the build tries it only where the register must be kept across some
    /// syscalls, and takes the smaller file. None on MIPS: LLVM has no way to leave `$1`
    /// alone.
    pub reserved_by: Option<&'static str>,
}

/// `prove(code, its address, the ELF entry, more entries)`: the more are the code
/// addresses the program holds as data and the procedures the ELF lists
/// (`UndeclaredClobber::procedures`). Ok where along every path from every entry no
/// value the syscall destroyed is read after it; Err where one may be, or where a path
/// cannot be traced.
pub type SyscallProof = fn(code: &[u8], address: u64, entry: u64, held: &[u64]) -> Result<(), Unproven>;

/// Why a `SyscallProof` failed, and the number of the syscall whose destroyed value
/// may be read, where the path knew it: keeping the register across the syscalls of
/// that number may be enough (the build keeps it only across those, and proves
/// again). None: no such syscall (a path cannot be traced), keep it across all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unproven {
    pub why: String,
    pub syscall: Option<u32>,
}

impl From<String> for Unproven {
    fn from(why: String) -> Unproven {
        Unproven { why, syscall: None }
    }
}

impl From<&str> for Unproven {
    fn from(why: &str) -> Unproven {
        why.to_string().into()
    }
}

impl std::fmt::Display for Unproven {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

/// The procedures' addresses in the bytes of a section that lists them; Err where
/// those bytes are not such a list.
pub type ReadProcedures = fn(section: &[u8]) -> Result<Vec<u64>, String>;

/// What the syscall asm of ELF machine `machine` destroys undeclared, if anything.
pub fn undeclared_syscall_clobber(machine: u16) -> Option<UndeclaredClobber> {
    match machine {
        EM_MIPS => Some(UndeclaredClobber {
            register: "$1",
            prove: mips64::syscalls_leave_no_clobbered_value,
            prove_when_kept: true,
            procedures: Some((mips64::PROCEDURE_DESCRIPTORS, mips64::procedures)),
            reserved_by: None,
        }),
        EM_ARM => Some(UndeclaredClobber {
            register: "r7",
            prove: arm::syscalls_leave_no_clobbered_value,
            prove_when_kept: false,
            procedures: None,
            reserved_by: Some("-Cforce-frame-pointers=yes"),
        }),
        _ => None,
    }
}

/// The bits of e_flags no loader of ELF machine `machine` reads; none where nobody
/// measured them.
pub fn free_e_flags(machine: u16) -> Option<FreeFlags> {
    match machine {
        EM_X86_64 | EM_386 => Some(x86::FREE_E_FLAGS),
        EM_S390 => Some(s390x::FREE_E_FLAGS),
        EM_ARM => Some(arm::FREE_E_FLAGS),
        EM_AARCH64 => Some(aarch64::FREE_E_FLAGS),
        EM_RISCV => Some(riscv::FREE_E_FLAGS),
        EM_PPC64 => Some(ppc64::FREE_E_FLAGS),
        EM_LOONGARCH => Some(loongarch::FREE_E_FLAGS),
        _ => None, // MIPS among them: see mips64.rs
    }
}

/// `code` as little-endian 32-bit words from `address`, each classified by
/// `classify(word, its address)`: the fixed-width ISAs (AArch64, POWER, MIPS,
/// LoongArch).
fn decode_words(
    name: &str,
    code: &[u8],
    address: u64,
    mut classify: impl FnMut(u32, u64) -> Result<(Kind, String), String>,
) -> Result<Vec<Insn>, String> {
    if !code.len().is_multiple_of(4) || !address.is_multiple_of(4) {
        return Err(format!("{name} code at {address:#x} is not whole aligned 4-byte words"));
    }
    let mut out = Vec::with_capacity(code.len() / 4);
    for (n, word) in code.chunks_exact(4).enumerate() {
        let at = address.wrapping_add(4 * n as u64);
        let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        let (kind, text) = classify(word, at)?;
        out.push(Insn { address: at, len: 4, kind, text });
    }
    Ok(out)
}

/// `target - from` as a signed offset, if it is a multiple of `scale` whose quotient
/// fits `bits` signed bits.
fn offset(from: u64, to: u64, scale: i64, bits: u32) -> Option<i64> {
    let delta = to.wrapping_sub(from) as i64;
    let units = delta / scale;
    let half = 1i64 << (bits - 1);
    (delta % scale == 0 && (-half..half).contains(&units)).then_some(units)
}

/// `value`'s low `bits` bits as a signed number.
fn sign_extend(value: u32, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value as i64) << shift) >> shift
}

/// An instruction's bytes in hex, for listings of ISAs the decoder has no names for.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    /// what_runs refuses code that may be entered by other ways than from the entry.
    #[test]
    fn code_no_branch_reaches_is_no_fill_unless_it_is() {
        let x64 = Isa::X86 { bitness: 64 };
        // push 60; pop rax; xor edi,edi; syscall (exit); jmp to itself (control never
        // falls past it), then a handler no branch reaches (push 60; pop rax; syscall).
        let exit = [0x6a, 0x3c, 0x58, 0x31, 0xff, 0x0f, 0x05, 0xeb, 0xfe];
        let handler = [0x6a, 0x3c, 0x58, 0x0f, 0x05];
        let check = |tail: &[u8]| {
            let code = [&exit[..], tail].concat();
            super::what_runs(x64, &code, 0x1000, 0x1000 + code.len() as u64).map(|_| ())
        };
        let err = check(&handler).unwrap_err();
        assert!(err.contains("0x1009..0x100e") && err.contains("no branch from the entry reaches"), "{err}");
        // Zeros and int3 between functions are fill.
        check(&[0, 0, 0xcc, 0xcc]).unwrap();
        assert!(check(&[0xcc, 0x90]).is_err()); // a nop is an instruction
        // ppc64le: b +12 over a function's global entry set-up (addis 2,12,0; addi
        // 2,2,0x7f60) to its local entry (li 0,1; sc): no code of its own.
        let ppc = Isa::Ppc64le;
        let words = |w: &[u32]| w.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let code = words(&[0x4800_000c, 0x3c4c_0000, 0x3842_7f60, 0x3800_0001, 0x4400_0002]);
        super::what_runs(ppc, &code, 0x1000, 0x1014).unwrap();
        let code = words(&[0x4800_000c, 0x3c4c_0000, 0x3863_7f60, 0x3800_0001, 0x4400_0002]);
        let err = super::what_runs(ppc, &code, 0x1000, 0x1014).map(|_| ()).unwrap_err();
        assert!(err.contains("0x1004..0x100c"), "{err}");
    }

    use super::*;

    #[test]
    fn every_isa_is_named_and_refuses_garbage_without_panicking() {
        // Bytes a fuzzer would send: all-ones, all-zeros, odd lengths.
        for &isa in ALL {
            assert!(!isa.name().is_empty());
            for code in [&[0xff; 7][..], &[0; 6], &[0xff; 16], &[0x5a, 0xa5, 0x0f, 0xf0, 0x33]] {
                let _ = isa.decode(code, 0x10001);
                let _ = isa.decode(code, 0x10000);
            }
            // (i386's rel32 wraps around its 4 GiB: every address is in reach.)
            if isa != (Isa::X86 { bitness: 32 }) {
                assert_eq!(isa.jump(0x10000, 0x1_0000_0000_0000), None, "{}", isa.name());
            }
        }
    }

    #[test]
    fn a_jump_decodes_back_to_its_target() {
        for &isa in ALL {
            for (from, to) in [(0x10080, 0x10028), (0x10028, 0x10090), (0x10050, 0x10050)] {
                let jump = isa.jump(from, to).unwrap_or_else(|| panic!("{}: no jump {from:#x} -> {to:#x}", isa.name()));
                // (With its delay slot, where the ISA has them.)
                let slot = if isa.delay_slots() { &DELAY_SLOT_NOP[..] } else { &[] };
                let insns = isa.decode(&[&jump[..], slot].concat(), from).unwrap();
                assert_eq!(insns.len(), 1 + usize::from(isa.delay_slots()), "{}", isa.name());
                assert_eq!((insns[0].target(), insns[0].jump()), (Some(to), true), "{}: {jump:02x?}", isa.name());
            }
        }
    }

    #[test]
    fn offsets_fit_or_not() {
        assert_eq!(offset(0x1000, 0x0ff8, 4, 8), Some(-2));
        assert_eq!(offset(0x1000, 0x1002, 4, 8), None);
        assert_eq!(offset(0x1000, 0x1000 + 4 * 128, 4, 8), None);
        assert_eq!(sign_extend(0x80, 8), -128);
    }
}
