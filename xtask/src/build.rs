//! `cargo xtask build <arch>`: compile a program's crate for an arch with core from
//! source, check what the linker made, and shrink it into target/hello/<arch>/<program>.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSection, read::elf::FileHeader as _, read::elf::SectionHeader as _};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

use crate::{arch::Arch, elf, fsutil, message, paths, program::Program, toolchain};

/// rustflags every arch gets, each for a reason.
fn common_rustflags(root: &Path) -> Vec<String> {
    let cargo_home =
        std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
    vec![
        // A fixed-address executable: no PIE, no runtime relocations.
        "-Crelocation-model=static".into(),
        // No .eh_frame: nothing unwinds (panic = "abort").
        "-Cforce-unwind-tables=no".into(),
        // No frame set-up in _start where the target allows it.
        "-Cforce-frame-pointers=no".into(),
        // No trap instruction after the exit syscall, which never returns.
        "-Ztrap-unreachable=no".into(),
        // Same bytes whoever builds it, wherever the checkout and cargo's cache live.
        format!("--remap-path-prefix={}=/hello", root.display()),
        format!("--remap-path-prefix={cargo_home}=/cargo"),
    ]
}

/// The linker's flags, for the program's crate alone (`cargo rustc -- ...`): core is
/// not linked, and flags in RUSTFLAGS that change would rebuild it for nothing.
fn link_flags(script: &Path, headers: usize) -> Vec<String> {
    vec![
        // One PT_LOAD holding code and read-only data (crates/link.ld), linked where
        // it will sit behind the shrinker's overlapped headers.
        format!("-Clink-arg=-T{}", script.display()),
        format!("-Clink-arg=--defsym=HELLO_HEADERS={headers}"),
        // No .note.gnu.build-id: it would sit in the loaded segment.
        "-Clink-arg=--build-id=none".into(),
        // Keep the relocations: they tell the shrinker every place that names an
        // address, so that it may move the data behind the code (elf/relocs.rs).
        "-Clink-arg=--emit-relocs".into(),
        // Each section of data its own (link.ld names none of them): the shrinker
        // then tells the objects apart, and may move each on its own.
        "-Clink-arg=--unique".into(),
    ]
}

/// Where `build` puts its results.
pub struct Built {
    /// The shrunk binary.
    pub binary: PathBuf,
    /// The ELF as the linker wrote it.
    pub linked: PathBuf,
}

/// A build without some of the size techniques, to measure what each saves (`cargo
/// xtask techniques`). The default is the product: every technique on.
#[derive(Debug, Clone, Default)]
pub struct Variant {
    /// Flags of `Arch::program_rustflags` left out.
    pub without_flags: Vec<&'static str>,
    /// `--cfg` names given to the program's crate (hello's `exit_by_comparison`).
    pub cfgs: Vec<&'static str>,
    /// Keep the code where the linker put it: no packing into header fields.
    pub code_stays: bool,
    /// Link the code at the alignment the compiler asks for, not the instruction
    /// set's own (`elf::code_alignment`).
    pub compiler_code_alignment: bool,
    /// Keep the register the syscall asm destroys undeclared ($1 on MIPS, r7 on ARM:
    /// `elf::isa::UndeclaredClobber`) across every syscall, without the proof that it
    /// need not be.
    pub keeps_undeclared_clobber: bool,
}

/// Build `program` for `arch` (hello printing `message`; other programs take none);
/// write the shrunk binary to `out` (default target/hello/<arch>/<program>) and the
/// linked ELF beside it as `<out>.elf`.
pub fn build(sh: &Shell, program: &Program, arch: &Arch, message: &[u8], out: Option<&Path>) -> Result<Built> {
    build_variant(sh, program, arch, message, out, &Variant::default())
}

