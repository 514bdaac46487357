//! The message a hello binary prints: where the user gives it, and the rules it obeys.
//!
//! Precedence: `--message`, then `--message-file`, then the environment variables
//! `HELLO_MESSAGE` and `HELLO_MESSAGE_FILE` (what cargo make and the Dockerfiles pass),
//! then the default in crates/hello/message.default. A variable that is set but empty
//! is an empty message, and refused, not a silent fallback to the default.

use std::{ffi::OsString, fs, os::unix::ffi::OsStringExt, path::PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::program::Program;

/// The default message, the same file the `hello` crate's build script falls back to.
pub const DEFAULT: &[u8] = include_bytes!("../../crates/hello/message.default");

/// The longest message: PIPE_BUF, so one write(2) to a pipe is atomic.
pub const MAX_LEN: usize = 4096;

#[derive(Debug, Default, Clone, clap::Args)]
pub struct MessageArgs {
    /// The bytes to print, exactly (no newline is added) [env: HELLO_MESSAGE]
    #[arg(long, value_name = "TEXT", conflicts_with = "message_file")]
    pub message: Option<OsString>,
    /// Print the bytes of this file, exactly: the way to include a NUL byte [env: HELLO_MESSAGE_FILE]
    #[arg(long, value_name = "PATH")]
    pub message_file: Option<PathBuf>,
}

impl MessageArgs {
    /// The message bytes, checked: 1 to 4096 bytes; the default when none was given.
    pub fn resolve(&self) -> Result<Vec<u8>> {
        Ok(self.given()?.unwrap_or_else(|| DEFAULT.to_vec()))
    }

    /// `resolve` for `program`: one that prints no message refuses one given by flag
    /// (a message in the environment is cargo make's or a Dockerfile's, meant for hello).
    pub fn resolve_for(&self, program: &Program) -> Result<Vec<u8>> {
        Ok(self.given_for(program)?.unwrap_or_else(|| DEFAULT.to_vec()))
    }

    /// `given` for `program`; None for a program that prints no message.
    pub fn given_for(&self, program: &Program) -> Result<Option<Vec<u8>>> {
        if program.takes_message() {
            return self.given();
        }
        if self.message.is_some() || self.message_file.is_some() {
            bail!("{} prints no message: --message and --message-file are for hello", program.name);
        }
        Ok(None)
    }

    /// The message the user gave by flag or environment, checked; None if none.
    pub fn given(&self) -> Result<Option<Vec<u8>>> {
        let (bytes, from) = if let Some(text) = &self.message {
            (text.clone().into_vec(), "--message".to_string())
        } else if let Some(path) = &self.message_file {
            (read(path)?, format!("--message-file {}", path.display()))
        } else if let Some(text) = std::env::var_os("HELLO_MESSAGE") {
            (text.into_vec(), "HELLO_MESSAGE".to_string())
        } else if let Some(path) = std::env::var_os("HELLO_MESSAGE_FILE") {
            let path = PathBuf::from(path);
            (read(&path)?, format!("HELLO_MESSAGE_FILE={}", path.display()))
        } else {
            return Ok(None);
        };
        check(&bytes).with_context(|| format!("message from {from}"))?;
        Ok(Some(bytes))
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read the message file {}", path.display()))
}

/// Refuse what the binary cannot print in one write.
pub fn check(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        bail!("the message is empty: give 1 to {MAX_LEN} bytes");
    }
    if bytes.len() > MAX_LEN {
        bail!("the message is {} bytes: at most {MAX_LEN} fit in one atomic write", bytes.len());
    }
    Ok(())
}

/// Write the message where the `hello` crate's build script reads it, under a name
/// made of its hash: builds of different messages never share a file.
pub fn stage(bytes: &[u8]) -> Result<PathBuf> {
    let dir = crate::paths::out_root().join("messages");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{:x}", Sha256::digest(bytes)));
    if fs::read(&path).ok().as_deref() != Some(bytes) {
        crate::fsutil::write_atomic(&path, bytes, 0o644)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(check(b"").unwrap_err().to_string().contains("empty"));
        assert!(check(&[0]).is_ok());
        assert!(check(&[b'a'; MAX_LEN]).is_ok());
        assert!(check(&[b'a'; MAX_LEN + 1]).unwrap_err().to_string().contains("4097 bytes"));
        assert_eq!(DEFAULT, b"Hello Docker World!\n");
    }
}
