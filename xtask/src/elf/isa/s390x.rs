//! s390x (z/Architecture), by hand: the first two bits of an instruction give its
//! length, and a short table of the instructions our compiler emits says what each
//! does (z/Architecture Principles of Operation). Any other refuses the move.

use super::{FreeFlags, Insn, Kind, hex};

/// Linux and qemu-user read no flags of EM_S390 files (ELF-NOTES.md).
pub const FREE_E_FLAGS: FreeFlags = FreeFlags { bits: !0, why: "e_flags: no s390x loader reads them" };

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let b = &code[at..];
        // The first two bits give the length: 2, 4, 4 or 6 bytes.
        let len = [2, 4, 4, 6][(b[0] >> 6) as usize];
        let insn = b
            .get(..len)
            .ok_or_else(|| format!("an s390x instruction at {:#x} runs past the end", address + at as u64))?;
        let here = address + at as u64;
        let i16_at = |i: usize| i16::from_be_bytes([insn[i], insn[i + 1]]) as i64;
        let i32_at = |i: usize| i32::from_be_bytes([insn[i], insn[i + 1], insn[i + 2], insn[i + 3]]) as i64;
        let relative = |halfwords: i64| here.wrapping_add((halfwords * 2) as u64);
        let (op, low) = (insn[0], insn[1] & 0x0f);
        let last = insn[len - 1];
        let branch = |offset: i64, unconditional: bool| Kind::Branch { target: relative(offset), unconditional };
        let (kind, name) = match (op, low, len) {
            (0x0a, _, 2) => (Kind::Plain, "svc"),
            (0x14 | 0x16 | 0x17 | 0x18 | 0x19 | 0x1a | 0x1b, _, 2) => (Kind::Plain, "rr"),
            // BCR with no register to branch to is a no-op (serialization).
            (0x07, _, 2) if insn[1] & 0x0f == 0 => (Kind::Plain, "bcr 0"),
            (0xa7, 0x8..=0xf, 4) => (Kind::Plain, "ri"),
            (0xa7, 0x4, 4) => (branch(i16_at(2), insn[1] >> 4 == 0xf), "brc"),
            (0xa7, 0x6 | 0x7, 4) => (branch(i16_at(2), false), "brct"),
            (0xb2, _, 4) if insn[1] == 0x22 => (Kind::Plain, "ipm"),
            (0xb9, _, 4) if matches!(insn[1], 0x04 | 0x08 | 0x09 | 0x14 | 0x16 | 0x20 | 0x80 | 0x81 | 0x82 | 0xe2) => {
                (Kind::Plain, "rre")
            }
            (0xc0, 0x1 | 0xf, 6) | (0xc2, 0x8 | 0x9 | 0xc | 0xd, 6) => (Kind::Plain, "ril"),
            (0xc0, 0x0, 6) => (Kind::PcRelative { refers: Some(relative(i32_at(2))) }, "larl"),
            (0xc0, 0x4, 6) => (branch(i32_at(2), insn[1] >> 4 == 0xf), "brcl"),
            // Compare and branch relative (cij, cgij, clij, clgij, crj, cgrj, clrj,
            // clgrj): a 16-bit halfword offset at byte 2, conditional on the compare.
            (0xec, _, 6) if matches!(last, 0x7c..=0x7f | 0x64 | 0x65 | 0x76 | 0x77) => {
                (branch(i16_at(2), false), "compare and branch")
            }
            // Loads from a base register and displacement (ltg, lg, lay, llgc, llc).
            (0xe3, _, 6) if matches!(last, 0x02 | 0x04 | 0x71 | 0x90 | 0x94) => (Kind::Plain, "rxy"),
            (0x95, _, 4) => (Kind::Plain, "cli"),
            // Immediate insert, and, or, load logical on a register's halfwords.
            (0xa5, _, 4) => (Kind::Plain, "ri"),
            (0xec, _, 6) if matches!(last, 0x51 | 0x54..=0x57 | 0x59 | 0x5d | 0x42 | 0x46) => (Kind::Plain, "rie"),
            (0xeb, _, 6) if matches!(last, 0x0a | 0x0c | 0x0d) => (Kind::Plain, "shift"),
            _ => {
                return Err(format!(
                    "s390x instruction {} at {here:#x}: not one the shrinker knows to trace",
                    hex(insn)
                ));
            }
        };
        let text = format!("{name} {}", hex(insn));
        out.push(Insn { address: here, len, kind, text });
        at += len;
    }
    Ok(out)
}

