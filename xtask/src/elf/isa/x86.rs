//! x86, both modes, decoded by iced-x86.

use std::collections::BTreeMap;

use iced_x86::{
    Code, Decoder, DecoderOptions, FlowControl, Instruction, InstructionInfoFactory, Mnemonic, OpAccess, OpKind,
    Register,
};

use super::{FreeFlags, Insn, Kind, resolve};

/// Linux and qemu-user read no flags of EM_X86_64 or EM_386 files (ELF-NOTES.md).
/// lld fills the gaps between x86 functions with int3.
pub const FILL: u8 = 0xcc;

pub const FREE_E_FLAGS: FreeFlags = FreeFlags { bits: !0, why: "e_flags: no x86 loader reads them" };

/// The instruction the code ends in that p_filesz = p_memsz may spell (`Isa::size_word`),
/// as it lies in the file: x86-64's `syscall` (0f 05: a 0x50f-byte segment, inside the
/// first page) and i386's `int 0x80` (cd 80: 0x80cd bytes, which map lazily past EOF).
pub fn size_word(bitness: u32) -> &'static [u8] {
    if bitness == 64 { &[0x0f, 0x05] } else { &[0xcd, 0x80] }
}

pub fn decode(bitness: u32, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut decoder = Decoder::with_ip(bitness, code, address, DecoderOptions::NONE);
    let mut info = InstructionInfoFactory::new();
    let mut out = Vec::new();
    let mut after_syscall = false;
    while decoder.can_decode() {
        let insn = decoder.decode();
        let at = insn.ip();
        if insn.is_invalid() {
            return Err(format!("no x86 instruction decodes at {at:#x}"));
        }
        let text = format!("{insn}");
        // SYSCALL leaves its return address in rcx (and the flags in r11): whatever
        // reads them after one depends on where the SYSCALL sat.
        let reads_syscall_state = after_syscall
            && info.info(&insn).used_registers().iter().any(|r| {
                matches!(r.register().full_register(), Register::RCX | Register::R11)
                    && !matches!(r.access(), OpAccess::Write | OpAccess::CondWrite | OpAccess::None)
            });
        after_syscall |= insn.code() == Code::Syscall;
        // iced counts SYSCALL as a call; Linux returns from it, and from INT, to the
        // next instruction.
        let flow = if insn.code() == Code::Syscall { FlowControl::Next } else { insn.flow_control() };
        let near = matches!(insn.op0_kind(), OpKind::NearBranch16 | OpKind::NearBranch32 | OpKind::NearBranch64);
        let kind = match flow {
            FlowControl::Next | FlowControl::Interrupt if insn.is_ip_rel_memory_operand() => {
                Kind::PcRelative { refers: Some(insn.ip_rel_memory_address()) }
            }
            FlowControl::Next | FlowControl::Interrupt if reads_syscall_state => Kind::PcRelative { refers: None },
            FlowControl::Next | FlowControl::Interrupt => Kind::Plain,
            FlowControl::UnconditionalBranch if near => {
                Kind::Branch { target: insn.near_branch_target(), unconditional: true }
            }
            FlowControl::ConditionalBranch if near => {
                Kind::Branch { target: insn.near_branch_target(), unconditional: false }
            }
            FlowControl::Exception => Kind::Trap,
            other => return Err(format!("{text} at {at:#x}: {other:?} control flow, its target cannot be traced")),
        };
        out.push(Insn { address: at, len: insn.len(), kind, text });
    }
    Ok(out)
}

