//! Deciding the output's layout before any byte is written: the plan can be printed
//! (`shrink --explain`), the writer follows it and the verifier checks against it.
//!
//! Two layouts, and the smaller one wins:
//! - in place (what ELFkickers' `sstrip` does): every offset stays; the section
//!   headers and everything after the last segment go, and trailing zeros that the
//!   loader supplies anyway are cut;
//! - overlapped: for a file with one PT_LOAD and nothing else, new headers where the
//!   program header lies on the ELF header's tail as far as the bytes agree, and the
//!   code starts inside the program header's free tail (p_align). The code must have
//!   been linked for that address: `overlapped_body_offset` tells a linker where.
//!   Asked to (`Options::pack`), it also packs the code into the header bytes no
//!   loader reads and the body (pack.rs, which states the contract the caller
//!   promises: among others, that falling off the code's end is undefined, so the run
//!   that ends the code needs no jump after it).

use std::ops::Range;

use goblin::elf::{
    header::Header,
    program_header::{PF_R, PF_X, PT_LOAD, ProgramHeader},
};

use super::{
    Elf, Refusal, fields,
    isa::{Isa, Kind},
    pack::{self, Packing, Place},
    read::PAGE,
    refuse, relocs,
};

/// The page size the overlapped layout keeps file offsets congruent to: arm64 and
/// ppc64le kernels may use 64 KiB pages.
pub const BIG_PAGE: u64 = 0x10000;
/// The lowest address a segment may load at: vm.mmap_min_addr is 64 KiB on arm64 and
/// ppc64le kernels, and a container cannot map page 0 at all.
pub const MIN_LOAD_ADDRESS: u64 = 0x10000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    InPlace,
    Overlapped,
}

/// What the caller knows of the input beyond its headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The segment ends in code that only runs from the entry point on, nothing
    /// before the entry point is executed (crates/link.ld links the message
    /// first, then the code) and nothing outside the code jumps into it: the code may
    /// be packed into free header fields (pack.rs says the whole contract).
    pub pack: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub layout: Layout,
    /// e_phoff of the output.
    pub phoff: u64,
    /// The program headers as intended; free fields (p_paddr, p_align) may read back
    /// differently where other bytes lie on them.
    pub phdrs: Vec<ProgramHeader>,
    /// The output's header bytes (ELF header and program headers, merged where they
    /// overlap); the body is written over their free tail.
    pub headers: Vec<u8>,
    /// The input's bytes that follow the headers: code and data.
    pub body: Range<usize>,
    /// Where the body starts in the output: right behind the headers
    /// (`headers_end`), or behind the packed code where the data moved.
    pub body_at: usize,
    /// Where the data moved (packing only; `body` is then empty): each piece's input
    /// offsets and its output offset, over the header bytes or behind the code. The
    /// file may end inside the last piece, where it ends in zeros.
    pub pieces: Vec<(Range<usize>, usize)>,
    /// The first byte past the header bytes loaders read: where a linker script puts
    /// the body (`overlapped_body_offset`).
    pub headers_end: usize,
    /// The output's length.
    pub len: usize,
    /// Each decision, with the bytes it saves (negative: costs): `--explain`.
    pub steps: Vec<(String, i64)>,
    /// Why the other layout was not taken.
    pub notes: Vec<String>,
    /// The code packed into header holes and the body (overlapped layout only): the
    /// body (`body`) then holds only what lies before the entry point.
    pub packing: Option<Packing>,
}

impl Plan {
    /// Where the output's first segment loads (its file offset 0 in the overlapped
    /// layout).
    pub fn load_address(&self) -> u64 {
        self.phdrs.first().map_or(0, |p| p.p_vaddr.wrapping_sub(p.p_offset))
    }

    /// One line per decision, then the total.
    pub fn explain(&self, input_len: usize) -> String {
        let mut text = format!("  layout: {:?}\n", self.layout);
        for (what, saved) in &self.steps {
            text += &format!("  {saved:>8} bytes  {what}\n");
        }
        if let Some(p) = &self.packing {
            text += &format!("  packed: entry {:#x}, {} runs\n", p.entry, p.runs.len());
            for (n, run) in p.runs.iter().enumerate() {
                let place = match &run.place {
                    Place::Body => "body".to_string(),
                    Place::Hole(h) => format!("hole {:#x}..{:#x}", h.start, h.end),
                };
                let inserted = &run.bytes[run.code_len..];
                let jump = match (run.jump_to, p.isa.passage(inserted, run.at + run.code_len as u64)) {
                    (Some(to), Some((_, text))) if !run.slot && run.place != Place::Body => {
                        format!("on to {to:#x} through header bytes that run as `{text}`")
                    }
                    (Some(to), _) => format!("jump to {to:#x}"),
                    (None, _) => "no jump".into(),
                };
                text += &format!(
                    "    run {}: {:#x}..{:#x} at {:#x} ({place}), {} + {} bytes, {} re-encoded, {jump}\n",
                    n + 1,
                    run.from,
                    run.to,
                    run.at,
                    run.code_len,
                    run.bytes.len() - run.code_len,
                    run.reencoded
                );
                let listing = p.isa.decode(&run.bytes[..run.code_len], run.at).unwrap_or_default();
                for insn in listing {
                    text += &format!("                  {:#x}: {}\n", insn.address, insn.text);
                }
            }
        }
        for note in &self.notes {
            text += &format!("  note: {note}\n");
        }
        text += &format!("  {input_len} -> {} bytes\n", self.len);
        text
    }
}

/// The smaller of the two layouts; in place on a tie (it changes less).
pub fn plan(elf: &Elf, options: Options) -> Result<Plan, Refusal> {
    match (in_place(elf), overlapped(elf, options)) {
        // A tie goes to in place, unless that would change header bytes the file
        // loads (a file shrunk before may keep code in them: the overlapped layout
        // keeps them all, or is refused).
        (Ok(mut a), Ok(b)) if a.len < b.len || (a.len == b.len && !changes_loaded_header(elf, &a)) => {
            a.notes.push(format!("the overlapped layout would be {} bytes: no gain", b.len));
            Ok(a)
        }
        (_, Ok(b)) => Ok(b),
        (Ok(mut a), Err(why)) => {
            a.notes.push(format!("no overlapped layout: {why}"));
            Ok(a)
        }
        (Err(refusal), Err(why)) => Err(Refusal(format!("{refusal}; and no overlapped layout: {why}"))),
    }
}

/// The plan rewrites bytes of the ELF header that one of the input's segments loads.
fn changes_loaded_header(elf: &Elf, plan: &Plan) -> bool {
    let ehsize = elf.ehsize();
    let loads_header = elf.loads().any(|p| p.p_offset == 0 && p.p_filesz > 0);
    loads_header && plan.headers.get(..ehsize) != elf.bytes.get(..ehsize)
}

/// Where the body starts in an overlapped file of this class, byte order and machine:
/// a linker script places the code at the load address plus this.
pub fn overlapped_body_offset(is_64: bool, little_endian: bool, e_machine: u16) -> Option<usize> {
    let (ehsize, phentsize) = fields::sizes(is_64);
    let mut e_ident = [0; 16];
    e_ident[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1 + is_64 as u8, 2 - little_endian as u8, 1]);
    let header = Header {
        e_ident,
        e_type: goblin::elf::header::ET_EXEC,
        e_machine,
        e_version: 1,
        e_entry: MIN_LOAD_ADDRESS + 0x100,
        e_phoff: 0,
        e_shoff: 0,
        e_flags: 0,
        e_ehsize: ehsize as u16,
        e_phentsize: phentsize as u16,
        e_phnum: 1,
        e_shentsize: 0,
        e_shnum: 0,
        e_shstrndx: 0,
    };
    // Any one R+X segment: where the body goes depends on the header layout alone.
    let segment = ProgramHeader {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_X,
        p_vaddr: MIN_LOAD_ADDRESS,
        p_filesz: 0x1000,
        p_memsz: 0x1000,
        ..Default::default()
    };
    let placed = place_headers(&header, &segment, is_64, little_endian, None);
    placed.ok().map(|p| p.body_at)
}

