//! Which registers hold nothing the code will read, before each of its instructions:
//! where the packer may let header words run as instructions (`Isa::passage`: the
//! words at the load address it chose, the segment size) on the way from one run of
//! code to the next, those words may write only such registers (and the flags, where
//! nothing reads them before they are set again).
//!
//! A backward data-flow over what runs (`isa::what_runs`): a register is live before
//! an instruction if the instruction reads it, or if it is live after it and the
//! instruction does not surely write all of it. Each ISA's file says what its
//! instructions read (over-approximated) and write whole (under-approximated);
//! an ISA that says nothing keeps every register live everywhere, and no header
//! word runs there.

use std::collections::BTreeMap;

use super::{Insn, Isa, Kind};

/// A set of registers, one bit each as the ISA's file numbers them, and the flags.
pub type RegSet = u64;

/// The condition flags (ARM's NZCV), as one register: written whole only by what
/// sets them all.
pub const FLAGS: RegSet = 1 << 32;

/// Every register.
pub const ALL: RegSet = !0;

/// What one instruction does to the registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    /// What it may read (over-approximated).
    pub reads: RegSet,
    /// What it surely writes whole, on every path through it (under-approximated).
    pub writes: RegSet,
    /// It does not go on: a syscall that exits.
    pub ends: bool,
}

impl Effects {
    /// Knowing nothing of it: it reads everything.
    pub const UNKNOWN: Effects = Effects { reads: ALL, writes: 0, ends: false };
}

/// The registers dead before each of `insns` (the code that runs, from `isa::what_runs`,
/// whose bytes `code` holds from address `base`; `alias`: where no-op jumps that went
/// went to): none of their values is read on any path before it is written whole.
/// Falling off the code's last instruction is undefined in the input (nothing there
/// reads a register); a branch to an address outside the code keeps everything live.
pub fn dead_before(isa: Isa, insns: &[Insn], code: &[u8], base: u64, alias: &BTreeMap<u64, u64>) -> Vec<RegSet> {
    let Some(effects) = isa.effects(insns, code, base) else {
        return vec![0; insns.len()];
    };
    let index: BTreeMap<u64, usize> = insns.iter().enumerate().map(|(k, i)| (i.address, k)).collect();
    // The instructions control may go to from each: the next one in order, where it
    // goes on (and the code goes on), and a branch's target.
    let successors: Vec<Vec<Option<usize>>> = insns
        .iter()
        .enumerate()
        .map(|(k, insn)| {
            let mut next = Vec::new();
            let goes_on = !insn.jump() && insn.kind != Kind::Trap && !effects[k].ends;
            if goes_on && k + 1 < insns.len() {
                next.push(Some(k + 1));
            }
            if let Some(target) = insn.target() {
                next.push(index.get(&super::resolve(alias, target)).copied());
            }
            next
        })
        .collect();
    let mut live = vec![0 as RegSet; insns.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for k in (0..insns.len()).rev() {
            let after = successors[k].iter().fold(0, |set, s| set | s.map_or(ALL, |s| live[s]));
            let before = effects[k].reads | (after & !effects[k].writes);
            if before != live[k] {
                live[k] = before;
                changed = true;
            }
        }
    }
    live.iter().map(|l| !l & !isa.always_live()).collect()
}

/// `set` for people: "r3, r5 and the flags" (registers by the ISA file's numbers).
pub fn describe(set: RegSet) -> String {
    let mut names: Vec<String> = (0..32).filter(|r| set & 1 << r != 0).map(|r| format!("r{r}")).collect();
    if set & FLAGS != 0 {
        names.push("the flags".into());
    }
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => "nothing".into(),
    }
}

/// The registers that no instruction of `code` (its bytes from `entry`; control at or
/// past `stop` falls off it) reads before writing them: dead before every one.
pub fn never_read(isa: Isa, code: &[u8], entry: u64, stop: u64) -> Result<RegSet, String> {
    let runs = super::what_runs(isa, code, entry, stop)?;
    let copy = runs.copied(code, entry).ok_or("the code runs past the file")?;
    Ok(dead_before(isa, &runs.insns, &copy, entry, &runs.alias).iter().fold(ALL, |all, dead| all & dead))
}

