//! The bytes are the check: every program on every arch, built with the default
//! message, is exactly what sha256sums.txt says (as docker-library/hello-world's CI
//! diffs its binaries). A change to any byte fails here, naming the binary and
//! `cargo xtask sums --update`, which rewrites the file.

mod common;

use std::fs;

use common::*;
use xtask::sums::{self, Sum};

#[test]
fn every_binary_is_the_committed_bytes() {
    let built: Vec<Sum> = sums::every()
        .map(|(program, arch)| Sum::of(program, arch, &fs::read(build_program(program, arch)).unwrap()))
        .collect();
    if let Err(e) = sums::compare(&built) {
        panic!("{e:#}");
    }
}