/// The input's ELF header as the output's: no section headers, e_phoff `phoff`.
fn output_header(elf: &Elf, phoff: u64, phnum: usize) -> Header {
    Header {
        e_phoff: phoff,
        e_phnum: phnum as u16,
        e_shoff: 0,
        e_shentsize: 0,
        e_shnum: 0,
        e_shstrndx: 0,
        ..elf.header
    }
}

pub(super) fn in_place(elf: &Elf) -> Result<Plan, Refusal> {
    let ehsize = elf.ehsize();
    // The in-place layout keeps the program header table where it is, right after the
    // ELF header, where every linker we know puts it.
    if elf.header.e_phoff as usize != ehsize {
        refuse!(
            "the program header table is at offset {:#x}, not right after the ELF header ({ehsize:#x})",
            elf.header.e_phoff
        );
    }
    let len = elf.bytes.len();
    let headers_end = elf.phdrs_end();
    // The last byte any segment takes from the file (it may already lie past EOF).
    let segments_end = elf.phdrs.iter().map(|p| p.p_offset + p.p_filesz).max().unwrap_or(0);
    let data_end = (segments_end.min(len as u64) as usize).max(headers_end);
    let keep = trim_zeros(elf.bytes, headers_end, data_end, segments_end, data_end);

    let mut headers =
        fields::ehdr_bytes(&output_header(elf, ehsize as u64, elf.phdrs.len()), elf.is_64, elf.little_endian);
    for p in &elf.phdrs {
        headers.extend(fields::phdr_bytes(p, elf.is_64, elf.little_endian));
    }
    Ok(Plan {
        layout: Layout::InPlace,
        phoff: ehsize as u64,
        phdrs: elf.phdrs.clone(),
        headers,
        body: headers_end..keep,
        body_at: headers_end,
        pieces: vec![],
        headers_end,
        len: keep,
        steps: vec![
            after_segments(len, data_end),
            ("trailing zero bytes, which the loader reads from the page past EOF".into(), (data_end - keep) as i64),
        ],
        notes: vec![],
        packing: None,
    })
}

fn after_segments(len: usize, data_end: usize) -> (String, i64) {
    (
        "after the last segment: section headers, symbols, non-loaded sections (e_shoff = 0)".into(),
        len as i64 - data_end as i64,
    )
}

/// Trailing zeros: cut from the file but not from p_filesz. The loader maps the file's
/// last page, which reads as zeros past EOF, so the segment is unchanged. (Lowering
/// p_filesz instead would ask the loader to zero-fill a read-only page: qemu-user
/// crashes on that.) Bytes past the file's last page would fault: stop there.
///
/// `from..to` are input offsets; the segment's file bytes end at `segment_end` in the
/// output's offsets, `to` sits at `to_out` there. Returns the new end (input offset).
fn trim_zeros(bytes: &[u8], from: usize, to: usize, segment_end: u64, to_out: usize) -> usize {
    let mut keep = to;
    while keep > from && bytes[keep - 1] == 0 {
        keep -= 1;
    }
    // The output's last page must start before its end: keep one byte of it.
    let last_page_start = segment_end.saturating_sub(1) / PAGE * PAGE;
    let shift = to_out as i64 - to as i64;
    let min_keep = (last_page_start as i64 + 1 - shift).clamp(from as i64, to as i64) as usize;
    keep.max(min_keep)
}

/// Headers placed: where the program header and the body go, and the merged bytes.
struct Placed {
    phoff: usize,
    /// The first byte after the last one a loader reads: where the body starts.
    body_at: usize,
    load_address: u64,
    phdr: ProgramHeader,
    headers: Vec<u8>,
}

/// The lowest program header offset whose bytes agree with the ELF header's, for a
/// segment whose body (code and data) lives at address `body_address`; None: wherever
/// the headers end, loaded at MIN_LOAD_ADDRESS (what a linker should be told).
fn place_headers(
    header: &Header,
    segment: &ProgramHeader,
    is_64: bool,
    little_endian: bool,
    body_address: Option<u64>,
) -> Result<Placed, String> {
    let ehsize = fields::sizes(is_64).0;
    let step = if is_64 { 8 } else { 4 }; // natural alignment of the fields
    // qemu-user byte-swaps the ELF header in place, then the program headers in
    // place: on a host of the other byte order, overlapped bytes are swapped twice.
    // Every x86 and arm64 host is little-endian: overlap only little-endian files.
    let lowest = if little_endian { step } else { ehsize };
    let mut why_not = String::from("no offset for the program header works");
    for phoff in (lowest..=ehsize).step_by(step) {
        // The body starts after the last byte a loader reads.
        let first_free = fields::headers_read_end(is_64, phoff, 1);
        let body_address = body_address.unwrap_or(MIN_LOAD_ADDRESS + first_free as u64);
        // The headers go right in front of the code, at a 64 KiB boundary: padding
        // would make the file bigger than the in-place layout, so code linked
        // elsewhere is not moved.
        let load_address = body_address.wrapping_sub(first_free as u64);
        if body_address < first_free as u64 || !load_address.is_multiple_of(BIG_PAGE) {
            why_not = format!(
                "the code at {body_address:#x} does not start {first_free:#x} bytes past a 64 KiB boundary \
                 (link it at 0x10000 + {first_free:#x}, as crates/link.ld does)"
            );
            continue;
        }
        if load_address < MIN_LOAD_ADDRESS {
            why_not = format!(
                "the code at {body_address:#x} leaves no room for headers at or above {MIN_LOAD_ADDRESS:#x} (link it higher)"
            );
            continue;
        }
        let shift = segment.p_vaddr - load_address; // the segment now starts at offset 0
        let phdr = ProgramHeader {
            p_offset: 0,
            p_vaddr: load_address,
            p_paddr: load_address,
            p_filesz: segment.p_filesz + shift,
            p_memsz: segment.p_memsz + shift,
            p_align: BIG_PAGE,
            ..segment.clone()
        };
        let ehdr = fields::ehdr_bytes(&Header { e_phoff: phoff as u64, e_phnum: 1, ..*header }, is_64, little_endian);
        let phdr_bytes = fields::phdr_bytes(&phdr, is_64, little_endian);
        match merge(&ehdr, &fields::ehdr_fixed(is_64), phoff, &phdr_bytes, &fields::phdr_fixed(is_64)) {
            Ok(headers) => {
                return Ok(Placed { phoff, body_at: first_free, load_address, phdr, headers });
            }
            Err(at) => why_not = format!("the program header cannot overlap the ELF header (byte {at:#x} disagrees)"),
        }
    }
    Err(why_not)
}

/// Lay `b` (with its fixed mask) at offset `at` over `a`: a byte both read must agree;
/// where one side reads a byte, its value wins. Err(offset) of the first disagreement.
fn merge(a: &[u8], a_fixed: &[bool], at: usize, b: &[u8], b_fixed: &[bool]) -> Result<Vec<u8>, usize> {
    let mut out = a.to_vec();
    out.resize(at + b.len(), 0);
    for (i, (&byte, &fixed)) in b.iter().zip(b_fixed).enumerate() {
        let j = at + i;
        let a_reads = a_fixed.get(j).copied().unwrap_or(false);
        match (a_reads, fixed) {
            (true, true) if out[j] != byte => return Err(j),
            (true, _) => {}
            (false, _) => out[j] = byte,
        }
    }
    Ok(out)
}

