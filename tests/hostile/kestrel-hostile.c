// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel-hostile: hostile userspace against /dev/kestrel, run in the VM
 * guest by tests/vm/hostile_device.sh (which also checks the kernel log).
 *
 *   kestrel-hostile device SEED ITER   as a consumer (root, every
 *       capability): hostile ioctl arguments (NULL, unmapped, kernel
 *       addresses, a struct straddling an unmapped page, bad sizes), ITER
 *       random ioctl numbers, mmap at wrong offsets and lengths (fixed
 *       cases, then ITER random ones checked against the layout rules),
 *       mprotect/mremap of the read-only pages to writable, stores into
 *       them, read/write/lseek on the device, a consumer page holding a
 *       tail far ahead of and far behind head (the module must clamp it,
 *       and the records after it must still parse), then threads racing
 *       ioctls and mmap/munmap.
 *   kestrel-hostile syscalls           hostile system calls for a capturing
 *       consumer to record (tests/vm/hostile_syscalls.sh checks the
 *       records): openat of an unmapped path (mode 3001), of a path that
 *       runs into an unmapped page without a NUL (3002), of one whose NUL
 *       is the last byte before an unmapped page (3003), of a 4095-byte
 *       path (3004); execve of busybox true with 5002 arguments, and with
 *       an argv whose third pointer is unmapped; connect on fds 101..106
 *       with address lengths 0, 7, 200 and -1, an unmapped address, and
 *       one that runs into an unmapped page.  Prints its pid.
 *   kestrel-hostile maskchange         a mask changed during capture
 *       attaches what it needs: START with getppid only (no fd_install
 *       kprobe), then SET_MASK adding openat and execve: the kprobe is
 *       listed, and the ring holds an execve entry record (sys_enter was
 *       attached) and the openat.
 *   kestrel-hostile opens              the opens that must be refused:
 *       a non-root user (mode 0600: EACCES; mode 0666: still EPERM, the
 *       capability check), root without CAP_SYS_ADMIN, CAP_PERFMON and
 *       CAP_BPF (EPERM), and an observer (read-only open) that tries the
 *       consumer's calls (EPERM) and poll (EPOLLERR).
 *
 * Every call must succeed where the ABI allows it and otherwise fail with
 * the errno named here; each mismatch is printed as "FAIL: ..." and makes
 * the exit status 1.  Static: the guest has no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kestrel_abi.h"

#define DEV "/dev/kestrel"
#define KADDR ((void *)0xffffffff81000000UL)	/* kernel text */

static int failures;
static long page;

#define FAILF(...)						\
	do {							\
		printf("FAIL: " __VA_ARGS__);			\
		printf("\n");					\
		failures++;					\
	} while (0)

/* rc must be -1 with errno want (0: rc must be >= 0). */
static void expect(const char *what, long rc, int want)
{
	int err = rc < 0 ? errno : 0;

	if (want == 0 && rc < 0)
		FAILF("%s: failed with %s, expected success", what, strerror(err));
	else if (want != 0 && rc >= 0)
		FAILF("%s: succeeded, expected %s", what, strerror(want));
	else if (want != 0 && err != want)
		FAILF("%s: %s, expected %s", what, strerror(err), strerror(want));
}

static uint64_t rng;
static uint64_t rnd(void)	/* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

/* A hostile pointer: NULL, low, unmapped, kernel, non-canonical, straddling. */
static char *edge;	/* a page followed by an unmapped page */
static void *bad_ptr(unsigned int k, size_t size)
{
	switch (k % 6) {
	case 0: return NULL;
	case 1: return (void *)16;
	case 2: return edge + page;		/* unmapped */
	case 3: return KADDR;
	case 4: return (void *)0x8000000000000000UL;	/* non-canonical */
	default: return edge + page - size / 2;	/* ends in the unmapped page */
	}
}

static sigjmp_buf fault_jmp;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/* A store to p must fault (SIGSEGV). */
static void expect_store_faults(const char *what, volatile char *p)
{
	if (sigsetjmp(fault_jmp, 1) == 0) {
		*p = 1;
		FAILF("%s: a store to a read-only ring page succeeded", what);
	}
}

struct dev {
	int fd;
	struct kestrel_info info;
	unsigned int ids[64];
	int nids;
};

