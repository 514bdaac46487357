//! The shrinker on good input (ours and foreign static executables) and on bad input:
//! every refusal is one line, exit status 2, and no output file. (Our own bugs exit 70:
//! the unit tests in xtask/src/elf/mod.rs spoil plans to see it; the corpus replay
//! here fails on any.)

mod common;

use std::{fs, path::Path, process::Command, process::Stdio};

use common::*;

fn shrink(input: &Path, output: &Path) -> std::process::Output {
    xtask(&["shrink", input.to_str().unwrap(), output.to_str().unwrap()])
}

/// `shrink --explain --pack`: what it printed, once it succeeded.
fn explain_packing(input: &Path, output: &Path) -> String {
    let out = xtask(&["shrink", "--explain", "--pack", input.to_str().unwrap(), output.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap()
}

/// `shrink --pack`, as `xtask build` shrinks what it linked.
fn shrink_packing(input: &Path, output: &Path) -> std::process::Output {
    xtask(&["shrink", "--pack", input.to_str().unwrap(), output.to_str().unwrap()])
}

/// Refused with one line naming the file and `want`, status 2, `output` untouched.
fn assert_refused(input: &Path, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let out = shrink(input, &output);
    assert_eq!(out.status.code(), Some(2), "{}: want exit 2", input.display());
    let line = one_error_line(&out);
    assert!(line.contains(want), "{}: {line:?} should say {want:?}", input.display());
    assert!(!output.exists(), "{}: wrote an output file", input.display());
    // A file the user already had stays as it was.
    fs::write(&output, b"keep me").unwrap();
    assert_eq!(shrink(input, &output).status.code(), Some(2));
    assert_eq!(fs::read(&output).unwrap(), b"keep me", "{}: overwrote the output", input.display());
    let leftovers = fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "{}: temporary files left behind", input.display());
}

fn x86_64() -> &'static xtask::arch::Arch {
    xtask::arch::Arch::find("x86_64").unwrap()
}

#[test]
fn refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let linked = fs::read(build_default(x86_64()).with_extension("elf")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    assert_refused(&write("empty", b""), "empty file");
    assert_refused(&write("text", b"#!/bin/sh\necho hello\n"), "not an ELF file");
    assert_refused(&write("magic-only", b"\x7fELF"), "not an ELF file");
    assert_refused(&write("header-cut", &linked[..40]), "truncated");
    assert_refused(&write("phdrs-cut", &linked[..80]), "truncated");
    // A segment may end past EOF within the file's last page (the loader reads zeros
    // there), not further: p_filesz = p_memsz = 64 KiB from an offset past 4 KiB, in a
    // file under 8 KiB.
    let mut segment_past_end = linked.clone();
    segment_past_end[64 + 32..64 + 48].copy_from_slice(&[0x10000u64.to_le_bytes(), 0x10000u64.to_le_bytes()].concat());
    assert_refused(&write("segment-past-the-last-page", &segment_past_end), "truncated");
    let mut bad_class = linked.clone();
    bad_class[4] = 7;
    assert_refused(&write("bad-class", &bad_class), "invalid ELF class");
    let mut huge_phnum = linked.clone();
    huge_phnum[56..58].copy_from_slice(&0x4000u16.to_le_bytes()); // e_phnum
    assert_refused(&write("huge-phnum", &huge_phnum), "truncated");
    let mut filesz_over_memsz = linked.clone();
    filesz_over_memsz[64 + 40..64 + 48].copy_from_slice(&1u64.to_le_bytes()); // p_memsz = 1
    assert_refused(&write("filesz-over-memsz", &filesz_over_memsz), "p_filesz");
    let mut zero_memsz = linked.clone();
    zero_memsz[64 + 32..64 + 48].fill(0); // p_filesz = p_memsz = 0
    assert_refused(&write("zero-sized", &zero_memsz), "empty");
    let mut wrapping = linked.clone();
    wrapping[64 + 40..64 + 48].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_refused(&write("wrapping", &wrapping), "wraps");
    let mut relocatable = linked.clone();
    relocatable[16] = 1; // e_type = ET_REL
    assert_refused(&write("relocatable", &relocatable), "relocatable object");
    let mut core = linked.clone();
    core[16] = 4; // ET_CORE
    assert_refused(&write("core", &core), "core dump");
    let mut entry_outside = linked.clone();
    entry_outside[24..32].copy_from_slice(&0x900000u64.to_le_bytes());
    assert_refused(&write("entry-outside", &entry_outside), "entry point");
    // The linked file's one program header is at 64: p_flags at +4, p_vaddr at +16.
    let mut not_executable = linked.clone();
    not_executable[64 + 4..64 + 8].copy_from_slice(&4u32.to_le_bytes()); // PF_R only
    assert_refused(&write("not-executable", &not_executable), "not inside an executable PT_LOAD");
    let mut low = linked.clone();
    let lower = |bytes: &mut [u8], at: usize| {
        let v = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) - 0xf000;
        bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
    };
    lower(&mut low, 64 + 16); // p_vaddr 0x10068 -> 0x1068
    lower(&mut low, 24); // e_entry with it
    assert_refused(&write("below-64k", &low), "below 0x10000");
    let mut ehsize = linked.clone();
    ehsize[52] = 63; // e_ehsize: qemu refuses anything but 64
    assert_refused(&write("bad-ehsize", &ehsize), "e_ehsize");
    let mut phentsize = linked.clone();
    phentsize[54] = 57; // e_phentsize
    assert_refused(&write("bad-phentsize", &phentsize), "e_phentsize");
    assert_refused(dir.path(), "not a regular file");
    // Two PT_LOADs over the same addresses (one the fuzzer found): refused before any
    // plan, where the verifier once took it for a refusal of its own output.
    let corpus = xtask::paths::project_root().join("fuzz/corpus/shrink");
    assert_refused(&corpus.join("5f989a6916750cc490ba0ca8637ee2df276a5d99"), "overlap in memory");
}

