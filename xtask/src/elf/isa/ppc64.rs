//! POWER (ppc64le), by hand: every instruction is one 32-bit word, and its primary
//! opcode (the top 6 bits) says whether it branches (Power ISA 3.0 book I, 2.4).
//! POWER10's 8-byte prefixed instructions (primary opcode 1) are refused: POWER8 code
//! has none, and some of them are PC-relative.

use super::{FreeFlags, Insn, Kind, decode_words, sign_extend};

/// The ELFv2 ABI bits (`e_flags & 3`, which must read 2: rules.rs) are the only ones
/// a ppc64le loader reads.
pub const FREE_E_FLAGS: FreeFlags =
    FreeFlags { bits: !3, why: "e_flags above the ABI bits: no ppc64le loader reads them" };

/// `nop` (`ori 0,0,0`): what lld leaves of an `addis` whose high half is 0 (its TOC
/// optimization, link.ld); it does nothing, and the minimizer drops it.
pub const NOP: [u8; 4] = 0x6000_0000u32.to_le_bytes();

/// The ELFv2 global entry's TOC set-up, `addis 2,12,hi; addi 2,2,lo`, as the one
/// instruction it is where hi is 0: `addi 2,12,lo` (r2 = r12 + lo either way). link.ld
/// puts the TOC base within 32 KiB of all our code, so the compiler's prologue always
/// has hi = 0; lld does not shorten it.
pub fn fold_toc_setup(first: &[u8], second: &[u8]) -> Option<[u8; 4]> {
    let word = |b: &[u8]| Some(u32::from_le_bytes(b.try_into().ok()?));
    let (first, second) = (word(first)?, word(second)?);
    (first == 0x3c4c_0000 && second >> 16 == 0x3842).then(|| (0x384c_0000 | (second & 0xffff)).to_le_bytes())
}

/// Whether `bytes` are an ELFv2 global entry's TOC set-up, `addis 2,12,hi; addi
/// 2,2,lo`, and nothing else.
pub fn is_global_entry_setup(bytes: &[u8]) -> bool {
    let words: Vec<u32> = bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    bytes.len() == 8 && words[0] >> 16 == 0x3c4c && words[1] >> 16 == 0x3842
}

pub fn decode(code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    decode_words("ppc64le", code, address, |word, at| {
        let kind = classify(word, at)?;
        Ok((kind, format!("{} {word:08x}", name(word))))
    })
}

fn classify(word: u32, at: u64) -> Result<Kind, String> {
    let (primary, rt, ra) = (word >> 26, (word >> 21) & 31, (word >> 16) & 31);
    let (absolute, link) = (word & 2 != 0, word & 1 != 0);
    let untraceable = |what: &str| Err(format!("ppc64le {what} {word:08x} at {at:#x}: its target cannot be traced"));
    match primary {
        0 | 1 => Err(format!("ppc64le word {word:08x} at {at:#x}: illegal or a prefix the shrinker does not trace")),
        // b, ba: I-form, 24-bit word offset; bl, bla: calls.
        18 if link => untraceable("call"),
        18 => {
            let offset = sign_extend(word & 0x03ff_fffc, 26);
            Ok(Kind::Branch { target: target(at, offset, absolute), unconditional: true })
        }
        // bc: B-form, 14-bit word offset; BO 1x1xx branches always. bcl: a call (or
        // the `bcl 20,31` idiom that reads the PC into LR).
        16 if link => untraceable("call"),
        16 => {
            let offset = sign_extend(word & 0xfffc, 16);
            Ok(Kind::Branch { target: target(at, offset, absolute), unconditional: rt & 0b10100 == 0b10100 })
        }
        // XL-form: bclr (blr), bcctr, bctar branch through a register; addpcis reads
        // the PC; the rest are condition-register logic and isync.
        19 => match (word >> 1) & 0x3ff {
            16 | 528 | 560 => untraceable("branch through a register"),
            2 => Ok(Kind::PcRelative { refers: None }),
            _ => Ok(Kind::Plain),
        },
        // addis r2, r12, hi: the ELFv2 global entry's TOC set-up from r12, which holds
        // the entry address; addi r2, r12, lo: the same in one instruction, as our
        // entry glue sets it (sys-ppc64le).
        15 | 14 if rt == 2 && ra == 12 => Ok(Kind::EntryRelative),
        _ => Ok(Kind::Plain),
    }
}

