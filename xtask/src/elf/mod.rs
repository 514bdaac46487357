//! The ELF minimizer: read (goblin) -> plan -> write (object) -> verify (goblin again).
//!
//! Two layouts (plan.rs): in place, as ELFkickers' `sstrip` does (drop the section
//! headers and everything no segment holds, cut trailing zeros the loader supplies),
//! and overlapped, for a one-segment file linked to leave exactly the room the
//! overlapped headers take (fields.rs says which header bytes loaders read). Every
//! output is parsed back and its memory image compared with the input's (verify.rs).

mod fields;
pub mod isa;
mod pack;
mod plan;
mod read;
mod relocs;
mod rules;
mod verify;
mod write;

use std::{fmt, fs, path::Path};

use anyhow::{Context, Result};

pub use fields::sizes as header_sizes;
pub use isa::code_alignment;
pub use plan::{Layout, Options, Plan, code_addresses_in, overlapped_body_offset};
pub use read::{Elf, read};

/// Why an input file cannot be shrunk: the caller's to fix. The command line says it
/// in one line and exits with status 2; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// The bad input is the caller's to fix. (ELFkickers' sstrip exits 1 on any
    /// failure; we set refusals apart from other errors.)
    pub const EXIT_STATUS: u8 = 2;
}

/// Our own check rejected what we made (the writer could not follow the plan, or the
/// verifier found the output wrong): a bug in the minimizer, whatever the input was,
/// since every input it cannot handle must be refused before a plan is made. The
/// command line exits with status 70 (EX_SOFTWARE); nothing is written; the fuzz
/// target panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bug(pub String);

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BUG in the ELF minimizer, not a fault of the input: {}. Please report it with the input file attached",
            self.0
        )
    }
}

impl std::error::Error for Bug {}

impl Bug {
    /// EX_SOFTWARE from sysexits.h, "an internal software error": not a refusal (2),
    /// not an ordinary failure (1), so that scripts and CI can tell our bug from a bad
    /// input.
    pub const EXIT_STATUS: u8 = 70;
}

/// The exit status for an error whose chain holds a `Bug` or a `Refusal`; None when
/// it holds neither.
pub fn exit_status(e: &anyhow::Error) -> Option<u8> {
    if e.chain().any(|c| c.is::<Bug>()) {
        Some(Bug::EXIT_STATUS)
    } else if e.chain().any(|c| c.is::<Refusal>()) {
        Some(Refusal::EXIT_STATUS)
    } else {
        None
    }
}

/// Why `shrink` made no file: the input's fault, or ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    Refusal(Refusal),
    Bug(Bug),
}

