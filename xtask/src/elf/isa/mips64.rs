//! MIPS64 (little-endian, release 2), by hand: every instruction is one 32-bit word,
//! and its primary opcode (the top 6 bits, with the rt field under REGIMM and rs
//! under COP1/COP2) says whether it branches (MIPS64 Architecture vol. II, A.2).
//! A branch or jump runs the word after it, its delay slot, before it goes: the two
//! move together or not at all.

use super::{Insn, Kind, Unproven, decode_words, sign_extend};

/// The word that does nothing (`sll $0,$0,0`): what fills a jump's delay slot when no
/// instruction of the run may go there.
pub const NOP: [u8; 4] = [0; 4];

// No FREE_E_FLAGS: the kernel reads the ABI, NaN and FP-mode bits of e_flags (rules.rs
// keeps NaN2008 and ABI2 clear), and which of the others it ignores is not measured.

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut in_delay_slot = false;
    let insns = decode_words("MIPS", code, address, |word, at| {
        let kind = if std::mem::take(&mut in_delay_slot) {
            if !matches!(classify(word, at)?, Kind::Plain) {
                return Err(format!("MIPS branch at {at:#x} in a delay slot"));
            }
            Kind::Bound
        } else {
            classify(word, at)?
        };
        in_delay_slot = matches!(kind, Kind::Branch { .. });
        Ok((kind, format!("{} {word:08x}", if in_delay_slot { "branch" } else { "insn" })))
    })?;
    if in_delay_slot {
        return Err("the MIPS code ends in a branch whose delay slot is past its end".into());
    }
    Ok(insns)
}

/// `b to` (beq $0,$0) at `from`: 16 bits of words from the delay slot, ±128 KiB. The
/// word after it, its delay slot, runs before control gets to `to`.
pub fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let words = super::offset(from.wrapping_add(4), to, 4, 16)?;
    Some((0x1000_0000 | (words as u32 & 0xffff)).to_le_bytes().to_vec())
}

/// The branch `bytes` re-encoded at `at` to go to `dest`: a relative branch takes the
/// new offset, `j` the new target within the delay slot's 256 MiB region.
pub fn retarget(bytes: &[u8], at: u64, dest: u64) -> Option<Vec<u8>> {
    let word = u32::from_le_bytes(bytes.try_into().ok()?);
    let slot = at.wrapping_add(4);
    let new = if word >> 26 == 2 {
        if slot & !0x0fff_ffff != dest & !0x0fff_ffff || !dest.is_multiple_of(4) {
            return None;
        }
        (word & 0xfc00_0000) | ((dest >> 2) as u32 & 0x03ff_ffff)
    } else {
        (word & 0xffff_0000) | (super::offset(slot, dest, 4, 16)? as u32 & 0xffff)
    };
    Some(new.to_le_bytes().to_vec())
}

/// Whether the instruction `bytes` (decoded as Plain) may run in a jump's delay slot
/// instead of before the jump: the same effect, as the jump itself reads and writes
/// no register. Not a system call, break or trap: Linux resumes after an exception in
/// a delay slot by running the branch again (a syscall would run twice, or the kernel
/// skips the wrong word), so those stay out; nor anything of coprocessor 0.
pub fn fits_delay_slot(bytes: &[u8]) -> bool {
    let Ok(word) = <[u8; 4]>::try_from(bytes).map(u32::from_le_bytes) else { return false };
    let (op, _, rt, _, funct) = fields(word);
    let exception = match op {
        0 => matches!(funct, 0x0c | 0x0d | 0x0f | 0x30..=0x36),
        1 => (8..=14).contains(&rt),
        0x10 => true,
        _ => false,
    };
    !exception
}