static int open_consumer(struct dev *d)
{
	static struct kestrel_ring_map map;
	unsigned int i;

	d->fd = open(DEV, O_RDWR);
	if (d->fd < 0) {
		printf("FAIL: open %s: %s\n", DEV, strerror(errno));
		return -1;
	}
	if (ioctl(d->fd, KESTREL_IOC_GET_INFO, &d->info) < 0 ||
	    ioctl(d->fd, KESTREL_IOC_GET_RINGS, &map) < 0) {
		printf("FAIL: GET_INFO/GET_RINGS: %s\n", strerror(errno));
		return -1;
	}
	d->nids = 0;
	for (i = 0; i < map.nr_rings && i < KESTREL_MAX_CPUS && d->nids < 64; i++)
		if (map.present[i / 64] & (1ULL << (i % 64)))
			d->ids[d->nids++] = i;
	return d->nids > 0 ? 0 : -1;
}

/* --- ioctl ------------------------------------------------------------- */

static const unsigned long real_cmds[] = {
	KESTREL_IOC_ABI_VERSION, KESTREL_IOC_GET_INFO, KESTREL_IOC_START,
	KESTREL_IOC_STOP, KESTREL_IOC_SET_MASK, KESTREL_IOC_SET_SNAPLEN,
	KESTREL_IOC_GET_STATS, KESTREL_IOC_GET_RINGS,
};

static int is_real_cmd(unsigned long cmd)
{
	unsigned int i;

	for (i = 0; i < sizeof(real_cmds) / sizeof(real_cmds[0]); i++)
		if (cmd == real_cmds[i])
			return 1;
	return 0;
}

/* ioctl types the VFS answers itself before the driver (do_vfs_ioctl). */
static int vfs_type(unsigned int type)
{
	return type == 0 || type == 'f' || type == 'T' || type == 'X' ||
	       type == 0x94 || type == 0x15;
}

static void ioctls(struct dev *d, long iters)
{
	static const unsigned long argcmds[] = {
		KESTREL_IOC_ABI_VERSION, KESTREL_IOC_GET_INFO,
		KESTREL_IOC_SET_MASK, KESTREL_IOC_SET_SNAPLEN,
		KESTREL_IOC_GET_STATS, KESTREL_IOC_GET_RINGS,
	};
	static const size_t argsize[] = {
		4, sizeof(struct kestrel_info), sizeof(struct kestrel_syscall_mask),
		4, sizeof(struct kestrel_stats_req), sizeof(struct kestrel_ring_map),
	};
	struct kestrel_stats_req req;
	char what[160];
	unsigned int i, k;
	uint32_t v;
	long n;

	/* every command that takes a pointer, with every hostile pointer */
	for (i = 0; i < sizeof(argcmds) / sizeof(argcmds[0]); i++)
		for (k = 0; k < 6; k++) {
			snprintf(what, sizeof(what), "ioctl nr %lu with hostile pointer %u",
				 (argcmds[i] >> _IOC_NRSHIFT) & 0xff, k);
			expect(what, ioctl(d->fd, argcmds[i], bad_ptr(k, argsize[i])), EFAULT);
		}
	/* bad values */
	for (k = 0; k < 5; k++) {
		static const uint32_t snap[] = { 0, 1, KESTREL_SNAPLEN_MIN - 1,
						 KESTREL_SNAPLEN_MAX + 1, 0xffffffff };
		v = snap[k];
		snprintf(what, sizeof(what), "SET_SNAPLEN %u", v);
		expect(what, ioctl(d->fd, KESTREL_IOC_SET_SNAPLEN, &v), EINVAL);
	}
	memset(&req, 0, sizeof(req));
	req.cpu = d->info.nr_rings;
	expect("GET_STATS cpu == nr_rings", ioctl(d->fd, KESTREL_IOC_GET_STATS, &req), EINVAL);
	req.cpu = 0xffffffff;
	expect("GET_STATS cpu 0xffffffff", ioctl(d->fd, KESTREL_IOC_GET_STATS, &req), EINVAL);
	req.cpu = 0;
	req.__pad = 1;
	expect("GET_STATS with a non-zero pad", ioctl(d->fd, KESTREL_IOC_GET_STATS, &req), EINVAL);
	/* a known number with the wrong size or direction is another command */
	expect("GET_INFO with a 7-byte size",
	       ioctl(d->fd, _IOR(KESTREL_IOC_MAGIC, 1, char[7]), &req), ENOTTY);
	expect("SET_MASK as _IOR", ioctl(d->fd, _IOR(KESTREL_IOC_MAGIC, 4,
						      struct kestrel_syscall_mask), &req), ENOTTY);
	for (k = 8; k < 256; k++) {
		snprintf(what, sizeof(what), "unknown ioctl nr %u", k);
		expect(what, ioctl(d->fd, _IO(KESTREL_IOC_MAGIC, k), 0), ENOTTY);
	}
	/* random numbers and arguments: an error, or a real command */
	for (n = 0; n < iters; n++) {
		unsigned long cmd = (uint32_t)rnd();
		unsigned long arg;
		long rc;

		if (n % 2)	/* half of them with our magic */
			cmd = (cmd & ~(0xffUL << _IOC_TYPESHIFT)) |
			      ((unsigned long)KESTREL_IOC_MAGIC << _IOC_TYPESHIFT);
		if (vfs_type(_IOC_TYPE(cmd)) || is_real_cmd(cmd) ||
		    cmd == KESTREL_IOC_START)
			continue;
		arg = (n % 3) ? (unsigned long)bad_ptr(rnd(), 8) : rnd();
		rc = ioctl(d->fd, cmd, arg);
		if (rc >= 0 || (errno != ENOTTY && errno != EINVAL)) {
			snprintf(what, sizeof(what), "random ioctl 0x%lx arg 0x%lx", cmd, arg);
			expect(what, rc, ENOTTY);
		}
	}
	/* still a working device */
	expect("ABI_VERSION after the fuzzing", ioctl(d->fd, KESTREL_IOC_ABI_VERSION, &v), 0);
	if (v != KESTREL_ABI_VERSION)
		FAILF("ABI_VERSION now says %u", v);
	v = KESTREL_SNAPLEN_DEFAULT;
	expect("SET_SNAPLEN default", ioctl(d->fd, KESTREL_IOC_SET_SNAPLEN, &v), 0);
}

