//! What a file linked with `--emit-relocs` says of itself: every place where the
//! linker wrote an address (a relocation's place, kept in the output). The packer
//! moves the data that lies before the code, and the whole image to another load
//! address, only where these places prove that nothing names the data but
//! PC-relative instructions of the code, which it re-encodes (plan.rs,
//! `movable_data`). A hard-coded address, a pointer in the data, a TOC: each is a
//! place inside no such instruction, and the data then stays where it lies.
//!
//! A file without relocations (linked without the flag, or shrunk before) is no bad
//! input: its data stays where it lies, as it always did.

use std::ops::Range;

use goblin::elf::{
    Elf as Goblin,
    section_header::{SHF_ALLOC, SHT_REL, SHT_RELA},
};

/// What the relocations of a file say about its loaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// The addresses where the linker wrote a reference, in the loaded sections:
    /// sorted, each once.
    pub places: Vec<u64>,
    /// The largest alignment a loaded section that overlaps the data asks for: the
    /// data keeps its address modulo this where it moves.
    pub data_align: u64,
}

/// The relocation places of `bytes`, an executable, and the data's alignment (`data`:
/// its addresses; `entry`: the entry point). None where nothing says what names the
/// data: the section headers do not parse, or the section that holds the entry point
/// has no relocation section of its own (linked without `--emit-relocs`; lld writes
/// none where a section needs no relocation, and code that names other sections
/// needs one); or a relocation section loads (dynamic relocations, which write
/// addresses at run time).
pub fn read(bytes: &[u8], data: Range<u64>, entry: u64) -> Option<Linked> {
    let elf = Goblin::parse(bytes).ok()?;
    let sections = &elf.section_headers;
    let alloc = |s: &goblin::elf::SectionHeader| s.sh_flags & u64::from(SHF_ALLOC) != 0;
    let is_relocs = |s: &&goblin::elf::SectionHeader| s.sh_type == SHT_RELA || s.sh_type == SHT_REL;
    // A section whose address range wraps around: a hostile file, of which nothing is known.
    let spans =
        sections.iter().map(|s| Some(s.sh_addr..s.sh_addr.checked_add(s.sh_size)?)).collect::<Option<Vec<_>>>()?;
    let code = (0..sections.len()).position(|i| alloc(&sections[i]) && spans[i].contains(&entry))?;
    if !sections.iter().filter(is_relocs).any(|s| s.sh_info as usize == code)
        || sections.iter().filter(is_relocs).any(alloc)
    {
        return None;
    }
    let loaded = |index: usize| sections.get(index).is_some_and(alloc);
    let mut places = Vec::new();
    for (index, relocs) in &elf.shdr_relocs {
        // sh_info names the section the relocations apply to; debug sections'
        // relocations change nothing that loads.
        let applies_to = sections.get(*index)?.sh_info as usize;
        if loaded(applies_to) {
            // In an executable, r_offset is the place's address.
            places.extend(relocs.iter().map(|r| r.r_offset));
        }
    }
    // Relocation sections goblin did not read (a count that disagrees): unknown.
    let read_sections = elf.shdr_relocs.len();
    let listed = sections.iter().filter(is_relocs).count();
    if read_sections != listed {
        return None;
    }
    places.sort_unstable();
    places.dedup();
    let data_align = sections
        .iter()
        .zip(&spans)
        .filter(|(s, span)| alloc(s) && !span.is_empty() && span.start < data.end && data.start < span.end)
        .map(|(s, _)| s.sh_addralign.max(1))
        .max()
        .unwrap_or(1);
    data_align.is_power_of_two().then_some(Linked { places, data_align })
}
