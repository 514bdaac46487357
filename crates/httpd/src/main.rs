//! httpd: the smallest web server that holds up. Every GET gets one response fixed at
//! build time (status, Content-Type, body: see build.rs); HEAD gets its headers alone.
//!
//! - One dual-stack socket: IPv6 and IPv4 (as ::ffff:a.b.c.d) on one port; plain IPv4
//!   when the kernel has no IPv6.
//! - A process per connection (fork): a slow or stalled client holds up only its own
//!   process, never the next client. Each such process is ended by SIGALRM after
//!   `TIMEOUT_SECONDS`, whatever its client does; the kernel reaps it (SIGCHLD ignored).
//! - The request is read up to the end of its headers before the answer goes out, and
//!   after the answer the connection is shut down for writing and read until the client
//!   closes: closing with unread bytes would make the kernel send a reset, which can
//!   reach the client before it has read its answer.
//! - Headers that do not end within `MAX_HEAD` bytes get 431; a method other than GET
//!   or HEAD gets 405 with `Allow`.
//! - SIGTERM or SIGINT: exit 0 at once. As PID 1 of a container the kernel drops
//!   signals whose action is the default, so these two get a handler (which exits).
//! - A client's misbehaviour never ends the server: SIGPIPE is ignored, and a failed
//!   accept or fork just drops that connection.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;

use sys::{AF_INET, AF_INET6, IPPROTO_IPV6, IPV6_V6ONLY, SHUT_WR, SIGCHLD, SIGINT, SIGPIPE, SIGTERM};

/// The whole answer to a GET: headers, then the body (see build.rs).
static RESPONSE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/response"));
// HEAD_LEN (the length of RESPONSE's headers, up to and with the empty line), PORT,
// and `feature::*`: which of the features in features.rs this build has. The default
// build has them all; `cargo xtask report` builds it without each in turn to measure
// what each costs (`if feature::X` on a constant: the code of a feature left out is
// never generated).
include!(concat!(env!("OUT_DIR"), "/config.rs"));

static NOT_ALLOWED: &[u8] = if feature::HEAD {
    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
} else {
    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
};
static TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The most bytes of request line and headers we read before answering 431.
const MAX_HEAD: usize = 8192;
/// How long one connection may take, from accept to close, before SIGALRM ends its
/// process: bounds a client that sends nothing, or too slowly, or never reads.
const TIMEOUT_SECONDS: usize = 10;
/// Pending connections the kernel may queue for us; it caps this at somaxconn.
const BACKLOG: u32 = 4096;
/// The read buffer: the whole head fits, so each read lands after the last and the
/// method stays at the start. (8 KiB of stack: two pages, probed on the way down where
/// the target asks; still less code than keeping the method aside between reads.)
const BUFFER: usize = MAX_HEAD;
/// The bytes at the start of the request that decide the answer (the method).
const KEEP: usize = 8;

/// SIGTERM and SIGINT: exit 0 (it never returns: see `sys::SigAction::handler`).
extern "C" fn stop(_signal: i32) -> ! {
    sys::exit(0)
}

#[inline(always)] // into the entry: LLVM never inlines a `-> !` function by itself
fn main() -> ! {
    // Handlers first: a stop request that comes while we set up still counts.
    let mut action = sys::SigAction::handler(stop);
    if feature::STOP {
        action.install(SIGTERM);
        action.install(SIGINT);
    }
    // SIGPIPE: a client that left makes write fail, not kill. SIGCHLD: no zombies.
    action.ignore();
    if feature::SIGPIPE {
        action.install(SIGPIPE);
    }
    if feature::REAP {
        action.install(SIGCHLD);
    }
    let listener = listen();
    loop {
        let connection = sys::accept(listener);
        // An error (EMFILE, ECONNABORTED, ENOMEM...) concerns one connection: go on.
        // (`<= 0`: on PowerPC and MIPS an error reads 0; fd 0 is our stdin.)
        if connection <= 0 {
            continue;
        }
        let connection = connection as usize;
        if !feature::FORK {
            // (Only to measure what fork costs: one client at a time.)
            serve(connection);
        } else if sys::fork() == 0 {
            // Only the parent accepts: a child holding the listener would keep the port
            // bound after the parent exits, until the child ends.
            sys::close(listener);
            serve(connection);
            sys::exit(0)
        }
        // The child has its own copy of the descriptor (or fork failed: the client
        // sees its connection closed unanswered, and we carry on).
        sys::close(connection);
    }
}