/* --- mmap -------------------------------------------------------------- */

static void *map_at(struct dev *d, unsigned long off, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, d->fd, off);
}

static void expect_map(const char *what, struct dev *d, unsigned long off,
		       size_t len, int prot, int flags, int want)
{
	void *p = map_at(d, off, len, prot, flags);

	expect(what, p == MAP_FAILED ? -1 : 0, want);
	if (p != MAP_FAILED)
		munmap(p, len);
}

static void mmaps(struct dev *d, long iters)
{
	unsigned long stride = d->info.ring_stride, base;
	unsigned long spages = stride / page;
	unsigned int nr = d->info.nr_rings, r = d->ids[0];
	char *prod, *cons, *moved;
	long n, mapped = 0;

	base = r * stride;
	expect_map("mmap of 0 bytes", d, base, 0, PROT_READ, MAP_SHARED, EINVAL);
	expect_map("consumer page, 2 pages", d, base, 2 * page, PROT_READ, MAP_SHARED, EINVAL);
	expect_map("consumer page, private writable", d, base, page,
		   PROT_READ | PROT_WRITE, MAP_PRIVATE, EINVAL);
	expect_map("producer page, shared writable", d, base + page, page,
		   PROT_READ | PROT_WRITE, MAP_SHARED, EPERM);
	expect_map("data, private writable", d, base + 2 * page, page,
		   PROT_READ | PROT_WRITE, MAP_PRIVATE, EPERM);
	expect_map("producer + data + one page more", d, base + page, stride,
		   PROT_READ, MAP_SHARED, EINVAL);
	expect_map("the last data page and the next ring's page", d,
		   base + stride - page, 2 * page, PROT_READ, MAP_SHARED, EINVAL);
	expect_map("ring nr_rings", d, (unsigned long)nr * stride, page,
		   PROT_READ, MAP_SHARED, EINVAL);
	expect_map("an unaligned offset", d, base + 1, page, PROT_READ, MAP_SHARED, EINVAL);
	if (map_at(d, ~0UL & ~(page - 1), page, PROT_READ, MAP_SHARED) != MAP_FAILED)
		FAILF("mmap at offset 2^64 - page succeeded");
	if (map_at(d, 0x7fffffffffff000UL, page, PROT_READ, MAP_SHARED) != MAP_FAILED)
		FAILF("mmap at a huge offset succeeded");

	/* random offsets and lengths: success exactly where the layout says */
	for (n = 0; n < iters; n++) {
		unsigned long ring = rnd() % (nr + 2);
		unsigned long part = rnd() % (spages + 1);
		unsigned long npages = 1 + rnd() % (n % 4 ? 4 : spages + 2);
		int prot = PROT_READ | (rnd() % 4 == 0 ? PROT_WRITE : 0);
		int flags = rnd() % 2 ? MAP_SHARED : MAP_PRIVATE;
		int present = 0, ok, i;
		char *p;

		for (i = 0; i < d->nids; i++)
			present |= d->ids[i] == ring;
		if (part == spages) {		/* the next ring's consumer page */
			part = 0;
			ring++;
			present = 0;
			for (i = 0; i < d->nids; i++)
				present |= d->ids[i] == ring;
		}
		if (part == 0)
			ok = npages == 1 && !(flags == MAP_PRIVATE && (prot & PROT_WRITE));
		else
			ok = npages <= spages - part && !(prot & PROT_WRITE);
		ok = ok && present;
		p = map_at(d, ring * stride + part * page, npages * page, prot, flags);
		if ((p != MAP_FAILED) != ok) {
			FAILF("mmap ring %lu page %lu, %lu pages, prot %d, %s: %s, expected %s",
			      ring, part, npages, prot, flags == MAP_SHARED ? "shared" : "private",
			      p == MAP_FAILED ? strerror(errno) : "mapped",
			      ok ? "a mapping" : "an error");
		}
		if (p != MAP_FAILED) {
			volatile char c = p[(npages - 1) * page];	/* readable */

			mapped++;
			(void)c;
			if (part > 0)
				expect_store_faults("random read-only mapping", p);
			munmap(p, npages * page);
		}
	}

	printf("# random mmaps: %ld mapped, %ld refused, each as the layout says\n",
	       mapped, iters - mapped);
	/* mprotect and mremap cannot make the read-only pages writable */
	prod = map_at(d, base + page, stride - page, PROT_READ, MAP_SHARED);
	if (prod == MAP_FAILED) {
		FAILF("mapping producer + data: %s", strerror(errno));
		return;
	}
	expect("mprotect producer + data to writable",
	       mprotect(prod, stride - page, PROT_READ | PROT_WRITE), EACCES);
	expect("mprotect one data page to writable",
	       mprotect(prod + page, page, PROT_READ | PROT_WRITE), EACCES);
	expect_store_faults("producer page", prod);
	expect_store_faults("data", prod + page);
	expect_store_faults("last data page", prod + stride - 2 * page);
	expect("mremap producer + data larger",
	       (long)mremap(prod, stride - page, stride + page, MREMAP_MAYMOVE) == -1 ? -1 : 0,
	       EFAULT);
	moved = mremap(prod, stride - page, stride - page, MREMAP_MAYMOVE | MREMAP_FIXED,
		       prod + 64 * stride);
	if (moved != MAP_FAILED) {
		expect("mprotect a moved mapping to writable",
		       mprotect(moved, page, PROT_READ | PROT_WRITE), EACCES);
		expect_store_faults("a moved mapping", moved + page);
		munmap(moved, stride - page);
	} else {
		munmap(prod, stride - page);
	}
	cons = map_at(d, base, page, PROT_READ, MAP_PRIVATE);
	if (cons == MAP_FAILED) {
		FAILF("mapping the consumer page private read-only: %s", strerror(errno));
	} else {
		expect("mprotect a private consumer page to writable",
		       mprotect(cons, page, PROT_READ | PROT_WRITE), EACCES);
		munmap(cons, page);
	}
}

