//! What the integration tests share: running the real `xtask` binary, running hello
//! binaries (natively or through qemu-user's binfmt entries), reading ELF files back.
#![allow(dead_code)] // each test file uses its own part of this

pub mod http;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use goblin::elf::{
    Elf,
    program_header::{PT_DYNAMIC, PT_INTERP, PT_LOAD, ProgramHeader},
};
use xtask::{
    arch::{ARCHES, Arch},
    program::Program,
};

/// The Docker engine setup.sh starts; the tests that need one fail without it.
pub fn docker() -> xtask::docker::Docker {
    xtask::docker::Docker::connect(&xshell::Shell::new().unwrap()).unwrap_or_else(|e| panic!("{e:#}"))
}

pub fn docker_cmd(docker: &xtask::docker::Docker, args: &[&str]) -> Output {
    Command::new(&docker.client).args(args).output().expect("docker client runs")
}

/// The bytes of the file at `path` inside `image`, read back through `docker cp`.
pub fn file_in_image(docker: &xtask::docker::Docker, image: &str, path: &str) -> Vec<u8> {
    let created = docker_cmd(docker, &["create", image]);
    assert!(created.status.success(), "docker create {image}: {}", String::from_utf8_lossy(&created.stderr));
    let id = String::from_utf8(created.stdout).unwrap().trim().to_string();
    let copied = docker_cmd(docker, &["cp", &format!("{id}:{path}"), "-"]);
    docker_cmd(docker, &["rm", &id]);
    assert!(copied.status.success(), "docker cp: {}", String::from_utf8_lossy(&copied.stderr));
    let mut archive = tar::Archive::new(copied.stdout.as_slice());
    let mut entry = archive.entries().unwrap().next().expect("one file").unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
    bytes
}

/// `docker build -f Dockerfiles/<arch> --target <program>` (through `xtask docker-build`)
/// must give the very bytes of `xtask build --program <program> <arch>`. The image's tag,
/// `<image>-dockerfile:<arch>`.
pub fn check_dockerfile_bytes(docker: &xtask::docker::Docker, program: &Program, arch: &Arch) -> String {
    let image = format!("{}-dockerfile:{}", program.image, arch.name);
    eprintln!("docker build of {image} (the first one installs the builder: minutes)");
    xtask_ok(&["docker-build", "--program", program.name, arch.name, "--tag", &image]);
    let binary = std::fs::read(build_program(program, arch)).unwrap();
    let copied = file_in_image(docker, &image, &program.entrypoint());
    assert_eq!(copied, binary, "{}: {}'s Dockerfile and xtask bytes differ", arch.name, program.name);
    image
}

/// The part of README.md between `<!-- {name}:begin -->` and `<!-- {name}:end -->`.
pub fn readme_section(name: &str) -> String {
    let readme = std::fs::read_to_string(xtask::paths::project_root().join("README.md")).unwrap();
    readme
        .split(&format!("<!-- {name}:begin -->"))
        .nth(1)
        .and_then(|rest| rest.split(&format!("<!-- {name}:end -->")).next())
        .unwrap_or_else(|| panic!("README.md has no section between {name}:begin and {name}:end markers"))
        .to_string()
}

/// Run `cargo xtask <args>` as the user would, and return what it did.
pub fn xtask(args: &[&str]) -> Output {
    xtask_with_env(args, &[])
}

pub fn xtask_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.args(args).env_remove("HELLO_MESSAGE").env_remove("HELLO_MESSAGE_FILE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().expect("xtask runs")
}

/// `xtask <args>` must succeed; its stderr is shown otherwise.
pub fn xtask_ok(args: &[&str]) {
    let out = xtask(args);
    assert!(out.status.success(), "xtask {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// The lines an error printed: exactly one, starting `error: `.
pub fn one_error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "want one error line, got:\n{stderr}");
    errors[0].to_string()
}

/// hello, the program the card's commands mean.
pub fn hello() -> &'static Program {
    xtask::program::DEFAULT
}

/// Build hello for `arch` with the default message at its default place; the binary's path.
pub fn build_default(arch: &Arch) -> PathBuf {
    build_program(hello(), arch)
}

/// Build `program` for `arch` (hello with the default message); the binary's path.
pub fn build_program(program: &Program, arch: &Arch) -> PathBuf {
    xtask_ok(&["build", "--program", program.name, arch.name]);
    xtask::paths::binary(program, arch)
}

