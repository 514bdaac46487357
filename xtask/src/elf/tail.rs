//! The code's last instructions moved into a run of header bytes that no loader reads,
//! with a jump to them where they stood: the file ends that many bytes sooner, less
//! the jump. The moved instructions are copied unchanged and end in a jump back to
//! where the originals ended, so execution takes the same path through the same
//! instructions; the fall-through past the end reaches the same (zero) bytes.
//!
//! Only for code the planner can see whole: every instruction from the entry point to
//! the end of the segment decodes, none of the moved ones depends on its address
//! (isa.rs), and no branch lands inside the moved run but on its first instruction,
//! where the jump now stands. Control flow that leaves no trace (indirect branches,
//! calls, returns) rules the move out. The bytes before the entry point must be data
//! that nothing executes: the shrinker cannot tell code from data there, so the move
//! is asked for (`shrink --move-tail`; `xtask build` asks, hello.ld puts the message
//! first and the code last).

use std::ops::Range;

use super::isa::{Insn, Isa};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailMove {
    /// Address of the first moved instruction: a jump to the hole stands there now.
    pub from: u64,
    /// Address just past the last one, where the originals fell through: the moved
    /// run jumps back there.
    pub to: u64,
    /// The header bytes (file offsets; loaded at the load address plus these) that
    /// hold the run now.
    pub hole: Range<usize>,
    /// The jump written at `from`.
    pub jump: Vec<u8>,
    /// What the hole holds: the moved instructions as they were, then the jump back.
    pub moved: Vec<u8>,
    /// The moved instructions, for `--explain`.
    pub listing: Vec<String>,
}

/// The move of the code's tail that saves most, for `code` (the segment's file bytes
/// from the entry point `entry` to their end), into one of `holes` of a file loaded
/// at `load`, whose bytes end at address `file_end` (it may hold trailing zeros the
/// shrinker cut); Err says why none is possible or none saves a byte.
pub fn plan(
    isa: Isa,
    code: &[u8],
    entry: u64,
    load: u64,
    file_end: u64,
    holes: &[Range<usize>],
) -> Result<TailMove, String> {
    let insns = isa.decode(code, entry)?;
    let end = entry + code.len() as u64;
    let targets: Vec<u64> = insns.iter().filter_map(|i| i.target).collect();
    if let Some(t) = targets.iter().find(|&&t| t < entry || t >= end) {
        return Err(format!("a branch leaves the code for {t:#x}: cannot see what may jump back into it"));
    }
    let mut best: Option<(i64, TailMove)> = None;
    // The longest run of movable instructions at the end, shortened from the front.
    let movable_from = insns.iter().rposition(|i| !i.movable).map_or(0, |i| i + 1);
    for start in movable_from..insns.len() {
        let run = &insns[start..];
        let from = run[0].address;
        // A branch may land on the first moved instruction (the jump is there now),
        // never past it.
        if targets.iter().any(|&t| t > from && t < end) {
            continue;
        }
        let bytes = &code[(from - entry) as usize..];
        for hole in holes {
            let at = load + hole.start as u64;
            let (Some(jump), Some(back)) = (isa.jump(from, at), isa.jump(at + bytes.len() as u64, end)) else {
                continue;
            };
            let saved = file_end as i64 - (from + jump.len() as u64) as i64;
            if bytes.len() + back.len() > hole.len() || saved <= 0 || best.as_ref().is_some_and(|(s, _)| *s >= saved) {
                continue;
            }
            let moved = [bytes, &back].concat();
            let listing = run.iter().map(|i: &Insn| i.text.clone()).collect();
            best = Some((saved, TailMove { from, to: end, hole: hole.clone(), jump, moved, listing }));
        }
    }
    best.map(|(_, t)| t)
        .ok_or_else(|| "no run of the code's last instructions fits a free header field with its jumps".into())
}

/// Prove a written move from the output alone: the jump at `from` goes to the hole,
/// the hole holds `original` (the input's bytes from `from` to `to`) and then a jump
/// to `to`.
pub fn check(isa: Isa, output: &[u8], load: u64, tail: &TailMove, original: &[u8]) -> Result<(), String> {
    let at = |address: u64| (address - load) as usize;
    let hole = load + tail.hole.start as u64;
    let jump = output.get(at(tail.from)..).ok_or("the jump lies outside the file")?;
    let first = isa.decode(&jump[..tail.jump.len().min(jump.len())], tail.from)?;
    if first.len() != 1 || first[0].target != Some(hole) {
        return Err(format!("no jump from {:#x} to the moved code at {hole:#x}", tail.from));
    }
    let moved = output.get(tail.hole.clone()).ok_or("the hole lies outside the file")?;
    if !moved.starts_with(original) {
        return Err(format!("the header bytes at {hole:#x} do not hold the moved instructions unchanged"));
    }
    let back_at = hole + original.len() as u64;
    let back = isa.decode(&moved[original.len()..tail.moved.len()], back_at)?;
    if back.len() != 1 || back[0].target != Some(tail.to) {
        return Err(format!("the moved code does not jump back to {:#x}", tail.to));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const X64: Isa = Isa::X86 { bitness: 64 };
    /// e_shoff and e_flags of an ELF64 header.
    const HOLE: Range<usize> = 0x28..0x34;
    /// The end of x86_64 hello: xor edi, edi; cmp rax, 20; setne dil; push 60; pop rax;
    /// syscall.
    const CODE: [u8; 17] =
        [0x31, 0xff, 0x48, 0x83, 0xf8, 0x14, 0x40, 0x0f, 0x95, 0xc7, 0x6a, 0x3c, 0x58, 0x0f, 0x05, 0, 0];

    #[test]
    fn the_longest_tail_that_fits_with_its_jumps_moves() {
        let code = &CODE[..15];
        let t = plan(X64, code, 0x1008c, 0x10000, 0x1009b, &[0x28..0x34, 0x50..0x58]).unwrap();
        // setne; push; pop; syscall = 9 bytes, then a 2-byte jump back: 11 of 12.
        assert_eq!((t.from, t.to, t.hole.clone()), (0x10092, 0x1009b, 0x28..0x34));
        assert_eq!(&t.moved[..9], &code[6..]);
        assert_eq!(t.jump, X64.jump(0x10092, 0x10028).unwrap());
        assert_eq!(t.listing.len(), 4);
        let mut out = vec![0; 0x94];
        out[0x28..0x28 + t.moved.len()].copy_from_slice(&t.moved);
        out[0x92..0x94].copy_from_slice(&t.jump);
        check(X64, &out, 0x10000, &t, &code[6..]).unwrap();
        out[0x2a] ^= 1;
        assert!(check(X64, &out, 0x10000, &t, &code[6..]).unwrap_err().contains("unchanged"));
    }

    #[test]
    fn a_branch_into_the_tail_keeps_it() {
        // jne to the last instruction (the syscall): only the syscall itself may move,
        // and alone it saves nothing.
        let code = [0x75, 0x03, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        let err = plan(X64, &code, 0x1000, 0x0, 0x1007, &[HOLE]).unwrap_err();
        assert!(err.contains("no run"), "{err}");
    }

    #[test]
    fn code_that_leaves_or_cannot_be_traced_is_left_alone() {
        assert!(plan(X64, &[0xeb, 0x10], 0x1000, 0, 0x1002, &[HOLE]).unwrap_err().contains("leaves the code"));
        assert!(plan(X64, &[0xc3], 0x1000, 0, 0x1001, &[HOLE]).unwrap_err().contains("Return"));
    }
}
