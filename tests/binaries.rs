//! Every architecture's binary: what it prints, how it exits, what it is made of, and
//! how big it is. Foreign binaries run through qemu-user (binfmt_misc).

mod common;

use std::{fs, process::Stdio};

use common::*;
use xtask::{budgets, message::DEFAULT};

#[test]
fn prints_the_default_message_and_exits_0() {
    for arch in all_arches() {
        let out = run(&build_default(arch), Stdio::piped());
        assert_eq!(out.stdout, DEFAULT, "{}: stdout", arch.name);
        assert!(out.stderr.is_empty(), "{}: stderr {:?}", arch.name, String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{}: exit status", arch.name);
    }
}

/// ENOSPC and EBADF, the errors of `>/dev/full` and `>&-`.
const ENOSPC: isize = 28;
const EBADF: isize = 9;

/// The status a user sees when hello's write of `len` bytes fails with `errno`, as
/// `sys::write_status` documents it: the shortfall `written - len` mod 256 where that
/// is never 0 for any failure at this length, else 1. PowerPC's and MIPS's calls give
/// 0 for every error (the kernel flags errors apart); the others give -errno, for
/// errno up to 133 and the kernel's internal 512 to 531.
fn failure_status(arch: &xtask::arch::Arch, len: usize, errno: isize) -> i32 {
    let flagged = matches!(arch.elf.machine, goblin::elf::header::EM_PPC64 | goblin::elf::header::EM_MIPS);
    let (result, worst) = if flagged { (0, 0) } else { (-errno, 133) };
    let never_zero = len < 256 && len + worst < 256;
    if never_zero { (result - len as isize).rem_euclid(256) as i32 } else { 1 }
}

/// Whether hello at `binary` (built with a message of `len` bytes) exits with the
/// status its failed writes must give, on /dev/full and with stdout closed.
fn check_failed_writes(arch: &xtask::arch::Arch, binary: &std::path::Path, len: usize, what: &str) {
    let full = fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let out = run(binary, Stdio::from(full));
    let want = failure_status(arch, len, ENOSPC);
    assert_ne!(want, 0);
    assert_eq!(out.status.code(), Some(want), "{}: {what}: >/dev/full must fail (ENOSPC)", arch.name);
    let out = run_stdout_closed(binary);
    let want = failure_status(arch, len, EBADF);
    assert_eq!(out.status.code(), Some(want), "{}: {what}: >&- must fail (EBADF)", arch.name);
}

#[test]
fn exits_non_zero_when_the_message_is_not_written() {
    for arch in all_arches() {
        check_failed_writes(arch, &build_default(arch), DEFAULT.len(), "the default message");
    }
}

#[test]
fn the_failure_statuses_of_the_default_message_are_the_documented_ones() {
    let x86_64 = xtask::arch::Arch::find("x86_64").unwrap();
    let ppc64le = xtask::arch::Arch::find("ppc64le").unwrap();
    assert_eq!(DEFAULT.len(), 20, "README and sys::write_status quote the statuses of a 20-byte message");
    assert_eq!(failure_status(x86_64, 20, ENOSPC), 208);
    assert_eq!(failure_status(x86_64, 20, EBADF), 227);
    assert_eq!(failure_status(ppc64le, 20, ENOSPC), 236);
    assert_eq!(failure_status(x86_64, 122, ENOSPC), 106);
    assert_eq!(failure_status(x86_64, 123, ENOSPC), 1);
    assert_eq!(failure_status(ppc64le, 255, ENOSPC), 1);
    assert_eq!(failure_status(ppc64le, 256, ENOSPC), 1);
}

#[test]
fn is_one_static_segment_and_nothing_else() {
    for arch in all_arches() {
        let bytes = fs::read(build_default(arch)).unwrap();
        check_structure(arch, &bytes);
    }
}

#[test]
fn fits_its_committed_budget() {
    for arch in all_arches() {
        let size = fs::metadata(build_default(arch)).unwrap().len();
        let budget = budgets::get(hello(), arch).unwrap();
        assert!(size <= budget.binary, "{}: {size} bytes, over its budget of {}", arch.name, budget.binary);
    }
}

#[test]
fn arm_binaries_carry_their_cpu_architecture() {
    for arch in all_arches() {
        let Some(want) = arch.arm_cpu_arch else {
            continue;
        };
        build_default(arch);
        let linked = fs::read(xtask::paths::arch_dir(arch).join("hello.elf")).unwrap();
        let file = object::File::parse(&*linked).unwrap();
        let got = xtask::build::arm_cpu_arch(&file).unwrap();
        assert_eq!(got, Some(want.value), "{}: Tag_CPU_arch, want {}", arch.name, want.name);
        // Thumb entry point: bit 0 set, so the kernel starts it in Thumb state.
        let elf = goblin::elf::Elf::parse(&linked).unwrap();
        assert_eq!(elf.entry & 1, 1, "{}: entry is not Thumb", arch.name);
        assert_ne!(elf.header.e_flags & 0xff00_0000, 0, "{}: no EABI version in e_flags", arch.name);
    }
}

#[test]
fn prints_any_message_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let messages: [(&str, Vec<u8>); 4] = [
        ("lines, UTF-8 and a NUL", "Zeile 1\nłódź ✓ 你好\0tail without newline".as_bytes().to_vec()),
        ("one byte", b"x".to_vec()),
        // 228 + ENOSPC (28) = 256: the shortfall would exit 0 on /dev/full.
        ("228 bytes", vec![b'z'; 228]),
        ("4096 bytes", (0..4096u32).map(|i| b"0123456789abcdef\n"[(i % 17) as usize]).collect()),
    ];
    for arch in all_arches() {
        for (what, message) in &messages {
            let file = dir.path().join("message");
            fs::write(&file, message).unwrap();
            let out_path = dir.path().join(format!("hello-{}", arch.name));
            build_with_message(arch, &file, &out_path);
            let out = run(&out_path, Stdio::piped());
            assert_eq!(&out.stdout, message, "{}: {what}", arch.name);
            assert_eq!(out.status.code(), Some(0), "{}: {what}: exit status", arch.name);
            check_failed_writes(arch, &out_path, message.len(), what);
        }
    }
}