#[cfg(test)]
mod tests {
    use super::*;

    const THUMB: Isa = Isa::Arm { thumb: true };

    fn dead(halfwords: &[u16]) -> Vec<RegSet> {
        let code: Vec<u8> = halfwords.iter().flat_map(|h| h.to_le_bytes()).collect();
        let insns = THUMB.decode(&code, 0x1000).unwrap();
        dead_before(THUMB, &insns, &code, 0x1000, &BTreeMap::new())
    }

    const R: fn(u32) -> RegSet = |r| 1 << r;

    /// hello: movs r0, #1; adr r1, msg; movs r2, #20; movs r7, #4; svc 0;
    /// subs r0, #20; movs r7, #1; svc 0. write reads r0-r2 and r7; exit only r0.
    #[test]
    fn registers_no_syscall_reads_are_dead() {
        let d = dead(&[0x2001, 0xa100, 0x2214, 0x2704, 0xdf00, 0x3814, 0x2701, 0xdf00]);
        // Before `movs r2, #20`: r0 and r1 are live (write reads them), r2 and r7
        // are written before anything reads them, r3-r6 nothing reads.
        assert_eq!(d[2] & (R(0) | R(1)), 0);
        for r in [2, 3, 4, 5, 6, 7] {
            assert_ne!(d[2] & R(r), 0, "r{r}");
        }
        // sp, lr and pc are never dead; nothing reads the flags.
        assert_eq!(d[2] & (R(13) | R(14) | R(15)), 0);
        assert_ne!(d[2] & FLAGS, 0);
        // Before `subs r0, #20`: it reads r0; r5 is dead (exit reads only r0).
        assert_eq!(d[5] & R(0), 0);
        assert_ne!(d[5] & R(5), 0);
    }

    /// A syscall whose number is not known reads r0-r6; a conditional branch reads
    /// the flags, which `cmp` writes whole.
    #[test]
    fn an_unknown_syscall_reads_its_arguments_and_a_condition_the_flags() {
        // movs r5, #0; svc 0; cmp r0, #0; bne -> the svc; movs r7, #1; svc 0
        let d = dead(&[0x2500, 0xdf00, 0x2800, 0xd1fc, 0x2701, 0xdf00]);
        assert_eq!(d[1] & (R(0) | R(5) | R(6)), 0, "before the svc");
        assert_eq!(d[3] & FLAGS, 0, "before bne");
        assert_ne!(d[2] & FLAGS, 0, "before cmp");
        // The loop back to the svc keeps r5 live after it, too.
        assert_eq!(d[2] & R(5), 0);
    }

    /// An IT block reads what its instructions read and the flags, and writes nothing
    /// surely: the register it may write stays live before it.
    #[test]
    fn an_it_block_reads_the_flags_and_keeps_what_it_may_write() {
        // cmp r0, #0; it eq; addeq r1, r2; movs r0, r1; movs r7, #1; svc 0
        let d = dead(&[0x2800, 0xbf08, 0x4411, 0x0008, 0x2701, 0xdf00]);
        assert_eq!(d.len(), 5, "the IT block is one instruction");
        assert_eq!(d[1] & (R(1) | R(2) | FLAGS), 0, "before the IT block");
        assert_ne!(d[1] & R(3), 0);
        assert_ne!(d[0] & FLAGS, 0, "cmp sets them all");
        assert_eq!(d[0] & R(0), 0, "cmp reads r0");
        // A known syscall: exit reads r0 alone, so r1 is dead after the move.
        assert_ne!(d[3] & R(1), 0);
    }

    /// With no register model (here: RISC-V), nothing is dead.
    #[test]
    fn an_isa_without_a_register_model_keeps_everything() {
        let isa = Isa::Riscv64 { compressed: true };
        let code = [0x01, 0x45, 0x73, 0x00, 0x00, 0x00]; // c.li a0, 0; ecall
        let insns = isa.decode(&code, 0x1000).unwrap();
        assert_eq!(dead_before(isa, &insns, &code, 0x1000, &BTreeMap::new()), vec![0, 0]);
    }
}
