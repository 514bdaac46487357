//! The bytes of an ELF header and a program header, and which of them a loader reads.
//!
//! The overlapping layout (plan.rs) puts the program header on top of the ELF header's
//! tail and the code on top of the program header's tail. Two headers may share a byte
//! only where at most one of them needs a particular value there: a "fixed" byte is
//! one that the Linux kernel or qemu-user reads (measured on Linux 6.1/6.18 and qemu
//! 7.2 in the project's ELF-NOTES.md); a "free" byte is one neither reads in an
//! ET_EXEC file, and any value works there.

use goblin::elf::{header::Header, program_header::ProgramHeader};

use super::isa;
use object::{
    elf,
    endian::{Endianness, U16, U32, U64},
    pod::bytes_of,
};

/// A byte range of a header that neither loader reads, and why it is free.
struct Free {
    range: std::ops::Range<usize>,
    why: &'static str,
}

/// ELF64 header bytes no loader reads (offsets per the gABI).
const FREE_EHDR_64: &[Free] = &[
    Free { range: 7..8, why: "EI_OSABI: Linux runs ELFOSABI_NONE and GNU alike; binfmt_misc masks skip it" },
    Free { range: 20..24, why: "e_version: neither loader checks it" },
    Free { range: 40..48, why: "e_shoff: section headers are for linkers and debuggers" },
    Free { range: 58..64, why: "e_shentsize, e_shnum, e_shstrndx: same" },
];

/// ELF32 header bytes no loader reads.
const FREE_EHDR_32: &[Free] = &[
    Free { range: 7..8, why: FREE_EHDR_64[0].why },
    Free { range: 20..24, why: FREE_EHDR_64[1].why },
    Free { range: 32..36, why: FREE_EHDR_64[2].why },
    Free { range: 46..52, why: FREE_EHDR_64[3].why },
];

/// Program header bytes no loader reads for ET_EXEC: the kernel maps at p_vaddr
/// (MAP_FIXED) and looks at p_align only for ET_DYN; qemu-user likewise.
const FREE_PHDR_64: &[Free] = &[
    Free { range: 24..32, why: "p_paddr: physical addresses mean nothing to a process" },
    Free { range: 48..56, why: "p_align: only consulted when placing ET_DYN files" },
];
const FREE_PHDR_32: &[Free] =
    &[Free { range: 12..16, why: FREE_PHDR_64[0].why }, Free { range: 28..32, why: FREE_PHDR_64[1].why }];

/// The bits of p_flags a loader reads: PF_R, PF_W, PF_X (and the rest of that byte,
/// to be safe). Linux's elf_map and qemu-user's load_elf_image test those three bits
/// of a PT_LOAD; neither reads the OS- or processor-specific bits above them
/// (ELF-NOTES.md; shared/packing's x86_64 layout keeps code there, booted).
pub const P_FLAGS_READ: u32 = 0xff;

/// The bytes of p_flags above P_FLAGS_READ, as offsets in one program header: where
/// code may go.
fn free_p_flags(is_64: bool, little_endian: bool) -> Free {
    let at = if is_64 { 4 } else { 24 };
    let high = if little_endian { 1..4 } else { 0..3 };
    Free { range: at + high.start..at + high.end, why: "p_flags above R, W, X: no loader reads those bits" }
}

/// The bytes of e_flags whose every bit no loader of `machine` reads (the ISA's file
/// in isa/ says which bits, and why): where code may go.
fn free_e_flags(is_64: bool, little_endian: bool, machine: u16) -> Option<Free> {
    let flags = isa::free_e_flags(machine)?;
    let at = if is_64 { 48 } else { 36 };
    // Byte i of the field holds bits 8i.. (little-endian) or 8(3-i).. (big-endian).
    let free = |i: usize| {
        let shift = 8 * if little_endian { i } else { 3 - i };
        (flags.bits >> shift) & 0xff == 0xff
    };
    // The longest run of free bytes (the masks in isa/ leave one run).
    let (start, len) =
        (0..4).flat_map(|s| (s..4).take_while(|&i| free(i)).last().map(|e| (s, e + 1 - s))).max_by_key(|&(_, l)| l)?;
    Some(Free { range: at + start..at + start + len, why: flags.why })
}

