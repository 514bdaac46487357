//! RISC-V RV64GC, decoded by riscv-isa (compressed instructions too). Only direct
//! branches (jal x0, branches, c.j, c.beqz/c.bnez) and auipc depend on where an
//! instruction sits; jal with a link, jalr and c.jr/c.jalr are calls and branches
//! through registers, which the minimizer cannot trace.

use std::{str::FromStr, sync::OnceLock};

use riscv_isa::{Compressed, Instruction, Target};

use super::{FreeFlags, Insn, Kind};

/// EF_RISCV_RVC: the file may hold compressed instructions.
pub const EF_RISCV_RVC: u32 = 0x1;

/// qemu-user reads the RVE bit (0x8, rules.rs keeps it clear); no loader reads the
/// others (ELF-NOTES.md). Our own decoder reads RVC (`Isa::of`: whether compressed
/// instructions may appear), so it keeps its value too: a shrunk file must decode as
/// its input did.
pub const FREE_E_FLAGS: FreeFlags =
    FreeFlags { bits: !(0x8 | EF_RISCV_RVC), why: "e_flags but RVE and RVC: no RISC-V loader reads them" };

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| Target::from_str("RV64IMAFDC_Zicsr_Zifencei").expect("a valid RISC-V target string"))
}

/// 2-byte instructions (compressed), else 4.
pub fn align(compressed: bool) -> u64 {
    if compressed { 2 } else { 4 }
}

pub fn decode(compressed: bool, code: &[u8], address: u64) -> Result<Vec<Insn>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < code.len() {
        let here = address.wrapping_add(at as u64);
        let rest = &code[at..];
        let short = |len: usize| format!("a RISC-V instruction at {here:#x} runs past the end ({len} bytes)");
        let (kind, len, text) = if rest[0] & 0b11 != 0b11 {
            if !compressed {
                return Err(format!("a compressed RISC-V instruction at {here:#x} in a file without RVC"));
            }
            let half = rest.get(..2).ok_or_else(|| short(2))?;
            let c = riscv_isa::decode_compressed(u16::from_le_bytes([half[0], half[1]]), target());
            (classify_compressed(c, here)?, 2, c.to_string())
        } else {
            let word = rest.get(..4).ok_or_else(|| short(4))?;
            let i = riscv_isa::decode_full(u32::from_le_bytes([word[0], word[1], word[2], word[3]]), target());
            (classify(i, here)?, 4, i.to_string())
        };
        out.push(Insn { address: here, len, kind, text });
        at += len;
    }
    Ok(out)
}

fn classify(i: Instruction, at: u64) -> Result<Kind, String> {
    let branch = |offset: i32, unconditional: bool| {
        Ok(Kind::Branch { target: at.wrapping_add(offset as i64 as u64), unconditional })
    };
    match i {
        Instruction::JAL { rd: 0, offset } => branch(offset, true),
        Instruction::BEQ { offset, .. }
        | Instruction::BNE { offset, .. }
        | Instruction::BLT { offset, .. }
        | Instruction::BGE { offset, .. }
        | Instruction::BLTU { offset, .. }
        | Instruction::BGEU { offset, .. } => branch(offset, false),
        // The high part of an address that the instruction after it completes.
        Instruction::AUIPC { .. } => Ok(Kind::PcRelative { refers: None }),
        Instruction::EBREAK => Ok(Kind::Trap),
        Instruction::UNIMP => Err(format!("no RISC-V instruction the decoder knows at {at:#x}")),
        Instruction::JAL { .. } | Instruction::JALR { .. } | Instruction::MRET | Instruction::SRET => {
            Err(format!("RISC-V {i} at {at:#x}: a call or a branch through a register, which cannot be traced"))
        }
        _ => Ok(Kind::Plain),
    }
}