/* --- the consumer page lies ---------------------------------------------- */

/* Records between from and to in data (size bytes) must parse. */
static int records_parse(const char *data, uint64_t size, uint64_t from, uint64_t to,
			 const char *when)
{
	uint64_t pos = from;
	long n = 0;

	while (pos < to) {
		const struct kestrel_event_hdr *h = (const void *)(data + (pos & (size - 1)));

		if (h->len < sizeof(*h) || h->len % 8 || h->len > to - pos ||
		    h->type >= KESTREL_EVT_MAX) {
			FAILF("%s: record at %llu: len %u type %u (head %llu)", when,
			      (unsigned long long)pos, h->len, h->type,
			      (unsigned long long)to);
			return -1;
		}
		pos += h->len;
		n++;
	}
	printf("# %s: %ld records parse between tail and head\n", when, n);
	return 0;
}

static void open_storm(int k)
{
	int i, fd;

	for (i = 0; i < k; i++) {
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
}

static void lying_tail(struct dev *d)
{
	struct kestrel_syscall_mask mask;
	struct kestrel_stats_req st;
	uint64_t size = d->info.ring_size, h0, h1;
	unsigned int r = d->ids[d->nids - 1];
	volatile struct kestrel_ring_consumer *cons;
	volatile struct kestrel_ring_producer *prod;
	const char *data;
	cpu_set_t cpus;
	char *area;

	CPU_ZERO(&cpus);
	CPU_SET(r, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0) {
		FAILF("pinning to cpu %u: %s", r, strerror(errno));
		return;
	}
	cons = map_at(d, r * d->info.ring_stride, page, PROT_READ | PROT_WRITE, MAP_SHARED);
	area = map_at(d, r * d->info.ring_stride + page, d->info.ring_stride - page,
		      PROT_READ, MAP_SHARED);
	if (cons == MAP_FAILED || area == MAP_FAILED) {
		FAILF("mapping ring %u: %s", r, strerror(errno));
		return;
	}
	prod = (void *)area;
	data = area + page;
	memset(&mask, 0, sizeof(mask));
	mask.bits[SYS_openat / 64] |= 1ULL << (SYS_openat % 64);
	mask.bits[SYS_close / 64] |= 1ULL << (SYS_close % 64);
	expect("SET_MASK openat,close", ioctl(d->fd, KESTREL_IOC_SET_MASK, &mask), 0);
	cons->wakeup_bytes = ~0ULL;		/* clamped too */
	expect("START", ioctl(d->fd, KESTREL_IOC_START, 0), 0);

	/* a tail far ahead of head: clamped to head, so nothing is lost */
	h0 = prod->head;
	cons->tail = h0 + (1ULL << 40);
	open_storm(200);
	h1 = prod->head;
	if (h1 <= h0)
		FAILF("tail ahead of head: head did not move (%llu)", (unsigned long long)h0);
	if (h1 - h0 > size)
		FAILF("tail ahead of head: head moved %llu bytes, more than the ring",
		      (unsigned long long)(h1 - h0));
	else
		records_parse(data, size, h0, h1, "tail 2^40 ahead of head");

	/* a tail far behind (and one that wraps): clamped to head - size */
	cons->tail = h1 - (1ULL << 50);
	open_storm(200);
	cons->tail = ~0ULL;
	open_storm(50);
	cons->tail = 0;
	open_storm(50);
	h0 = prod->head;

	/* an honest tail again: what follows parses, drops were counted */
	cons->tail = h0;
	open_storm(50);
	h1 = prod->head;
	if (h1 <= h0 || h1 - h0 > size)
		FAILF("honest tail: head moved from %llu to %llu",
		      (unsigned long long)h0, (unsigned long long)h1);
	else
		records_parse(data, size, h0, h1, "honest tail after lying ones");
	memset(&st, 0, sizeof(st));
	st.cpu = r;
	expect("GET_STATS", ioctl(d->fd, KESTREL_IOC_GET_STATS, &st), 0);
	expect("STOP", ioctl(d->fd, KESTREL_IOC_STOP, 0), 0);
	munmap((void *)cons, page);
	munmap(area, d->info.ring_stride - page);
}

/* --- threads racing -------------------------------------------------------- */

static struct dev *race_dev;
static volatile int race_stop;

static void *racer(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	struct kestrel_syscall_mask mask;
	struct kestrel_stats_req st;
	struct kestrel_info info;
	uint32_t v;

	while (!race_stop) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		switch (s % 8) {
		case 0: ioctl(race_dev->fd, KESTREL_IOC_START, 0); break;
		case 1: ioctl(race_dev->fd, KESTREL_IOC_STOP, 0); break;
		case 2:
			memset(&mask, (int)(s >> 8), sizeof(mask));
			ioctl(race_dev->fd, KESTREL_IOC_SET_MASK, &mask);
			break;
		case 3:
			v = (uint32_t)(s >> 16) % (2 * KESTREL_SNAPLEN_MAX);
			ioctl(race_dev->fd, KESTREL_IOC_SET_SNAPLEN, &v);
			break;
		case 4:
			memset(&st, 0, sizeof(st));
			st.cpu = (s >> 20) % (race_dev->info.nr_rings + 1);
			ioctl(race_dev->fd, KESTREL_IOC_GET_STATS, &st);
			break;
		case 5: ioctl(race_dev->fd, KESTREL_IOC_GET_INFO, &info); break;
		case 6: {
			unsigned long r = race_dev->ids[(s >> 24) % race_dev->nids];
			char *p = map_at(race_dev, r * race_dev->info.ring_stride, page,
					 PROT_READ | PROT_WRITE, MAP_SHARED);

			if (p != MAP_FAILED) {
				((volatile uint64_t *)p)[0] = s;	/* a random tail */
				munmap(p, page);
			}
			break;
		}
		default:
			open_storm(5);
			break;
		}
	}
	return NULL;
}

