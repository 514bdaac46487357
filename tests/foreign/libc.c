/* A static C program on a full libc (glibc with gcc -static, musl with musl-gcc
 * -static): thread-local storage, stdio, arguments and an exit status to keep. */
#include <stdio.h>

static __thread int t = 41;

int main(int argc, char **argv) {
    printf("static libc %d %s\n", ++t, argc > 0 && argv[0] ? "argv" : "-");
    return 7;
}