fn classify_compressed(c: Compressed, at: u64) -> Result<Kind, String> {
    let branch = |offset: i32, unconditional: bool| {
        Ok(Kind::Branch { target: at.wrapping_add(offset as i64 as u64), unconditional })
    };
    match c {
        Compressed::C_J { offset } => branch(offset, true),
        Compressed::C_BEQZ { offset, .. } | Compressed::C_BNEZ { offset, .. } => branch(offset, false),
        Compressed::C_EBREAK => Ok(Kind::Trap),
        Compressed::UNIMP => Err(format!("no RISC-V compressed instruction the decoder knows at {at:#x}")),
        Compressed::C_JAL { .. } | Compressed::C_JR { .. } | Compressed::C_JALR { .. } => {
            Err(format!("RISC-V {c} at {at:#x}: a call or a branch through a register, which cannot be traced"))
        }
        _ => Ok(Kind::Plain),
    }
}

/// The address `auipc rd, hi` at `hi_at` and `addi rs, rd, lo` compute together (into
/// rs; `pairs` sees that rd is dead after, when rs is another register); None when the
/// words are not such a pair (rd x5 or above: the ABI's fixed registers may be read
/// implicitly). `lo` may be `c.addi rd, lo`, which is `addi rd, rd, lo` (`addi_word`).
pub fn pair_value(hi: u32, lo: &[u8], hi_at: u64) -> Option<u64> {
    let lo = addi_word(lo)?;
    let rd = (hi >> 7) & 31;
    let is_auipc = hi & 0x7f == 0x17 && rd >= 5;
    let is_addi = lo & 0x707f == 0x13 && (lo >> 7) & 31 >= 5 && (lo >> 15) & 31 == rd;
    (is_auipc && is_addi).then(|| {
        let high = (hi & 0xffff_f000) as i32 as i64;
        let low = (lo as i32 >> 20) as i64;
        hi_at.wrapping_add((high + low) as u64)
    })
}

/// The 4-byte instruction that `bytes` are: a word as it is, or `c.addi rd, imm` (RVC,
/// quadrant 1, funct3 0) as the `addi rd, rd, imm` it expands to (RISC-V unprivileged
/// spec, 16.5). Not `c.addi` with rd x0 or imm 0: those are `c.nop` and HINTs.
fn addi_word(bytes: &[u8]) -> Option<u32> {
    match *bytes {
        [a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
        [a, b] => {
            let h = u16::from_le_bytes([a, b]) as u32;
            let rd = (h >> 7) & 31;
            let imm = super::sign_extend((h >> 2) & 31 | (h >> 12 & 1) << 5, 6) as i32;
            (h & 0xe003 == 0x0001 && rd != 0 && imm != 0).then_some((imm as u32) << 20 | rd << 15 | rd << 7 | 0x13)
        }
        _ => None,
    }
}

/// `addi rd, rd, imm` as `c.addi rd, imm`, where compressed instructions may be and
/// imm fits its 6 bits (nonzero, rd not x0).
fn c_addi(word: u32) -> Option<[u8; 2]> {
    let (rd, rs, imm) = ((word >> 7) & 31, (word >> 15) & 31, word as i32 >> 20);
    let fits = word & 0x707f == 0x13 && rd == rs && rd != 0 && imm != 0 && (-32..32).contains(&imm);
    let imm = imm as u32;
    fits.then(|| ((0x0001 | (imm >> 5 & 1) << 12 | rd << 7 | (imm & 31) << 2) as u16).to_le_bytes())
}

/// The pairs (auipc index, addi index) in `insns` (whose bytes `code` start at
/// `base`): an auipc, then the first later instruction that names its register, when
/// that is `addi rd, rd, lo`, with nothing between them that branches or is branched
/// to. The pair computes one address, which stays the same wherever the auipc goes
/// if both are re-encoded (`encode_pair`).
pub fn pairs(insns: &[Insn], code: &[u8], base: u64) -> Vec<(usize, usize, u64)> {
    let word = |i: &Insn| {
        let at = i.address.checked_sub(base)? as usize;
        code.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).filter(|_| i.len == 4)
    };
    let targets: Vec<u64> = insns.iter().filter_map(Insn::target).collect();
    let mut out = Vec::new();
    for (h, hi) in insns.iter().enumerate() {
        let Some(hw) = word(hi).filter(|w| w & 0x7f == 0x17) else { continue };
        let name = format!("x{}", (hw >> 7) & 31);
        let names = |i: &Insn| i.text.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| t == name);
        // The first instruction that names rd, branches, or (an ecall, which reads a0
        // to a7 unnamed) may read it: the addi, or no pair.
        let Some(l) =
            (h + 1..insns.len()).find(|&k| names(&insns[k]) || insns[k].target().is_some() || is_ecall(&insns[k]))
        else {
            continue;
        };
        let entered = targets.iter().any(|&t| t > hi.address && t <= insns[l].address);
        // `addi rs, rd, lo` into another register: rd must be dead after it, written
        // (c.li, li, lui) before anything reads it or control may go elsewhere.
        let into_other = word(&insns[l]).is_some_and(|lw| (lw >> 7) & 31 != (hw >> 7) & 31);
        let dead = || {
            let rd = (hw >> 7) & 31;
            let next = (l + 1..insns.len()).find(|&k| names(&insns[k]) || !insns[k].movable() || is_ecall(&insns[k]));
            next.is_some_and(|k| writes_only(&insns[k], code, base, rd))
        };
        let value = word(&insns[l]).and_then(|lw| pair_value(hw, &lw.to_le_bytes(), hi.address));
        if let (false, Some(value)) = (entered || (into_other && !dead()), value) {
            out.push((h, l, value));
        }
    }
    out
}