/// The overlapped layout: the input's addresses kept, or, where packing may move the
/// data (`movable_data`), the smallest of the layouts that move it (`choices`).
fn overlapped(elf: &Elf, options: Options) -> Result<Plan, String> {
    let kept = overlapped_at(elf, options, None)?;
    if !options.pack || kept.packing.is_none() {
        return Ok(kept);
    }
    let mut best = kept;
    let mut why_kept = Vec::new();
    match choices(elf, &best) {
        Ok(choices) => {
            for choice in choices {
                let tried = overlapped_at(elf, options, Some(&choice));
                // The data's objects laid out anew at this load address, over its headers.
                let arranged = match &tried {
                    Ok(plan) => arrangements(elf, &choice, plan),
                    Err(_) => vec![],
                };
                for (choice, tried) in [(choice, tried)].into_iter().chain(arranged.into_iter().map(|c| {
                    let tried = overlapped_at(elf, options, Some(&c));
                    (c, tried)
                })) {
                    match tried {
                        Ok(plan) if plan.packing.is_some() && plan.len < best.len => best = plan,
                        Ok(plan) if plan.packing.is_none() => {
                            why_kept.push(format!("{}: {}", choice.what, plan.notes.join("; ")))
                        }
                        Ok(plan) => why_kept.push(format!("{}: {} bytes", choice.what, plan.len)),
                        Err(why) => why_kept.push(format!("{}: {why}", choice.what)),
                    }
                }
            }
        }
        Err(why) => why_kept.push(format!("the data stays where it lies: {why}")),
    }
    best.notes.extend(why_kept.into_iter().map(|why| format!("not taken: {why}")));
    Ok(best)
}

/// A layout that moves more than the code (`overlapped_at`): the load address, and
/// what the packer may move and run there.
#[derive(Debug, Clone)]
struct Choice {
    load: u64,
    moves: pack::Moves,
    /// p_filesz = p_memsz, where the choice sets them (so that their words run as
    /// instructions: `passage_choices`).
    size: Option<u64>,
    /// The data's objects, where each may move on its own (`Movable::objects`):
    /// `arrangements` lays them out anew.
    objects: Vec<relocs::Object>,
    /// For --explain.
    what: String,
}

/// The layouts worth trying where the data may move behind the code (`movable_data`),
/// beside the one that keeps everything (`kept`, packed): the data behind the code at
/// the same load address; and each load address at which e_entry's bytes run as a
/// jump (`Isa::jump`) from a hole that ends right before them to the body's start or
/// another hole, with the entry point at a hole's start (e_entry holds the load
/// address plus that offset: the address decides the jump).
fn choices(elf: &Elf, kept: &Plan) -> Result<Vec<Choice>, String> {
    let Movable { data, align, absolute, objects } = movable_data(elf)?;
    let isa = Isa::of(&elf.header).ok_or("no instruction decoder")?;
    let load = kept.load_address();
    let body_start = load + kept.headers_end as u64;
    let behind = |load: u64| {
        Some(pack::DataMove {
            from: data.clone(),
            body_start: load + kept.headers_end as u64,
            behind: vec![(data.clone(), align)],
            in_header: vec![],
            absolute: absolute.clone(),
        })
    };
    let mut choices = vec![Choice {
        load,
        size: None,
        objects: objects.clone(),
        moves: pack::Moves { data: behind(load), ..Default::default() },
        what: format!("the data behind the code at load address {load:#x}"),
    }];
    // e_entry's low word (both byte orders keep it first only little-endian).
    const E_ENTRY: u64 = 24;
    if !elf.little_endian {
        return Ok(choices);
    }
    let thumb = elf.header.e_entry ^ elf.entry_address();
    let reads = fields::loader_reads(elf.is_64, true, elf.header.e_machine, kept.phoff as usize, 1);
    let holes = free_runs(&reads[..kept.headers_end.min(reads.len())]);
    let starts: Vec<u64> =
        holes.iter().filter_map(|h| (h.start..h.end).map(|at| at as u64).find(|&at| isa.aligned(load + at))).collect();
    for &entry in &starts {
        for to in starts.iter().copied().chain([body_start - load]).filter(|&to| to != entry) {
            let Some(jump) = isa.jump(load + E_ENTRY, load + to) else { continue };
            let Ok(word) = <[u8; 4]>::try_from(&jump[..]) else { continue };
            // e_entry = new load + entry (+ Thumb's bit): its low word must be the jump.
            let new = u64::from(u32::from_le_bytes(word).wrapping_sub((entry + thumb) as u32));
            let fits = new.is_multiple_of(BIG_PAGE) && new >= MIN_LOAD_ADDRESS && new != load;
            let high_clear = new + kept.phdrs[0].p_memsz.max(kept.len as u64) <= u64::from(u32::MAX);
            if fits && high_clear {
                choices.push(Choice {
                    load: new,
                    size: None,
                    objects: objects.clone(),
                    moves: pack::Moves {
                        data: behind(new),
                        entry_at: Some(new + entry),
                        header_jump: Some((new + E_ENTRY, new + to)),
                        passages: vec![],
                    },
                    what: format!(
                        "load address {new:#x}, where e_entry ({:#x}) runs as a jump to {to:#x}, the data behind the code",
                        new + entry + thumb
                    ),
                });
            }
        }
    }
    choices.extend(passage_choices(elf, kept, isa, &starts, behind, &objects));
    Ok(choices)
}

/// At most this many layouts of the data's objects are tried per load address,
const ARRANGEMENTS: usize = 4;
/// the best of the first this many found (`relocs::MAX_OBJECTS` objects at most).
const WAYS_LOOKED_AT: usize = 10_000;