static void races(struct dev *d, int secs)
{
	pthread_t t[4];
	uintptr_t i;

	race_dev = d;
	race_stop = 0;
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, racer, (void *)(i + 1));
	sleep(secs);
	race_stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	expect("STOP after the races", ioctl(d->fd, KESTREL_IOC_STOP, 0), 0);
}

static int cmd_device(uint64_t seed, long iters)
{
	struct sigaction sa;
	struct dev d;
	char buf[64];

	rng = seed ? seed : 1;
	page = sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	edge = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (edge == MAP_FAILED || munmap(edge + page, page) < 0)
		return 2;
	if (open_consumer(&d) < 0)
		return 2;
	printf("# seed %llu, %ld iterations, %u rings of %llu bytes, %d present\n",
	       (unsigned long long)seed, iters, d.info.nr_rings,
	       (unsigned long long)d.info.ring_size, d.nids);
	expect("write() to the device", write(d.fd, buf, sizeof(buf)), EINVAL);
	expect("read() from the device", read(d.fd, buf, sizeof(buf)), EINVAL);
	expect("lseek() on the device", lseek(d.fd, 0, SEEK_SET), ESPIPE);
	expect("a second consumer open", open(DEV, O_RDWR), EBUSY);
	ioctls(&d, iters);
	printf("# ioctls done (%d failures)\n", failures);
	mmaps(&d, iters);
	printf("# mmaps done (%d failures)\n", failures);
	lying_tail(&d);
	printf("# lying tail done (%d failures)\n", failures);
	races(&d, 3);
	printf("# races done (%d failures)\n", failures);
	close(d.fd);
	/* the next consumer gets a working device */
	if (open_consumer(&d) < 0)
		FAILF("the device does not open again after the hostile consumer");
	else
		close(d.fd);
	printf("# %s: %d failures\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}

/* --- refused opens ------------------------------------------------------------- */

static int drop_caps(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	data[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	data[38 / 32].effective &= ~(1U << (38 % 32));	/* CAP_PERFMON */
	data[39 / 32].effective &= ~(1U << (39 % 32));	/* CAP_BPF */
	return syscall(SYS_capset, &hdr, data);
}

/* Run fn in a child; its exit status is its failure count. */
static void in_child(const char *what, void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		failures = 0;
		fn();
		_exit(failures > 100 ? 100 : failures);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		FAILF("%s: the child did not exit normally", what);
		return;
	}
	failures += WEXITSTATUS(status);
}

static void as_nobody_0600(void)
{
	if (setgid(65534) < 0 || setuid(65534) < 0) {
		FAILF("setuid nobody: %s", strerror(errno));
		return;
	}
	expect("non-root consumer open (mode 0600)", open(DEV, O_RDWR), EACCES);
	expect("non-root observer open (mode 0600)", open(DEV, O_RDONLY), EACCES);
}

static void as_nobody_0666(void)
{
	if (setgid(65534) < 0 || setuid(65534) < 0) {
		FAILF("setuid nobody: %s", strerror(errno));
		return;
	}
	expect("non-root consumer open (mode 0666)", open(DEV, O_RDWR), EPERM);
	expect("non-root observer open (mode 0666)", open(DEV, O_RDONLY), EPERM);
}

static void as_root_without_caps(void)
{
	if (drop_caps() < 0) {
		FAILF("capset: %s", strerror(errno));
		return;
	}
	expect("root consumer open without CAP_SYS_ADMIN/PERFMON/BPF", open(DEV, O_RDWR), EPERM);
	expect("root observer open without CAP_SYS_ADMIN/PERFMON", open(DEV, O_RDONLY), EPERM);
}

static void as_observer(void)
{
	struct kestrel_syscall_mask mask;
	struct kestrel_info info;
	struct pollfd pfd;
	uint32_t v = 512;
	int fd = open(DEV, O_RDONLY);

	if (fd < 0) {
		FAILF("observer open: %s", strerror(errno));
		return;
	}
	expect("observer GET_INFO", ioctl(fd, KESTREL_IOC_GET_INFO, &info), 0);
	memset(&mask, 0xff, sizeof(mask));
	expect("observer START", ioctl(fd, KESTREL_IOC_START, 0), EPERM);
	expect("observer STOP", ioctl(fd, KESTREL_IOC_STOP, 0), EPERM);
	expect("observer SET_MASK", ioctl(fd, KESTREL_IOC_SET_MASK, &mask), EPERM);
	expect("observer SET_SNAPLEN", ioctl(fd, KESTREL_IOC_SET_SNAPLEN, &v), EPERM);
	expect("observer mmap of the consumer page",
	       mmap(NULL, info.page_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
	       EPERM);
	expect("observer mmap of the data",
	       mmap(NULL, info.page_size, PROT_READ, MAP_SHARED, fd, 2 * info.page_size) ==
	       MAP_FAILED ? -1 : 0, EPERM);
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLERR))
		FAILF("observer poll: revents 0x%x, expected POLLERR", pfd.revents);
	close(fd);
}

static int cmd_opens(void)
{
	in_child("non-root, mode 0600", as_nobody_0600);
	if (chmod(DEV, 0666) < 0)
		return 2;
	in_child("non-root, mode 0666", as_nobody_0666);
	chmod(DEV, 0600);
	in_child("root without capabilities", as_root_without_caps);
	in_child("observer", as_observer);
	printf("# opens: %s: %d failures\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}

/* --- a mask changed during capture ------------------------------------------ */

static int kprobe_listed(const char *sym)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/sys/kernel/debug/kprobes/list", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, sym) != NULL;
	fclose(f);
	return found;
}

static int cmd_maskchange(void)
{
	struct kestrel_syscall_mask mask;
	const struct kestrel_ring_producer *prod;
	const char *data;
	uint64_t pos, h0, h1, size;
	int execs = 0, opens = 0, st, fd;
	unsigned int r;
	cpu_set_t cpus;
	struct dev d;
	char *area;
	pid_t child;

	page = sysconf(_SC_PAGESIZE);
	if (open_consumer(&d) < 0)
		return 2;
	r = d.ids[d.nids - 1];
	CPU_ZERO(&cpus);
	CPU_SET(r, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) < 0)
		return 2;
	area = map_at(&d, r * d.info.ring_stride + page, d.info.ring_stride - page,
		      PROT_READ, MAP_SHARED);
	if (area == MAP_FAILED)
		return 2;
	prod = (const void *)area;
	data = area + page;
	size = d.info.ring_size;
	memset(&mask, 0, sizeof(mask));
	mask.bits[SYS_getppid / 64] |= 1ULL << (SYS_getppid % 64);
	expect("SET_MASK getppid", ioctl(d.fd, KESTREL_IOC_SET_MASK, &mask), 0);
	expect("START", ioctl(d.fd, KESTREL_IOC_START, 0), 0);
	if (kprobe_listed("fd_install") != 0)
		FAILF("fd_install kprobe listed (or no kprobes list) with only getppid selected");
	mask.bits[SYS_openat / 64] |= 1ULL << (SYS_openat % 64);
	mask.bits[SYS_execve / 64] |= 1ULL << (SYS_execve % 64);
	expect("SET_MASK + openat, execve during capture",
	       ioctl(d.fd, KESTREL_IOC_SET_MASK, &mask), 0);
	if (kprobe_listed("fd_install") != 1)
		FAILF("no fd_install kprobe after openat was selected during capture");
	h0 = prod->head;
	fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0)
		close(fd);
	child = fork();
	if (child == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(99);
	}
	waitpid(child, &st, 0);
	h1 = __atomic_load_n(&prod->head, __ATOMIC_ACQUIRE);
	if (h1 - h0 > size)
		FAILF("the ring wrapped");
	for (pos = h0; pos < h1 && h1 - h0 <= size;) {
		const struct kestrel_event_hdr *h = (const void *)(data + (pos & (size - 1)));

		if (h->len < sizeof(*h) || h->len % 8) {
			FAILF("bad record at %llu", (unsigned long long)pos);
			break;
		}
		if (h->type == KESTREL_EVT_EXECVE_ENTER && h->pid == (uint32_t)child)
			execs++;
		if (h->type == KESTREL_EVT_OPENAT && h->pid == (uint32_t)getpid())
			opens++;
		pos += h->len;
	}
	printf("# mask changed during capture: %d execve entry records of the child, %d openat records\n",
	       execs, opens);
	if (execs != 1)
		FAILF("%d execve entry records after execve was selected during capture, want 1", execs);
	if (opens != 1)
		FAILF("%d openat records of /etc/hostname, want 1", opens);
	expect("STOP", ioctl(d.fd, KESTREL_IOC_STOP, 0), 0);
	if (kprobe_listed("fd_install") != 0)
		FAILF("fd_install kprobe still listed after STOP");
	close(d.fd);
	printf("# maskchange: %d failures\n", failures);
	return failures ? 1 : 0;
}

