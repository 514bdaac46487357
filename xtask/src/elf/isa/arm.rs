//! 32-bit ARM: Thumb (2- and 4-byte instructions, what thumbv5te..thumbv7a emit) and
//! A32. yaxpeax-arm decodes each instruction (is it one, and which registers it
//! names); the branch classes and their targets are read here from the encodings
//! (ARM ARM A8.8.18 B, A8.8.29 CBZ, A8.8.25 BL/BLX): yaxpeax-arm's branch offsets
//! count from different bases in different encodings.

use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv7::{ConditionCode, InstDecoder, Instruction, Opcode, Operand, Reg, RegShift, RegShiftStyle};

use super::{
    FreeFlags, Insn, Kind, Unproven,
    liveness::{Effects, FLAGS, RegSet},
    offset, sign_extend,
};

/// With an EABI version in e_flags' top byte (rules.rs: it must not be 0), Linux
/// reads no other bit of e_flags (arch/arm/kernel/elf.c reads the rest only for old
/// ABI files), nor does qemu-user for little-endian ARM; shared/packing's Thumb
/// layouts keep code in the low three bytes, booted on the armmp, rpi and arm64
/// kernels.
/// lld fills the gaps between ARM functions with 0xd4d4d4d4 (seen as `d4 d4` before
/// an aligned Thumb function).
pub const FILL: u8 = 0xd4;

pub const FREE_E_FLAGS: FreeFlags =
    FreeFlags { bits: 0x00ff_ffff, why: "e_flags below the EABI version: no ARM loader reads them" };

const PC: u8 = 15;

pub fn align(thumb: bool) -> u64 {
    if thumb { 2 } else { 4 }
}

pub fn decode(thumb: bool, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    if !address.is_multiple_of(align(thumb)) {
        return Err(format!("ARM code at a misaligned address {address:#x}"));
    }
    let decoder = if thumb { InstDecoder::default_thumb() } else { InstDecoder::default() };
    let mut out: Vec<Insn> = Vec::new();
    let mut at = 0;
    // Instructions still to come in the IT block an IT instruction opened: they join
    // the IT instruction's `Insn`.
    let mut in_it_block = 0;
    while at < code.len() {
        let here = address.wrapping_add(at as u64);
        let len = if thumb { thumb_len(&code[at..]) } else { 4 };
        let bytes =
            code.get(at..at + len).ok_or_else(|| format!("an ARM instruction at {here:#x} runs past the end"))?;
        let insn = decoder
            .decode(&mut U8Reader::new(bytes))
            .map_err(|e| format!("no ARM instruction decodes at {here:#x}: {e:?}"))?;
        let branch = if thumb { thumb_branch(bytes, here)? } else { a32_branch(bytes, here)? };
        let kind = match branch {
            Some(kind) => kind,
            None => classify(&insn, here, literal(thumb, bytes, here))?,
        };
        at += len;
        // An IT block runs as one with its IT instruction: the block is one `Insn`,
        // which moves whole, and runs the same anywhere when what it makes
        // conditional does (a branch or a PC read in it: refused).
        if in_it_block > 0 {
            if kind != Kind::Plain {
                return Err(format!("ARM `{insn}` at {here:#x} branches or reads the PC inside an IT block"));
            }
            in_it_block -= 1;
            let block = out.last_mut().expect("an IT instruction opened the block");
            block.len += len;
            block.text = format!("{}; {insn}", block.text);
            continue;
        }
        if insn.opcode == Opcode::IT {
            in_it_block = it_block_len(&insn);
        }
        out.push(Insn { address: here, len, kind, text: insn.to_string() });
    }
    if in_it_block > 0 {
        return Err("an ARM IT block runs past the end of the code".into());
    }
    Ok(out)
}

/// A Thumb instruction is 4 bytes when its first halfword starts 0b11101, 0b11110 or
/// 0b11111 (that halfword's high byte is the second byte: little-endian).
fn thumb_len(code: &[u8]) -> usize {
    match code.get(1) {
        Some(high) if high >> 3 >= 0b11101 => 4,
        _ => 2,
    }
}

/// Thumb's direct branches, read from their encodings: Some(kind) for one, None for
/// any other instruction; Err for calls (bl, blx), whose return cannot be traced.
fn thumb_branch(bytes: &[u8], at: u64) -> Result<Option<Kind>, String> {
    let hw1 = u16::from_le_bytes([bytes[0], bytes[1]]) as u32;
    let to = |offset: i64, unconditional: bool| {
        Some(Kind::Branch { target: at.wrapping_add(4).wrapping_add(offset as u64), unconditional })
    };
    if bytes.len() == 2 {
        return Ok(match hw1 >> 11 {
            // B T1: cond (below 0b1110: UDF and SVC share the space) and imm8.
            0b11010 | 0b11011 if (hw1 >> 8) & 0xf < 0xe => to(sign_extend(hw1 & 0xff, 8) * 2, false),
            // B T2: imm11.
            0b11100 => to(sign_extend(hw1 & 0x7ff, 11) * 2, true),
            // CBZ, CBNZ: i:imm5:'0', forward only.
            _ if hw1 & 0xf500 == 0xb100 => to((((hw1 >> 9) & 1) << 6 | ((hw1 >> 3) & 0x1f) << 1) as i64, false),
            _ => None,
        });
    }
    let hw2 = u16::from_le_bytes([bytes[2], bytes[3]]) as u32;
    if hw1 >> 11 != 0b11110 || hw2 & 0x8000 == 0 {
        return Ok(None);
    }
    let s = (hw1 >> 10) & 1;
    let (j1, j2) = ((hw2 >> 13) & 1, (hw2 >> 11) & 1);
    Ok(match hw2 & 0xd000 {
        // B T4: S:I1:I2:imm10:imm11:'0', I = NOT(J XOR S).
        0x9000 => {
            let (i1, i2) = (1 ^ j1 ^ s, 1 ^ j2 ^ s);
            let imm = s << 24 | i1 << 23 | i2 << 22 | (hw1 & 0x3ff) << 12 | (hw2 & 0x7ff) << 1;
            to(sign_extend(imm, 25), true)
        }
        // B T3: cond, S:J2:J1:imm6:imm11:'0' (conds 1110 and 1111 are other instructions).
        0x8000 if (hw1 >> 6) & 0xf < 0xe => {
            let imm = s << 20 | j2 << 19 | j1 << 18 | (hw1 & 0x3f) << 12 | (hw2 & 0x7ff) << 1;
            to(sign_extend(imm, 21), false)
        }
        0xc000 | 0xd000 => return Err(format!("Thumb bl/blx at {at:#x}: a call, whose return cannot be traced")),
        _ => None,
    })
}