/// The data's objects (`Choice::objects`) laid out anew over the headers `plan` made
/// at the choice's load address: each on header bytes that are free or already hold
/// its bytes, at an address that keeps its alignment, or behind the code. Header
/// bytes whose values the packing may still change (e_entry, p_filesz, p_memsz) take
/// none. Of the ways that do not overlap, those that lay the most bytes there, using
/// the fewest free bytes (code could go on those), up to `ARRANGEMENTS`. Behind the
/// code the objects keep their order, but the one that ends in the most zeros goes
/// last: the file ends before them.
fn arrangements(elf: &Elf, choice: &Choice, plan: &Plan) -> Vec<Choice> {
    let Some(data) = choice.moves.data.as_ref().filter(|_| choice.objects.len() > 1) else { return vec![] };
    let segment = &elf.phdrs[0];
    let bytes_of = |o: &relocs::Object| {
        let at = (o.range.start - segment.p_vaddr + segment.p_offset) as usize;
        elf.bytes.get(at..at + (o.range.end - o.range.start) as usize)
    };
    let load = plan.load_address();
    let phoff = plan.phoff as usize;
    let width = if elf.is_64 { 8 } else { 4 };
    let p_filesz_at = phoff + if elf.is_64 { 32 } else { 16 };
    let unsettled = [24..24 + width, p_filesz_at..p_filesz_at + 2 * width];
    let reads = fields::loader_reads(elf.is_64, elf.little_endian, elf.header.e_machine, phoff, 1);
    let end = plan.headers_end.min(plan.headers.len()).min(reads.len());
    // Each object's spots: (offset, free bytes it takes).
    let spots: Vec<Vec<(usize, usize)>> = choice
        .objects
        .iter()
        .map(|o| {
            let Some(bytes) = bytes_of(o) else { return vec![] };
            (0..end.saturating_sub(bytes.len()) + 1)
                .filter(|&at| (load + at as u64) % o.align == o.range.start % o.align)
                .filter_map(|at| {
                    let mut free = 0;
                    for (k, &b) in bytes.iter().enumerate() {
                        let i = at + k;
                        if i >= end || unsettled.iter().any(|u| u.contains(&i)) {
                            return None;
                        }
                        if !reads[i] {
                            free += 1;
                        } else if plan.headers[i] != b {
                            return None;
                        }
                    }
                    Some((at, free))
                })
                .collect()
        })
        .collect();
    // Every way to lay some of them on spots that do not overlap (the first
    // WAYS_LOOKED_AT found): (bytes laid, free bytes taken, each object's spot).
    let mut ways: Vec<(usize, usize, Vec<Option<usize>>)> = Vec::new();
    fn walk(
        k: usize,
        objects: &[relocs::Object],
        spots: &[Vec<(usize, usize)>],
        taken: &mut Vec<Range<usize>>,
        chosen: &mut Vec<Option<usize>>,
        (laid, free): (usize, usize),
        ways: &mut Vec<(usize, usize, Vec<Option<usize>>)>,
    ) {
        if ways.len() >= WAYS_LOOKED_AT {
            return;
        }
        if k == objects.len() {
            if laid > 0 {
                ways.push((laid, free, chosen.clone()));
            }
            return;
        }
        chosen.push(None);
        walk(k + 1, objects, spots, taken, chosen, (laid, free), ways);
        chosen.pop();
        let len = (objects[k].range.end - objects[k].range.start) as usize;
        for &(at, f) in &spots[k] {
            if taken.iter().any(|t| t.start < at + len && at < t.end) {
                continue;
            }
            taken.push(at..at + len);
            chosen.push(Some(at));
            walk(k + 1, objects, spots, taken, chosen, (laid + len, free + f), ways);
            chosen.pop();
            taken.pop();
        }
    }
    walk(0, &choice.objects, &spots, &mut vec![], &mut vec![], (0, 0), &mut ways);
    ways.sort_by(|a, b| (b.0, a.1, &a.2).cmp(&(a.0, b.1, &b.2)));
    ways.truncate(ARRANGEMENTS);
    let zeros = |o: &relocs::Object| bytes_of(o).map_or(0, |b| b.iter().rev().take_while(|&&x| x == 0).count());
    ways.into_iter()
        .map(|(_, _, chosen)| {
            let mut in_header = vec![];
            let mut behind = vec![];
            for (o, spot) in choice.objects.iter().zip(&chosen) {
                match spot {
                    Some(at) => in_header.push((o.range.clone(), load + *at as u64)),
                    None => behind.push((o.range.clone(), o.align)),
                }
            }
            // The object that ends in the most zeros goes last (of equals, the later).
            let zeros_of = |k: usize| zeros(&relocs::Object { range: behind[k].0.clone(), align: behind[k].1 });
            if let Some(last) = (0..behind.len()).filter(|&k| zeros_of(k) > 0).max_by_key(|&k| (zeros_of(k), k)) {
                let moved = behind.remove(last);
                behind.push(moved);
            }
            let laid: Vec<String> =
                in_header.iter().map(|(from, to)| format!("{from:#x?} to {:#x}", to - load)).collect();
            Choice {
                moves: pack::Moves {
                    data: Some(pack::DataMove { behind, in_header, ..data.clone() }),
                    ..choice.moves.clone()
                },
                what: format!("{}; objects of the data on header bytes: {}", choice.what, laid.join(", ")),
                ..choice.clone()
            }
        })
        .collect()
}

/// The layouts at which header words run as instructions that write only registers
/// the code never reads (`Isa::passage_load`): a load address whose high half, in
/// e_entry and p_vaddr, is such an instruction; p_filesz = p_memsz the first size
/// that serves the segment (`size_serves`) whose words are such instructions too; the
/// entry at each hole's start (`starts`), fixing e_entry. The packer then lets a run
/// go on through the header words between two holes where they destroy nothing that
/// is read (`header_passages`). None where the ISA knows no such address.
fn passage_choices(
    elf: &Elf,
    kept: &Plan,
    isa: Isa,
    starts: &[u64],
    behind: impl Fn(u64) -> Option<pack::DataMove>,
    objects: &[relocs::Object],
) -> Vec<Choice> {
    let Ok((code, entry, code_end)) = code_of(elf) else { return vec![] };
    let Ok(free) = super::isa::liveness::never_read(isa, code, entry, code_end) else { return vec![] };
    let Some(load) = isa.passage_load(free).filter(|&l| l != kept.load_address()) else { return vec![] };
    let phdr = &kept.phdrs[0];
    let width = if elf.is_64 { 8 } else { 4 };
    let harmless = |size: u64| {
        let words = [size.to_le_bytes(); 2].map(|w| w[..width].to_vec()).concat();
        isa.passage(&words, 0).is_some_and(|(clobbers, _)| clobbers & !(free | super::isa::liveness::FLAGS) == 0)
    };
    let moved = ProgramHeader { p_vaddr: load, ..phdr.clone() };
    let size = (phdr.p_memsz..phdr.p_memsz.saturating_add(0x800)).find(|&s| harmless(s) && size_serves(elf, &moved, s));
    let thumb = elf.header.e_entry ^ elf.entry_address();
    starts
        .iter()
        .map(|&start| Choice {
            load,
            size,
            objects: objects.to_vec(),
            moves: pack::Moves { data: behind(load), entry_at: Some(load + start), ..Default::default() },
            what: format!(
                "load address {load:#x}, where header words run as instructions that write only registers the code \
                 does not read (e_entry {:#x}{}), the data behind the code",
                load + start + thumb,
                size.map(|s| format!(", p_filesz = p_memsz = {s:#x}")).unwrap_or_default()
            ),
        })
        .collect()
}

/// The header bytes (`headers`, loaded at `load`) between one place code may lie and
/// the next (`holes`, then the body's code from `body`, where given) that run as
/// instructions writing registers only (`Isa::passage`). Only bytes whose values are
/// settled before the packing: not in `unsettled` (e_entry where the entry point is
/// not fixed yet, p_filesz where the code's last instruction may lie on it).
fn header_passages(
    isa: Isa,
    headers: &[u8],
    load: u64,
    holes: &[Range<usize>],
    body: Option<u64>,
    unsettled: &[Range<usize>],
) -> Vec<pack::Passage> {
    let starts = holes
        .iter()
        .skip(1)
        .filter_map(|h| (h.start..h.end).map(|at| load + at as u64).find(|&a| isa.aligned(a)))
        .chain(body);
    holes
        .iter()
        .zip(starts)
        .filter_map(|(hole, to)| {
            let at = load + hole.end as u64;
            let gap = hole.end..usize::try_from(to.checked_sub(load)?).ok()?;
            let settled = !unsettled.iter().any(|u| u.start < gap.end && gap.start < u.end);
            let bytes = headers.get(gap).filter(|b| !b.is_empty() && settled)?;
            let (clobbers, text) = isa.passage(bytes, at)?;
            Some(pack::Passage { at, to, bytes: bytes.to_vec(), clobbers, text })
        })
        .collect()
}

