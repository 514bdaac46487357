// httpd's features, each of which a build can leave out (HTTPD_WITHOUT, see build.rs)
// so that `cargo xtask report` can measure the bytes it costs. The default build has
// them all. Shared by build.rs and xtask/src/report.rs (`include!`): one table.
//
// Each row: the name HTTPD_WITHOUT takes, what the feature does, and the features it
// needs (leaving one of those out leaves this one out too).

/// (name, what it does, the features it needs)
pub const FEATURES: &[(&str, &str, &[&str])] = &[
    ("read", "reads the request's head before answering (no reset instead of the answer)", &[]),
    ("head", "HEAD gets the headers alone", &["read"]),
    ("methods", "a method other than GET and HEAD gets 405 with Allow", &["read"]),
    ("limit", "headers that do not end within 8 KiB get 431", &["read"]),
    ("drain", "after the answer: shutdown, then read until the client closes", &[]),
    ("fork", "a process per connection: a slow client delays nobody", &[]),
    ("timeout", "a connection lives at most 10 s (alarm)", &["fork"]),
    ("reap", "SIGCHLD ignored: the kernel reaps the children, no zombies", &["fork"]),
    ("sigpipe", "SIGPIPE ignored: a client that left never kills the server", &[]),
    ("stop", "SIGTERM and SIGINT exit 0, also as PID 1", &[]),
    ("ipv6", "one dual-stack socket, IPv6 and IPv4 (IPV6_V6ONLY cleared)", &[]),
    ("fallback", "plain IPv4 when the kernel has no IPv6", &["ipv6"]),
    ("reuseaddr", "SO_REUSEADDR: restarts at once despite TIME_WAIT", &[]),
    ("port-check", "exits 1 when the port cannot be had", &[]),
];
