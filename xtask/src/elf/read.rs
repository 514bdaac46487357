//! Reading an input ELF with goblin, checking every count and offset against the file
//! before anything trusts it. Only the ELF header and the program headers are parsed:
//! section tables, symbols and dynamic data are never needed and never read.

use goblin::{
    container::{Container, Ctx, Endian},
    elf::{Elf as GoblinElf, header::*, program_header::*},
};

use super::{Refusal, refuse};

/// The smallest page size of any Linux architecture we know.
pub const PAGE: u64 = 4096;
/// e_phnum's escape value: the real count would be in section header 0.
const PN_XNUM: u16 = 0xffff;

/// A static executable as the loader sees it: its header and program headers.
#[derive(Debug)]
pub struct Elf<'a> {
    pub bytes: &'a [u8],
    pub header: Header,
    pub phdrs: Vec<ProgramHeader>,
    pub is_64: bool,
    pub little_endian: bool,
}

impl Elf<'_> {
    /// Size of the ELF header for this class.
    pub fn ehsize(&self) -> usize {
        super::fields::sizes(self.is_64).0
    }

    pub fn phentsize(&self) -> usize {
        super::fields::sizes(self.is_64).1
    }

    /// File offset just past the program header table.
    pub fn phdrs_end(&self) -> usize {
        self.header.e_phoff as usize + self.phdrs.len() * self.phentsize()
    }

    /// The first byte after the last header byte a loader reads (see fields.rs).
    pub fn headers_read_end(&self) -> usize {
        super::fields::headers_read_end(self.is_64, self.header.e_phoff as usize, self.phdrs.len())
    }

    /// The address execution starts at; on ARM bit 0 only selects Thumb state.
    pub fn entry_address(&self) -> u64 {
        if self.header.e_machine == EM_ARM { self.header.e_entry & !1 } else { self.header.e_entry }
    }

    pub fn loads(&self) -> impl Iterator<Item = &ProgramHeader> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }
}

/// Parse and check `bytes` as a static, non-PIE executable.
pub fn read(bytes: &[u8]) -> Result<Elf<'_>, Refusal> {
    if bytes.is_empty() {
        refuse!("empty file, not an ELF executable");
    }
    if bytes.len() < SIZEOF_IDENT || &bytes[..SELFMAG] != ELFMAG {
        refuse!("not an ELF file (no \\x7fELF magic at the start)");
    }
    let is_64 = match bytes[EI_CLASS] {
        ELFCLASS32 => false,
        ELFCLASS64 => true,
        c => refuse!("invalid ELF class {c} in e_ident (expected 1 or 2)"),
    };
    let (ehsize, phentsize) = super::fields::sizes(is_64);
    let little_endian = match bytes[EI_DATA] {
        ELFDATA2LSB => true,
        ELFDATA2MSB => false,
        d => refuse!("invalid ELF byte order {d} in e_ident (expected 1 or 2)"),
    };
    if bytes[EI_VERSION] != EV_CURRENT {
        refuse!("invalid ELF version {} in e_ident (expected 1)", bytes[EI_VERSION]);
    }
    if bytes.len() < ehsize {
        refuse!("truncated: {} bytes, shorter than the {ehsize}-byte ELF header", bytes.len());
    }
    let header = match GoblinElf::parse_header(bytes) {
        Ok(h) => h,
        Err(e) => refuse!("unreadable ELF header: {e}"),
    };
    match header.e_type {
        ET_EXEC => {}
        ET_DYN => refuse!(
            "a position-independent executable or shared library (ET_DYN): only static, \
             non-PIE executables can be shrunk (link with -static -no-pie)"
        ),
        ET_REL => refuse!("a relocatable object (ET_REL), not an executable: link it first"),
        ET_CORE => refuse!("a core dump (ET_CORE), not an executable"),
        t => refuse!("unknown ELF type {t:#x}, not an executable"),
    }
    if header.e_ehsize as usize != ehsize {
        refuse!("e_ehsize is {}, not {ehsize}: loaders refuse it", header.e_ehsize);
    }
    if header.e_phentsize as usize != phentsize {
        refuse!("e_phentsize is {}, not {phentsize}: loaders refuse it", header.e_phentsize);
    }
    let phnum = header.e_phnum as usize;
    if phnum == 0 {
        refuse!("no program headers: nothing for the kernel to load");
    }
    if phnum == PN_XNUM as usize {
        refuse!("e_phnum is PN_XNUM (65535 or more program headers): not an executable we can shrink");
    }
    let table_end = (header.e_phoff).checked_add((phnum * phentsize) as u64).filter(|&end| end <= bytes.len() as u64);
    if table_end.is_none() {
        refuse!(
            "truncated: the program header table ({phnum} entries at offset {:#x}) runs past \
             the end of the file ({} bytes)",
            header.e_phoff,
            bytes.len()
        );
    }
    let ctx = Ctx::new(
        if is_64 { Container::Big } else { Container::Little },
        if little_endian { Endian::Little } else { Endian::Big },
    );
    let phdrs = match ProgramHeader::parse(bytes, header.e_phoff as usize, phnum, ctx) {
        Ok(p) => p,
        Err(e) => refuse!("unreadable program headers: {e}"),
    };
    let elf = Elf { bytes, header, phdrs, is_64, little_endian };
    check_segments(&elf)?;
    Ok(elf)
}