/// A32's B (cond 101 0 imm24); BL and BLX (immediate) are calls.
fn a32_branch(bytes: &[u8], at: u64) -> Result<Option<Kind>, String> {
    let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if (word >> 25) & 7 != 0b101 {
        return Ok(None);
    }
    let cond = word >> 28;
    if cond == 0xf || word & (1 << 24) != 0 {
        return Err(format!("A32 bl/blx at {at:#x}: a call, whose return cannot be traced"));
    }
    let target = at.wrapping_add(8).wrapping_add((sign_extend(word & 0xff_ffff, 24) * 4) as u64);
    Ok(Some(Kind::Branch { target, unconditional: cond == 0xe }))
}

/// The address a PC-relative load or adr names (ARM ARM A8.8.64 LDR literal, A8.8.12
/// ADR): ldr rt, [pc, #imm] and adr in Thumb's 16-bit forms, ldr.w with pc, A32's
/// ldr literal. What the compiler puts there is a literal pool, data after the code.
fn literal(thumb: bool, bytes: &[u8], at: u64) -> Option<u64> {
    let plus = |base: u64, offset: u32, add: bool| {
        Some(if add { base.wrapping_add(offset as u64) } else { base.wrapping_sub(offset as u64) })
    };
    if thumb {
        let base = at.wrapping_add(4) & !3;
        let hw1 = u16::from_le_bytes([bytes[0], bytes[1]]) as u32;
        match (bytes.len(), hw1 >> 11) {
            (2, 0b01001 | 0b10100) => plus(base, (hw1 & 0xff) * 4, true),
            (4, _) if hw1 & 0xff7f == 0xf85f => {
                let hw2 = u16::from_le_bytes([bytes[2], bytes[3]]) as u32;
                plus(base, hw2 & 0xfff, hw1 & 0x80 != 0)
            }
            _ => None,
        }
    } else {
        let word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        (word & 0x0f7f_0000 == 0x051f_0000)
            .then(|| plus(at.wrapping_add(8), word & 0xfff, word & (1 << 23) != 0))
            .flatten()
    }
}

/// Any instruction but a direct branch: one that writes the PC (a branch through a
/// register, a return) cannot be traced; one that reads it (adr, ldr literal, add
/// with pc) depends on where it sits, and names `literal` where that is known.
fn classify(insn: &Instruction, at: u64, literal: Option<u64>) -> Result<Kind, String> {
    let writes_pc = match insn.operands[0] {
        Operand::Reg(r) => r.number() == PC,
        _ => false,
    } || insn.operands.iter().any(|o| matches!(o, Operand::RegList(list) if list & (1 << PC) != 0))
        || matches!(insn.opcode, Opcode::BX | Opcode::BLX | Opcode::BXJ | Opcode::TBB | Opcode::TBH);
    if writes_pc && !matches!(insn.opcode, Opcode::STR | Opcode::STM(..) | Opcode::PUSH | Opcode::CMP | Opcode::TST) {
        return Err(format!("ARM `{insn}` at {at:#x}: it sets the PC, where to cannot be traced"));
    }
    // Registers hide in shifted and indexed operands too: their text names the PC.
    let reads_pc = insn.opcode == Opcode::ADR || insn.to_string().contains("pc");
    Ok(if reads_pc {
        Kind::PcRelative { refers: literal }
    } else if insn.opcode == Opcode::UDF {
        Kind::Trap
    } else {
        Kind::Plain
    })
}

/// How many instructions an IT instruction makes conditional: 4 less the trailing
/// zeros of its mask.
fn it_block_len(insn: &Instruction) -> u32 {
    match insn.operands[1] {
        Operand::Imm32(mask) if mask & 0xf != 0 => 4 - (mask & 0xf).trailing_zeros(),
        _ => 4,
    }
}

/// Thumb: `b` T2 (2 KiB either way); A32: `b` (32 MiB either way).
pub fn jump(thumb: bool, from: u64, to: u64) -> Option<Vec<u8>> {
    let pc = from.wrapping_add(if thumb { 4 } else { 8 });
    if thumb {
        let halfwords = super::offset(pc, to, 2, 11)? as u16;
        Some((0xe000 | (halfwords & 0x7ff)).to_le_bytes().to_vec())
    } else {
        let words = super::offset(pc, to, 4, 24)? as u32;
        Some((0xea00_0000 | (words & 0xff_ffff)).to_le_bytes().to_vec())
    }
}

