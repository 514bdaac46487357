//! The initramfs the kernel unpacks as its root: a cpio archive.

/// An initramfs: a "newc" cpio archive of executable files at the root.
pub fn newc_cpio(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut entry = |ino: u32, mode: u32, name: &str, data: &[u8]| {
        let fields = [ino, mode, 0, 0, 1, 0, data.len() as u32, 0, 0, 0, 0, name.len() as u32 + 1, 0];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(out.len().next_multiple_of(4), 0);
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    };
    for (i, (name, data)) in files.iter().enumerate() {
        entry(i as u32 + 1, 0o100755, name, data);
    }
    entry(0, 0, "TRAILER!!!", &[]);
    out
}