/// `build`, without the techniques `variant` leaves out.
pub fn build_variant(
    sh: &Shell,
    program: &Program,
    arch: &Arch,
    message: &[u8],
    out: Option<&Path>,
    variant: &Variant,
) -> Result<Built> {
    message::check(message)?;
    let toolchain = toolchain::find(sh)?;
    let root = paths::project_root();
    let message_file = message::stage(message)?;
    let binary = out.map(Path::to_path_buf).unwrap_or_else(|| paths::binary(program, arch));
    let linked_copy = PathBuf::from(format!("{}.elf", binary.display()));
    if let Some(dir) = binary.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }

    // Builds of one arch share cargo's output file: hold a lock from compiling to
    // copying it, so that two builds with different messages never mix.
    let lock_path = paths::out_root().join(format!("{}.lock", arch.name));
    let lock = fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock.lock().with_context(|| format!("cannot lock {}", lock_path.display()))?;

    // The headers' size depends only on the class, byte order and machine, never on
    // the code: one link at the final address suffices.
    let e = &arch.elf;
    let headers = elf::overlapped_body_offset(e.is_64, e.little_endian, e.machine)
        .with_context(|| format!("no overlapped header layout for {}", arch.name))?;
    let align = elf::code_alignment(e.machine).filter(|_| !variant.compiler_code_alignment);
    let script = link_script(&root, align)?;
    let rustflags = common_rustflags(&root)
        .into_iter()
        .chain(arch.rustflags.iter().map(|f| f.to_string()))
        .collect::<Vec<_>>()
        .join("\x1f");
    let target_dir = paths::out_root().join("cargo");
    let (cargo, rustc, krate, target) = (&toolchain.cargo, &toolchain.rustc, program.name, arch.target);
    eprintln!("building {} for {} ({target}) with {}", program.name, arch.name, toolchain.version);
    let spec = target_spec(sh, rustc, arch)?;
    // `cargo rustc` passes these to the program's crate alone, not to core's.
    let program_flags: Vec<String> = (arch.program_rustflags.iter())
        .filter(|f| !variant.without_flags.contains(f))
        .map(|f| f.to_string())
        .chain(variant.cfgs.iter().map(|c| format!("--cfg={c}")))
        .chain(link_flags(&script, headers))
        .collect();
    let _dir = sh.push_dir(&root);
    let linked = target_dir.join(target).join("size").join(krate);
    // `keep`: the syscalls across which the syscall asm keeps the register it cannot
    // declare clobbered (`elf::isa::UndeclaredClobber`); `extra`: one more flag for
    // the program's crate (`UndeclaredClobber::reserved_by`).
    let compile = |keep: &Keep, extra: Option<&str>| -> Result<Vec<u8>> {
        let program_flags: Vec<&str> = program_flags.iter().map(String::as_str).chain(extra).collect();
        let mut build = cmd!(
            sh,
            "{cargo} rustc --locked --package {krate} --target {spec} -Zjson-target-spec --profile size -Zbuild-std=core -- {program_flags...}"
        )
        .env("RUSTC", rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_ENCODED_RUSTFLAGS", &rustflags)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("HELLO_MESSAGE_FILE", &message_file)
        .env_remove("RUSTFLAGS")
        .env_remove(KEEP_UNDECLARED_CLOBBER);
        if let Some(value) = keep.env_value() {
            build = build.env(KEEP_UNDECLARED_CLOBBER, value);
        }
        build.run().with_context(|| format!("building {} for {} failed", program.name, arch.name))?;
        let bytes = fs::read(&linked).with_context(|| format!("cannot read {}", linked.display()))?;
        check_linked(arch, &bytes)
            .with_context(|| format!("{}: the linker's output is not what {} needs", linked.display(), arch.name))?;
        Ok(bytes)
    };
    // link.ld links the read-only data first and the code last: the code may be packed
    // into header fields, unless the program enters it by other ways than branches
    // (signal handlers).
    let shrink_options = elf::Options { pack: program.code_may_move && !variant.code_stays };
    let mut keep = if variant.keeps_undeclared_clobber { Keep::All } else { Keep::NOTHING };
    let mut bytes = compile(&keep, None)?;
    // The syscall asm does not keep the register it destroys undeclared ($1 on MIPS,
    // r7 on ARM: the syscall crates say why) where the linked code is proven to read
    // no value of it after a syscall. Where that fails after a syscall whose number
    // the proof knows, build again keeping it across the syscalls of that number
    // alone (a few bytes each), and prove again; where it fails otherwise, keep it
    // across all. Each round keeps more, so it ends.
    if let Some(clobber) = elf::isa::undeclared_syscall_clobber(e.machine) {
        loop {
            if keep == Keep::All && !clobber.prove_when_kept {
                break; // nothing left that the asm destroys undeclared
            }
            let Err(unproven) = syscalls_keep_nothing(&clobber, &bytes) else { break };
            keep = match (keep, unproven.syscall) {
                (Keep::Only(mut numbers), Some(n)) if !numbers.contains(&n) => {
                    numbers.insert(n);
                    Keep::Only(numbers)
                }
                (Keep::Only(_), _) => Keep::All,
                (Keep::All, _) => {
                    bail!("{}: even with {} kept across every syscall: {unproven}", linked.display(), clobber.register)
                }
            };
            eprintln!("{}: {unproven}: building again with {} kept across {keep}", linked.display(), clobber.register);
            bytes = compile(&keep, None)?;
        }
        // Where it must be kept across some, reserving it may cost less.
        if let Some(flag) = clobber.reserved_by
            && keep != Keep::NOTHING
            && !variant.keeps_undeclared_clobber
        {
            let reserved = compile(&Keep::NOTHING, Some(flag))?;
            let shrunk_len = |bytes: &[u8]| elf::shrink(bytes, shrink_options).map(|(_, out)| out.len());
            match syscalls_keep_nothing(&clobber, &reserved) {
                Err(unproven) => {
                    eprintln!("{}: with {flag}: {unproven}: keeping {}", linked.display(), clobber.register)
                }
                Ok(()) => {
                    let (kept, with_flag) = (shrunk_len(&bytes), shrunk_len(&reserved));
                    if let (Ok(kept), Ok(with_flag)) = (&kept, &with_flag)
                        && with_flag < kept
                    {
                        eprintln!(
                            "{}: {flag} leaves {} to the frame pointer: {with_flag} bytes, not {kept} with it kept across {keep}",
                            linked.display(),
                            clobber.register
                        );
                        bytes = reserved;
                    }
                }
            }
        }
    }
    let (plan, shrunk) = elf::shrink(&bytes, shrink_options).map_err(|e| e.in_file(&linked))?;
    if (plan.layout, plan.headers_end) != (elf::Layout::Overlapped, headers) {
        bail!(
            "{}: the shrinker chose {:?} with the body at {:#x}, not the overlapped layout the link was made for ({headers:#x})",
            linked.display(),
            plan.layout,
            plan.headers_end
        );
    }
    fsutil::write_atomic(&linked_copy, &bytes, 0o755)?;
    fsutil::write_atomic(&binary, &shrunk, 0o755)?;
    drop(lock);
    let size = fs::metadata(&binary)?.len();
    eprintln!("wrote {} ({size} bytes; linked ELF {} bytes)", binary.display(), bytes.len());
    Ok(Built { binary, linked: linked_copy })
}