/// The input's code: its bytes from the entry point to the end of the segment's
/// file bytes, the entry point, and where the code ends (less its trailing zeros).
fn code_of<'a>(elf: &Elf<'a>) -> Result<(&'a [u8], u64, u64), String> {
    let segment = elf.phdrs.first().ok_or("no segment")?;
    let entry = elf.entry_address();
    let end = segment.p_vaddr + segment.p_filesz.min((elf.bytes.len() as u64).saturating_sub(segment.p_offset));
    let code_at = entry.checked_sub(segment.p_vaddr).ok_or("the entry point is before the segment")?;
    let code_at = (code_at + segment.p_offset) as usize;
    let code_end_at = (end - segment.p_vaddr + segment.p_offset) as usize;
    let code = elf.bytes.get(code_at..code_end_at).ok_or("the entry point is past the segment's file bytes")?;
    let zeros = code.iter().rev().take_while(|&&b| b == 0).count() as u64;
    Ok((code, entry, end.saturating_sub(zeros).max(entry)))
}

/// What may move beyond the code (`movable_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Movable {
    /// The data's addresses.
    pub data: Range<u64>,
    /// The alignment it keeps, moved as one block.
    pub align: u64,
    /// Its objects (`relocs::Linked::objects`), where each may move on its own: every
    /// reference to the data names an address inside the object its relocation
    /// names. Empty: it moves as one block.
    pub objects: Vec<relocs::Object>,
    /// x86's absolute addresses of the data in instructions of the code: (the
    /// place, 4 bytes, and the address it holds).
    pub absolute: Vec<(u64, u64)>,
}

/// The input's data (its addresses: from the segment's first byte past the headers
/// it loads up to the entry point) and how it may move: the input keeps its
/// relocations (`relocs::read`), and every place the linker wrote an address lies in
/// an instruction of the code that names the data PC-relatively (which the packer
/// re-encodes), or holds it whole in 4 bytes of a plain instruction (x86's `mov esi,
/// imm32`, which the packer rewrites), or branches inside the code; every
/// PC-relative instruction names the data; the segment's memory is its file bytes.
/// Err says why not.
pub(super) fn movable_data(elf: &Elf) -> Result<Movable, String> {
    let segment = elf.phdrs.first().ok_or("no segment")?;
    let isa = Isa::of(&elf.header).ok_or("no instruction decoder")?;
    if segment.p_memsz != segment.p_filesz {
        return Err("the segment has memory past its file bytes (.bss), which would have to move too".into());
    }
    let from = (segment.p_offset as usize).max(elf.headers_read_end());
    let start = segment.p_vaddr + (from as u64).saturating_sub(segment.p_offset);
    let entry = elf.entry_address();
    let data = start..entry;
    if data.is_empty() {
        return Err("there is no data".into());
    }
    let linked = relocs::read(elf.bytes, data.clone(), entry)
        .ok_or("the input keeps no relocations (link it with --emit-relocs): nothing says what names the data")?;
    let (code, _, code_end) = code_of(elf)?;
    // What the packer moves: the instructions that run, an ARM literal pool's loads
    // turned into instructions naming the literal's value (`isa::what_runs`). The
    // places lie in the input's instructions (`Isa::reach`), or in the literal words
    // of loads that were turned (the pool goes: each load names the value itself).
    let runs = super::isa::what_runs(isa, code, entry, code_end)?;
    let reached = isa.reach(code, entry, code_end)?;
    // (literal address, the value its turned load names)
    let turned_literals: Vec<(u64, Option<u64>)> = reached
        .iter()
        .filter(|i| runs.turned.contains_key(&i.address))
        .filter_map(|i| Some((i.refers()?, runs.insns.iter().find(|r| r.address == i.address)?.refers())))
        .collect();
    let inside = |place: u64| reached.iter().find(|i| (i.address..i.address + i.len as u64).contains(&place));
    let absolute: std::collections::BTreeMap<u64, u64> = linked.absolute.iter().copied().collect();
    // Each place that names the data, and the address it names.
    let mut naming = Vec::new();
    for &place in &linked.places {
        if let Some(&(_, value)) = turned_literals.iter().find(|&&(l, _)| (l..l + 4).contains(&place)) {
            naming.extend(value.filter(|v| data.contains(v)).map(|v| (place, v)));
            continue;
        }
        let insn = inside(place);
        match (insn.map(|i| i.kind), absolute.get(&place)) {
            (Some(Kind::PcRelative { refers: Some(r) }), None) if data.contains(&r) => naming.push((place, r)),
            (Some(Kind::Branch { target, .. }), None) if (entry..code_end).contains(&target) => {}
            (Some(Kind::Plain), Some(&value)) if insn.is_some_and(|i| place + 4 <= i.address + i.len as u64) => {
                naming.push((place, value))
            }
            _ => {
                return Err(format!(
                    "the linker wrote an address at {place:#x}, which no PC-relative instruction holds"
                ));
            }
        }
    }
    // Every PC-relative instruction, turned loads included, names the data.
    if let Some(i) = runs
        .insns
        .iter()
        .find(|i| matches!(i.kind, Kind::PcRelative { refers } if !refers.is_some_and(|r| data.contains(&r))))
    {
        return Err(format!("the instruction at {:#x} names an address outside the data", i.address));
    }
    // Objects move apart only where each reference names an address inside the
    // object its relocation names (one past an object's end would be another's).
    let mut objects = linked.objects;
    let in_its_object = |&(place, r): &(u64, u64)| {
        linked.names.get(&place).and_then(|&k| objects.get(k)).is_some_and(|o| o.range.contains(&r))
    };
    if !naming.iter().all(in_its_object) {
        objects.clear();
    }
    Ok(Movable { data, align: linked.data_align, objects, absolute: linked.absolute })
}