#[test]
fn message_from_the_environment_and_the_command_line() {
    let arch = xtask::arch::Arch::find("x86_64").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("hello");
    let out_arg = out_path.to_str().unwrap();
    let out = xtask_with_env(&["build", "x86_64", "--out", out_arg], &[("HELLO_MESSAGE", "from the env\n")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(run(&out_path, Stdio::piped()).stdout, b"from the env\n");
    xtask_ok(&["build", arch.name, "--out", out_arg, "--message", "from --message"]);
    assert_eq!(run(&out_path, Stdio::piped()).stdout, b"from --message");
}

#[test]
fn refuses_bad_messages_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("hello");
    let out_arg = out_path.to_str().unwrap();
    let long = dir.path().join("long");
    fs::write(&long, vec![b'a'; 4097]).unwrap();
    // Arguments, environment, what the one error line says.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (&["--message", ""], &[], "empty"),
        (&["--message-file", long.to_str().unwrap()], &[], "4097 bytes"),
        (&[], &[("HELLO_MESSAGE", "")], "empty"),
        (&["--message-file", "/nonexistent/message"], &[], "cannot read"),
    ];
    for (args, env, want) in cases {
        let mut all = vec!["build", "x86_64", "--out", out_arg];
        all.extend_from_slice(args);
        let out = xtask_with_env(&all, env);
        assert_eq!(out.status.code(), Some(1), "{args:?} {env:?} must fail");
        let line = one_error_line(&out);
        assert!(line.contains(want), "{args:?}: error line {line:?} should say {want:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("Compiling"), "{args:?}: built before refusing");
        assert!(!out_path.exists(), "{args:?}: left a file behind");
    }
}

#[test]
fn refuses_an_unknown_architecture() {
    let out = xtask(&["build", "sparc64"]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.contains("unknown architecture `sparc64`") && line.contains("x86_64"), "{line}");
}

#[test]
fn readme_size_table_is_current() {
    let table = readme_section("sizes");
    for arch in all_arches() {
        let size = fs::metadata(build_default(arch)).unwrap().len();
        let budget = budgets::get(hello(), arch).unwrap();
        let want = format!(
            "| {} | {} | {size} | {} | {} | {} | {} |",
            arch.name,
            arch.platform.docker(),
            size - DEFAULT.len() as u64,
            budget.binary,
            budget.hand_asm.unwrap(),
            budget.hand_best.unwrap()
        );
        assert!(table.lines().any(|l| l.trim() == want), "README.md's size table lacks {want}");
    }
}

#[test]
fn readme_techniques_table_is_current() {
    let sh = xshell::Shell::new().unwrap();
    let rows = xtask::techniques::measure(&sh, &all_arches().collect::<Vec<_>>()).unwrap();
    let measured = xtask::techniques::markdown(&rows);
    assert_eq!(
        readme_section("techniques").trim(),
        measured.trim(),
        "README.md's techniques table is not what `cargo xtask techniques` measures now: paste its output"
    );
}
