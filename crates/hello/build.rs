//! Puts the message into OUT_DIR/message, where `include_bytes!` picks it up.
//! HELLO_MESSAGE_FILE names a file whose bytes are the message (any bytes, a NUL too:
//! an environment variable could not carry those); without it, `message.default` is used.
//! `cargo xtask build --message ...` writes that file and checks the length first.

use std::{env, fs, path::PathBuf};

const MAX_LEN: usize = 4096;

fn main() {
    println!("cargo::rerun-if-env-changed=HELLO_MESSAGE_FILE");
    // Set by `cargo xtask techniques` alone (see main.rs).
    println!("cargo::rustc-check-cfg=cfg(exit_by_comparison)");
    let source = match env::var_os("HELLO_MESSAGE_FILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from("message.default"),
    };
    println!("cargo::rerun-if-changed={}", source.display());
    let message =
        fs::read(&source).unwrap_or_else(|e| panic!("cannot read the message from {}: {e}", source.display()));
    assert!(
        (1..=MAX_LEN).contains(&message.len()),
        "the message in {} is {} bytes; it must be 1 to {MAX_LEN}",
        source.display(),
        message.len()
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("message"), &message).expect("cannot write OUT_DIR/message");
}
