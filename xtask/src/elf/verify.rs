//! Proving an output sound before it is written: parse it back with goblin (the same
//! checks any input passes), hold the fields loaders read against the input and the
//! plan, and compare the memory image the loader builds, byte by byte, with the
//! input's: every address the input loads from its file (past its own headers) must
//! read the same in the output, with the same permissions.
//!
//! The input has passed every check of read.rs and rules.rs before it was planned for,
//! so whatever fails here is the planner's or the writer's mistake: a `Bug`, never a
//! refusal. A new way for an input to be unshrinkable belongs in those checks.

use goblin::elf::{
    header::{EI_OSABI, SIZEOF_IDENT},
    program_header::ProgramHeader,
};

use super::{
    Bug, Elf, Plan, fields,
    isa::Isa,
    plan::{BIG_PAGE, Layout},
    read::{self, PAGE},
    rules, tail,
};

/// First padding byte of e_ident (after EI_ABIVERSION); EI_OSABI (7) is free.
const EI_PAD: usize = 9;

pub fn verify(input: &Elf, plan: &Plan, output: &[u8]) -> Result<(), Bug> {
    let out = read::read(output).map_err(|r| Bug(format!("our own output does not read back: {r}")))?;
    let fail = |what: &str| Bug(format!("our own output is wrong: {what}"));
    let (h, i) = (&out.header, &input.header);
    if output.len() != plan.len {
        return Err(fail("its length is not the planned one"));
    }
    // e_shoff is zero, unless the plan put code there (the moved tail, or the free
    // header bytes of an input shrunk before, kept as they were).
    let carries_code = |field: std::ops::Range<usize>| {
        plan.tail.iter().any(|t| t.hole.start < field.end && field.start < t.hole.start + t.moved.len())
            || loads_own_headers(input, &out) && output.get(field.clone()) == input.bytes.get(field)
    };
    let e_shoff = if input.is_64 { 40..48 } else { 32..36 };
    if h.e_shoff != 0 && !carries_code(e_shoff) {
        return Err(fail("it still points at section headers"));
    }
    if output[EI_PAD..SIZEOF_IDENT].iter().any(|&b| b != 0) {
        return Err(fail("e_ident padding is not zero (binfmt_misc masks compare it)"));
    }
    // e_flags may carry code in the bits no loader of the machine reads.
    let flags_read = !fields::e_flags_free_bits(i.e_machine);
    let same = (h.e_ident[..EI_OSABI] == i.e_ident[..EI_OSABI])
        && (h.e_type, h.e_machine, h.e_entry) == (i.e_type, i.e_machine, i.e_entry)
        && (h.e_flags ^ i.e_flags) & flags_read == 0;
    if !same {
        return Err(fail("identification, type, machine, entry or flags changed"));
    }
    // The input obeys every loader rule (shrink_with checked): so must the output.
    rules::check(&out).map_err(|r| fail(&format!("it breaks a loader rule the input obeys: {r}")))?;
    if h.e_phoff != plan.phoff || out.phdrs.len() != plan.phdrs.len() {
        return Err(fail("the program header table is not where the plan put it"));
    }
    // What loaders read of each program header; p_paddr and p_align are free.
    let read_fields = |p: &ProgramHeader| (p.p_type, p.p_flags, p.p_offset, p.p_vaddr, p.p_filesz, p.p_memsz);
    if out.phdrs.iter().map(read_fields).ne(plan.phdrs.iter().map(read_fields)) {
        return Err(fail("program headers differ from the plan"));
    }
    for p in out.loads() {
        if plan.layout == Layout::Overlapped && p.p_offset % BIG_PAGE != p.p_vaddr % BIG_PAGE {
            return Err(fail("a segment's offset and address differ modulo 64 KiB"));
        }
    }
    if plan.layout == Layout::Overlapped
        && loads_own_headers(input, &out)
        && output[..plan.body_at] != input.bytes[..plan.body_at]
    {
        return Err(fail("the header bytes the input loads changed"));
    }
    // The moved code, run by run: each one's instructions are the input's, unchanged,
    // on header bytes no loader reads; the first goes on where the code ended, each
    // later one to the run moved before it, from where that one's jump stood.
    let moved = match (plan.tail.first(), plan.tail.last()) {
        (Some(first), Some(front)) => front.from..first.to,
        _ => 0..0,
    };
    let load = out.phdrs[0].p_vaddr;
    for (n, t) in plan.tail.iter().enumerate() {
        let isa = Isa::of(i).ok_or_else(|| fail("code moved on a machine it cannot decode"))?;
        let p = &input.phdrs[0];
        let from = (t.from - p.p_vaddr + p.p_offset) as usize;
        let original = input.bytes.get(from..from + t.verbatim);
        let original = original.ok_or_else(|| fail("the moved code is not in the input's file"))?;
        let reads =
            fields::loader_reads(out.is_64, out.little_endian, h.e_machine, h.e_phoff as usize, out.phdrs.len());
        if reads.get(t.hole.start..t.hole.start + t.moved.len()).is_none_or(|r| r.iter().any(|&read| read)) {
            return Err(fail("code moved onto header bytes a loader reads"));
        }
        let chained = match n.checked_sub(1).map(|k| &plan.tail[k]) {
            None => t.exit == t.to,
            Some(before) => t.exit == load + before.hole.start as u64 && t.to == before.from + before.jump.len() as u64,
        };
        if !chained {
            return Err(fail("a moved run does not go on where the code did"));
        }
        // The front-most move's jump is read from the output. Those of the moves
        // before it are gone, moved along as the re-encoded ends of later runs (whose
        // exits the chain check above ties to these holes): check them as planned.
        let mut view = output.to_vec();
        if n + 1 < plan.tail.len() {
            let at = (t.from - load) as usize;
            view.resize(view.len().max(at + t.jump.len()), 0);
            view[at..at + t.jump.len()].copy_from_slice(&t.jump);
        }
        tail::check(isa, &view, load, t, original).map_err(|why| fail(&why))?;
    }
    same_memory(input, &out, moved)
}

