//! Writing the planned file with object's ELF writer: lay out first (reserve), then
//! write in the same order; no offset is patched afterwards.

use object::{
    Endianness,
    write::elf::{FileHeader, ProgramHeader, Writer},
};

use super::{Elf, Plan, Refusal};

pub fn write(elf: &Elf, plan: &Plan) -> Result<Vec<u8>, Refusal> {
    let endian = if elf.little_endian { Endianness::Little } else { Endianness::Big };
    let mut out = Vec::with_capacity(plan.keep);
    let mut w = Writer::new(endian, elf.is_64, &mut out);

    // Layout: header, program headers, then the input's bytes up to `keep`.
    w.reserve_file_header();
    w.reserve_program_headers(plan.phdrs.len() as u32);
    let body = w.reserved_len();
    w.reserve_until(plan.keep);

    let h = &elf.header;
    w.write_file_header(&FileHeader {
        os_abi: h.e_ident[goblin::elf::header::EI_OSABI],
        abi_version: h.e_ident[goblin::elf::header::EI_ABIVERSION],
        e_type: h.e_type,
        e_machine: h.e_machine,
        e_entry: h.e_entry,
        e_flags: h.e_flags,
    })
    .map_err(|e| Refusal(format!("cannot write the ELF header: {e}")))?;
    w.write_align_program_headers();
    for p in &plan.phdrs {
        w.write_program_header(&ProgramHeader {
            p_type: p.p_type,
            p_flags: p.p_flags,
            p_offset: p.p_offset,
            p_vaddr: p.p_vaddr,
            p_paddr: p.p_paddr,
            p_filesz: p.p_filesz,
            p_memsz: p.p_memsz,
            p_align: p.p_align,
        });
    }
    debug_assert_eq!(w.len(), body);
    w.write(&elf.bytes[body..plan.keep]);
    Ok(out)
}