/// `bytes`, a direct branch or a PC-relative load or adr, re-encoded to sit at `to`
/// and name `dest` (ARM ARM A8.8.18 B T1-T4, A8.8.29 CBZ, A8.8.12 ADR T1, A8.8.64 LDR
/// literal T1/T2; A32's B and LDR literal); None where it does not reach, or `dest`
/// is not aligned for the form.
pub fn retarget(thumb: bool, bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    if !thumb {
        let word = u32::from_le_bytes(bytes.try_into().ok()?);
        let pc = to.wrapping_add(8);
        let out = if (word >> 25) & 7 == 0b101 {
            word & 0xff00_0000 | offset(pc, dest, 4, 24)? as u32 & 0xff_ffff
        } else if word & 0x0f7f_0000 == 0x051f_0000 {
            let (add, imm) = ldr_offset(pc, dest)?;
            word & !0x0080_0fff | u32::from(add) << 23 | imm
        } else {
            return None;
        };
        return Some(out.to_le_bytes().to_vec());
    }
    let pc = to.wrapping_add(4);
    // adr and ldr literal count from the PC rounded down to a word.
    let word_base = pc & !3;
    let hw1 = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]) as u32;
    if bytes.len() == 2 {
        let out = match hw1 >> 11 {
            0b11010 | 0b11011 if (hw1 >> 8) & 0xf < 0xe => hw1 & 0xff00 | offset(pc, dest, 2, 8)? as u32 & 0xff,
            0b11100 => 0xe000 | offset(pc, dest, 2, 11)? as u32 & 0x7ff,
            0b01001 | 0b10100 => {
                let words = offset(word_base, dest, 4, 9)?;
                hw1 & 0xff00 | u32::try_from(words).ok().filter(|&w| w < 256)?
            }
            _ if hw1 & 0xf500 == 0xb100 => {
                let halfwords = u32::try_from(offset(pc, dest, 2, 7)?).ok()?;
                hw1 & !0x02f8 | (halfwords >> 5) << 9 | (halfwords & 0x1f) << 3
            }
            _ => return None,
        };
        return Some((out as u16).to_le_bytes().to_vec());
    }
    let hw2 = u16::from_le_bytes([*bytes.get(2)?, *bytes.get(3)?]) as u32;
    let (hw1, hw2) = if hw1 & 0xff7f == 0xf85f {
        let (add, imm) = ldr_offset(word_base, dest)?;
        (hw1 & !0x80 | u32::from(add) << 7, hw2 & 0xf000 | imm)
    } else if hw1 >> 11 == 0b11110 && hw2 & 0xd000 == 0x9000 {
        // T4: S:I1:I2:imm10:imm11 halfwords, J = NOT(I XOR S).
        let imm = offset(pc, dest, 2, 24)? as u32 & 0xff_ffff;
        let s = imm >> 23;
        let (j1, j2) = (1 ^ (imm >> 22) & 1 ^ s, 1 ^ (imm >> 21) & 1 ^ s);
        (0xf000 | s << 10 | (imm >> 11) & 0x3ff, hw2 & 0xd000 | j1 << 13 | j2 << 11 | imm & 0x7ff)
    } else if hw1 >> 11 == 0b11110 && hw2 & 0xd000 == 0x8000 && (hw1 >> 6) & 0xf < 0xe {
        // T3: S:J2:J1:imm6:imm11 halfwords.
        let imm = offset(pc, dest, 2, 20)? as u32 & 0xf_ffff;
        let (s, j2, j1) = (imm >> 19, (imm >> 18) & 1, (imm >> 17) & 1);
        (hw1 & 0xfbc0 | s << 10 | (imm >> 11) & 0x3f, hw2 & 0xd000 | j1 << 13 | j2 << 11 | imm & 0x7ff)
    } else {
        return None;
    };
    Some([(hw1 as u16).to_le_bytes(), (hw2 as u16).to_le_bytes()].concat())
}

/// A 12-bit literal offset from `base` to `dest` with its add bit (ldr.w, A32 ldr).
fn ldr_offset(base: u64, dest: u64) -> Option<(bool, u32)> {
    let delta = dest.wrapping_sub(base) as i64;
    (-4095..=4095).contains(&delta).then_some((delta >= 0, delta.unsigned_abs() as u32))
}

/// Thumb's `ldr rt, [pc, #imm]` (T1), which loads a word from its literal, as `adr
/// rt, #0`: the same length, and once re-encoded to name the literal's value, it
/// puts the same value in the same register without reading the literal (flags
/// untouched by either). An `adr` comes back as `adr rt, #0` too, so that copies
/// compare. None for any other instruction.
pub fn literal_as_address(thumb: bool, bytes: &[u8]) -> Option<Vec<u8>> {
    let hw1 = u16::from_le_bytes(bytes.try_into().ok().filter(|_| thumb)?);
    matches!(hw1 >> 11, 0b01001 | 0b10100).then(|| (0xa000 | hw1 & 0x0700).to_le_bytes().to_vec())
}

/// The EABI syscall numbers that do not return: exit and exit_group.
const EXITS: [u32; 2] = [1, 248];

/// The register that holds the syscall number, which sys-arm's asm writes undeclared.
const R7: u8 = 7;

/// What a system call's asm destroys that it cannot declare, in Thumb code: r7, where
/// sys-arm's asm puts the syscall number. LLVM reserves r7 as Thumb's frame pointer,
/// so Rust refuses it as an asm operand or clobber, yet with frame pointers omitted it
/// allocates r7 like any other register and takes it to be kept across the asm.
/// Rather than keep it (`push {r7}` and `pop {r7}`, 4 bytes a call), the build proves
/// on the linked code that no value of r7 outlives a syscall: along every path from
/// each entry, after each `svc` nothing reads r7 before an instruction outside any IT
/// block writes all of it. (The asm's own `movs r7` comes right before its `svc`, and
/// only the asm's instructions run between the two, so nothing of the compiler's reads
/// r7 in between.) That is the one case in which the undeclared clobber could matter,
/// so the code that passes runs as if it were declared.
///
/// Entries: `entry` (the ELF's, Thumb: bit 0 set), each Thumb code address in `held`
/// (code addresses the program holds as data, where the kernel may enter: a signal
/// handler; a Thumb function's address has bit 0 set, even values are not entries of
/// Thumb code), and the address of each `adr` that names the code. A `movt` that may
/// build a code address's high half fails: it could make an entry this cannot see.
///
/// Over-approximated reads: any instruction that names r7 in any operand (register,
/// register list, base, index, shift) reads it, unless it surely writes all of r7 and
/// reads it nowhere (`reg_use`); an `svc` reads it (the number). An instruction in an
/// IT block may not run: what it reads counts, what it writes does not. Conditional
/// branches and cbz/cbnz go both ways. An `svc` reached with r7 last set to 1 or 248
/// (exit, exit_group) by `movs r7, #n` outside an IT block ends its path. Err: where
/// r7 may be read after a syscall, or where a path cannot be traced: a call (bl,
/// blx), a return or any other write of the PC, a branch inside an IT block, a branch
/// out of the code, bytes that decode as no instruction, A32 code.
pub fn syscalls_leave_no_clobbered_value(code: &[u8], address: u64, entry: u64, held: &[u64]) -> Result<(), Unproven> {
    let end = address.wrapping_add(code.len() as u64);
    let in_code = |a: u64| a >= address && a < end;
    if entry & 1 == 0 || !in_code(entry & !1) {
        return Err(format!("the ARM entry {entry:#x} is not Thumb code in {address:#x}..{end:#x}").into());
    }
    // The high halves of the code's addresses: what a movt building one of them holds.
    let code_high = (address >> 16)..=(end.saturating_sub(1) >> 16);
    let decoder = InstDecoder::default_thumb();
    let start = |at: u64| Path { at, it: 0, clobbered_by: None, r7: None };
    let mut work: Vec<Path> = std::iter::once(entry)
        .chain(held.iter().copied().filter(|&a| a & 1 == 1 && in_code(a & !1)))
        .map(|a| start(a & !1))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = work.pop() {
        let at = path.at;
        if at >= end {
            continue; // off the code's end: undefined in the input already
        }
        if !in_code(at) || !at.is_multiple_of(2) {
            return Err(format!("a Thumb path leaves the code for {at:#x}").into());
        }
        if !seen.insert(path) {
            continue;
        }
        let rest = &code[(at - address) as usize..];
        let len = thumb_len(rest);
        let bytes = rest.get(..len).ok_or_else(|| format!("a Thumb instruction at {at:#x} runs past the end"))?;
        let insn = decoder
            .decode(&mut U8Reader::new(bytes))
            .map_err(|e| format!("no Thumb instruction decodes at {at:#x}: {e:?}"))?;
        let kind = match thumb_branch(bytes, at)? {
            Some(kind) => kind,
            None => classify(&insn, at, literal(true, bytes, at))?,
        };
        let conditional = path.it > 0 || insn.condition != ConditionCode::AL;
        let (reads, writes_all) = reg_use(&insn, R7);
        if let Some((by, number)) = path.clobbered_by
            && (reads || insn.opcode == Opcode::SVC)
        {
            let why =
                format!("the Thumb instruction `{insn}` at {at:#x} reads r7, which the syscall at {by:#x} destroyed");
            return Err(Unproven { why, syscall: number });
        }
        if insn.opcode == Opcode::MOVT
            && let Operand::Imm32(high) = insn.operands[1]
            && code_high.contains(&u64::from(high))
        {
            return Err(format!("`{insn}` at {at:#x} may build a code address: an entry that cannot be traced").into());
        }
        if insn.opcode == Opcode::ADR
            && let Kind::PcRelative { refers: Some(named) } = kind
            && in_code(named)
        {
            work.push(start(named));
        }
        let mut next = Path { at: at + len as u64, it: path.it.saturating_sub(1), ..path };
        next.r7 = number_in_r7(&insn, path.r7, conditional);
        if insn.opcode == Opcode::SVC {
            if !conditional && path.r7.is_some_and(|n| EXITS.contains(&n)) {
                continue; // exit, exit_group
            }
            next.clobbered_by = Some((at, path.r7));
        } else if writes_all && !conditional {
            next.clobbered_by = None;
        }
        if insn.opcode == Opcode::IT {
            if path.it > 0 {
                return Err(format!("an IT instruction at {at:#x} inside an IT block").into());
            }
            next.it = it_block_len(&insn);
        }
        match kind {
            Kind::Branch { target, unconditional } => {
                if path.it > 0 {
                    return Err(format!("a Thumb branch at {at:#x} inside an IT block").into());
                }
                if !in_code(target) {
                    return Err(format!("a Thumb branch at {at:#x} leaves the code for {target:#x}").into());
                }
                work.push(Path { at: target, ..next });
                if !unconditional {
                    work.push(next);
                }
            }
            Kind::Trap => {}
            _ => work.push(next),
        }
    }
    Ok(())
}