fn overlapped_at(elf: &Elf, options: Options, choice: Option<&Choice>) -> Result<Plan, String> {
    if elf.phdrs.len() != 1 {
        return Err(format!("{} program headers; it takes a file with one PT_LOAD and nothing else", elf.phdrs.len()));
    }
    let segment = &elf.phdrs[0];
    let len = elf.bytes.len();
    // The body: the segment's file bytes after the input's own headers, if it loads
    // them: after the last header byte a loader reads, so that a file shrunk before
    // (its code on its p_align) comes out the same.
    if segment.p_offset >= len as u64 {
        return Err("the segment starts past the end of the file".into());
    }
    let segment_start = segment.p_offset as usize;
    let file_end = (segment.p_offset + segment.p_filesz).min(len as u64) as usize;
    let body_from = segment_start.max(elf.headers_read_end()).min(file_end);
    let body_address = segment.p_vaddr + (body_from - segment_start) as u64;
    let (ehsize, phentsize) = fields::sizes(elf.is_64);

    let header = output_header(elf, 0, 1);
    let mut placed = place_headers(&header, segment, elf.is_64, elf.little_endian, Some(body_address))?;
    // Another load address: the segment and its body move by the same amount.
    let shift = segment.p_vaddr - placed.load_address;
    if let Some(choice) = choice {
        let moved = ProgramHeader { p_vaddr: choice.load + shift, ..segment.clone() };
        placed = place_headers(
            &header,
            &moved,
            elf.is_64,
            elf.little_endian,
            Some(choice.load + body_address - segment.p_vaddr + shift),
        )?;
    }
    let Placed { phoff, body_at, load_address, mut phdr, mut headers } = placed;
    // The segment size the choice sets, so that its words run as instructions.
    let p_filesz_at = phoff + if elf.is_64 { 32 } else { 16 };
    let width = if elf.is_64 { 8 } else { 4 };
    if let Some(size) = choice.and_then(|c| c.size) {
        (phdr.p_filesz, phdr.p_memsz) = (size, size);
        let bytes = fields::phdr_bytes(&phdr, elf.is_64, elf.little_endian);
        headers[p_filesz_at..p_filesz_at + 2 * width].copy_from_slice(&bytes[p_filesz_at - phoff..][..2 * width]);
    }
    let reads = fields::loader_reads(elf.is_64, elf.little_endian, elf.header.e_machine, phoff, 1);
    // The data's objects laid on header bytes (`arrangements`): their bytes there,
    // where no code may go.
    let mut data_bytes = vec![false; headers.len()];
    for (from, to) in choice.and_then(|c| c.moves.data.as_ref()).map_or(&[][..], |d| &d.in_header[..]) {
        let at = (from.start - segment.p_vaddr + segment.p_offset) as usize;
        let bytes = elf.bytes.get(at..at + (from.end - from.start) as usize).ok_or("an object outside the file")?;
        let out = usize::try_from(to.wrapping_sub(load_address)).ok().filter(|o| o + bytes.len() <= headers.len());
        let out = out.ok_or("an object outside the headers")?;
        headers[out..out + bytes.len()].copy_from_slice(bytes);
        data_bytes[out..out + bytes.len()].fill(true);
    }
    // A file shrunk before loads its own headers, and their free bytes may hold code:
    // every header byte it loads stays as it is.
    let loads_own_headers = segment.p_offset == 0 && segment.p_vaddr == load_address;
    if loads_own_headers {
        for (i, byte) in headers.iter_mut().enumerate().take(body_at.min(body_from)) {
            match reads.get(i) {
                Some(true) if *byte != elf.bytes[i] => {
                    return Err(format!("it loads its own headers, and new ones would change byte {i:#x}"));
                }
                _ => *byte = elf.bytes[i],
            }
        }
    }
    let keep = trim_zeros(elf.bytes, body_from, file_end, segment.p_filesz + shift, body_at + (file_end - body_from));
    // A body shorter than the program header's free tail (p_align) leaves some of it
    // in the file, where the input loads the zeros just cut: zero those bytes, or
    // they would load as p_align's.
    if let Some(past_body) = headers.get_mut(body_at + (keep - body_from)..) {
        past_body.fill(0);
    }
    // The program header table must lie wholly inside the file.
    let length = |body_end: usize| (body_at + body_end - body_from).max(headers.len());
    let len_before = length(keep);
    let mut notes = vec![];
    let kept_end = segment.p_vaddr + (keep - segment_start) as u64;
    // Where the code's last instruction may lie on p_filesz, and the size it spells.
    let size_word = size_word(elf, &phdr, phoff);
    // The bytes of e_flags whose read bits code on them must keep (the search checks
    // each byte it puts there; --explain names them).
    let read_bits = fields::e_flags_read_bits(elf.is_64, elf.little_endian, elf.header.e_machine, elf.header.e_flags);
    let packing = if !options.pack {
        None
    } else if loads_own_headers {
        notes.push("the code stays as it lies: the input was shrunk before".into());
        None
    } else {
        // Code may also lie on the bytes of e_flags whose read bits it keeps.
        let mut closed = reads[..body_at].to_vec();
        for r in &read_bits {
            if let Some(byte) = closed.get_mut(r.at) {
                *byte = false;
            }
        }
        for (byte, &data) in closed.iter_mut().zip(&data_bytes) {
            *byte |= data;
        }
        let holes = free_runs(&closed);
        let size_word_at = size_word.map(|(at, _)| at);
        let mut moves = choice.map(|c| c.moves.clone()).unwrap_or_default();
        // Header bytes between holes that run as instructions, with e_entry as the
        // choice fixes it (or not at all), and p_filesz where no instruction lies on it.
        let isa = Isa::of(&elf.header).ok_or("no instruction decoder")?;
        let e_entry = if elf.is_64 { 24..32 } else { 24..28 };
        let mut image = headers.clone();
        let mut unsettled = vec![];
        match moves.entry_at {
            Some(at) => {
                let e_entry_value = at | (elf.header.e_entry ^ elf.entry_address());
                let header =
                    Header { e_entry: e_entry_value, e_phoff: phoff as u64, e_phnum: 1, ..output_header(elf, 0, 1) };
                image[e_entry.clone()]
                    .copy_from_slice(&fields::ehdr_bytes(&header, elf.is_64, elf.little_endian)[e_entry]);
            }
            None => unsettled.push(e_entry),
        }
        if size_word.is_some() {
            unsettled.push(p_filesz_at..p_filesz_at + 2 * width);
        }
        let body = moves.data.as_ref().map(|d| d.body_start);
        moves.passages = header_passages(isa, &image, load_address, &holes, body, &unsettled);
        match plan_packing(elf, &holes, &read_bits, body_address, load_address, kept_end, size_word_at, moves) {
            Ok(p) => Some(p),
            Err(why) => {
                notes.push(format!("the code stays as it lies: {why}"));
                None
            }
        }
    };
    // The packed file: the body's data up to the entry point, then the body's runs;
    // the zeros that end them need not be in the file either.
    let packed = packing.map(|p| {
        let data_end = (p.code.start - segment.p_vaddr) as usize + segment_start;
        let code_from = p.code.start.wrapping_sub(load_address) as usize;
        let mut len = (p.file_end() - load_address) as usize;
        // With no code left in the body, the data ends the file: its zeros go too, as
        // they would from a file shrunk again (fuzzing found outputs that shrank further).
        // Not into the headers, though: the program header's free tail there holds the
        // data's bytes, zeros included, or it would load as p_align's.
        let mut data_end = data_end;
        if len == code_from && p.data.is_none() {
            let data = elf.bytes.get(body_from..data_end).unwrap_or_default();
            let zeros = data.iter().rev().take_while(|&&b| b == 0).count();
            let keep = (body_at + data.len() - zeros).max(headers.len()).min(len);
            data_end -= len - keep;
            len = keep;
        }
        // The data moved behind the code ends the file: its zeros go the same way (not
        // into the code before it, nor into the headers).
        if let Some(moved) = p.data.as_ref().filter(|d| !d.behind.is_empty()) {
            let image = moved_image(elf, moved, moved.behind.clone());
            let zeros = image.iter().rev().take_while(|&&b| b == 0).count();
            let code_end = (p.body_end - load_address) as usize;
            let keep = (len - zeros).max(code_end).max(headers.len()).min(len);
            debug_assert_eq!(len as u64, moved.behind.end - load_address);
            len = keep;
        }
        (p, data_end, len.max(headers.len()))
    });
    // The file must still reach the segment's last page (the loader maps it; a page
    // wholly past EOF faults), as trim_zeros keeps it.
    let last_page_start = (segment.p_filesz + shift).saturating_sub(1) / PAGE * PAGE;
    let packed = match packed {
        Some((_, _, len)) if len as u64 <= last_page_start => {
            notes.push("the code stays as it lies: the file would end before the segment's last page".into());
            None
        }
        Some((_, _, len)) if len >= len_before => {
            notes.push("the code stays as it lies: packing it saves nothing".into());
            None
        }
        other => other,
    };
    let (body_end, len_out) = packed.as_ref().map_or((keep, len_before), |(_, data_end, len)| (*data_end, *len));
    // The body (the input's data) goes right behind the headers, or behind the
    // body's code where it moved.
    let moved = packed.as_ref().and_then(|(p, _, _)| p.data.as_ref());
    // Moved, the data goes piece by piece (`Plan::pieces`), and the body holds nothing.
    let (body_end, data_at) = if moved.is_some() { (body_from, body_at) } else { (body_end, body_at) };
    let in_file = |a: u64| (a - segment.p_vaddr + segment.p_offset) as usize;
    let pieces: Vec<(Range<usize>, usize)> = moved
        .map(|d| {
            d.pieces
                .iter()
                .map(|(from, to)| (in_file(from.start)..in_file(from.end), (to - load_address) as usize))
                .collect()
        })
        .unwrap_or_default();
    let mut steps = vec![
        after_segments(len, file_end),
        ("the input's headers and the padding before its code".into(), body_from as i64 - (ehsize + phentsize) as i64),
        (
            format!(
                "program header at {phoff:#x}, on the ELF header's last {} bytes (they agree or are free)",
                ehsize - phoff
            ),
            (ehsize - phoff) as i64,
        ),
        (
            format!(
                "code and data from {body_at:#x} (address {:#x}, loaded from {load_address:#x}), over the program \
                 header's last bytes ({})",
                load_address + body_at as u64,
                fields::phdr_free_why(elf.is_64, body_at - phoff).unwrap_or("free")
            ),
            (phoff + phentsize) as i64 - body_at as i64,
        ),
        (
            "trailing zero bytes, which the loader reads from the page past EOF".into(),
            (file_end - body_from) as i64 - (len_before - body_at) as i64,
        ),
    ];
    if let Some((p, _, _)) = &packed {
        let holes: Vec<String> = p
            .runs
            .iter()
            .filter_map(|r| match &r.place {
                Place::Hole(h) => {
                    let kept: Vec<String> = read_bits
                        .iter()
                        .filter(|b| (r.at..r.at + r.bytes.len() as u64).contains(&(load_address + b.at as u64)))
                        .map(|b| format!("; code keeps the read bits {:#04x} of byte {:#x}", b.mask, b.at))
                        .collect();
                    Some(format!(
                        "{:#x} ({}{})",
                        h.start,
                        fields::free_fields(elf.is_64, elf.little_endian, elf.header.e_machine, phoff, h.clone()),
                        kept.concat()
                    ))
                }
                Place::Body => None,
            })
            .collect();
        steps.push((
            format!(
                "the code packed in {} runs, into {} and the body, entry {:#x}",
                p.runs.len(),
                holes.join(", "),
                p.entry
            ),
            len_before as i64 - len_out as i64,
        ));
    }
    // Header bytes that runs go on through.
    if let Some((p, _, _)) = &packed {
        let isa = p.isa;
        // (Runs in holes: behind the body's last run lies a literal pool.)
        for run in p.runs.iter().filter(|r| !r.slot && r.jump_to.is_some() && r.place != Place::Body) {
            let at = run.at + run.code_len as u64;
            let inserted = &run.bytes[run.code_len..];
            if let Some((clobbers, text)) = isa.passage(inserted, at) {
                steps.push((
                    format!(
                        "header bytes {:#x}..{:#x} run as `{text}` on the way to the next run: they destroy only {}, \
                         which the code writes before it reads",
                        at - load_address,
                        at - load_address + inserted.len() as u64,
                        super::isa::liveness::describe(clobbers)
                    ),
                    0, // counted with the packing
                ));
            }
        }
    }
    // The code's last instruction on p_filesz: p_filesz = p_memsz = its bytes.
    if let (Some((p, _, _)), Some((at, size))) = (&packed, size_word)
        && p.size_word_at.is_some()
    {
        (phdr.p_filesz, phdr.p_memsz) = (size, size);
        let bytes = fields::phdr_bytes(&phdr, elf.is_64, elf.little_endian);
        let field = at - phoff; // p_filesz, then p_memsz of the same width
        let width = if elf.is_64 { 8 } else { 4 };
        headers[at..at + 2 * width].copy_from_slice(&bytes[field..field + 2 * width]);
        steps.push((
            format!("the code's last instruction is p_filesz = p_memsz = {size:#x}, at {at:#x}"),
            0, // counted with the packing
        ));
    }
    if let Some(data) = moved {
        let rebased = match choice {
            Some(c) if c.moves.header_jump.is_some() => format!("; {}", c.what),
            _ => String::new(),
        };
        let names = if rewrites_absolute(choice) {
            "only instructions of the code name it (PC-relative ones, and x86's absolute addresses, rewritten)"
        } else {
            "only PC-relative instructions name it"
        };
        let what = match &data.pieces[..] {
            [(from, to)] => format!(
                "the data ({} bytes) moved behind the body's code, to {:#x}",
                from.end - from.start,
                to - load_address
            ),
            pieces => {
                let each: Vec<String> = pieces
                    .iter()
                    .map(|(from, to)| {
                        let place = if data.behind.contains(to) { "behind the code" } else { "on header bytes" };
                        format!("{:#x}..{:#x} {place} at {:#x}", from.start, from.end, to - load_address)
                    })
                    .collect();
                format!(
                    "the data's {} objects (each its own section, which every reference to it names) moved one by \
                     one: {}",
                    pieces.len(),
                    each.join(", ")
                )
            }
        };
        steps.push((
            format!("{what}: the linker's relocations show that {names}{rebased}"),
            0, // counted with the packing
        ));
    }
    let entry = packed.as_ref().map(|(p, _, _)| p.entry);
    if let Some(entry) = entry {
        // The new entry point in the header bytes (e_entry is read: not in a hole).
        // (On ARM, bit 0 of e_entry keeps selecting Thumb state.)
        let e_entry = entry | (elf.header.e_entry ^ elf.entry_address());
        let header = Header { e_entry, e_phoff: phoff as u64, e_phnum: 1, ..output_header(elf, 0, 1) };
        let ehdr = fields::ehdr_bytes(&header, elf.is_64, elf.little_endian);
        let at = if elf.is_64 { 24..32 } else { 24..28 };
        headers[at.clone()].copy_from_slice(&ehdr[at]);
    }
    Ok(Plan {
        layout: Layout::Overlapped,
        phoff: phoff as u64,
        phdrs: vec![phdr],
        headers,
        body: body_from..body_end,
        body_at: data_at,
        pieces,
        headers_end: body_at,
        len: len_out,
        steps,
        notes,
        packing: packed.map(|(p, _, _)| p),
    })
}