/// crates/link.ld with the code alignment `align` in place of HELLO_CODE_ALIGN (None:
/// the compiler's, no SUBALIGN), written as target/hello/specs/link-<sha256>.ld: named
/// by its content, since cargo does not read the script and relinks only when the
/// flags naming it change.
fn link_script(root: &Path, align: Option<u64>) -> Result<PathBuf> {
    let source = root.join("crates/link.ld");
    let text = fs::read_to_string(&source).with_context(|| format!("cannot read {}", source.display()))?;
    if !text.contains("HELLO_CODE_ALIGN") {
        bail!("{} has no HELLO_CODE_ALIGN for the code alignment", source.display());
    }
    let text = match align {
        Some(align) => text.replace("HELLO_CODE_ALIGN", &align.to_string()),
        None if text.contains("SUBALIGN(HELLO_CODE_ALIGN) ") => text.replace("SUBALIGN(HELLO_CODE_ALIGN) ", ""),
        None => bail!("{} has no `SUBALIGN(HELLO_CODE_ALIGN) ` to leave out", source.display()),
    };
    let path = paths::out_root().join("specs").join(format!("link-{:x}.ld", Sha256::digest(&text)));
    if fs::read_to_string(&path).ok().as_deref() != Some(&text[..]) {
        fs::create_dir_all(path.parent().unwrap())?;
        fsutil::write_atomic(&path, text.as_bytes(), 0o644)?;
    }
    Ok(path)
}

