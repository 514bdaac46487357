//! AArch64, decoded by yaxpeax-arm: every instruction is one 32-bit word. A
//! PC-relative operand (b, b.cond, cbz, tbz, adr, adrp, ldr literal) is
//! `Operand::PCOffset`; the branches through a register (br, blr, ret, eret and their
//! authenticated forms) are one encoding class, told by its bits here (ARM ARM C4.1.65:
//! "Unconditional branch (register)", op0 = 1101011).

use yaxpeax_arch::{Decoder, U8Reader};
use yaxpeax_arm::armv8::a64::{InstDecoder, Opcode, Operand};

use super::{FreeFlags, Insn, Kind, decode_words};

/// Linux's arm64 elf_check_arch and qemu-user read no bit of e_flags; shared/packing's
/// aarch64 layout keeps `svc #0` there, booted on the arm64 kernel.
pub const FREE_E_FLAGS: FreeFlags = FreeFlags { bits: !0, why: "e_flags: no arm64 loader reads them" };

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let decoder = InstDecoder::default();
    decode_words("AArch64", code, address, |word, at| {
        let insn = decoder
            .decode(&mut U8Reader::new(&word.to_le_bytes()))
            .map_err(|e| format!("no AArch64 instruction decodes at {at:#x}: {e:?}"))?;
        let text = insn.to_string();
        if word >> 25 == 0b110_1011 {
            return Err(format!("AArch64 `{text}` at {at:#x}: a branch through a register, which cannot be traced"));
        }
        let pc_offset = insn.operands.iter().find_map(|o| match o {
            Operand::PCOffset(offset) => Some(*offset),
            _ => None,
        });
        let kind = match (insn.opcode, pc_offset) {
            (Opcode::BL, _) => {
                return Err(format!("AArch64 `{text}` at {at:#x}: a call, whose return cannot be traced"));
            }
            (Opcode::B, Some(offset)) => Kind::Branch { target: at.wrapping_add(offset as u64), unconditional: true },
            (Opcode::Bcc(_) | Opcode::CBZ | Opcode::CBNZ | Opcode::TBZ | Opcode::TBNZ, Some(offset)) => {
                Kind::Branch { target: at.wrapping_add(offset as u64), unconditional: false }
            }
            // adrp names a 4 KiB page, which the instruction after it narrows.
            (Opcode::ADRP, Some(_)) => Kind::PcRelative { refers: None },
            (_, Some(offset)) => Kind::PcRelative { refers: Some(at.wrapping_add(offset as u64)) },
            (Opcode::UDF, None) => Kind::Trap,
            (_, None) => Kind::Plain,
        };
        Ok((kind, text))
    })
}

/// b, b.cond, cbz/cbnz, tbz/tbnz, ldr (literal) and adr rewritten for the instruction
/// at `to` to reach `dest` (ARM ARM C4.1: each form's offset field).
pub fn retarget(bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    let w = u32::from_le_bytes(bytes.try_into().ok()?);
    let field = |shift: u32, bits: u32, value: i64| {
        let mask = ((1u32 << bits) - 1) << shift;
        (w & !mask) | ((value as u32) << shift & mask)
    };
    let out = if w >> 26 == 0b000101 {
        field(0, 26, super::offset(to, dest, 4, 26)?)
    } else if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 || w & 0x3b00_0000 == 0x1800_0000 {
        field(5, 19, super::offset(to, dest, 4, 19)?)
    } else if w & 0x7e00_0000 == 0x3600_0000 {
        field(5, 14, super::offset(to, dest, 4, 14)?)
    } else if w & 0x9f00_0000 == 0x1000_0000 {
        let o = super::offset(to, dest, 1, 21)?;
        let w = field(29, 2, o & 3);
        (w & !(0x7ffff << 5)) | ((o >> 2) as u32 & 0x7ffff) << 5
    } else {
        return None;
    };
    Some(out.to_le_bytes().to_vec())
}

/// `b`: a 26-bit word offset, 128 MiB either way.
pub fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let words = super::offset(from, to, 4, 26)? as u32;
    Some((0x1400_0000 | (words & 0x03ff_ffff)).to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    #[test]
    fn aarch64_branches_and_pc_relative_words() {
        // adr x1,#0x14; mov w8,#64; svc #0; cbnz x0,-8; b -16; ldr x2,#-4 (literal)
        let words: [u32; 6] = [0x1000_00a1, 0x5280_0808, 0xd400_0001, 0xb5ff_ffc0, 0x17ff_fffc, 0x58ff_ffe2];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let kinds: Vec<_> = Isa::Aarch64.decode(&code, 0x1000).unwrap().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::PcRelative { refers: Some(0x1014) },
                Kind::Plain,
                Kind::Plain,
                Kind::Branch { target: 0x1004, unconditional: false },
                Kind::Branch { target: 0x1000, unconditional: true },
                Kind::PcRelative { refers: Some(0x1010) },
            ]
        );
        // ret, br x0, bl.
        for word in [0xd65f_03c0u32, 0xd61f_0000, 0x9400_0000] {
            assert!(Isa::Aarch64.decode(&word.to_le_bytes(), 0x1000).is_err(), "{word:08x}");
        }
    }
}
