//! LoongArch64, by hand: every instruction is one 32-bit word, and the few that
//! branch or read the PC are told by their top bits (LoongArch Reference Manual
//! vol. 1, 2.2.5 and 2.2.1): b, bl, beq..bgeu, beqz/bnez, bceqz/bcnez, jirl, pcaddi,
//! pcalau12i, pcaddu12i, pcaddu18i.

use super::{FreeFlags, Insn, Kind, decode_words, sign_extend};

/// Linux's elf_check_arch for LoongArch reads e_machine and the class, not e_flags;
/// qemu-user neither (shared/packing's loongarch64 layout keeps code there, booted).
pub const FREE_E_FLAGS: FreeFlags = FreeFlags { bits: !0, why: "e_flags: no LoongArch loader reads them" };

/// The instruction the code ends in that p_filesz = p_memsz may spell (`Isa::size_word`):
/// `syscall 0` is the word 0x002b0000, a 2.7 MiB segment (shared/packing's loongarch64
/// layout booted with it).
pub const SIZE_WORD: [u8; 4] = 0x002b_0000u32.to_le_bytes();

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    decode_words("LoongArch", code, address, |word, at| {
        let (kind, name) = classify(word, at)?;
        Ok((kind, format!("{name} {word:08x}")))
    })
}

fn classify(word: u32, at: u64) -> Result<(Kind, &'static str), String> {
    // offs16 in bits 25..10; offs21 adds bits 4..0 on top; offs26 adds bits 9..0.
    let offs16 = (word >> 10) & 0xffff;
    let offs21 = sign_extend(((word & 0x1f) << 16) | offs16, 21);
    let offs26 = sign_extend(((word & 0x3ff) << 16) | offs16, 26);
    let branch =
        |words: i64, unconditional: bool| Kind::Branch { target: at.wrapping_add((words * 4) as u64), unconditional };
    let kind = match word >> 26 {
        0x14 => (branch(offs26, true), "b"),
        0x15 => return Err(format!("LoongArch bl at {at:#x}: a call, whose return cannot be traced")),
        0x10..=0x12 => (branch(offs21, false), "beqz/bnez/bceqz/bcnez"),
        0x13 => return Err(format!("LoongArch jirl at {at:#x}: a branch through a register")),
        0x16..=0x1b => (branch(sign_extend(offs16, 16), false), "beq..bgeu"),
        // pcaddi, pcalau12i, pcaddu12i, pcaddu18i: 0001100 .. 0001111 in bits 31..25.
        // pcaddi: the PC plus si20 words; the others name a page or a high part.
        _ if (word >> 25) == 0b000_1100 => {
            (Kind::PcRelative { refers: Some(at.wrapping_add((sign_extend(word >> 5, 20) * 4) as u64)) }, "pcaddi")
        }
        _ if (word >> 27) == 0b00011 => (Kind::PcRelative { refers: None }, "pcadd"),
        _ if word == 0 => return Err(format!("LoongArch word 0 at {at:#x}: not an instruction")),
        _ => (Kind::Plain, "insn"),
    };
    Ok(kind)
}

/// b, beqz/bnez/bceqz/bcnez, beq..bgeu and pcaddi rewritten for the instruction at
/// `to` to reach `dest` (offs26: bits 25..10 then 9..0; offs21: 25..10 then 4..0;
/// offs16: 25..10; pcaddi's si20: 24..5).
pub fn retarget(bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    let w = u32::from_le_bytes(bytes.try_into().ok()?);
    let low16 = |w: u32, o: u32| (w & !(0xffff << 10)) | (o & 0xffff) << 10;
    let out = match w >> 26 {
        0x14 => {
            let o = super::offset(to, dest, 4, 26)? as u32;
            low16(w & !0x3ff, o) | (o >> 16) & 0x3ff
        }
        0x10..=0x12 => {
            let o = super::offset(to, dest, 4, 21)? as u32;
            low16(w & !0x1f, o) | (o >> 16) & 0x1f
        }
        0x16..=0x1b => low16(w, super::offset(to, dest, 4, 16)? as u32),
        _ if w >> 25 == 0b000_1100 => {
            let o = super::offset(to, dest, 4, 20)? as u32;
            (w & !(0xfffff << 5)) | (o & 0xfffff) << 5
        }
        _ => return None,
    };
    Some(out.to_le_bytes().to_vec())
}

/// `b`: a 26-bit word offset, 128 MiB either way.
pub fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let words = super::offset(from, to, 4, 26)? as u32;
    Some((0x5000_0000 | (words & 0xffff) << 10 | (words >> 16) & 0x3ff).to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    #[test]
    fn loongarch_branches_and_pc_relative_words() {
        // pcalau12i a0,0; addi.d a1,a0,0x68; syscall 0; bnez a0,-8; b -16
        let words: [u32; 5] = [0x1a00_0004, 0x02c1_a085, 0x002b_0000, 0x47ff_f89f, 0x53ff_f3ff];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let kinds: Vec<_> = Isa::LoongArch64.decode(&code, 0x1000).unwrap().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::PcRelative { refers: None },
                Kind::Plain,
                Kind::Plain,
                Kind::Branch { target: 0x1004, unconditional: false },
                Kind::Branch { target: 0x1000, unconditional: true },
            ]
        );
        // jirl zero, ra, 0 (ret) and bl are refused.
        for word in [0x4c00_0020u32, 0x5400_0400] {
            assert!(Isa::LoongArch64.decode(&word.to_le_bytes(), 0x1000).is_err(), "{word:08x}");
        }
    }
}