/// A header byte that code may lie on though loaders (or our own decoder) read some of
/// its bits: the byte of code there must have `value` on the bits of `mask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBits {
    /// File offset.
    pub at: usize,
    pub mask: u8,
    pub value: u8,
}

impl ReadBits {
    /// Whether `byte` keeps the bits that are read.
    pub fn kept_by(&self, byte: u8) -> bool {
        (byte ^ self.value) & self.mask == 0
    }
}

/// The bytes of e_flags (whose value is `e_flags`) that are read but not wholly: the
/// bits of each that some loader of `machine` reads (isa/'s `free_e_flags`, all of
/// them where nobody measured which), and the value they must keep. Code may lie on
/// such a byte where its own byte there has that value on those bits: e_flags then
/// reads as before on every bit a loader looks at. (A byte whose every bit is read,
/// as ARM's EABI version, counts too: code's byte must then equal it.)
pub fn e_flags_read_bits(is_64: bool, little_endian: bool, machine: u16, e_flags: u32) -> Vec<ReadBits> {
    let read = !e_flags_free_bits(machine);
    let at = if is_64 { 48 } else { 36 };
    (0..4)
        .map(|i| {
            let shift = 8 * if little_endian { i } else { 3 - i };
            let mask = (read >> shift) as u8;
            ReadBits { at: at + i, mask, value: (e_flags >> shift) as u8 & mask }
        })
        .filter(|r| r.mask != 0)
        .collect()
}

/// The bits of e_flags no loader of `machine` reads: they may change.
pub fn e_flags_free_bits(machine: u16) -> u32 {
    isa::free_e_flags(machine).map_or(0, |f| f.bits)
}

/// For each byte from offset 0 to the end of the program header table at `phoff`:
/// true when a loader reads it, as the ELF header or as one of `phnum` program
/// headers (a byte one of them reads counts, where they overlap).
pub fn loader_reads(is_64: bool, little_endian: bool, machine: u16, phoff: usize, phnum: usize) -> Vec<bool> {
    let mut mask = ehdr_fixed(is_64);
    if let Some(free) = free_e_flags(is_64, little_endian, machine) {
        mask[free.range].fill(false);
    }
    let phdr = phdr_fixed(is_64);
    let end = phoff + phnum * phdr.len();
    mask.resize(mask.len().max(end), false);
    let p_flags = free_p_flags(is_64, little_endian).range;
    for n in 0..phnum {
        for (i, &reads) in phdr.iter().enumerate() {
            mask[phoff + n * phdr.len() + i] |= reads && !p_flags.contains(&i);
        }
    }
    mask
}

/// The names of the free fields a header byte range lies on, for `--explain`.
pub fn free_fields(
    is_64: bool,
    little_endian: bool,
    machine: u16,
    phoff: usize,
    range: std::ops::Range<usize>,
) -> String {
    let (ehdr, phdr) = if is_64 { (FREE_EHDR_64, FREE_PHDR_64) } else { (FREE_EHDR_32, FREE_PHDR_32) };
    let p_flags = free_p_flags(is_64, little_endian);
    let shifted = phdr.iter().chain([&p_flags]).map(|f| (f.range.start + phoff..f.range.end + phoff, f.why));
    let all = ehdr
        .iter()
        .map(|f| (f.range.clone(), f.why))
        .chain(free_e_flags(is_64, little_endian, machine).map(|f| (f.range, f.why)));
    let names: Vec<&str> = all
        .chain(shifted)
        .filter(|(r, _)| r.start < range.end && range.start < r.end)
        .map(|(_, why)| why.split(':').next().unwrap_or(why))
        .collect();
    names.join(", ")
}

/// Sizes of the two headers for this class.
pub fn sizes(is_64: bool) -> (usize, usize) {
    if is_64 { (64, 56) } else { (52, 32) }
}