/// An ecall, which reads a0 to a7.
fn is_ecall(i: &Insn) -> bool {
    i.text.contains("ecall")
}

/// `insn` sets register `rd` from a constant and reads no register: `c.li rd, imm`,
/// `addi rd, x0, imm` (li) or `lui rd, imm`.
fn writes_only(insn: &Insn, code: &[u8], base: u64, rd: u32) -> bool {
    let Some(at) = insn.address.checked_sub(base).map(|a| a as usize) else { return false };
    let Some(bytes) = code.get(at..at + insn.len) else { return false };
    match *bytes {
        [a, b] => {
            let h = u16::from_le_bytes([a, b]) as u32;
            h & 0xe003 == 0x4001 && (h >> 7) & 31 == rd
        }
        [a, b, c, d] => {
            let w = u32::from_le_bytes([a, b, c, d]);
            let li = w & 0x707f == 0x13 && (w >> 15) & 31 == 0;
            (li || w & 0x7f == 0x37) && (w >> 7) & 31 == rd
        }
        _ => false,
    }
}

/// The auipc/addi pair `hi`, `lo` re-encoded for the auipc at `hi_at` to compute
/// `value` still. `lo` may come as `c.addi`; it goes as `c.addi` where `short` asks
/// for it, compressed instructions may be and the new low part fits (`c_addi`: the
/// pair is 2 bytes shorter), else as the 4-byte `addi`.
pub fn encode_pair(
    compressed: bool,
    hi: &[u8],
    lo: &[u8],
    hi_at: u64,
    value: u64,
    short: bool,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let (hw, lw) = (u32::from_le_bytes(hi.try_into().ok()?), addi_word(lo)?);
    let delta = i32::try_from(value.wrapping_sub(hi_at) as i64).ok()?;
    let high = delta.wrapping_add(0x800) & !0xfff;
    let low = delta.wrapping_sub(high);
    let (hw, lw) = ((hw & 0xfff) | high as u32, (lw & 0x000f_ffff) | (low as u32) << 20);
    let lo = match c_addi(lw).filter(|_| short && compressed) {
        Some(half) => half.to_vec(),
        None => lw.to_le_bytes().to_vec(),
    };
    (pair_value(hw, &lo, hi_at) == Some(value)).then(|| (hw.to_le_bytes().to_vec(), lo))
}

