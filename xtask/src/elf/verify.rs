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
    isa::{self, Insn, Isa, Kind},
    pack::{self, Packing, Place},
    plan::{self, BIG_PAGE, Layout},
    read::{self, PAGE},
    rules,
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
    // e_shoff is zero, unless the plan put code or data there (a packed run, an
    // object of the data, or the free header bytes of an input shrunk before, kept as
    // they were).
    let runs = plan.packing.iter().flat_map(|p| &p.runs);
    let data = plan.packing.iter().flat_map(|p| p.data.iter().flat_map(|d| d.outputs()));
    let holes: Vec<_> = runs
        .filter(|r| matches!(r.place, Place::Hole(_)))
        .map(|r| r.at..r.at + r.bytes.len() as u64)
        .chain(data)
        .map(|r| r.start.wrapping_sub(plan.load_address())..r.end.wrapping_sub(plan.load_address()))
        .collect();
    let carries_code = |field: std::ops::Range<usize>| {
        holes.iter().any(|h| h.start < field.end as u64 && (field.start as u64) < h.end)
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
        && (h.e_type, h.e_machine) == (i.e_type, i.e_machine)
        && (plan.packing.is_some() || h.e_entry == i.e_entry)
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
    // (p_flags above R, W and X is free too: packed code may lie there.)
    let read_fields =
        |p: &ProgramHeader| (p.p_type, p.p_flags & fields::P_FLAGS_READ, p.p_offset, p.p_vaddr, p.p_filesz, p.p_memsz);
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
    let code = match &plan.packing {
        Some(p) => packed_code(input, &out, plan, p).map_err(|why| fail(&why))?,
        None => 0..0,
    };
    let data = plan.packing.as_ref().and_then(|p| p.data.as_ref());
    same_memory(input, &out, code, data)
}