/// Whether the instruction `bytes` writes one register, from other registers or an
/// immediate, and does nothing else: run twice in a row, it does what it does once.
/// The ALU forms that cannot trap (not add, sub, addi and their doubleword forms),
/// with a destination that is none of their sources, nor $0.
pub fn idempotent(bytes: &[u8]) -> bool {
    let Ok(word) = <[u8; 4]>::try_from(bytes).map(u32::from_le_bytes) else { return false };
    let (op, rs, rt, rd, funct) = fields(word);
    match op {
        0 => {
            let alu = matches!(funct, 0x00 | 0x02 | 0x03 | 0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x2f
                | 0x38 | 0x3a..=0x3c | 0x3e | 0x3f);
            let shift = matches!(funct, 0x00 | 0x02 | 0x03 | 0x38 | 0x3a..=0x3c | 0x3e | 0x3f);
            // (The shifts by an amount read rt only; rs must be 0 there.)
            alu && rd != 0 && rd != rt && (if shift { rs == 0 } else { rd != rs })
        }
        // addiu, slti, sltiu, andi, ori, xori, lui, daddiu.
        0x09..=0x0f | 0x19 => rt != 0 && rt != rs,
        _ => false,
    }
}

fn classify(word: u32, at: u64) -> Result<Kind, String> {
    let (op, rs, rt) = (word >> 26, (word >> 21) & 31, (word >> 16) & 31);
    // Branch offsets count words from the delay slot.
    let slot = at.wrapping_add(4);
    let relative = |unconditional: bool| Kind::Branch {
        target: slot.wrapping_add((sign_extend(word & 0xffff, 16) * 4) as u64),
        unconditional,
    };
    let untraceable = |what: &str| Err(format!("MIPS {what} {word:08x} at {at:#x}: its target cannot be traced"));
    match op {
        // SPECIAL: jr, jalr.
        0 if matches!(word & 0x3f, 8 | 9) => untraceable("jump through a register"),
        // REGIMM: bltz, bgez(l)...; the -al forms (bal among them) are calls.
        1 => match rt {
            0..=3 => Ok(relative(rt == 1 && rs == 0)),
            16..=19 => untraceable("call"),
            _ => Ok(Kind::Plain),
        },
        // j: the low 28 bits of the target, in the delay slot's 256 MiB region.
        2 => {
            Ok(Kind::Branch { target: (slot & !0x0fff_ffff) | ((word & 0x03ff_ffff) << 2) as u64, unconditional: true })
        }
        3 => untraceable("call"),
        // beq (`b` when both registers are $0), bne, blez, bgtz, and the -l forms.
        4 | 20 => Ok(relative(rs == 0 && rt == 0)),
        5..=7 | 21..=23 => Ok(relative(false)),
        // BC1x, BC2x: branches on a coprocessor condition.
        17 | 18 if rs == 8 => Ok(relative(false)),
        _ => Ok(Kind::Plain),
    }
}

