//! Packing the code: split it at instruction boundaries into runs, put each run in a
//! run of header bytes no loader reads (a hole) or in the body, join the runs by
//! jumps where the next one does not follow right behind, and start where the first
//! run landed (e_entry). The file ends where the body's code ends, so every byte that
//! moves into a hole, less the jumps it takes, comes off the file; and so do the zero
//! bytes that end the body (`Packing::file_end`: the loader reads them from the page past
//! EOF), such as the last three of an exit `ecall` (73 00 00 00) that ends the code.
//!
//! The contract, asked for with `shrink --pack` (`xtask build` asks where the program
//! table says the code may move; link.ld links the message first, then the code):
//! - the segment ends in the code, which runs only from the entry point on; the bytes
//!   before the entry are data that nothing executes, and they stay where they are,
//!   unless the planner proved from the input's relocations that only instructions
//!   of the code name them (`Moves::data`: they then go behind the body's code, whole
//!   or object by object, some objects onto header bytes the planner chose; those
//!   instructions are re-encoded, x86's absolute addresses rewritten, to name their
//!   new place);
//! - nothing outside the code jumps into it (its address is not held as data: a
//!   signal handler rules packing out), and every branch in it is direct. Code no
//!   branch from the entry reaches is such a handler: `isa::what_runs` refuses it
//!   (`entered_only_from_the_entry`), and the code stays where it lies;
//! - falling off the end of the code is undefined already in the input (it runs into
//!   the zero fill), so the run that ends the code needs no jump after it: in the
//!   packed file, whatever follows it may run. That saves a jump that never runs.
//!
//! The code is what runs: decoded from the entry along control flow (`Isa::reach`),
//! not linearly, so bytes no path reaches (alignment padding, ppc64le's global-entry
//! prologue that `_start` branches past) are no instructions and go. The packed
//! order is the input's address order, less those bytes and less the jumps to what
//! then follows them (`skip_noop_jumps`: a branch to one goes to its target). An
//! instruction that does not fall through (a jump, a trap, the last) needs no jump
//! after it, wherever the next one goes.
//!
//! Branches and PC-relative operands in moved code are re-encoded for their new
//! addresses, in the same length (isa/ decodes each result back), and so are pairs
//! that compute one address together (RISC-V's auipc and addi), but that a pair's
//! second may get shorter where its first lands (`Isa::encode_pair`: RISC-V's addi
//! as c.addi where the new offset fits 6 bits): the search keeps, for each pair
//! whose first it has placed and second not yet, whether the second is short (a bit
//! of its state, `Joints::place`), and the build re-encodes the same; what cannot be
//! re-encoded (a lone auipc, what reads rcx after a syscall, adrp off its page,
//! ppc64le's TOC set-up if the entry would move) stays where it was (once bytes before
//! it are dropped, that place may be gone: no packing). A branch whose re-encoding
//! does not reach stays in the body with its target. An ARM literal pool that ends the
//! code goes: each load from it becomes `adr` of the literal's value where that reaches
//! (`isa::drop_literals`), or stays a load from a new pool behind the body's code.
//! The search (`plan`) goes instruction by
//! instruction, trying for each either the body, right behind what the body holds,
//! or a run from it into an unused hole; every state is kept for hello-sized code
//! (exact), the one with the shortest body per (instruction, holes used, where the
//! run before ends) for longer code. Of the placements of all the code, the one whose
//! file ends first wins: the body's end less the trailing zeros of the code's last
//! instruction where that ends the body (a longer body may end the file earlier).
//! Ties break the same way every time: the same input gives the same bytes. verify.rs
//! proves the result without the planner.
//!
//! x86's `_start` begins with pushes of the callee-saved registers it writes, for a
//! caller it does not have (LLVM's x86 backend saves them even in a `-> !` nounwind
//! function): they go where nothing reads them back (`isa::drop_entry_saves`, proven
//! in elf/isa/x86.rs), and the entry moves past them.
//!
//! A header word that runs as a jump: at the load address the planner chose for it
//! (`Moves::header_jump`), e_entry's low word is an unconditional jump, and the run in
//! the hole right before it (e_version) goes on through it with no jump of its own
//! (the run's jump bytes are then e_entry's, which the writer writes unchanged).
//!
//! Header words that run as plain instructions (`Moves::passages`, which the planner
//! finds between holes: `Isa::passage`): a run that ends right before them goes on
//! through them into the next hole or the body with no jump of its own, where what
//! they write is dead before the instruction placed there (`isa::liveness`: the
//! registers nothing reads before writing them whole). The writer writes their bytes
//! unchanged, as with a header jump.
//!
//! A header word that runs as the last instruction: where the ISA's file names an
//! instruction whose bytes, as p_filesz = p_memsz, make a size the loaders take
//! (`Isa::size_word`) and the planner found that size good for the segment
//! (`Input::size_word_at`), the code's last instruction, if it is that one, may lie on
//! the p_filesz field, reached by falling through from the run in the hole right
//! before it (p_paddr). The file then does without its bytes. Whatever follows it in
//! the header may run, as the zeros after the code may in the input: nothing falls
//! off the code's end in a defined program (it ends in exit).

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::Range,
};

use super::{
    fields::ReadBits,
    isa::{DELAY_SLOT_NOP, Insn, Isa, Kind, liveness::RegSet},
};

/// Up to this many instructions the search keeps every state: exact.
const EXACT_UP_TO: usize = 64;

/// Where a run lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In the body, behind the data (the message) and the body's runs before it.
    Body,
    /// In the header bytes at these file offsets, which no loader reads.
    Hole(Range<usize>),
}

/// Consecutive instructions of the input's code, where they go and what they become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The input addresses of the run's first instruction and just past its last.
    pub from: u64,
    pub to: u64,
    pub place: Place,
    /// Where the run starts in the output.
    pub at: u64,
    /// The run's bytes: its instructions (re-encoded where they branch or read the
    /// PC), then the jump to the next run, if it does not follow right behind; the
    /// body's last run ends in the literal pool of the loads that stay loads (ARM:
    /// `isa::drop_literals`), word-aligned.
    pub bytes: Vec<u8>,
    /// How many of `bytes` are the instructions (the rest: a jump, a literal pool).
    pub code_len: usize,
    /// Where the jump after the run goes (None: the next run follows, or this run
    /// ends the code).
    pub jump_to: Option<u64>,
    /// On ISAs with delay slots: the jump's slot holds the run's last instruction,
    /// moved there from before the jump (`code_len` leaves it out). Otherwise a jump's
    /// slot holds a nop (`Isa::delay_slots`).
    pub slot: bool,
    /// How many of the run's instructions were re-encoded.
    pub reencoded: usize,
}

/// The packed code: its runs in the order the code runs them, the first at `entry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    pub isa: Isa,
    pub entry: u64,
    pub runs: Vec<Run>,
    /// The input's code: from the entry point to the end of its last instruction.
    pub code: Range<u64>,
    /// The output address past the body's last byte of code.
    pub body_end: u64,
    /// Where the code's last instruction lies on the p_filesz field (`Input::size_word_at`),
    /// if it does: the planner must then set p_filesz = p_memsz to its bytes.
    pub size_word_at: Option<u64>,
    /// Where the data went, if it moved behind the body's code (`Moves::data`).
    pub data: Option<MovedData>,
}

/// The data that lay before the entry point, moved: behind the body's code, whole or
/// object by object, and objects into header bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedData {
    /// Its input addresses.
    pub from: Range<u64>,
    /// Where each piece went: its input addresses and its output address. The
    /// pieces cover the data but for zero padding between objects.
    pub pieces: Vec<(Range<u64>, u64)>,
    /// The output addresses behind the body's code that the pieces there take (empty
    /// where every piece lies in the header).
    pub behind: Range<u64>,
}

impl MovedData {
    /// Where the byte at input address `a` of the data lies in the output (None: `a`
    /// is in no piece).
    pub fn map(&self, a: u64) -> Option<u64> {
        self.pieces.iter().find(|(from, _)| from.contains(&a)).map(|(from, to)| a - from.start + to)
    }

    /// The output addresses of each piece.
    pub fn outputs(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        self.pieces.iter().map(|(from, to)| *to..to + (from.end - from.start))
    }
}

impl Packing {
    /// The output address where the file may end: past the body's last byte of code
    /// that is not zero. The zeros that end the body (say the last three bytes of an
    /// exit `ecall`, 73 00 00 00) need not be in the file: the loader reads them from
    /// the page past EOF. With no code in the body, its start (the entry point).
    pub fn file_end(&self) -> u64 {
        if let Some(data) = self.data.as_ref().filter(|d| !d.behind.is_empty()) {
            return data.behind.end;
        }
        let mut end = self.body_end;
        // The body's runs lie back to back from the entry point, in code order.
        for run in self.runs.iter().rev().filter(|r| r.place == Place::Body) {
            if run.at + run.bytes.len() as u64 != end {
                break;
            }
            let zeros = run.bytes.iter().rev().take_while(|&&b| b == 0).count();
            end -= zeros as u64;
            if zeros < run.bytes.len() {
                break;
            }
        }
        end.max(self.code.start)
    }
}