impl Error {
    /// As an error that names `file` first ("file: why"), keeping its kind for the
    /// exit status (main.rs).
    pub fn in_file(self, file: &Path) -> anyhow::Error {
        match self {
            Error::Refusal(r) => Refusal(format!("{}: {r}", file.display())).into(),
            Error::Bug(b) => anyhow::Error::new(b).context(file.display().to_string()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refusal(r) => r.fmt(f),
            Error::Bug(b) => b.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refusal(r)
    }
}

impl From<Bug> for Error {
    fn from(b: Bug) -> Self {
        Error::Bug(b)
    }
}

/// `Err(Refusal)` with a formatted reason.
macro_rules! refuse {
    ($($arg:tt)*) => { return Err($crate::elf::Refusal(format!($($arg)*))) };
}
pub(crate) use refuse;

/// Shrink an ELF image in memory: the plan and the bytes it gives, proven well-formed.
pub fn shrink(input: &[u8], options: Options) -> Result<(Plan, Vec<u8>), Error> {
    shrink_with(input, |elf| plan::plan(elf, options))
}

/// The in-place layout alone: what ELFkickers' sstrip makes of `input`.
pub fn shrink_in_place(input: &[u8]) -> Result<(Plan, Vec<u8>), Error> {
    shrink_with(input, plan::in_place)
}

/// Reading, the loader rules and the planner judge the input (a `Refusal`); past
/// them, the plan is ours, and a write or verification that fails is a `Bug`.
fn shrink_with(input: &[u8], planner: impl Fn(&Elf) -> Result<Plan, Refusal>) -> Result<(Plan, Vec<u8>), Error> {
    let elf = read(input)?;
    rules::check(&elf)?;
    let plan = planner(&elf)?;
    let output = write::write(&elf, &plan)?;
    verify::verify(&elf, &plan, &output)?;
    Ok((plan, output))
}

/// What the fuzz target asserts of any bytes, and the corpus replay of each file
/// (tests/shrink.rs), with and without packing the code: a refusal is fine; a `Bug`
/// is not; what is accepted shrinks again to itself. Ok(whether it was accepted
/// without packing); Err says what broke.
pub fn check_contract(input: &[u8]) -> Result<bool, String> {
    let mut accepted = false;
    for pack in [false, true] {
        let options = Options { pack };
        let once = match shrink(input, options) {
            Ok((_, once)) => once,
            Err(Error::Refusal(_)) => continue,
            Err(Error::Bug(bug)) => return Err(format!("pack {pack}: {bug}")),
        };
        accepted |= !pack;
        match shrink(&once, options) {
            Ok((_, twice)) if twice == once => {}
            Ok(_) => return Err(format!("pack {pack}: shrinking is not idempotent")),
            Err(e) => return Err(format!("pack {pack}: our own output is not taken back: {e}")),
        }
    }
    Ok(accepted)
}

/// Shrink the file `input` into `output` (they may be the same path). Nothing is
/// written unless the result is verified; `output` is replaced in one rename.
pub fn shrink_file(input: &Path, output: &Path, options: Options, explain: bool) -> Result<Plan> {
    let meta = fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
    if !meta.is_file() {
        return Err(Refusal(format!("{}: not a regular file", input.display())).into());
    }
    let bytes = fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    // --explain prints the plan before a byte is written, even one the verifier
    // then rejects.
    let planner = |elf: &Elf| {
        let plan = plan::plan(elf, options)?;
        if explain {
            eprint!("{}", plan.explain(bytes.len()));
        }
        Ok(plan)
    };
    let (plan, shrunk) = shrink_with(&bytes, planner).map_err(|e| e.in_file(input))?;
    crate::fsutil::write_atomic(output, &shrunk, 0o755)?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use goblin::elf::{
        header::{EM_X86_64, ET_EXEC, Header},
        program_header::{PF_R, PF_X, PT_LOAD, ProgramHeader},
    };

    use super::*;

    /// A static x86_64 executable: the ELF header, one R+X PT_LOAD of the whole file
    /// at 0x10000, then `code`, where the entry point is.
    fn tiny_elf(code: &[u8]) -> Vec<u8> {
        elf_with(code, 0)
    }

    /// The same with the segment starting at file offset `segment_at` (0, or past the
    /// headers: as link.ld links ours, for the overlapped layout), loaded at 0x10000
    /// plus that offset's place in its page, and holding only `code`.
    fn elf_with(code: &[u8], segment_at: u64) -> Vec<u8> {
        elf_for(EM_X86_64, code, segment_at)
    }

    /// `elf_with` for ELF machine `machine` (64-bit, little-endian).
    fn elf_for(machine: u16, code: &[u8], segment_at: u64) -> Vec<u8> {
        let (ehsize, phentsize) = fields::sizes(true);
        let code_at = segment_at.max((ehsize + phentsize) as u64);
        let address = 0x10000 + segment_at % 0x1000;
        let entry = address + (code_at - segment_at);
        one_segment(true, (machine, 0), (segment_at, address), code_at, entry, code)
    }

    /// A little-endian executable of one R+X PT_LOAD from file offset `segment_at` at
    /// `address` (ELF64 or ELF32, `machine` with `e_flags`), `body` at file offset
    /// `body_at` (what lies between is the headers, then zeros).
    fn one_segment(
        is_64: bool,
        (machine, e_flags): (u16, u32),
        (segment_at, address): (u64, u64),
        body_at: u64,
        entry: u64,
        body: &[u8],
    ) -> Vec<u8> {
        let (ehsize, phentsize) = fields::sizes(is_64);
        let mut e_ident = [0; 16];
        e_ident[..7].copy_from_slice(&[0x7f, b'E', b'L', b'F', if is_64 { 2 } else { 1 }, 1, 1]);
        let header = Header {
            e_ident,
            e_type: ET_EXEC,
            e_machine: machine,
            e_version: 1,
            e_entry: entry,
            e_phoff: ehsize as u64,
            e_shoff: 0,
            e_flags,
            e_ehsize: ehsize as u16,
            e_phentsize: phentsize as u16,
            e_phnum: 1,
            e_shentsize: 0,
            e_shnum: 0,
            e_shstrndx: 0,
        };
        let size = body_at + body.len() as u64 - segment_at;
        let segment = ProgramHeader {
            p_type: PT_LOAD,
            p_flags: PF_R | PF_X,
            p_offset: segment_at,
            p_vaddr: address,
            p_paddr: address,
            p_filesz: size,
            p_memsz: size,
            p_align: 0x1000,
        };
        let mut bytes = [fields::ehdr_bytes(&header, is_64, true), fields::phdr_bytes(&segment, is_64, true)].concat();
        bytes.resize(body_at as usize, 0);
        bytes.extend_from_slice(body);
        bytes
    }

    /// push 60; pop rax; syscall: exit.
    const EXIT: [u8; 5] = [0x6a, 0x3c, 0x58, 0x0f, 0x05];

    /// A static 32-bit ARM executable linked as crates/link.ld links ours: one R+X PT_LOAD
    /// from file offset 0x1048 at 0x10048, `data` first, then Thumb `code` (the entry).
    fn thumb_elf(data: &[u8], code: &[u8]) -> Vec<u8> {
        let (segment_at, address) = (0x1048u64, 0x10048u64);
        let entry = (address + data.len() as u64) | 1;
        let arm = (goblin::elf::header::EM_ARM, 0x0500_0200);
        one_segment(false, arm, (segment_at, address), segment_at, entry, &[data, code].concat())
    }

    /// Thumb hello (its r7 kept by push and pop) whose last run goes on to the exit
    /// `svc` through p_filesz, p_memsz and p_flags, which run as instructions writing
    /// registers the exit does not read. Spoiled so that they write r0, the exit
    /// status, the verifier rejects it, naming them.
    #[test]
    fn header_bytes_that_destroy_a_read_register_are_a_bug() {
        let code = [0x2001u16, 0x4904, 0x2214, 0xb480, 0x2704, 0xdf00, 0xbc80, 0x3814, 0x2701, 0xdf00];
        let input =
            thumb_elf(b"Hello Docker World!\n", &[code.map(u16::to_le_bytes).concat(), vec![0x48, 0, 1, 0]].concat());
        let pack = Options { pack: true };
        let (plan, _) = shrink(&input, pack).unwrap();
        let text = plan.explain(input.len());
        assert!(text.contains("header bytes 0x3c..0x46 run as `"), "{text}");
        // p_filesz = p_memsz = 0x100: `lsls r0, r0, #4`, twice.
        let result = shrink_with(&input, |elf| {
            let mut plan = plan::plan(elf, pack)?;
            (plan.phdrs[0].p_filesz, plan.phdrs[0].p_memsz) = (0x100, 0x100);
            for field in [0x3c, 0x40] {
                plan.headers[field..field + 4].copy_from_slice(&0x100u32.to_le_bytes());
            }
            let runs = &mut plan.packing.as_mut().unwrap().runs;
            let run = runs.iter_mut().find(|r| r.at + r.code_len as u64 == 0x1003c).unwrap();
            run.bytes[run.code_len..][..8].copy_from_slice(&[0, 1, 0, 0, 0, 1, 0, 0]);
            Ok(plan)
        });
        match result {
            Err(Error::Bug(bug)) => assert!(bug.0.contains("destroying what the code reads"), "{bug:?}"),
            other => panic!("want a Bug, got {other:?}"),
        }
    }

    /// Thumb hello with its literal pool: a packing turns the load into adr, or keeps
    /// it a load from a pool behind the body; spoiled either way, the verifier rejects it.
    #[test]
    fn a_wrong_thumb_packing_is_a_bug() {
        let hello = |literal: u32| {
            let code = [0x2001u16, 0x4904, 0x2214, 0xb480, 0x2704, 0xdf00, 0xbc80, 0x3814, 0x2701, 0xdf00];
            thumb_elf(
                b"Hello Docker World!\n",
                &[code.map(u16::to_le_bytes).concat(), literal.to_le_bytes().to_vec()].concat(),
            )
        };
        let pack = Options { pack: true };
        // The load as adr (in a hole before the message): the adr's offset spoiled.
        let input = hello(0x10048);
        let (plan, out) = shrink(&input, pack).unwrap();
        assert_eq!(out.len(), 102, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 2] = [
            ("the adr's offset", |p| {
                let run = p.packing.as_mut().unwrap().runs.iter_mut().find(|r| r.from == 0x1005e).unwrap();
                run.bytes[0] += 1;
            }),
            ("the adr as a load", |p| {
                let run = p.packing.as_mut().unwrap().runs.iter_mut().find(|r| r.from == 0x1005e).unwrap();
                run.bytes[1] = 0x49;
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
        // A value no adr reaches: the load stays a load, from a pool behind the body.
        let input = hello(0x20048);
        let (plan, _) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        let body = packing.runs.iter().rfind(|r| r.place == pack::Place::Body).unwrap();
        assert!(body.bytes.len() >= body.code_len + 4, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 2] = [
            ("the pool's word", |p| {
                let body = p.packing.as_mut().unwrap().runs.iter_mut().rfind(|r| r.place == pack::Place::Body).unwrap();
                *body.bytes.last_mut().unwrap() ^= 1;
            }),
            ("the pool's word taken as code", |p| {
                let body = p.packing.as_mut().unwrap().runs.iter_mut().rfind(|r| r.place == pack::Place::Body).unwrap();
                body.code_len = body.bytes.len();
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// `shrink` with the plan spoiled by `spoil` after the planner made it.
    fn shrink_spoiled(input: &[u8], spoil: impl Fn(&mut Plan)) -> Result<(Plan, Vec<u8>), Error> {
        shrink_with(input, |elf| {
            let mut plan = plan::plan(elf, Options::default())?;
            spoil(&mut plan);
            Ok(plan)
        })
    }

    #[test]
    fn a_sound_plan_is_written() {
        let (plan, output) = shrink(&tiny_elf(&EXIT), Options::default()).unwrap();
        assert_eq!(output.len(), plan.len);
        assert!(output.ends_with(&EXIT));
    }

    #[test]
    fn a_bad_input_is_a_refusal() {
        for input in [&b""[..], b"\x7fELF", &tiny_elf(&EXIT)[..100]] {
            let err = shrink(input, Options::default()).unwrap_err();
            assert!(matches!(err, Error::Refusal(_)), "{err:?}");
        }
    }

    /// Whatever the planner gets wrong, the writer or the verifier catches it, and it
    /// is our bug, never the input's refusal.
    #[test]
    fn a_wrong_plan_is_a_bug() {
        let input = tiny_elf(&EXIT);
        type Spoil = fn(&mut Plan);
        let spoilers: [(&str, Spoil); 5] = [
            ("the entry point in the headers", |p| p.headers[24] ^= 1),
            ("a program header field", |p| p.phdrs[0].p_flags = PF_R),
            ("the body taken one byte late", |p| p.body = p.body.start + 1..p.body.end),
            ("a body outside the input", |p| p.body = p.body.start..p.body.end + 0x1000),
            ("a length the writer cannot fill", |p| p.len = p.body_at),
        ];
        for (what, spoil) in spoilers {
            match shrink_spoiled(&input, spoil) {
                Err(Error::Bug(bug)) => assert!(bug.to_string().starts_with("BUG in the ELF minimizer"), "{bug}"),
                other => panic!("{what}: want a Bug, got {other:?}"),
            }
        }
    }

    /// A packed plan spoiled after the planner made it: the writer follows it, the
    /// verifier rejects it as our bug.
    #[test]
    fn a_wrong_packing_is_a_bug() {
        // write(1, 0x10068, 0): mov edi, 1; mov esi, 0x10068; xor edx, edx; push 1;
        // pop rax; syscall; then exit.
        let code =
            [&[0xbf, 1, 0, 0, 0, 0xbe, 0x68, 0, 1, 0, 0x31, 0xd2, 0x6a, 1, 0x58, 0x0f, 0x05][..], &EXIT].concat();
        let input = elf_with(&code, 0x1068);
        let pack = Options { pack: true };
        let (plan, _) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        assert!(packing.runs.len() > 1 && packing.entry != 0x10068, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 4] = [
            ("an instruction's byte", |p| p.packing.as_mut().unwrap().runs[0].bytes[0] ^= 1),
            ("a jump's target", |p| *p.packing.as_mut().unwrap().runs[0].bytes.last_mut().unwrap() ^= 2),
            ("a run dropped", |p| {
                p.packing.as_mut().unwrap().runs.pop();
            }),
            ("a run on the message", |p| p.packing.as_mut().unwrap().runs[0].at = 0x10068),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// The code's last syscall on p_filesz (pack.rs): the verifier takes it, the file
    /// reads back, shrinks again to itself, and a plan spoiled there is our bug. A
    /// segment that needs more than the first page keeps its size.
    #[test]
    fn the_last_syscall_on_p_filesz_is_proven() {
        // write(1, 0x10068, 20); exit(result - 20): our x86_64 hello's code.
        let code = [
            0x6a, 0x01, 0x58, 0x6a, 0x14, 0x5a, 0xbe, 0x68, 0x00, 0x01, 0x00, 0x48, 0x89, 0xc7, 0x0f, 0x05, 0x48, 0x8d,
            0x78, 0xec, 0x6a, 0x3c, 0x58, 0x0f, 0x05,
        ];
        let input = elf_with(&code, 0x1068);
        let pack = Options { pack: true };
        let (plan, output) = shrink(&input, pack).unwrap();
        assert_eq!(plan.packing.as_ref().unwrap().size_word_at, Some(0x10058), "{}", plan.explain(input.len()));
        assert_eq!((plan.phdrs[0].p_filesz, plan.phdrs[0].p_memsz), (0x50f, 0x50f));
        assert_eq!(output[0x58..0x68], [0x0f, 5, 0, 0, 0, 0, 0, 0, 0x0f, 5, 0, 0, 0, 0, 0, 0]);
        assert_eq!(check_contract(&output), Ok(true));
        let spoilers: [(&str, Spoil); 2] = [
            ("the syscall on p_filesz made a ud2", |p| {
                *p.packing.as_mut().unwrap().runs.last_mut().unwrap().bytes.last_mut().unwrap() = 0x0b;
                p.headers[0x59] = 0x0b;
                p.phdrs[0].p_filesz = 0xb0f;
            }),
            ("the run on p_filesz moved", |p| p.packing.as_mut().unwrap().runs.last_mut().unwrap().at -= 1),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
        // p_memsz of a whole page and more (zero fill past the file's bytes): the size
        // word would not hold it.
        let mut big = input.clone();
        big[0x68..0x70].copy_from_slice(&0x1001u64.to_le_bytes());
        let (plan, _) = shrink(&big, pack).unwrap();
        assert_eq!(plan.packing.as_ref().and_then(|p| p.size_word_at), None, "{}", plan.explain(big.len()));
    }

    /// ppc64le: the compiler's TOC set-up (`addis 2,12,0; addi 2,2,lo`) runs as one
    /// `addi 2,12,lo` at the entry, the nop lld left of an `addis` goes, and the
    /// verifier holds the fold to what it must be.
    #[test]
    fn the_ppc64le_toc_setup_folds_and_its_nops_go() {
        // TOC set-up; nop; write(1, msg, 20) (msg from r2); exit(1).
        let words: [u32; 10] = [
            0x3c4c_0000,
            0x3842_7f84,
            0x6000_0000,
            0x3800_0004,
            0x38a0_0014,
            0x3882_8068,
            0x3860_0001,
            0x4400_0002,
            0x3800_0001,
            0x4400_0002,
        ];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut input = elf_for(goblin::elf::header::EM_PPC64, &code, 0x1068);
        input[48] = 2; // e_flags: ELFv2
        let pack = Options { pack: true };
        let (plan, output) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        let entry = u64::from_le_bytes(input[24..32].try_into().unwrap());
        assert_eq!(packing.entry, entry, "{}", plan.explain(input.len()));
        assert_eq!(packing.runs[0].bytes[..4], 0x384c_7f84u32.to_le_bytes(), "{}", plan.explain(input.len()));
        let words_out = packing.runs.iter().flat_map(|r| r.bytes.chunks(4));
        assert!(words_out.clone().all(|w| w != 0x6000_0000u32.to_le_bytes() && w != 0x3c4c_0000u32.to_le_bytes()));
        // Eight of the ten words stay: the addis and the nop are gone.
        assert_eq!(packing.runs.iter().map(|r| r.code_len).sum::<usize>(), 32, "{}", plan.explain(input.len()));
        assert_eq!(check_contract(&output), Ok(true));
        let spoilers: [(&str, Spoil); 2] = [
            ("the folded addi's offset", |p| p.packing.as_mut().unwrap().runs[0].bytes[0] ^= 4),
            ("the folded addi from r2, not r12", |p| p.packing.as_mut().unwrap().runs[0].bytes[2] = 0x42),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// Our riscv64 hello (RVC), packed: its addi as c.addi a1, -20 in e_shoff (the
    /// auipc stays at the entry). Spoiled, the verifier holds the compressed pair to the
    /// address it must compute, in the register it must.
    #[test]
    fn a_wrong_compressed_pair_is_a_bug() {
        let input = riscv_hello();
        let pack = Options { pack: true };
        let (plan, output) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        let addi = packing.runs.iter().find(|r| r.from == 0x10086).unwrap();
        assert_eq!((addi.at, &addi.bytes[..2]), (0x10028, &[0xb1, 0x15][..]), "{}", plan.explain(input.len()));
        // The body (auipc, li a7, 64 and the c.j to e_version) ends the file; the exit
        // ecall lies in p_paddr.
        assert_eq!(
            (output.len(), packing.runs.last().map(|r| r.at)),
            (134, Some(0x10050)),
            "{}",
            plan.explain(input.len())
        );
        assert_eq!(check_contract(&output), Ok(true));
        fn c_addi(p: &mut Plan) -> &mut [u8] {
            &mut p.packing.as_mut().unwrap().runs.iter_mut().find(|r| r.from == 0x10086).unwrap().bytes[..2]
        }
        let spoilers: [(&str, Spoil); 4] = [
            ("the c.addi's immediate", |p| c_addi(p)[0] ^= 4),
            ("the c.addi into a0", |p| c_addi(p).copy_from_slice(&[0x61, 0x05])),
            ("the c.addi as c.li", |p| c_addi(p)[1] |= 0x40),
            ("the auipc's high part", |p| p.packing.as_mut().unwrap().runs[0].bytes[2] ^= 0x10),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// Our riscv64 hello, packed with a c.addi on e_flags' first byte (0x30), which
    /// keeps RVC set and RVE clear as the input has them. Spoiled there, RVE set or
    /// RVC cleared, the verifier finds e_flags' read bits changed: our bug.
    #[test]
    fn code_on_e_flags_that_spoils_a_read_bit_is_a_bug() {
        let input = riscv_hello();
        let pack = Options { pack: true };
        let (plan, output) = shrink(&input, pack).unwrap();
        assert_eq!((output.len(), output[0x30]), (134, 0x31), "{}", plan.explain(input.len()));
        assert_eq!(check_contract(&output), Ok(true));
        fn on_e_flags(p: &mut Plan) -> &mut u8 {
            let run = p
                .packing
                .as_mut()
                .unwrap()
                .runs
                .iter_mut()
                .find(|r| (r.at..r.at + r.bytes.len() as u64).contains(&0x10030))
                .unwrap();
            &mut run.bytes[(0x10030 - run.at) as usize]
        }
        let spoilers: [(&str, Spoil); 3] = [
            ("RVE set by the code's byte", |p| *on_e_flags(p) |= 0x08),
            ("RVC cleared by the code's byte", |p| *on_e_flags(p) &= !0x01),
            ("RVC cleared in the headers too", |p| {
                *on_e_flags(p) &= !0x01;
                p.headers[0x30] &= !0x01;
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// Our riscv64 hello as our compiler links it: the message at 0x10068, then the
    /// code (RVC, double-float ABI).
    fn riscv_hello() -> Vec<u8> {
        let code = [
            0x97, 0x05, 0, 0, 0x93, 0x08, 0, 0x04, 0x05, 0x45, 0x93, 0x85, 0xc5, 0xfe, 0x51, 0x46, 0x73, 0, 0, 0, 0x31,
            0x15, 0x93, 0x08, 0xd0, 0x05, 0x73, 0, 0, 0,
        ];
        let body = [&b"Hello Docker World!\n"[..], &code].concat();
        let riscv = (goblin::elf::header::EM_RISCV, 5);
        one_segment(true, riscv, (0x1068, 0x10068), 0x1068, 0x1007c, &body)
    }

    /// MIPS code packed with jumps that carry the run's last instruction in their
    /// delay slots, spoiled: the verifier holds each slot to what it may hold.
    #[test]
    fn a_wrong_mips_delay_slot_is_a_bug() {
        // lui $1,1; daddiu $5,$1,0x68; write(1, msg, 20); exit(0).
        let words: [u32; 9] =
            [0x3c01_0001, 0x6425_0068, 0x6402_1389, 0x6404_0001, 0x6406_0014, 0xc, 0x2402_13c2, 0x6404_0000, 0xc];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let input = elf_for(goblin::elf::header::EM_MIPS, &code, 0x1068);
        let pack = Options { pack: true };
        let (plan, _) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        assert!(packing.runs[0].slot, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 4] = [
            ("a nop for the slot's instruction", |p| {
                let run = &mut p.packing.as_mut().unwrap().runs[0];
                let n = run.bytes.len();
                run.bytes[n - 4..].fill(0);
            }),
            ("the slot not claimed", |p| p.packing.as_mut().unwrap().runs[0].slot = false),
            ("the entry in the slot", |p| {
                let run = &p.packing.as_ref().unwrap().runs[0];
                let slot = run.at + run.code_len as u64 + 4;
                p.headers[0x18..0x20].copy_from_slice(&slot.to_le_bytes());
            }),
            ("a syscall in the slot", |p| {
                let run = &mut p.packing.as_mut().unwrap().runs[0];
                let n = run.bytes.len();
                run.bytes[n - 4..].copy_from_slice(&0xcu32.to_le_bytes());
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// A change to a good plan, named for the test's message.
    type Spoil = fn(&mut Plan);

    /// Each spoiled plan of `input` must be written and then rejected as our own bug.
    fn each_spoiled_plan_is_a_bug(input: &[u8], options: Options, spoilers: &[(&str, Spoil)]) {
        for (what, spoil) in spoilers {
            let result = shrink_with(input, |elf| {
                let mut plan = plan::plan(elf, options)?;
                spoil(&mut plan);
                Ok(plan)
            });
            assert!(matches!(result, Err(Error::Bug(_))), "{what}: want a Bug, got {result:?}");
        }
    }

    /// A packing whose code skips padding and a no-op jump, spoiled: the verifier
    /// holds it to what runs, exactly.
    #[test]
    fn a_packing_that_runs_what_it_dropped_is_a_bug() {
        // jmp +3 over int3 padding; write(1, 0x10068, 0); exit.
        let write = [0xbf, 1, 0, 0, 0, 0xbe, 0x68, 0, 1, 0, 0x31, 0xd2, 0x6a, 1, 0x58, 0x0f, 0x05];
        let code = [&[0xeb, 0x03, 0xcc, 0xcc, 0xcc][..], &write, &EXIT].concat();
        let input = elf_with(&code, 0x1068);
        let pack = Options { pack: true };
        let (plan, _) = shrink(&input, pack).unwrap();
        let packing = plan.packing.as_ref().expect("packed");
        assert_eq!(packing.runs[0].from, 0x1006d, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 3] = [
            ("the no-op jump claimed", |p| p.packing.as_mut().unwrap().runs[0].from = 0x10068),
            ("the padding run", |p| {
                let run = &mut p.packing.as_mut().unwrap().runs[0];
                run.bytes.insert(0, 0xcc);
                run.code_len += 1;
            }),
            ("the exit dropped", |p| {
                let run = p.packing.as_mut().unwrap().runs.last_mut().unwrap();
                run.to -= 2;
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    #[test]
    fn each_kind_keeps_its_exit_status_and_names_the_file() {
        let file = Path::new("/tmp/input");
        let refused = Error::Refusal(Refusal("truncated".into())).in_file(file);
        assert_eq!((format!("{refused:#}"), exit_status(&refused)), ("/tmp/input: truncated".into(), Some(2)));
        let bug = Error::Bug(Bug("our own output is wrong".into())).in_file(file);
        let text = format!("{bug:#}");
        assert!(text.starts_with("/tmp/input: BUG in the ELF minimizer") && text.contains("report it"), "{text}");
        assert_eq!(exit_status(&bug), Some(70));
        assert_eq!(exit_status(&anyhow::anyhow!("cannot write")), None);
    }

    /// The body (one instruction) ends inside the program header's free tail: the
    /// zeros cut after it must load as zeros, not as p_align's bytes (found by the
    /// fuzzer, in the corpus since; the verifier called it a refusal then).
    #[test]
    fn a_body_shorter_than_p_align_keeps_its_zeros() {
        let input = elf_with(&[0xf4, 0, 0, 0, 0, 0, 0, 0], 0x1068);
        let (plan, output) = shrink(&input, Options::default()).unwrap();
        assert_eq!(plan.layout, Layout::Overlapped, "{}", plan.explain(input.len()));
        assert!(output[plan.body_at + 1..].iter().all(|&b| b == 0), "{output:x?}");
    }

    /// Our aarch64 hello as crates/link.ld links it with `--emit-relocs`: the message
    /// at 0x10068, the code from 0x1007c (write(1, msg, 20); exit(written - 20)), and
    /// section headers for .rodata, .text and .rela.text, whose relocations lie at
    /// `places` (the adr's at 0x10080 names the message); no .rela.text with None.
    fn aarch64_hello_linked(places: Option<&[u64]>) -> Vec<u8> {
        let code: [u32; 8] =
            [0x52800020, 0x10ffff41, 0x52800808, 0x52800282, 0xd4000001, 0x52800ba8, 0xd1005000, 0xd4000001];
        let body = [&b"Hello Docker World!\n"[..], &code.map(u32::to_le_bytes).concat()].concat();
        let aarch64 = (goblin::elf::header::EM_AARCH64, 0);
        let mut bytes = one_segment(true, aarch64, (0x10068, 0x10068), 0x10068, 0x1007c, &body);
        let relas_at = bytes.len() as u64;
        for &place in places.unwrap_or_default() {
            // r_offset, r_info (R_AARCH64_ADR_PREL_LO21 against symbol 1), r_addend.
            bytes.extend([place, 1 << 32 | 274, 0].map(u64::to_le_bytes).concat());
        }
        let shoff = bytes.len() as u64;
        // (sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_info, sh_addralign, sh_entsize)
        type Section = (u32, u64, u64, u64, u64, u32, u64, u64);
        let sections: [Section; 4] = [
            (0, 0, 0, 0, 0, 0, 0, 0),
            (1, 2, 0x10068, 0x10068, 20, 0, 1, 0), // .rodata: PROGBITS, ALLOC
            (1, 6, 0x1007c, 0x1007c, 32, 0, 4, 0), // .text: ALLOC | EXECINSTR
            (4, 0x40, 0, relas_at, 24 * places.map_or(0, <[u64]>::len) as u64, 2, 8, 24), // .rela.text
        ];
        let shnum = if places.is_some() { 4 } else { 3 };
        for (sh_type, flags, addr, offset, size, info, align, entsize) in sections.into_iter().take(shnum) {
            bytes.extend(0u32.to_le_bytes()); // sh_name
            bytes.extend(sh_type.to_le_bytes());
            bytes.extend([flags, addr, offset, size].map(u64::to_le_bytes).concat());
            bytes.extend([0u32, info].map(u32::to_le_bytes).concat()); // sh_link, sh_info
            bytes.extend([align, entsize].map(u64::to_le_bytes).concat());
        }
        bytes[40..48].copy_from_slice(&shoff.to_le_bytes()); // e_shoff
        bytes[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        bytes[60..62].copy_from_slice(&(shnum as u16).to_le_bytes()); // e_shnum
        bytes
    }

    /// Where the relocations show that only the adr names the message, the message
    /// moves behind the code, and at load address 0x14000000 e_entry (0x14000014) runs
    /// as `b +0x50` from e_version into the body: 140 bytes, as `shared/packing`'s
    /// aarch64_sub_140. Without relocations, or with one on an instruction that is no
    /// PC-relative one, the message stays: 144.
    #[test]
    fn the_data_moves_behind_the_code_where_the_relocations_allow() {
        let pack = Options { pack: true };
        let input = aarch64_hello_linked(Some(&[0x10080]));
        let (plan, output) = shrink(&input, pack).unwrap();
        let explained = plan.explain(input.len());
        assert_eq!((output.len(), plan.load_address()), (140, 0x1400_0000), "{explained}");
        let packing = plan.packing.as_ref().unwrap();
        assert_eq!(packing.entry, 0x1400_0014, "{explained}");
        assert_eq!(&output[0x18..0x1c], &0x1400_0014u32.to_le_bytes(), "e_entry is b +0x50");
        assert_eq!(&output[0x78..], b"Hello Docker World!\n", "{explained}");
        // The adr, now at 0x14000068, names the message's new place: adr x1, +0x10.
        assert_eq!(&output[0x68..0x6c], &0x1000_0081u32.to_le_bytes(), "{explained}");
        assert!(explained.contains("moved behind the body's code, to 0x78"), "{explained}");
        // It reads back and shrinks to itself (it keeps no relocations now).
        assert_eq!(shrink(&output, pack).unwrap().1, output);

        for (places, why) in [
            (None, "keeps no relocations"),
            (Some(&[0x10080, 0x10084][..]), "the linker wrote an address at 0x10084"),
            (Some(&[0x10070][..]), "the linker wrote an address at 0x10070"),
        ] {
            let input = aarch64_hello_linked(places);
            let (plan, output) = shrink(&input, pack).unwrap();
            let explained = plan.explain(input.len());
            assert_eq!((output.len(), plan.load_address()), (144, 0x10000), "{explained}");
            assert_eq!(&output[0x68..0x7c], b"Hello Docker World!\n", "{explained}");
            assert!(explained.contains(why), "{explained}");
        }
    }

    /// A plan that moved the data, spoiled: our bug, never a refusal.
    #[test]
    fn a_wrong_data_move_is_a_bug() {
        let input = aarch64_hello_linked(Some(&[0x10080]));
        let pack = Options { pack: true };
        let spoilers: [(&str, Spoil); 4] = [
            ("the data written one byte late", |p| p.pieces[0].1 += 1),
            ("the data claimed one byte early", |p| {
                p.packing.as_mut().unwrap().data.as_mut().unwrap().pieces[0].1 -= 1
            }),
            ("more data claimed than may move", |p| p.packing.as_mut().unwrap().data.as_mut().unwrap().from.start -= 4),
            ("the adr's old target kept", |p| {
                let body = p.packing.as_mut().unwrap().runs.iter_mut().find(|r| r.at == 0x1400_0068).unwrap();
                body.bytes[..4].copy_from_slice(&0x10ffff41u32.to_le_bytes());
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }

    /// An x86_64 program as crates/link.ld links ours with `--emit-relocs` and
    /// `--unique`: three objects of data, each its own section at 0x10068 (a signal
    /// set: 02 40 then zeros), 0x10070 ("pause 0.1.0\n") and 0x1007c (01 then
    /// zeros), then the code from 0x10084, which names each by its absolute address
    /// (`mov esi, imm32`, R_X86_64_32 against the object's section symbol): write(1,
    /// version, 12); rt_sigprocmask(SIG_BLOCK, set, NULL, 8); rt_sigaction(SIGCHLD,
    /// ignore, NULL, 8); exit(0). `relocs` as (place, type, symbol); with `unique`
    /// false, one .rodata section holds all three.
    fn x86_64_objects_linked(relocs: &[(u64, u32, u64)], unique: bool) -> Vec<u8> {
        let mut data = [2, 0x40, 0, 0, 0, 0, 0, 0].to_vec();
        data.extend(b"pause 0.1.0\n");
        data.extend([1, 0, 0, 0, 0, 0, 0, 0]);
        let code: &[&[u8]] = &[
            &[0xbe, 0x70, 0, 1, 0],                            // mov esi, 0x10070
            &[0x6a, 0x0c, 0x5a],                               // push 12; pop rdx
            &[0x6a, 0x01, 0x5f, 0x89, 0xf8],                   // push 1; pop rdi; mov eax, edi
            &[0x0f, 0x05],                                     // syscall
            &[0xbe, 0x68, 0, 1, 0],                            // mov esi, 0x10068
            &[0x6a, 0x08, 0x41, 0x5a],                         // push 8; pop r10
            &[0x31, 0xff, 0x31, 0xd2],                         // xor edi, edi; xor edx, edx
            &[0x6a, 0x0e, 0x58, 0x0f, 0x05],                   // push 14; pop rax; syscall
            &[0xbe, 0x7c, 0, 1, 0],                            // mov esi, 0x1007c
            &[0x6a, 0x11, 0x5f, 0x6a, 0x0d, 0x58, 0x0f, 0x05], // push 17; pop rdi; push 13; pop rax; syscall
            &[0x31, 0xff, 0x6a, 0x3c, 0x58, 0x0f, 0x05],       // xor edi, edi; exit
        ];
        let code = code.concat();
        let body = [&data[..], &code].concat();
        let mut bytes = one_segment(true, (EM_X86_64, 0), (0x10068, 0x10068), 0x10068, 0x10084, &body);
        let relas_at = bytes.len() as u64;
        for &(place, r_type, symbol) in relocs {
            bytes.extend([place, symbol << 32 | u64::from(r_type), 0].map(u64::to_le_bytes).concat());
        }
        // The symbols: null, then one section symbol (STT_SECTION, 3) per section.
        let objects: &[(u64, u64)] =
            if unique { &[(0x10068, 8), (0x10070, 12), (0x1007c, 8)] } else { &[(0x10068, 28)] };
        let symtab_at = bytes.len() as u64;
        bytes.extend([0u8; 24]);
        for k in 0..objects.len() + 1 {
            let value = objects.get(k).map_or(0x10084, |o| o.0);
            bytes.extend(0u32.to_le_bytes()); // st_name
            bytes.extend([3u8, 0]); // st_info, st_other
            bytes.extend((k as u16 + 1).to_le_bytes()); // st_shndx
            bytes.extend([value, 0].map(u64::to_le_bytes).concat());
        }
        let strtab_at = bytes.len() as u64;
        bytes.push(0);
        let shoff = bytes.len() as u64;
        let text = objects.len() as u32 + 1;
        // (sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize)
        type Section = (u32, u64, u64, u64, u64, u32, u32, u64, u64);
        let mut sections: Vec<Section> = vec![(0, 0, 0, 0, 0, 0, 0, 0, 0)];
        for &(at, size) in objects {
            sections.push((1, 2, at, at, size, 0, 0, 1, 0)); // PROGBITS, ALLOC
        }
        sections.push((1, 6, 0x10084, 0x10084, code.len() as u64, 0, 0, 1, 0)); // ALLOC | EXECINSTR
        sections.push((4, 0x40, 0, relas_at, 24 * relocs.len() as u64, text + 2, text, 8, 24)); // .rela.text
        sections.push((2, 0, 0, symtab_at, 24 * (objects.len() as u64 + 2), text + 3, 1, 8, 24)); // .symtab
        sections.push((3, 0, 0, strtab_at, 1, 0, 0, 1, 0)); // .strtab
        for &(sh_type, flags, addr, offset, size, link, info, align, entsize) in &sections {
            bytes.extend(0u32.to_le_bytes()); // sh_name
            bytes.extend(sh_type.to_le_bytes());
            bytes.extend([flags, addr, offset, size].map(u64::to_le_bytes).concat());
            bytes.extend([link, info].map(u32::to_le_bytes).concat());
            bytes.extend([align, entsize].map(u64::to_le_bytes).concat());
        }
        bytes[40..48].copy_from_slice(&shoff.to_le_bytes()); // e_shoff
        bytes[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
        bytes[60..62].copy_from_slice(&(sections.len() as u16).to_le_bytes()); // e_shnum
        bytes
    }

    /// R_X86_64_32 at each `mov esi, imm32`, against the object it names.
    const X86_64_ABSOLUTE: [(u64, u32, u64); 3] = [(0x10085, 10, 2), (0x10094, 10, 1), (0x100a6, 10, 3)];

    /// Where the relocations name each object by its own section, the objects move
    /// one by one, here all onto header bytes that are free or hold theirs already;
    /// each `mov esi, imm32` names its object's new place. As one .rodata section,
    /// the data moves whole, or stays.
    #[test]
    fn objects_of_the_data_move_one_by_one_where_the_relocations_name_them() {
        let pack = Options { pack: true };
        let input = x86_64_objects_linked(&X86_64_ABSOLUTE, true);
        let (plan, output) = shrink(&input, pack).unwrap();
        let explained = plan.explain(input.len());
        // Each `mov esi, imm32` names its object's bytes where they went.
        let named: Vec<usize> = output
            .windows(5)
            .filter(|w| w[0] == 0xbe && w[3..] == [1, 0])
            .map(|w| u32::from_le_bytes(w[1..].try_into().unwrap()) as usize - 0x10000)
            .collect();
        let objects: [&[u8]; 3] = [b"pause 0.1.0\n", &[2, 0x40, 0, 0, 0, 0, 0, 0], &[1, 0, 0, 0, 0, 0, 0, 0]];
        assert_eq!(named.len(), 3, "{explained}");
        for (at, object) in named.iter().zip(objects) {
            let loaded: Vec<u8> = (*at..at + object.len()).map(|k| output.get(k).copied().unwrap_or(0)).collect();
            assert_eq!(loaded, object, "at {at:#x}: {explained}");
        }
        // All three lie on header bytes: the version in e_shoff and e_flags, the set
        // on p_flags' high bytes and the zeros of p_offset, the action on EI_VERSION
        // (01) and the zeros of e_ident's padding.
        assert_eq!(named[0], 0x28, "{explained}");
        assert!(named.iter().all(|&at| at < 0x68), "{explained}");
        let whole_len =
            shrink(&x86_64_objects_linked(&X86_64_ABSOLUTE.map(|(p, t, _)| (p, t, 1)), false), pack).unwrap().1.len();
        assert!(output.len() + 8 <= whole_len, "{} against {whole_len}: {explained}", output.len());
        assert!(explained.contains("objects"), "{explained}");
        // It reads back and shrinks to itself (it keeps no relocations now).
        assert_eq!(shrink(&output, pack).unwrap().1, output);
        // One section: the objects are not known; whole, the data moves or stays.
        let whole = x86_64_objects_linked(&X86_64_ABSOLUTE.map(|(p, t, _)| (p, t, 1)), false);
        let (plan, output) = shrink(&whole, pack).unwrap();
        assert_ne!(&output[0x28..0x34], b"pause 0.1.0\n", "{}", plan.explain(whole.len()));
        assert!(plan.pieces.len() <= 1, "{}", plan.explain(whole.len()));
        // An absolute place whose relocation names another object: the references
        // are not what the sections say; the objects do not move apart.
        let crossed = x86_64_objects_linked(&[(0x10085, 10, 1), (0x10094, 10, 1), (0x100a6, 10, 3)], true);
        let (plan, _) = shrink(&crossed, pack).unwrap();
        assert!(plan.pieces.len() <= 1, "{}", plan.explain(crossed.len()));
    }

    /// The objects as relocs reads them: three, in address order, each naming places;
    /// none where the data is longer than the file (a hostile entry point far out),
    /// where bytes between them are not zero, or past MAX_OBJECTS.
    #[test]
    fn the_objects_are_the_data_sections_where_they_cover_it() {
        let input = x86_64_objects_linked(&X86_64_ABSOLUTE, true);
        let linked = relocs::read(&input, 0x10068..0x10084, 0x10084).unwrap();
        let ranges: Vec<_> = linked.objects.iter().map(|o| o.range.clone()).collect();
        assert_eq!(ranges, [0x10068..0x10070, 0x10070..0x1007c, 0x1007c..0x10084]);
        assert_eq!(linked.absolute, [(0x10085, 0x10070), (0x10094, 0x10068), (0x100a6, 0x1007c)]);
        assert_eq!(linked.names.get(&0x10085), Some(&1));
        let far = relocs::read(&input, 0x10068..0x7fff_ffff_ffff, 0x10084);
        assert!(far.is_none_or(|l| l.objects.is_empty()));
        // The version string's section one byte short: its newline, not zero, lies
        // in no object; the objects are not all the data is.
        let mut gap = x86_64_objects_linked(&X86_64_ABSOLUTE, true);
        let second = u64::from_le_bytes(gap[40..48].try_into().unwrap()) as usize + 64 * 2;
        gap[second + 32..second + 40].copy_from_slice(&11u64.to_le_bytes()); // sh_size 12 -> 11
        assert!(relocs::read(&gap, 0x10068..0x10084, 0x10084).unwrap().objects.is_empty());
    }

    /// A plan that moved objects of the data, spoiled: our bug, never a refusal.
    #[test]
    fn a_wrong_object_move_is_a_bug() {
        let input = x86_64_objects_linked(&X86_64_ABSOLUTE, true);
        let pack = Options { pack: true };
        let (plan, _) = shrink(&input, pack).unwrap();
        assert!(plan.pieces.len() == 3, "{}", plan.explain(input.len()));
        let spoilers: [(&str, Spoil); 4] = [
            ("an object written one byte late", |p| p.pieces[1].1 += 1),
            ("an object claimed one byte early", |p| {
                p.packing.as_mut().unwrap().data.as_mut().unwrap().pieces[1].1 -= 1
            }),
            ("an object split in two", |p| {
                let data = p.packing.as_mut().unwrap().data.as_mut().unwrap();
                let (from, to) = data.pieces[1].clone();
                data.pieces[1] = (from.start..from.start + 4, to);
                data.pieces.push((from.start + 4..from.end, to + 4));
            }),
            ("an absolute address left as it was", |p| {
                let runs = &mut p.packing.as_mut().unwrap().runs;
                let run = runs.iter_mut().find(|r| r.bytes.first() == Some(&0xbe)).unwrap();
                run.bytes[1..5].copy_from_slice(&0x10070u32.to_le_bytes());
            }),
        ];
        each_spoiled_plan_is_a_bug(&input, pack, &spoilers);
    }
}