/// Whether the choice's data move rewrites x86's absolute addresses.
fn rewrites_absolute(choice: Option<&Choice>) -> bool {
    choice.and_then(|c| c.moves.data.as_ref()).is_some_and(|d| !d.absolute.is_empty())
}

/// The output bytes `range` (addresses) as the moved data's pieces fill them: zeros
/// between them.
fn moved_image(elf: &Elf, moved: &pack::MovedData, range: Range<u64>) -> Vec<u8> {
    let segment = &elf.phdrs[0];
    let mut image = vec![0; (range.end - range.start) as usize];
    for (from, to) in &moved.pieces {
        let at = (from.start - segment.p_vaddr + segment.p_offset) as usize;
        let bytes = elf.bytes.get(at..at + (from.end - from.start) as usize).unwrap_or_default();
        for (k, &b) in bytes.iter().enumerate() {
            if let Some(slot) = (to + k as u64).checked_sub(range.start).and_then(|o| image.get_mut(o as usize)) {
                *slot = b;
            }
        }
    }
    image
}

/// Where p_filesz lies (file offset) and the size it would give, if the code's last
/// instruction may lie on it (pack.rs): the ISA names an instruction whose bytes make
/// a size (`Isa::size_word`), and p_filesz = p_memsz = that size serves the segment
/// `phdr` (at `phoff`) on every loader:
/// - it holds the segment's memory: size >= p_memsz (and so >= p_filesz);
/// - nothing the program touches faults: with p_filesz past the file's last page the
///   loader maps pages wholly past EOF, which raise SIGBUS when touched, so the
///   segment's memory must lie in the first page (4 KiB: the smallest any of the
///   kernels uses), which the file's start reaches, where bytes past EOF read as zeros;
/// - p_filesz = p_memsz: the loader zeroes nothing past p_filesz (it would write to
///   such a page, and fail);
/// - it does not wrap the address space (a 32-bit one for ELF32).
fn size_word(elf: &Elf, phdr: &ProgramHeader, phoff: usize) -> Option<(usize, u64)> {
    let size = Isa::of(&elf.header)?.size_word_value().filter(|_| elf.little_endian)?;
    let at = phoff + if elf.is_64 { 32 } else { 16 };
    size_serves(elf, phdr, size).then_some((at, size))
}