/// What the search needs to know of the input and the output's headers.
pub struct Input<'a> {
    pub isa: Isa,
    /// The segment's bytes from the entry point on, to `file_end` (the file may stop
    /// inside the last instruction, its zeros cut).
    pub code: &'a [u8],
    pub entry: u64,
    pub file_end: u64,
    /// Where the output's headers load: file offset 0.
    pub load: u64,
    /// Runs of header bytes no loader reads (file offsets), where code may go.
    pub holes: &'a [Range<usize>],
    /// The bytes of the holes that loaders read some bits of (e_flags'): a byte of
    /// code may lie on one only where it keeps those bits (`keeps_read_bits`).
    pub read_bits: &'a [ReadBits],
    /// The file offset of p_filesz, if the planner may set p_filesz = p_memsz to the
    /// ISA's `size_word` (it checked that the size serves the segment): the code's
    /// last instruction may lie there if it is that instruction.
    pub size_word_at: Option<usize>,
    /// What may move beyond the code, and header bytes that run (default: nothing).
    pub moves: Moves,
}

/// What the planner found may move beyond the code (plan.rs, from the input's
/// relocations: every reference to the data is a PC-relative instruction of the code,
/// which the packer re-encodes), and the header bytes that run as a jump at the load
/// address it chose. Default: the data stays, nothing runs in the header but runs.
#[derive(Debug, Clone, Default)]
pub struct Moves {
    /// The data before the entry point moves (`DataMove`).
    pub data: Option<DataMove>,
    /// The first run must start here (output address): e_entry then holds it, and
    /// `header_jump` reads e_entry's bytes.
    pub entry_at: Option<u64>,
    /// The header bytes at this address (e_entry's, with `entry_at`) run as a jump
    /// to that one: a run ending right before them needs no jump of its own to go
    /// there (aarch64 at load address 0x14000000: e_entry 0x14000014 is `b +0x50`).
    pub header_jump: Option<(u64, u64)>,
    /// Header bytes that run as instructions writing only registers (`Isa::passage`):
    /// a run ending right before them goes on through them to the next, with no jump
    /// of its own, where nothing reads what they destroy (`isa::liveness`).
    pub passages: Vec<Passage>,
}

/// Where the data before the entry point goes: behind the body's code, whole or object
/// by object, and objects into header bytes the planner chose.
#[derive(Debug, Clone, Default)]
pub struct DataMove {
    /// The data (input addresses).
    pub from: Range<u64>,
    /// Where the body's code then starts: the output address of the first header byte
    /// no loader reads past.
    pub body_start: u64,
    /// What goes behind the body's code, in this order, each keeping its address
    /// modulo its alignment: the data whole, or some of its objects.
    pub behind: Vec<(Range<u64>, u64)>,
    /// Objects laid on header bytes (the planner checked that each byte is free or
    /// already holds the object's): input addresses, output address.
    pub in_header: Vec<(Range<u64>, u64)>,
    /// x86's absolute addresses of the data in instructions of the code (the place, 4
    /// bytes, and the address): rewritten to name the data's new place.
    pub absolute: Vec<(u64, u64)>,
}

impl DataMove {
    /// The absolute address held at a place inside `insn`, if any: (offset in the
    /// instruction, the address).
    fn absolute_in(&self, insn: &Insn) -> Option<(usize, u64)> {
        self.absolute
            .iter()
            .find(|&&(place, _)| (insn.address..insn.address + insn.len as u64).contains(&place))
            .map(|&(place, value)| ((place - insn.address) as usize, value))
    }
}

/// Header bytes between two places code may lie, that run on from one to the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// Where they start and end (output addresses): where a run ends, and where the
    /// next starts.
    pub at: u64,
    pub to: u64,
    /// The header bytes, as the writer writes them.
    pub bytes: Vec<u8>,
    /// What they destroy (`Isa::passage`), and their text.
    pub clobbers: RegSet,
    pub text: String,
}

impl Moves {
    /// Where the body's code starts: behind the data, or where the data began when
    /// it moves behind the code.
    fn body_start(&self, entry: u64) -> u64 {
        self.data.as_ref().map_or(entry, |d| d.body_start)
    }

    /// Whether instruction `insn` names an address of the data that moves: its bytes
    /// then depend on where the data goes, known once the body's length is.
    fn refers_to_moved_data(&self, insn: &Insn) -> bool {
        self.data
            .as_ref()
            .is_some_and(|d| insn.refers().is_some_and(|r| d.from.contains(&r)) || d.absolute_in(insn).is_some())
    }
}

impl Input<'_> {
    /// Whether `bytes` at address `at` keep the read bits of the header bytes they
    /// lie on.
    fn keeps_read_bits(&self, at: u64, bytes: &[u8]) -> bool {
        self.first_spoiled(at, bytes).is_none()
    }

    /// The index of the first of `bytes` (at address `at`) that spoils a read bit.
    fn first_spoiled(&self, at: u64, bytes: &[u8]) -> Option<usize> {
        self.read_bits
            .iter()
            .filter_map(|r| {
                let k = (self.load + r.at as u64).checked_sub(at)? as usize;
                bytes.get(k).filter(|&&b| !r.kept_by(b)).map(|_| k)
            })
            .min()
    }

    /// Whether any of `len` bytes at `at` lies on a byte with read bits: where bytes
    /// the search cannot know yet (a branch's, before its target has its place) may
    /// not go.
    fn on_read_bits(&self, at: u64, len: usize) -> bool {
        self.read_bits.iter().any(|r| (at..at + len as u64).contains(&(self.load + r.at as u64)))
    }
}

/// Where the run before the next instruction ended, in the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Before {
    /// Nothing placed yet: the next instruction is the entry.
    Start,
    /// The body: the next instruction may follow right behind it.
    Body,
    /// Hole `n`, whose instructions end at this address: a jump must follow.
    Hole(usize, u64),
}