/// How many of the code's first instructions only save registers for a caller the
/// entry point does not have: LLVM's x86 backend pushes the callee-saved registers a
/// function writes even when it is `-> !` and nounwind (unlike ARM's and AArch64's,
/// it does not skip those saves), and `_start` is such a function. The pushes may go
/// where nothing ever reads what they wrote or depends on where the stack pointer
/// stands: the stack pointer is no operand of any instruction the code runs (no
/// `[esp+n]`, no `mov eax, esp`, no `push esp`), only pushes and pops move it, and
/// on every path from the entry the pops never take more than the code pushed after
/// the saves. The kernel passes no other pointer into the stack, and no branch goes
/// back to a push. `insns` are what runs, in packing order (`skip_noop_jumps`, whose
/// `alias` sends dropped jumps on), their bytes in `code` from `base`.
pub fn entry_saves(bitness: u32, insns: &[Insn], code: &[u8], base: u64, alias: &BTreeMap<u64, u64>) -> usize {
    let decoded: Option<Vec<Instruction>> = insns
        .iter()
        .map(|i| {
            let insn = Decoder::with_ip(bitness, i.bytes_in(code, base)?, i.address, DecoderOptions::NONE).decode();
            (!insn.is_invalid()).then_some(insn)
        })
        .collect();
    let Some(decoded) = decoded else { return 0 };
    let saves = decoded
        .iter()
        .take_while(|i| matches!(i.code(), Code::Push_r32 | Code::Push_r64) && i.op0_register() != stack(bitness))
        .count();
    if saves == 0 || saves == insns.len() {
        return 0;
    }
    let index: BTreeMap<u64, usize> = insns.iter().enumerate().map(|(k, i)| (i.address, k)).collect();
    if insns.iter().filter_map(Insn::target).any(|t| index.get(&resolve(alias, t)).is_none_or(|&k| k < saves)) {
        return 0;
    }
    let mut info = InstructionInfoFactory::new();
    // (instruction, bytes pushed since the saves) along every path.
    let mut work = vec![(saves, 0i64)];
    let mut seen = std::collections::BTreeSet::new();
    while let Some((k, depth)) = work.pop() {
        let Some(insn) = decoded.get(k) else { continue }; // off the code's end: undefined already
        if !seen.insert((k, depth)) {
            continue;
        }
        let names_sp = (0..insn.op_count()).any(|n| match insn.op_kind(n) {
            OpKind::Register => insn.op_register(n).full_register() == Register::RSP,
            OpKind::Memory => {
                [insn.memory_base(), insn.memory_index()].iter().any(|r| r.full_register() == Register::RSP)
            }
            _ => false,
        });
        let moves_sp = info.info(insn).used_registers().iter().any(|r| r.register().full_register() == Register::RSP);
        let push_or_pop = matches!(insn.mnemonic(), Mnemonic::Push | Mnemonic::Pop);
        if names_sp || (moves_sp && !push_or_pop) {
            return 0;
        }
        let depth = depth - i64::from(insn.stack_pointer_increment());
        // A pop would take a save's value (or the pushes grow without end in a loop).
        if !(0..=4096).contains(&depth) {
            return 0;
        }
        if let Some(target) = insns[k].target() {
            work.push((index[&resolve(alias, target)], depth));
        }
        if !insns[k].jump() && insns[k].kind != Kind::Trap {
            work.push((k + 1, depth));
        }
    }
    saves
}

fn stack(bitness: u32) -> Register {
    if bitness == 64 { Register::RSP } else { Register::ESP }
}

/// A branch's relative offset, or a rip-relative operand's displacement, rewritten for
/// the instruction at `to` (decoded at `from`) to reach `dest`, in the field's own
/// width (where iced's decoder says it lies).
pub fn retarget(bitness: u32, bytes: &[u8], from: u64, to: u64, dest: u64) -> Option<Vec<u8>> {
    let mut decoder = Decoder::with_ip(bitness, bytes, from, DecoderOptions::NONE);
    let insn = decoder.decode();
    let offsets = decoder.get_constant_offsets(&insn);
    let (at, size) = if insn.is_ip_rel_memory_operand() {
        (offsets.displacement_offset(), offsets.displacement_size())
    } else {
        (offsets.immediate_offset(), offsets.immediate_size())
    };
    let rel = dest.wrapping_sub(to.wrapping_add(insn.len() as u64)) as i64;
    let field: Vec<u8> = match size {
        1 => vec![i8::try_from(rel).ok()? as u8],
        2 => i16::try_from(rel).ok()?.to_le_bytes().to_vec(),
        // i386 wraps around its 4 GiB; x86-64 reaches 2 GiB either way.
        4 if bitness == 32 => (rel as i32).to_le_bytes().to_vec(),
        4 => i32::try_from(rel).ok()?.to_le_bytes().to_vec(),
        _ => return None,
    };
    let mut out = bytes.to_vec();
    out.get_mut(at..at + size)?.copy_from_slice(&field);
    Some(out)
}

/// `jmp rel8`, or `jmp rel32` (in 64-bit mode only within 2 GiB).
pub fn jump(bitness: u32, from: u64, to: u64) -> Option<Vec<u8>> {
    let rel8 = to.wrapping_sub(from.wrapping_add(2)) as i64;
    if (-128..=127).contains(&rel8) {
        return Some(vec![0xeb, rel8 as i8 as u8]);
    }
    let rel32 = to.wrapping_sub(from.wrapping_add(5)) as i64;
    let fits = if bitness == 64 { i32::try_from(rel32).is_ok() } else { true };
    fits.then(|| [&[0xe9][..], &(rel32 as i32).to_le_bytes()].concat())
}

#[cfg(test)]
mod tests {
    use super::super::Isa;

    const X64: Isa = Isa::X86 { bitness: 64 };