/// Prove the packed code from the input and the output alone, taking from the plan
/// only where each run claims to lie: the runs hold, in order and instruction by
/// instruction, exactly what runs of the input's code (decoded along control flow
/// from its entry point, less the jumps to what follows them: a branch to one must
/// reach its target's copy); each copy has the original's bytes,
/// or is the same branch or PC-relative instruction re-encoded (it names the copy of
/// the original target, or the same address, and moved back it is the original), or
/// with its partner the same pair (auipc/addi) computing the same address, the second
/// maybe in its short form (c.addi), which moved back in full is the original; each
/// fall-through and branch reaches the copy of the original successor, straight or
/// through inserted unconditional jumps that lie in the runs' jump bytes; the entry
/// point reaches the copy of the original one; runs lie on header bytes no loader
/// reads or in the body past the data, and not on one another, but for the code's last
/// instruction, which may lie on p_filesz right behind a run in a hole (pack.rs: the
/// header's bytes are then that instruction's, and same_memory proves the size serves
/// the segment). Returns the input's
/// code, whose bytes the memory comparison leaves to this check.
fn packed_code(input: &Elf, out: &Elf, plan: &Plan, p: &Packing) -> Result<std::ops::Range<u64>, String> {
    let isa = Isa::of(&input.header).ok_or("code packed on a machine it cannot decode")?;
    let (q, load) = (&out.phdrs[0], plan.load_address());
    let image = |elf: &Elf, seg: &ProgramHeader, range: std::ops::Range<u64>| -> Result<Vec<u8>, String> {
        range.map(|a| loaded_byte(elf, seg, a).ok_or(format!("{a:#x} is not loaded"))).collect()
    };
    let entry = input.entry_address();
    let last = p.runs.last().ok_or("no runs")?;
    // The input's code: from the entry to the end of its segment's file bytes (the
    // last instruction may run on into the zeros past them); control falling through
    // past its trailing zeros falls off the code.
    let seg = &input.phdrs[0];
    let file_end = seg.p_vaddr + seg.p_filesz.min((input.bytes.len() as u64).saturating_sub(seg.p_offset));
    let code = entry..file_end.max(last.to);
    let original = image(input, seg, code.clone())?;
    let zeros = original.iter().rev().take_while(|&&b| b == 0).count();
    let stop = code.end - zeros as u64;
    // What runs of the input, as the planner took it (`isa::what_runs`): decoded along
    // control flow from its entry, less the no-op jumps, loads from a literal pool at
    // the code's end turned into instructions that compute the literal's value (any
    // other data read inside the code: Err), the ppc64le TOC set-up in one instruction,
    // x86's entry saves gone. The runs must hold exactly these, in order.
    let runs = isa::what_runs(isa, &original, entry, stop)?;
    // The registers dead before each (`isa::liveness`): header bytes a run goes on
    // through to the next may destroy only those.
    let copied = runs.copied(&original, entry).ok_or("the code runs past the file")?;
    let dead = isa::liveness::dead_before(isa, &runs.insns, &copied, entry, &runs.alias);
    let isa::WhatRuns { insns, alias, turned, folded, .. } = runs;
    // Nor may the data hold an address inside the code (the planner's check, on the
    // input's own bytes: after the headers it reads, up to the entry).
    let data_from = (seg.p_offset as usize).max(input.headers_read_end());
    let data_address = seg.p_vaddr + (data_from as u64 - seg.p_offset);
    let entry_offset = entry.checked_sub(seg.p_vaddr).map_or(0, |o| (o + seg.p_offset) as usize);
    let data = input.bytes.get(data_from..entry_offset).unwrap_or_default();
    plan::no_code_address_held(data, data_address, input.little_endian, entry..stop)?;
    // Data moved: the input's relocations must allow it, by the planner's own rule
    // (`plan::movable_data`), for all of the data; in pieces, only as its objects,
    // each keeping its address modulo its alignment.
    let mut absolute = Vec::new();
    if let Some(moved) = &p.data {
        let movable = plan::movable_data(input).map_err(|why| format!("the data moved, though {why}"))?;
        if movable.data != moved.from {
            return Err(format!("the data moved is {:#x?}, not the input's {:#x?}", moved.from, movable.data));
        }
        let whole = [crate::elf::relocs::Object { range: movable.data.clone(), align: movable.align }];
        let objects = if moved.pieces.len() == 1 { &whole[..] } else { &movable.objects[..] };
        let mut pieces: Vec<_> = moved.pieces.clone();
        pieces.sort_by_key(|(from, _)| from.start);
        let as_objects = pieces.len() == objects.len()
            && pieces
                .iter()
                .zip(objects)
                .all(|((from, to), o)| *from == o.range && to % o.align == from.start % o.align);
        if !as_objects {
            return Err("the data moved in pieces that are not its objects, or lost their alignment".into());
        }
        absolute = movable.absolute;
    }
    // Where the output holds what the input named at `r`: the data's new place, or
    // the same address (where the data stays; moved, nothing else may be named).
    let named = |r: u64| match &p.data {
        Some(moved) => moved.map(r).ok_or(format!("an instruction names {r:#x}, outside the data that moved")),
        None => Ok(r),
    };
    // The body's runs start past the header bytes loaders read (and where the data
    // stays, past it, at the entry point); they may not lie on the moved data.
    let body_from = if p.data.is_some() { load + out.headers_read_end() as u64 } else { entry };
    let data_out: Vec<std::ops::Range<u64>> = p.data.as_ref().map_or(vec![], |d| d.outputs().collect());
    let mut held = p.runs.iter().flat_map(|r| insns.iter().filter(move |i| i.address >= r.from && i.address < r.to));
    if insns.first().map(|i| i.address) != p.runs.first().map(|r| r.from)
        || !held.by_ref().map(|i| i.address).eq(insns.iter().map(|i| i.address))
    {
        return Err("the packed runs do not hold what the code runs from its entry point, in order".into());
    }
    let reads =
        fields::loader_reads(out.is_64, out.little_endian, out.header.e_machine, out.header.e_phoff as usize, 1);
    // Code may lie on a byte of e_flags whose read bits it keeps as the input has
    // them (from the input's e_flags, not the plan's headers).
    let (ih, machine) = (&input.header, input.header.e_machine);
    let read_bits = fields::e_flags_read_bits(input.is_64, input.little_endian, machine, ih.e_flags);
    let may_hold_code = |at: usize| {
        !reads.get(at).copied().unwrap_or(true)
            || read_bits.iter().any(|r| r.at == at && out.bytes.get(at).is_some_and(|&b| r.kept_by(b)))
    };
    let mut map = std::collections::BTreeMap::new(); // original address -> copy
    let mut copies = Vec::new(); // (copy, original) in code order
    let mut jumps = Vec::new(); // where inserted jumps may lie
    let mut taken: Vec<std::ops::Range<u64>> = Vec::new();
    // p_filesz, where the code's last instruction may lie (the last run's code ends
    // with it; the image comparison below proves the header holds its bytes).
    let p_filesz = load + out.header.e_phoff + if out.is_64 { 32 } else { 16 };
    let last_insn = insns.last().ok_or("no instructions")?;
    let on_p_filesz = |run: &pack::Run| {
        std::ptr::eq(run, last)
            && run.to == last_insn.address + last_insn.len as u64
            && run.code_len == run.bytes.len()
            && run.at + (run.code_len - last_insn.len) as u64 == p_filesz
    };
    // Delay slots: the copy in an inserted jump's slot (a run's last instruction moved
    // there) -> that jump, 4 bytes before it.
    let mut jump_of = std::collections::BTreeMap::new();
    // Header bytes behind a run that run on to the next (`pack::Passage`): start ->
    // (end, what they destroy).
    let mut passages = std::collections::BTreeMap::new();
    for run in &p.runs {
        let jump_at = run.at + run.code_len as u64;
        let inserted = run.bytes.get(run.code_len..).unwrap_or_default();
        // (Header bytes only: behind the body's last run lies a literal pool.)
        let in_headers = jump_at + inserted.len() as u64 <= load + out.headers_read_end() as u64;
        let passage = (!run.slot && in_headers).then(|| isa.passage(inserted, jump_at)).flatten();
        if let Some((clobbers, _)) = passage {
            passages.insert(jump_at, (jump_at + inserted.len() as u64, clobbers));
        }
        let mut span = run.at..run.at + run.bytes.len() as u64;
        let whole = span.clone();
        if on_p_filesz(run) {
            span.end = p_filesz;
        }
        // A run lies in holes or the body; but its inserted jump may lie on e_entry's
        // low word, where those bytes run as that jump (`pack::Moves::header_jump`):
        // the output holds the run's bytes (below), so the loader reads the jump's own,
        // and e_entry is proven below like any other field.
        // Its header bytes that run on to the next run lie on whatever the header holds.
        let on_e_entry = |at: u64| !run.slot && at + load >= jump_at && (24..28).contains(&at);
        let on_passage = |at: u64| passage.is_some() && at + load >= jump_at;
        let in_holes = span.start >= load
            && (span.start - load..span.end - load)
                .all(|at| may_hold_code(at as usize) || on_e_entry(at) || on_passage(at));
        if (!in_holes && span.start < body_from) || data_out.iter().any(|d| d.start < span.end && span.start < d.end) {
            return Err(format!("the run at {:#x} lies on header bytes a loader reads, or on the data", run.at));
        }
        if taken.iter().any(|t| t.start < span.end && span.start < t.end) || run.code_len > run.bytes.len() {
            return Err(format!("the run at {:#x} overlaps another", run.at));
        }
        taken.push(whole.clone());
        if image(out, q, whole)? != run.bytes {
            return Err(format!("the output does not hold the run at {:#x}", run.at));
        }
        let mut copied = isa.decode(&run.bytes[..run.code_len], run.at)?;
        if run.slot {
            // [code, jump, the last instruction in the jump's slot]: the jump alone
            // is inserted; the slot holds a copy.
            let (jump, slot) = run.bytes[run.code_len..].split_at_checked(4).ok_or("a slot run without a jump")?;
            let slot_copy = isa.decode(slot, jump_at + 4)?;
            if !isa.delay_slots() || slot_copy.len() != 1 || jump.len() != 4 || slot_copy[0].len != slot.len() {
                return Err(format!("the run at {:#x} claims a delay slot it cannot have", run.at));
            }
            if !isa.fills_delay_slot(&slot_copy[0], slot) {
                return Err(format!("the instruction at {:#x} may not run in a delay slot", jump_at + 4));
            }
            jump_of.insert(jump_at + 4, jump_at);
            jumps.push(jump_at..jump_at + 4);
            copied.extend(slot_copy);
        } else if passage.is_some() {
            // Proven once every copy has its place (below).
        } else {
            // An inserted jump's delay slot holds a nop.
            let inserted = &run.bytes[run.code_len..];
            if isa.delay_slots()
                && !inserted.is_empty()
                && inserted.get(inserted.len().saturating_sub(4)..) != Some(&isa::DELAY_SLOT_NOP[..])
            {
                return Err(format!("the jump at {jump_at:#x} has no nop in its delay slot"));
            }
            jumps.push(jump_at..span.end);
        }
        let originals: Vec<&Insn> = insns.iter().filter(|i| i.address >= run.from && i.address < run.to).collect();
        let ends_right = originals.last().is_some_and(|i| i.address + i.len as u64 == run.to);
        if copied.len() != originals.len() || !ends_right || originals[0].address != run.from {
            return Err(format!(
                "the run at {:#x} does not hold the instructions {:#x}..{:#x}",
                run.at, run.from, run.to
            ));
        }
        for (c, o) in copied.into_iter().zip(originals) {
            map.insert(o.address, c.address);
            copies.push((c, o.clone()));
        }
    }
    // Where control that reaches `address` in the output goes on, past inserted jumps.
    // A jump whose slot holds a copy runs that copy next.
    let resolve = |mut address: u64| -> Result<u64, String> {
        for _ in 0..=p.runs.len() {
            if let Some(&(end, _)) = passages.get(&address) {
                address = end;
                continue;
            }
            if jump_of.get(&(address + 4)) == Some(&address) {
                return Ok(address + 4);
            }
            if map.values().any(|&c| c == address) || !jumps.iter().any(|j| j.contains(&address)) {
                return Ok(address);
            }
            let at = (address - load) as usize;
            let jump = isa.decode_until(&plan_bytes(out, at), address, address + 1)?;
            match jump.first() {
                Some(j) if j.jump() => address = j.target().ok_or("a jump without a target")?,
                _ => return Err(format!("no jump at {address:#x}, among the inserted ones")),
            }
        }
        Err("inserted jumps go round in a loop".into())
    };
    // Header bytes a run goes on through destroy only what is dead before the
    // instruction whose copy they run on to: whatever path reaches them, that one
    // runs next.
    for (&at, &(end, clobbers)) in &passages {
        let next = insns.iter().position(|i| map.get(&i.address) == Some(&end));
        if next.is_none_or(|k| clobbers & !dead[k] != 0) {
            return Err(format!(
                "the header bytes at {at:#x} run on to {end:#x}, destroying what the code reads there"
            ));
        }
    }
    let byte_of = |i: &Insn, elf_bytes: &[u8], base: u64| elf_bytes[(i.address - base) as usize..][..i.len].to_vec();
    // Pairs that compute an address together (auipc/addi): re-encoded as one. The
    // copy may hold the second in its short form (RISC-V's c.addi for addi rd, rd):
    // moved back in full, the pair is the original.
    let pairs = isa.pairs(&insns, &original, entry);
    let pair_of = |n: usize| pairs.iter().find(|&&(a, b, _)| a == n || b == n);
    for (n, (c, o)) in copies.iter().enumerate() {
        let (ob, cb) = (byte_of(o, &original, entry), plan_bytes_at(p, c));
        let same_shape = (c.len == o.len || pair_of(n).is_some())
            && match (o.kind, c.kind) {
                _ if pair_of(n).is_some() => pair_of(n).is_some_and(|&(a, b, value)| {
                    let ((ca, oa), (cb, ob)) = (&copies[a], &copies[b]);
                    let (first, second) = (plan_bytes_at(p, ca), plan_bytes_at(p, cb));
                    let (orig_first, orig_second) = (byte_of(oa, &original, entry), byte_of(ob, &original, entry));
                    isa.pair_value(&first, &second, ca.address) == named(value).ok()
                        && isa.encode_pair(&first, &second, oa.address, value, false) == Some((orig_first, orig_second))
                }),
                (Kind::Branch { target, unconditional }, Kind::Branch { target: t, unconditional: u }) => {
                    // (Never into a delay slot: control would run on past it.)
                    u == unconditional
                        && map.get(&isa::resolve(&alias, target)).is_some_and(|&want| {
                            resolve(t).is_ok_and(|got| got == want) && !jump_of.contains_key(&want)
                        })
                        && isa.relocate(c, &cb, o.address, Some(target)).as_deref() == Some(&ob[..])
                }
                // A load turned: the copy is the form the load was turned into, encoded
                // where it lies to compute the literal's value; or the load itself, from a
                // word of the runs' bytes past their code (a literal pool) that holds it.
                (Kind::PcRelative { refers: Some(r) }, Kind::PcRelative { refers: Some(s) })
                    if turned.contains_key(&o.address) =>
                {
                    let load = Insn { kind: Kind::PcRelative { refers: Some(s) }, ..o.clone() };
                    let pooled = p.runs.iter().any(|run| {
                        let data = run.at + run.code_len as u64..run.at + run.bytes.len() as u64;
                        data.start <= s && s + 4 <= data.end
                    });
                    let word = image(out, q, s..s + 4).ok().and_then(|w| w.try_into().ok()).map(u32::from_le_bytes);
                    named(r) == Ok(s)
                        && turned.get(&o.address).and_then(|t| isa.relocate(c, t, c.address, None)) == Some(cb.clone())
                        || pooled
                            && word.map(u64::from) == named(r).ok()
                            && isa.relocate(&load, &ob, c.address, None) == Some(cb.clone())
                }
                // Named where it now lies, and moved back, the original.
                (Kind::PcRelative { refers: Some(r) }, Kind::PcRelative { refers: Some(s) }) => {
                    let back = Insn { kind: Kind::PcRelative { refers: Some(r) }, ..c.clone() };
                    named(r) == Ok(s) && isa.relocate(&back, &cb, o.address, None).as_deref() == Some(&ob[..])
                }
                (Kind::PcRelative { refers: None }, _) => {
                    let same_page = isa.page_relative(&ob) && c.address >> 12 == o.address >> 12;
                    cb == ob && (c.address == o.address || same_page)
                }
                // A delay slot moves only right behind its branch's copy.
                (Kind::Bound, _) => {
                    let behind = n > 0 && {
                        let (pc, po) = &copies[n - 1];
                        pc.address + pc.len as u64 == c.address && po.address + po.len as u64 == o.address
                    };
                    cb == ob && (c.address == o.address || isa.delay_slots() && behind)
                }
                (Kind::EntryRelative, _) => {
                    cb == *folded.get(&o.address).unwrap_or(&ob) && out.header.e_entry == input.header.e_entry
                }
                // x86's absolute address of the data: where it went.
                _ => {
                    match absolute.iter().find(|&&(place, _)| (o.address..o.address + o.len as u64).contains(&place)) {
                        Some(&(place, value)) => {
                            let k = (place - o.address) as usize;
                            let mut want = ob.clone();
                            let to = named(value).ok().and_then(|t| u32::try_from(t).ok());
                            match (to, want.get_mut(k..k + 4)) {
                                (Some(to), Some(word)) => {
                                    word.copy_from_slice(&to.to_le_bytes());
                                    cb == want
                                }
                                _ => false,
                            }
                        }
                        None => cb == ob,
                    }
                }
            };
        if !same_shape {
            return Err(format!("the copy at {:#x} of the instruction at {:#x} is not the same", c.address, o.address));
        }
        let jumps_slot = isa.delay_slots() && o.kind == Kind::Bound && n > 0 && copies[n - 1].1.jump();
        let falls_through = !o.jump() && !matches!(o.kind, Kind::Trap) && !jumps_slot;
        if let (true, Some((_, next))) = (falls_through, copies.get(n + 1)) {
            // From a delay slot's copy, control goes where its jump goes.
            let reached = match jump_of.get(&c.address) {
                Some(&jump) => {
                    let bytes = plan_bytes(out, (jump - load) as usize);
                    let decoded = isa.decode_until(&bytes, jump, jump + 1)?;
                    let target = decoded.first().filter(|j| j.jump()).and_then(Insn::target);
                    resolve(target.ok_or(format!("no jump at {jump:#x} before a slot"))?)?
                }
                None => resolve(c.address + c.len as u64)?,
            };
            let successor = isa::resolve(&alias, o.address + o.len as u64);
            if successor != next.address || map.get(&next.address) != Some(&reached) {
                return Err(format!("the instruction at {:#x} does not go on to its successor's copy", c.address));
            }
        }
    }
    let thumb = |e: &Elf| e.header.e_entry ^ e.entry_address();
    let into_slot = jump_of.contains_key(&out.entry_address());
    if map.get(&isa::resolve(&alias, entry)) != Some(&resolve(out.entry_address())?)
        || thumb(out) != thumb(input)
        || into_slot
    {
        return Err("the entry point does not reach the first instruction's copy".into());
    }
    Ok(code)
}

