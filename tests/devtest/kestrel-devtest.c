// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel-devtest - checks of /dev/kestrel's platform side, for the VM
 * scenarios (tests/vm/device_*.sh).  Each subcommand prints what it saw and
 * exits 0 only if the module behaved as kestrel_abi.h says:
 *
 *   info                 observer open: features, rings present, their
 *                        kernel memory and ids, one line of key=value
 *   fork-map             consumer open, map a ring, fork: the child must
 *                        not have the mapping (reading it faults) and
 *                        mprotect() must not make the data writable
 *   stale                consumer open, map every ring before START: every
 *                        head is 0 and every data byte is zero
 *   nsioctl              nsfs's NS_GET_PARENT (_IO(0xb7, 2), ABI 2's
 *                        START) gets ENOTTY and starts nothing
 *   flood N              a consumer that does not drain: record openat and
 *                        execve on CPU 0, make N opens, exec a child, N
 *                        more opens; the ring fills with opens, yet the
 *                        child's execve records are there (the headroom
 *                        kept for critical events) and none is dropped
 *   dropcaps CAPS -- CMD drop the comma-separated capabilities (sys_admin,
 *                        perfmon, bpf) from the bounding and inheritable
 *                        sets, so that CMD (exec'd as root) lacks them
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kestrel_abi.h"

#define DEV "/dev/kestrel"

static int die(const char *what)
{
	fprintf(stderr, "kestrel-devtest: %s: %s\n", what, strerror(errno));
	return 2;
}

static int open_dev(int flags, struct kestrel_info *info)
{
	int fd = open(DEV, flags);

	if (fd < 0)
		return -1;
	if (ioctl(fd, KESTREL_IOC_GET_INFO, info) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The ids of the rings that exist; returns how many (at most max). */
static int ring_ids(int fd, unsigned int *ids, int max)
{
	static struct kestrel_ring_map map;
	unsigned int i;
	int n = 0;

	if (ioctl(fd, KESTREL_IOC_GET_RINGS, &map) < 0)
		return -1;
	for (i = 0; i < map.nr_rings && i < KESTREL_MAX_CPUS && n < max; i++)
		if (map.present[i / 64] & (1ULL << (i % 64)))
			ids[n++] = i;
	return n;
}

static int cmd_info(void)
{
	struct kestrel_info info;
	unsigned int ids[64];
	int fd, n, i;

	fd = open_dev(O_RDONLY, &info);
	if (fd < 0)
		return die("observer open of " DEV);
	n = ring_ids(fd, ids, 64);
	if (n < 0)
		return die("GET_RINGS");
	printf("abi=%u features=%#llx nr_rings=%u rings_present=%u ring_bytes=%llu record_max=%u capturing=%u ids=",
	       info.abi_version, (unsigned long long)info.features,
	       info.nr_rings, info.rings_present,
	       (unsigned long long)info.ring_bytes, info.record_max,
	       info.capturing);
	for (i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", ids[i]);
	printf("\n");
	if ((unsigned int)n != info.rings_present) {
		fprintf(stderr, "GET_RINGS lists %d rings, GET_INFO says %u\n",
			n, info.rings_present);
		return 1;
	}
	return 0;
}

static sigjmp_buf fault_jmp;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* Whether /proc/self/maps has a mapping of /dev/kestrel. */
static int maps_have_device(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, DEV))
			found = 1;
	fclose(f);
	return found;
}

static int cmd_fork_map(void)
{
	struct kestrel_info info;
	unsigned int id;
	volatile uint64_t *cons;
	volatile uint8_t *prod;
	uint64_t base;
	int fd, status, bad = 0;
	pid_t pid;

	fd = open_dev(O_RDWR, &info);
	if (fd < 0)
		return die("consumer open of " DEV);
	if (ring_ids(fd, &id, 1) != 1)
		return die("GET_RINGS (no ring?)");
	base = (uint64_t)id * info.ring_stride;
	cons = mmap(NULL, info.page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, base + info.consumer_offset);
	prod = mmap(NULL, info.page_size + info.ring_size, PROT_READ, MAP_SHARED,
		    fd, base + info.producer_offset);
	if (cons == MAP_FAILED || prod == MAP_FAILED)
		return die("mmap of a ring");
	if (maps_have_device() != 1) {
		printf("FAIL: the parent's /proc/self/maps has no " DEV " mapping\n");
		return 1;
	}
	cons[1] = 4096;	/* wakeup_bytes: our page is writable */
	if (mprotect((void *)prod, info.page_size + info.ring_size,
		     PROT_READ | PROT_WRITE) == 0) {
		printf("FAIL: mprotect made the producer page and data writable\n");
		bad = 1;
	} else {
		printf("mprotect(PROT_WRITE) of the data refused: %s\n",
		       strerror(errno));
	}

	pid = fork();
	if (pid < 0)
		return die("fork");
	if (pid == 0) {
		int in_maps = maps_have_device();
		volatile uint64_t v = 0;

		if (in_maps != 0) {
			printf("FAIL: the child's /proc/self/maps has the " DEV " mapping\n");
			_exit(1);
		}
		signal(SIGSEGV, on_segv);
		signal(SIGBUS, on_segv);
		if (sigsetjmp(fault_jmp, 1) == 0) {
			v = cons[0];
			cons[0] = 0;
			printf("FAIL: the child read and wrote the consumer page (tail %llu)\n",
			       (unsigned long long)v);
			_exit(1);
		}
		printf("child: no " DEV " mapping, touching the consumer page faults\n");
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bad = 1;
	if (cons[1] != 4096) {
		printf("FAIL: the parent's consumer page changed\n");
		bad = 1;
	}
	printf("fork-map: %s\n", bad ? "FAIL" : "ok");
	return bad;
}

static int cmd_stale(void)
{
	struct kestrel_info info;
	unsigned int ids[64];
	uint64_t nonzero = 0, heads = 0, i;
	int fd, n, r;

	fd = open_dev(O_RDWR, &info);
	if (fd < 0)
		return die("consumer open of " DEV);
	n = ring_ids(fd, ids, 64);
	if (n <= 0)
		return die("GET_RINGS");
	for (r = 0; r < n; r++) {
		uint64_t base = (uint64_t)ids[r] * info.ring_stride;
		const uint8_t *p = mmap(NULL, info.page_size + info.ring_size,
					PROT_READ, MAP_SHARED, fd,
					base + info.producer_offset);
		const struct kestrel_ring_producer *prod = (const void *)p;
		uint64_t nz = 0;

		if (p == MAP_FAILED)
			return die("mmap of a ring");
		for (i = 0; i < info.ring_size; i++)
			nz += p[info.page_size + i] != 0;
		printf("ring %u: head %llu, %llu nonzero data bytes\n", ids[r],
		       (unsigned long long)prod->head,
		       (unsigned long long)nz);
		heads += prod->head != 0;
		nonzero += nz;
	}
	printf("stale: %d rings, %llu nonzero heads, %llu nonzero bytes\n", n,
	       (unsigned long long)heads, (unsigned long long)nonzero);
	return heads || nonzero;
}

static int cmd_nsioctl(void)
{
	struct kestrel_info info;
	int fd, rc;

	fd = open_dev(O_RDWR, &info);
	if (fd < 0)
		return die("consumer open of " DEV);
	rc = ioctl(fd, _IO(0xb7, 0x2));
	if (rc == 0 || errno != ENOTTY) {
		printf("FAIL: NS_GET_PARENT on " DEV " returned %d (%s), not ENOTTY\n",
		       rc, rc ? strerror(errno) : "success");
		return 1;
	}
	if (ioctl(fd, KESTREL_IOC_GET_INFO, &info) < 0)
		return die("GET_INFO");
	if (info.capturing) {
		printf("FAIL: NS_GET_PARENT started a capture\n");
		return 1;
	}
	printf("nsioctl: NS_GET_PARENT gets ENOTTY, nothing started (magic %#x)\n",
	       KESTREL_IOC_MAGIC);
	return 0;
}

static int cmd_flood(long n)
{
	struct kestrel_info info;
	struct kestrel_syscall_mask mask;
	struct kestrel_stats_req req;
	const struct kestrel_ring_producer *prod;
	const uint8_t *p, *data;
	uint64_t pos, execs = 0, opens = 0, other = 0;
	cpu_set_t cpus;
	long i, round;
	int fd, status;
	pid_t pid;

	/* everything on CPU 0, the ring we read */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
		return die("sched_setaffinity");
	fd = open_dev(O_RDWR, &info);
	if (fd < 0)
		return die("consumer open of " DEV);
	memset(&mask, 0, sizeof(mask));
	mask.bits[SYS_openat / 64] |= 1ULL << (SYS_openat % 64);
	mask.bits[SYS_execve / 64] |= 1ULL << (SYS_execve % 64);
	if (ioctl(fd, KESTREL_IOC_SET_MASK, &mask) < 0)
		return die("SET_MASK");
	p = mmap(NULL, info.page_size + info.ring_size, PROT_READ, MAP_SHARED,
		 fd, info.producer_offset);	/* ring 0 */
	if (p == MAP_FAILED)
		return die("mmap of ring 0");
	prod = (const void *)p;
	data = p + info.page_size;
	if (ioctl(fd, KESTREL_IOC_START) < 0)
		return die("START");
	for (round = 0; round < 2; round++) {
		for (i = 0; i < n; i++) {
			int f = openat(AT_FDCWD, "/dev/null", O_RDONLY);

			if (f >= 0)
				close(f);
		}
		if (round)
			break;
		pid = fork();
		if (pid < 0)
			return die("fork");
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0)
			return die("waitpid");
	}
	if (ioctl(fd, KESTREL_IOC_STOP) < 0)
		return die("STOP");
	/* nothing was consumed: the records lie in [0, head), no wrap */
	for (pos = 0; pos < prod->head && pos < info.ring_size;) {
		const struct kestrel_event_hdr *h = (const void *)(data + pos);

		if (h->len < 8 || h->len % 8)
			break;
		if (h->type == KESTREL_EVT_EXECVE || h->type == KESTREL_EVT_EXECVE_ENTER ||
		    h->type == KESTREL_EVT_PROC_EXEC)
			execs++;
		else if (h->type == KESTREL_EVT_OPENAT)
			opens++;
		else
			other++;
		pos += h->len;
	}
	memset(&req, 0, sizeof(req));
	if (ioctl(fd, KESTREL_IOC_GET_STATS, &req) < 0)
		return die("GET_STATS");
	printf("flood: ring 0 of %llu bytes, head %llu: %llu exec records, %llu openat, %llu other; attempted %llu, ring_full drops %llu, critical drops %llu\n",
	       (unsigned long long)info.ring_size, (unsigned long long)prod->head,
	       (unsigned long long)execs, (unsigned long long)opens,
	       (unsigned long long)other, (unsigned long long)req.stats.attempted,
	       (unsigned long long)req.stats.drop_ring_full,
	       (unsigned long long)req.stats.drop_critical);
	if (!req.stats.drop_ring_full) {
		printf("FAIL: the flood did not fill the ring (make N larger)\n");
		return 1;
	}
	if (execs < 2 || req.stats.drop_critical) {
		printf("FAIL: the exec records were pushed out by the flood\n");
		return 1;
	}
	return 0;
}

static int cap_number(const char *name)
{
	if (!strcmp(name, "sys_admin"))
		return CAP_SYS_ADMIN;
	if (!strcmp(name, "perfmon"))
		return 38;	/* CAP_PERFMON, absent from older headers */
	if (!strcmp(name, "bpf"))
		return 39;	/* CAP_BPF */
	return -1;
}

static int cmd_dropcaps(char *list, char **argv)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	char *name, *save = NULL;
	int cap;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return die("capget");
	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		cap = cap_number(name);
		if (cap < 0) {
			fprintf(stderr, "kestrel-devtest: unknown capability %s\n", name);
			return 2;
		}
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return die("PR_CAPBSET_DROP");
		data[cap / 32].inheritable &= ~(1U << (cap % 32));
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return die("capset");
	execvp(argv[0], argv);
	return die(argv[0]);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "info"))
		return cmd_info();
	if (argc == 2 && !strcmp(argv[1], "fork-map"))
		return cmd_fork_map();
	if (argc == 2 && !strcmp(argv[1], "stale"))
		return cmd_stale();
	if (argc == 2 && !strcmp(argv[1], "nsioctl"))
		return cmd_nsioctl();
	if (argc == 3 && !strcmp(argv[1], "flood"))
		return cmd_flood(atol(argv[2]));
	if (argc >= 5 && !strcmp(argv[1], "dropcaps") && !strcmp(argv[3], "--"))
		return cmd_dropcaps(argv[2], argv + 4);
	fprintf(stderr, "usage: kestrel-devtest info|fork-map|stale|nsioctl|flood N|dropcaps CAPS -- CMD...\n");
	return 2;
}
