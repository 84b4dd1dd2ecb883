// SPDX-License-Identifier: MIT
/*
 * qexit N — end the QEMU guest through the isa-debug-exit device
 * (-device isa-debug-exit,iobase=0xf4,iosize=0x04): QEMU exits with status
 * (N << 1) | 1, so 0 → 1 (pass) and 1 → 3 (fail). Static, no libc beyond
 * ioperm/outl. Needs CONFIG_X86_IOPL_IOPERM and CAP_SYS_RAWIO (root).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv)
{
	unsigned long code = argc > 1 ? strtoul(argv[1], NULL, 0) : 0;

	if (ioperm(0xf4, 4, 1) != 0) {
		perror("qexit: ioperm");
		return 1;
	}
	outl((unsigned int)code, 0xf4);
	/* Not reached when the device exists. */
	fprintf(stderr, "qexit: no isa-debug-exit device at 0xf4\n");
	return 1;
}