/// For each byte of the ELF header: true when a loader reads it.
pub fn ehdr_fixed(is_64: bool) -> Vec<bool> {
    fixed_mask(sizes(is_64).0, if is_64 { FREE_EHDR_64 } else { FREE_EHDR_32 })
}

/// For each byte of one program header: true when a loader reads it.
pub fn phdr_fixed(is_64: bool) -> Vec<bool> {
    fixed_mask(sizes(is_64).1, if is_64 { FREE_PHDR_64 } else { FREE_PHDR_32 })
}

/// The first byte after the last header byte a loader reads, for a file whose `phnum`
/// program headers start at `phoff`: where code may start.
pub fn headers_read_end(is_64: bool, phoff: usize, phnum: usize) -> usize {
    let last_read = |mask: Vec<bool>| mask.iter().rposition(|&f| f).map_or(0, |i| i + 1);
    let ehdr_end = last_read(ehdr_fixed(is_64));
    let phdrs_end = match phnum {
        0 => 0,
        n => phoff + (n - 1) * sizes(is_64).1 + last_read(phdr_fixed(is_64)),
    };
    ehdr_end.max(phdrs_end)
}

/// Why byte `at` of a program header is free (for `--explain`), if it is.
pub fn phdr_free_why(is_64: bool, at: usize) -> Option<&'static str> {
    let table = if is_64 { FREE_PHDR_64 } else { FREE_PHDR_32 };
    table.iter().find(|f| f.range.contains(&at)).map(|f| f.why)
}

fn fixed_mask(len: usize, free: &[Free]) -> Vec<bool> {
    let mut mask = vec![true; len];
    for f in free {
        mask[f.range.clone()].fill(false);
    }
    mask
}

fn endianness(little_endian: bool) -> Endianness {
    if little_endian { Endianness::Little } else { Endianness::Big }
}

/// The ELF header `h` as bytes, for the class and byte order its e_ident names.
pub fn ehdr_bytes(h: &Header, is_64: bool, little_endian: bool) -> Vec<u8> {
    let e = endianness(little_endian);
    let i = &h.e_ident;
    let ident = elf::Ident {
        magic: [i[0], i[1], i[2], i[3]],
        class: i[4],
        data: i[5],
        version: i[6],
        os_abi: i[7],
        abi_version: i[8],
        padding: [0; 7],
    };
    // The same fields into either class's structure; addresses and offsets are words
    // of the class's width (values read from an ELF32 file, and those the planner
    // derives from them, stay below 4 GiB: the reader checks segment ends).
    macro_rules! file_header {
        ($header:ident, $word:ident, $width:ty) => {
            bytes_of(&elf::$header::<Endianness> {
                e_ident: ident,
                e_type: U16::new(e, h.e_type),
                e_machine: U16::new(e, h.e_machine),
                e_version: U32::new(e, h.e_version),
                e_entry: $word::new(e, h.e_entry as $width),
                e_phoff: $word::new(e, h.e_phoff as $width),
                e_shoff: $word::new(e, h.e_shoff as $width),
                e_flags: U32::new(e, h.e_flags),
                e_ehsize: U16::new(e, h.e_ehsize),
                e_phentsize: U16::new(e, h.e_phentsize),
                e_phnum: U16::new(e, h.e_phnum),
                e_shentsize: U16::new(e, h.e_shentsize),
                e_shnum: U16::new(e, h.e_shnum),
                e_shstrndx: U16::new(e, h.e_shstrndx),
            })
            .to_vec()
        };
    }
    if is_64 { file_header!(FileHeader64, U64, u64) } else { file_header!(FileHeader32, U32, u32) }
}

