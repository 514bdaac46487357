//! Deciding what the output keeps, before any byte is written: the plan can be printed
//! (`shrink --explain`) and the writer and the verifier both follow it.

use goblin::elf::program_header::ProgramHeader;

use super::{Elf, Refusal, read::PAGE, refuse};

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
    let len = elf.bytes.len();
    let headers_end = elf.phdrs_end();
    // The last byte any segment takes from the file (it may already lie past EOF).
    let segments_end = elf.phdrs.iter().map(|p| p.p_offset + p.p_filesz).max().unwrap_or(0);
    let data_end = (segments_end.min(len as u64) as usize).max(headers_end);

    // Everything past the last byte a segment holds is never loaded: section headers,
    // symbol tables, .comment, debug info.
    let mut steps = vec![(
        "after the last segment: section headers, symbols, non-loaded sections (e_shoff, e_shnum = 0)".to_string(),
        len - data_end,
    )];

    // Trailing zeros: cut from the file but not from p_filesz. The loader maps the
    // file's last page, which reads as zeros past EOF, so the segment is unchanged.
    // (Lowering p_filesz instead would ask the loader to zero-fill a read-only page:
    // qemu-user crashes on that.) Bytes past the last page would fault: stop there.
    let mut keep = data_end;
    while keep > headers_end && elf.bytes[keep - 1] == 0 {
        keep -= 1;
    }
    let last_page_start = segments_end.saturating_sub(1) / PAGE * PAGE;
    keep = keep.max((last_page_start + 1).min(data_end as u64) as usize);
    steps.push(("trailing zero bytes, which the loader reads from the page past EOF".into(), data_end - keep));

    Ok(Plan { keep, phdrs: elf.phdrs.clone(), steps })
}