/// Where a path of `syscalls_leave_no_clobbered_value` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Path {
    at: u64,
    /// Instructions left in the IT block before `at`'s: they run only if its
    /// condition holds.
    it: u32,
    /// The `svc` that destroyed r7, where nothing has written all of it since, and
    /// its syscall's number where known.
    clobbered_by: Option<(u64, Option<u32>)>,
    /// The number in r7, where known.
    r7: Option<u32>,
}

/// Whether `op` names register `reg`: as a register, in a register list, as a base,
/// index or shift register.
fn names(op: &Operand, reg: u8) -> bool {
    let is = |r: &Reg| r.number() == reg;
    let shift = |s: &RegShift| match s.into_shift() {
        RegShiftStyle::RegImm(s) => is(&s.shiftee()),
        RegShiftStyle::RegReg(s) => is(&s.shiftee()) || is(&s.shifter()),
    };
    match op {
        Operand::Reg(r) | Operand::RegWBack(r, _) | Operand::RegDeref(r) | Operand::BankedReg(_, r) => is(r),
        Operand::RegDerefPostindexOffset(r, ..) | Operand::RegDerefPreindexOffset(r, ..) => is(r),
        Operand::RegDerefPostindexReg(r, i, ..) | Operand::RegDerefPreindexReg(r, i, ..) => is(r) || is(i),
        Operand::RegDerefPostindexRegShift(r, s, ..) | Operand::RegDerefPreindexRegShift(r, s, ..) => is(r) || shift(s),
        Operand::RegShift(s) => shift(s),
        Operand::RegList(list) => list & (1 << reg) != 0,
        _ => false,
    }
}

fn names_r7(op: &Operand) -> bool {
    names(op, R7)
}

/// How `insn` uses register `reg`: (reads it, writes all of it). Over-approximated: an
/// instruction that names it reads it, unless it is one of the forms below, which
/// write their first operand whole from the others alone, with `reg` first and
/// nowhere else. Thumb's
/// two-operand ALU forms (`adds r7, #1`, `orrs r7, r4`) also read their destination,
/// which yaxpeax-arm lists once: those need a third operand to count.
fn reg_use(insn: &Instruction, reg: u8) -> (bool, bool) {
    let ops = &insn.operands;
    let names_it = |op: &Operand| names(op, reg);
    let named = ops.iter().any(names_it);
    let first_is_it = matches!(ops[0], Operand::Reg(r) if r.number() == reg);
    let only_first = first_is_it && !ops[1..].iter().any(names_it);
    let writes_all = match insn.opcode {
        // pop reads only sp; ldm its base, which must not be r7.
        Opcode::POP => named,
        Opcode::LDM(..) => !names_it(&ops[0]) && named,
        Opcode::MOV
        | Opcode::MVN
        | Opcode::ADR
        | Opcode::LDR
        | Opcode::LDRB
        | Opcode::LDRH
        | Opcode::LDRSB
        | Opcode::LDRSH
        | Opcode::UXTB
        | Opcode::UXTH
        | Opcode::SXTB
        | Opcode::SXTH => only_first,
        op if arithmetic(op) => only_first && !matches!(ops[2], Operand::Nothing),
        _ => false,
    };
    (named && !writes_all, writes_all)
}

/// An arithmetic or logical instruction that writes its first operand from the
/// others (Thumb's two-operand forms also read it).
fn arithmetic(op: Opcode) -> bool {
    matches!(
        op,
        Opcode::ADD
            | Opcode::ADC
            | Opcode::SUB
            | Opcode::SBC
            | Opcode::RSB
            | Opcode::AND
            | Opcode::ORR
            | Opcode::ORN
            | Opcode::EOR
            | Opcode::BIC
            | Opcode::LSL
            | Opcode::LSR
            | Opcode::ASR
            | Opcode::ROR
            | Opcode::MUL
    )
}

