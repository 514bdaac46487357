//! The code's last instructions moved into a run of header bytes that no loader reads,
//! with a jump to them where they stood: the file ends that many bytes sooner, less
//! the jump. The moved instructions are copied unchanged and end in a jump back to
//! where the originals ended, so execution takes the same path through the same
//! instructions; the fall-through past the end reaches the same (zero) bytes.
//!
//! Only for code the planner can see whole: every instruction from the entry point to
//! the end of the segment decodes, none of the moved ones depends on its address
//! (isa/), and no branch lands inside the moved run but on its first instruction,
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
    /// Address just past the last one, in the code as it was before this move.
    pub to: u64,
    /// The header bytes (file offsets; loaded at the load address plus these) that
    /// hold the run now.
    pub hole: std::ops::Range<usize>,
    /// The jump written at `from`.
    pub jump: Vec<u8>,
    /// What the hole holds: `verbatim` bytes of instructions as they were, then a
    /// jump to `exit`.
    pub moved: Vec<u8>,
    pub verbatim: usize,
    /// Where the moved run goes on: `to`, where the originals fell through, or the
    /// target of the unconditional jump that ended them (re-encoded in the hole).
    pub exit: u64,
    /// The moved instructions, for `--explain`.
    pub listing: Vec<String>,
}

/// The moves of the code's tail that save bytes, one after another, each into a
/// hole the ones before left free, for `code` (the segment's file bytes from the
/// entry point `entry` to their end) of a file loaded at `load` whose bytes end at
/// address `file_end` (it may hold trailing zeros the shrinker cut). After the first
/// move the code ends in the jump to it; the next move can take that jump along,
/// re-encoded, with the instructions before it. Err says why not even one move is
/// possible or saves a byte.
pub fn plan(
    isa: Isa,
    code: &[u8],
    entry: u64,
    load: u64,
    file_end: u64,
    holes: &[Range<usize>],
) -> Result<Vec<TailMove>, String> {
    let (mut code, mut end, mut holes) = (code.to_vec(), file_end, holes.to_vec());
    let mut moves: Vec<(TailMove, i64)> = Vec::new();
    let why_not = loop {
        // Control may go to the moved runs: their instructions and exits are known.
        let known: Vec<u64> = moves.iter().map(|(m, _)| load + m.hole.start as u64).collect();
        match plan_one(isa, &code, entry, load, end, &holes, &known) {
            Ok(m) => {
                code.truncate((m.from - entry) as usize);
                code.extend_from_slice(&m.jump);
                let new_end = m.from + m.jump.len() as u64;
                moves.push((m.clone(), end as i64 - new_end as i64));
                end = new_end;
                holes.retain(|h| *h != m.hole);
            }
            Err(why) => break why,
        }
    };
    // A move that saves nothing, or costs, is worth it for the moves it makes room
    // for: where a jump is as long as an instruction (4-byte ISAs), the first run into
    // an 8-byte hole saves nothing, and the next, which takes its jump along, does;
    // a RISC-V ecall moved loses the zero bytes the file cut after it. Keep the moves
    // up to the one after which the file is shortest.
    let mut total = 0;
    let mut best = (0, 0); // (saved, moves kept)
    for (n, (_, saved)) in moves.iter().enumerate() {
        total += saved;
        if total > best.0 {
            best = (total, n + 1);
        }
    }
    if best.1 == 0 {
        return Err(if moves.is_empty() { why_not } else { "no move of the code's tail saves a byte".into() });
    }
    moves.truncate(best.1);
    Ok(moves.into_iter().map(|(m, _)| m).collect())
}

/// The one move of the code's tail that saves most (or costs least); `known`: addresses outside the
/// code whose instructions are known (runs moved before).
fn plan_one(
    isa: Isa,
    code: &[u8],
    entry: u64,
    load: u64,
    file_end: u64,
    holes: &[Range<usize>],
    known: &[u64],
) -> Result<TailMove, String> {
    let insns = isa.decode_until(code, entry, file_end)?;
    let end = insns.last().map_or(entry, |i| i.address + i.len as u64);
    let targets: Vec<u64> = insns.iter().filter_map(Insn::target).collect();
    if let Some(t) = targets.iter().find(|&&t| (t < entry || t >= end) && !known.contains(&t)) {
        return Err(format!("a branch leaves the code for {t:#x}: cannot see what may jump back into it"));
    }
    // Data that a PC-relative instruction reads (an ARM literal pool after the code)
    // stays where it is: a run starts past the last such address and the 8 bytes a
    // load may take from it.
    let data_end = insns.iter().filter_map(Insn::refers).filter(|&r| r >= entry && r < end).map(|r| r + 8).max();
    let mut best: Option<(i64, TailMove)> = None;
    // The longest run at the end that may move: position-independent instructions,
    // the last one possibly an unconditional jump, re-encoded where it goes.
    let last = insns.len().saturating_sub(1);
    let movable = |i: usize| insns[i].movable() || (i == last && insns[i].jump());
    let movable_from = (0..insns.len()).rev().take_while(|&i| movable(i)).last().unwrap_or(insns.len());
    for start in movable_from..insns.len() {
        let run = &insns[start..];
        let from = run[0].address;
        // A branch may land on the first moved instruction (the jump is there now),
        // never past it.
        if targets.iter().any(|&t| t > from && t < end) || data_end.is_some_and(|d| from < d) {
            continue;
        }
        let (verbatim_end, exit) = match run.last() {
            Some(i) if i.jump() => (i.address, i.target().unwrap_or(end)),
            _ => (end, end),
        };
        let verbatim = &code[(from - entry) as usize..(verbatim_end - entry) as usize];
        for hole in holes.iter().filter(|h| isa.aligned(load + h.start as u64)) {
            let at = load + hole.start as u64;
            let (Some(jump), Some(exit_jump)) = (isa.jump(from, at), isa.jump(at + verbatim.len() as u64, exit)) else {
                continue;
            };
            let saved = file_end as i64 - (from + jump.len() as u64) as i64;
            if verbatim.len() + exit_jump.len() > hole.len() || best.as_ref().is_some_and(|(s, _)| *s >= saved) {
                continue;
            }
            let moved = [verbatim, &exit_jump].concat();
            let listing = run.iter().map(|i: &Insn| i.text.clone()).collect();
            let m =
                TailMove { from, to: end, hole: hole.clone(), jump, moved, verbatim: verbatim.len(), exit, listing };
            best = Some((saved, m));
        }
    }
    best.map(|(_, t)| t)
        .ok_or_else(|| "no run of the code's last instructions fits a free header field with its jumps".into())
}