/// The input's one segment loads its own headers where the output's does.
fn loads_own_headers(input: &Elf, out: &Elf) -> bool {
    let (p, q) = (&input.phdrs[0], &out.phdrs[0]);
    input.phdrs.len() == 1 && p.p_offset == 0 && q.p_offset == 0 && p.p_vaddr == q.p_vaddr
}

/// Every byte the input loads from its file, past its own headers and outside the
/// `moved` code (checked on its own), the output loads at the same address with the
/// same permissions; the segment ends where it did.
fn same_memory(input: &Elf, out: &Elf, moved: std::ops::Range<u64>) -> Result<(), Bug> {
    let fail = |what: String| Err(Bug(format!("our own output is wrong: {what}")));
    for p in input.loads() {
        let Some(q) = out.loads().find(|q| q.p_vaddr <= p.p_vaddr && q.p_vaddr + q.p_memsz >= p.p_vaddr + p.p_memsz)
        else {
            return fail(format!("the input's segment at {:#x} is not loaded whole", p.p_vaddr));
        };
        if q.p_flags != p.p_flags || q.p_vaddr + q.p_memsz != p.p_vaddr + p.p_memsz {
            return fail(format!("the segment at {:#x} changed permissions or end", p.p_vaddr));
        }
        // The input's file bytes of this segment (bounded by the file: p_memsz may be
        // huge), past the header bytes loaders read (those are new).
        let skip = (input.headers_read_end() as u64).saturating_sub(p.p_offset).min(p.p_filesz);
        let file_backed = p.p_filesz.min((input.bytes.len() as u64).saturating_sub(p.p_offset));
        for off in skip..file_backed.max(skip) {
            let address = p.p_vaddr + off;
            if moved.contains(&address) {
                continue;
            }
            if loaded_byte(input, p, address) != loaded_byte(out, q, address) {
                return fail(format!("it loads a different byte at {address:#x}"));
            }
        }
    }
    Ok(())
}

/// The byte a loader puts at `address` from segment `p` of `elf`: the file's, zero
/// past EOF within the last page and past p_filesz; None where the mapping faults.
fn loaded_byte(elf: &Elf, p: &ProgramHeader, address: u64) -> Option<u8> {
    let off = address - p.p_vaddr;
    if off >= p.p_filesz {
        return Some(0);
    }
    let at = p.p_offset + off;
    match elf.bytes.get(at as usize) {
        Some(&b) => Some(b),
        None if at < (elf.bytes.len() as u64).next_multiple_of(PAGE) => Some(0),
        None => None,
    }
}