/// What every loadable file must satisfy before we plan anything for it.
fn check_segments(elf: &Elf) -> Result<(), Refusal> {
    let len = elf.bytes.len() as u64;
    let addr_limit = if elf.is_64 { u64::MAX } else { u32::MAX as u64 };
    for (i, ph) in elf.phdrs.iter().enumerate() {
        let name = pt_to_str(ph.p_type);
        match ph.p_type {
            PT_INTERP => {
                refuse!("dynamically linked (program header {i} is PT_INTERP): only static executables can be shrunk")
            }
            PT_DYNAMIC => refuse!(
                "has dynamic relocations or libraries (program header {i} is PT_DYNAMIC): only static executables can be shrunk"
            ),
            _ => {}
        }
        // A segment may end past the end of the file, within the file's last page:
        // the loader maps that page and reads zeros past EOF (what `shrink` makes of
        // trailing zeros). Further out the mapping faults where touched: truncated,
        // unless p_filesz spells the code's last instruction (pack.rs: the ISA's size
        // word) with p_filesz = p_memsz, as the packer writes it: the loaders map
        // those pages, have nothing to zero there and leave them alone, and the
        // verifier proves the program's memory lies on pages the file reaches.
        let end = ph.p_offset.checked_add(ph.p_filesz);
        if end.is_none_or(|end| end > len.next_multiple_of(PAGE) && !spells_size_word(elf, ph)) {
            refuse!(
                "truncated: segment {i} ({name}) needs file bytes {:#x}..{:#x}, the file has {len}",
                ph.p_offset,
                ph.p_offset.saturating_add(ph.p_filesz)
            );
        }
        if ph.p_type != PT_LOAD {
            continue;
        }
        if ph.p_memsz == 0 {
            refuse!("segment {i} (PT_LOAD) is empty (p_memsz 0)");
        }
        if ph.p_filesz > ph.p_memsz {
            refuse!(
                "segment {i} (PT_LOAD) has p_filesz {:#x} > p_memsz {:#x}: the kernel refuses it",
                ph.p_filesz,
                ph.p_memsz
            );
        }
        if ph.p_vaddr.checked_add(ph.p_memsz).is_none_or(|end| end > addr_limit) {
            refuse!("segment {i} (PT_LOAD) wraps past the end of the address space");
        }
        // The kernel maps from the page holding p_offset to the page holding p_vaddr:
        // they must sit at the same place in their pages. (p_align itself is only read
        // for ET_DYN; the overlapped layout puts code there.)
        if ph.p_offset % PAGE != ph.p_vaddr % PAGE {
            refuse!(
                "segment {i} (PT_LOAD): offset {:#x} and address {:#x} differ modulo the {PAGE}-byte page: the kernel cannot map it",
                ph.p_offset,
                ph.p_vaddr
            );
        }
    }
    if elf.loads().next().is_none() {
        refuse!("no PT_LOAD segment: nothing for the kernel to load");
    }
    check_no_overlap(elf)?;
    let entry = elf.entry_address();
    let in_code = elf.loads().any(|p| p.is_executable() && entry >= p.p_vaddr && entry - p.p_vaddr < p.p_memsz);
    if !in_code {
        refuse!("the entry point {:#x} is not inside an executable PT_LOAD segment", elf.header.e_entry);
    }
    Ok(())
}

/// `ph` is a PT_LOAD with p_filesz = p_memsz = the size word of `elf`'s ISA
/// (`Isa::size_word`): the code's last instruction lies on p_filesz.
fn spells_size_word(elf: &Elf, ph: &ProgramHeader) -> bool {
    let size = super::isa::Isa::of(&elf.header).and_then(|isa| isa.size_word_value()).filter(|_| elf.little_endian);
    ph.p_type == PT_LOAD && ph.p_filesz == ph.p_memsz && Some(ph.p_filesz) == size
}

/// No two PT_LOAD segments share an address: where they do, what loads there depends
/// on the order the loader maps them in (and one's zero fill may clear the other's
/// bytes). No linker writes that, and the verifier could not prove an output loads
/// the same memory. (Segments may share a page, not a byte.)
fn check_no_overlap(elf: &Elf) -> Result<(), Refusal> {
    let mut loads: Vec<(usize, &ProgramHeader)> =
        elf.phdrs.iter().enumerate().filter(|(_, p)| p.p_type == PT_LOAD).collect();
    loads.sort_by_key(|(_, p)| p.p_vaddr);
    for pair in loads.windows(2) {
        let ((i, a), (j, b)) = (pair[0], pair[1]);
        // No wrap: check_segments has bounded every segment's end.
        if a.p_vaddr + a.p_memsz > b.p_vaddr {
            refuse!(
                "segments {i} and {j} (PT_LOAD) overlap in memory at {:#x}: what loads there depends on the loader",
                b.p_vaddr
            );
        }
    }
    Ok(())
}
