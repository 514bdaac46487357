//! What the shrinker knows of a machine's instructions: enough to move a run of them
//! to another address and prove that nothing in them depends on where they sit.
//!
//! x86 (both modes), decoded by iced-x86, and s390x, whose instruction lengths and
//! branches this file reads itself (a short table: z/Architecture Principles of
//! Operation). Another machine is a variant here: its decoder and its jump.

use goblin::elf::header::{EM_386, EM_S390, EM_X86_64};
use iced_x86::{Code, Decoder, DecoderOptions, FlowControl, InstructionInfoFactory, OpAccess, OpKind, Register};

/// One decoded instruction.
#[derive(Debug, Clone)]
pub struct Insn {
    pub address: u64,
    /// It runs the same at any address and then goes on to the next instruction: no
    /// operand relative to the program counter, no branch, call or return.
    pub movable: bool,
    /// A direct branch's target.
    pub target: Option<u64>,
    /// An unconditional direct jump: at another address, the same jump re-encoded
    /// does the same.
    pub jump: bool,
    /// For `--explain`: the instruction as an assembler would write it.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    X86 { bitness: u32 },
    S390x,
}

impl Isa {
    /// The instruction set of ELF machine `machine`, if the shrinker knows it.
    pub fn of(machine: u16) -> Option<Isa> {
        match machine {
            EM_X86_64 => Some(Isa::X86 { bitness: 64 }),
            EM_386 => Some(Isa::X86 { bitness: 32 }),
            EM_S390 => Some(Isa::S390x),
            _ => None,
        }
    }

    /// Every instruction of `code`, which starts at `address` and must end on an
    /// instruction boundary. Err: an undecodable byte, or control flow that leaves no
    /// trace of where it goes (an indirect branch or call, a return, a call's pushed
    /// return address): then nobody can say that nothing jumps into a given run.
    pub fn decode(self, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
        match self {
            Isa::X86 { bitness } => decode_x86(bitness, code, address),
            Isa::S390x => decode_s390x(code, address),
        }
    }

    /// An unconditional jump at `from` to `to`, as short as it encodes.
    pub fn jump(self, from: u64, to: u64) -> Option<Vec<u8>> {
        match self {
            Isa::X86 { bitness } => {
                let rel8 = to.wrapping_sub(from.wrapping_add(2)) as i64;
                if (-128..=127).contains(&rel8) {
                    return Some(vec![0xeb, rel8 as i8 as u8]);
                }
                let rel32 = to.wrapping_sub(from.wrapping_add(5)) as i64;
                let fits = if bitness == 64 { i32::try_from(rel32).is_ok() } else { true };
                fits.then(|| [&[0xe9][..], &(rel32 as i32).to_le_bytes()].concat())
            }
            // BRC 15 (`j`), or BRCL 15 (`jg`): offsets in halfwords from the jump.
            Isa::S390x => {
                let halfwords = (to.wrapping_sub(from) as i64) / 2;
                if !from.is_multiple_of(2) || !to.is_multiple_of(2) {
                    None
                } else if let Ok(h) = i16::try_from(halfwords) {
                    Some([&[0xa7, 0xf4][..], &h.to_be_bytes()].concat())
                } else {
                    i32::try_from(halfwords).ok().map(|h| [&[0xc0, 0xf4][..], &h.to_be_bytes()].concat())
                }
            }
        }
    }
}

/// Instructions start on even addresses.
pub fn aligned(isa: Isa, address: u64) -> bool {
    match isa {
        Isa::X86 { .. } => true,
        Isa::S390x => address.is_multiple_of(2),
    }
}

fn decode_s390x(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let b = &code[at..];
        // The first two bits give the length: 2, 4, 4 or 6 bytes.
        let len = [2, 4, 4, 6][(b[0] >> 6) as usize];
        let insn = b
            .get(..len)
            .ok_or_else(|| format!("an s390x instruction at {:#x} runs past the end", address + at as u64))?;
        let here = address + at as u64;
        let i16_at = |i: usize| i16::from_be_bytes([insn[i], insn[i + 1]]) as i64;
        let i32_at = |i: usize| i32::from_be_bytes([insn[i], insn[i + 1], insn[i + 2], insn[i + 3]]) as i64;
        let relative = |halfwords: i64| Some(here.wrapping_add((halfwords * 2) as u64));
        let (op, low) = (insn[0], insn[1] & 0x0f);
        let last = insn[len - 1];
        // (movable, direct branch target, unconditional jump, name)
        let (movable, target, jump, name) = match (op, low, len) {
            (0x0a, _, 2) => (true, None, false, "svc"),
            (0x14 | 0x16 | 0x17 | 0x18 | 0x19 | 0x1a | 0x1b, _, 2) => (true, None, false, "rr"),
            // BCR with no register to branch to is a no-op (serialization).
            (0x07, _, 2) if insn[1] & 0x0f == 0 => (true, None, false, "bcr 0"),
            (0xa7, 0x8..=0xf, 4) => (true, None, false, "ri"),
            (0xa7, 0x4, 4) => (false, relative(i16_at(2)), insn[1] >> 4 == 0xf, "brc"),
            (0xa7, 0x6 | 0x7, 4) => (false, relative(i16_at(2)), false, "brct"),
            (0xb2, _, 4) if insn[1] == 0x22 => (true, None, false, "ipm"),
            (0xb9, _, 4) if matches!(insn[1], 0x04 | 0x08 | 0x09 | 0x14 | 0x16 | 0x20 | 0x80 | 0x81 | 0x82 | 0xe2) => {
                (true, None, false, "rre")
            }
            (0xc0, 0x1 | 0xf, 6) | (0xc2, 0x8 | 0x9 | 0xc | 0xd, 6) => (true, None, false, "ril"),
            (0xc0, 0x0, 6) => (false, None, false, "larl"),
            (0xc0, 0x4, 6) => (false, relative(i32_at(2)), insn[1] >> 4 == 0xf, "brcl"),
            (0xec, _, 6) if matches!(last, 0x51 | 0x54..=0x57 | 0x59 | 0x5d | 0x42 | 0x46) => {
                (true, None, false, "rie")
            }
            (0xeb, _, 6) if matches!(last, 0x0a | 0x0c | 0x0d) => (true, None, false, "shift"),
            _ => {
                return Err(format!(
                    "s390x instruction {} at {here:#x}: not one the shrinker knows to trace",
                    insn.iter().map(|b| format!("{b:02x}")).collect::<String>()
                ));
            }
        };
        let text = format!("{name} {}", insn.iter().map(|b| format!("{b:02x}")).collect::<String>());
        out.push(Insn { address: here, movable, target, jump, text });
        at += len;
    }
    Ok(out)
}