/// One step of the search: the instructions from where the step before (`parent`, an
/// index into the arena) ended up to `last` went into hole `hole`, or the body (None).
#[derive(Debug, Clone, Copy)]
struct Step {
    parent: Option<usize>,
    last: usize,
    hole: Option<usize>,
    /// Where the run in the hole starts: its start, or later, for a run that ends
    /// right before p_filesz holding the last instruction.
    at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct State {
    used: u32,
    before: Before,
    /// Bits of the pairs whose first is placed and whose second is not yet
    /// (`Joints::pair_bits`): set where the second takes its short form.
    short: u64,
    /// The body's end so far, where it is part of the key (exact search).
    body_key: u64,
}

/// The packing whose file ends first (`Packing::file_end`), or why none beats the code
/// as it lies.
pub fn plan(input: &Input) -> Result<Packing, String> {
    let isa = input.isa;
    // What runs: decoded from the entry along control flow, less the jumps to what
    // follows them once the bytes nothing reaches are gone (`isa::what_runs`, which
    // the verifier takes too). Data among the instructions would move with them, or
    // go with the bytes nothing reaches (and an address taken there, say a signal
    // handler's, would be entered from outside); only an ARM literal pool at the
    // code's end goes, its loads turned into instructions that compute the value.
    // ppc64le's two-instruction TOC set-up becomes one; x86's entry pushes of
    // registers for a caller it does not have go.
    let runs = super::isa::what_runs(isa, input.code, input.entry, input.file_end)?;
    let code = runs.copied(input.code, input.entry).ok_or("the code runs past the file")?;
    let super::isa::WhatRuns { insns, alias, turned, end, .. } = runs;
    let code = &code[..];
    let fixed_entry = insns.iter().any(|i| i.kind == super::isa::Kind::EntryRelative);
    // Pairs that compute an address together (auipc/addi) move anywhere: both are
    // re-encoded once their places are known.
    let pairs = isa.pairs(&insns, code, input.entry);
    let mut paired = vec![false; insns.len()];
    for &(first, second, _) in &pairs {
        (paired[first], paired[second]) = (true, true);
    }
    // A run starts where an instruction may: a hole's bytes before that stay unused
    // (ELF32's p_flags high bytes start at 0x45; Thumb takes them from 0x46).
    let holes: Vec<Range<usize>> = input
        .holes
        .iter()
        .map(|h| (h.start..h.end).find(|&at| isa.aligned(input.load + at as u64)).map_or(h.end..h.end, |at| at..h.end))
        .filter(|h| !h.is_empty())
        .take(31)
        .collect();
    // What branches go to: none of it may move into a jump's delay slot.
    let targets: BTreeSet<u64> =
        insns.iter().filter_map(Insn::target).map(|t| super::isa::resolve(&alias, t)).collect();
    let pair_bits = pair_bits(isa, &pairs);
    let mut role = vec![None; insns.len()];
    for (p, &(first, second, _)) in pairs.iter().enumerate() {
        (role[first], role[second]) = (Some((p, true)), Some((p, false)));
    }
    // A pair that names the data would have to compute its new address, which the
    // search does not know (its second's length may depend on it): the data stays.
    if let Some(data) = &input.moves.data
        && let Some(&(first, _, _)) = pairs.iter().find(|(_, _, value)| data.from.contains(value))
    {
        return Err(format!("the pair at {:#x} names the data, which then stays", insns[first].address));
    }
    let dead = super::isa::liveness::dead_before(isa, &insns, code, input.entry, &alias);
    let joints = Joints { isa, input, insns: &insns, code, targets: &targets, pairs: &pairs, pair_bits, role, dead };
    // A turned literal load goes where its `adr` reaches the value; or, tried second,
    // anywhere, as the load it was, from a literal pool behind the body's code (the
    // search does not count the pool's bytes: the shorter of the two wins).
    // (Not where the data moves behind the code: the pool would lie between them.)
    let tries: &[bool] = if turned.is_empty() || input.moves.data.is_some() { &[false] } else { &[false, true] };
    let mut best: Option<Result<Packing, String>> = None;
    for &pool in tries {
        let pooled: Vec<bool> = insns.iter().map(|i| pool && turned.contains_key(&i.address)).collect();
        let packing = plan_with(input, &joints, &holes, fixed_entry, &paired, &alias, &pooled);
        // The code as it lies ends the file less its trailing zeros, as a packing does.
        let as_it_lies = &input.code[..(end - input.entry) as usize];
        let zeros = as_it_lies.iter().rev().take_while(|&&b| b == 0).count() as u64;
        // (Where the data moves, possibly to another load address, the code as it
        // lies would follow the data from the body's start.)
        let entry_out = input.moves.data.as_ref().map_or(input.entry, |d| d.body_start + (d.from.end - d.from.start));
        let kept = input.file_end.min(end - zeros) - input.entry + entry_out;
        let packing = packing.and_then(|p| {
            if p.file_end() < kept { Ok(p) } else { Err("no packing of the code saves a byte".to_string()) }
        });
        best = match (best, packing) {
            (Some(Ok(b)), Ok(p)) if (p.file_end(), p.body_end) >= (b.file_end(), b.body_end) => Some(Ok(b)),
            (Some(Ok(b)), Err(_)) => Some(Ok(b)),
            (Some(Err(e)), Err(_)) => Some(Err(e)),
            (_, p) => Some(p),
        };
    }
    best.unwrap_or_else(|| Err("nothing to pack".into()))
}

/// The search and the build, pinning each branch that does not reach (`plan`).
#[allow(clippy::too_many_arguments)]
fn plan_with(
    input: &Input,
    joints: &Joints,
    holes: &[Range<usize>],
    fixed_entry: bool,
    paired: &[bool],
    alias: &BTreeMap<u64, u64>,
    pooled: &[bool],
) -> Result<Packing, String> {
    let insns = joints.insns;
    let mut pinned: Vec<bool> = vec![false; insns.len()];
    // Branches are re-encoded once every instruction has its place; one that does
    // not reach from there stays in the body with its target, and the search runs
    // again.
    for _ in 0..=insns.len() {
        let steps = search(input, joints, holes, fixed_entry, &pinned, paired, pooled)?;
        match build(input, joints, holes, &steps, alias, pooled) {
            Ok(packing) => return Ok(packing),
            Err(n) if !pinned[n] => {
                // The branch, and what it goes to, stay in the body: as close as
                // they were, less what moved out from between them.
                pinned[n] = true;
                let to = insns[n].target().map(|t| super::isa::resolve(alias, t));
                if let Some(k) = insns.iter().position(|i| Some(i.address) == to) {
                    pinned[k] = true;
                }
            }
            Err(n) => return Err(format!("the branch at {:#x} cannot be re-encoded", insns[n].address)),
        }
    }
    Err("no packing of the code re-encodes its branches".into())
}

/// The search: each placement of the instructions, as steps, for the file that ends
/// first.
fn search(
    input: &Input,
    joints: &Joints,
    holes: &[Range<usize>],
    fixed_entry: bool,
    pinned: &[bool],
    paired: &[bool],
    pooled: &[bool],
) -> Result<Vec<Step>, String> {
    let (isa, insns, code) = (input.isa, joints.insns, joints.code);
    let exact = insns.len() <= EXACT_UP_TO;
    let n = insns.len();
    let hole_at = |h: usize| input.load + holes[h].start as u64;
    let hole_end = |h: usize| input.load + holes[h].end as u64;
    // The last instruction may lie on p_filesz, right behind a hole, if its bytes are
    // the ISA's size word and it runs the same anywhere (`Input::size_word_at`).
    let size_word = input.size_word_at.map(|at| input.load + at as u64);
    let is_size_word = |k: usize| {
        let insn = &insns[k];
        insn.kind == super::isa::Kind::Plain
            && !pinned[k]
            && isa.size_word().is_some_and(|word| insn.bytes_in(input.code, input.entry) == Some(word))
    };
    // May instruction `i` sit at `at`, in the body or not? (Branches are checked once
    // targets are known; one that did not reach stays in the body, pinned.) Its bytes
    // there must keep the read bits of header bytes they lie on: those of a branch, a
    // pair or a pooled load depend on where others go, so they lie on none.
    let fits = |i: usize, at: u64, in_body: bool| {
        let insn = &insns[i];
        if pinned[i] && !in_body {
            return false;
        }
        if paired[i] || pooled[i] || insn.target().is_some() || input.moves.refers_to_moved_data(insn) {
            isa.aligned(at) && !input.on_read_bits(at, insn.len)
        } else {
            relocated(isa, code, input.entry, insn, at).is_some_and(|b| input.keeps_read_bits(at, &b))
        }
    };
    let mut arena: Vec<Step> = Vec::new();
    // states[i]: the ways the first i instructions can lie: state -> (body end, step).
    let mut states: Vec<BTreeMap<State, (u64, Option<usize>)>> = vec![BTreeMap::new(); n + 1];
    let body_start = input.moves.body_start(input.entry);
    states[0].insert(State { used: 0, before: Before::Start, short: 0, body_key: 0 }, (body_start, None));
    for i in 0..n {
        let current = std::mem::take(&mut states[i]);
        for (state, (body, parent)) in current {
            // The jump that must end the run before, to `to`: its length, or None
            // when it does not fit (or reach). An instruction that does not fall
            // through needs none, wherever the next one goes.
            let jump_from = |to: u64| -> Option<(u64, usize)> {
                match state.before {
                    Before::Start => Some((body, 0)),
                    _ if !falls_through(isa, insns, i - 1) => Some((body, 0)),
                    Before::Body => {
                        let (j, _) = joints.after(i - 1, body, to)?;
                        Some((body + j as u64, j))
                    }
                    // Header bytes right behind the run that run as a jump there, or
                    // the body right behind the hole (the data moved from there).
                    // Or header bytes that run harmlessly on to it.
                    Before::Hole(_, at)
                        if input.moves.header_jump == Some((at, to))
                            || at == to
                            || joints.passage(at, to, i).is_some() =>
                    {
                        Some((body, 0))
                    }
                    Before::Hole(h, at) => {
                        let (j, _) = joints.after(i - 1, at, to)?;
                        let keeps = joints.jump_bytes(i - 1, at, to).is_some_and(|(a, b)| input.keeps_read_bits(a, &b));
                        (at + j as u64 <= hole_end(h) && keeps).then_some((body, 0))
                    }
                }
            };
            let entry_ok = |to: u64| {
                state.before != Before::Start
                    || (!fixed_entry || to == input.entry) && input.moves.entry_at.is_none_or(|e| e == to)
            };
            // A delay slot stays right behind its branch: it starts no run.
            let slot = isa.delay_slots() && insns[i].kind == Kind::Bound;
            if slot && state.before != Before::Body {
                continue;
            }
            // The body, right behind what it holds (from a hole, if the jump fits).
            let body_open = !matches!(state.before, Before::Hole(..)) || jump_from(body).is_some();
            if body_open && entry_ok(body) && fits(i, body, true) {
                let (short, len) = joints.place(state.short, i, body);
                let body_after = body + len as u64;
                let step = |arena: &mut Vec<Step>| {
                    arena.push(Step { parent, last: i + 1, hole: None, at: 0 });
                    arena.len() - 1
                };
                offer(
                    &mut states[i + 1],
                    exact,
                    State { used: state.used, before: Before::Body, short, body_key: body_after },
                    body_after,
                    &mut arena,
                    step,
                );
            }
            // A run from here into an unused hole.
            for h in (0..holes.len()).filter(|_| !slot) {
                if state.used & (1 << h) != 0 {
                    continue;
                }
                let start = hole_at(h);
                let Some((body_now, _)) = jump_from(start) else { continue };
                if !entry_ok(start) {
                    continue;
                }
                // The rest of the code, its last instruction on p_filesz: the run before
                // it ends where the hole does, wherever in the hole that makes it start.
                // (Not where a pair's second may change its length in the run.)
                let lengths_fixed = (i..n).all(|k| joints.role[k].is_none_or(|(p, _)| joints.pair_bits[p].is_none()));
                if hole_end(h) == size_word.unwrap_or(0) && i + 1 < n && is_size_word(n - 1) && lengths_fixed {
                    let len: u64 = insns[i..n - 1].iter().map(|insn| insn.len as u64).sum();
                    let start = hole_end(h).wrapping_sub(len);
                    let mut at = start;
                    let fit = len <= holes[h].len() as u64
                        && (i..n - 1).all(|k| {
                            let ok = fits(k, at, false);
                            at += insns[k].len as u64;
                            ok
                        });
                    if fit
                        && entry_ok(start)
                        && start != hole_at(h)
                        && let Some((body_now, _)) = jump_from(start)
                    {
                        let step = |arena: &mut Vec<Step>| {
                            arena.push(Step { parent, last: n, hole: Some(h), at: start });
                            arena.len() - 1
                        };
                        let used = state.used | 1 << h;
                        let before = Before::Hole(h, hole_end(h) + insns[n - 1].len as u64);
                        let state = State { used, before, short: state.short, body_key: body_now };
                        offer(&mut states[n], exact, state, body_now, &mut arena, step);
                    }
                }
                let (mut at, mut short) = (start, state.short);
                for k in i..n {
                    let on_size_word = at == hole_end(h) && Some(at) == size_word && k + 1 == n && is_size_word(k);
                    let (short_after, len) = joints.place(short, k, at);
                    if !on_size_word && (!fits(k, at, false) || at + len as u64 > hole_end(h)) {
                        break;
                    }
                    (at, short) = (at + len as u64, short_after);
                    let used = state.used | 1 << h;
                    let step = |arena: &mut Vec<Step>| {
                        arena.push(Step { parent, last: k + 1, hole: Some(h), at: start });
                        arena.len() - 1
                    };
                    offer(
                        &mut states[k + 1],
                        exact,
                        State { used, before: Before::Hole(h, at), short, body_key: body_now },
                        body_now,
                        &mut arena,
                        step,
                    );
                }
            }
        }
    }
    // The last run needs no jump: take the placement whose file ends first. The file
    // ends where the body does, less the zeros that end it, which the loader supplies
    // past EOF (`Packing::file_end`): a body that ends in the code's last instruction
    // (an exit `ecall`, 73 00 00 00) sheds that instruction's trailing zeros. (Counted
    // where its bytes are the same wherever it lies, and no literal pool goes behind
    // it; the body's length breaks ties.)
    let pool_behind = pooled.iter().any(|&p| p);
    let tail_zeros = |state: &State| -> u64 {
        let data_behind = input.moves.data.as_ref().is_some_and(|d| !d.behind.is_empty());
        let Some(k) = n.checked_sub(1).filter(|_| state.before == Before::Body && !pool_behind && !data_behind) else {
            return 0;
        };
        let insn = &insns[k];
        let fixed = matches!(insn.kind, Kind::Plain | Kind::Trap) && !paired[k] && !pooled[k];
        let bytes = insn.bytes_in(code, input.entry).filter(|_| fixed).unwrap_or_default();
        bytes.iter().rev().take_while(|&&b| b == 0).count() as u64
    };
    let (_, (_, last)) = states[n]
        .iter()
        .min_by_key(|(s, (body, _))| (*body - tail_zeros(s), *body, **s))
        .ok_or("no placement of the code fits")?;
    let mut steps = Vec::new();
    let mut at = *last;
    while let Some(s) = at {
        steps.push(arena[s]);
        at = arena[s].parent;
    }
    steps.reverse();
    Ok(steps)
}

/// Whether control goes on from `insns[k]` to the instruction after it (in the packed
/// order, the next in `insns`): not after an unconditional jump or a trap, nor after
/// the delay slot of an unconditional jump. The code's last instruction falls off its
/// end, which needs no jump either.
fn falls_through(isa: Isa, insns: &[Insn], k: usize) -> bool {
    let insn = &insns[k];
    let jumps_slot = isa.delay_slots() && insn.kind == Kind::Bound && k > 0 && insns[k - 1].jump();
    !insn.jump() && insn.kind != Kind::Trap && !jumps_slot
}

/// What the search and the build need to join runs by jumps.
struct Joints<'a> {
    isa: Isa,
    input: &'a Input<'a>,
    insns: &'a [Insn],
    /// The code's bytes from the entry, as the copies hold them (turned and folded
    /// instructions in their new form).
    code: &'a [u8],
    /// The input addresses that branches go to.
    targets: &'a BTreeSet<u64>,
    /// Pairs that compute one address together (`Isa::pairs`: first, second, the
    /// address), by index into `insns`.
    pairs: &'a [(usize, usize, u64)],
    /// Each pair's bit in the search's state (`pair_bits`): only a pair with one may
    /// take its second's short form.
    pair_bits: Vec<Option<u32>>,
    /// By instruction: the pair it is in, and whether it is its first.
    role: Vec<Option<(usize, bool)>>,
    /// By instruction: the registers dead before it (`isa::liveness`).
    dead: Vec<RegSet>,
}

