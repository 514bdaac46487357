//! Writes the whole response, headers and body, into OUT_DIR/response (picked up by
//! `include_bytes!`), and OUT_DIR/config.rs with the header part's length and the port.
//!
//! | variable             | what                                  | default                      |
//! |----------------------|---------------------------------------|------------------------------|
//! | `HTTPD_BODY_FILE`    | a file whose bytes are the body, 0 to 65536 | `body.default` (this crate) |
//! | `HTTPD_CONTENT_TYPE` | the Content-Type header's value       | `text/plain; charset=utf-8`  |
//! | `HTTPD_STATUS`       | the status code and reason phrase     | `200 OK`                     |
//! | `HTTPD_PORT`         | the TCP port it listens on            | `8080`                       |
//! | `HTTPD_WITHOUT`      | features to leave out, by comma (features.rs): to measure what each costs | none |
//!
//! A relative HTTPD_BODY_FILE is taken from this crate's folder (cargo runs build
//! scripts there); the xtask passes absolute paths. Anything a header cannot carry
//! (CR, LF, other control bytes) or a port outside 1..=65535 fails the build.

use std::{env, fs, path::PathBuf};

include!("features.rs");

const MAX_BODY: usize = 65536;

/// The features this build has: all but those in HTTPD_WITHOUT and those that need one
/// of them. An unknown name fails the build.
fn features() -> Vec<&'static str> {
    let without = var("HTTPD_WITHOUT", "");
    let mut off: Vec<&str> = Vec::new();
    for name in without.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let known = FEATURES.iter().find(|(f, ..)| *f == name);
        let names: Vec<&str> = FEATURES.iter().map(|(f, ..)| *f).collect();
        let (name, ..) = known.unwrap_or_else(|| panic!("HTTPD_WITHOUT: no feature {name:?}; there are {names:?}"));
        off.push(name);
    }
    // The table lists a feature after those it needs: one pass settles it.
    FEATURES
        .iter()
        .filter(|(name, _, needs)| {
            let keep = !off.contains(name) && !needs.iter().any(|n| off.contains(n));
            if !keep {
                off.push(name);
            }
            keep
        })
        .map(|(name, ..)| *name)
        .collect()
}

fn var(name: &str, default: &str) -> String {
    println!("cargo::rerun-if-env-changed={name}");
    match env::var(name) {
        Ok(value) => value,
        Err(env::VarError::NotPresent) => default.to_string(),
        Err(env::VarError::NotUnicode(_)) => panic!("{name} is not valid UTF-8"),
    }
}

/// A header value: visible ASCII and spaces only, so that it can never end the header
/// line early or smuggle another header in.
fn check_header_value(name: &str, value: &str) {
    let ok = !value.is_empty() && value.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    assert!(ok, "{name} must be printable ASCII without CR or LF, and not empty: {value:?}");
}

/// `200 OK`: three digits, a space, a reason. No 1xx, 204 or 304: those responses
/// carry no body and no Content-Length of one, which this server always sends.
fn check_status(status: &str) {
    check_header_value("HTTPD_STATUS", status);
    let code: Option<u16> = status.get(..3).and_then(|c| c.parse().ok());
    let ok = matches!(code, Some(200..=599)) && status.as_bytes().get(3) == Some(&b' ') && status.len() > 4;
    assert!(ok, "HTTPD_STATUS must be a code from 200 to 599, a space and a reason phrase: {status:?}");
    assert!(!matches!(code, Some(204 | 304)), "HTTPD_STATUS {status:?}: 204 and 304 responses have no body");
}

fn main() {
    println!("cargo::rerun-if-env-changed=HTTPD_BODY_FILE");
    let body_file = env::var_os("HTTPD_BODY_FILE").map_or_else(|| PathBuf::from("body.default"), PathBuf::from);
    println!("cargo::rerun-if-changed={}", body_file.display());
    let body =
        fs::read(&body_file).unwrap_or_else(|e| panic!("cannot read the body from {}: {e}", body_file.display()));
    assert!(
        body.len() <= MAX_BODY,
        "the body in {} is {} bytes; it may be at most {MAX_BODY}",
        body_file.display(),
        body.len()
    );
    let content_type = var("HTTPD_CONTENT_TYPE", "text/plain; charset=utf-8");
    check_header_value("HTTPD_CONTENT_TYPE", &content_type);
    let status = var("HTTPD_STATUS", "200 OK");
    check_status(&status);
    let port = var("HTTPD_PORT", "8080");
    let port: u16 = match port.parse() {
        Ok(p) if p > 0 => p,
        _ => panic!("HTTPD_PORT must be a port number from 1 to 65535: {port:?}"),
    };

    println!("cargo::rerun-if-changed=features.rs");
    let enabled = features();

    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut response = head.clone().into_bytes();
    response.extend_from_slice(&body);
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("response"), &response).expect("cannot write OUT_DIR/response");
    let config = format!(
        "/// The length of the response's header part, up to and with the empty line: what HEAD gets.\n\
         const HEAD_LEN: usize = {};\n\
         /// The TCP port to listen on.\n\
         const PORT: u16 = {port};\n\
         /// Which features this build has (features.rs; HTTPD_WITHOUT leaves some out).\n\
         mod feature {{\n{}}}\n",
        head.len(),
        FEATURES
            .iter()
            .map(|(name, ..)| format!(
                "    pub const {}: bool = {};\n",
                name.to_uppercase().replace('-', "_"),
                enabled.contains(name)
            ))
            .collect::<String>()
    );
    fs::write(out.join("config.rs"), config).expect("cannot write OUT_DIR/config.rs");
}