fn decode_x86(bitness: u32, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
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
        let (movable, target, jump) = match flow {
            FlowControl::Next | FlowControl::Interrupt => {
                (!insn.is_ip_rel_memory_operand() && !reads_syscall_state, None, false)
            }
            FlowControl::UnconditionalBranch if near => (false, Some(insn.near_branch_target()), true),
            FlowControl::ConditionalBranch if near => (false, Some(insn.near_branch_target()), false),
            FlowControl::Exception => (false, None, false),
            other => return Err(format!("{text} at {at:#x}: {other:?} control flow, its target cannot be traced")),
        };
        out.push(Insn { address: at, movable, target, jump, text });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const X64: Isa = Isa::X86 { bitness: 64 };

    #[test]
    fn x86_instructions_are_told_apart() {
        // push 1; pop rax; syscall; lea rsi, [rip+0]; jmp -2
        let code = [0x6a, 0x01, 0x58, 0x0f, 0x05, 0x48, 0x8d, 0x35, 0, 0, 0, 0, 0xeb, 0xfe];
        let insns = X64.decode(&code, 0x1000).unwrap();
        let got: Vec<_> = insns.iter().map(|i| (i.address, i.movable, i.target, i.jump)).collect();
        assert_eq!(
            got,
            [
                (0x1000, true, None, false),
                (0x1002, true, None, false),
                (0x1003, true, None, false),  // syscall returns to the next instruction
                (0x1005, false, None, false), // rip-relative: depends on its address
                (0x100c, false, Some(0x100c), true),
            ]
        );
        // jne: a branch, but not one that can be re-encoded as a plain jump.
        let jne = &X64.decode(&[0x75, 0x00], 0x1000).unwrap()[0];
        assert_eq!((jne.target, jne.jump), (Some(0x1002), false));
    }

    #[test]
    fn what_reads_rcx_after_a_syscall_stays() {
        // syscall; mov rax, rcx; mov rcx, rax
        let insns = X64.decode(&[0x0f, 0x05, 0x48, 0x89, 0xc8, 0x48, 0x89, 0xc1], 0x1000).unwrap();
        assert_eq!(insns.iter().map(|i| i.movable).collect::<Vec<_>>(), [true, false, true]);
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
    fn s390x_lengths_branches_and_the_unknown() {
        // lghi r2,1; larl r3,msg; svc 4; cghi r2,20; j -4; risbgz; svc 1
        let code = [
            0xa7, 0x29, 0, 1, 0xc0, 0x30, 0xff, 0xff, 0xff, 0xf4, 0x0a, 0x04, 0xa7, 0x2f, 0, 20, 0xa7, 0xf4, 0xff,
            0xfe, 0xec, 0x20, 0x3f, 0xbf, 0x21, 0x55, 0x0a, 0x01,
        ];
        let insns = Isa::S390x.decode(&code, 0x1000).unwrap();
        let got: Vec<_> = insns.iter().map(|i| (i.address, i.movable, i.target, i.jump)).collect();
        assert_eq!(
            got,
            [
                (0x1000, true, None, false),
                (0x1004, false, None, false), // larl: relative to itself
                (0x100a, true, None, false),
                (0x100c, true, None, false),
                (0x1010, false, Some(0x100c), true),
                (0x1014, true, None, false),
                (0x101a, true, None, false),
            ]
        );
        // basr r14,r1 (a call through a register), and a cut-off instruction.
        assert!(Isa::S390x.decode(&[0x0d, 0xe1], 0x1000).unwrap_err().contains("not one the shrinker knows"));
        assert!(Isa::S390x.decode(&[0xa7, 0x29, 0], 0x1000).unwrap_err().contains("runs past the end"));
        // Jumps: `j` within 64 KiB, `jg` beyond, nothing to an odd address.
        assert_eq!(Isa::S390x.jump(0x10084, 0x10028), Some(vec![0xa7, 0xf4, 0xff, 0xd2]));
        assert_eq!(Isa::S390x.jump(0x10000, 0x30000), Some(vec![0xc0, 0xf4, 0, 1, 0, 0]));
        assert_eq!(Isa::S390x.jump(0x10000, 0x10007), None);
    }

    #[test]
    fn jumps_take_the_short_form_when_they_can() {
        assert_eq!(X64.jump(0x10092, 0x10028), Some(vec![0xeb, 0x94]));
        assert_eq!(X64.jump(0x1000, 0x2000), Some(vec![0xe9, 0xfb, 0x0f, 0, 0]));
        assert_eq!(X64.jump(0x1000, 0x1_0000_1000), None);
        let back = X64.jump(0x10028, 0x10094).unwrap();
        let insn = &X64.decode(&back, 0x10028).unwrap()[0];
        assert_eq!(insn.target, Some(0x10094));
    }
}