/// jal x0, the conditional branches, c.j and c.beqz/c.bnez rewritten for the
/// instruction at `to` to reach `dest` (RISC-V unprivileged spec, 2.3 and 16.5).
pub fn retarget(bytes: &[u8], to: u64, dest: u64) -> Option<Vec<u8>> {
    let bit = |o: u32, n: u32, at: u32| (o >> n & 1) << at;
    if let [a, b] = *bytes {
        let h = u16::from_le_bytes([a, b]) as u32;
        let out = match (h >> 13, h & 3) {
            (0b101, 0b01) => u16::from_le_bytes(jump(true, to, dest)?.try_into().ok()?) as u32,
            (0b110 | 0b111, 0b01) => {
                let o = super::offset(to, dest, 1, 9)? as u32;
                if o & 1 != 0 {
                    return None;
                }
                (h & 0xe383) | bit(o, 8, 12) | (o >> 3 & 3) << 10 | (o >> 6 & 3) << 5 | (o >> 1 & 3) << 3 | bit(o, 5, 2)
            }
            _ => return None,
        };
        return Some((out as u16).to_le_bytes().to_vec());
    }
    let w = u32::from_le_bytes(bytes.try_into().ok()?);
    let out = match w & 0x7f {
        0x6f => (w & 0xfff) | (u32::from_le_bytes(jump(false, to, dest)?.try_into().ok()?) & !0xfff),
        0x63 => {
            let o = super::offset(to, dest, 1, 13)? as u32;
            if o & 1 != 0 {
                return None;
            }
            (w & 0x01ff_f07f) | bit(o, 12, 31) | (o >> 5 & 0x3f) << 25 | (o >> 1 & 0xf) << 8 | bit(o, 11, 7)
        }
        _ => return None,
    };
    Some(out.to_le_bytes().to_vec())
}