#[test]
fn refuses_dynamic_and_position_independent_executables() {
    let dir = tempfile::tempdir().unwrap();
    let c = xtask::paths::project_root().join("tests/foreign/libc.c");
    let pie = dir.path().join("pie");
    gcc(&["-O2", "-o", pie.to_str().unwrap(), c.to_str().unwrap()]);
    assert_refused(&pie, "ET_DYN");
    let dynamic = dir.path().join("dynamic");
    gcc(&["-O2", "-no-pie", "-o", dynamic.to_str().unwrap(), c.to_str().unwrap()]);
    assert_refused(&dynamic, "dynamically linked");
}

#[test]
fn our_binaries_come_out_as_the_build_writes_them() {
    for arch in all_arches() {
        let binary = build_default(arch);
        let dir = tempfile::tempdir().unwrap();
        let again = dir.path().join("again");
        let out = shrink_packing(&binary.with_extension("elf"), &again);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(fs::read(&again).unwrap(), fs::read(&binary).unwrap(), "{}", arch.name);
        // Shrinking a shrunk file changes nothing, whether the code may move or not.
        let twice = dir.path().join("twice");
        for shrink in [shrink, shrink_packing] {
            assert!(shrink(&again, &twice).status.success());
            assert_eq!(fs::read(&twice).unwrap(), fs::read(&again).unwrap(), "{}: not idempotent", arch.name);
        }
    }
}

/// httpd's signal handler is code that no branch from its entry reaches: the kernel
/// enters it by the address httpd hands rt_sigaction. Packing would drop it, and SIGTERM
/// would then jump into other bytes (it did: exit 139 on x86_64). `shrink --pack` keeps
/// such code where it lies, says why, and writes what the build writes.
#[test]
fn code_entered_from_elsewhere_stays_where_it_lies() {
    let httpd = xtask::program::Program::find("httpd").unwrap();
    for arch in all_arches() {
        let binary = build_program(httpd, arch);
        let dir = tempfile::tempdir().unwrap();
        let packed = dir.path().join("packed");
        let explained = explain_packing(&binary.with_extension("elf"), &packed);
        assert!(explained.contains("the code stays as it lies"), "{}: {explained}", arch.name);
        assert_eq!(fs::read(&packed).unwrap(), fs::read(&binary).unwrap(), "{}", arch.name);
        if ["x86_64", "i686", "aarch64", "mips64el", "loongarch64"].contains(&arch.name) {
            assert!(explained.contains("no branch from the entry reaches"), "{}: {explained}", arch.name);
        }
    }
}