/// What a system call destroys that the syscall asm cannot declare: the kernel returns
/// with $1 (the assembler's temporary: its entry code uses it, and does not restore
/// it), hi and lo changed. Rust's inline asm cannot name $1 as a clobber, and LLVM
/// allocates it like any other register. Rather than keep $1 across every call (two
/// moves, 8 bytes a call), the build proves on the linked code that no value of these
/// outlives a syscall: along every path from `entry` (delay slots included), after
/// each `syscall` each of them is written before anything reads it. That is the one
/// case in which the undeclared clobber could matter, so the code that passes runs as
/// if it were declared. An exit does not return: a syscall reached with $2 last set to
/// 5058 or 5205 (exit, exit_group) by `[d]addiu $2,$0,n` ends its path. Entries: `entry`
/// and each word-aligned code address in `held`, where the kernel may enter (a signal
/// handler): the code addresses the program holds as data, and the procedures `.pdr`
/// lists (`procedures`), since an address the code builds itself with `lui` and
/// `daddiu`, as httpd's handler's, is no data word. Err: where a value is read after a
/// syscall (with its number, if known), or a path cannot be traced.
pub fn syscalls_leave_no_clobbered_value(code: &[u8], address: u64, entry: u64, held: &[u64]) -> Result<(), Unproven> {
    if !code.len().is_multiple_of(4) || !address.is_multiple_of(4) {
        return Err(format!("MIPS code at {address:#x} is not whole aligned 4-byte words").into());
    }
    let words: Vec<u32> = code.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    let at = |k: usize| address + 4 * k as u64;
    let index = |a: u64| {
        (a >= address && a < at(words.len()) && a.is_multiple_of(4))
            .then(|| ((a - address) / 4) as usize)
            .ok_or(format!("a MIPS path leaves the code for {a:#x}"))
    };
    /// Where a path is: the instruction; the branch target due after it if it is a
    /// delay slot, and whether that branch may also fall through; what is still
    /// clobbered, and by the syscall at which index (with its number, if known); the
    /// number in $2, if known.
    type At = (usize, Option<(u64, bool)>, Clobbered, (usize, Option<u32>), Option<u32>);
    let held = held.iter().filter_map(|&a| index(a).ok());
    let mut work: Vec<At> =
        std::iter::once(index(entry)?).chain(held).map(|k| (k, None, Clobbered::NONE, (0, None), None)).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(state) = work.pop() {
        let (k, due, clobbered, by, v0) = state;
        if k >= words.len() || !seen.insert(state) {
            continue; // off the code's end: undefined in the input already
        }
        let word = words[k];
        if let Some(what) = clobbered.read_by(word) {
            let why = format!(
                "the MIPS instruction {word:08x} at {:#x} reads {what}, which the syscall at {:#x} destroyed",
                at(k),
                at(by.0)
            );
            // Keeping $1 across that syscall may help; nothing keeps hi and lo.
            return Err(Unproven { why, syscall: by.1.filter(|_| what == "$1") });
        }
        let (clobbered, by, v0) = if is_syscall(word) {
            if matches!(v0, Some(5058 | 5205)) {
                continue; // exit, exit_group
            }
            (Clobbered::ALL, (k, v0), None)
        } else {
            (clobbered.after(word), by, number_in_2(word, v0))
        };
        if word >> 26 == 0 && word & 0x3f == 0x0d {
            continue; // break
        }
        let mut next = Vec::new();
        match due {
            Some((target, falls)) => {
                next.push(index(target)?);
                if falls {
                    next.push(k + 1);
                }
            }
            None => match classify(word, at(k))? {
                Kind::Branch { target, unconditional } => {
                    work.push((k + 1, Some((target, !unconditional)), clobbered, by, v0));
                }
                _ => next.push(k + 1),
            },
        }
        work.extend(next.into_iter().map(|n| (n, None, clobbered, by, v0)));
    }
    Ok(())
}

/// The section of a linked MIPS ELF that LLVM, like GNU as, writes for every function
/// it emits (`.ent` to `.end`), not loaded: one procedure descriptor each.
pub const PROCEDURE_DESCRIPTORS: &str = ".pdr";

/// The procedures' addresses in `pdr`, a `PROCEDURE_DESCRIPTORS` section: 32 bytes
/// each, the first 32-bit word the address (then the saved-register masks and
/// offsets, the frame and return registers). A function the linker dropped reads as
/// 0, outside the code.
pub fn procedures(pdr: &[u8]) -> Result<Vec<u64>, String> {
    if !pdr.len().is_multiple_of(32) {
        return Err(format!("{} bytes are not whole 32-byte procedure descriptors", pdr.len()));
    }
    Ok(pdr.chunks_exact(32).map(|d| u64::from(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))).collect())
}

/// The number in $2 once `word` ran, `before` it: known after `[d]addiu $2,$0,n`,
/// unknown after anything that may write $2 (any form with 2 in its destination
/// field: over-approximated), the same otherwise.
fn number_in_2(word: u32, before: Option<u32>) -> Option<u32> {
    let (op, rs, rt, rd, _) = fields(word);
    match op {
        0x09 | 0x19 if rs == 0 && rt == 2 => Some(word & 0xffff),
        0 | 0x1c | 0x1f if rd == 2 => None,
        2 => before,
        _ if rt == 2 => None,
        _ => before,
    }
}

