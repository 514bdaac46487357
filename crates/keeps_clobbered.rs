// Included (`include!`) by the syscall crates whose asm destroys a register it cannot
// declare (sys-arm: r7, sys-mips64el: $1), and by the xtask's tests: one parser for
// what `cargo xtask build` writes to HELLO_KEEP_UNDECLARED_CLOBBER (`Keep` in
// xtask/src/build.rs).

/// Whether `list`, HELLO_KEEP_UNDECLARED_CLOBBER's value, keeps the register across
/// the syscall numbered `n`: `all`, or the numbers, comma-separated; unset: none.
#[allow(dead_code)] // each includer uses it once
const fn keeps_clobbered(list: Option<&str>, n: usize) -> bool {
    let Some(list) = list else { return false };
    let list = list.as_bytes();
    if let [b'a', b'l', b'l'] = list {
        return true;
    }
    let (mut i, mut number) = (0, 0);
    while i <= list.len() {
        if i == list.len() || list[i] == b',' {
            if number == n {
                return true;
            }
            number = 0;
        } else {
            assert!(list[i].is_ascii_digit(), "HELLO_KEEP_UNDECLARED_CLOBBER: `all` or numbers, comma-separated");
            number = number * 10 + (list[i] - b'0') as usize;
        }
        i += 1;
    }
    false
}
