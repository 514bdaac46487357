//! Adding an architecture is one row in xtask/src/arch.rs, one crate, one Dockerfile
//! (written by `cargo xtask dockerfiles`), one budget and one cargo-make task. These
//! tests fail when any of them is missing or stale.

use std::{collections::BTreeSet, fs};

use xtask::{arch::ARCHES, budgets, dockerfile, paths::project_root};

#[test]
fn every_arch_has_its_crate() {
    for arch in ARCHES {
        let manifest = project_root().join("crates").join(arch.krate).join("Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap_or_else(|_| panic!("{}: no {}", arch.name, manifest.display()));
        assert!(
            text.contains(&format!("name = \"{}\"", arch.krate)),
            "{}: {} names another crate",
            arch.name,
            manifest.display()
        );
    }
}

#[test]
fn dockerfiles_are_the_template_for_each_arch_and_nothing_else() {
    let dir = project_root().join("Dockerfiles");
    for arch in ARCHES {
        let committed = fs::read_to_string(dir.join(arch.name)).unwrap_or_default();
        assert_eq!(
            committed,
            dockerfile::render(arch),
            "Dockerfiles/{} is stale: run `cargo xtask dockerfiles`",
            arch.name
        );
    }
    let files: BTreeSet<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let arches: BTreeSet<String> = ARCHES.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(files, arches, "Dockerfiles/ and the arch table disagree");
}

#[test]
fn budgets_cover_exactly_the_arches() {
    let budgets: BTreeSet<String> = budgets::load().unwrap().into_keys().collect();
    let arches: BTreeSet<String> = ARCHES.iter().map(|a| a.name.to_string()).collect();
    assert_eq!(budgets, arches, "budgets.toml and the arch table disagree");
}

#[test]
fn every_arch_has_a_cargo_make_task() {
    let text = fs::read_to_string(project_root().join("Makefile.toml")).unwrap();
    let tasks: toml::Table = toml::from_str(&text).unwrap();
    let tasks = tasks["tasks"].as_table().unwrap();
    for arch in ARCHES {
        let task = tasks.get(&format!("image-{}", arch.name)).unwrap_or_else(|| panic!("no task image-{}", arch.name));
        let args: Vec<&str> = task["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(args, ["xtask", "image", arch.name], "image-{}", arch.name);
    }
    for task in ["build", "images", "report", "compare", "test"] {
        assert!(tasks.contains_key(task), "no task {task}");
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
