//! hello for 64-bit little-endian PowerPC Linux (ELFv2): `sc` with the number in r0,
//! arguments in r3, r4, r5. On error the kernel sets CR0[SO] and returns a *positive*
//! errno in r3, which could equal the message length: `isel` (POWER7 and later) makes
//! it 0 then, in one instruction.
#![no_std]
#![no_main]

use core::arch::asm;
use hello::Kernel;

struct Linux;

impl Kernel for Linux {
    #[inline(always)]
    fn write(fd: usize, buf: &[u8]) -> isize {
        let ret;
        // SAFETY: write(2) only reads `buf`; the syscall ABI clobbers the volatile
        // registers r0 and r4-r12, cr0, ctr and xer.
        unsafe {
            asm!("sc", "isel 3, 0, 3, 3",
                inlateout("r0") 4usize => _, inlateout("r3") fd => ret,
                inlateout("r4") buf.as_ptr() => _, inlateout("r5") buf.len() => _,
                out("r6") _, out("r7") _, out("r8") _, out("r9") _, out("r10") _,
                out("r11") _, out("r12") _, out("cr0") _, out("ctr") _, out("xer") _,
                options(nostack, readonly));
        }
        ret
    }

    #[inline(always)]
    fn exit(status: usize) -> ! {
        // SAFETY: exit(2) does not return.
        unsafe { asm!("sc", in("r0") 1, in("r3") status, options(noreturn, nostack)) }
    }
}

hello::entry!(Linux);