#[test]
fn trailing_zeros_are_left_to_the_loader() {
    // Our program with 100 zero bytes appended to its segment, on the host kernel and
    // on qemu-user (which crashes if asked to zero-fill a read-only segment).
    // (Shrunk without packing: a packed file may hold code in p_filesz.)
    for arch in ["x86_64", "aarch64"] {
        let arch = xtask::arch::Arch::find(arch).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let unpacked = dir.path().join("unpacked");
        assert!(shrink(&build_default(arch).with_extension("elf"), &unpacked).status.success());
        let binary = fs::read(&unpacked).unwrap();
        let mut padded = binary.clone();
        padded.extend_from_slice(&[0; 100]);
        let size = padded.len() as u64;
        let phoff = u64::from_le_bytes(padded[32..40].try_into().unwrap()) as usize;
        padded[phoff + 32..phoff + 40].copy_from_slice(&size.to_le_bytes()); // p_filesz
        padded[phoff + 40..phoff + 48].copy_from_slice(&size.to_le_bytes()); // p_memsz
        let (input, output) = (dir.path().join("padded"), dir.path().join("out"));
        fs::write(&input, &padded).unwrap();
        assert!(shrink(&input, &output).status.success());
        let shrunk = fs::read(&output).unwrap();
        assert_eq!(shrunk.len(), binary.len(), "{}: the zeros were not cut", arch.name);
        let elf = xtask::elf::read(&shrunk).unwrap();
        let load = &elf.phdrs[0];
        assert_eq!((load.p_filesz, load.p_memsz), (size, size), "{}: p_filesz must stay", arch.name);
        let out = run(&output, Stdio::piped());
        assert_eq!((out.stdout.as_slice(), out.status.code()), (xtask::message::DEFAULT, Some(0)), "{}", arch.name);
    }
}

/// Foreign static executables (tests/foreign: C without libc, C on static glibc and
/// musl, Go): the output is smaller and behaves exactly as the input does.
#[test]
fn shrinks_foreign_static_programs_without_changing_them() {
    let sh = xshell::Shell::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (name, input) in xtask::compare::build_foreign(&sh).unwrap() {
        let output = dir.path().join(name);
        let out = shrink(&input, &output);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let (before, after) = (run(&input, Stdio::piped()), run(&output, Stdio::piped()));
        assert!(!before.stdout.is_empty() && before.status.code() != Some(0), "{name}: the sample changed");
        assert_eq!(after.stdout, before.stdout, "{name}: output changed");
        assert_eq!(after.status.code(), before.status.code(), "{name}: exit status changed");
        let (a, b) = (fs::metadata(&input).unwrap().len(), fs::metadata(&output).unwrap().len());
        assert!(b < a, "{name}: {a} -> {b} bytes, not smaller");
        let shrunk = fs::read(&output).unwrap();
        let elf = xtask::elf::read(&shrunk).unwrap();
        assert_eq!(elf.header.e_shoff, 0, "{name}: section headers left");
    }
}