impl Joints<'_> {
    /// The header bytes at `at` that run on to `to` destroying nothing instruction
    /// `next` (which starts there) or what follows it reads.
    fn passage(&self, at: u64, to: u64, next: usize) -> Option<&Passage> {
        let dead = *self.dead.get(next)?;
        self.input.moves.passages.iter().find(|p| p.at == at && p.to == to && p.clobbers & !dead == 0)
    }

    /// Pair `p` re-encoded for its first at `first_at`: its second in the short form
    /// where that computes the same there and the pair has a bit (`Isa::encode_pair`).
    /// The search (`place`) and the build both take the pair's bytes, and so its
    /// second's length, from here.
    fn encode(&self, p: usize, first_at: u64) -> Option<(Vec<u8>, Vec<u8>)> {
        let (first, second, value) = self.pairs[p];
        let bytes = |k: usize| self.insns[k].bytes_in(self.code, self.input.entry);
        let short = self.pair_bits[p].is_some();
        self.isa.encode_pair(bytes(first)?, bytes(second)?, first_at, value, short)
    }

    /// In the search: instruction `k` placed at `at`, with the state's pair bits
    /// `short`: the bits after it, and its length there. A pair's first sets its bit
    /// where its second will take the short form (`encode`); the second takes that
    /// length and clears the bit.
    fn place(&self, short: u64, k: usize, at: u64) -> (u64, usize) {
        let len = self.insns[k].len;
        let Some((p, is_first)) = self.role[k] else { return (short, len) };
        let (Some(bit), Some(short_len)) = (self.pair_bits[p], self.isa.pair_short_len()) else {
            return (short, len);
        };
        let bit = 1u64 << bit;
        if is_first {
            let second = self.pairs[p].1;
            let shrinks =
                short_len < self.insns[second].len && self.encode(p, at).is_some_and(|(_, b)| b.len() == short_len);
            (if shrinks { short | bit } else { short & !bit }, len)
        } else {
            (short & !bit, if short & bit != 0 { short_len } else { len })
        }
    }

    /// The bytes a jump to `to` adds after instruction `last`, which ends at `end`,
    /// and whether `last` moves into the jump's delay slot (then the jump takes its
    /// place, at `end` less its length); None where the jump does not reach. With
    /// delay slots, the slot holds the run's last instruction where that runs the same
    /// there (`Isa::fills_delay_slot`) and no branch goes to it (a branch into a slot
    /// would run on past it), or else a nop.
    fn after(&self, last: usize, end: u64, to: u64) -> Option<(usize, bool)> {
        let isa = self.isa;
        if !isa.delay_slots() {
            return Some((isa.jump(end, to)?.len(), false));
        }
        let insn = &self.insns[last];
        let bytes = insn.bytes_in(self.code, self.input.entry)?;
        if isa.fills_delay_slot(insn, bytes) && !self.targets.contains(&insn.address) {
            return Some((isa.jump(end - insn.len as u64, to)?.len(), true));
        }
        Some((isa.jump(end, to)?.len() + DELAY_SLOT_NOP.len(), false))
    }

    /// The bytes from the end of instruction `last` (at `end`) on that a jump to `to`
    /// makes (as `after` lays it out), and the address they start at: the jump, then
    /// its delay slot (a nop, or `last` moved there from before the jump).
    fn jump_bytes(&self, last: usize, end: u64, to: u64) -> Option<(u64, Vec<u8>)> {
        let isa = self.isa;
        let (_, into_slot) = self.after(last, end, to)?;
        if into_slot {
            let insn = &self.insns[last];
            let at = end - insn.len as u64;
            let moved = insn.bytes_in(self.code, self.input.entry)?;
            return Some((at, [isa.jump(at, to)?, moved.to_vec()].concat()));
        }
        let nop = if isa.delay_slots() { &DELAY_SLOT_NOP[..] } else { &[] };
        Some((end, [isa.jump(end, to)?, nop.to_vec()].concat()))
    }
}

/// A bit of the search's state for each pair whose second has a short form
/// (`Isa::pair_short_len`), the same for pairs that are never open at once: a pair is
/// open from its first to its second. Pairs past 64 open at once get none and keep
/// their second's length.
fn pair_bits(isa: Isa, pairs: &[(usize, usize, u64)]) -> Vec<Option<u32>> {
    if isa.pair_short_len().is_none() {
        return vec![None; pairs.len()];
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&p| pairs[p].0);
    let mut open: Vec<(u32, usize)> = Vec::new(); // (bit, second)
    let mut bits = vec![None; pairs.len()];
    for p in order {
        let (first, second, _) = pairs[p];
        open.retain(|&(_, s)| s > first);
        bits[p] = (0..64).find(|b| open.iter().all(|&(o, _)| o != *b));
        if let Some(b) = bits[p] {
            open.push((b, second));
        }
    }
    bits
}

/// The bytes of an instruction that is no branch at `at`: a PC-relative one
/// re-encoded (the length is its own), None where it does not re-encode; `code`, the
/// code's bytes from `entry`.
fn relocated(isa: Isa, code: &[u8], entry: u64, insn: &Insn, at: u64) -> Option<Vec<u8>> {
    insn.bytes_in(code, entry).and_then(|bytes| isa.relocate(insn, bytes, at, None))
}

/// Keep the state if it is new or its body is shorter (for long code, the key leaves
/// the body's end out: the shortest body wins).
fn offer(
    states: &mut BTreeMap<State, (u64, Option<usize>)>,
    exact: bool,
    mut state: State,
    body: u64,
    arena: &mut Vec<Step>,
    step: impl FnOnce(&mut Vec<Step>) -> usize,
) {
    if !exact {
        state.body_key = 0;
    }
    if states.get(&state).is_none_or(|&(b, _)| body < b) {
        let s = step(arena);
        states.insert(state, (body, Some(s)));
    }
}