/// brc, brct (16-bit halfword offset at byte 2) and brcl, larl (32-bit) rewritten for
/// the instruction at `to` to reach `dest`.
pub fn retarget(bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    match bytes.len() {
        // Compare and branch: its 16-bit offset at byte 2 (bytes 4 and 5 stay).
        6 if bytes[0] == 0xec => out[2..4].copy_from_slice(&(super::offset(to, dest, 2, 16)? as i16).to_be_bytes()),
        4 => out[2..4].copy_from_slice(&(super::offset(to, dest, 2, 16)? as i16).to_be_bytes()),
        6 => out[2..6].copy_from_slice(&(super::offset(to, dest, 2, 32)? as i32).to_be_bytes()),
        _ => return None,
    }
    Some(out)
}

/// BRC 15 (`j`), or BRCL 15 (`jg`): offsets in halfwords from the jump.
pub fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    if let Some(h) = super::offset(from, to, 2, 16) {
        Some([&[0xa7, 0xf4][..], &(h as i16).to_be_bytes()].concat())
    } else {
        super::offset(from, to, 2, 32).map(|h| [&[0xc0, 0xf4][..], &(h as i32).to_be_bytes()].concat())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Isa;

    #[test]
    fn s390x_lengths_branches_and_the_unknown() {
        // lghi r2,1; larl r3,msg; svc 4; cghi r2,20; j -4; risbgz; svc 1
        let code = [
            0xa7, 0x29, 0, 1, 0xc0, 0x30, 0xff, 0xff, 0xff, 0xf4, 0x0a, 0x04, 0xa7, 0x2f, 0, 20, 0xa7, 0xf4, 0xff,
            0xfe, 0xec, 0x20, 0x3f, 0xbf, 0x21, 0x55, 0x0a, 0x01,
        ];
        let insns = Isa::S390x.decode(&code, 0x1000).unwrap();
        let got: Vec<_> = insns.iter().map(|i| (i.address, i.movable(), i.target(), i.jump())).collect();
        assert_eq!(
            got,
            [
                (0x1000, true, None, false),
                (0x1004, false, None, false), // larl: relative to itself
                (0x100a, true, None, false),
                (0x100c, true, None, false),
                (0x1010, false, Some(0x100c), true),
                (0x1014, true, None, false),
                (0x101a, true, None, false),
            ]
        );
        // cgije r2,1,+0x16 (compare and branch: its offset at byte 2), re-encoded.
        let cgij = [0xec, 0x28, 0, 0x0b, 0x01, 0x7c];
        let insn = &Isa::S390x.decode(&cgij, 0x100d8).unwrap()[0];
        assert_eq!((insn.target(), insn.jump()), (Some(0x100ee), false));
        let moved = Isa::S390x.relocate(insn, &cgij, 0x10028, Some(0x100ee)).unwrap();
        assert_eq!(moved, [0xec, 0x28, 0, 0x63, 0x01, 0x7c]);
        // basr r14,r1 (a call through a register), and a cut-off instruction.
        assert!(Isa::S390x.decode(&[0x0d, 0xe1], 0x1000).unwrap_err().contains("not one the shrinker knows"));
        assert!(Isa::S390x.decode(&[0xa7, 0x29, 0], 0x1000).unwrap_err().contains("runs past the end"));
        // Jumps: `j` within 64 KiB, `jg` beyond, nothing to an odd address.
        assert_eq!(Isa::S390x.jump(0x10084, 0x10028), Some(vec![0xa7, 0xf4, 0xff, 0xd2]));
        assert_eq!(Isa::S390x.jump(0x10000, 0x30000), Some(vec![0xc0, 0xf4, 0, 1, 0, 0]));
        assert_eq!(Isa::S390x.jump(0x10000, 0x10007), None);
    }
}
