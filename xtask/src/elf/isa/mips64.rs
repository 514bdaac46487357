//! MIPS64 (little-endian, release 2), by hand: every instruction is one 32-bit word,
//! and its primary opcode (the top 6 bits, with the rt field under REGIMM and rs
//! under COP1/COP2) says whether it branches (MIPS64 Architecture vol. II, A.2).
//! A branch or jump runs the word after it, its delay slot, before it goes: the two
//! move together or not at all.

use super::{Insn, Kind, decode_words, sign_extend};

/// The packer joins runs by jumps, and a MIPS jump needs its delay slot filled beside
/// it (a nop, or an instruction moved into it): the packer does neither yet, and the
/// branch-and-delay-slot pairs of the code would have to move whole.
pub const NO_CODE_MOVE: &str = "a MIPS jump needs its delay slot filled: the packer does not do that";

// No FREE_E_FLAGS: the kernel reads the ABI, NaN and FP-mode bits of e_flags (rules.rs
// keeps NaN2008 and ABI2 clear), and which of the others it ignores is not measured.

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut in_delay_slot = false;
    let insns = decode_words("MIPS", code, address, |word, at| {
        let kind = if std::mem::take(&mut in_delay_slot) {
            if !matches!(classify(word, at)?, Kind::Plain) {
                return Err(format!("MIPS branch at {at:#x} in a delay slot"));
            }
            Kind::Bound
        } else {
            classify(word, at)?
        };
        in_delay_slot = matches!(kind, Kind::Branch { .. });
        Ok((kind, format!("{} {word:08x}", if in_delay_slot { "branch" } else { "insn" })))
    })?;
    if in_delay_slot {
        return Err("the MIPS code ends in a branch whose delay slot is past its end".into());
    }
    Ok(insns)
}

fn classify(word: u32, at: u64) -> Result<Kind, String> {
    let (op, rs, rt) = (word >> 26, (word >> 21) & 31, (word >> 16) & 31);
    // Branch offsets count words from the delay slot.
    let slot = at.wrapping_add(4);
    let relative = |unconditional: bool| Kind::Branch {
        target: slot.wrapping_add((sign_extend(word & 0xffff, 16) * 4) as u64),
        unconditional,
    };
    let untraceable = |what: &str| Err(format!("MIPS {what} {word:08x} at {at:#x}: its target cannot be traced"));
    match op {
        // SPECIAL: jr, jalr.
        0 if matches!(word & 0x3f, 8 | 9) => untraceable("jump through a register"),
        // REGIMM: bltz, bgez(l)...; the -al forms (bal among them) are calls.
        1 => match rt {
            0..=3 => Ok(relative(rt == 1 && rs == 0)),
            16..=19 => untraceable("call"),
            _ => Ok(Kind::Plain),
        },
        // j: the low 28 bits of the target, in the delay slot's 256 MiB region.
        2 => {
            Ok(Kind::Branch { target: (slot & !0x0fff_ffff) | ((word & 0x03ff_ffff) << 2) as u64, unconditional: true })
        }
        3 => untraceable("call"),
        // beq (`b` when both registers are $0), bne, blez, bgtz, and the -l forms.
        4 | 20 => Ok(relative(rs == 0 && rt == 0)),
        5..=7 | 21..=23 => Ok(relative(false)),
        // BC1x, BC2x: branches on a coprocessor condition.
        17 | 18 if rs == 8 => Ok(relative(false)),
        _ => Ok(Kind::Plain),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    #[test]
    fn mips_branches_own_their_delay_slots() {
        // daddiu $2,$0,5001; syscall; bnez $7,-8 (bne $7,$0); nop; b 0 (beq $0,$0); move
        let words: [u32; 6] = [0x6402_1389, 0x0000_000c, 0x14e0_fffe, 0, 0x1000_ffff, 0x0000_2025];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let kinds: Vec<_> = Isa::Mips64el.decode(&code, 0x1000).unwrap().iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::Plain,
                Kind::Plain,
                Kind::Branch { target: 0x1004, unconditional: false },
                Kind::Bound,
                Kind::Branch { target: 0x1010, unconditional: true },
                Kind::Bound,
            ]
        );
        // jr $ra, jal, bal; a branch with no delay slot left; a branch in a delay slot.
        for words in
            [&[0x03e0_0008u32][..], &[0x0c00_0000], &[0x0411_0000], &[0x1000_0000], &[0x1000_0000, 0x1000_0000]]
        {
            let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            assert!(Isa::Mips64el.decode(&code, 0x1000).is_err(), "{words:08x?}");
        }
        assert!(Isa::Mips64el.moves_code().is_err());
    }
}