/// A copy of the arch's built-in target spec, changed where it costs bytes for nothing,
/// written as target/hello/specs/<target>.json: cargo names its output folder after
/// the file, so the binary lands where the built-in target's would.
/// - No stack probes: they stop a big frame from stepping over a thread stack's
///   one-page guard. Ours run on the main thread's stack, which the kernel grows on
///   demand with a guard gap of 256 pages below it (stack_guard_gap), and no frame of
///   ours comes near that (httpd's 8 KiB buffer is the largest): on x86_64 the probes
///   of that buffer were 30 bytes of code.
/// - Frame pointers may be omitted where the built-in spec insists on them
///   (`Arch::omit_frame_pointer`).
fn target_spec(sh: &Shell, rustc: &Path, arch: &Arch) -> Result<PathBuf> {
    let target = arch.target;
    let json = cmd!(sh, "{rustc} -Zunstable-options --print target-spec-json --target {target}")
        .env("RUSTC_BOOTSTRAP", "1")
        .quiet()
        .read()
        .with_context(|| format!("cannot read the spec of {target}"))?;
    let mut spec: serde_json::Value =
        serde_json::from_str(&json).with_context(|| format!("the spec of {target} is not JSON"))?;
    let fields = spec.as_object_mut().with_context(|| format!("the spec of {target} is not a JSON object"))?;
    fields.insert("stack-probes".into(), serde_json::json!({"kind": "none"}));
    if arch.omit_frame_pointer {
        fields.insert("frame-pointer".into(), "may-omit".into());
    }
    fields.remove("is-builtin"); // a spec read from a file may not claim that
    let path = paths::out_root().join("specs").join(format!("{target}.json"));
    fs::create_dir_all(path.parent().unwrap())?;
    let bytes = serde_json::to_vec_pretty(&spec)?;
    // Rewrite only on change: cargo rebuilds everything when the spec file changes.
    if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
        fsutil::write_atomic(&path, &bytes, 0o644)?;
    }
    Ok(path)
}

/// The linked ELF is for the right machine, and on ARM for the right CPU generation:
/// the build attributes are only in the section headers, which the shrinker drops.
fn check_linked(arch: &Arch, bytes: &[u8]) -> Result<()> {
    let file = object::File::parse(bytes).context("not an object file object can read")?;
    let e = &arch.elf;
    let machine_ok = match &file {
        object::File::Elf32(f) => !e.is_64 && f.elf_header().e_machine(f.endian()) == e.machine,
        object::File::Elf64(f) => e.is_64 && f.elf_header().e_machine(f.endian()) == e.machine,
        _ => false,
    };
    if !machine_ok || file.is_little_endian() != e.little_endian {
        bail!("wrong ELF class, byte order or machine (want e_machine {})", e.machine);
    }
    if let Some(want) = arch.arm_cpu_arch {
        let got = arm_cpu_arch(&file)?;
        if got != Some(want.value) {
            bail!("Tag_CPU_arch is {got:?}, want {} ({})", want.value, want.name);
        }
    }
    Ok(())
}

/// Set for a build whose syscall asm must keep the register it destroys undeclared
/// (`elf::isa::UndeclaredClobber`) across some syscalls (`Keep::env_value`):
/// sys-mips64el and sys-arm read it.
const KEEP_UNDECLARED_CLOBBER: &str = "HELLO_KEEP_UNDECLARED_CLOBBER";

/// The syscalls across which the syscall asm keeps the register it destroys
/// undeclared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Keep {
    /// Those with these numbers (none: the asm keeps nothing).
    Only(BTreeSet<u32>),
    All,
}

impl Keep {
    /// Across no syscall: the asm keeps nothing.
    const NOTHING: Keep = Keep::Only(BTreeSet::new());

    /// What KEEP_UNDECLARED_CLOBBER says of it, unset where nothing is kept: `all`, or
    /// the numbers, comma-separated.
    fn env_value(&self) -> Option<String> {
        match self {
            Keep::Only(numbers) if numbers.is_empty() => None,
            Keep::Only(numbers) => Some(numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")),
            Keep::All => Some("all".into()),
        }
    }
}

impl std::fmt::Display for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Keep::Only(numbers) => {
                let numbers: Vec<String> = numbers.iter().map(u32::to_string).collect();
                write!(f, "the syscalls numbered {}", numbers.join(", "))
            }
            Keep::All => f.write_str("every syscall"),
        }
    }
}

/// `clobber.prove` on the linked program `bytes`: no value the syscall asm destroys
/// undeclared outlives a syscall, from the entry, from any code address the program
/// holds as data (`code_addresses_held`), or from any procedure the ELF lists
/// (`procedures_listed`). Err: why not, and after which syscall.
fn syscalls_keep_nothing(clobber: &elf::isa::UndeclaredClobber, bytes: &[u8]) -> Result<(), elf::isa::Unproven> {
    let unreadable = |what: String| elf::isa::Unproven::from(format!("the linked program: {what}"));
    let file = object::File::parse(bytes).map_err(|_| unreadable("not an object file object can read".into()))?;
    let text = file.section_by_name(".text").ok_or_else(|| unreadable("no .text section".into()))?;
    let code = text.data().map_err(|_| unreadable("cannot read .text".into()))?;
    let mut entries = code_addresses_held(&file, text.address()..text.address() + code.len() as u64)
        .map_err(|e| unreadable(format!("{e:#}")))?;
    entries.extend(procedures_listed(&file, clobber).map_err(|e| unreadable(format!("{e:#}")))?);
    (clobber.prove)(code, text.address(), file.entry(), &entries)
}