/// The listening socket: dual-stack IPv6 if the kernel has IPv6, else IPv4. Exits 1
/// when the port cannot be had: a server on no port, or on another, helps nobody.
#[inline(always)]
fn listen() -> usize {
    let mut family = if feature::IPV6 { AF_INET6 } else { AF_INET };
    let mut fd = sys::socket(family, sys::SOCK_STREAM);
    // `<= 0`: on PowerPC and MIPS an error reads 0 (and fd 0 is our stdin).
    if feature::FALLBACK && fd <= 0 {
        family = AF_INET;
        fd = sys::socket(family, sys::SOCK_STREAM);
    }
    let fd = fd as usize;
    // Restart at once, though the last run's connections linger in TIME_WAIT.
    if feature::REUSEADDR {
        sys::setsockopt_int(fd, sys::SOL_SOCKET, sys::SO_REUSEADDR, 1);
    }
    // Dual-stack whatever net.ipv6.bindv6only says (on an IPv4 socket this fails,
    // harmlessly: cheaper than a branch).
    if feature::IPV6 {
        sys::setsockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    }
    // A failed socket() makes these fail too (EBADF), so one check covers it all.
    if (sys::bind_any(fd, family, PORT) != 0 || sys::listen(fd, BACKLOG) != 0) && feature::PORT_CHECK {
        sys::exit(1);
    }
    fd
}

/// What reading the request's head came to.
enum Head {
    /// The empty line that ends the headers arrived.
    Complete,
    /// `MAX_HEAD` bytes and no end of the headers.
    TooLarge,
    /// The client closed the connection (or it failed) first: nobody to answer.
    Gone,
}

/// The child: answer one connection (the caller exits).
#[inline(always)]
fn serve(connection: usize) {
    if feature::TIMEOUT {
        sys::alarm(TIMEOUT_SECONDS);
    }
    let mut buffer = [MaybeUninit::<u8>::uninit(); BUFFER];
    // Zeros where the method goes, so that a request shorter than "HEAD " compares
    // against them, not against uninitialized bytes. One store.
    // SAFETY: the buffer holds more than KEEP bytes; MaybeUninit<u8> is a byte.
    if feature::READ {
        unsafe { buffer.as_mut_ptr().cast::<[u8; KEEP]>().write([0; KEEP]) };
    }
    let head = if feature::READ { read_head(connection, &mut buffer) } else { Head::Complete };
    let answer: &[u8] = match head {
        Head::Complete if !feature::READ => RESPONSE,
        Head::Complete => {
            // SAFETY: the first KEEP bytes are initialized (zeros, then what was read).
            let method = unsafe { buffer.as_ptr().cast::<[u8; KEEP]>().read() };
            // Whole words, not slices: comparing slices calls memcmp.
            let word = u32::from_ne_bytes([method[0], method[1], method[2], method[3]]);
            if word == u32::from_ne_bytes(*b"GET ") {
                RESPONSE
            } else if feature::HEAD && word == u32::from_ne_bytes(*b"HEAD") && method[4] == b' ' {
                &RESPONSE[..HEAD_LEN]
            } else if feature::METHODS {
                NOT_ALLOWED
            } else {
                RESPONSE
            }
        }
        Head::TooLarge => TOO_LARGE,
        // Nobody to answer: write nothing, and end the way every connection ends (one
        // exit in the code, not two).
        Head::Gone => &[],
    };
    // One write: on a blocking TCP socket it returns only when all of it is queued,
    // or on an error (the client left) or a signal (SIGALRM, which ends us anyway).
    sys::write_best_effort(connection, answer);
    // FIN after the answer, then read (and drop) whatever the client still sends until
    // it closes: closing with unread bytes would send a reset instead. SIGALRM bounds
    // this wait too.
    if feature::DRAIN {
        sys::shutdown(connection, SHUT_WR);
        while sys::read(connection, &mut buffer) > 0 {}
    }
}

/// Read until the empty line that ends the headers (CRLF CRLF, or a bare LF LF, which
/// RFC 9112 lets a server accept), at most `MAX_HEAD` bytes, into `buffer`.
#[inline(always)]
fn read_head(connection: usize, buffer: &mut [MaybeUninit<u8>; BUFFER]) -> Head {
    let mut total = 0;
    // The last four bytes seen, the latest in the low byte.
    let mut last: u32 = 0;
    while total < MAX_HEAD {
        let n = sys::read(connection, &mut buffer[total..]);
        if n <= 0 {
            return Head::Gone;
        }
        let n = n as usize;
        // SAFETY: read(2) returns at most the room left and initialized the `n` bytes.
        for byte in unsafe { buffer.get_unchecked(total..total + n) } {
            // SAFETY: as above.
            last = last << 8 | unsafe { byte.assume_init() } as u32;
            if last == u32::from_be_bytes(*b"\r\n\r\n") || last & 0xffff == u32::from_be_bytes(*b"\0\0\n\n") {
                return Head::Complete;
            }
        }
        total += n;
    }
    // (Without the limit, only to measure what it costs: as if the headers had ended.)
    if feature::LIMIT { Head::TooLarge } else { Head::Complete }
}

sys::entry!(main);