/// `c.j` (2 KiB either way) where compressed instructions may be, else `jal x0`
/// (1 MiB either way).
pub fn jump(compressed: bool, from: u64, to: u64) -> Option<Vec<u8>> {
    if compressed && let Some(o) = super::offset(from, to, 1, 12) {
        let o = o as u32;
        let bit = |n: u32, at: u32| (o >> n & 1) << at;
        let bits = bit(11, 12)
            | bit(4, 11)
            | (o >> 8 & 3) << 9
            | bit(10, 8)
            | bit(6, 7)
            | bit(7, 6)
            | (o >> 1 & 7) << 3
            | bit(5, 2);
        return Some(((0xa001 | bits) as u16).to_le_bytes().to_vec());
    }
    let o = super::offset(from, to, 1, 21)? as u32;
    let imm = (o >> 20 & 1) << 31 | (o >> 1 & 0x3ff) << 21 | (o >> 11 & 1) << 20 | (o >> 12 & 0xff) << 12;
    Some((imm | 0x6f).to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::{Isa, Kind};

    const RV64GC: Isa = Isa::Riscv64 { compressed: true };

    #[test]
    fn an_addi_into_another_register_pairs_only_when_the_auipc_register_dies() {
        // auipc a0, 0; addi a4, a0, -116; then c.li a0, 0 (a0 dead: paired), or
        // ecall (which reads a0: the auipc stays alone).
        let rv = Isa::Riscv64 { compressed: true };
        let head = [0x17, 0x05, 0, 0, 0x13, 0x07, 0xc5, 0xf8];
        for (tail, paired) in [(&[0x01, 0x45][..], true), (&[0x73, 0, 0, 0][..], false)] {
            let code = [&head[..], tail].concat();
            let insns = rv.decode(&code, 0x1000).unwrap();
            let want = if paired { vec![(0, 1, 0x1000 - 116)] } else { vec![] };
            assert_eq!(rv.pairs(&insns, &code, 0x1000), want, "{tail:02x?}");
        }
    }

    #[test]
    fn a_pairs_addi_goes_as_c_addi_where_its_low_part_fits() {
        // auipc a1, 0; addi a1, a1, -20, at 0x1007c: the address 0x10068.
        let (auipc, addi, value) = ([0x97, 0x05, 0, 0], [0x93, 0x85, 0xc5, 0xfe], 0x10068);
        let hi = u32::from_le_bytes(auipc);
        // From 0x10050 the low part is 24: c.addi a1, 24.
        let short = super::encode_pair(true, &auipc, &addi, 0x10050, value, true);
        assert_eq!(short, Some((auipc.to_vec(), vec![0xe1, 0x05])));
        assert_eq!(super::pair_value(hi, &[0xe1, 0x05], 0x10050), Some(value));
        // Moved back in full, it is the original; and -32 is c.addi's last reach.
        assert_eq!(
            super::encode_pair(true, &auipc, &[0xe1, 0x05], 0x1007c, value, false),
            Some((auipc.to_vec(), addi.to_vec()))
        );
        assert_eq!(
            super::encode_pair(true, &auipc, &addi, value + 32, value, true).map(|p| p.1),
            Some(vec![0x81, 0x15])
        );
        // 4 bytes: not asked for, no RVC, a low part of 32, 64 or 0 (c.addi 0 is a HINT).
        for (compressed, at, short) in [
            (true, 0x10050, false),
            (false, 0x10050, true),
            (true, value - 32, true),
            (true, 0x10028, true),
            (true, value, true),
        ] {
            let (_, lo) = super::encode_pair(compressed, &auipc, &addi, at, value, short).unwrap();
            assert_eq!((lo.len(), super::pair_value(hi, &lo, at)), (4, Some(value)), "{at:#x}");
        }
        // addi a4, a1, -20 writes another register: never c.addi (which writes a1).
        let into_a4 = [0x13, 0x87, 0xc5, 0xfe];
        let (_, lo) = super::encode_pair(true, &auipc, &into_a4, 0x10050, value, true).unwrap();
        assert_eq!(lo, [0x13, 0x87, 0x85, 0x01]);
        // c.addi a0, 24 after auipc a1 computes nothing with it.
        assert_eq!(super::pair_value(hi, &[0x61, 0x05], 0x10050), None);
    }

    #[test]
    fn an_ecall_between_auipc_and_addi_keeps_them_apart() {
        // auipc a1, 0; ecall (reads a1 as it is); addi a1, a1, 8: moving the pair would
        // change what the ecall reads.
        let rv = Isa::Riscv64 { compressed: true };
        let code = [0x97, 0x05, 0, 0, 0x73, 0, 0, 0, 0x93, 0x85, 0x85, 0x00];
        let insns = rv.decode(&code, 0x1000).unwrap();
        assert_eq!(rv.pairs(&insns, &code, 0x1000), vec![]);
        // Without the ecall they pair.
        let code = [&code[..4], &code[8..]].concat();
        let insns = rv.decode(&code, 0x1000).unwrap();
        assert_eq!(rv.pairs(&insns, &code, 0x1000), vec![(0, 1, 0x1008)]);
    }

    #[test]
    fn riscv_lengths_branches_and_auipc() {
        // auipc a1,0; c.li a0,1; ecall; bne a0,a2,-6; c.j -8; c.bnez a0,-2
        let code = [0x97, 0x05, 0, 0, 0x05, 0x45, 0x73, 0, 0, 0, 0xe3, 0x1d, 0xc5, 0xfe, 0xe5, 0xbf, 0x7d, 0xfd];
        let insns = RV64GC.decode(&code, 0x1000).unwrap();
        let got: Vec<_> = insns.iter().map(|i| (i.address, i.kind)).collect();
        assert_eq!(
            got,
            [
                (0x1000, Kind::PcRelative { refers: None }),
                (0x1004, Kind::Plain),
                (0x1006, Kind::Plain),
                (0x100a, Kind::Branch { target: 0x1004, unconditional: false }),
                (0x100e, Kind::Branch { target: 0x1006, unconditional: true }),
                (0x1010, Kind::Branch { target: 0x100e, unconditional: false }),
            ]
        );
        // ret (c.jr ra), jal ra (a call), a cut-off word, compressed code without RVC.
        assert!(RV64GC.decode(&[0x82, 0x80], 0x1000).is_err());
        assert!(RV64GC.decode(&0x0000_00efu32.to_le_bytes(), 0x1000).is_err());
        assert!(RV64GC.decode(&[0x97, 0x05], 0x1000).is_err());
        assert!(Isa::Riscv64 { compressed: false }.decode(&[0x05, 0x45], 0x1000).is_err());
        // Far jumps take jal x0.
        assert_eq!(RV64GC.jump(0x10000, 0x10800).map(|j| j.len()), Some(4));
        assert_eq!(RV64GC.jump(0x10000, 0x107fe).map(|j| j.len()), Some(2));
    }
}