/// `cargo xtask compare` (strip, sstrip, ours) is what README.md shows: our rows to
/// the byte, the foreign programs by name (their sizes follow Debian's compilers);
/// every row gets smaller from left to right.
#[test]
fn the_comparison_in_the_readme_is_current() {
    let out = xtask(&["compare", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let table = readme_section("compare");
    assert_eq!(rows.len(), all_arches().count() + xtask::compare::FOREIGN.len());
    for r in &rows {
        let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{r}: {k}"));
        let file = r["file"].as_str().unwrap();
        assert!(n("ours") <= n("sstripped") && n("sstripped") <= n("stripped") && n("stripped") <= n("input"), "{r}");
        let line = table
            .lines()
            .find(|l| l.starts_with(&format!("| {file} |")))
            .unwrap_or_else(|| panic!("README lacks {file}"));
        if file.starts_with("hello ") {
            let want = format!(
                "| {file} | {} | {} | {} | {} | {} |",
                n("input"),
                n("stripped"),
                n("sstripped"),
                n("ours"),
                r["layout"].as_str().unwrap()
            );
            assert_eq!(line, want);
        }
    }
}

fn gcc(args: &[&str]) {
    let out = Command::new("gcc").args(args).output().expect("gcc runs");
    assert!(out.status.success(), "gcc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The e_flags rules of elf/rules.rs, each broken on purpose in one of our binaries.
#[test]
fn refuses_flags_some_loader_rejects() {
    let cases = [
        ("armv7", 0u32, "EABI version"),
        ("ppc64le", 1, "ELFv2"),
        ("mips64el", 0x8000_0405, "NaN2008"),
        ("mips64el", 0x8000_0025, "ABI2"),
        ("riscv64", 0xd, "RVE"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, flags, want) in cases {
        let arch = xtask::arch::Arch::find(name).unwrap();
        let mut bytes = fs::read(build_default(arch)).unwrap();
        let at = if arch.elf.is_64 { 48 } else { 36 }; // e_flags
        bytes[at..at + 4].copy_from_slice(&flags.to_le_bytes());
        let input = dir.path().join(format!("{name}-{flags:x}"));
        fs::write(&input, &bytes).unwrap();
        assert_refused(&input, want);
    }
}

/// The overlapped layout on every arch: the program header on the ELF header's tail
/// (little-endian only), the message (first in the segment) on p_align, the entry point
/// behind it; 16 (ELF64) or 12 (ELF32) bytes under the plain one-header layout of the
/// same code, 8 for big-endian s390x; more where the code was packed into free
/// header fields, where the entry point then lies, and the message maybe behind it
/// (aarch64, at load address 0x14000000).
#[test]
fn headers_overlap_on_every_arch() {
    for arch in all_arches() {
        let bytes = fs::read(build_default(arch)).unwrap();
        // The plain layout: both headers, then the linked segment's bytes.
        // (Trailing zeros cut, as the loader supplies them in either layout.)
        let linked_bytes = fs::read(xtask::paths::arch_dir(arch).join("hello.elf")).unwrap();
        let linked = xtask::elf::read(&linked_bytes).unwrap();
        let (offset, filesz) = (linked.phdrs[0].p_offset as usize, linked.phdrs[0].p_filesz as usize);
        let segment = &linked_bytes[offset..(offset + filesz).min(linked_bytes.len())];
        let segment_bytes = segment.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let elf = xtask::elf::read(&bytes).unwrap();
        let e = &arch.elf;
        let (plain_headers, phoff, body_at, saved) = match (e.is_64, e.little_endian) {
            (true, true) => (64 + 56, 0x38, 0x68, 16),
            (false, true) => (52 + 32, 0x2c, 0x48, 12),
            (true, false) => (64 + 56, 0x40, 0x70, 8),
            (false, false) => panic!("{}: no 32-bit big-endian arch expected", arch.name),
        };
        assert_eq!(elf.header.e_phoff, phoff, "{}: program header offset", arch.name);
        let (plan, _) = xtask::elf::shrink(&linked_bytes, xtask::elf::Options { pack: true }).unwrap();
        // The message lies on p_align, or behind the packed code where it moved there
        // (the plan says), at a load address of 0x10000 or one the planner chose.
        let moved = plan.packing.as_ref().and_then(|p| p.data.as_ref());
        let message = xtask::message::DEFAULT;
        let message_at = moved.map_or(body_at, |_| plan.pieces[0].1);
        assert_eq!(
            &bytes[message_at..message_at + message.len()],
            message,
            "{}: the message is not at {message_at:#x}",
            arch.name
        );
        let load = &elf.phdrs[0];
        let base = if moved.is_some() { plan.load_address() } else { 0x10000 };
        assert_eq!((load.p_offset, load.p_vaddr), (0, base), "{}", arch.name);
        assert!(base.is_multiple_of(0x10000) && base >= 0x10000, "{}: load address {base:#x}", arch.name);
        let code_start = base + if moved.is_some() { body_at } else { body_at + message.len() } as u64;
        let plain = plain_headers + segment_bytes;
        // Where the code was packed, the entry point is where the first run lies, at
        // the body's start or in a free header field.
        if let Some(packing) = &plan.packing {
            assert!(bytes.len() < plain - saved, "{}: {} bytes, plain layout {plain}", arch.name, bytes.len());
            assert_eq!(elf.entry_address(), packing.entry, "{}: entry", arch.name);
            let in_header = packing.entry < base + body_at as u64;
            assert!(in_header || packing.entry == code_start, "{}: entry {:#x}", arch.name, packing.entry);
        } else {
            assert!((code_start..0x10000 + bytes.len() as u64).contains(&elf.entry_address()), "{}: entry", arch.name);
            assert_eq!(bytes.len(), plain - saved, "{}: {} bytes, plain layout {plain}", arch.name, bytes.len());
        }
    }
}

/// The data moves only where the linker's relocations (the build links with
/// `--emit-relocs`) show that nothing but instructions of the code name it: aarch64
/// hello's `adr`, at the load address where e_entry runs as a jump; ARM pause's
/// literal loads, turned into `adr` (the pool goes); i686 hello's `mov ecx, imm32`,
/// an absolute address rewritten; x86_64 pause's objects one by one (each its own
/// section, `--unique`), onto header bytes and behind the code. Not x86_64 hello,
/// where moving it saves nothing. `--explain` says which and why, what the build
/// wrote is what it planned, and each piece of the data loads where it went.
#[test]
fn the_data_moves_only_where_the_relocations_allow() {
    let find = |name: &str| xtask::arch::Arch::find(name).unwrap();
    let pause = xtask::program::Program::find("pause").unwrap();
    let cases = [
        (build_default(find("aarch64")), Some(0x1400_0000), "runs as a jump to 0x68"),
        (build_program(pause, find("armv7")), Some(0x10000), "only PC-relative instructions name it"),
        (build_default(find("i686")), Some(0x10000), "x86's absolute addresses, rewritten"),
        (build_program(pause, x86_64()), Some(0x10000), "objects (each its own section"),
        (build_default(x86_64()), None, "not taken: the data behind the code at load address 0x10000: 129 bytes"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (binary, moved_to_load, why) in cases {
        let linked = binary.with_extension("elf");
        let output = dir.path().join("out");
        let text = explain_packing(&linked, &output);
        assert_eq!(fs::read(&output).unwrap(), fs::read(&binary).unwrap(), "{}", binary.display());
        let (plan, _) = xtask::elf::shrink(&fs::read(&linked).unwrap(), xtask::elf::Options { pack: true }).unwrap();
        let moved = plan.packing.as_ref().and_then(|p| p.data.as_ref());
        assert_eq!(moved.map(|_| plan.load_address()), moved_to_load, "{}: {text}", binary.display());
        assert!(text.contains(why), "{text}");
        let Some(data) = moved else { continue };
        // Each piece of the data (the message, the strings, the signal set) loads at
        // its new place: the file's bytes there, zeros past its end.
        let bytes = fs::read(&binary).unwrap();
        let input = fs::read(&linked).unwrap();
        let linked_elf = xtask::elf::read(&input).unwrap();
        let seg = &linked_elf.phdrs[0];
        for (from, to) in &data.pieces {
            let at = (from.start - seg.p_vaddr + seg.p_offset) as usize;
            let want = &input[at..at + (from.end - from.start) as usize];
            let out = (to - plan.load_address()) as usize;
            let loaded: Vec<u8> = (out..out + want.len()).map(|k| bytes.get(k).copied().unwrap_or(0)).collect();
            assert_eq!(loaded, want, "{}: the piece {from:#x?} at {out:#x}: {text}", binary.display());
            assert!(out < bytes.len(), "{}: no byte of the piece at {out:#x} in the file", binary.display());
        }
    }
}

/// Thumb hello's runs go on through header words that run as instructions: at load
/// address 0x23000000 with p_filesz = p_memsz = 0x73, p_filesz, p_memsz and p_flags'
/// low half run from p_paddr into p_flags' high half, writing only r3, r5 and the
/// flags, which nothing reads there. `--explain` says so, the file is what the build
/// wrote, and a parser reads back the header values that run.
#[test]
fn header_words_run_as_instructions_where_what_they_destroy_is_dead() {
    let binary = build_default(xtask::arch::Arch::find("armv7").unwrap());
    let linked = binary.with_extension("elf");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let text = explain_packing(&linked, &output);
    let bytes = fs::read(&binary).unwrap();
    assert_eq!(fs::read(&output).unwrap(), bytes);
    let passage = "header bytes 0x3c..0x46 run as `lsls r3, r6, 0x1; movs r0, r0; lsls r3, r6, 0x1; movs r0, r0; \
                   movs r5, r0` on the way to the next run: they destroy only r3, r5 and the flags";
    assert!(text.contains(passage), "{text}");
    assert!(text.contains("on to 0x23000046 through header bytes"), "{text}");
    let elf = xtask::elf::read(&bytes).unwrap();
    let segment = &elf.phdrs[0];
    assert_eq!((segment.p_vaddr, segment.p_filesz, segment.p_memsz), (0x2300_0000, 0x73, 0x73));
    assert_eq!(bytes.len(), 96);
}

/// `--explain` prints the plan: each decision with the bytes it saves, adding up to
/// the difference, on stderr, and the file is the one the build writes.
#[test]
fn explain_prints_every_decision_and_the_total() {
    let binary = build_default(x86_64());
    let linked = binary.with_extension("elf");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let text = explain_packing(&linked, &output);
    assert!(text.contains("layout: Overlapped"), "{text}");
    for step in ["0x28 (e_shoff, e_flags)", "0x50 (p_paddr)", "0x14 (e_version)", "packed: entry 0x10014"] {
        assert!(text.contains(step), "{text}");
    }
    // Each run: where it came from and went, its jump, then its instructions.
    assert!(text.contains("run 1: 0x1007c..") && text.contains("at 0x10014 (hole 0x14..0x18)"), "{text}");
    assert!(text.contains("(body), ") && text.contains("no jump") && text.contains(": syscall"), "{text}");
    assert!(text.contains("program header at 0x38"), "{text}");
    assert!(text.contains("code and data from 0x68") && text.contains("p_align"), "{text}");
    let saved: i64 = text
        .lines()
        .filter_map(|l| l.trim().split_once(" bytes  "))
        .map(|(n, _)| n.trim().parse::<i64>().unwrap())
        .sum();
    let (before, after) = (fs::metadata(&linked).unwrap().len() as i64, fs::metadata(&output).unwrap().len() as i64);
    assert_eq!(saved, before - after, "{text}");
    assert!(text.contains(&format!("{before} -> {after} bytes")), "{text}");
    assert_eq!(fs::read(&output).unwrap(), fs::read(&binary).unwrap());
}

/// The fuzz corpus (fuzz/corpus/shrink, grown by `cargo +nightly fuzz run shrink`)
/// replayed through the fuzz target's own check (`elf::check_contract`): no input
/// panics the minimizer or makes it fail its own verification (a `Bug`, where a bad
/// input must be a `Refusal`), with or without packing the code, and what it
/// accepts shrinks again to the same bytes. Every file that breaks it is named.
#[test]
fn the_fuzz_corpus_replays_cleanly() {
    let dir = xtask::paths::project_root().join("fuzz/corpus/shrink");
    let (mut inputs, mut accepted, mut broken) = (0, 0, Vec::new());
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        inputs += 1;
        match xtask::elf::check_contract(&fs::read(&path).unwrap()) {
            Ok(took) => accepted += took as usize,
            Err(why) => broken.push(format!("{}: {why}", path.display())),
        }
    }
    assert!(broken.is_empty(), "{} corpus files break the contract:\n{}", broken.len(), broken.join("\n"));
    // Our binaries and linked files are in it, and what fuzzing found besides.
    assert!(inputs >= 15 && accepted >= 14, "{inputs} inputs, {accepted} accepted");
}

/// The code packed into the ELF header (x86): `--pack` spreads the x86_64 binary's
/// code over free header fields and the body. Followed from e_entry, through the
/// jumps it inserted, it runs the same instructions as the linked file, in the same
/// order, to the exit syscall; without `--pack` the same
/// linked file keeps its code where it was, longer. Both print and exit the same,
/// and shrinking either again changes nothing.
#[test]
fn the_code_packs_into_free_header_fields_on_x86() {
    let binary = build_default(x86_64());
    let linked = binary.with_extension("elf");
    let dir = tempfile::tempdir().unwrap();
    let (kept, again) = (dir.path().join("kept"), dir.path().join("again"));
    assert!(shrink(&linked, &kept).status.success());
    let (packed, kept_bytes) = (fs::read(&binary).unwrap(), fs::read(&kept).unwrap());
    assert!(packed.len() + 15 < kept_bytes.len(), "{} bytes packed, {} kept", packed.len(), kept_bytes.len());
    // The instructions each file runs from its entry point to the exit syscall (hello
    // makes two: write and exit, which does not return), jumps followed and not
    // listed; and where each one lies in its file.
    let trace = |bytes: &[u8]| {
        let elf = xtask::elf::read(bytes).unwrap();
        let load = elf.phdrs[0].p_vaddr - elf.phdrs[0].p_offset;
        let (mut at, mut out) = (elf.entry_address(), Vec::new());
        let syscalls = |out: &Vec<(u64, Vec<u8>)>| out.iter().filter(|(_, b)| b[..] == [0x0f, 0x05]).count();
        while let Some(rest) = bytes.get((at - load) as usize..).filter(|_| syscalls(&out) < 2) {
            let insn = xtask::elf::isa::Isa::X86 { bitness: 64 }.decode_until(rest, at, at + 1).unwrap().remove(0);
            match insn.target() {
                Some(target) if insn.jump() => at = target,
                _ => {
                    out.push((at - load, bytes[(at - load) as usize..][..insn.len].to_vec()));
                    at += insn.len as u64;
                }
            }
            assert!(out.len() < 100, "runs on and on");
        }
        out
    };
    let (ran, original) = (trace(&packed), trace(&kept_bytes));
    let code = |t: &[(u64, Vec<u8>)]| t.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>();
    assert_eq!(code(&ran), code(&original));
    // Instructions run in p_paddr (0x50), e_shoff (0x28), e_version (0x14) and p_flags'
    // high bytes (0x3d).
    let places: Vec<u64> = ran.iter().map(|(at, _)| *at).collect();
    for field in [0x50..0x58, 0x28..0x34, 0x14..0x18, 0x3d..0x40] {
        assert!(places.iter().any(|at| field.contains(at)), "nothing runs in {field:x?}: {places:x?}");
    }
    // The exit syscall, the last instruction, is p_filesz's first bytes (0f 05:
    // p_filesz = p_memsz = 0x50f), reached from the run that ends p_paddr.
    assert_eq!(places.last(), Some(&0x58), "{places:x?}");
    assert_eq!(places[places.len() - 2] + ran[ran.len() - 2].1.len() as u64, 0x58, "{places:x?}");
    let load = &xtask::elf::read(&packed).unwrap().phdrs[0];
    assert_eq!((load.p_filesz, load.p_memsz), (0x50f, 0x50f));
    for file in [&binary, &kept] {
        let out = run(file, Stdio::piped());
        assert_eq!((out.stdout.as_slice(), out.status.code()), (xtask::message::DEFAULT, Some(0)));
        // EBADF: the write's shortfall, -9 - 20 mod 256 (tests/binaries.rs checks why).
        assert_eq!(
            run_stdout_closed(file).status.code(),
            Some(227),
            "{}: exit status with stdout closed",
            file.display()
        );
        for flag in ["", "--pack", "--move-tail"] {
            let args: Vec<&str> = ["shrink", flag, file.to_str().unwrap(), again.to_str().unwrap()]
                .into_iter()
                .filter(|a| !a.is_empty())
                .collect();
            xtask_ok(&args);
            assert_eq!(fs::read(&again).unwrap(), fs::read(file).unwrap(), "{} {flag}: not idempotent", file.display());
        }
    }
}

/// MIPS code packs too, delay slots and all: `--pack` on the linked mips64el hello
/// gives the file the build makes, shorter than the code kept in place. Followed from
/// its entry (each jump's delay slot runs before the jump goes), it runs the same
/// instructions as the kept file, in the same order, to the exit syscall, some of them
/// in p_paddr (0x50) and e_shoff (0x28); each inserted jump carries the instruction
/// before it in its slot (no nop). Both print and exit the same.
#[test]
fn mips_code_packs_with_its_delay_slots() {
    let arch = xtask::arch::Arch::find("mips64el").unwrap();
    let binary = build_default(arch);
    let linked = binary.with_extension("elf");
    let dir = tempfile::tempdir().unwrap();
    let (kept, output) = (dir.path().join("kept"), dir.path().join("out"));
    assert!(shrink(&linked, &kept).status.success());
    let text = explain_packing(&linked, &output);
    assert!(text.contains("packed: entry 0x10050"), "{text}");
    let (packed, kept_bytes) = (fs::read(&binary).unwrap(), fs::read(&kept).unwrap());
    assert_eq!(fs::read(&output).unwrap(), packed);
    assert!(packed.len() + 8 <= kept_bytes.len(), "{} bytes packed, {} kept", packed.len(), kept_bytes.len());
    // hello's code has no branch of its own: every one here is an inserted `b`.
    let trace = |bytes: &[u8]| {
        let elf = xtask::elf::read(bytes).unwrap();
        let load = elf.phdrs[0].p_vaddr - elf.phdrs[0].p_offset;
        let word = |at: u64| {
            let mut w = [0u8; 4];
            for (n, b) in w.iter_mut().enumerate() {
                *b = bytes.get((at - load) as usize + n).copied().unwrap_or(0);
            }
            u32::from_le_bytes(w)
        };
        let (mut at, mut out, mut nops) = (elf.entry_address(), Vec::new(), 0);
        while out.iter().filter(|(_, w)| *w == 0x0000_000c).count() < 2 {
            let w = word(at);
            if w >> 16 == 0x1000 {
                // b: its slot, then the target.
                let slot = word(at + 4);
                nops += usize::from(slot == 0);
                out.push((at + 4 - load, slot));
                at = (at + 4).wrapping_add(((w as u16 as i16 as i64) * 4) as u64);
            } else {
                out.push((at - load, w));
                at += 4;
            }
            assert!(out.len() < 100, "runs on and on");
        }
        (out, nops)
    };
    let ((ran, nops), (original, _)) = (trace(&packed), trace(&kept_bytes));
    let words = |t: &[(u64, u32)]| t.iter().map(|&(_, w)| w).collect::<Vec<_>>();
    assert_eq!(words(&ran), words(&original));
    assert_eq!(nops, 0, "a jump's delay slot holds a nop: {ran:x?}");
    let places: Vec<u64> = ran.iter().map(|(at, _)| *at).collect();
    for field in [0x50..0x58, 0x28..0x30] {
        assert!(places.iter().any(|at| field.contains(at)), "nothing runs in {field:x?}: {places:x?}");
    }
    let status = |file: &Path| run_stdout_closed(file).status.code();
    for file in [&binary, &kept] {
        let out = run(file, Stdio::piped());
        assert_eq!((out.stdout.as_slice(), out.status.code()), (xtask::message::DEFAULT, Some(0)));
    }
    assert_eq!(status(&binary), status(&kept));
}