/* --- hostile syscalls for a capturing consumer ------------------------------ */

static int cmd_syscalls(void)
{
	static const char ok_path[] = "/tmp/hostile-edge-ok";
	struct sockaddr_in sin;
	static char *bigargv[5004];
	char *badargv[5];
	char *e, *big;
	pid_t child;
	int i, fd, st;

	page = sysconf(_SC_PAGESIZE);
	edge = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (edge == MAP_FAILED || munmap(edge + page, page) < 0)
		return 2;
	e = edge + page;
	printf("pid %d\n", getpid());
	fflush(stdout);

	/* 3001: an unmapped path */
	syscall(SYS_openat, AT_FDCWD, e, O_RDONLY, 3001);
	/* 3002: a path that runs into the unmapped page, no NUL */
	memset(edge, 'Z', page);
	memcpy(e - 64, "/tmp/hostile-edge-noterm-", 25);
	syscall(SYS_openat, AT_FDCWD, e - 64, O_RDONLY, 3002);
	/* 3003: the NUL is the last mapped byte */
	memcpy(e - sizeof(ok_path), ok_path, sizeof(ok_path));
	syscall(SYS_openat, AT_FDCWD, e - sizeof(ok_path), O_RDONLY, 3003);
	/* 3004: 4095 bytes of path */
	big = malloc(4096);
	if (!big)
		return 2;
	big[0] = '/';
	memset(big + 1, 'p', 4094);
	big[4095] = 0;
	syscall(SYS_openat, AT_FDCWD, big, O_RDONLY, 3004);

	/* execve with 5002 arguments, the last one telling */
	bigargv[0] = "true";
	for (i = 1; i <= 5000; i++)
		bigargv[i] = "x";
	bigargv[5001] = "LAST-ARG";
	bigargv[5002] = NULL;
	child = fork();
	if (child == 0) {
		syscall(SYS_execve, "/bin/true", bigargv, (char *[]){ NULL });
		_exit(99);
	}
	waitpid(child, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FAILF("execve with 5002 arguments did not run true (status 0x%x)", st);
	printf("bigexec %d\n", child);
	/* execve whose argv has an unmapped third pointer: EFAULT */
	badargv[0] = "true";
	badargv[1] = "BEFORE-BAD";
	badargv[2] = e;
	badargv[3] = "AFTER-BAD";
	badargv[4] = NULL;
	errno = 0;
	if (syscall(SYS_execve, "/bin/true", badargv, (char *[]){ NULL }) != -1 ||
	    errno != EFAULT)
		FAILF("execve with an unmapped argv pointer: %s", strerror(errno));

	/* connect with odd address lengths, on fds 101..106 */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5555);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	for (i = 0; i < 6; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || dup2(fd, 101 + i) < 0)
			return 2;
		close(fd);
	}
	syscall(SYS_connect, 101, &sin, 0);
	syscall(SYS_connect, 102, &sin, 7);
	syscall(SYS_connect, 103, &sin, 200);
	syscall(SYS_connect, 104, &sin, -1);
	syscall(SYS_connect, 105, e, sizeof(sin));
	memcpy(e - 8, &sin, 8);
	syscall(SYS_connect, 106, e - 8, sizeof(sin));
	printf("# syscalls: %d failures\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "maskchange"))
		return cmd_maskchange();
	if (argc == 2 && !strcmp(argv[1], "syscalls"))
		return cmd_syscalls();
	if (argc == 4 && !strcmp(argv[1], "device"))
		return cmd_device(strtoull(argv[2], NULL, 0), atol(argv[3]));
	if (argc == 2 && !strcmp(argv[1], "opens"))
		return cmd_opens();
	fprintf(stderr, "usage: kestrel-hostile device SEED ITER | syscalls | maskchange | opens\n");
	return 2;
}
