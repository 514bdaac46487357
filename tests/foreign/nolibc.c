/* A C program with no libc at all (gcc -static -nostdlib -no-pie): the kind of file
 * people hand-shrink. Exits 3 when the whole line was written, 4 otherwise. */
static const char msg[] = "hello from C, no libc\n";

void _start(void) {
    long n;
    __asm__ volatile("syscall" : "=a"(n) : "a"(1), "D"(1), "S"(msg), "d"(sizeof msg - 1) : "rcx", "r11", "memory");
    __asm__ volatile("syscall" ::"a"(60), "D"(n == sizeof msg - 1 ? 3 : 4) : "rcx", "r11");
    for (;;) {
    }
}