fn is_syscall(word: u32) -> bool {
    word >> 26 == 0 && word & 0x3f == 0x0c
}

/// Which of $1, hi and lo a syscall destroyed and nothing has written since: bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Clobbered(u8);

impl Clobbered {
    const AT: u8 = 1;
    const HI: u8 = 2;
    const LO: u8 = 4;
    const ALL: Clobbered = Clobbered(Self::AT | Self::HI | Self::LO);
    const NONE: Clobbered = Clobbered(0);

    /// What of these `word` may read, if it is still clobbered. Over-approximated: a
    /// register field that names $1 counts as a read unless the instruction surely
    /// only writes it.
    fn read_by(self, word: u32) -> Option<&'static str> {
        let (op, rs, rt, rd, funct) = fields(word);
        let at = match op {
            // SPECIAL: rs and rt are sources; movz/movn keep rd when they do not move.
            0 => rs == 1 || rt == 1 || (matches!(funct, 0x0a | 0x0b) && rd == 1),
            2 | 3 => false,
            _ if writes_only_rt(op) => rs == 1,
            _ => rs == 1 || rt == 1,
        };
        let hi = op == 0 && funct == 0x10; // mfhi
        let lo = op == 0 && funct == 0x12; // mflo
        [(at, Self::AT, "$1"), (hi, Self::HI, "hi"), (lo, Self::LO, "lo")]
            .into_iter()
            .find(|&(reads, bit, _)| reads && self.0 & bit != 0)
            .map(|(_, _, name)| name)
    }

    /// What is still clobbered once `word` ran (it read none of it: `read_by`).
    fn after(self, word: u32) -> Clobbered {
        let (op, _, rt, rd, funct) = fields(word);
        let writes_at = match op {
            0 => {
                rd == 1
                    && matches!(funct, 0x00 | 0x02..=0x04 | 0x06 | 0x07 | 0x10 | 0x12 | 0x14 | 0x16 | 0x17
                        | 0x20..=0x27 | 0x2a..=0x2f | 0x38 | 0x3a..=0x3c | 0x3e | 0x3f)
            }
            _ => writes_only_rt(op) && rt == 1,
        };
        // mult, multu, div, divu and their doubleword forms write both; mthi, mtlo one.
        let (hi, lo) = match (op, funct) {
            (0, 0x18..=0x1f) => (true, true),
            (0, 0x11) => (true, false),
            (0, 0x13) => (false, true),
            _ => (false, false),
        };
        let written = [(writes_at, Self::AT), (hi, Self::HI), (lo, Self::LO)];
        Clobbered(written.into_iter().filter(|&(w, _)| w).fold(self.0, |c, (_, bit)| c & !bit))
    }
}

/// op, rs, rt, rd, funct.
fn fields(word: u32) -> (u32, u32, u32, u32, u32) {
    (word >> 26, (word >> 21) & 31, (word >> 16) & 31, (word >> 11) & 31, word & 0x3f)
}