/// The number in r7 once `insn` ran, `before` it: known after `movs r7, #n` and, from a
/// known number, after the `lsls r7, r7, #8` and `adds r7, #n` that sys-arm's asm
/// builds larger numbers with; unknown after anything else that names r7, or that may
/// not run (`conditional`) and names it.
fn number_in_r7(insn: &Instruction, before: Option<u32>, conditional: bool) -> Option<u32> {
    let ops = &insn.operands;
    if !ops.iter().any(names_r7) {
        return before;
    }
    let reg = |op: &Operand| matches!(op, Operand::Reg(r) if r.number() == R7);
    match (insn.opcode, &ops[..3]) {
        _ if conditional => None,
        (Opcode::MOV, [d, Operand::Imm32(n), Operand::Nothing]) if reg(d) => Some(*n),
        (Opcode::LSL, [d, s, Operand::Imm12(k)]) if reg(d) && reg(s) => before?.checked_shl(u32::from(*k)),
        (Opcode::ADD, [d, Operand::Imm32(n), Operand::Nothing]) if reg(d) => Some(before?.wrapping_add(*n)),
        (Opcode::ADD, [d, s, Operand::Imm32(n)]) if reg(d) && reg(s) => Some(before?.wrapping_add(*n)),
        _ => None,
    }
}

/// The registers liveness (liveness.rs) never lets be dead: sp, lr, pc.
pub const ALWAYS_LIVE: RegSet = 0b111 << 13;

/// The EABI syscalls whose arguments are known, by number (arch/arm/tools/syscall.tbl,
/// as linux-raw-sys gives them to the syscall crates): how many registers from r0 on
/// each reads. Any other reads r0-r6.
const SYSCALL_ARGS: [(u32, u32); 7] = [
    (1, 1),   // exit
    (4, 3),   // write
    (20, 0),  // getpid
    (114, 4), // wait4
    (175, 4), // rt_sigprocmask
    (177, 4), // rt_sigtimedwait
    (248, 1), // exit_group
];

/// What each of the Thumb `insns` (whose bytes `code` holds from `base`) does to the
/// registers, for liveness: r0-r15 are bits 0-15. Over-approximated where it reads
/// (`reg_use`: an instruction that names a register reads it, but for the forms that
/// write it whole), under-approximated where it writes (not where it may not run). An
/// `svc` reads r7 and the arguments of its syscall, known where `movs r7, #n` comes
/// right before it on its one way in; it writes r0; exit and exit_group end the code.
/// An IT block reads what any of its instructions reads, and the flags, and writes
/// nothing whole; what does not decode: unknown (reads everything).
pub fn effects(insns: &[Insn], code: &[u8], base: u64) -> Vec<Effects> {
    let decoder = InstDecoder::default_thumb();
    // Each instruction, or an IT instruction and the block it makes conditional.
    let decoded: Vec<Option<Vec<Instruction>>> = insns
        .iter()
        .map(|i| {
            let bytes = i.bytes_in(code, base)?;
            let mut at = 0;
            let mut block = Vec::new();
            while at < bytes.len() {
                let len = thumb_len(&bytes[at..]);
                block.push(decoder.decode(&mut U8Reader::new(bytes.get(at..at + len)?)).ok()?);
                at += len;
            }
            let it = block[0].opcode == Opcode::IT;
            (block.len() == 1 && !it || it && block.len() > 1).then_some(block)
        })
        .collect();
    // What branches go to: a syscall reached from there has no one way in.
    let targets: std::collections::BTreeSet<u64> = insns.iter().filter_map(Insn::target).collect();
    let number_before = |k: usize| {
        if targets.contains(&insns[k].address) {
            return None;
        }
        let [insn] = &decoded[k.checked_sub(1)?].as_ref()?[..] else { return None };
        let conditional = insn.condition != ConditionCode::AL;
        number_in_r7(insn, None, conditional).filter(|_| insns[k - 1].kind == Kind::Plain)
    };
    decoded
        .iter()
        .enumerate()
        .map(|(k, block)| match block.as_deref() {
            None => Effects::UNKNOWN,
            // An IT block: what any of it reads, and the flags; it surely writes
            // nothing whole (each may not run). A syscall in one: unknown.
            Some([_it, conditional @ ..]) if !conditional.is_empty() => {
                if conditional.iter().any(|i| i.opcode == Opcode::SVC) {
                    return Effects::UNKNOWN;
                }
                let reads = conditional.iter().fold(FLAGS, |set, i| set | register_effects(i, true).reads);
                Effects { reads, writes: 0, ends: false }
            }
            Some([insn, ..]) if insn.opcode == Opcode::SVC => {
                let conditional = insn.condition != ConditionCode::AL;
                let number = number_before(k);
                let args = number.and_then(|n| SYSCALL_ARGS.iter().find(|&&(m, _)| m == n)).map_or(7, |&(_, a)| a);
                Effects {
                    reads: ((1 << args) - 1) | (1 << R7) | if conditional { FLAGS } else { 0 },
                    writes: if conditional { 0 } else { 1 },
                    ends: !conditional && number.is_some_and(|n| EXITS.contains(&n)),
                }
            }
            Some([insn, ..]) => register_effects(insn, insn.condition != ConditionCode::AL),
            Some([]) => Effects::UNKNOWN,
        })
        .collect()
}

/// What an instruction other than `svc` does to the registers (`effects`), where it
/// runs only if a condition holds (`conditional`) or always.
fn register_effects(insn: &Instruction, conditional: bool) -> Effects {
    let mut effects = Effects { reads: 0, writes: 0, ends: false };
    for reg in 0..16 {
        let (reads, writes_all) = reg_use(insn, reg);
        effects.reads |= u64::from(reads) << reg;
        effects.writes |= u64::from(writes_all && !conditional) << reg;
    }
    let carry = matches!(insn.opcode, Opcode::ADC | Opcode::SBC | Opcode::RSC) || insn.to_string().contains("rrx");
    if conditional || carry {
        effects.reads |= FLAGS;
    }
    // What sets all of N, Z, C and V (a shift or a move leaves V, or C).
    let all_flags = matches!(insn.opcode, Opcode::CMP | Opcode::CMN)
        || insn.s && matches!(insn.opcode, Opcode::ADD | Opcode::SUB | Opcode::RSB);
    if all_flags && !conditional {
        effects.writes |= FLAGS;
    }
    effects
}