/// The runs the steps make, every instruction re-encoded at its place. Err(n): the
/// branch (or pair) that is instruction `n` does not reach its target's copy.
fn build(
    input: &Input,
    joints: &Joints,
    holes: &[Range<usize>],
    steps: &[Step],
    alias: &BTreeMap<u64, u64>,
    pooled: &[bool],
) -> Result<Packing, usize> {
    let (isa, insns, code) = (input.isa, joints.insns, joints.code);
    // Merge consecutive body steps into runs: (first, last, hole).
    // (first, last, the hole and the address in it), per run.
    type Group = (usize, usize, Option<(usize, u64)>);
    let mut groups: Vec<Group> = Vec::new();
    let mut first = 0;
    for s in steps {
        match groups.last_mut() {
            Some(g) if g.2.is_none() && s.hole.is_none() => g.1 = s.last,
            _ => groups.push((first, s.last, s.hole.map(|h| (h, s.at)))),
        }
        first = s.last;
    }
    // Addresses: holes are where they are; the body's runs follow one another from
    // the entry, each with its jump.
    let mut at = vec![0u64; insns.len()];
    let mut starts = Vec::with_capacity(groups.len());
    let mut body = input.moves.body_start(input.entry);
    for (g, &(first, last, hole)) in groups.iter().enumerate() {
        let start = hole.map_or(body, |(_, at)| at);
        let mut a = start;
        for i in first..last {
            at[i] = a;
            // A pair's second may be shorter than it was where its first now lies.
            let len = match joints.role[i] {
                Some((p, false)) => joints.encode(p, at[joints.pairs[p].0]).map_or(insns[i].len, |(_, b)| b.len()),
                _ => insns[i].len,
            };
            a += len as u64;
        }
        starts.push(start);
        if hole.is_none() {
            body = a;
            if let (Some(&(_, _, next_hole)), true) = (groups.get(g + 1), falls_through(isa, insns, last - 1)) {
                // The next run is in a hole (body runs merge): a jump to it.
                let to = next_hole.map_or(body, |(_, at)| at);
                body += joints.after(last - 1, body, to).map_or(0, |(j, _)| j as u64);
            }
        }
    }
    let map = |address: u64| {
        let address = super::isa::resolve(alias, address);
        insns.iter().position(|i| i.address == address).map(|k| at[k])
    };
    let original = |i: usize| {
        let from = (insns[i].address - input.entry) as usize;
        &code[from..from + insns[i].len]
    };
    // The data behind the body's code, each piece as aligned as it was, and all of
    // them further on where an instruction naming one cannot name it there (Thumb's
    // adr names words only).
    let names_moved = |i: usize, data: &MovedData| {
        let Some(to) = insns[i].refers().and_then(|r| data.map(r)) else { return true };
        let insn = Insn { kind: super::isa::Kind::PcRelative { refers: Some(to) }, ..insns[i].clone() };
        isa.relocate(&insn, original(i), at[i], None).is_some()
    };
    let data = match &input.moves.data {
        None => None,
        Some(moved) => {
            let step = moved.behind.iter().map(|&(_, align)| align).max().unwrap_or(1);
            let place = |k: u64| {
                let mut pieces = moved.in_header.clone();
                let mut end = body + k * step;
                let start = moved
                    .behind
                    .first()
                    .map_or(end, |(from, align)| end + (from.start.wrapping_sub(end) & (align - 1)));
                for (from, align) in &moved.behind {
                    let to = end + (from.start.wrapping_sub(end) & (align - 1));
                    end = to + (from.end - from.start);
                    pieces.push((from.clone(), to));
                }
                MovedData {
                    from: moved.from.clone(),
                    pieces,
                    behind: if moved.behind.is_empty() { end..end } else { start..end },
                }
            };
            let places: Vec<MovedData> = (0..16).map(place).collect();
            match places.iter().find(|d| (0..insns.len()).all(|i| names_moved(i, d))) {
                Some(d) => Some(d.clone()),
                // Nowhere near: the first instruction that cannot name it is pinned.
                None => return Err((0..insns.len()).find(|&i| !names_moved(i, &places[0])).unwrap_or(0)),
            }
        }
    };
    let mut pair_bytes = BTreeMap::new();
    for (p, &(first, second, _)) in joints.pairs.iter().enumerate() {
        let (a, b) = joints.encode(p, at[first]).ok_or(first)?;
        pair_bytes.insert(first, a);
        pair_bytes.insert(second, b);
    }
    // The literal pool of the loads that stay loads (`pooled`, where their adr does not
    // reach): a word each value, behind the body's code.
    let pool_at = body.next_multiple_of(4);
    let mut pool: Vec<u64> = Vec::new();
    let mut runs = Vec::new();
    for (g, &(first, last, hole)) in groups.iter().enumerate() {
        let mut bytes = Vec::new();
        let mut reencoded = 0;
        for i in first..last {
            let insn = &insns[i];
            let target = insn.target().and_then(map);
            // What names the data names it where it went.
            let moved_to = insn.refers().and_then(|r| data.as_ref()?.map(r));
            let insn = &match moved_to {
                Some(to) => Insn { kind: super::isa::Kind::PcRelative { refers: Some(to) }, ..insn.clone() },
                None => insn.clone(),
            };
            let moved = match (pair_bytes.get(&i), isa.relocate(insn, original(i), at[i], target)) {
                (Some(bytes), _) => bytes.clone(),
                (None, Some(bytes)) => bytes,
                (None, None) if pooled[i] => {
                    // The load as it was, from the pool's word for its value.
                    let value = insn.refers().ok_or(i)?;
                    let k = pool.iter().position(|&v| v == value).unwrap_or_else(|| {
                        pool.push(value);
                        pool.len() - 1
                    });
                    let load = Insn {
                        kind: super::isa::Kind::PcRelative { refers: Some(pool_at + 4 * k as u64) },
                        ..insn.clone()
                    };
                    isa.relocate(&load, insn.bytes_in(input.code, input.entry).ok_or(i)?, at[i], None).ok_or(i)?
                }
                (None, None) => return Err(i),
            };
            // An absolute address of the data: where it went.
            let mut moved = moved;
            if let Some((offset, value)) = input.moves.data.as_ref().and_then(|d| d.absolute_in(&insns[i])) {
                let to = data.as_ref().and_then(|d| d.map(value)).ok_or(i)?;
                moved
                    .get_mut(offset..offset + 4)
                    .ok_or(i)?
                    .copy_from_slice(&u32::try_from(to).map_err(|_| i)?.to_le_bytes());
            }
            reencoded += usize::from(moved != original(i));
            bytes.extend(moved);
        }
        let mut code_len = bytes.len();
        let end = starts[g] + code_len as u64;
        let jump_to =
            groups.get(g + 1).map(|_| starts[g + 1]).filter(|&to| to != end && falls_through(isa, insns, last - 1));
        let mut slot = false;
        if let Some(to) = jump_to {
            // Found by the search, which checked that it fits and reaches.
            if let Some(passage) = joints.passage(end, to, last) {
                // The header bytes behind the run go on to the next.
                bytes.extend(&passage.bytes);
            } else if joints.after(last - 1, end, to).ok_or(last - 1)?.1 {
                // The jump takes the last instruction's place; it runs in the slot.
                let moved = bytes.split_off(bytes.len() - insns[last - 1].len);
                code_len = bytes.len();
                bytes.extend(isa.jump(end - moved.len() as u64, to).ok_or(last - 1)?);
                bytes.extend(moved);
                slot = true;
            } else {
                bytes.extend(isa.jump(end, to).ok_or(last - 1)?);
                if isa.delay_slots() {
                    bytes.extend(DELAY_SLOT_NOP);
                }
            }
        }
        // The search put no byte of code on a read bit it spoils; what it could not
        // know yet (a branch's bytes) lay on none. A run that does (a planner slip)
        // pins the instruction, as a branch that does not reach.
        if let Some(k) = input.first_spoiled(starts[g], &bytes) {
            let address = starts[g] + k as u64;
            return Err((first..last)
                .find(|&i| (at[i]..at[i] + insns[i].len as u64).contains(&address))
                .unwrap_or(last - 1));
        }
        runs.push(Run {
            from: insns[first].address,
            to: insns[last - 1].address + insns[last - 1].len as u64,
            place: hole.map_or(Place::Body, |(h, _)| Place::Hole(holes[h].clone())),
            at: starts[g],
            bytes,
            code_len,
            jump_to,
            slot,
            reencoded,
        });
    }
    if !pool.is_empty() {
        // Behind the body's last run (its code and jump): a pooled load alone in a
        // hole, with no body, stays in the body.
        let first_pooled = pooled.iter().position(|&p| p).unwrap_or(0);
        let last = runs.iter_mut().filter(|r| r.place == Place::Body).last().ok_or(first_pooled)?;
        if last.at + last.bytes.len() as u64 != body {
            return Err(first_pooled);
        }
        last.bytes.resize((pool_at - last.at) as usize, 0);
        last.bytes.extend(pool.iter().flat_map(|&v| (v as u32).to_le_bytes()));
        body = last.at + last.bytes.len() as u64;
    }
    let code_end = insns.last().map_or(input.entry, |i| i.address + i.len as u64);
    // The search put the last instruction on p_filesz only where it may lie.
    let size_word = input.size_word_at.map(|at| input.load + at as u64);
    let size_word_at = insns.len().checked_sub(1).map(|k| at[k]).filter(|&a| Some(a) == size_word);
    Ok(Packing {
        isa,
        entry: starts.first().copied().unwrap_or(input.entry),
        runs,
        code: input.entry..code_end,
        body_end: body,
        size_word_at,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const X64: Isa = Isa::X86 { bitness: 64 };
    /// Holes of an ELF64 header at load address 0x10000: e_version, e_shoff and
    /// e_flags, p_paddr (the program header at 0x38).
    const HOLES: [Range<usize>; 3] = [0x14..0x18, 0x28..0x34, 0x50..0x58];

    /// `plan` for `code` entered at `entry`, headers loaded at 0x10000, with `holes`
    /// and no read bits or size word.
    fn plan_at(isa: Isa, code: &[u8], entry: u64, holes: &[Range<usize>]) -> Result<Packing, String> {
        let file_end = entry + code.len() as u64;
        plan(&Input {
            isa,
            code,
            entry,
            file_end,
            load: 0x10000,
            holes,
            read_bits: &[],
            size_word_at: None,
            moves: Moves::default(),
        })
    }

    fn pack(code: &[u8], holes: &[Range<usize>]) -> Result<Packing, String> {
        plan_at(X64, code, 0x1007c, holes)
    }

    /// The instructions the packed code runs from its entry, jumps it inserted
    /// followed, as (bytes, address); at most `limit` of them.
    fn trace(p: &Packing, limit: usize) -> Vec<(Vec<u8>, u64)> {
        let byte_at = |a: u64| p.runs.iter().find(|r| (r.at..r.at + r.bytes.len() as u64).contains(&a));
        let (mut at, mut out) = (p.entry, Vec::new());
        while let Some(run) = byte_at(at).filter(|_| out.len() < limit) {
            let rest = &run.bytes[(at - run.at) as usize..];
            let insn = X64.decode_until(rest, at, at + 1).unwrap().remove(0);
            let inserted = at >= run.at + run.code_len as u64;
            match insn.target() {
                Some(t) if inserted => at = t,
                _ => {
                    out.push((rest[..insn.len].to_vec(), at));
                    at += insn.len as u64;
                }
            }
        }
        out
    }

    #[test]
    fn straight_code_spreads_over_the_holes_and_ends_without_a_jump() {
        // x86_64 hello: write(1, msg, 20); exit(result != 20).
        let code = [
            0x6a, 0x01, 0x58, 0x6a, 0x14, 0x5a, 0xbe, 0x68, 0x00, 0x01, 0x00, 0x48, 0x89, 0xc7, 0x0f, 0x05, 0x31, 0xff,
            0x48, 0x83, 0xf8, 0x14, 0x40, 0x0f, 0x95, 0xc7, 0x6a, 0x3c, 0x58, 0x0f, 0x05,
        ];
        let p = pack(&code, &HOLES).unwrap();
        // The same instructions run, in the same order, the exit syscall last.
        let ran: Vec<u8> = trace(&p, 100).into_iter().flat_map(|(b, _)| b).collect();
        assert_eq!(ran, code);
        let last = p.runs.last().unwrap();
        assert_eq!((last.jump_to, last.to), (None, 0x1007c + code.len() as u64));
        // Every hole holds a run, and the body is what is left: shorter than the code.
        assert!(p.runs.iter().filter(|r| r.place != Place::Body).count() == HOLES.len(), "{p:#?}");
        assert!(p.body_end - 0x1007c < code.len() as u64 - 16, "{p:#?}");
        // Its syscall (0f 05) ends in no zero: the file ends with the body.
        assert_eq!(p.file_end(), p.body_end);
        // The same input, the same plan.
        assert_eq!(pack(&code, &HOLES).unwrap(), p);
    }

    #[test]
    fn a_loop_that_moves_branches_to_its_new_place() {
        // mov ecx, 3; dec ecx; jnz -4 (to dec); push 60; pop rax; syscall: the loop
        // moves into a hole, where its jnz must go back to the moved dec.
        let code = [0xb9, 0x03, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        let p = pack(&code, &HOLES).unwrap();
        let ran = trace(&p, 8);
        let (dec, jnz) =
            (ran.iter().find(|(b, _)| b[0] == 0xff).unwrap(), ran.iter().find(|(b, _)| b[0] == 0x75).unwrap());
        let back = X64.decode(&jnz.0, jnz.1).unwrap()[0].target();
        assert_eq!(back, Some(dec.1), "{p:#?}");
        assert_ne!(dec.1, 0x10081, "the loop moved: {p:#?}");
    }

    #[test]
    fn a_branch_to_moved_code_is_re_encoded() {
        // dec ecx (the loop's head, 2 bytes); a 10-byte mov; jnz back to dec; exit.
        // Only the 4-byte hole e_version takes the head (with its 2-byte jump on): the
        // jnz left in the body must now reach the head's copy there.
        let code = [&[0xff, 0xc9, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0x75, 0xf2][..], &[0x6a, 0x3c, 0x58, 0x0f, 0x05]]
            .concat();
        let p = pack(&code, &HOLES[..1]).unwrap(); // e_version
        let ran = trace(&p, 6);
        let (dec, jnz) = (&ran[0], ran.iter().find(|(b, _)| b[0] == 0x75).unwrap());
        assert_eq!(dec.1, 0x10014, "{p:#?}");
        assert_eq!(X64.decode(&jnz.0, jnz.1).unwrap()[0].target(), Some(0x10014), "{p:#?}");
        assert!(p.runs.iter().any(|r| r.reencoded == 1), "{p:#?}");
    }

    #[test]
    fn an_auipc_pair_moves_re_encoded_its_addi_compressed_where_it_fits() {
        // auipc a1, 0; c.li a0, 1; addi a1, a1, -20 (a1 = the auipc's address - 20);
        // ecall. Only with the pair re-encoded may the auipc leave the entry: then
        // auipc, c.li and a c.j fill a hole, and the body keeps the addi and the ecall.
        let rv = Isa::Riscv64 { compressed: true };
        let code = [0x97, 0x05, 0, 0, 0x05, 0x45, 0x93, 0x85, 0xc5, 0xfe, 0x73, 0, 0, 0];
        let (entry, load) = (0x1007c, 0x10000);
        let input = |holes| Input {
            isa: rv,
            code: &code,
            entry,
            file_end: entry + 14,
            load,
            holes,
            read_bits: &[],
            size_word_at: None,
            moves: Moves::default(),
        };
        // From p_paddr (0x10050) the message lies 24 bytes on: the addi's new low part
        // fits c.addi's 6 bits, and the body keeps 6 bytes (3 in the file).
        let p = plan(&input(&HOLES[2..])).unwrap();
        assert_eq!((p.entry, p.body_end, p.file_end()), (0x10050, entry + 6, entry + 3), "{p:#?}");
        let (hole, body) = (&p.runs[0], &p.runs[1]);
        assert_eq!(body.bytes[..2], [0xe1, 0x05], "c.addi a1, 24: {p:#?}");
        // The pair still computes the address it did, from the auipc's new place.
        assert_eq!(rv.pair_value(&hole.bytes[..4], &body.bytes[..2], 0x10050), Some(entry - 20));
        // (The auipc's high part is still 0; the addi's low part took the change.)
        assert_eq!(body.reencoded, 1, "{p:#?}");
        // From e_shoff (0x10028, 12 bytes with e_flags) it lies 64 bytes on, past
        // c.addi's reach: the addi stays 4 bytes, and goes there too.
        let p = plan(&input(&HOLES[1..2])).unwrap();
        assert_eq!((p.entry, p.body_end), (0x10028, entry + 4), "{p:#?}");
        let hole = &p.runs[0];
        assert_eq!((hole.code_len, &hole.bytes[6..10]), (10, &[0x93, 0x85, 0x05, 0x04][..]), "addi a1, a1, 64: {p:#?}");
        assert_eq!(rv.pair_value(&hole.bytes[..4], &hole.bytes[6..10], 0x10028), Some(entry - 20));
        assert_eq!(plan(&input(&HOLES[1..2])).unwrap(), p);
    }

    #[test]
    fn a_pair_fills_a_hole_that_only_its_compressed_form_fits() {
        // auipc a1, 0; addi a1, a1, -20; c.li a0, 1; c.li a2, 20; ecall. In p_paddr
        // (8 bytes) the pair and its c.j fit only with the addi as c.addi a1, 24.
        let rv = Isa::Riscv64 { compressed: true };
        let code = [0x97, 0x05, 0, 0, 0x93, 0x85, 0xc5, 0xfe, 0x05, 0x45, 0x51, 0x46, 0x73, 0, 0, 0];
        let (entry, file_end) = (0x1007c, 0x1007c + 16);
        let input = Input {
            isa: rv,
            code: &code,
            entry,
            file_end,
            load: 0x10000,
            holes: &HOLES[2..],
            read_bits: &[],
            size_word_at: None,
            moves: Moves::default(),
        };
        let p = plan(&input).unwrap();
        let hole = &p.runs[0];
        assert_eq!((hole.at, hole.code_len, hole.to, hole.bytes.len()), (0x10050, 6, entry + 8, 8), "{p:#?}");
        assert_eq!(hole.bytes[4..6], [0xe1, 0x05], "{p:#?}");
        assert_eq!((p.body_end, p.file_end()), (entry + 8, entry + 5), "{p:#?}");
    }

    /// Our riscv64 hello's code at 0x1007c, behind its message at 0x10068: auipc a1,0;
    /// li a7,64; c.li a0,1; addi a1,a1,-20; c.li a2,20; ecall; c.addi a0,-20;
    /// li a7,93; ecall.
    const RV_HELLO: [u8; 30] = [
        0x97, 0x05, 0, 0, 0x93, 0x08, 0, 0x04, 0x05, 0x45, 0x93, 0x85, 0xc5, 0xfe, 0x51, 0x46, 0x73, 0, 0, 0, 0x31,
        0x15, 0x93, 0x08, 0xd0, 0x05, 0x73, 0, 0, 0,
    ];
    /// Its file's holes (plan.rs's free_runs, longest first): e_shoff, p_paddr,
    /// e_version, e_flags but its first byte (RVE), p_flags' high bytes.
    const RV_HOLES: [Range<usize>; 5] = [0x28..0x30, 0x50..0x58, 0x14..0x18, 0x31..0x34, 0x3d..0x40];

    fn pack_rv(code: &[u8], holes: &[Range<usize>]) -> Result<Packing, String> {
        plan_at(Isa::Riscv64 { compressed: true }, code, 0x1007c, holes)
    }

    #[test]
    fn a_body_that_ends_the_code_sheds_its_trailing_zeros() {
        // The shortest body (14 bytes: auipc, li, c.li, c.addi and a c.j) ends in a
        // jump; a body of 16 that ends in the exit ecall (73 00 00 00) ends the file 3
        // bytes earlier: the loader reads those zeros from the page past EOF. (The
        // auipc lies in p_paddr, 24 bytes before the message: its addi is c.addi.)
        let p = pack_rv(&RV_HELLO, &RV_HOLES).unwrap();
        let last = p.runs.last().unwrap();
        assert_eq!((&last.place, last.bytes.last_chunk()), (&Place::Body, Some(&[0x73, 0, 0, 0])), "{p:#?}");
        assert_eq!((p.entry, p.body_end, p.file_end()), (0x10050, 0x1007c + 16, 0x1007c + 13), "{p:#?}");
        assert_eq!(pack_rv(&RV_HELLO, &RV_HOLES).unwrap(), p);
    }

    #[test]
    fn code_lies_on_a_read_byte_only_where_it_keeps_the_read_bits() {
        // e_shoff and e_flags as one hole, e_flags' first byte read on RVE and RVC
        // (0x09), which the header has as RVC only.
        let holes = [0x28..0x34, 0x50..0x58, 0x14..0x18, 0x3d..0x40];
        let (isa, entry, file_end) = (Isa::Riscv64 { compressed: true }, 0x1007c, 0x1007c + RV_HELLO.len() as u64);
        let pack_with = |read_bits: &[ReadBits]| {
            let input = Input {
                isa,
                code: &RV_HELLO,
                entry,
                file_end,
                load: 0x10000,
                holes: &holes,
                read_bits,
                size_word_at: None,
                moves: Moves::default(),
            };
            plan(&input).unwrap()
        };
        let byte_at = |p: &Packing, a: u64| {
            p.runs
                .iter()
                .find(|r| (r.at..r.at + r.bytes.len() as u64).contains(&a))
                .map(|r| r.bytes[(a - r.at) as usize])
        };
        // The byte there keeps RVC set and RVE clear (c.addi a0, -20: 31 15): the
        // 12-byte hole ends the file 3 bytes before the holes without e_flags' first byte.
        let rvc = [ReadBits { at: 0x30, mask: 0x09, value: 0x01 }];
        let p = pack_with(&rvc);
        assert_eq!(byte_at(&p, 0x10030).map(|b| b & 0x09), Some(0x01), "{p:#?}");
        assert_eq!(p.file_end(), pack_rv(&RV_HELLO, &RV_HOLES).unwrap().file_end() - 3, "{p:#?}");
        assert_eq!(pack_with(&rvc), p);
        // A header without RVC there: no compressed instruction's first byte keeps it.
        let none = [ReadBits { at: 0x30, mask: 0x09, value: 0 }];
        let p = pack_with(&none);
        assert!(byte_at(&p, 0x10030).is_none_or(|b| b & 0x09 == 0), "{p:#?}");
        // Every bit read: only that very byte may lie there.
        for value in [0x31, 0x73] {
            let p = pack_with(&[ReadBits { at: 0x30, mask: 0xff, value }]);
            assert!(byte_at(&p, 0x10030).is_none_or(|b| b == value), "{p:#?}");
        }
    }

    #[test]
    fn the_last_syscall_lies_on_p_filesz_behind_a_run_that_ends_in_p_paddr() {
        // write(1, msg, 20); exit(result - 20): our x86_64 hello's code.
        let code = [
            0x6a, 0x01, 0x58, 0x6a, 0x14, 0x5a, 0xbe, 0x68, 0x00, 0x01, 0x00, 0x48, 0x89, 0xc7, 0x0f, 0x05, 0x48, 0x8d,
            0x78, 0xec, 0x6a, 0x3c, 0x58, 0x0f, 0x05,
        ];
        let entry = 0x1007c;
        // With p_flags' high bytes too (0x3d..0x40), as the x86_64 hello has them.
        let holes = [HOLES[0].clone(), HOLES[1].clone(), HOLES[2].clone(), 0x3d..0x40];
        let input = |size_word_at| Input {
            isa: X64,
            code: &code,
            entry,
            file_end: entry + code.len() as u64,
            load: 0x10000,
            holes: &holes,
            read_bits: &[],
            size_word_at,
            moves: Moves::default(),
        };
        let without = plan(&input(None)).unwrap();
        let with = plan(&input(Some(0x58))).unwrap();
        assert_eq!(without.size_word_at, None);
        // The syscall is p_filesz's first two bytes, reached from the run in p_paddr,
        // which ends right before it (it starts later in the hole, if need be).
        assert_eq!(with.size_word_at, Some(0x10058), "{with:#?}");
        let last = with.runs.last().unwrap();
        assert_eq!((last.at + last.bytes.len() as u64, last.jump_to), (0x1005a, None), "{with:#?}");
        assert!(last.bytes.ends_with(&[0x0f, 0x05]) && last.at >= 0x10050, "{with:#?}");
        // The same instructions run, in the same order, and the body is shorter.
        let ran: Vec<u8> = trace(&with, 100).into_iter().flat_map(|(b, _)| b).collect();
        assert_eq!(ran, code);
        assert!(with.body_end < without.body_end, "{with:#?}\n{without:#?}");
        // Only the ISA's size word lies there: int3 ends no code on p_filesz.
        let mut other = code.to_vec();
        other.push(0xcc);
        let p = plan(&Input { code: &other, file_end: entry + other.len() as u64, ..input(Some(0x58)) }).unwrap();
        assert_eq!(p.size_word_at, None, "{p:#?}");
    }

    /// The body's bytes, with no holes to fill.
    fn body_only(code: &[u8]) -> Vec<u8> {
        let p = pack(code, &[]).unwrap();
        assert!(p.runs.iter().all(|r| r.place == Place::Body && r.jump_to.is_none()), "{p:#?}");
        p.runs.iter().flat_map(|r| r.bytes.clone()).collect()
    }

    #[test]
    fn padding_no_path_reaches_goes_with_the_jump_over_it() {
        // jmp +3 over three int3 of alignment padding; then exit. The jump goes to what
        // follows it once the padding is gone: it goes too.
        let code = [0xeb, 0x03, 0xcc, 0xcc, 0xcc, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        assert_eq!(body_only(&code), [0x6a, 0x3c, 0x58, 0x0f, 0x05]);
    }

    #[test]
    fn dead_code_goes_and_a_trap_needs_no_jump_after_it() {
        // je +3 (to the exit); ud2; int3 (dead: after a trap, and no branch goes
        // there); exit. The je is re-encoded for the shorter distance.
        let code = [0x74, 0x03, 0x0f, 0x0b, 0xcc, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        assert_eq!(body_only(&code), [0x74, 0x02, 0x0f, 0x0b, 0x6a, 0x3c, 0x58, 0x0f, 0x05]);
    }

    #[test]
    fn a_branch_to_a_no_op_jump_goes_to_its_target() {
        // xor eax, eax; jne +0 (to the jmp); jmp +1 over an int3, to the exit. The jmp
        // is a no-op once the int3 is gone: the jne goes where it went, the exit.
        let code = [0x31, 0xc0, 0x75, 0x00, 0xeb, 0x01, 0xcc, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        assert_eq!(body_only(&code), [0x31, 0xc0, 0x75, 0x00, 0x6a, 0x3c, 0x58, 0x0f, 0x05]);
    }

    #[test]
    fn a_jump_ends_a_run_wherever_the_next_goes() {
        // A loop: dec ecx; jnz back; jmp +1 over an int3; exit. With the holes, no run
        // ends in an inserted jump after an unconditional one.
        let code = [0xb9, 3, 0, 0, 0, 0xff, 0xc9, 0x75, 0xfc, 0xeb, 0x01, 0xcc, 0x6a, 0x3c, 0x58, 0x0f, 0x05];
        let p = pack(&code, &HOLES).unwrap();
        let ran: Vec<u8> = trace(&p, 20).into_iter().flat_map(|(b, _)| b).collect();
        assert!(!ran.contains(&0xcc) && !ran.contains(&0xeb), "{p:#?}");
        assert_eq!(pack(&code, &HOLES).unwrap(), p);
    }

    /// Thumb hello as our compiler emits it, at 0x1005c behind its message at 0x10048:
    /// movs r0,#1; ldr r1,=0x10048; movs r2,#20; push {r7}; movs r7,#4; svc 0;
    /// pop {r7}; subs r0,#20; movs r7,#1; svc 0; then the literal pool, one word.
    fn thumb_hello(literal: u32) -> Vec<u8> {
        let code = [0x2001u16, 0x4904, 0x2214, 0xb480, 0x2704, 0xdf00, 0xbc80, 0x3814, 0x2701, 0xdf00];
        [code.map(u16::to_le_bytes).concat(), literal.to_le_bytes().to_vec()].concat()
    }

    fn pack_thumb(code: &[u8]) -> Result<Packing, String> {
        // ELF32's e_version, e_shoff and e_flags below the EABI version, p_paddr.
        let holes = [0x14..0x18, 0x20..0x27, 0x38..0x3c];
        plan_at(Isa::Arm { thumb: true }, code, 0x1005c, &holes)
    }

    #[test]
    fn a_thumb_literal_load_becomes_adr_and_its_pool_goes() {
        let p = pack_thumb(&thumb_hello(0x10048)).unwrap();
        // The ldr went into a hole before the message as `adr r1, 0x10048`; the body
        // holds no literal: it ends with the last svc.
        let adr = p.runs.iter().find(|r| r.from == 0x1005e).unwrap();
        assert!(matches!(adr.place, Place::Hole(_)), "{p:#?}");
        let thumb = Isa::Arm { thumb: true };
        let insn = thumb.decode(&adr.bytes[..2], adr.at).unwrap().remove(0);
        assert_eq!((insn.refers(), adr.bytes[1] & 0xf8), (Some(0x10048), 0xa0), "{p:#?}");
        let body = p.runs.last().unwrap();
        assert_eq!((body.place.clone(), body.bytes.last_chunk()), (Place::Body, Some(&[0x00, 0xdf])), "{p:#?}");
        assert!(p.body_end <= 0x1005c + 12, "{p:#?}");
        assert_eq!(pack_thumb(&thumb_hello(0x10048)).unwrap(), p);
    }

    #[test]
    fn a_thumb_literal_that_no_adr_reaches_goes_into_a_pool_behind_the_body() {
        // 0x20048: adr reaches only 1020 bytes forward. The load stays a load, of a
        // word-aligned literal behind the body's code that holds the value.
        let p = pack_thumb(&thumb_hello(0x20048)).unwrap();
        let thumb = Isa::Arm { thumb: true };
        let run = p.runs.iter().find(|r| (r.from..r.to).contains(&0x1005e)).unwrap();
        let at = run.at + (0x1005e - run.from);
        let ldr = &run.bytes[(at - run.at) as usize..][..2];
        let literal = thumb.decode(ldr, at).unwrap()[0].refers().unwrap();
        assert_eq!(ldr[1] & 0xf8, 0x48, "{p:#?}");
        let body = p.runs.iter().rfind(|r| r.place == Place::Body).unwrap();
        let word = &body.bytes[(literal - body.at) as usize..][..4];
        assert_eq!((literal % 4, word, p.body_end), (0, &0x20048u32.to_le_bytes()[..], literal + 4), "{p:#?}");
        assert!(literal >= body.at + body.code_len as u64 && p.body_end < 0x1005c + 24, "{p:#?}");
    }

    #[test]
    fn a_thumb_literal_that_points_into_the_code_stays() {
        // A code address (the entry's, Thumb bit set): a pointer the packer would
        // have to rewrite.
        assert!(pack_thumb(&thumb_hello(0x1005d)).unwrap_err().contains("inside the code"));
        // A "literal" among the instructions: ldr r1, [pc, #12] reads movs r7,#1; svc.
        let mut code = thumb_hello(0x10048);
        code[2] = 0x03;
        assert!(pack_thumb(&code).unwrap_err().contains("tail"));
    }

    const MIPS: Isa = Isa::Mips64el;
    const SYSCALL: u32 = 0x0000_000c;

    fn pack_mips(words: &[u32], holes: &[Range<usize>]) -> Result<Packing, String> {
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        plan_at(MIPS, &code, 0x1007c, holes)
    }

    /// The words straight-line MIPS code runs (no branches of its own), each inserted
    /// `b` followed: its delay slot, then its target; to the second syscall.
    fn trace_mips(p: &Packing) -> Vec<u32> {
        let word = |a: u64| {
            let run = p.runs.iter().find(|r| (r.at..r.at + r.bytes.len() as u64).contains(&a)).unwrap();
            u32::from_le_bytes(run.bytes[(a - run.at) as usize..][..4].try_into().unwrap())
        };
        let (mut at, mut out) = (p.entry, Vec::new());
        while out.iter().filter(|&&w| w == SYSCALL).count() < 2 {
            let w = word(at);
            if w >> 16 == 0x1000 {
                out.push(word(at + 4));
                at = (at + 4).wrapping_add((w as u16 as i16 as i64 * 4) as u64);
            } else {
                out.push(w);
                at += 4;
            }
            assert!(out.len() < 50, "{p:#?}");
        }
        out
    }

    #[test]
    fn a_mips_jump_takes_the_runs_last_instruction_into_its_delay_slot() {
        // hello on mips64el: lui/daddiu (the message), write(1, msg, 20), exit(0).
        let code = [
            0x3c01_0001,
            0x6425_0068,
            0x6402_1389,
            0x6404_0001,
            0x6406_0014,
            SYSCALL,
            0x2402_13c2,
            0x6404_0000,
            SYSCALL,
        ];
        let p = pack_mips(&code, &[0x28..0x30, 0x50..0x58]).unwrap();
        // The same words run in the same order, and no jump's slot holds a nop.
        assert_eq!(trace_mips(&p), code, "{p:#?}");
        // Each hole holds a jump with the run's one instruction in its slot, and the
        // body keeps the rest: 8 bytes less.
        let in_holes: Vec<&Run> = p.runs.iter().filter(|r| r.place != Place::Body).collect();
        assert_eq!(in_holes.len(), 2, "{p:#?}");
        assert!(in_holes.iter().all(|r| r.slot && r.code_len == 0 && r.bytes.len() == 8), "{p:#?}");
        assert_eq!(p.body_end, 0x1007c + 4 * code.len() as u64 - 8, "{p:#?}");
        assert_eq!(pack_mips(&code, &[0x28..0x30, 0x50..0x58]).unwrap(), p);
    }

    #[test]
    fn a_mips_syscall_or_branch_target_takes_no_delay_slot() {
        // A syscall may not run in a slot: wherever the runs go, no slot holds one.
        let code = [0x6402_0001, SYSCALL, 0x6404_0001, 0x2402_13c2, SYSCALL];
        let p_paddr = vec![0x50..0x58; 1]; // one hole
        for holes in [&p_paddr[..], &[0x28..0x30, 0x50..0x58], &[0x14..0x18, 0x28..0x30, 0x50..0x58]] {
            let p = pack_mips(&code, holes).unwrap();
            assert_eq!(trace_mips(&p), code, "{p:#?}");
            let slots = p.runs.iter().filter(|r| r.slot).map(|r| &r.bytes[r.bytes.len() - 4..]);
            assert!(slots.clone().all(|s| s != SYSCALL.to_le_bytes()), "{p:#?}");
        }
        // A loop: daddiu $4,$0,3; head: daddiu $4,$4,-1; bnez $4, head; daddiu $5,$0,7
        // (its slot); exit. The head is a branch target: no slot takes it; the bnez
        // keeps its slot right behind it, and still goes to the head's copy.
        let code = [0x6404_0003, 0x6484_ffff, 0x1480_fffe, 0x6405_0007, 0x2402_13c2, SYSCALL];
        let p = pack_mips(&code, &[0x28..0x30, 0x50..0x58]).unwrap();
        for run in &p.runs {
            assert!(!(run.slot && run.to == 0x10084), "the loop's head in a slot: {p:#?}");
            let insns = MIPS.decode(&run.bytes[..run.code_len], run.at).unwrap();
            if let Some(k) = insns.iter().position(|i| i.target().is_some()) {
                let head = p.runs.iter().find(|r| (r.from..r.to).contains(&0x10080)).unwrap();
                assert_eq!(
                    insns[k].target(),
                    Some(head.at + 0x10080 - head.from + 4 * u64::from(head.slot && head.code_len == 0)),
                    "{p:#?}"
                );
                assert_eq!(insns.get(k + 1).map(|i| i.kind), Some(Kind::Bound), "{p:#?}");
            }
        }
    }

    #[test]
    fn a_mips_instruction_repeating_its_delay_slot_goes() {
        // beqz $2, exit; lui $1,1 (slot); lui $1,1 (the same again, on the path that
        // falls through); daddiu $5,$1,0x84; exit: addiu $2,$0,5058; syscall.
        let code = [0x1040_0003, 0x3c01_0001, 0x3c01_0001, 0x6425_0084, 0x2402_13c2, SYSCALL];
        let body = |p: &Packing| p.runs.iter().flat_map(|r| r.bytes.clone()).collect::<Vec<u8>>();
        let p = pack_mips(&code, &[]).unwrap();
        let want: Vec<u8> = [0x1040_0002u32, 0x3c01_0001, 0x6425_0084, 0x2402_13c2, SYSCALL]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        assert_eq!(body(&p), want, "{p:#?}");
        // Not when it reads what it writes (daddiu $1,$1,1 twice adds 2), nor when a
        // branch goes to it.
        let twice = [0x1040_0003, 0x6421_0001, 0x6421_0001, 0x6425_0084, 0x2402_13c2, SYSCALL];
        assert!(pack_mips(&twice, &[]).is_err());
        let target = [0x1040_0001, 0x3c01_0001, 0x3c01_0001, 0x6425_0084, 0x2402_13c2, SYSCALL];
        assert!(pack_mips(&target, &[]).is_err());
    }

    #[test]
    fn code_that_leaves_or_cannot_be_traced_stays() {
        assert!(pack(&[0xeb, 0x10], &HOLES).unwrap_err().contains("leaves the code"));
        assert!(pack(&[0xc3], &HOLES).unwrap_err().contains("Return"));
        // Nothing to gain: one instruction, no room.
        assert!(pack(&[0x0f, 0x05], std::slice::from_ref(&(0x14..0x15))).unwrap_err().contains("saves"));
    }
}
