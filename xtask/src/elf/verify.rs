//! Proving an output well-formed before it is written: parse it back with goblin (the
//! same checks any input passes) and compare it with the plan, field by field.

use goblin::elf::header::SIZEOF_IDENT;

/// First padding byte of e_ident (after EI_ABIVERSION).
const EI_PAD: usize = 9;

use super::{Elf, Plan, Refusal, read, refuse};

/// The lowest address a segment may load at: vm.mmap_min_addr is 64 KiB on arm64 and
/// ppc64le kernels, and a container cannot map page 0 at all.
pub const MIN_LOAD_ADDRESS: u64 = 0x10000;

pub fn verify(input: &Elf, plan: &Plan, output: &[u8]) -> Result<(), Refusal> {
    let out = read(output).map_err(|r| Refusal(format!("our own output does not read back: {r}")))?;
    let h = &out.header;
    let fail = |what: &str| Refusal(format!("our own output is wrong: {what}"));
    if output.len() != plan.keep {
        return Err(fail("its length is not the planned one"));
    }
    if h.e_shoff != 0 || h.e_shnum != 0 || h.e_shstrndx != 0 {
        return Err(fail("it still points at section headers"));
    }
    if output[EI_PAD..SIZEOF_IDENT].iter().any(|&b| b != 0) {
        return Err(fail("e_ident padding is not zero (binfmt_misc masks compare it)"));
    }
    let i = &input.header;
    let same = (h.e_ident[..EI_PAD] == i.e_ident[..EI_PAD])
        && (h.e_type, h.e_machine, h.e_entry, h.e_flags) == (i.e_type, i.e_machine, i.e_entry, i.e_flags);
    if !same {
        return Err(fail("identification, type, machine, entry or flags changed"));
    }
    if out.phdrs != plan.phdrs {
        return Err(fail("program headers differ from the plan"));
    }
    if output.len() < out.phdrs_end() {
        return Err(fail("the program header table is not inside the file"));
    }
    let segments_end = out.phdrs.iter().map(|p| p.p_offset + p.p_filesz).max().unwrap_or(0);
    if output.len() as u64 > segments_end.max(out.phdrs_end() as u64) {
        return Err(fail("bytes after the last segment"));
    }
    let body = out.phdrs_end();
    if output[body..] != input.bytes[body..plan.keep] {
        return Err(fail("segment bytes differ from the input's"));
    }
    let cut_end = (segments_end as usize).min(input.bytes.len());
    if input.bytes.get(plan.keep..cut_end).is_some_and(|cut| cut.iter().any(|&b| b != 0)) {
        return Err(fail("it cut bytes that are not zero"));
    }
    for (n, p) in out.loads().enumerate() {
        if p.p_vaddr < MIN_LOAD_ADDRESS {
            refuse!(
                "segment {n} loads at {:#x}, below {MIN_LOAD_ADDRESS:#x} (vm.mmap_min_addr): the kernel refuses it",
                p.p_vaddr
            );
        }
    }
    Ok(())
}