/// One program header as bytes.
pub fn phdr_bytes(p: &ProgramHeader, is_64: bool, little_endian: bool) -> Vec<u8> {
    let e = endianness(little_endian);
    if is_64 {
        bytes_of(&elf::ProgramHeader64::<Endianness> {
            p_type: U32::new(e, p.p_type),
            p_flags: U32::new(e, p.p_flags),
            p_offset: U64::new(e, p.p_offset),
            p_vaddr: U64::new(e, p.p_vaddr),
            p_paddr: U64::new(e, p.p_paddr),
            p_filesz: U64::new(e, p.p_filesz),
            p_memsz: U64::new(e, p.p_memsz),
            p_align: U64::new(e, p.p_align),
        })
        .to_vec()
    } else {
        bytes_of(&elf::ProgramHeader32::<Endianness> {
            p_type: U32::new(e, p.p_type),
            p_offset: U32::new(e, p.p_offset as u32),
            p_vaddr: U32::new(e, p.p_vaddr as u32),
            p_paddr: U32::new(e, p.p_paddr as u32),
            p_filesz: U32::new(e, p.p_filesz as u32),
            p_memsz: U32::new(e, p.p_memsz as u32),
            p_flags: U32::new(e, p.p_flags),
            p_align: U32::new(e, p.p_align as u32),
        })
        .to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_read_header_bytes_end() {
        // Right after p_memsz (ELF64) or p_flags (ELF32) of the last program header.
        assert_eq!(headers_read_end(true, 64, 1), 64 + 48);
        assert_eq!(headers_read_end(true, 0x38, 1), 0x68);
        assert_eq!(headers_read_end(false, 52, 2), 52 + 32 + 28);
        assert_eq!(headers_read_end(false, 0x2c, 1), 0x48);
        // Without program headers: e_phnum is the last byte read.
        assert_eq!(headers_read_end(true, 64, 0), 58);
    }

    #[test]
    fn e_flags_bytes_carry_the_bits_loaders_read() {
        use goblin::elf::header::{EM_ARM, EM_MIPS, EM_PPC64, EM_RISCV, EM_X86_64};
        let r = |at, mask, value| ReadBits { at, mask, value };
        // RISC-V: RVE (qemu) and RVC (our decoder), in the first byte; the rest free.
        assert_eq!(e_flags_read_bits(true, true, EM_RISCV, 0x5), [r(0x30, 0x09, 0x01)]);
        // ppc64le: the ELFv2 ABI bits.
        assert_eq!(e_flags_read_bits(true, true, EM_PPC64, 0x2), [r(0x30, 0x03, 0x02)]);
        // ARM: the EABI version byte, every bit of it.
        assert_eq!(e_flags_read_bits(false, true, EM_ARM, 0x0500_0200), [r(0x27, 0xff, 0x05)]);
        // MIPS: nobody measured which bits go unread: all of them are read.
        let mips = e_flags_read_bits(true, true, EM_MIPS, 0x8000_0007);
        assert_eq!(mips, [r(0x30, 0xff, 7), r(0x31, 0xff, 0), r(0x32, 0xff, 0), r(0x33, 0xff, 0x80)]);
        assert_eq!(e_flags_read_bits(true, true, EM_X86_64, 0), []);
        assert!(r(0x30, 0x09, 0x01).kept_by(0x31) && !r(0x30, 0x09, 0x01).kept_by(0x30));
        assert!(!r(0x30, 0x09, 0x01).kept_by(0x39));
    }

    #[test]
    fn headers_encode_at_their_gabi_size() {
        let header = Header::new(goblin::container::Ctx::new(
            goblin::container::Container::Big,
            goblin::container::Endian::Little,
        ));
        assert_eq!(ehdr_bytes(&header, true, true).len(), 64);
        assert_eq!(ehdr_bytes(&header, false, false).len(), 52);
        let p = ProgramHeader { p_type: 1, p_flags: 5, p_vaddr: 0x10000, ..Default::default() };
        let le = phdr_bytes(&p, true, true);
        assert_eq!((le.len(), &le[..8]), (56, &[1, 0, 0, 0, 5, 0, 0, 0][..]));
        let be = phdr_bytes(&p, false, false);
        // ELF32 order: p_type, p_offset, p_vaddr, ..., p_flags at 24.
        assert_eq!((be.len(), &be[8..12], &be[24..28]), (32, &[0, 1, 0, 0][..], &[0, 0, 0, 5][..]));
    }
}