/// Prove a written move from the output alone: the jump at `from` goes to the hole,
/// the hole holds `original` (the input's bytes from `from`, `verbatim` of them) and
/// then a jump to `exit`.
pub fn check(isa: Isa, output: &[u8], load: u64, m: &TailMove, original: &[u8]) -> Result<(), String> {
    let at = |address: u64| (address - load) as usize;
    let hole = load + m.hole.start as u64;
    let jump = output.get(at(m.from)..at(m.from) + m.jump.len()).ok_or("the jump lies outside the file")?;
    let first = isa.decode(jump, m.from)?;
    if first.len() != 1 || first[0].target() != Some(hole) {
        return Err(format!("no jump from {:#x} to the moved code at {hole:#x}", m.from));
    }
    let moved = output.get(m.hole.start..m.hole.start + m.moved.len()).ok_or("the hole lies outside the file")?;
    if original.len() != m.verbatim || !moved.starts_with(original) {
        return Err(format!("the header bytes at {hole:#x} do not hold the moved instructions unchanged"));
    }
    let exit_at = hole + original.len() as u64;
    let exit = isa.decode(&moved[original.len()..], exit_at)?;
    if exit.len() != 1 || exit[0].target() != Some(m.exit) || !exit[0].jump() {
        return Err(format!("the moved code does not jump on to {:#x}", m.exit));
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
    fn the_tail_moves_hole_by_hole_while_it_saves() {
        let code = &CODE[..15];
        let moves = plan(X64, code, 0x1008c, 0x10000, 0x1009b, &[0x28..0x34, 0x50..0x58]).unwrap();
        assert_eq!(moves.len(), 2, "{moves:#?}");
        // First setne; push; pop; syscall (9 bytes) and a 2-byte jump back: 11 of 12.
        let (a, b) = (&moves[0], &moves[1]);
        assert_eq!((a.from, a.to, a.hole.clone(), a.exit), (0x10092, 0x1009b, 0x28..0x34, 0x1009b));
        assert_eq!((&a.moved[..a.verbatim], a.listing.len()), (&code[6..], 4));
        assert_eq!(a.jump, X64.jump(0x10092, 0x10028).unwrap());
        // Then xor; cmp and the jump to the first run, re-encoded: 8 of 8.
        assert_eq!((b.from, b.to, b.hole.clone(), b.exit), (0x1008c, 0x10094, 0x50..0x58, 0x10028));
        assert_eq!((&b.moved[..b.verbatim], b.moved.len()), (&code[..6], 8));
        // The file as written: the second jump at the front, both runs in their holes.
        let mut out = vec![0; 0x8e];
        out[0x28..0x28 + a.moved.len()].copy_from_slice(&a.moved);
        out[0x50..0x58].copy_from_slice(&b.moved);
        out[0x8c..0x8e].copy_from_slice(&b.jump);
        check(X64, &out, 0x10000, b, &code[..6]).unwrap();
        // (The first run's jump stood where the second run's bytes were taken from.)
        let mut first = out.clone();
        first.resize(0x94, 0);
        first[0x92..0x94].copy_from_slice(&a.jump);
        check(X64, &first, 0x10000, a, &code[6..]).unwrap();
        out[0x52] ^= 1;
        assert!(check(X64, &out, 0x10000, b, &code[..6]).unwrap_err().contains("unchanged"));
    }

    #[test]
    fn a_branch_into_the_tail_keeps_it() {
        // jne to the last instruction (the syscall): only the syscall itself may move,
        // and alone it saves nothing.
        let code = [0x75, 0x03, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        let err = plan(X64, &code, 0x1000, 0x0, 0x1007, &[HOLE]).unwrap_err();
        assert!(err.contains("saves a byte"), "{err}");
    }

    #[test]
    fn code_that_leaves_or_cannot_be_traced_is_left_alone() {
        assert!(plan(X64, &[0xeb, 0x10], 0x1000, 0, 0x1002, &[HOLE]).unwrap_err().contains("leaves the code"));
        assert!(plan(X64, &[0xc3], 0x1000, 0, 0x1001, &[HOLE]).unwrap_err().contains("Return"));
    }
}