/// The addresses of the procedures that the section `clobber.procedures` names lists
/// in `file` (MIPS's `.pdr`, not loaded): entries a data word need not show, as the
/// program may build a code address in immediates (httpd's signal handler on MIPS).
/// None where the ISA names no such section; Err where the file lacks it.
fn procedures_listed(file: &object::File, clobber: &elf::isa::UndeclaredClobber) -> Result<Vec<u64>> {
    let Some((name, read)) = clobber.procedures else { return Ok(Vec::new()) };
    let section = (file.section_by_name(name)).with_context(|| {
        format!("no {name} section, which lists the procedures the {} proof enters", clobber.register)
    })?;
    let data = section.data().with_context(|| format!("cannot read {name}"))?;
    read(data).map_err(|why| anyhow::anyhow!("{name}: {why}"))
}

/// The code addresses the loaded sections hold (`elf::code_addresses_in`; literal
/// pools in the code among them): where the program may hand the kernel a code
/// address to enter (a signal handler), in a struct or a register loaded from there.
/// A word of data that merely looks so only adds a path to prove.
fn code_addresses_held(file: &object::File, code: std::ops::Range<u64>) -> Result<Vec<u64>> {
    let mut held = Vec::new();
    for section in file.sections().filter(|s| s.kind() != object::SectionKind::UninitializedData) {
        let object::SectionFlags::Elf { sh_flags } = section.flags() else { continue };
        if sh_flags & u64::from(object::elf::SHF_ALLOC) == 0 {
            continue;
        }
        let data = section.data().with_context(|| format!("cannot read {}", section.name().unwrap_or("a section")))?;
        let words = elf::code_addresses_in(data, section.address(), file.is_little_endian(), code.clone());
        held.extend(words.map(|(_, value)| value));
    }
    Ok(held)
}