/// Opcodes that write rt and do not read it: the ALU immediates (addi to lui, daddi,
/// daddiu) and the plain loads (lb, lh, lw, lbu, lhu, lwu, ld; not lwl/lwr/ldl/ldr,
/// which merge into rt).
fn writes_only_rt(op: u32) -> bool {
    matches!(op, 0x08..=0x0f | 0x18 | 0x19 | 0x20 | 0x21 | 0x23..=0x25 | 0x27 | 0x37)
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    #[test]
    fn mips_branches_own_their_delay_slots() {
        // daddiu $2,$0,5001; syscall; bnez $7,-8 (bne $7,$0); nop; b 0 (beq $0,$0); move
        let words: [u32; 6] = [0x6402_1389, 0x0000_000c, 0x14e0_fffe, 0, 0x1000_ffff, 0x0000_2025];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let kinds: Vec<_> = Isa::Mips64el.decode(&code, 0x1000).unwrap().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Plain,
                Kind::Plain,
                Kind::Branch { target: 0x1004, unconditional: false },
                Kind::Bound,
                Kind::Branch { target: 0x1010, unconditional: true },
                Kind::Bound,
            ]
        );
        // jr $ra, jal, bal; a branch with no delay slot left; a branch in a delay slot.
        for words in
            [&[0x03e0_0008u32][..], &[0x0c00_0000], &[0x0411_0000], &[0x1000_0000], &[0x1000_0000, 0x1000_0000]]
        {
            let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            assert!(Isa::Mips64el.decode(&code, 0x1000).is_err(), "{words:08x?}");
        }
    }

    #[test]
    fn jumps_and_re_encoded_branches_decode_back_to_their_targets() {
        use super::{jump, retarget};
        let mips = Isa::Mips64el;
        // The first target of each decoded group (with a nop in the delay slot).
        let target = |bytes: &[u8], at: u64| {
            let insns = mips.decode(&[bytes, &[0; 4]].concat(), at).unwrap();
            assert_eq!(insns[1].kind, Kind::Bound);
            insns[0].kind
        };
        for (from, to) in [(0x10080, 0x10028), (0x10028, 0x10090), (0x10050, 0x10054), (0x10000, 0x30000)] {
            let b = jump(from, to).unwrap();
            assert_eq!(target(&b, from), Kind::Branch { target: to, unconditional: true }, "{from:#x} -> {to:#x}");
            // bne $4,$0 and j, moved to `from` and sent to `to`.
            for (word, unconditional) in [(0x1480_fffeu32, false), (0x0800_4065, true)] {
                let moved = retarget(&word.to_le_bytes(), from, to).unwrap();
                assert_eq!(target(&moved, from), Kind::Branch { target: to, unconditional });
                assert_eq!(u32::from_le_bytes(moved[..].try_into().unwrap()) & 0xffff_0000, word & 0xffff_0000);
            }
        }
        // Out of reach: 128 KiB and more from the slot; j out of its 256 MiB region.
        assert_eq!(jump(0x10000, 0x10004 + 0x20000), None);
        assert_eq!(jump(0x10000, 0x10002), None);
        assert_eq!(retarget(&0x0800_4065u32.to_le_bytes(), 0x0fff_fff8, 0x1000_0000), None);
    }

    #[test]
    fn what_may_fill_a_delay_slot_and_what_repeats_harmlessly() {
        use super::{fits_delay_slot, idempotent};
        let w = |word: u32| word.to_le_bytes();
        // syscall, break, teq $0,$0, tgei $1,0 (REGIMM trap), eret: not in a slot.
        for word in [0x0000_000c, 0x0000_000d, 0x0000_0034, 0x0428_0000, 0x4200_0018] {
            assert!(!fits_delay_slot(&w(word)), "{word:08x}");
        }
        // daddiu $4,$0,1; lbu $1,0($2); move $4,$sp.
        for word in [0x6404_0001, 0x9041_0000, 0x03a0_2025] {
            assert!(fits_delay_slot(&w(word)), "{word:08x}");
        }
        // lui $1,1; daddiu $5,$1,0x68; or $4,$29,$0; sll $1,$2,3; sltiu $1,$2,17.
        for word in [0x3c01_0001, 0x6425_0068, 0x03a0_2025, 0x0002_08c0, 0x2c41_0011] {
            assert!(idempotent(&w(word)), "{word:08x}");
        }
        // daddiu $1,$1,-1 (reads what it writes); addu $1,$1,$2; add (traps); ld;
        // sd; lui $0; syscall; movn $2,$0,$7.
        for word in
            [0x6421_ffff, 0x0022_0821, 0x0043_0820, 0xdc82_0010, 0xfc82_0010, 0x3c00_0001, 0x0000_000c, 0x0007_100b]
        {
            assert!(!idempotent(&w(word)), "{word:08x}");
        }
    }

    fn words(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn no_value_of_1_hi_or_lo_outlives_a_syscall() {
        let check = |code: &[u8], address: u64| super::syscalls_leave_no_clobbered_value(code, address, address, &[]);
        const SYSCALL: u32 = 0x0000_000c;
        // lui $1,1; daddiu $5,$1,0x68; syscall; lui $1,1 (written first); daddiu $4,$1,0
        assert!(check(&words(&[0x3c01_0001, 0x6425_0068, SYSCALL, 0x3c01_0001, 0x6424_0000]), 0x1000).is_ok());
        // syscall; move $4,$1 (or $4,$1,$0): $1 read. The syscall's number is unknown
        // (nothing set $2 on the path): None, keep $1 across all. With `daddiu
        // $2,$0,5001` (write) before it: keeping $1 across write may do.
        let err = check(&words(&[SYSCALL, 0x0020_2025]), 0x1000).unwrap_err();
        assert!(err.why.contains("$1") && err.syscall.is_none(), "{err:?}");
        let err = check(&words(&[0x6402_1389, SYSCALL, 0x0020_2025]), 0x1000).unwrap_err();
        assert_eq!(err.syscall, Some(5001), "{err:?}");
        // syscall; beqz $2,+8 (to the read); lui $1,1 in the delay slot (runs on both
        // paths): fine. With a nop in the slot, the taken path reads $1.
        let branchy = |slot: u32| words(&[SYSCALL, 0x1040_0002, slot, 0, 0x0020_2025]);
        assert!(check(&branchy(0x3c01_0001), 0x1000).is_ok());
        assert!(check(&branchy(0), 0x1000).is_err());
        // A loop back over a syscall whose head reads $1: found through the branch.
        let looped = words(&[0x0020_2025, SYSCALL, 0x1000_fffd, 0]);
        assert!(check(&looped, 0x1000).is_err());
        // movn $1,$2,$3 keeps $1 when $3 is 0: a read. mflo after a syscall: lo.
        assert!(check(&words(&[SYSCALL, 0x0043_080b]), 0x1000).is_err());
        // Nothing keeps lo: no number to keep $1 across.
        let err = check(&words(&[0x6402_1389, SYSCALL, 0x0000_2012]), 0x1000).unwrap_err();
        assert!(err.why.contains("lo") && err.syscall.is_none(), "{err:?}");
        // ...but not after a multu wrote hi and lo again.
        assert!(check(&words(&[SYSCALL, 0x0085_0019, 0x0000_2012]), 0x1000).is_ok());
        // exit (addiu $2,$0,5058; syscall) does not return: what follows is not after it.
        let exit = |number: u32| words(&[0x2402_0000 | number, SYSCALL, 0x0020_2025]);
        assert!(check(&exit(5058), 0x1000).is_ok());
        assert!(check(&exit(5205), 0x1000).is_ok());
        assert!(check(&exit(5001), 0x1000).is_err());
        // ...unless a branch goes to the syscall, from where $2 may be anything.
        let entered = words(&[0x1000_0002, 0, 0x2402_13c2, SYSCALL, 0x0020_2025]);
        assert!(check(&entered, 0x1000).is_err());
        // A handler at 0x1008 that reads $1 after its syscall: walked only where the
        // program holds its address as data (a word-aligned one in the code).
        let handler = words(&[0x2402_13c2, SYSCALL, SYSCALL, 0x0020_2025]);
        let with = |held: &[u64]| super::syscalls_leave_no_clobbered_value(&handler, 0x1000, 0x1000, held);
        assert!(check(&handler, 0x1000).is_ok());
        assert!(with(&[0x1008]).is_err());
        assert!(with(&[0x1009, 0x2008]).is_ok());
    }
}
