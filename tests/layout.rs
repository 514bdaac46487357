//! The shape of the project, checked against the two tables:
//! - adding an architecture is one row in xtask/src/arch.rs and one syscall crate
//!   (named in crates/sys); adding a program is one row in xtask/src/program.rs and
//!   one crate;
//! - everything else per arch or per program is written from the tables
//!   (`cargo xtask generate`: Dockerfiles, Makefile.toml) or checked against them here
//!   (budgets; README tables in the tests of each program).

use std::{collections::BTreeSet, fs};

use xtask::{arch::ARCHES, budgets, generate, paths::project_root, program::PROGRAMS};

fn read(path: &str) -> String {
    fs::read_to_string(project_root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn package_name(manifest: &str) -> Option<String> {
    let manifest: toml::Table = toml::from_str(manifest).ok()?;
    Some(manifest.get("package")?.get("name")?.as_str()?.to_string())
}

#[test]
fn every_arch_has_its_syscall_crate_and_the_sys_crate_picks_it() {
    let sys_manifest: toml::Table = toml::from_str(&read("crates/sys/Cargo.toml")).unwrap();
    let sys_arch = read("crates/sys/src/arch.rs");
    let targets = sys_manifest["target"].as_table().unwrap();
    for arch in ARCHES {
        let path = format!("crates/{}/Cargo.toml", arch.syscalls);
        assert_eq!(
            package_name(&read(&path)).as_deref(),
            Some(arch.syscalls),
            "{}: {path} names another crate",
            arch.name
        );
        let picked = targets.values().any(|t| t["dependencies"].get(arch.syscalls).is_some());
        assert!(picked, "{}: crates/sys/Cargo.toml has no target dependency on {}", arch.name, arch.syscalls);
        let reexport = format!("pub use {}::*;", arch.syscalls.replace('-', "_"));
        assert!(sys_arch.contains(&reexport), "{}: crates/sys/src/arch.rs lacks `{reexport}`", arch.name);
    }
    // And no syscall crate the table does not name.
    let named: BTreeSet<&str> = ARCHES.iter().map(|a| a.syscalls).collect();
    for entry in fs::read_dir(project_root().join("crates")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("sys-") {
            assert!(named.contains(name.as_str()), "crates/{name} is in no row of the arch table");
        }
    }
}

#[test]
fn every_program_is_a_no_std_crate_over_sys_and_nothing_more() {
    for program in PROGRAMS {
        let dir = format!("crates/{}", program.name);
        let manifest: toml::Table = toml::from_str(&read(&format!("{dir}/Cargo.toml"))).unwrap();
        assert_eq!(manifest["package"]["name"].as_str(), Some(program.name), "{dir}: package name");
        let deps: Vec<&String> = manifest["dependencies"].as_table().unwrap().keys().collect();
        assert_eq!(deps, ["sys"], "{}: a program depends on the sys crate alone", program.name);
        assert!(manifest.get("target").is_none(), "{}: no per-arch dependencies in a program", program.name);
        let main = read(&format!("{dir}/src/main.rs"));
        for attribute in ["#![no_std]", "#![no_main]"] {
            assert!(main.contains(attribute), "{}: src/main.rs lacks {attribute}", program.name);
        }
        assert!(!main.contains("asm!"), "{}: asm belongs in the syscall crates", program.name);
    }
}

#[test]
fn generated_files_are_current() {
    for arch in ARCHES {
        assert_eq!(
            read(&format!("Dockerfiles/{}", arch.name)),
            generate::dockerfile(arch),
            "Dockerfiles/{} is stale: run `cargo xtask generate`",
            arch.name
        );
    }
    let files: BTreeSet<String> = fs::read_dir(project_root().join("Dockerfiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let arches: BTreeSet<String> = ARCHES.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(files, arches, "Dockerfiles/ and the arch table disagree");
    assert_eq!(read("Makefile.toml"), generate::makefile(), "Makefile.toml is stale: run `cargo xtask generate`");
}

#[test]
fn every_program_and_arch_has_a_cargo_make_task_and_a_docker_stage() {
    let tasks: toml::Table = toml::from_str(&read("Makefile.toml")).unwrap();
    let tasks = tasks["tasks"].as_table().unwrap();
    for program in PROGRAMS {
        for arch in ARCHES {
            let name = generate::image_task(program, arch);
            let task = tasks.get(&name).unwrap_or_else(|| panic!("no task {name}"));
            let args: Vec<&str> = task["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
            assert_eq!(args, ["xtask", "image", "--program", program.name, arch.name], "{name}");
            let dockerfile = generate::dockerfile(arch);
            assert!(dockerfile.contains(&format!("FROM scratch AS {}\n", program.name)), "{name}: no stage");
        }
    }
    // The card: `cargo make image-x86_64` and `docker build -f Dockerfiles/armv7 .` mean hello.
    assert_eq!(tasks["image-x86_64"]["args"][3].as_str(), Some("hello"));
    let armv7 = read("Dockerfiles/armv7");
    let last_stage = armv7.rsplit("\nFROM ").next().unwrap();
    assert!(last_stage.starts_with("scratch AS hello\n"), "the last stage of Dockerfiles/armv7 is not hello's");
    for task in ["build", "images", "report", "compare", "test", "kernel-test"] {
        assert!(tasks.contains_key(task), "no task {task}");
    }
}

#[test]
fn budgets_cover_exactly_the_programs_and_arches() {
    let budgets = budgets::load().unwrap();
    let programs: BTreeSet<&str> = PROGRAMS.iter().map(|p| p.name).collect();
    assert_eq!(budgets.keys().map(String::as_str).collect::<BTreeSet<_>>(), programs, "budgets.toml's programs");
    let arches: BTreeSet<String> = ARCHES.iter().map(|a| a.name.to_string()).collect();
    for (program, per_arch) in &budgets {
        assert_eq!(per_arch.keys().cloned().collect::<BTreeSet<_>>(), arches, "budgets.toml: {program}'s arches");
    }
}

#[test]
fn platforms_are_unique_and_arm_variants_are_set() {
    let platforms: BTreeSet<String> = ARCHES.iter().map(|a| a.platform.docker()).collect();
    assert_eq!(platforms.len(), ARCHES.len(), "two arches share a Docker platform");
    for arch in ARCHES.iter().filter(|a| a.platform.architecture == "arm") {
        assert!(arch.platform.variant.is_some(), "{}: 32-bit ARM needs a variant", arch.name);
        assert!(arch.arm_cpu_arch.is_some(), "{}: no Tag_CPU_arch to check", arch.name);
    }
}

#[test]
fn the_code_is_rustfmt_clean() {
    // rustfmt.toml sets the style; the fuzz crate is a workspace of its own.
    for manifest in ["Cargo.toml", "fuzz/Cargo.toml"] {
        let out = std::process::Command::new("cargo")
            .args(["fmt", "--all", "--check", "--manifest-path", manifest])
            .current_dir(project_root())
            .output()
            .expect("cannot run cargo fmt: install rustfmt (rustup's default profile has it)");
        assert!(
            out.status.success(),
            "{manifest}: not rustfmt-clean (run `cargo fmt --all --manifest-path {manifest}`):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