/// `bytes` at `at`, header words the packer would let run on the way to the next run
/// of code (liveness.rs): Thumb instructions that run the same anywhere, write only
/// registers and the flags, touch no memory, and end where `bytes` do. What they
/// destroy (always the flags; not the register of a `movs rN, rN`), and as an
/// assembler writes them; None for anything else, or no bytes.
pub fn passage(bytes: &[u8], at: u64) -> Option<(RegSet, String)> {
    if bytes.is_empty() {
        return None;
    }
    let decoder = InstDecoder::default_thumb();
    let (mut done, mut clobbers, mut text) = (0, FLAGS, Vec::new());
    while done < bytes.len() {
        let here = at + done as u64;
        let rest = &bytes[done..];
        let len = thumb_len(rest);
        let one = rest.get(..len)?;
        let insn = decoder.decode(&mut U8Reader::new(one)).ok()?;
        let plain = thumb_branch(one, here).ok()?.is_none()
            && classify(&insn, here, literal(true, one, here)).ok()? == Kind::Plain;
        let computes = arithmetic(insn.opcode)
            || matches!(
                insn.opcode,
                Opcode::MOV | Opcode::MVN | Opcode::UXTB | Opcode::UXTH | Opcode::SXTB | Opcode::SXTH
            );
        let compares = matches!(insn.opcode, Opcode::CMP | Opcode::CMN | Opcode::TST);
        if !plain || insn.condition != ConditionCode::AL || !(computes || compares) {
            return None;
        }
        let Operand::Reg(first) = insn.operands[0] else { return None };
        let ops = &insn.operands;
        // movs rN, rN (lsls rN, rN, #0) leaves rN as it was.
        let same = matches!((insn.opcode, &ops[1..]), (Opcode::LSL, [Operand::Reg(r), Operand::Imm12(0), Operand::Nothing])
            | (Opcode::MOV, [Operand::Reg(r), Operand::Nothing, Operand::Nothing]) if r.number() == first.number());
        if computes && !same {
            clobbers |= 1 << first.number();
        }
        text.push(insn.to_string());
        done += len;
    }
    Some((clobbers, text.join("; ")))
}