/// The output's bytes from offset `at` (the longest instruction's worth, zeros past
/// the end: the loader's page fill).
fn plan_bytes(out: &Elf, at: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = out.bytes.get(at..).unwrap_or_default().iter().copied().take(15).collect();
    bytes.resize(15, 0);
    bytes
}

/// The bytes of the copy `c` in the packing's runs.
fn plan_bytes_at(p: &Packing, c: &Insn) -> Vec<u8> {
    // (A run's last instruction may lie in its jump's delay slot, behind the jump.)
    let holds = |r: &&super::pack::Run| {
        let slot = r.at + r.code_len as u64 + 4;
        (c.address >= r.at && c.address < r.at + r.code_len as u64) || r.slot && c.address == slot
    };
    p.runs
        .iter()
        .find(holds)
        .and_then(|r| r.bytes.get((c.address - r.at) as usize..)?.get(..c.len).map(<[u8]>::to_vec))
        .unwrap_or_default()
}

/// The input's one segment loads its own headers where the output's does.
fn loads_own_headers(input: &Elf, out: &Elf) -> bool {
    let (p, q) = (&input.phdrs[0], &out.phdrs[0]);
    input.phdrs.len() == 1 && p.p_offset == 0 && q.p_offset == 0 && p.p_vaddr == q.p_vaddr
}

