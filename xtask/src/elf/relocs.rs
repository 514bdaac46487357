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
//!
//! Two more things they tell, where they can:
//! - x86's absolute addresses (`mov esi, imm32`): a place where the linker wrote an
//!   address whole, 4 bytes; the packer writes the data's new address there.
//! - the data's objects: where every loaded section of the data is one object of the
//!   compiler's (linked with lld's `--unique`, crates/link.ld: each static its own
//!   section, as `-fdata-sections` emits them), and every relocation that names the
//!   data names it through the section it points into, each object may move on its
//!   own, into header bytes or behind the code. A program reaches an object only
//!   from its own address (anything else is undefined behaviour, in C and in Rust:
//!   what `--gc-sections` relies on too), so a reference moves with its object.

use std::ops::Range;

use goblin::elf::{
    Elf as Goblin,
    header::{EM_386, EM_X86_64},
    reloc::{R_386_32, R_X86_64_32, R_X86_64_32S},
    section_header::{SHF_ALLOC, SHF_EXECINSTR, SHT_NOBITS, SHT_REL, SHT_RELA},
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
    /// The places (among `places`) where the linker wrote a data address whole, as a
    /// 4-byte word (x86's R_X86_64_32, R_X86_64_32S, R_386_32), and that address.
    pub absolute: Vec<(u64, u64)>,
    /// The data's objects, in address order, where each may move on its own (see the
    /// module's text); empty where the data moves as one block, if at all.
    pub objects: Vec<Object>,
    /// The places whose relocation names an object (by its symbol's section), and
    /// which (an index into `objects`). A reference moves with the object it names
    /// (`plan::movable_data` checks that it names an address inside it).
    pub names: std::collections::BTreeMap<u64, usize>,
}

/// The most objects the data may have to move one by one: the planner tries the
/// ways to lay them out (`plan::arrangements`).
pub const MAX_OBJECTS: usize = 16;

/// One object of the data: a loaded section of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its addresses.
    pub range: Range<u64>,
    /// The alignment its section asks for: it keeps its address modulo this.
    pub align: u64,
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
    // The data's sections: loaded, not code, with bytes in the file.
    let in_data = |i: usize| {
        let s = &sections[i];
        alloc(s)
            && s.sh_flags & u64::from(SHF_EXECINSTR) == 0
            && s.sh_type != SHT_NOBITS
            && !spans[i].is_empty()
            && data.start <= spans[i].start
            && spans[i].end <= data.end
    };
    let absolute_type = |r_type: u32| match elf.header.e_machine {
        EM_X86_64 => r_type == R_X86_64_32 || r_type == R_X86_64_32S,
        EM_386 => r_type == R_386_32,
        _ => false,
    };
    // The segment that loads the data: its bytes, where the data's are read.
    let segment = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == goblin::elf::program_header::PT_LOAD && data.start.wrapping_sub(p.p_vaddr) < p.p_filesz);
    let loaded_byte = |a: u64| {
        let segment = segment?;
        let off = a.wrapping_sub(segment.p_vaddr);
        (off < segment.p_filesz).then(|| bytes.get(usize::try_from(segment.p_offset.checked_add(off)?).ok()?)).flatten()
    };
    let mut places = Vec::new();
    let mut absolute = Vec::new();
    // (place, the section its relocation's symbol lies in): the object it names.
    let mut named = Vec::new();
    for (index, relocs) in &elf.shdr_relocs {
        // sh_info names the section the relocations apply to; debug sections'
        // relocations change nothing that loads.
        let applies_to = sections.get(*index)?.sh_info as usize;
        if !loaded(applies_to) {
            continue;
        }
        for r in relocs.iter() {
            // In an executable, r_offset is the place's address.
            places.push(r.r_offset);
            let section = elf.syms.get(r.r_sym).map(|s| s.st_shndx).filter(|&i| i < sections.len());
            named.push((r.r_offset, section));
            if absolute_type(r.r_type) {
                // The linker wrote S + A there: read it back (REL keeps the addend
                // in the place, where RELA has it apart).
                let word: Option<Vec<u8>> = (0..4).map(|k| loaded_byte(r.r_offset.checked_add(k)?).copied()).collect();
                let value = u64::from(u32::from_le_bytes(word?.try_into().ok()?));
                if data.contains(&value) {
                    absolute.push((r.r_offset, value));
                }
            }
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
    let mut objects: Vec<(usize, Object)> = (0..sections.len())
        .filter(|&i| in_data(i))
        .map(|i| (i, Object { range: spans[i].clone(), align: sections[i].sh_addralign.max(1) }))
        .collect();
    objects.sort_by_key(|(_, o)| o.range.start);
    // Objects that overlap, or leave bytes of the data that are not zero padding
    // between them: the data is not what its sections say; it moves whole. (Past
    // MAX_OBJECTS, or data longer than the file, nothing is tried.)
    let starts = objects.iter().map(|(_, o)| o.range.start).chain([data.end]);
    let ends = [data.start].into_iter().chain(objects.iter().map(|(_, o)| o.range.end));
    let covered = objects.len() <= MAX_OBJECTS
        && data.end - data.start <= bytes.len() as u64
        && ends.zip(starts).all(|(end, start)| end <= start && (end..start).all(|a| loaded_byte(a) == Some(&0)));
    let object_of: std::collections::BTreeMap<usize, usize> =
        objects.iter().enumerate().map(|(k, &(section, _))| (section, k)).collect();
    let names = named.into_iter().filter_map(|(place, section)| Some((place, *object_of.get(&section?)?))).collect();
    let mut objects: Vec<Object> = objects.into_iter().map(|(_, o)| o).collect();
    if !(covered && objects.len() > 1 && objects.iter().all(|o| o.align.is_power_of_two())) {
        objects.clear();
    }
    absolute.sort_unstable();
    data_align.is_power_of_two().then_some(Linked { places, data_align, absolute, objects, names })
}