/// A load address whose high half, a Thumb instruction in e_entry and p_vaddr, runs
/// as `movs rN, #0`, writing only the lowest register of r0-r7 in `free` and the
/// flags: 0x2N000000.
pub fn passage_load(free: RegSet) -> Option<u64> {
    let n = (0..8).find(|&r| free & 1 << r != 0)?;
    Some((0x20 + n) << 24)
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    const THUMB: Isa = Isa::Arm { thumb: true };

    fn kinds(isa: Isa, halfwords: &[u16]) -> Result<Vec<(u64, Kind)>, String> {
        let code: Vec<u8> = halfwords.iter().flat_map(|h| h.to_le_bytes()).collect();
        Ok(isa.decode(&code, 0x1000)?.iter().map(|i| (i.address, i.kind)).collect())
    }

    #[test]
    fn thumb_lengths_branches_and_pc_reads() {
        // movs r0,#1; ldr r1,[pc,#4]; adr r2,#8; svc 0; bne -8; b.w +0x100; cbz r0,+4; b -2
        let code = [0x2001, 0x4901, 0xa202, 0xdf00, 0xd1fa, 0xf000, 0xb880, 0xb110, 0xe7fe];
        assert_eq!(
            kinds(THUMB, &code).unwrap(),
            [
                (0x1000, Kind::Plain),
                (0x1002, Kind::PcRelative { refers: Some(0x1008) }),
                (0x1004, Kind::PcRelative { refers: Some(0x1010) }),
                (0x1006, Kind::Plain),
                (0x1008, Kind::Branch { target: 0x1000, unconditional: false }),
                (0x100a, Kind::Branch { target: 0x110e, unconditional: true }),
                (0x100e, Kind::Branch { target: 0x1016, unconditional: false }),
                (0x1010, Kind::Branch { target: 0x1010, unconditional: true }),
            ]
        );
        // ite eq; moveq r0,#1; movne r0,#0 is one instruction; then free again.
        let it = THUMB.decode(&[0xbf0cu16, 0x2001, 0x2000, 0x2001].map(u16::to_le_bytes).concat(), 0x1000).unwrap();
        assert_eq!(
            it.iter().map(|i| (i.address, i.len, i.kind)).collect::<Vec<_>>(),
            [(0x1000, 6, Kind::Plain), (0x1006, 2, Kind::Plain)]
        );
        // A block cut short, and a branch inside one (it eq; beq.n is no IT form, b is).
        assert!(kinds(THUMB, &[0xbf0c, 0x2001]).is_err());
        assert!(kinds(THUMB, &[0xbf08, 0xe7fe]).is_err());
        // bx lr, pop {r7,pc}, bl, mov pc,r0, and a cut-off 32-bit instruction.
        for code in [&[0x4770u16][..], &[0xbd80], &[0xf000, 0xf800], &[0x4687], &[0xf000]] {
            assert!(kinds(THUMB, code).is_err(), "{code:04x?}");
        }
    }

    /// Each form, re-encoded at `to` for `dest`, decodes back naming `dest`; too far
    /// or misaligned, None.
    #[test]
    fn re_encoded_branches_and_literals_decode_back() {
        let half = |h: &[u16]| h.iter().flat_map(|h| h.to_le_bytes()).collect::<Vec<u8>>();
        let named = |isa: Isa, bytes: &[u8], at: u64| {
            let insns = isa.decode(bytes, at).unwrap();
            assert_eq!((insns.len(), insns[0].len), (1, bytes.len()), "{bytes:02x?}");
            insns[0].target().or(insns[0].refers())
        };
        let a32 = Isa::Arm { thumb: false };
        // (isa, form, reachable (to, dest) pairs, pairs out of reach)
        type Case = (Isa, Vec<u8>, &'static [(u64, u64)], &'static [(u64, u64)]);
        let cases: &[Case] = &[
            // bne (T1): -256..254.
            (
                THUMB,
                half(&[0xd1fa]),
                &[(0x1000, 0x1102), (0x1000, 0x0f04), (0x1000, 0x1000)],
                &[(0x1000, 0x1104), (0x1000, 0x0f02)],
            ),
            // b (T2): 2 KiB.
            (THUMB, half(&[0xe7fe]), &[(0x1000, 0x1802), (0x1000, 0x0804)], &[(0x1000, 0x1804), (0x1000, 0x1001)]),
            // cbz r0 (forward 0..126).
            (THUMB, half(&[0xb110]), &[(0x1000, 0x1004), (0x1000, 0x1082)], &[(0x1000, 0x1002), (0x1000, 0x1084)]),
            // ldr r1, [pc, #imm] and adr r2: Align(PC, 4) + 0..1020, words.
            (
                THUMB,
                half(&[0x4901]),
                &[(0x1002, 0x1004), (0x1000, 0x1400), (0x1002, 0x1400)],
                &[(0x1000, 0x1002), (0x1000, 0x1404), (0x1000, 0x0ffc)],
            ),
            (THUMB, half(&[0xa202]), &[(0x1000, 0x1048), (0x1016, 0x1018)], &[(0x1016, 0x1014), (0x1000, 0x1046)]),
            // b.w (T4): 16 MiB; beq.w (T3): 1 MiB.
            (
                THUMB,
                half(&[0xf000, 0xb880]),
                &[(0x1000, 0x10_0000), (0x10_0000, 0x1000), (0x1000, 0x1004)],
                &[(0x1000, 0x200_0000)],
            ),
            (THUMB, half(&[0xf000, 0x802c]), &[(0x1000, 0x8_0000), (0x8_0000, 0x1000)], &[(0x1000, 0x20_0000)]),
            // ldr.w r0, [pc, #-imm]: 4095 either way.
            (THUMB, half(&[0xf85f, 0x0004]), &[(0x1000, 0x1fff), (0x1000, 0x0005)], &[(0x1000, 0x2004)]),
            // A32 b; ldr r0, [pc, #imm].
            (a32, 0xeaff_fffeu32.to_le_bytes().to_vec(), &[(0x1000, 0x2000), (0x2000, 0x1000)], &[(0x1000, 0x1002)]),
            (a32, 0xe59f_0004u32.to_le_bytes().to_vec(), &[(0x1000, 0x1ffc), (0x1000, 0x0100)], &[(0x1000, 0x3000)]),
        ];
        for (isa, form, fit, unfit) in cases {
            for &(to, dest) in *fit {
                let out = super::retarget(*isa == THUMB, form, to, dest)
                    .unwrap_or_else(|| panic!("{form:02x?} at {to:#x} -> {dest:#x}"));
                assert_eq!(named(*isa, &out, to), Some(dest), "{form:02x?} at {to:#x}: {out:02x?}");
                // The same instruction otherwise: once more at its first place, the same bytes.
                let first = named(*isa, form, 0x1000).unwrap();
                assert_eq!(super::retarget(*isa == THUMB, &out, 0x1000, first).as_deref(), Some(&form[..]));
            }
            for &(to, dest) in *unfit {
                assert_eq!(super::retarget(*isa == THUMB, form, to, dest), None, "{form:02x?} at {to:#x} -> {dest:#x}");
            }
        }
    }

    /// Header words as Thumb: e_entry 0x23000015 (`movs r5, r2; movs r3, #0`), e_phoff
    /// 0x2c (`movs r4, r5; movs r0, r0`) write registers only; a word that loads,
    /// stores, branches or makes a syscall is none.
    #[test]
    fn header_words_pass_where_they_only_write_registers() {
        use super::super::liveness::FLAGS;
        let words = |ws: &[u32]| ws.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        let (clobbers, text) = super::passage(&words(&[0x2300_0015, 0x2c]), 0x18).unwrap();
        assert_eq!(clobbers, 1 << 5 | 1 << 3 | 1 << 4 | FLAGS, "{text}");
        assert_eq!(text, "movs r5, r2; movs r3, 0x0; movs r4, r5; movs r0, r0");
        // movs r0, r0 leaves r0 as it was: only the flags.
        assert_eq!(super::passage(&[0, 0], 0).map(|(c, _)| c), Some(FLAGS));
        for (what, halfword) in [
            ("a load", 0x6808u16),   // ldr r0, [r1]
            ("a store", 0x6008),     // str r0, [r1]
            ("a branch", 0xe7fe),    // b .
            ("a syscall", 0xdf00),   // svc 0
            ("a push", 0xb480),      // push {r7}
            ("a pc read", 0xa100),   // adr r1, #0
            ("a condition", 0xd000), // beq
        ] {
            assert_eq!(super::passage(&halfword.to_le_bytes(), 0), None, "{what}");
        }
        // A 32-bit instruction that runs past the bytes: none.
        assert_eq!(super::passage(&[0x4f, 0xf0], 0), None);
        assert_eq!(super::passage(&[], 0), None);
        // The load address for the lowest free register of r0-r7.
        assert_eq!(super::passage_load(1 << 3 | 1 << 9), Some(0x2300_0000));
        assert_eq!(super::passage_load(1 << 9), None);
    }

    #[test]
    fn a_literal_load_turns_into_adr_of_the_same_register() {
        // ldr r5, [pc, #8] -> adr r5, #0; an adr keeps its register; movs is neither.
        assert_eq!(super::literal_as_address(true, &0x4d02u16.to_le_bytes()), Some(0xa500u16.to_le_bytes().to_vec()));
        assert_eq!(super::literal_as_address(true, &0xa2ffu16.to_le_bytes()), Some(0xa200u16.to_le_bytes().to_vec()));
        assert_eq!(super::literal_as_address(true, &0x2001u16.to_le_bytes()), None);
        assert_eq!(super::literal_as_address(false, &0x4d02u16.to_le_bytes()), None);
    }

    /// The proof failed, and for a read of r7.
    fn reads_r7(proof: Result<(), super::Unproven>) -> bool {
        proof.is_err_and(|e| e.why.contains("reads r7"))
    }

    #[test]
    fn no_value_of_r7_outlives_a_syscall() {
        // The code at 0x1000, entered there (Thumb), with no code address held.
        let check = |halfwords: &[u16]| {
            let code: Vec<u8> = halfwords.iter().flat_map(|h| h.to_le_bytes()).collect();
            super::syscalls_leave_no_clobbered_value(&code, 0x1000, 0x1001, &[])
        };
        const SVC: u16 = 0xdf00; // svc #0
        const WRITE: u16 = 0x2704; // movs r7, #4
        const READ: u16 = 0x4638; // mov r0, r7
        // r7 read after the syscall: refused, naming both places, and the syscall's
        // number (write, 4), across which the build may then keep r7.
        let err = check(&[WRITE, SVC, READ]).unwrap_err();
        assert!(err.why.contains("0x1004") && err.why.contains("0x1002") && err.why.contains("r7"), "{err}");
        assert_eq!(err.syscall, Some(4));
        // Written first (movs r7, #0; add r7, sp, #4; pop {r7}; ldr r7, [sp]): fine.
        for write in [0x2700, 0xaf01, 0xbc80, 0x9f00] {
            assert!(check(&[WRITE, SVC, write, READ]).is_ok(), "{write:04x}");
        }
        // Reads in other guises: push {r7}; str r0, [r7]; ldr r0, [r7]; adds r7, #1
        // (two operands: r7 is also the source); orrs r7, r4; cmp r7, r8; adds r1, r0, r7;
        // ldrb r2, [r2, r7]; add.w r1, r7, r1; strh.w r7, [sp, #0x18]; cbz r7; and a
        // syscall reached with r7 still destroyed (its number).
        for read in [
            &[0xb480u16][..],
            &[0x6038],
            &[0x6838],
            &[0x3701],
            &[0x4327],
            &[0x4547],
            &[0x19c1],
            &[0x5dd2],
            &[0xeb07, 0x0101],
            &[0xf8ad, 0x7018],
            &[0xb107, 0xbf00],
            &[SVC],
        ] {
            let err = check(&[&[WRITE, SVC][..], read].concat()).unwrap_err();
            assert!(err.why.contains("reads r7"), "{read:04x?}: {err}");
        }
        // Through a conditional branch: cmp r0, #0; beq past the write; the path that
        // skips it reads r7. With the write before the branch, both paths are fine.
        assert!(reads_r7(check(&[WRITE, SVC, 0x2800, 0xd000, 0x2700, READ])));
        assert!(check(&[WRITE, SVC, 0x2700, 0x2800, 0xd000, 0xbf00, READ]).is_ok());
        // A write in an IT block may not run: `it eq; moveq r7, #0` writes nothing for
        // sure. A read in one counts: `it eq; moveq r0, r7`.
        assert!(reads_r7(check(&[WRITE, SVC, 0xbf08, 0x2700, READ])));
        assert!(check(&[WRITE, SVC, 0x2700, 0xbf08, READ]).is_ok());
        assert!(reads_r7(check(&[WRITE, SVC, 0xbf08, READ, 0x2700])));
        // A loop back over the syscall, to a read at its head.
        assert!(reads_r7(check(&[READ, WRITE, SVC, 0xe7fb])));
        // exit (movs r7, #1) and exit_group (248) do not return; write (4) does, and so
        // does 0x119 (socket), built in three instructions that read r7 themselves.
        assert!(check(&[0x2701, SVC, READ]).is_ok());
        assert!(check(&[0x27f8, SVC, READ]).is_ok());
        let err = check(&[0x2701, 0x023f, 0x3719, SVC, READ]).unwrap_err();
        assert!(err.why.contains("reads r7") && err.syscall == Some(0x119), "{err:?}");
        assert!(check(&[WRITE, SVC, 0x2701, 0x023f, 0x3719, SVC, 0x2701, SVC]).is_ok());
        // ...and an exit reached by a branch from where r7 held something else returns.
        assert!(reads_r7(check(&[WRITE, 0xe000, 0x2701, SVC, READ])));
        // What cannot be traced: a call, a return, a branch out of the code.
        for (untraced, why) in [
            (&[0xf000u16, 0xf800][..], "call"),
            (&[0x4770], "sets the PC"),
            (&[0xbd80], "sets the PC"),
            (&[0xe400], "leaves"),
        ] {
            let err = check(&[&[0x2701][..], untraced].concat()).unwrap_err();
            assert!(err.why.contains(why) && err.syscall.is_none(), "{untraced:04x?}: {err:?}");
        }
        // A32 code is not proven.
        let code = [WRITE, SVC].map(u16::to_le_bytes).concat();
        assert!(super::syscalls_leave_no_clobbered_value(&code, 0x1000, 0x1000, &[]).is_err());
    }

    #[test]
    fn every_entry_of_the_code_is_proven() {
        // exit at 0x1000; at 0x1004 a handler that reads r7 after a syscall, which only
        // a code address held as data (bit 0 set: Thumb) shows to be an entry.
        let code = [0x2701u16, 0xdf00, 0x2704, 0xdf00, 0x4638].map(u16::to_le_bytes).concat();
        let check = |held: &[u64]| super::syscalls_leave_no_clobbered_value(&code, 0x1000, 0x1001, held);
        assert!(check(&[]).is_ok());
        assert!(reads_r7(check(&[0x1005])));
        // An even value is no Thumb function's address; a value outside the code none.
        assert!(check(&[0x1004, 0x2005]).is_ok());
        // adr r0, #4 (0x1008: from the PC, 0x1004) names such a handler: an entry too.
        // movt r0, #0 may build any address of the code's 64 KiB: refused.
        let adr = [0xa001u16, 0x2701, 0xdf00, 0xbf00, 0x2704, 0xdf00, 0x4638].map(u16::to_le_bytes).concat();
        assert!(reads_r7(super::syscalls_leave_no_clobbered_value(&adr, 0x1000, 0x1001, &[])));
        let movt = [0xf2c0u16, 0x0000, 0x2701, 0xdf00].map(u16::to_le_bytes).concat();
        let err = super::syscalls_leave_no_clobbered_value(&movt, 0x1000, 0x1001, &[]).unwrap_err();
        assert!(err.why.contains("code address"), "{err}");
        let movt_elsewhere = [0xf2c0u16, 0x0001, 0x2701, 0xdf00].map(u16::to_le_bytes).concat();
        assert!(super::syscalls_leave_no_clobbered_value(&movt_elsewhere, 0x1000, 0x1001, &[]).is_ok());
    }

    #[test]
    fn a32_branches() {
        let isa = Isa::Arm { thumb: false };
        // b -8 (to itself); bl: a call.
        let b: Vec<u8> = 0xeaff_fffeu32.to_le_bytes().to_vec();
        assert_eq!(isa.decode(&b, 0x1000).unwrap()[0].kind, Kind::Branch { target: 0x1000, unconditional: true });
        assert!(isa.decode(&0xebff_fffeu32.to_le_bytes(), 0x1000).is_err());
    }
}
