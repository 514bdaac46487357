//! Deciding what the output keeps, before any byte is written: the plan can be printed
//! (`shrink --explain`) and the writer and the verifier both follow it.

use goblin::elf::program_header::{PT_LOAD, ProgramHeader};

use super::{Elf, Refusal, refuse};

#[derive(Debug, Clone)]
pub struct Plan {
    /// The output is the input's first `keep` bytes, with new headers.
    pub keep: usize,
    /// The program headers to write, in the input's order.
    pub phdrs: Vec<ProgramHeader>,
    /// Each decision, with the bytes it saves: what `--explain` prints.
    pub steps: Vec<(String, usize)>,
}

impl Plan {
    /// One line per decision, then the total.
    pub fn explain(&self, input_len: usize) -> String {
        let mut text = String::new();
        for (what, saved) in &self.steps {
            text += &format!("  {saved:>8} bytes  {what}\n");
        }
        text += &format!("  {input_len} -> {} bytes\n", self.keep);
        text
    }
}

pub fn plan(elf: &Elf) -> Result<Plan, Refusal> {
    let ehsize = elf.ehsize();
    // object's writer puts the program headers right after the ELF header, where every
    // linker we know puts them; anything else would mean moving them (not done yet).
    if elf.header.e_phoff as usize != ehsize {
        refuse!(
            "the program header table is at offset {:#x}, not right after the ELF header ({ehsize:#x}): not supported",
            elf.header.e_phoff
        );
    }
    let mut steps = Vec::new();
    let len = elf.bytes.len();
    let headers_end = elf.phdrs_end();

    // Everything past the last byte a segment holds is never loaded: section headers,
    // symbol tables, .comment, debug info.
    let segments_end = elf
        .phdrs
        .iter()
        .map(|p| (p.p_offset + p.p_filesz) as usize)
        .max()
        .unwrap_or(0)
        .max(headers_end);
    if elf.header.e_shnum > 0 || elf.header.e_shoff > 0 {
        steps.push(("section header table: e_shoff, e_shnum, e_shstrndx set to 0".into(), 0));
    }
    steps.push(("bytes after the last segment (sections, symbols, section headers)".into(), len - segments_end));

    // Trailing zeros of the last segment: the kernel zero-fills up to p_memsz anyway.
    let mut keep = segments_end;
    while keep > headers_end && elf.bytes[keep - 1] == 0 && ends_inside_load(elf, keep) {
        keep -= 1;
    }
    steps.push(("trailing zero bytes, left to the loader's zero fill (p_filesz lowered)".into(), segments_end - keep));

    let phdrs = elf
        .phdrs
        .iter()
        .map(|p| {
            let mut p = p.clone();
            let end = p.p_offset + p.p_filesz;
            if end > keep as u64 {
                p.p_filesz = (keep as u64).saturating_sub(p.p_offset);
            }
            p
        })
        .collect();
    Ok(Plan { keep, phdrs, steps })
}

/// True if file offset `end - 1` lies in the file part of a PT_LOAD segment, so that
/// cutting it leaves a zero the loader supplies (the byte is still inside p_memsz).
fn ends_inside_load(elf: &Elf, end: usize) -> bool {
    let at = (end - 1) as u64;
    elf.loads().any(|p| p.p_type == PT_LOAD && at >= p.p_offset && at < p.p_offset + p.p_filesz)
}
