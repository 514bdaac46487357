//! Every program links with crates/link.ld (the xtask passes `-T`), and cargo does not
//! track files named in rustflags: a change to it must reach them through this crate,
//! which every program depends on.

fn main() {
    println!("cargo::rerun-if-changed=../link.ld");
}
