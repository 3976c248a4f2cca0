// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * kestrel-bench - syscall loops timed by CLOCK_MONOTONIC, for the overhead
 * benchmark (tests/bench/overhead.sh, run by scripts/vmbench.sh).
 *
 * In a guest booted with QEMU's -icount shift=0 the guest clock advances one
 * nanosecond per guest instruction, so "ns per iteration" is the number of
 * guest instructions one iteration costs (whatever else ran on the one vCPU
 * meanwhile, such as a consumer draining the rings, is counted too).
 *
 * Usage: kestrel-bench LOOP ITERATIONS [RUNS]
 *   LOOP: getppid      getppid()
 *         openclose    openat(AT_FDCWD, "/etc/hostname", O_RDONLY) + close()
 *         stat         newfstatat(AT_FDCWD, "/etc/hostname", &st, 0)
 * Runs the loop RUNS times (default 5) after one warm-up pass of a tenth of
 * ITERATIONS and prints, on one line,
 *   BENCH LOOP ITERATIONS median=NS min=NS max=NS
 * with NS the ns (= instructions) per iteration of the median, fastest and
 * slowest run.  Raw syscall(2) calls: no libc wrapper choice in between.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RUNS_MAX 31

static const char path[] = "/etc/hostname";

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int loop(const char *what, long n)
{
	struct stat st;
	long i, fd;

	if (!strcmp(what, "getppid")) {
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if (!strcmp(what, "openclose")) {
		for (i = 0; i < n; i++) {
			fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
			if (fd < 0) {
				perror("openat /etc/hostname");
				return -1;
			}
			syscall(SYS_close, fd);
		}
	} else if (!strcmp(what, "stat")) {
		for (i = 0; i < n; i++) {
			if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0)) {
				perror("newfstatat /etc/hostname");
				return -1;
			}
		}
	} else {
		fprintf(stderr, "kestrel-bench: unknown loop '%s'\n", what);
		return -1;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long long t[RUNS_MAX], t0;
	long n, runs = 5, r;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: kestrel-bench getppid|openclose|stat ITERATIONS [RUNS]\n");
		return 2;
	}
	n = atol(argv[2]);
	if (argc == 4)
		runs = atol(argv[3]);
	if (n < 10 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "kestrel-bench: ITERATIONS >= 10, RUNS 1..%d\n", RUNS_MAX);
		return 2;
	}
	if (loop(argv[1], n / 10))
		return 1;
	for (r = 0; r < runs; r++) {
		t0 = now_ns();
		if (loop(argv[1], n))
			return 1;
		t[r] = now_ns() - t0;
	}
	qsort(t, runs, sizeof(t[0]), cmp);
	printf("BENCH %s %ld median=%llu min=%llu max=%llu\n", argv[1], n,
	       t[runs / 2] / n, t[0] / n, t[runs - 1] / n);
	return 0;
}