/// Every byte the input loads from its file, past its own headers and outside the
/// `moved` code (checked on its own), the output loads at the same address with the
/// same permissions; the segment ends where it did. Or, where the data moved (`data`),
/// the output's one segment loads the data at its new place, with the permissions
/// it had.
fn same_memory(input: &Elf, out: &Elf, moved: std::ops::Range<u64>, data: Option<&pack::MovedData>) -> Result<(), Bug> {
    let fail = |what: String| Err(Bug(format!("our own output is wrong: {what}")));
    if let Some(data) = data {
        let (p, q) = (&input.phdrs[0], &out.phdrs[0]);
        if (q.p_flags ^ p.p_flags) & fields::P_FLAGS_READ != 0 || out.phdrs.len() != 1 {
            return fail("the segment changed permissions".into());
        }
        for address in data.pieces.iter().flat_map(|(from, _)| from.clone()) {
            let theirs = loaded_byte(input, p, address);
            let ours = data
                .map(address)
                .filter(|&a| a >= q.p_vaddr && a - q.p_vaddr < q.p_memsz)
                .and_then(|a| loaded_byte(out, q, a));
            if theirs.is_none() || theirs != ours {
                return fail(format!("the data at {address:#x} does not load the same at its new place"));
            }
        }
        return Ok(());
    }
    for p in input.loads() {
        let Some(q) = out.loads().find(|q| q.p_vaddr <= p.p_vaddr && q.p_vaddr + q.p_memsz >= p.p_vaddr + p.p_memsz)
        else {
            return fail(format!("the input's segment at {:#x} is not loaded whole", p.p_vaddr));
        };
        // The segment may end later (p_memsz spelling an instruction, pack.rs), not
        // earlier; the memory it adds is no part of the program.
        if (q.p_flags ^ p.p_flags) & fields::P_FLAGS_READ != 0 || q.p_vaddr + q.p_memsz < p.p_vaddr + p.p_memsz {
            return fail(format!("the segment at {:#x} changed permissions or ends earlier", p.p_vaddr));
        }
        // Pages the segment maps wholly past the file's end fault when touched: none
        // may hold memory of the input's segment that loaded without a fault there.
        let (theirs, ours) = (faulting(input, p), faulting(out, q));
        let touched = ours.start.max(p.p_vaddr)..ours.end.min(p.p_vaddr + p.p_memsz);
        let theirs_too = theirs.start <= touched.start && touched.end <= theirs.end;
        if !touched.is_empty() && !theirs_too {
            return fail(format!("memory at {:#x} faults: the segment maps it past the file's end", touched.start));
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

/// The addresses of segment `p` of `elf` that fault when touched: those its file bytes
/// (p_filesz) map from pages wholly past the end of the file.
fn faulting(elf: &Elf, p: &ProgramHeader) -> std::ops::Range<u64> {
    let file_pages_end = (elf.bytes.len() as u64).next_multiple_of(PAGE);
    let start = p.p_vaddr.saturating_add(file_pages_end.saturating_sub(p.p_offset));
    let end = p.p_vaddr.saturating_add(p.p_filesz);
    start..end.max(start)
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
