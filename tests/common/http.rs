//! What the httpd tests share (tests/httpd.rs under qemu-user, tests/httpd_docker.rs
//! under Docker): the answers of the default build, curl, raw clients, and the hostile
//! clients that must neither end the server nor hold up anyone else.

use std::{
    fs,
    io::{Read, Write},
    net::{Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream},
    os::fd::AsRawFd,
    process::{Command, Output, Stdio},
    thread::sleep,
    time::{Duration, Instant},
};

/// Any single answer, even from qemu-user with ten other arches busy.
pub const ANSWER_BOUND: Duration = Duration::from_secs(10);

/// The default body (crates/httpd/body.default).
pub fn body() -> Vec<u8> {
    fs::read(xtask::paths::project_root().join("crates/httpd/body.default")).unwrap()
}

/// What the server answers a GET with, as built by default (crates/httpd/build.rs).
pub fn expected_get() -> Vec<u8> {
    let body = body();
    let mut response = expected_head(body.len()).into_bytes();
    response.extend_from_slice(&body);
    response
}

pub fn expected_head(body_len: usize) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body_len}\r\n\
         Connection: close\r\n\r\n"
    )
}

pub const NOT_ALLOWED: &[u8] =
    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
pub const TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// A TCP port nobody listens on now, on IPv6 and IPv4 (a dual-stack probe).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).unwrap().local_addr().unwrap().port()
}

/// `127.0.0.1:<port>`.
pub fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

pub fn curl(args: &[&str]) -> Output {
    let max_time = ANSWER_BOUND.as_secs().to_string();
    Command::new("curl")
        .args(["--silent", "--show-error", "--http1.1", "--max-time", &max_time])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("curl runs (apt-get install curl)")
}

/// `curl` that must succeed (exit 0: no reset, no timeout); its stdout.
pub fn curl_ok(name: &str, args: &[&str]) -> Vec<u8> {
    let out = curl(args);
    assert!(out.status.success(), "{name}: curl {args:?}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    out.stdout
}

pub fn connect(at: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(at).unwrap_or_else(|e| panic!("connect to {at}: {e}"));
    stream.set_read_timeout(Some(ANSWER_BOUND)).unwrap();
    stream
}

/// Send `request` on a new connection and read the answer until the server closes.
/// A reset (or a timeout) fails: the whole point is that clients never see one.
pub fn exchange(name: &str, at: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(at);
    stream.write_all(request).unwrap_or_else(|e| panic!("{name}: writing the request: {e}"));
    read_answer(name, stream)
}

/// Read until the server closes; a reset or a timeout fails.
pub fn read_answer(name: &str, mut stream: TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap_or_else(|e| panic!("{name}: reading the answer: {e} after {answer:?}"));
    answer
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Close with SO_LINGER 0: the kernel sends a reset instead of a FIN.
pub fn reset(stream: TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid socket and a linger struct of the size given.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &linger as *const libc::linger as *const libc::c_void,
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt(SO_LINGER)");
    drop(stream);
}

// The hostile clients. Each checks what the server owes it (an exact answer, or
// nothing and no reset); the caller then checks that a normal request still succeeds.

/// Headers that do not end within 8 KiB (16 KiB of them): 431, and no reset though
/// most of the request is never read.
pub fn oversized_headers(name: &str, at: SocketAddr) {
    let mut huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    huge.resize(huge.len() + 16 * 1024, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(text(&exchange(name, at, &huge)), text(TOO_LARGE), "{name}: 16 KiB of headers");
}

/// Clients that reset their connection (SO_LINGER 0) mid-request, and one that
/// resets before sending anything.
pub fn resets(at: SocketAddr) {
    for _ in 0..3 {
        let mut stream = connect(at);
        stream.write_all(b"GET / HT").unwrap();
        reset(stream);
    }
    reset(connect(at));
}

/// Bytes from a fixed xorshift: the same garbage every run, without LF (so that no
/// accidental empty line ends it) and never starting like a GET or HEAD.
pub fn garbage_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match state as u8 {
                b'\n' => 0,
                b => b,
            }
        })
        .collect();
    bytes[0] = 0xff;
    bytes
}

/// Binary garbage: ended by an empty line it is a request with an unknown method
/// (405); 16 KiB of it is headers too large (431); a little of it followed by the
/// client's FIN gets nothing at all, and no reset.
pub fn garbage(name: &str, at: SocketAddr) {
    let mut ended = garbage_bytes(2048);
    ended.extend_from_slice(b"\r\n\r\n");
    assert_eq!(text(&exchange(name, at, &ended)), text(NOT_ALLOWED), "{name}: garbage and an empty line");
    assert_eq!(text(&exchange(name, at, &garbage_bytes(16 * 1024))), text(TOO_LARGE), "{name}: 16 KiB of garbage");
    let mut stream = connect(at);
    stream.write_all(&garbage_bytes(512)).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_answer(name, stream), b"", "{name}: garbage then FIN gets no answer");
}

/// A client that sends its request one byte a second for `seconds`, then the rest at
/// once: started here, judged by `SlowClient::finish` (the full answer, in time).
pub struct SlowClient {
    thread: std::thread::JoinHandle<std::io::Result<Vec<u8>>>,
}

impl SlowClient {
    pub fn start(at: SocketAddr, seconds: usize) -> SlowClient {
        let thread = std::thread::spawn(move || {
            let request = b"GET /slow HTTP/1.1\r\nHost: slow\r\n\r\n";
            let mut stream = TcpStream::connect(at)?;
            stream.set_read_timeout(Some(ANSWER_BOUND))?;
            for byte in &request[..seconds] {
                stream.write_all(&[*byte])?;
                sleep(Duration::from_secs(1));
            }
            stream.write_all(&request[seconds..])?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer)?;
            Ok(answer)
        });
        SlowClient { thread }
    }

    pub fn finish(self, name: &str) {
        let answer = self.thread.join().unwrap().unwrap_or_else(|e| panic!("{name}: the slow client: {e}"));
        assert_eq!(text(&answer), text(&expected_get()), "{name}: a request sent a byte a second");
    }
}

/// `n` connections that send nothing, all accepted by the kernel before this returns.
pub fn idle_connections(name: &str, at: SocketAddr, n: usize) -> Vec<TcpStream> {
    let started = Instant::now();
    let idle: Vec<TcpStream> = (0..n)
        .map(|i| TcpStream::connect(at).unwrap_or_else(|e| panic!("{name}: idle connection {i} of {n}: {e}")))
        .collect();
    assert!(started.elapsed() < ANSWER_BOUND, "{name}: {n} connections took {:?}", started.elapsed());
    idle
}