fn target(at: u64, offset: i64, absolute: bool) -> u64 {
    if absolute { offset as u64 } else { at.wrapping_add(offset as u64) }
}

fn name(word: u32) -> &'static str {
    match word >> 26 {
        18 => "b",
        16 => "bc",
        17 => "sc",
        19 => "xl",
        15 => "addis",
        14 => "addi",
        _ => "insn",
    }
}

/// b (24-bit word offset) and bc (14-bit), relative forms, rewritten for the
/// instruction at `to` to reach `dest`; an absolute branch reaches it from anywhere.
pub fn retarget(bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    let w = u32::from_le_bytes(bytes.try_into().ok()?);
    if w & 2 != 0 {
        return Some(bytes.to_vec());
    }
    let out = match w >> 26 {
        18 => (w & !0x03ff_fffc) | ((super::offset(to, dest, 4, 24)? as u32) << 2 & 0x03ff_fffc),
        16 => (w & !0xfffc) | ((super::offset(to, dest, 4, 14)? as u32) << 2 & 0xfffc),
        _ => return None,
    };
    Some(out.to_le_bytes().to_vec())
}

/// `b`: a 24-bit word offset, 32 MiB either way.
pub fn jump(from: u64, to: u64) -> Option<Vec<u8>> {
    let words = super::offset(from, to, 4, 24)?;
    Some((0x4800_0000 | ((words as u32) << 2 & 0x03ff_fffc)).to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    #[test]
    fn ppc64le_branches_the_toc_prologue_and_calls() {
        // addis r2,r12,1; addi r2,r2,-32616; sc; beq 0x1008 (bc 12,2,-4); b -12
        let words: [u32; 5] = [0x3c4c_0001, 0x3842_8098, 0x4400_0002, 0x4182_fffc, 0x4bff_fff4];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let insns = Isa::Ppc64le.decode(&code, 0x1000).unwrap();
        let kinds: Vec<_> = insns.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                Kind::EntryRelative,
                Kind::Plain,
                Kind::Plain,
                Kind::Branch { target: 0x1008, unconditional: false },
                Kind::Branch { target: 0x1004, unconditional: true },
            ]
        );
        assert!(insns[0].movable());
        // blr, bl, bcl 20,31 and a prefix word are refused.
        for word in [0x4e80_0020u32, 0x4800_0005, 0x429f_0005, 0x0400_0000] {
            assert!(Isa::Ppc64le.decode(&word.to_le_bytes(), 0x1000).is_err(), "{word:08x}");
        }
        assert_eq!(Isa::Ppc64le.jump(0x10074, 0x10028), Some(0x4bff_ffb4u32.to_le_bytes().to_vec()));
        // addi r2,r12,lo (our glue's one-instruction set-up) reads the entry too.
        assert_eq!(Isa::Ppc64le.decode(&0x384c_7f84u32.to_le_bytes(), 0x1000).unwrap()[0].kind, Kind::EntryRelative);
    }

    #[test]
    fn the_toc_setup_folds_only_with_a_high_half_of_0() {
        let w = |x: u32| x.to_le_bytes();
        assert_eq!(super::fold_toc_setup(&w(0x3c4c_0000), &w(0x3842_8098)), Some(w(0x384c_8098)));
        // addis 2,12,1; addis 3,12,0; addi 3,2,lo; a short word: no.
        assert_eq!(super::fold_toc_setup(&w(0x3c4c_0001), &w(0x3842_8098)), None);
        assert_eq!(super::fold_toc_setup(&w(0x3c6c_0000), &w(0x3842_8098)), None);
        assert_eq!(super::fold_toc_setup(&w(0x3c4c_0000), &w(0x3862_8098)), None);
        assert_eq!(super::fold_toc_setup(&w(0x3c4c_0000), &[0x98, 0x80]), None);
    }
}