/// Tag_CPU_arch (tag 6) from the "aeabi" build attributes, if present.
pub fn arm_cpu_arch(file: &object::File) -> Result<Option<u64>> {
    let object::File::Elf32(elf) = file else {
        return Ok(None);
    };
    let Some(section) = elf.section_by_name(".ARM.attributes") else {
        return Ok(None);
    };
    let attributes = section.elf_section_header().attributes(elf.endian(), elf.data())?;
    let mut subsections = attributes.subsections()?;
    while let Some(sub) = subsections.next()? {
        if sub.vendor() != b"aeabi" {
            continue;
        }
        let mut subsubs = sub.subsubsections();
        while let Some(subsub) = subsubs.next()? {
            if subsub.tag() != object::elf::Tag_File {
                continue;
            }
            let mut reader = subsub.attributes();
            while let Some(tag) = reader.read_tag()? {
                // Tags 4, 5 and odd tags above 32 are strings; 32 is a number and a
                // string; the rest are numbers (ARM IHI 0045, "Public attributes").
                match tag {
                    6 => return Ok(Some(reader.read_integer()?)),
                    4 | 5 => drop(reader.read_string()?),
                    32 => {
                        reader.read_integer()?;
                        reader.read_string()?;
                    }
                    t if t > 32 && t % 2 == 1 => drop(reader.read_string()?),
                    _ => drop(reader.read_integer()?),
                }
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use object::{
        Endianness,
        elf::{EM_MIPS, ET_EXEC, SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS},
        write::elf::{FileHeader, SectionHeader, Writer},
    };

    /// A linked MIPS64 (little-endian) ELF as far as the proof reads one: `code` as
    /// .text at `address`, entered there, and a `.pdr` (not loaded) of `pdr`, if any.
    fn mips_elf(address: u64, code: &[u8], pdr: Option<&[u8]>) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut w = Writer::new(Endianness::Little, true, &mut bytes);
        w.reserve_file_header();
        w.reserve_null_section_index();
        let text_name = w.add_section_name(b".text");
        w.reserve_section_index();
        let pdr_name = pdr.map(|_| (w.add_section_name(b".pdr"), w.reserve_section_index()));
        w.reserve_shstrtab_section_index();
        let text_at = w.reserve(code.len(), 4);
        let pdr_at = pdr.map(|pdr| w.reserve(pdr.len(), 4));
        w.reserve_shstrtab();
        w.reserve_section_headers();
        let header =
            FileHeader { os_abi: 0, abi_version: 0, e_type: ET_EXEC, e_machine: EM_MIPS, e_entry: address, e_flags: 0 };
        w.write_file_header(&header).unwrap();
        w.write_align(4);
        w.write(code);
        if let Some(pdr) = pdr {
            w.write_align(4);
            w.write(pdr);
        }
        w.write_shstrtab();
        w.write_null_section_header();
        let section = |name, flags: u32, sh_addr, at: usize, len: usize| SectionHeader {
            name: Some(name),
            sh_type: SHT_PROGBITS,
            sh_flags: u64::from(flags),
            sh_addr,
            sh_offset: at as u64,
            sh_size: len as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: 4,
            sh_entsize: 0,
        };
        w.write_section_header(&section(text_name, SHF_ALLOC | SHF_EXECINSTR, address, text_at, code.len()));
        if let (Some((name, _)), Some(at), Some(pdr)) = (pdr_name, pdr_at, pdr) {
            w.write_section_header(&section(name, 0, 0, at, pdr.len()));
        }
        w.write_shstrtab_section_header();
        bytes
    }

    /// A `.pdr` of one procedure descriptor for each of `procedures`: its address, then
    /// 28 bytes of masks, offsets and registers the proof does not read.
    fn pdr(procedures: &[u64]) -> Vec<u8> {
        procedures.iter().flat_map(|&p| [&(p as u32).to_le_bytes()[..], &[0; 28]].concat()).collect()
    }

    // The parser the syscall crates read HELLO_KEEP_UNDECLARED_CLOBBER with.
    include!("../../crates/keeps_clobbered.rs");

    /// What the build writes for each `Keep` is what the syscall crates read.
    #[test]
    fn the_syscall_crates_keep_what_the_build_lists() {
        use super::Keep;
        let env = |keep: &Keep| keep.env_value();
        let none = Keep::NOTHING;
        assert_eq!(env(&none), None);
        assert!(!keeps_clobbered(env(&none).as_deref(), 4));
        let some = Keep::Only([3, 4, 281].into());
        assert_eq!(env(&some).as_deref(), Some("3,4,281"));
        for n in [3, 4, 281] {
            assert!(keeps_clobbered(env(&some).as_deref(), n), "{n}");
        }
        for n in [0, 1, 28, 34, 2810] {
            assert!(!keeps_clobbered(env(&some).as_deref(), n), "{n}");
        }
        assert!(keeps_clobbered(env(&Keep::All).as_deref(), 5058));
        assert_eq!(some.to_string(), "the syscalls numbered 3, 4, 281");
    }

    /// httpd's MIPS signal handler has its address built in `lui` and `daddiu`
    /// immediates, in no data word: the proof walks it because `.pdr` lists it.
    #[test]
    fn the_mips_proof_enters_each_procedure_pdr_lists() {
        let clobber = crate::elf::isa::undeclared_syscall_clobber(EM_MIPS).unwrap();
        // _start at 0x101a0: addiu $2,$0,5058; syscall (exit). A handler at 0x101a8 that
        // no branch reaches and no data word names: syscall; or $4,$1,$0 (reads $1).
        let code: Vec<u8> = [0x2402_13c2u32, 0xc, 0xc, 0x0020_2025].iter().flat_map(|w| w.to_le_bytes()).collect();
        let (start, handler) = (0x101a0, 0x101a8);
        let proof = |pdr: Option<&[u8]>| super::syscalls_keep_nothing(&clobber, &mips_elf(start, &code, pdr));
        let why = proof(Some(&pdr(&[handler, start]))).unwrap_err().to_string();
        assert!(why.contains("00202025 at 0x101ac reads $1"), "{why}");
        // Listed, the entry alone is proven; a dropped function's descriptor reads 0.
        proof(Some(&pdr(&[start, 0]))).unwrap();
        // No .pdr, or one that is no whole descriptors: nothing to enter by, a failure.
        assert!(proof(None).unwrap_err().to_string().contains("no .pdr section"));
        assert!(proof(Some(&pdr(&[start])[..28])).unwrap_err().to_string().contains(".pdr: 28 bytes"));
    }
}