/// Build `arch` printing the bytes in `message_file`, into `out`.
pub fn build_with_message(arch: &Arch, message_file: &Path, out: &Path) {
    xtask_ok(&["build", arch.name, "--message-file", message_file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
}

/// Run a hello binary with stdout going to `stdout`; foreign ones run through
/// qemu-user, which binfmt_misc starts for them (setup.sh registers it).
pub fn run(binary: &Path, stdout: Stdio) -> Output {
    Command::new(binary).stdin(Stdio::null()).stdout(stdout).stderr(Stdio::piped()).output().unwrap_or_else(|e| {
        panic!("cannot run {} (is qemu-user registered in binfmt_misc? run setup.sh): {e}", binary.display())
    })
}

/// Run with stdout closed (`./hello >&-`).
pub fn run_stdout_closed(binary: &Path) -> Output {
    // A shell closes fd 1 exactly as a user would; Stdio offers no "closed" mode.
    Command::new("sh").arg("-c").arg("exec \"$0\" >&-").arg(binary).stderr(Stdio::piped()).output().expect("sh runs")
}

pub fn all_arches() -> impl Iterator<Item = &'static Arch> {
    ARCHES.iter()
}

/// What goblin reads back from a shrunk binary (its ELF header and program headers,
/// all a loader reads), checked against what the kernel needs.
pub fn check_structure(arch: &Arch, bytes: &[u8]) {
    let header = Elf::parse_header(bytes).unwrap_or_else(|e| panic!("{}: goblin cannot parse: {e}", arch.name));
    let ctx = goblin::container::Ctx::new(
        if arch.elf.is_64 { goblin::container::Container::Big } else { goblin::container::Container::Little },
        if arch.elf.little_endian { goblin::container::Endian::Little } else { goblin::container::Endian::Big },
    );
    let program_headers = ProgramHeader::parse(bytes, header.e_phoff as usize, header.e_phnum as usize, ctx)
        .unwrap_or_else(|e| panic!("{}: goblin cannot parse the program headers: {e}", arch.name));
    let elf = Parsed {
        header,
        program_headers,
        is_64: header.e_ident[4] == 2,
        little_endian: header.e_ident[5] == 1,
        entry: header.e_entry,
    };
    let name = arch.name;
    assert_eq!(elf.header.e_machine, arch.elf.machine, "{name}: e_machine");
    assert_eq!(elf.is_64, arch.elf.is_64, "{name}: ELF class");
    assert_eq!(elf.little_endian, arch.elf.little_endian, "{name}: byte order");
    assert_eq!(elf.header.e_type, goblin::elf::header::ET_EXEC, "{name}: not ET_EXEC (PIE?)");
    assert_eq!(elf.program_headers.len(), 1, "{name}: want exactly one program header");
    let load = &elf.program_headers[0];
    assert_eq!(load.p_type, PT_LOAD, "{name}: the one program header is not PT_LOAD");
    // e_shoff = 0: no section headers. (e_shnum may be non-zero: with the program
    // header on the ELF header's tail it holds p_flags.) Where the packer knows the
    // ISA (it moves code on every ISA it decodes), e_shoff may hold packed code instead
    // (xtask/src/elf/pack.rs).
    let moves_code = xtask::elf::isa::Isa::of(&elf.header).is_some();
    assert!(elf.header.e_shoff == 0 || moves_code, "{name}: section headers left");
    assert_eq!(load.p_offset, 0, "{name}: segment does not start at the file's start");
    // The file may end before the segment does (trailing zeros are left to the
    // loader, which reads the rest of the last page as zeros), never after it.
    let len = bytes.len() as u64;
    assert!(len <= load.p_filesz, "{name}: bytes outside the segment");
    // Unless p_filesz = p_memsz spell the code's last instruction (the ISA's size
    // word, xtask/src/elf/pack.rs), which the file then holds there.
    let size_word = xtask::elf::isa::Isa::of(&elf.header).and_then(|isa| isa.size_word());
    let filesz_at = header.e_phoff as usize + if elf.is_64 { 32 } else { 16 };
    let spells_size_word = load.p_filesz == load.p_memsz
        && size_word.is_some_and(|word| bytes.get(filesz_at..filesz_at + word.len()) == Some(word));
    assert!(
        load.p_filesz <= len.next_multiple_of(4096) || spells_size_word,
        "{name}: segment reaches past the file's last page"
    );
    assert!(load.p_filesz <= load.p_memsz, "{name}: p_filesz > p_memsz");
    assert!(load.p_vaddr >= 0x10000, "{name}: loads below 64 KiB");
    assert_eq!(load.p_vaddr % 0x10000, load.p_offset % 0x10000, "{name}: not 64 KiB congruent");
    assert!(load.is_executable() && load.is_read(), "{name}: segment not R+X");
    assert!(!load.is_write(), "{name}: code segment is writable");
    let entry = elf.entry & !1; // ARM Thumb entry points have bit 0 set
    assert!(entry >= load.p_vaddr && entry < load.p_vaddr + len, "{name}: entry {entry:#x} outside the segment");
    let dynamic = |p: &ProgramHeader| matches!(p.p_type, PT_INTERP | PT_DYNAMIC);
    assert!(!elf.program_headers.iter().any(dynamic), "{name}: not static");
}

/// The parts of an ELF file a loader reads.
struct Parsed {
    header: goblin::elf::Header,
    program_headers: Vec<ProgramHeader>,
    is_64: bool,
    little_endian: bool,
    entry: u64,
}

/// What a thread's panic said (`panic!`'s formatted or literal message), for a test
/// that runs one thread per arch and reports every arch that failed.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