/// Whether p_filesz = p_memsz = `size` serves the segment `phdr` on every loader (the
/// conditions at `size_word`).
fn size_serves(elf: &Elf, phdr: &ProgramHeader, size: u64) -> bool {
    let limit = if elf.is_64 { u64::MAX } else { u32::MAX as u64 };
    size >= phdr.p_memsz
        && phdr.p_memsz <= PAGE
        && phdr.p_vaddr.checked_add(size).is_some_and(|end| end <= limit)
        && (elf.is_64 || size <= u32::MAX as u64)
}

/// The packing (pack.rs) of the code of `elf`'s one segment, whose body starts at
/// `body_address`, into `holes` of the output loaded at `load` (on their bytes of
/// `read_bits`, only code that keeps those bits); the kept bytes end at `kept_end`.
#[allow(clippy::too_many_arguments)]
fn plan_packing(
    elf: &Elf,
    holes: &[Range<usize>],
    read_bits: &[fields::ReadBits],
    body_address: u64,
    load: u64,
    kept_end: u64,
    size_word_at: Option<usize>,
    moves: pack::Moves,
) -> Result<Packing, String> {
    let machine = elf.header.e_machine;
    let isa = Isa::of(&elf.header).ok_or_else(|| format!("no instruction decoder for machine {machine}"))?;
    let segment = &elf.phdrs[0];
    let entry = elf.entry_address();
    let file_end = (segment.p_offset + segment.p_filesz).min(elf.bytes.len() as u64) as usize;
    let from = entry.wrapping_sub(segment.p_vaddr).wrapping_add(segment.p_offset) as usize;
    let code = elf.bytes.get(from..file_end).filter(|_| entry >= body_address);
    let code = code.ok_or("the entry point is not in the code")?;
    // The code ends where the segment's file bytes do, less their trailing zeros
    // (verify.rs reads the same end from the input).
    let zeros = code.iter().rev().take_while(|&&b| b == 0).count();
    let file_end = (entry + (code.len() - zeros) as u64).min(kept_end.max(entry));
    let data_from = (body_address - segment.p_vaddr + segment.p_offset) as usize;
    no_code_address_held(
        elf.bytes.get(data_from..from).unwrap_or_default(),
        body_address,
        elf.little_endian,
        entry..file_end,
    )?;
    pack::plan(&pack::Input { isa, code, entry, file_end, load, holes, read_bits, size_word_at, moves })
}

/// Every aligned 32-bit word of `data` (loaded at `address`) whose value, bit 0 aside
/// (a Thumb address), lies in `code`, as (where, value). An ELF64 pointer's low half
/// is such a word, as our code lies below 4 GiB. Where a program may hold the address
/// of code the kernel enters (a signal handler): the build's syscall proofs take them
/// as entries, the packer leaves such code where it lies. Over-approximated: a word
/// of data that merely looks so counts too.
pub fn code_addresses_in(
    data: &[u8],
    address: u64,
    little_endian: bool,
    code: Range<u64>,
) -> impl Iterator<Item = (u64, u64)> + '_ {
    let skip = (address.next_multiple_of(4) - address) as usize;
    data.get(skip..).unwrap_or_default().chunks_exact(4).enumerate().filter_map(move |(k, word)| {
        let word: [u8; 4] = word.try_into().expect("chunks of 4");
        let value = u64::from(if little_endian { u32::from_le_bytes(word) } else { u32::from_be_bytes(word) });
        code.contains(&(value & !1)).then_some((address + (skip + 4 * k) as u64, value))
    })
}

/// Err where the data (`data`, loaded at `address`) holds an address inside `code`
/// (`code_addresses_in`): the program may hand it to the kernel to enter (a signal
/// handler), and packing, which moves the code, would leave it pointing at other
/// bytes.
pub(super) fn no_code_address_held(
    data: &[u8],
    address: u64,
    little_endian: bool,
    code: Range<u64>,
) -> Result<(), String> {
    match code_addresses_in(data, address, little_endian, code).next() {
        Some((at, value)) => Err(format!(
            "the data at {at:#x} holds {value:#x}, an address inside the code, which may be entered from there"
        )),
        None => Ok(()),
    }
}

/// The runs of bytes no loader reads, longest first: where code may go.
fn free_runs(reads: &[bool]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &read) in reads.iter().chain([&true]).enumerate() {
        match (read, start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    runs.sort_by_key(|r| std::cmp::Reverse(r.len()));
    runs
}

#[cfg(test)]
mod tests {
    use goblin::elf::header::{EM_ARM, EM_S390, EM_X86_64};

    use super::*;

    #[test]
    fn data_holding_a_code_address_keeps_the_code_where_it_lies() {
        let code = 0x10080..0x100c0;
        // At 0x10068: "Hi", then aligned words from 0x1006c: 0x10090 (into the code).
        let mut data = b"Hi\0\0".to_vec();
        data.extend(0x10090u32.to_le_bytes());
        let err = no_code_address_held(&data, 0x10068, true, code.clone()).unwrap_err();
        assert!(err.contains("0x1006c holds 0x10090"), "{err}");
        // A Thumb address (bit 0 set); big-endian; none: a word past the code.
        assert!(no_code_address_held(&0x10091u32.to_le_bytes(), 0x10068, true, code.clone()).is_err());
        assert!(no_code_address_held(&0x10090u32.to_be_bytes(), 0x10068, false, code.clone()).is_err());
        assert!(no_code_address_held(&0x100c0u32.to_le_bytes(), 0x10068, true, code.clone()).is_ok());
        // Unaligned bytes that would spell one are no word.
        let unaligned = [0, 0x90, 0, 1, 0, 0, 0, 0];
        assert!(no_code_address_held(&unaligned, 0x10068, true, code).is_ok());
    }

    #[test]
    fn the_body_starts_on_p_align() {
        // ELF64 little-endian: phdr at 0x38, p_align at 0x68; ELF32: 0x2c, 0x48;
        // big-endian: no overlap, phdr at 0x40, p_align at 0x70.
        assert_eq!(overlapped_body_offset(true, true, EM_X86_64), Some(0x68));
        assert_eq!(overlapped_body_offset(false, true, EM_ARM), Some(0x48));
        assert_eq!(overlapped_body_offset(true, false, EM_S390), Some(0x70));
    }

    #[test]
    fn merging_takes_fixed_bytes_and_refuses_disagreement() {
        // a = [fixed 1, free 2, fixed 3]; b over its last two bytes.
        let a = [1, 2, 3];
        let a_fixed = [true, false, true];
        assert_eq!(merge(&a, &a_fixed, 1, &[9, 3, 7], &[true, true, false]), Ok(vec![1, 9, 3, 7]));
        assert_eq!(merge(&a, &a_fixed, 1, &[9, 4], &[true, true]), Err(2));
        // A free byte of b under a fixed byte of a takes a's value.
        assert_eq!(merge(&a, &a_fixed, 2, &[0], &[false]), Ok(vec![1, 2, 3]));
    }
}