    fn kinds(isa: Isa, code: &[u8]) -> Vec<(u64, bool, Option<u64>, bool)> {
        isa.decode(code, 0x1000).unwrap().iter().map(|i| (i.address, i.movable(), i.target(), i.jump())).collect()
    }

    #[test]
    fn x86_instructions_are_told_apart() {
        // push 1; pop rax; syscall; lea rsi, [rip+0]; jmp -2
        let code = [0x6a, 0x01, 0x58, 0x0f, 0x05, 0x48, 0x8d, 0x35, 0, 0, 0, 0, 0xeb, 0xfe];
        assert_eq!(
            kinds(X64, &code),
            [
                (0x1000, true, None, false),
                (0x1002, true, None, false),
                (0x1003, true, None, false),  // syscall returns to the next instruction
                (0x1005, false, None, false), // rip-relative: depends on its address
                (0x100c, false, Some(0x100c), true),
            ]
        );
        // jne: a branch, but not one that can be re-encoded as a plain jump.
        assert_eq!(kinds(X64, &[0x75, 0x00]), [(0x1000, false, Some(0x1002), false)]);
    }

    #[test]
    fn what_reads_rcx_after_a_syscall_stays() {
        // syscall; mov rax, rcx; mov rcx, rax
        let insns = X64.decode(&[0x0f, 0x05, 0x48, 0x89, 0xc8, 0x48, 0x89, 0xc1], 0x1000).unwrap();
        assert_eq!(insns.iter().map(|i| i.movable()).collect::<Vec<_>>(), [true, false, true]);
    }

    #[test]
    fn untraceable_flow_and_bad_bytes_are_refused() {
        assert!(X64.decode(&[0xc3], 0x1000).unwrap_err().contains("Return"));
        assert!(X64.decode(&[0xff, 0xe0], 0x1000).unwrap_err().contains("IndirectBranch")); // jmp rax
        assert!(X64.decode(&[0xe8, 0, 0, 0, 0], 0x1000).unwrap_err().contains("Call"));
        // A truncated instruction (mov eax, imm32 missing its last byte).
        assert!(X64.decode(&[0xb8, 1, 0, 0], 0x1000).is_err());
    }

    #[test]
    fn entry_saves_go_only_where_nothing_reads_them_back() {
        const I386: Isa = Isa::X86 { bitness: 32 };
        let saves = |code: &[u8]| {
            let insns = I386.decode(code, 0x1000).unwrap();
            super::entry_saves(32, &insns, code, 0x1000, &Default::default())
        };
        // push ebx; push esi; push 4; pop eax; int 0x80: hello's entry.
        assert_eq!(saves(&[0x53, 0x56, 0x6a, 0x04, 0x58, 0xcd, 0x80]), 2);
        // push ebx; mov eax, [esp+4]: the stack pointer read, its offsets would move.
        assert_eq!(saves(&[0x53, 0x8b, 0x44, 0x24, 0x04]), 0);
        // push ebx; mov eax, esp.
        assert_eq!(saves(&[0x53, 0x89, 0xe0]), 0);
        // push ebx; pop eax: the pop takes the save.
        assert_eq!(saves(&[0x53, 0x58]), 0);
        // push ebx; push 1; je +1; pop eax; pop ecx: on the path that falls through,
        // the second pop takes the save.
        assert_eq!(saves(&[0x53, 0x6a, 0x01, 0x74, 0x01, 0x58, 0x59]), 0);
        // ... and without that pop, both paths pop only what they pushed.
        assert_eq!(saves(&[0x53, 0x6a, 0x01, 0x74, 0x01, 0x58, 0x90]), 1);
        // push ebx; xor eax, eax; jmp back to the push: a branch to a save.
        assert_eq!(saves(&[0x53, 0x31, 0xc0, 0xeb, 0xfb]), 0);
        // push esp: no save, the stack pointer itself.
        assert_eq!(saves(&[0x54, 0x90]), 0);
        // sub esp, 8: the stack pointer moved by other than pushes and pops.
        assert_eq!(saves(&[0x53, 0x83, 0xec, 0x08]), 0);
    }

    #[test]
    fn jumps_take_the_short_form_when_they_can() {
        assert_eq!(X64.jump(0x10092, 0x10028), Some(vec![0xeb, 0x94]));
        assert_eq!(X64.jump(0x1000, 0x2000), Some(vec![0xe9, 0xfb, 0x0f, 0, 0]));
        assert_eq!(X64.jump(0x1000, 0x1_0000_1000), None);
        let back = X64.jump(0x10028, 0x10094).unwrap();
        let insn = &X64.decode(&back, 0x10028).unwrap()[0];
        assert_eq!(insn.target(), Some(0x10094));
    }
}
