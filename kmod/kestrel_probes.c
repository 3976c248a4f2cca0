// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel_probes.c - tracepoint probes and the per-syscall fillers.
 *
 * Probes: sys_enter (entry records, and the copy of an exit event's input
 * arguments, see "Arguments copied at syscall entry"), sys_exit (exit
 * records), sched_process_fork/exec/exit (procfork, procexec and a
 * successful exec's exit record, procexit), and a kprobe on fd_install (a
 * successful open's record, with the file the open created).  32-bit
 * syscalls are mapped to their x86_64 twins first (KESTREL_COMPAT_TABLE).
 *
 * Probes run with preemption disabled (the tracepoint disables it; we nest a
 * preempt_disable_notrace() so the code stays correct should that change),
 * never sleep, take no lock that sleeps on PREEMPT_RT (spinlocks are only
 * tried there), and read user memory only with copy_from_user_nofault() and
 * kestrel_strncpy_nofault() (page faults disabled).
 * Every copy is bounded by snaplen and by the space reserved in the ring;
 * every loop is bounded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/audit.h>
#include <linux/binfmts.h>
#include <linux/cgroup.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/ipc.h>
#include <linux/hash.h>
#include <linux/kprobes.h>
#include <linux/kdev_t.h>
#include <linux/kernfs.h>
#include <linux/mman.h>
#include <linux/net.h>
#include <linux/pid_namespace.h>
#include <linux/tty.h>
#include <linux/tty_driver.h>
#include <linux/un.h>
#include <linux/version.h>
#include <linux/vmalloc.h>
#include <net/af_unix.h>
#include <net/inet_sock.h>
#include <net/sock.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/openat2.h>
#include <linux/path.h>
#include <linux/rcupdate.h>
#include <linux/seqlock.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "kestrel_ring.h"
#include "kestrel_probes.h"

u64 kestrel_mask[KESTREL_MASK_WORDS];
u32 kestrel_snaplen = KESTREL_SNAPLEN_DEFAULT;

/*
 * User memory is copied through this much stack, never straight into the
 * ring: with CONFIG_HARDENED_USERCOPY a copy into vmalloc memory looks the
 * area up under a global spinlock on some kernels, a stack check is free.
 */
#define KESTREL_BOUNCE		256

/*
 * Debian's kernels (and most distributions') build with
 * CONFIG_INIT_STACK_ALL_ZERO: every local array is zeroed at each call.
 * The probes' bounce buffers and per-parameter tables are written before
 * they are read, and only the bytes written ever reach the ring, so they
 * are exempt (__uninitialized; older headers lack the macro).
 */
#ifndef __uninitialized
#define __uninitialized
#endif

/* ------------------------------------------------------------------------ */
/* Entering and leaving a ring                                              */

/*
 * Take this CPU's ring for one probe.  ring->busy is a recursion guard: a
 * probe that nests inside another on the same CPU (from an interrupt or NMI)
 * must not touch the ring the outer one is writing, so it only counts itself
 * in ring->nested and leaves.  busy is only ever accessed by its own CPU, so
 * compiler barriers order it against the ring accesses.
 */
static __always_inline struct kestrel_ring *kestrel_enter(void)
{
	struct kestrel_ring *ring;

	preempt_disable_notrace();
	ring = kestrel_rings[smp_processor_id()];
	if (unlikely(READ_ONCE(ring->busy))) {
		local_inc(&ring->nested);
		preempt_enable_notrace();
		return NULL;
	}
	WRITE_ONCE(ring->busy, 1);
	barrier(); /* set busy before touching the ring (same CPU only) */
	if (unlikely(local_read(&ring->nested)))
		kestrel_ring_fold_nested(ring);
	return ring;
}

static __always_inline void kestrel_leave(struct kestrel_ring *ring)
{
	barrier(); /* finish with the ring before clearing busy (same CPU) */
	WRITE_ONCE(ring->busy, 0);
	preempt_enable_notrace();
}

/* ------------------------------------------------------------------------ */
/* User memory                                                              */

/*
 * Copy up to n bytes from user memory to dst, a page piece at a time.
 * Returns the bytes copied before the first unreadable one.
 */
static u32 kestrel_read_ubytes(u8 *dst, const void __user *src, u32 n)
{
	u8 buf[KESTREL_BOUNCE] __uninitialized;	/* only copied bytes read */
	unsigned long addr;
	u32 done = 0, chunk;

	while (done < n) {	/* each pass copies >= 1 byte or returns */
		addr = (unsigned long)src + done;
		chunk = min_t(u32, n - done, KESTREL_BOUNCE);
		chunk = min_t(u32, chunk, PAGE_SIZE - offset_in_page(addr));
		if (copy_from_user_nofault(buf, (const void __user *)addr,
					   chunk))
			break;
		memcpy(dst + done, buf, chunk);
		done += chunk;
	}
	return done;
}

/*
 * strncpy_from_user() with page faults disabled: a fault ends the copy with
 * -EFAULT instead of sleeping.  (strncpy_from_user_nofault() does this, but
 * is not exported to modules.)  Probes run in task context (syscall and
 * sched tracepoints, never NMI), where current's mm is the one loaded, so
 * the NMI check of the _nofault helpers is not needed.  Returns the length
 * if a NUL came before count bytes, count if not, or -EFAULT.
 */
static long kestrel_strncpy_nofault(char *dst, const char __user *src,
				    long count)
{
	long n;

	pagefault_disable();
	n = strncpy_from_user(dst, src, count);
	pagefault_enable();
	return n;
}

/*
 * Copy a NUL-terminated user string to dst without its NUL, at most max
 * bytes.  Returns its length, or -EFAULT if any of it is unreadable.
 * *trunc is set if the string is longer than max.
 *
 * kestrel_strncpy_nofault() reads a word at a time and stops at the NUL
 * (copying a whole bounce buffer and searching it cost several times more
 * for a short path).  Its result, for count c: the length when the NUL came
 * before byte c, c when it did not.  Asking for one byte more than we keep
 * makes every answer exact.  It still goes through the stack: with
 * CONFIG_HARDENED_USERCOPY, a user copy into vmalloc memory (the ring)
 * looks the area up under a global spinlock on some kernels.
 */
static long kestrel_read_ustr(u8 *dst, const char __user *src, u32 max,
			      bool *trunc)
{
	char buf[KESTREL_BOUNCE + 1] __uninitialized;	/* only copied bytes read */
	u32 done = 0, chunk;
	char *nul;
	long n;

	*trunc = false;
	while (done < max) {	/* each pass copies >= 1 byte or returns */
		chunk = min_t(u32, max - done, KESTREL_BOUNCE);
		n = kestrel_strncpy_nofault(buf, src + done, chunk + 1);
		if (n >= 0 && n <= chunk) {	/* the NUL is in this chunk */
			memcpy(dst + done, buf, n);
			return done + n;
		}
		if (n < 0) {
			/*
			 * In the last chunk, the byte past max may be the
			 * one that faulted: then the string is cut, not
			 * unreadable.
			 */
			if (done + chunk < max ||
			    copy_from_user_nofault(buf, src + done, chunk))
				return -EFAULT;
			nul = memchr(buf, 0, chunk);
			n = nul ? nul - buf : chunk;
			memcpy(dst + done, buf, n);
			*trunc = !nul;
			return done + n;
		}
		memcpy(dst + done, buf, chunk);	/* no NUL in chunk bytes */
		done += chunk;
	}
	/* max bytes and no NUL yet: cut, unless the NUL comes right after */
	if (copy_from_user_nofault(buf, src + max, 1) || buf[0])
		*trunc = true;
	return done;
}

/* ------------------------------------------------------------------------ */
/* Parameters                                                               */

static u32 kestrel_room(const struct kestrel_rec *r)
{
	return r->end - r->pos;
}

/* The most bytes a variable-length parameter may take now. */
static u32 kestrel_param_max(const struct kestrel_rec *r)
{
	return min3(r->snaplen, (u32)KESTREL_PARAM_LEN_MASK, kestrel_room(r));
}

static void kestrel_put_done(struct kestrel_rec *r, u32 len, u16 flags)
{
	struct kestrel_cpu_stats *s = &r->ring->stats;

	if (r->idx >= r->nparams)	/* cannot happen: fillers match NP_* */
		return;
	r->lens[r->idx++] = len | flags;
	r->pos += len;
	if (flags & KESTREL_PARAM_FAULT)
		kestrel_stat_add(&s->param_faults, 1);
	if (flags & KESTREL_PARAM_TRUNCATED)
		kestrel_stat_add(&s->param_truncated, 1);
}

static void kestrel_put_fault(struct kestrel_rec *r)
{
	kestrel_put_done(r, 0, KESTREL_PARAM_FAULT);
}

static void kestrel_put_val(struct kestrel_rec *r, const void *v, u32 n)
{
	if (kestrel_room(r) < n) {	/* cannot happen: reserved */
		kestrel_put_fault(r);
		return;
	}
	memcpy(r->pos, v, n);
	kestrel_put_done(r, n, 0);
}

static void kestrel_put_u32(struct kestrel_rec *r, u32 v)
{
	kestrel_put_val(r, &v, sizeof(v));
}

static void kestrel_put_u64(struct kestrel_rec *r, u64 v)
{
	kestrel_put_val(r, &v, sizeof(v));
}

static void kestrel_put_s64(struct kestrel_rec *r, s64 v)
{
	kestrel_put_val(r, &v, sizeof(v));
}

/* Kernel bytes, cut at snaplen. */
static void kestrel_put_kbytes(struct kestrel_rec *r, const void *p, u32 len)
{
	u32 n = min(len, kestrel_param_max(r));

	memcpy(r->pos, p, n);
	kestrel_put_done(r, n, n < len ? KESTREL_PARAM_TRUNCATED : 0);
}

/* A kernel string, cut at snaplen. */
static void kestrel_put_kstr(struct kestrel_rec *r, const char *s)
{
	u32 max = kestrel_param_max(r);
	u32 n;

	if (!s) {
		kestrel_put_fault(r);
		return;
	}
	n = strnlen(s, max);
	memcpy(r->pos, s, n);
	kestrel_put_done(r, n, n == max && s[n] ? KESTREL_PARAM_TRUNCATED : 0);
}

/* A user string. */
static void kestrel_put_ustr(struct kestrel_rec *r, const char __user *u)
{
	bool trunc;
	long n;

	n = kestrel_read_ustr(r->pos, u, kestrel_param_max(r), &trunc);
	if (n < 0)
		kestrel_put_fault(r);
	else
		kestrel_put_done(r, n, trunc ? KESTREL_PARAM_TRUNCATED : 0);
}

/*
 * len user bytes, at most cap of them and, when snap, at most snaplen;
 * cut ones are flagged truncated.
 */
static void kestrel_put_ubytes_max(struct kestrel_rec *r,
				   const void __user *u, u64 len, u32 cap,
				   bool snap)
{
	u32 max = snap ? kestrel_param_max(r) :
		  min_t(u32, KESTREL_PARAM_LEN_MASK, kestrel_room(r));
	u32 n = min_t(u64, len, min(cap, max));
	u32 got;

	if (!len) {
		kestrel_put_done(r, 0, 0);
		return;
	}
	got = n ? kestrel_read_ubytes(r->pos, u, n) : 0;
	if (!got)
		kestrel_put_fault(r);
	else
		kestrel_put_done(r, got,
				 got < len ? KESTREL_PARAM_TRUNCATED : 0);
}

/*
 * Pointer i of a user array of string pointers: 64-bit, or 32-bit
 * (compat_uptr_t) for a 32-bit caller.  Returns false if unreadable.
 */
static bool kestrel_uptr_at(const void __user *arr, u32 i, bool compat,
			    const char __user **p)
{
#ifdef CONFIG_COMPAT
	compat_uptr_t p32;

	if (compat) {
		if (copy_from_user_nofault(&p32,
				(const compat_uptr_t __user *)arr + i,
				sizeof(p32)))
			return false;
		*p = compat_ptr(p32);
		return true;
	}
#endif
	return !copy_from_user_nofault(p,
			(const char __user *const __user *)arr + i,
			sizeof(*p));
}

/*
 * argv and environment lists
 * --------------------------
 * A list is written as its items, each followed by a NUL (as
 * /proc/PID/cmdline), bounded per item and in count so that padding can
 * push neither the real command (last) nor a variable such as LD_PRELOAD
 * out of view: of n items at most KESTREL_ARGV_FIRST from the start and
 * KESTREL_ARGV_LAST from the end are kept (fewer at a small snaplen: at
 * most one per two bytes, a quarter of them from the end), and the bytes
 * left (snaplen
 * less the NULs and the trailer) are shared among the kept items, each
 * taking at most an even share of what is left when its turn comes (a
 * short item leaves its unused share to the next).  When an item was cut
 * or items were left out the parameter is flagged truncated and a trailer
 * follows the items (see KESTREL_PARAM_KINDS in kestrel_abi.h): one bit per
 * kept item (set: cut), the number of items left out, the number kept
 * before that gap and the number kept.
 */
#define KESTREL_ARGV_FIRST	24
#define KESTREL_ARGV_LAST	8
#define KESTREL_ARGV_KEPT	(KESTREL_ARGV_FIRST + KESTREL_ARGV_LAST)
/* Pointers read to find the end of a user array (the last items). */
#define KESTREL_ARGV_SCAN	4096
#define KESTREL_ARGV_TRAILER	(KESTREL_ARGV_KEPT / 8 + 4 + 2 + 2)
/* omitted count when the list's end could not be found */
#define KESTREL_ARGV_UNKNOWN	0xffffffffU
/* The longest item the kernel accepts for exec (MAX_ARG_STRLEN). */
#define KESTREL_ARG_STRLEN	(32 * PAGE_SIZE)

/* Where a list's items are. */
struct kestrel_argv_src {
	const void __user *arr;	/* a NULL-terminated user pointer array */
	bool compat;		/* ... of 32-bit pointers */
	unsigned long start;	/* or else: a user area of NUL-terminated */
	unsigned long end;	/* items (a new image's, n of them) */
	u32 n;
};

/* strnlen_user() without faulting: length with its NUL, 0 on a fault. */
static long kestrel_strnlen_nofault(unsigned long addr, long max)
{
	long n;

	pagefault_disable();
	n = strnlen_user((const char __user *)addr, max);
	pagefault_enable();
	return n;
}

/*
 * Start of the item whose NUL is at nul, no lower than lo and at most
 * KESTREL_ARG_STRLEN back; 0 if unreadable.
 */
static unsigned long kestrel_item_start_back(unsigned long lo,
					     unsigned long nul)
{
	unsigned long p = nul, floor = nul > lo + KESTREL_ARG_STRLEN ?
				      nul - KESTREL_ARG_STRLEN : lo;
	u8 buf[KESTREL_BOUNCE];
	u32 chunk, j;

	while (p > floor) {	/* each pass moves p down or returns */
		chunk = min_t(unsigned long, p - floor, KESTREL_BOUNCE);
		chunk = min_t(u32, chunk,
			      offset_in_page(p) ? offset_in_page(p) : PAGE_SIZE);
		if (copy_from_user_nofault(buf, (const void __user *)(p - chunk),
					   chunk))
			return 0;
		for (j = chunk; j > 0; j--)
			if (!buf[j - 1])
				return p - chunk + j;
		p -= chunk;
	}
	return floor;
}

static void kestrel_put_argv(struct kestrel_rec *r,
			     const struct kestrel_argv_src *src)
{
	u32 max = kestrel_param_max(r), text_left, done = 0, k, n, kept, first;
	u32 cap;
	unsigned long last_addr[KESTREL_ARGV_LAST];
	u8 cut[KESTREL_ARGV_KEPT / 8] = { 0 };
	unsigned long cursor = src->start, a;
	const char __user *p;
	u32 omitted = 0, share;
	bool t, trailer;
	u16 v16;
	long len;

	if (!src->arr && !src->start) {	/* execve(path, NULL, ...) */
		kestrel_put_done(r, 0, 0);
		return;
	}
	/* each kept item takes at least a byte and its NUL */
	cap = max > KESTREL_ARGV_TRAILER ?
	      min_t(u32, KESTREL_ARGV_KEPT, (max - KESTREL_ARGV_TRAILER) / 2) : 0;
	if (!cap) {
		kestrel_put_fault(r);	/* no room (snaplen is >= 16) */
		return;
	}
	/* how many items, and which are kept */
	if (src->arr) {
		for (n = 0; n < KESTREL_ARGV_SCAN; n++) {
			if (!kestrel_uptr_at(src->arr, n, src->compat, &p)) {
				if (!n) {
					kestrel_put_fault(r);
					return;
				}
				omitted = KESTREL_ARGV_UNKNOWN;
				break;
			}
			if (!p)
				break;
		}
		if (n == KESTREL_ARGV_SCAN)
			omitted = KESTREL_ARGV_UNKNOWN;
	} else {
		n = src->n;
	}
	if (omitted == KESTREL_ARGV_UNKNOWN) {	/* the end is not known */
		kept = min(n, cap);
		first = kept;
	} else if (n > cap) {
		kept = cap;
		/* KESTREL_ARGV_LAST of KESTREL_ARGV_KEPT, a quarter of less */
		first = cap - min_t(u32, KESTREL_ARGV_LAST, cap / 4);
		omitted = n - kept;
	} else {
		kept = n;
		first = n;
	}
	/* a new image's last items, found backwards from the area's end */
	if (!src->arr && kept > first) {
		a = src->end;
		for (k = kept; k > first; k--) {
			a = a > src->start ?
			    kestrel_item_start_back(src->start, a - 1) : 0;
			last_addr[k - first - 1] = a;
			if (!a)
				break;
		}
	}
	/* text bytes: room less one NUL per kept item and the trailer */
	text_left = max - KESTREL_ARGV_TRAILER - kept;
	for (k = 0; k < kept; k++) {
		share = text_left / (kept - k);
		if (src->arr) {
			u32 idx = k < first ? k : n - (kept - k);

			if (!kestrel_uptr_at(src->arr, idx, src->compat, &p))
				p = NULL;
		} else if (k < first) {
			p = cursor < src->end ? (const char __user *)cursor :
						NULL;
		} else {
			a = last_addr[k - first];
			p = a ? (const char __user *)a : NULL;
		}
		len = p && share ? kestrel_read_ustr(r->pos + done, p, share,
						     &t) : -EFAULT;
		if (len < 0) {		/* unreadable: an empty, cut item */
			len = 0;
			t = true;
		}
		if (!src->arr && k < first) {	/* step to the next item */
			if (!t) {
				cursor += len + 1;
			} else {
				long full = kestrel_strnlen_nofault(cursor,
					min_t(unsigned long, src->end - cursor,
					      KESTREL_ARG_STRLEN));
				cursor = full > 0 ? cursor + full : src->end;
			}
		}
		done += len;
		text_left -= len;
		r->pos[done++] = '\0';
		if (t)
			cut[k / 8] |= 1 << (k % 8);
	}
	trailer = omitted;
	for (k = 0; k < sizeof(cut); k++)
		trailer |= cut[k];
	if (!trailer) {
		kestrel_put_done(r, done, 0);
		return;
	}
	memcpy(r->pos + done, cut, DIV_ROUND_UP(kept, 8));
	done += DIV_ROUND_UP(kept, 8);
	memcpy(r->pos + done, &omitted, sizeof(omitted));
	done += sizeof(omitted);
	v16 = first;
	memcpy(r->pos + done, &v16, sizeof(v16));
	done += sizeof(v16);
	v16 = kept;
	memcpy(r->pos + done, &v16, sizeof(v16));
	done += sizeof(v16);
	kestrel_put_done(r, done, KESTREL_PARAM_TRUNCATED);
}

/* A user array of string pointers (32-bit ones when compat). */
static void kestrel_put_uargv(struct kestrel_rec *r, const void __user *argv,
			      bool compat)
{
	struct kestrel_argv_src src = { .arr = argv, .compat = compat };

	kestrel_put_argv(r, &src);
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */

/*
 * Begin an event whose variable parameters are bounded by snaplen, the value
 * its payload_max was computed from (read once per event).
 */
static bool kestrel_begin(struct kestrel_rec *r, struct kestrel_ring *ring,
			  u16 type, u32 nparams, u64 payload_max, u32 snaplen)
{
	if (!kestrel_rec_begin(r, ring, type, nparams,
			       min_t(u64, payload_max, U32_MAX)))
		return false;
	r->snaplen = snaplen;
	return true;
}

#define KESTREL_SOCKADDR_MAX	128

/* ------------------------------------------------------------------------ */
/* The event table, expanded                                                */

/* One parameter of an event: its kind and the kind's a and b. */
struct kestrel_pdesc {
	u8 kind;
	u8 a;
	u8 b;
};

/* One event: its parameters (kind 0 ends the list). */
struct kestrel_edesc {
	u8 nparams;
	const struct kestrel_pdesc *params;
};

#define KESTREL_PD_(kind, name, a, b, fmt)	{ KESTREL_PK_##kind, a, b },
#define KESTREL_PNOP_(...)
#define KESTREL_PD_ARRAY_(id, nr, name, dir, sc, params)		\
	static const struct kestrel_pdesc kestrel_pd_##id[] = { params { 0 } };
KESTREL_EVENT_TABLE(KESTREL_PD_ARRAY_, KESTREL_PD_)

#define KESTREL_ED_(id, nr, name, dir, sc, params)			\
	[KESTREL_EVT_##id] = { ARRAY_SIZE(kestrel_pd_##id) - 1,		\
			       kestrel_pd_##id },
static const struct kestrel_edesc kestrel_events[KESTREL_EVT_MAX] = {
	KESTREL_EVENT_TABLE(KESTREL_ED_, KESTREL_PNOP_)
};

/* Syscall number -> event recorded at its exit / entry (0: none). */
#define KESTREL_MAP_X_(id, sc)	[__NR_##sc] = KESTREL_EVT_##id,
#define KESTREL_MAP_E_(id, sc)
#define KESTREL_MAP_K_(id, sc)
#define KESTREL_XMAP_(id, nr, name, dir, sc, params)	KESTREL_MAP_##dir##_(id, sc)
static const u8 kestrel_exit_event[KESTREL_MAX_SYSCALLS] = {
	KESTREL_EVENT_TABLE(KESTREL_XMAP_, KESTREL_PNOP_)
};
#undef KESTREL_MAP_X_
#undef KESTREL_MAP_E_
#define KESTREL_MAP_X_(id, sc)
#define KESTREL_MAP_E_(id, sc)	[__NR_##sc] = KESTREL_EVT_##id,
static const u8 kestrel_enter_event[KESTREL_MAX_SYSCALLS] = {
	KESTREL_EVENT_TABLE(KESTREL_XMAP_, KESTREL_PNOP_)
};

/* ------------------------------------------------------------------------ */
/* What the kernel knows: paths, sockets, credentials                       */

/*
 * d_path() into buf (PATH_MAX bytes): length, *out set, or -errno.
 *
 * On PREEMPT_RT d_path() can sleep: it reads rename_lock (and mount_lock)
 * as seqlocks, and there a reader that meets a writer in progress takes
 * the writer's lock (a sleeping lock) to wait for it, as does the locked
 * retry after a rename raced the walk.  So there a rename in progress
 * makes the path unknown (-EAGAIN) instead: the counter is read raw, with
 * no wait.  A rename (or mount change) that starts during the walk itself
 * still sends d_path() to its locked retry; closing that window needs a
 * walk of our own, which struct mount (private to fs/) does not allow
 * (see the report of issue 10).
 */
static long kestrel_d_path(const struct path *path, char *buf,
			   const char **out)
{
	char *p;

#ifdef CONFIG_PREEMPT_RT
	/* raw: no lockdep, no wait; bit 0 set while a writer is inside */
	if (raw_read_seqcount(&rename_lock.seqcount.seqcount) & 1)
		return -EAGAIN;
#endif
	p = d_path(path, buf, PATH_MAX);

	if (IS_ERR(p))
		return PTR_ERR(p);
	*out = p;
	return buf + PATH_MAX - 1 - p;
}

/*
 * Absolute path of fd.  fget/fput are RCU lookups and atomics, never
 * sleeping; a last fput is deferred to task work or a workqueue.
 */
static long kestrel_fd_path(long fd, char *buf, const char **out)
{
	struct file *file;
	long len;

	if (fd < 0 || fd > INT_MAX)
		return -EBADF;
	file = fget(fd);
	if (!file)
		return -EBADF;
	len = kestrel_d_path(&file->f_path, buf, out);
	fput(file);
	return len;
}

/*
 * The executable a successful exec loaded: the file the kernel opened and
 * mapped (bprm->file, which the exec holds a reference on while
 * sched_process_exec runs), never a name read back from user memory and
 * never mm->exe_file, which another thread may replace
 * (prctl(PR_SET_MM_EXE_FILE)) and which d_path() must not use without a
 * reference (files are SLAB_TYPESAFE_BY_RCU since 6.7).
 */
static long kestrel_exe_path(const struct linux_binprm *bprm, char *buf,
			     const char **out)
{
	if (!bprm || !bprm->file)
		return -ENOENT;
	return kestrel_d_path(&bprm->file->f_path, buf, out);
}

/*
 * Spinlocks are sleeping locks on PREEMPT_RT, which a probe (preemption
 * off) must not take: there a probe only tries them, and records what they
 * guard as unknown when another holder has them.  Elsewhere they spin.
 */
static bool kestrel_spin_lock(spinlock_t *lock)
{
#ifdef CONFIG_PREEMPT_RT
	return spin_trylock(lock);
#else
	spin_lock(lock);
	return true;
#endif
}

/*
 * The sequence counter that guards fs->pwd and fs->root: a
 * seqcount_spinlock_t beside fs->lock before 6.17, the counter of the
 * seqlock_t that replaced both since.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 17, 0)
#define KESTREL_FS_SEQCOUNT(fs)	(&(fs)->seq.seqcount.seqcount)
#else
#define KESTREL_FS_SEQCOUNT(fs)	(&(fs)->seq.seqcount)
#endif

/* Attempts at a consistent read of fs->pwd before giving up. */
#define KESTREL_SEQ_TRIES	4

/*
 * current's working directory, the way getcwd() reads it: fs->pwd under
 * RCU (dentries and mounts are freed after a grace period), copied
 * consistently with fs's sequence counter, then d_path().  No lock and no
 * reference taken.  The counter is read raw and retried a bounded number
 * of times: the kernel's seqcount readers wait for a writer (spinning,
 * or on PREEMPT_RT taking fs's lock), which a probe must not do.
 */
static long kestrel_cwd_path(char *buf, const char **out)
{
	struct fs_struct *fs = current->fs;
	const seqcount_t *sc;
	struct path pwd;
	unsigned int seq, i;
	long len = -EAGAIN;

	if (!fs)
		return -ENOENT;
	sc = KESTREL_FS_SEQCOUNT(fs);
	rcu_read_lock();
	for (i = 0; i < KESTREL_SEQ_TRIES; i++) {
		seq = raw_read_seqcount(sc);	/* with smp_rmb() after */
		if (seq & 1) {			/* a writer is in the middle */
			cpu_relax();
			continue;
		}
		pwd = fs->pwd;
		if (!read_seqcount_retry(sc, seq)) {	/* smp_rmb() before */
			len = pwd.dentry ? kestrel_d_path(&pwd, buf, out) :
					   -ENOENT;
			break;
		}
	}
	rcu_read_unlock();
	return len;
}

#ifdef CONFIG_CGROUPS
/*
 * kernfs_node's parent and name: plain pointers before 6.15, __rcu ones
 * (names freed after a grace period) since.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define KESTREL_KN_PARENT(kn)	rcu_dereference((kn)->__parent)
#define KESTREL_KN_NAME(kn)	rcu_dereference((kn)->name)
#else
#define KESTREL_KN_PARENT(kn)	READ_ONCE((kn)->parent)
#define KESTREL_KN_NAME(kn)	READ_ONCE((kn)->name)
#endif

/* Deepest cgroup nesting the lockless walk follows (systemd's is ~6). */
#define KESTREL_CGROUP_DEPTH	64

/*
 * Copy the NUL-terminated kernel string src into dst (at most max bytes,
 * no NUL written) without trusting it: copy_from_kernel_nofault() in
 * chunks, bytewise where a chunk faults.  Length, or -EFAULT.
 */
static long kestrel_kstr_nofault(char *dst, const char *src, long max)
{
	long n = 0, i, chunk;

	while (n < max) {
		chunk = min_t(long, 16, max - n);
		if (copy_from_kernel_nofault(dst + n, src + n, chunk)) {
			for (i = 0; i < chunk; i++) {
				if (copy_from_kernel_nofault(dst + n + i,
							     src + n + i, 1))
					return -EFAULT;
				if (!dst[n + i])
					return n + i;
			}
		} else {
			for (i = 0; i < chunk; i++)
				if (!dst[n + i])
					return n + i;
		}
		n += chunk;
	}
	return -ENAMETOOLONG;
}

/*
 * cgroup_path() without its lock: what kernfs_path_from_node() builds
 * ("/" for the root, "/a/b" below it), walked from kn to the root under
 * RCU, written from the end of buf backwards.  Used on PREEMPT_RT, where
 * cgroup_path()'s kernfs_rename_lock (an rwlock) sleeps.
 *
 * Why no lock is needed: the cgroup came from current's css_set under
 * RCU, and a cgroup's kernfs node is put only from an RCU work item
 * (css_free_rwork_fn), so kn lives until rcu_read_unlock(); each node
 * holds a reference on its parent; cgroups are renamed only within their
 * parent (cgroup_rename()), so parent pointers never change.  Only names
 * change: rename stores the new name, then frees the old (before 6.15 at
 * once).  So each name is copied with copy_from_kernel_nofault() and the
 * node's name pointer read again after the copy (smp_rmb() between): if
 * it changed, a rename raced and the copy may be of freed memory, and the
 * walk answers -EAGAIN (no cgroup recorded) rather than a wrong name.
 * Bounded: KESTREL_CGROUP_DEPTH levels, PATH_MAX bytes.
 */
static long __maybe_unused kestrel_cgroup_walk(char *buf, const char **out)
{
	struct kernfs_node *kn, *parent;
	const char *name;
	char *p = buf + PATH_MAX;	/* no NUL: the length is returned */
	long len = -ENOENT, n;
	unsigned int depth;

	rcu_read_lock();
	kn = task_dfl_cgroup(current)->kn;
	for (depth = 0; kn && depth < KESTREL_CGROUP_DEPTH; depth++) {
		parent = KESTREL_KN_PARENT(kn);
		if (!parent) {			/* the hierarchy's root */
			if (p == buf + PATH_MAX)
				*--p = '/';
			*out = p;
			len = buf + PATH_MAX - p;
			break;
		}
		name = KESTREL_KN_NAME(kn);
		/* the name, then its '/', must fit before p */
		n = kestrel_kstr_nofault(buf, name, p - buf - 1);
		if (n <= 0) {
			len = n ? n : -EINVAL;
			break;
		}
		smp_rmb();	/* the copy before the second read of ->name */
		if (KESTREL_KN_NAME(kn) != name) {
			len = -EAGAIN;	/* renamed meanwhile */
			break;
		}
		p -= n;
		memmove(p, buf, n);
		*--p = '/';
		kn = parent;
	}
	rcu_read_unlock();
	if (depth == KESTREL_CGROUP_DEPTH)
		len = -ENAMETOOLONG;
	return len;
}
#endif

/*
 * current's cgroup v2 path.  cgroup_path() reads kernfs node names under
 * kernfs_rename_lock, an rwlock: it spins, except on PREEMPT_RT where it
 * sleeps, so there the probe walks the names without it
 * (kestrel_cgroup_walk()).
 */
static long kestrel_cgroup_path(char *buf, const char **out)
{
#if defined(CONFIG_CGROUPS) && defined(CONFIG_PREEMPT_RT)
	return kestrel_cgroup_walk(buf, out);
#elif defined(CONFIG_CGROUPS)
	long len;

	rcu_read_lock();
	len = cgroup_path(task_dfl_cgroup(current), buf, PATH_MAX);
	rcu_read_unlock();
	if (len < 0)
		return len;
	*out = buf;
	return min_t(long, len, strnlen(buf, PATH_MAX));
#else
	return -ENOENT;
#endif
}

static u64 kestrel_cap(const kernel_cap_t *cap)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	return cap->val;
#else
	return (u64)cap->cap[1] << 32 | cap->cap[0];
#endif
}

static u64 kestrel_cred_cap(u8 which)
{
	const struct cred *cred = current_cred();

	switch (which) {
	case 0:
		return kestrel_cap(&cred->cap_inheritable);
	case 1:
		return kestrel_cap(&cred->cap_permitted);
	default:
		return kestrel_cap(&cred->cap_effective);
	}
}

static u32 kestrel_cred_id(u8 which)
{
	const struct cred *cred = current_cred();

	switch (which) {
	case 0:
		return from_kuid(&init_user_ns, cred->uid);
	case 1:
		return from_kgid(&init_user_ns, cred->gid);
	case 2:
		return from_kuid(&init_user_ns, cred->euid);
	case 3:
		return from_kgid(&init_user_ns, cred->egid);
	default:
#ifdef CONFIG_AUDIT
		return from_kuid(&init_user_ns, audit_get_loginuid(current));
#else
		return (u32)-1;
#endif
	}
}

static u32 kestrel_tty(void)
{
	struct tty_struct *tty;
	unsigned long flags;
	u32 dev = 0;

	/*
	 * siglock guards signal->tty (and keeps it referenced); irqs saved as
	 * the tty code does.  On PREEMPT_RT it is only tried (see
	 * kestrel_spin_lock()): 0 when busy.
	 */
#ifdef CONFIG_PREEMPT_RT
	if (!spin_trylock_irqsave(&current->sighand->siglock, flags))
		return 0;
#else
	spin_lock_irqsave(&current->sighand->siglock, flags);
#endif
	tty = current->signal->tty;
	if (tty && tty->driver)
		dev = new_encode_dev(MKDEV(tty->driver->major,
					   tty->driver->minor_start) +
				     tty->index);
	spin_unlock_irqrestore(&current->sighand->siglock, flags);
	return dev;
}

static u32 kestrel_task_fact(u8 which)
{
	u32 v;

	switch (which) {
	case 0:
		return task_tgid_vnr(current);
	case 1:
		return task_pid_vnr(current);
	case 2:
		rcu_read_lock();
		v = rcu_dereference(current->real_parent)->pid;
		rcu_read_unlock();
		return v;
	case 3:
		return task_active_pid_ns(current)->ns.inum;
	default:
		return kestrel_tty();
	}
}

/* The most bytes of a tuple: family + the longest AF_UNIX path. */
#define KESTREL_TUPLE_MAX	(1 + sizeof_field(struct sockaddr_un, sun_path))

/* AF_UNIX: the path sk is bound to, else its peer's.  Returns its length. */
static u32 kestrel_unix_path(struct sock *sk, u8 *dst)
{
	struct unix_address *addr;
	struct sock *peer;
	u32 n = 0;

	/*
	 * unix_state_lock (a spinlock; tried only on PREEMPT_RT) keeps the
	 * peer pointer alive.
	 */
	if (!kestrel_spin_lock(&unix_sk(sk)->lock))
		return 0;
	addr = unix_sk(sk)->addr;
	peer = unix_peer(sk);
	if (!addr && peer)
		addr = unix_sk(peer)->addr;
	if (addr && addr->len > offsetof(struct sockaddr_un, sun_path)) {
		n = min_t(u32, addr->len - offsetof(struct sockaddr_un, sun_path),
			  sizeof_field(struct sockaddr_un, sun_path));
		memcpy(dst, addr->name->sun_path, n);
	}
	unix_state_unlock(sk);
	return n;
}

/* Encode the tuple of socket fd into dst; length, or -errno. */
static long kestrel_tuple(long fd, u8 *dst)
{
	struct socket *sock;
	struct sock *sk;
	u16 port;
	long n = -ENOTSOCK;
	int err;

	if (fd < 0 || fd > INT_MAX)
		return -EBADF;
	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	sk = sock->sk;
	if (!sk)
		goto out;
	dst[0] = sk->sk_family;
	switch (sk->sk_family) {
	case AF_INET:
		memcpy(dst + 1, &inet_sk(sk)->inet_saddr, 4);
		port = ntohs(inet_sk(sk)->inet_sport);
		memcpy(dst + 5, &port, 2);
		memcpy(dst + 7, &inet_sk(sk)->inet_daddr, 4);
		port = ntohs(inet_sk(sk)->inet_dport);
		memcpy(dst + 11, &port, 2);
		n = 13;
		break;
#if IS_ENABLED(CONFIG_IPV6)
	case AF_INET6:
		memcpy(dst + 1, &sk->sk_v6_rcv_saddr, 16);
		port = ntohs(inet_sk(sk)->inet_sport);
		memcpy(dst + 17, &port, 2);
		memcpy(dst + 19, &sk->sk_v6_daddr, 16);
		port = ntohs(inet_sk(sk)->inet_dport);
		memcpy(dst + 35, &port, 2);
		n = 37;
		break;
#endif
	case AF_UNIX:
		n = 1 + kestrel_unix_path(sk, dst + 1);
		break;
	default:
		n = 1;
		break;
	}
out:
	sockfd_put(sock);
	return n;
}

/* ------------------------------------------------------------------------ */
/* The generic filler                                                       */

/* Paths resolved before reserving, so the record is sized exactly. */
struct kestrel_kpath {
	const char *p;
	long len;	/* < 0: -errno */
};

/*
 * One syscall (or exec) being recorded.  kestrel_native_enter() and
 * kestrel_native_exit() set every field by hand (not zeroing the
 * arguments): keep them in step.
 */
struct kestrel_call {
	unsigned long args[6];	/* the x86_64 call's arguments */
	long ret;		/* its return value (0 at entry) */
	bool compat;		/* made through the 32-bit ABI */
	bool args_fault;	/* args could not be read (socketcall, old
				 * mmap: from user memory) */
	bool args_in_memory;	/* args were read from user memory */
	const struct linux_binprm *bprm;	/* a successful exec's image */
	struct file *file;	/* the file an open installed (fd_install) */
	const struct kestrel_stash *stash;	/* arguments copied at entry */
};

static unsigned long kestrel_arg(const struct kestrel_call *c, u8 a)
{
	return a == KESTREL_ARG_RES ? (unsigned long)c->ret : c->args[a % 6];
}

/* Kinds whose value comes from the call's arguments (or its result). */
static bool kestrel_kind_reads_args(u8 kind)
{
	switch (kind) {
	case KESTREL_PK_RES:
	case KESTREL_PK_CAP:
	case KESTREL_PK_CRED:
	case KESTREL_PK_TASK:
	case KESTREL_PK_CWD:
	case KESTREL_PK_CGROUP:
	case KESTREL_PK_COMM:
	case KESTREL_PK_KSTR:
		return false;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------------ */
/* Arguments copied at syscall entry                                        */

/*
 * A sibling thread can rewrite a path or a socket address in user memory
 * while the syscall runs, so what the exit probe would read back is not
 * what the caller passed.  The parameters an exit event takes from user
 * memory as the call's input (PATH, SOCKADDR, OPEN_HOW, USER_U64, and the
 * buffer size behind SOCKADDR_OUT) are copied at sys_enter into a slot of
 * this table, owned by the calling task until its sys_exit, and the exit
 * record is filled from there.  (The kernel copies them after sys_enter,
 * so a sibling can still change them in between: the names the kernel
 * acted on come from its own objects: FULLPATH, EXE, TUPLE.)
 *
 * Slots are claimed with cmpxchg() on owner (NULL -> current: fully
 * ordered) and freed with a release store of NULL after the owner's last
 * read of the data, so a later claimer's cmpxchg sees the slot free only
 * after those reads; only the owner touches the data in between (a task
 * runs its own syscall entry and exit in program order).  A task looks for
 * its slot among KESTREL_STASH_PROBE slots from the hash of its task
 * pointer.  When none is free (more than that many tasks are inside such
 * calls at once), or capture started during the call, the exit record
 * reads user memory at exit, as before.  The table exists only while
 * probes are attached.
 */
#define KESTREL_STASH_SLOTS	256	/* power of two */
#define KESTREL_STASH_PROBE	8	/* owners per cache line */
#define KESTREL_STASH_ITEMS	4	/* parameters of one event */
#define KESTREL_STASH_BYTES	(8192 - 128)

struct kestrel_stash {
	u32 nr;				/* the x86_64 syscall that filled it */
	bool have_args;			/* args: a 32-bit call's arguments read
					 * from user memory (socketcall, old
					 * mmap), as they were at entry */
	unsigned long args[6];
	u16 nitems;
	u16 len[KESTREL_STASH_ITEMS];	/* length | KESTREL_PARAM_* flags */
	u16 off[KESTREL_STASH_ITEMS];	/* offset in data */
	u8 data[KESTREL_STASH_BYTES];
};

/*
 * Slot i's owner (NULL: free, see above), apart from the data so that a
 * task's KESTREL_STASH_PROBE candidates share one cache line.
 */
static struct task_struct *kestrel_stash_owner[KESTREL_STASH_SLOTS]
	____cacheline_aligned;
static struct kestrel_stash *kestrel_stash;	/* [KESTREL_STASH_SLOTS] */

/* Does event type take a parameter from user memory as input? */
static bool kestrel_kind_stashed(u8 kind)
{
	return kind == KESTREL_PK_PATH || kind == KESTREL_PK_SOCKADDR ||
	       kind == KESTREL_PK_OPEN_HOW || kind == KESTREL_PK_USER_U64 ||
	       kind == KESTREL_PK_SOCKADDR_OUT;
}

/* Exit events with stashed parameters (filled at init from the table). */
static bool kestrel_event_stashes[KESTREL_EVT_MAX];

/* The first of task's candidate slots. */
static u32 kestrel_stash_group(const struct task_struct *task)
{
	return hash_ptr(task, 32) & (KESTREL_STASH_SLOTS - 1) &
	       ~(KESTREL_STASH_PROBE - 1);
}

/* task's slot number, or -1. */
static int kestrel_stash_index(const struct task_struct *task)
{
	u32 g = kestrel_stash_group(task), i;

	for (i = 0; i < KESTREL_STASH_PROBE; i++)
		/* only task stores task here: a plain load suffices */
		if (READ_ONCE(kestrel_stash_owner[g + i]) == task)
			return g + i;
	return -1;
}

/* current's slot, or NULL. */
static struct kestrel_stash *kestrel_stash_find(void)
{
	int i;

	if (!kestrel_stash)
		return NULL;
	i = kestrel_stash_index(current);
	return i < 0 ? NULL : &kestrel_stash[i];
}

/* current's slot, claimed if it had none; NULL when all are taken. */
static struct kestrel_stash *kestrel_stash_claim(void)
{
	struct kestrel_stash *s = kestrel_stash_find();
	u32 g = kestrel_stash_group(current), i;

	if (s || !kestrel_stash)
		return s;
	for (i = 0; i < KESTREL_STASH_PROBE; i++)
		/* fully ordered on success: pairs with the release below */
		if (!READ_ONCE(kestrel_stash_owner[g + i]) &&
		    cmpxchg(&kestrel_stash_owner[g + i], NULL, current) == NULL)
			return &kestrel_stash[g + i];
	return NULL;
}

static void kestrel_stash_release(struct kestrel_stash *s)
{
	/* release: our reads of s->data are done before a new owner writes */
	smp_store_release(&kestrel_stash_owner[s - kestrel_stash], NULL);
}

/* Release task's slot (at its exit: a call whose exit never came). */
static void kestrel_stash_drop(struct task_struct *task)
{
	int i;

	if (!kestrel_stash)
		return;
	i = kestrel_stash_index(task);
	if (i >= 0)
		kestrel_stash_release(&kestrel_stash[i]);
}

/* Append one item of n bytes read by the caller; flags as the length's. */
static void kestrel_stash_item(struct kestrel_stash *s, u32 off, u32 n,
			       u16 flags)
{
	s->off[s->nitems] = off;
	s->len[s->nitems] = n | flags;
	s->nitems++;
}

/*
 * At sys_enter of x86_64 syscall nr, whose exit event type has stashed
 * parameters: copy them into current's slot.
 */
static void kestrel_stash_fill(long nr, u16 type, const struct kestrel_call *c,
			       u32 snaplen)
{
	const struct kestrel_edesc *ev = &kestrel_events[type];
	const struct kestrel_pdesc *pd;
	struct kestrel_stash *s = kestrel_stash_claim();
	u32 used = 0, room, i, n;
	unsigned long v;
	bool trunc;
	long len;

	if (!s)
		return;
	s->nr = nr;
	s->nitems = 0;
	s->have_args = c->args_in_memory;
	memcpy(s->args, c->args, sizeof(s->args));
	for (i = 0; i < ev->nparams && s->nitems < KESTREL_STASH_ITEMS; i++) {
		pd = &ev->params[i];
		if (!kestrel_kind_stashed(pd->kind))
			continue;
		v = kestrel_arg(c, pd->a);
		room = min3(KESTREL_STASH_BYTES - used, snaplen,
			    (u32)KESTREL_PARAM_LEN_MASK);
		switch (pd->kind) {
		case KESTREL_PK_PATH:
			len = kestrel_read_ustr(s->data + used,
						(const char __user *)v, room,
						&trunc);
			if (len < 0) {
				kestrel_stash_item(s, used, 0,
						   KESTREL_PARAM_FAULT);
				break;
			}
			kestrel_stash_item(s, used, len,
					   trunc ? KESTREL_PARAM_TRUNCATED : 0);
			used += len;
			break;
		case KESTREL_PK_SOCKADDR:
			len = (int)kestrel_arg(c, pd->b);
			len = clamp_t(long, len, 0, KESTREL_SOCKADDR_MAX);
			n = min_t(u32, len, KESTREL_STASH_BYTES - used);
			n = n ? kestrel_read_ubytes(s->data + used,
						    (const void __user *)v, n) : 0;
			kestrel_stash_item(s, used, n,
					   len && !n ? KESTREL_PARAM_FAULT :
					   n < len ? KESTREL_PARAM_TRUNCATED : 0);
			used += n;
			break;
		case KESTREL_PK_SOCKADDR_OUT:	/* the buffer's size, an int */
			v = kestrel_arg(c, pd->b);
			n = sizeof(int);
			if (KESTREL_STASH_BYTES - used < n || !v ||
			    kestrel_read_ubytes(s->data + used,
						(const void __user *)v, n) != n) {
				kestrel_stash_item(s, used, 0,
						   KESTREL_PARAM_FAULT);
				break;
			}
			kestrel_stash_item(s, used, n, 0);
			used += n;
			break;
		default:			/* OPEN_HOW, USER_U64: a u64 */
			n = sizeof(u64);
			if (KESTREL_STASH_BYTES - used < n ||
			    kestrel_read_ubytes(s->data + used,
					(const void __user *)(v + 8 * pd->b),
					n) != n) {
				kestrel_stash_item(s, used, 0,
						   KESTREL_PARAM_FAULT);
				break;
			}
			kestrel_stash_item(s, used, n, 0);
			used += n;
			break;
		}
	}
}

/*
 * current's stash for x86_64 syscall nr, if its entry filled one.  A slot
 * is left behind only by a call whose exit was not recorded (the mask
 * changed during it, or the task died in it); the next entry refills it
 * and the task's exit frees it, so a stale copy can be taken only if the
 * mask changes again between a later entry and its exit.
 */
static struct kestrel_stash *kestrel_stash_for(long nr)
{
	struct kestrel_stash *s = kestrel_stash_find();

	return s && s->nr == nr ? s : NULL;
}


/*
 * The new image's arguments or environment (at sched_process_exec, before
 * it runs): the area of NUL-terminated strings the exec copied onto its
 * stack, argc (envc) of them.
 */
static void kestrel_put_new_image_list(struct kestrel_rec *r,
				       struct mm_struct *mm,
				       const struct linux_binprm *bprm,
				       bool env)
{
	struct kestrel_argv_src src = {
		.start = env ? READ_ONCE(mm->env_start) :
			       READ_ONCE(mm->arg_start),
		.end = env ? READ_ONCE(mm->env_end) : READ_ONCE(mm->arg_end),
		.n = env ? bprm->envc : bprm->argc,
	};

	if (src.end < src.start || !src.start) {
		kestrel_put_fault(r);
		return;
	}
	kestrel_put_argv(r, &src);
}

/*
 * Write parameter pd of call c from item k of its entry stash s (see
 * kestrel_stash_fill()).  Returns false, having written nothing, when the
 * entry could not read it: a nofault read cannot bring in a page the
 * caller has not touched yet (a string literal in a freshly forked child),
 * which the kernel then faults in itself; the caller reads it at exit.
 */
static bool kestrel_put_stashed(struct kestrel_rec *r,
				const struct kestrel_stash *s, u32 k,
				const struct kestrel_pdesc *pd,
				const struct kestrel_call *c)
{
	const u8 *p;
	u16 len, flags;
	u32 n;

	if (k >= s->nitems)		/* cannot happen: same table */
		return false;
	len = s->len[k] & KESTREL_PARAM_LEN_MASK;
	flags = s->len[k] & ~KESTREL_PARAM_LEN_MASK;
	p = s->data + s->off[k];
	if ((flags & KESTREL_PARAM_FAULT) && pd->kind != KESTREL_PK_SOCKADDR_OUT)
		return false;
	switch (pd->kind) {
	case KESTREL_PK_PATH:
	case KESTREL_PK_SOCKADDR:
		n = min_t(u32, len, pd->kind == KESTREL_PK_PATH ?
			  kestrel_param_max(r) : kestrel_room(r));
		memcpy(r->pos, p, n);
		kestrel_put_done(r, n, flags |
				 (n < len ? KESTREL_PARAM_TRUNCATED : 0));
		break;
	case KESTREL_PK_SOCKADDR_OUT: {
		/*
		 * The kernel wrote min(buffer size, address size) bytes and
		 * stored the address size: read no more than the buffer the
		 * caller had at entry.
		 */
		unsigned long lenp = kestrel_arg(c, pd->b);
		unsigned long v = kestrel_arg(c, pd->a);
		int size = 0, out = 0;

		if (lenp && !(flags & KESTREL_PARAM_FAULT))
			memcpy(&size, p, sizeof(size));
		if (c->ret < 0 || (lenp && ((flags & KESTREL_PARAM_FAULT) ||
		    copy_from_user_nofault(&out, (const void __user *)lenp,
					   sizeof(out))))) {
			kestrel_put_fault(r);
			break;
		}
		out = min(out, size);
		kestrel_put_ubytes_max(r, (const void __user *)v,
				       v && out > 0 ? out : 0,
				       KESTREL_SOCKADDR_MAX, false);
		break;
	}
	default: {			/* OPEN_HOW, USER_U64 */
		u64 x;

		if (len != sizeof(x))	/* cannot happen: fill wrote 8 */
			return false;
		memcpy(&x, p, sizeof(x));
		kestrel_put_u64(r, x);
		break;
	}
	}
	return true;
}

/* ------------------------------------------------------------------------ */
/* Straight-line writers for fixed-size records                             */

/*
 * Width of a parameter kind whose value is a fixed-size number taken from
 * the call's registers, its result or the task (never user memory, so it
 * cannot fault), or 0.  Matches pass 1 of kestrel_fill().
 */
static u32 kestrel_kind_fixed_size(u8 kind)
{
	switch (kind) {
	case KESTREL_PK_RES:
	case KESTREL_PK_INT:
	case KESTREL_PK_S64:
	case KESTREL_PK_U64:
	case KESTREL_PK_CAP:
		return 8;
	case KESTREL_PK_U32:
	case KESTREL_PK_CRED:
	case KESTREL_PK_TASK:
		return 4;
	default:
		return 0;
	}
}

/*
 * Record length of each event made only of fixed-size parameters (close,
 * dup, setuid, ...), from the event table at init; 0 for the others.
 */
static u16 kestrel_fixed_len[KESTREL_EVT_MAX];

static void kestrel_fixed_table_init(void)
{
	const struct kestrel_edesc *ev;
	u32 t, i, n, sz;

	for (t = 1; t < KESTREL_EVT_MAX; t++) {
		ev = &kestrel_events[t];
		if (!ev->nparams)
			continue;
		for (i = 0, n = 0; i < ev->nparams; i++) {
			sz = kestrel_kind_fixed_size(ev->params[i].kind);
			if (!sz)
				break;
			n += sz;
		}
		if (i == ev->nparams)
			kestrel_fixed_len[t] =
				round_up(sizeof(struct kestrel_event_hdr) +
					 ev->nparams * sizeof(u16) + n, 8);
	}
}

/*
 * Record event type, made only of fixed-size parameters (len bytes, from
 * kestrel_fixed_len), for call c (whose arguments were read), straight
 * into the ring: no upper bound, no per-parameter room checks, no second
 * pass.  Returns false, having written nothing, when the fast reserve
 * cannot take it (kestrel_rec_reserve_fixed()): the caller then takes
 * the general path.  The values are kestrel_fill()'s for the same kinds.
 */
static bool kestrel_fill_fixed(struct kestrel_ring *ring, u16 type, u32 len,
			       const struct kestrel_call *c)
{
	const struct kestrel_edesc *ev = &kestrel_events[type];
	const struct kestrel_pdesc *pd;
	struct kestrel_event_hdr *h;
	u16 *lens;
	u8 *p;
	u64 tail, v, zero = 0;
	u32 i, w;

	h = kestrel_rec_reserve_fixed(ring, type, ev->nparams, len, &tail);
	if (!h)
		return false;
	/* the padding: zero the last 8 bytes, the parameters overwrite */
	memcpy((u8 *)h + len - sizeof(zero), &zero, sizeof(zero));
	lens = (u16 *)(h + 1);
	p = (u8 *)(lens + ev->nparams);
	for (i = 0; i < ev->nparams; i++) {
		pd = &ev->params[i];
		switch (pd->kind) {
		case KESTREL_PK_RES:
			v = c->ret;
			break;
		case KESTREL_PK_INT:
			v = (s64)(int)kestrel_arg(c, pd->a);
			break;
		case KESTREL_PK_CAP:
			v = kestrel_cred_cap(pd->b);
			break;
		case KESTREL_PK_U32:
			v = (u32)kestrel_arg(c, pd->a);
			break;
		case KESTREL_PK_CRED:
			v = kestrel_cred_id(pd->b);
			break;
		case KESTREL_PK_TASK:
			v = kestrel_task_fact(pd->b);
			break;
		default:		/* S64, U64 */
			v = kestrel_arg(c, pd->a);
			break;
		}
		if (kestrel_kind_fixed_size(pd->kind) == 8) {
			lens[i] = 8;
			memcpy(p, &v, 8);
			p += 8;
		} else {
			w = v;
			lens[i] = 4;
			memcpy(p, &w, 4);
			p += 4;
		}
	}
	kestrel_rec_commit_fixed(ring, len, tail);
	return true;
}

/*
 * Record event type with parameters filled as the table says, for call c:
 * its arguments (unused by kinds that do not read them), its return value,
 * and for a successful exec (EXE, ARGS, ENV with res 0) the new image.
 */
static void kestrel_fill(struct kestrel_ring *ring, u32 snaplen, u16 type,
			 const struct kestrel_call *c)
{
	const struct kestrel_edesc *ev = &kestrel_events[type];
	/* pass 1 sets kp[i].len for every i, and .p with a length >= 0 */
	struct kestrel_kpath kp[KESTREL_MAX_PARAMS] __uninitialized;
	u8 tuple[KESTREL_TUPLE_MAX];
	const struct kestrel_pdesc *pd;
	struct mm_struct *mm = current->mm;
	long ret = c->ret;
	unsigned long v;
	struct kestrel_rec r __uninitialized;	/* set by kestrel_begin() */
	u64 payload = 0;
	u32 slot = 0, i, k = 0;
	long n;

	if (kestrel_fixed_len[type] && !c->args_fault &&
	    kestrel_fill_fixed(ring, type, kestrel_fixed_len[type], c))
		return;

	/* pass 1: bound the payload, resolving kernel paths into scratch */
	for (i = 0; i < ev->nparams; i++) {
		pd = &ev->params[i];
		kp[i].len = -ENOENT;
		switch (pd->kind) {
		case KESTREL_PK_U32:
		case KESTREL_PK_CRED:
		case KESTREL_PK_TASK:
			payload += 4;
			break;
		case KESTREL_PK_PATH:
		case KESTREL_PK_ARGV:
		case KESTREL_PK_KSTR:
			payload += snaplen;
			break;
		case KESTREL_PK_SOCKADDR:
		case KESTREL_PK_SOCKADDR_OUT:
			payload += KESTREL_SOCKADDR_MAX;
			break;
		case KESTREL_PK_TUPLE:
			payload += KESTREL_TUPLE_MAX;
			break;
		case KESTREL_PK_COMM:
			payload += TASK_COMM_LEN;
			break;
		case KESTREL_PK_RAWARGS:
			payload += 6 * sizeof(u64);
			break;
		case KESTREL_PK_ARGS:
		case KESTREL_PK_ENV:
			payload += snaplen;
			break;
		case KESTREL_PK_EXE:
			if (ret) {
				payload += snaplen;
				break;
			}
			fallthrough;
		case KESTREL_PK_FULLPATH:
		case KESTREL_PK_CWD:
		case KESTREL_PK_CGROUP:
			if (slot >= KESTREL_SCRATCH_SLOTS)
				break;		/* cannot happen: table */
			n = -ENOENT;
			if (pd->kind == KESTREL_PK_EXE)
				n = kestrel_exe_path(c->bprm, ring->scratch +
						     slot * PATH_MAX, &kp[i].p);
			else if (pd->kind == KESTREL_PK_FULLPATH &&
				 pd->a == KESTREL_ARG_RES && c->file)
				/* the file the open installed (fd_install) */
				n = kestrel_d_path(&c->file->f_path,
						   ring->scratch +
						   slot * PATH_MAX, &kp[i].p);
			else if (pd->kind == KESTREL_PK_FULLPATH)
				n = c->args_fault && pd->a != KESTREL_ARG_RES ?
				    -EFAULT :
				    kestrel_fd_path(kestrel_arg(c, pd->a),
						    ring->scratch +
						    slot * PATH_MAX, &kp[i].p);
			else if (pd->kind == KESTREL_PK_CWD)
				n = kestrel_cwd_path(ring->scratch +
						     slot * PATH_MAX, &kp[i].p);
			else
				n = kestrel_cgroup_path(ring->scratch +
							slot * PATH_MAX,
							&kp[i].p);
			slot++;
			kp[i].len = n;
			if (n > 0)
				payload += min_t(u64, n, snaplen);
			break;
		default:	/* the 8-byte kinds */
			payload += 8;
			break;
		}
	}

	if (!kestrel_begin(&r, ring, type, ev->nparams, payload, snaplen))
		return;

	/* pass 2: write them */
	for (i = 0; i < ev->nparams; i++) {
		pd = &ev->params[i];
		if (unlikely(c->args_fault) && pd->a != KESTREL_ARG_RES &&
		    kestrel_kind_reads_args(pd->kind)) {
			kestrel_put_fault(&r);
			continue;
		}
		if (c->stash && kestrel_kind_stashed(pd->kind) &&
		    kestrel_put_stashed(&r, c->stash, k++, pd, c))
			continue;
		v = kestrel_arg(c, pd->a);
		switch (pd->kind) {
		case KESTREL_PK_RES:
			kestrel_put_s64(&r, ret);
			break;
		case KESTREL_PK_INT:
			kestrel_put_s64(&r, (int)v);
			break;
		case KESTREL_PK_S64:
			kestrel_put_s64(&r, (long)v);
			break;
		case KESTREL_PK_U64:
			kestrel_put_u64(&r, v);
			break;
		case KESTREL_PK_U32:
			kestrel_put_u32(&r, v);
			break;
		case KESTREL_PK_USER_INT: {
			int x;

			if (ret < 0 || copy_from_user_nofault(&x,
					(const void __user *)(v + 4 * pd->b),
					sizeof(x)))
				kestrel_put_fault(&r);
			else
				kestrel_put_s64(&r, x);
			break;
		}
		case KESTREL_PK_USER_U64:
		case KESTREL_PK_OPEN_HOW: {
			u64 x;

			if (copy_from_user_nofault(&x,
					(const void __user *)(v + 8 * pd->b),
					sizeof(x)))
				kestrel_put_fault(&r);
			else
				kestrel_put_u64(&r, x);
			break;
		}
		case KESTREL_PK_CAP:
			kestrel_put_u64(&r, kestrel_cred_cap(pd->b));
			break;
		case KESTREL_PK_CRED:
			kestrel_put_u32(&r, kestrel_cred_id(pd->b));
			break;
		case KESTREL_PK_TASK:
			kestrel_put_u32(&r, kestrel_task_fact(pd->b));
			break;
		case KESTREL_PK_PATH:
			kestrel_put_ustr(&r, (const char __user *)v);
			break;
		case KESTREL_PK_ARGV:
			kestrel_put_uargv(&r, (const void __user *)v, c->compat);
			break;
		case KESTREL_PK_SOCKADDR: {
			long len = (int)kestrel_arg(c, pd->b);

			kestrel_put_ubytes_max(&r, (const void __user *)v,
					       len > 0 ? len : 0,
					       KESTREL_SOCKADDR_MAX, false);
			break;
		}
		case KESTREL_PK_SOCKADDR_OUT:
			/*
			 * Without the buffer size copied at entry (see
			 * kestrel_put_stashed()) the address cannot be bounded
			 * by the caller's buffer: the length the kernel stores
			 * is the address's, which may be longer.  Only the
			 * no-address case needs none.
			 */
			if (ret >= 0 && !v && !kestrel_arg(c, pd->b))
				kestrel_put_done(&r, 0, 0);
			else
				kestrel_put_fault(&r);
			break;
		case KESTREL_PK_TUPLE:
			n = kestrel_tuple((int)v, tuple);
			if (n > 0)	/* whole: never cut at snaplen */
				kestrel_put_val(&r, tuple, n);
			else
				kestrel_put_fault(&r);
			break;
		case KESTREL_PK_EXE:
			if (ret) {
				kestrel_put_ustr(&r, (const char __user *)v);
				break;
			}
			fallthrough;
		case KESTREL_PK_FULLPATH:
		case KESTREL_PK_CWD:
		case KESTREL_PK_CGROUP:
			if (kp[i].len >= 0)
				kestrel_put_kbytes(&r, kp[i].p, kp[i].len);
			else
				kestrel_put_fault(&r);
			break;
		case KESTREL_PK_ARGS:
		case KESTREL_PK_ENV:
			if (ret)
				kestrel_put_uargv(&r, (const void __user *)v,
						  c->compat);
			else if (!mm || !c->bprm)
				kestrel_put_fault(&r);
			else
				kestrel_put_new_image_list(&r, mm, c->bprm,
						pd->kind == KESTREL_PK_ENV);
			break;
		case KESTREL_PK_COMM:
			kestrel_put_kstr(&r, current->comm);
			break;
		case KESTREL_PK_RAWARGS: {
			u64 a[6];
			int j;

			for (j = 0; j < 6; j++)
				a[j] = c->args[j];
			kestrel_put_val(&r, a, sizeof(a));
			break;
		}
		default:	/* KSTR: only hand-filled events use it */
			kestrel_put_fault(&r);
			break;
		}
	}
	kestrel_rec_commit(&r);
}

/* A masked-in syscall with no event of its own: nr, res, raw arguments. */
static void kestrel_fill_generic(struct kestrel_ring *ring, long nr,
				 const struct kestrel_call *c)
{
	struct kestrel_rec r;

	/* the six arguments as they are: unsigned long is a u64 here */
	BUILD_BUG_ON(sizeof(c->args) != 6 * sizeof(u64));
	if (!kestrel_begin(&r, ring, KESTREL_EVT_GENERIC,
			   kestrel_events[KESTREL_EVT_GENERIC].nparams,
			   4 + 8 + sizeof(c->args), KESTREL_SNAPLEN_MIN))
		return;
	kestrel_put_u32(&r, nr);
	kestrel_put_s64(&r, c->ret);
	if (c->args_fault)
		kestrel_put_fault(&r);
	else
		kestrel_put_val(&r, c->args, sizeof(c->args));
	kestrel_rec_commit(&r);
}

static bool kestrel_mask_test(long nr)
{
	if ((unsigned long)nr >= KESTREL_MAX_SYSCALLS)
		return false;
	/*
	 * Relaxed: pairs with WRITE_ONCE() in SET_MASK only to avoid torn
	 * words; a probe racing the ioctl may see the old or the new mask.
	 */
	return READ_ONCE(kestrel_mask[nr / 64]) & BIT_ULL(nr % 64);
}

/*
 * Calls that are recorded only with some arguments: mmap and mprotect when
 * they ask for executable memory, fcntl when it duplicates an fd.
 */
static bool kestrel_wanted(long nr, const unsigned long *args)
{
	switch (nr) {
	case __NR_mmap:
	case __NR_mprotect:
		return args[2] & PROT_EXEC;
	case __NR_fcntl:
		return args[1] == F_DUPFD || args[1] == F_DUPFD_CLOEXEC;
	default:
		return true;
	}
}

/* ------------------------------------------------------------------------ */
/* 32-bit syscalls (see KESTREL_COMPAT_TABLE in kestrel_abi.h)              */

#ifdef CONFIG_IA32_EMULATION

/* How a 32-bit call's arguments become the x86_64 call's. */
enum kestrel_compat_args {
	KESTREL_CA_NONE,	/* not recorded */
	KESTREL_CA_PLAIN,
	KESTREL_CA_ID16,
	KESTREL_CA_OWN16,
	KESTREL_CA_MMAP,
	KESTREL_CA_MMAP2,
	KESTREL_CA_SOCKETCALL,
	KESTREL_CA_IPC,
};

struct kestrel_compat {
	u16 nr;		/* the x86_64 syscall */
	u8 how;		/* enum kestrel_compat_args */
};

#define KESTREL_COMPAT_(ia32, x64, how)					\
	[__NR_ia32_##ia32] = { __NR_##x64, KESTREL_CA_##how },
static const struct kestrel_compat kestrel_compat_map[IA32_NR_syscalls] = {
	KESTREL_COMPAT_TABLE(KESTREL_COMPAT_)
	[__NR_ia32_socketcall] = { 0, KESTREL_CA_SOCKETCALL },
	[__NR_ia32_ipc] = { 0, KESTREL_CA_IPC },
};

struct kestrel_socketcall {
	u16 nr;		/* the x86_64 syscall */
	u8 nargs;	/* 32-bit values read from the user array; 0: none */
};

#define KESTREL_SOCKETCALL_(call, x64, n)	[call] = { __NR_##x64, n },
static const struct kestrel_socketcall kestrel_socketcall_map[] = {
	KESTREL_SOCKETCALL_TABLE(KESTREL_SOCKETCALL_)
};

struct kestrel_ipc {
	u16 nr;		/* the x86_64 syscall; 0 (read) is never one */
	u8 arg[4];	/* ipc argument behind each of its arguments */
};

#define KESTREL_IPC_(call, x64, a0, a1, a2, a3)				\
	[call] = { __NR_##x64, { a0, a1, a2, a3 } },
static const struct kestrel_ipc kestrel_ipc_map[] = {
	KESTREL_IPC_TABLE(KESTREL_IPC_)
};

/* A 16-bit id as the kernel widens it: 0xffff is -1. */
static unsigned long kestrel_id16(unsigned long id)
{
	return (u16)id == 0xffff ? (u32)-1 : (u16)id;
}

/*
 * Rewrite the arguments of 32-bit syscall cnr (as syscall_get_arguments()
 * gave them: ebx, ecx, edx, esi, edi, ebp) into those of the x86_64 syscall
 * it is recorded as, and return that syscall's number, or -1 if the call
 * is not recorded.  socketcall's argument array and the old mmap's
 * argument block are read from user memory, where the kernel has just read
 * them; when they are unreadable c->args_fault is set.
 */
static long kestrel_compat_call(long cnr, struct kestrel_call *c)
{
	const struct kestrel_compat *m;
	unsigned long *args = c->args;
	unsigned long orig[6];
	u32 v[6];
	u32 call;
	int i;

	c->compat = true;
	if ((unsigned long)cnr >= ARRAY_SIZE(kestrel_compat_map))
		return -1;
	m = &kestrel_compat_map[cnr];
	for (i = 0; i < 6; i++)		/* 32-bit registers */
		args[i] = (u32)args[i];
	switch (m->how) {
	case KESTREL_CA_PLAIN:
		return m->nr;
	case KESTREL_CA_ID16:
		for (i = 0; i < 3; i++)
			args[i] = kestrel_id16(args[i]);
		return m->nr;
	case KESTREL_CA_OWN16:
		args[1] = kestrel_id16(args[1]);
		args[2] = kestrel_id16(args[2]);
		return m->nr;
	case KESTREL_CA_MMAP2:
		args[5] <<= 12;		/* pages of 4096 bytes, always */
		return m->nr;
	case KESTREL_CA_MMAP:
		if (copy_from_user_nofault(v, (const void __user *)args[0],
					   sizeof(v))) {
			c->args_fault = true;
			return m->nr;
		}
		for (i = 0; i < 6; i++)
			args[i] = v[i];
		c->args_in_memory = true;
		return m->nr;
	case KESTREL_CA_SOCKETCALL: {
		const struct kestrel_socketcall *s;

		call = args[0];
		if (call >= ARRAY_SIZE(kestrel_socketcall_map) ||
		    !kestrel_socketcall_map[call].nargs)
			return -1;
		s = &kestrel_socketcall_map[call];
		memset(v, 0, sizeof(v));
		if (copy_from_user_nofault(v, (const void __user *)args[1],
					   s->nargs * sizeof(u32)))
			c->args_fault = true;
		for (i = 0; i < 6; i++)
			args[i] = v[i];
		c->args_in_memory = true;
		return s->nr;
	}
	case KESTREL_CA_IPC: {
		const struct kestrel_ipc *p;

		call = args[0] & 0xffff;	/* the high half is a version */
		if (call >= ARRAY_SIZE(kestrel_ipc_map) ||
		    !kestrel_ipc_map[call].nr)
			return -1;
		p = &kestrel_ipc_map[call];
		memcpy(orig, args, sizeof(orig));
		for (i = 0; i < 4; i++)
			args[i] = p->arg[i] ? orig[p->arg[i]] : 0;
		args[4] = 0;
		args[5] = 0;
		return p->nr;
	}
	default:
		return -1;
	}
}

static bool kestrel_in_compat(void)
{
	return in_ia32_syscall();
}

#else /* !CONFIG_IA32_EMULATION */

static long kestrel_compat_call(long cnr, struct kestrel_call *c)
{
	return -1;
}

static bool kestrel_in_compat(void)
{
	return false;
}

#endif /* CONFIG_IA32_EMULATION */

/* ------------------------------------------------------------------------ */
/* Probes                                                                   */

/* Successful opens are recorded at fd_install (see below). */
static bool kestrel_open_kprobe_on;

/* The open family: the syscalls whose result is a new file's fd. */
static bool kestrel_is_open(long nr)
{
	return nr == __NR_open || nr == __NR_openat || nr == __NR_openat2 ||
	       nr == __NR_creat;
}

/*
 * At sys_enter of x86_64 syscall nr (masked in; args filled): its entry
 * record, if it has one, and the copy of its exit event's input
 * parameters, if it has any.
 */
static void kestrel_on_enter(long nr, const struct kestrel_call *c)
{
	u16 type = kestrel_enter_event[nr];
	u16 xtype = kestrel_exit_event[nr];
	struct kestrel_ring *ring;
	/* relaxed: SET_SNAPLEN may race; each event uses one value */
	u32 snaplen = READ_ONCE(kestrel_snaplen);

	if (type) {
		ring = kestrel_enter();
		if (ring) {
			kestrel_fill(ring, snaplen, type, c);
			kestrel_leave(ring);
		}
	}
	if ((kestrel_event_stashes[xtype] || c->args_in_memory) &&
	    !c->args_fault && kestrel_wanted(nr, c->args))
		kestrel_stash_fill(nr, xtype, c, snaplen);
}

/* Is there anything to do at the entry of masked-in x86_64 syscall nr? */
static bool kestrel_enter_work(long nr)
{
	return kestrel_enter_event[nr] ||
	       kestrel_event_stashes[kestrel_exit_event[nr]];
}

static noinline void kestrel_compat_enter(struct pt_regs *regs, long cnr)
{
	struct kestrel_call c = { .ret = 0 };
	long nr;

	syscall_get_arguments(current, regs, c.args);
	nr = kestrel_compat_call(cnr, &c);
	if (nr < 0 || !kestrel_mask_test(nr) ||
	    !(kestrel_enter_work(nr) || c.args_in_memory))
		return;
	kestrel_on_enter(nr, &c);
}

/*
 * A native call's context, field by field rather than zeroed whole (the
 * probes' buffers are __uninitialized: Debian's INIT_STACK_ALL_ZERO would
 * clear them on every call); the arguments come from the registers.
 */
static __always_inline void kestrel_native_call(struct kestrel_call *c,
						struct pt_regs *regs, long ret)
{
	c->ret = ret;
	c->compat = false;
	c->args_fault = false;
	c->args_in_memory = false;
	c->bprm = NULL;
	c->file = NULL;
	c->stash = NULL;
	syscall_get_arguments(current, regs, c->args);
}

static noinline void kestrel_native_enter(struct pt_regs *regs, long nr)
{
	struct kestrel_call c __uninitialized;	/* kestrel_native_call() sets it */

	kestrel_native_call(&c, regs, 0);
	kestrel_on_enter(nr, &c);
}

/*
 * The probes themselves only test the ABI and the mask: everything with a
 * frame worth the name (the call context, its zeroing, a stack canary) is
 * in the noinline functions they call, so a masked-out syscall pays for
 * nothing else (notrace: not even the ftrace call site's nop).
 */
static notrace void kestrel_sys_enter(void *data, struct pt_regs *regs,
				     long id)
{
	if (unlikely(kestrel_in_compat())) {	/* id is an ia32 number */
		kestrel_compat_enter(regs, id);
		return;
	}
	if (!kestrel_mask_test(id))	/* the common case returns */
		return;
	if (kestrel_enter_work(id))
		kestrel_native_enter(regs, id);
}

/* Write the exit record of x86_64 syscall nr for call c. */
static void kestrel_write_exit(long nr, const struct kestrel_call *c)
{
	struct kestrel_ring *ring;
	u16 type = kestrel_exit_event[nr];

	ring = kestrel_enter();
	if (!ring)
		return;
	/* relaxed: SET_SNAPLEN may race; each event uses one value */
	if (type)
		kestrel_fill(ring, READ_ONCE(kestrel_snaplen), type, c);
	else
		kestrel_fill_generic(ring, nr, c);
	kestrel_leave(ring);
}

/* At sys_exit of x86_64 syscall nr (already masked in). */
static void kestrel_on_exit(long nr, struct kestrel_call *c)
{
	struct kestrel_stash *s = NULL;

	if (kestrel_event_stashes[kestrel_exit_event[nr]] || c->args_in_memory)
		s = kestrel_stash_for(nr);
	c->stash = s;
	/*
	 * A successful exec is recorded by kestrel_sched_exec(), from the
	 * image the kernel loaded, whatever its ABI; it returns to user space
	 * as execve (x86_64 or ia32, as the new image is).  A successful open
	 * is recorded when its fd is installed, if the kprobe is attached.
	 */
	if ((nr == __NR_execve && c->ret == 0) ||
	    (c->ret >= 0 && kestrel_is_open(nr) &&
	     READ_ONCE(kestrel_open_kprobe_on)))
		goto out;
	if (!c->args_fault && !kestrel_wanted(nr, c->args))
		goto out;
	kestrel_write_exit(nr, c);
out:
	if (s)
		kestrel_stash_release(s);
}

static noinline void kestrel_compat_exit(struct pt_regs *regs, long ret)
{
	struct kestrel_call c = { .ret = ret };
	struct kestrel_stash *s;
	long nr;

	syscall_get_arguments(current, regs, c.args);
	nr = kestrel_compat_call(syscall_get_nr(current, regs), &c);
	if (nr < 0 || !kestrel_mask_test(nr))
		return;
	/*
	 * socketcall's argument array (and the old mmap's block) as it was
	 * at entry: a sibling may have rewritten it since (the call number
	 * is a register).
	 */
	s = c.args_in_memory ? kestrel_stash_for(nr) : NULL;
	if (s && s->have_args) {
		memcpy(c.args, s->args, sizeof(c.args));
		c.args_fault = false;
	}
	kestrel_on_exit(nr, &c);
}

static noinline void kestrel_native_exit(struct pt_regs *regs, long nr,
					 long ret)
{
	struct kestrel_call c __uninitialized;	/* kestrel_native_call() sets it */

	kestrel_native_call(&c, regs, ret);
	kestrel_on_exit(nr, &c);
}

/* The generic record: nr (u32), res (s64), the six raw arguments. */
#define KESTREL_GENERIC_PAYLOAD	(4 + 8 + 6 * sizeof(u64))
#define KESTREL_GENERIC_LEN						\
	round_up(sizeof(struct kestrel_event_hdr) + 3 * sizeof(u16) +	\
		 KESTREL_GENERIC_PAYLOAD, 8)

static noinline void kestrel_generic_exit_slow(struct kestrel_ring *ring,
					       struct pt_regs *regs, long nr,
					       long ret)
{
	struct kestrel_call c = { .ret = ret };

	syscall_get_arguments(current, regs, c.args);
	kestrel_fill_generic(ring, nr, &c);
}

/*
 * Exit of masked-in x86_64 syscall nr that has no event of its own (none
 * of those is filtered by kestrel_wanted(), nor has stashed input): the
 * generic record, written straight from the registers into the ring.
 * No local array or struct, so no stack canary and no zeroing.
 */
static noinline void kestrel_generic_exit(struct pt_regs *regs, long nr,
					  long ret)
{
	struct kestrel_ring *ring = kestrel_enter();
	struct kestrel_event_hdr *h;
	u64 tail, zero = 0;
	u32 nr32 = nr;
	u16 *lens;
	u8 *p;

	if (!ring)
		return;
	h = kestrel_rec_reserve_fixed(ring, KESTREL_EVT_GENERIC, 3,
				      KESTREL_GENERIC_LEN, &tail);
	if (unlikely(!h)) {
		kestrel_generic_exit_slow(ring, regs, nr, ret);
		kestrel_leave(ring);
		return;
	}
	memcpy((u8 *)h + KESTREL_GENERIC_LEN - sizeof(zero), &zero,
	       sizeof(zero));
	lens = (u16 *)(h + 1);
	lens[0] = 4;
	lens[1] = 8;
	lens[2] = 6 * sizeof(u64);
	p = (u8 *)(lens + 3);
	memcpy(p, &nr32, 4);
	memcpy(p + 4, &ret, 8);
	/* syscall_get_arguments()'s registers, in order */
	memcpy(p + 12, &regs->di, 8);
	memcpy(p + 20, &regs->si, 8);
	memcpy(p + 28, &regs->dx, 8);
	memcpy(p + 36, &regs->r10, 8);
	memcpy(p + 44, &regs->r8, 8);
	memcpy(p + 52, &regs->r9, 8);
	kestrel_rec_commit_fixed(ring, KESTREL_GENERIC_LEN, tail);
	kestrel_leave(ring);
}

static notrace void kestrel_sys_exit(void *data, struct pt_regs *regs,
				    long ret)
{
	long nr;

	if (unlikely(kestrel_in_compat())) {	/* an ia32 number */
		kestrel_compat_exit(regs, ret);
		return;
	}
	nr = syscall_get_nr(current, regs);
	if (!kestrel_mask_test(nr))	/* the common case returns */
		return;
	if (!kestrel_exit_event[nr])
		kestrel_generic_exit(regs, nr, ret);
	else
		kestrel_native_exit(regs, nr, ret);
}

/*
 * kprobe on fd_install(fd, file): a successful open's exit record, written
 * in the opening task's context before the new fd is visible to any other
 * thread, with fullpath from the file the open created.  Looked up by fd
 * number at sys_exit instead, a sibling thread sharing the fd table could
 * have closed or dup2()'d another file onto that number in between and
 * forged the name.  Every other fd_install (sockets, pipes, accepts,
 * opens by io_uring workers) returns at the syscall test.  Without
 * kprobes the sys_exit probe records opens as before.
 */
static int kestrel_fd_install_probe(struct kprobe *kp, struct pt_regs *regs)
{
	struct kestrel_call c = { .ret = 0 };
	struct pt_regs *uregs;
	long nr;

	if (current->flags & (PF_KTHREAD | PF_IO_WORKER))
		return 0;
	uregs = task_pt_regs(current);
	nr = syscall_get_nr(current, uregs);
	if (unlikely(kestrel_in_compat())) {
		syscall_get_arguments(current, uregs, c.args);
		nr = kestrel_compat_call(nr, &c);
		if (!kestrel_is_open(nr))
			return 0;
	} else {
		if (!kestrel_is_open(nr))
			return 0;
		syscall_get_arguments(current, uregs, c.args);
	}
	if (!kestrel_mask_test(nr))
		return 0;
	c.ret = (unsigned int)regs_get_kernel_argument(regs, 0);
	c.file = (struct file *)regs_get_kernel_argument(regs, 1);
	c.stash = kestrel_stash_for(nr);
	kestrel_write_exit(nr, &c);
	return 0;
}
NOKPROBE_SYMBOL(kestrel_fd_install_probe);

static struct kprobe kestrel_fd_install_kp = {
	.symbol_name = "fd_install",
	.pre_handler = kestrel_fd_install_probe,
};

static void kestrel_sched_fork(void *data, struct task_struct *parent,
			       struct task_struct *child)
{
	struct kestrel_ring *ring;
	struct kestrel_rec r;

	if (child->flags & PF_KTHREAD)	/* kthreadd making a kernel thread */
		return;
	ring = kestrel_enter();
	if (!ring)
		return;
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_FORK,
			  kestrel_events[KESTREL_EVT_PROC_FORK].nparams, 8,
			  KESTREL_SNAPLEN_MIN)) {
		kestrel_put_u32(&r, child->pid);
		kestrel_put_u32(&r, child->tgid);
		kestrel_rec_commit(&r);
	}
	kestrel_leave(ring);
}

/*
 * A new image replaced current's: procexec, then (when the mask selects
 * execve or execveat) the successful exec's exit record, filled here from
 * what the kernel loaded (bprm->file, the new mm's arguments and
 * environment, the credentials just committed) rather than at the
 * syscall's exit, which an exec into a 32-bit image reaches as an ia32
 * call and which a sibling's memory writes could race.  A successful
 * execveat is recorded as execve, as it returns.
 */
static void kestrel_sched_exec(void *data, struct task_struct *p,
			       pid_t old_pid, struct linux_binprm *bprm)
{
	struct kestrel_ring *ring = kestrel_enter();
	struct kestrel_call c = { .ret = 0, .bprm = bprm };
	struct kestrel_rec r;
	u32 snaplen;

	if (!ring)
		return;
	snaplen = READ_ONCE(kestrel_snaplen);	/* relaxed, as above */
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_EXEC,
			  kestrel_events[KESTREL_EVT_PROC_EXEC].nparams,
			  snaplen + 4, snaplen)) {
		kestrel_put_kstr(&r, bprm->filename);
		kestrel_put_u32(&r, old_pid);
		kestrel_rec_commit(&r);
	}
	if (kestrel_mask_test(__NR_execve) || kestrel_mask_test(__NR_execveat))
		kestrel_fill(ring, snaplen, KESTREL_EVT_EXECVE, &c);
	kestrel_leave(ring);
}

static void kestrel_sched_exit(void *data, struct task_struct *p)
{
	struct kestrel_ring *ring;
	struct kestrel_rec r;

	if (p->flags & PF_KTHREAD)
		return;
	kestrel_stash_drop(p);		/* a call whose exit never came */
	ring = kestrel_enter();
	if (!ring)
		return;
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_EXIT,
			  kestrel_events[KESTREL_EVT_PROC_EXIT].nparams, 4,
			  KESTREL_SNAPLEN_MIN)) {
		kestrel_put_u32(&r, p->exit_code);
		kestrel_rec_commit(&r);
	}
	kestrel_leave(ring);
}

/* ------------------------------------------------------------------------ */
/* Registration                                                             */

struct kestrel_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
};

static struct kestrel_tp kestrel_tps[] = {
	{ .name = "sys_enter", .probe = kestrel_sys_enter },
	{ .name = "sys_exit", .probe = kestrel_sys_exit },
	{ .name = "sched_process_fork", .probe = kestrel_sched_fork },
	{ .name = "sched_process_exec", .probe = kestrel_sched_exec },
	{ .name = "sched_process_exit", .probe = kestrel_sched_exit },
};

static void kestrel_find_tp(struct tracepoint *tp, void *priv)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++)
		if (!strcmp(tp->name, kestrel_tps[i].name))
			kestrel_tps[i].tp = tp;
}

/* Which exit events take input parameters from user memory. */
static void kestrel_stash_table_init(void)
{
	const struct kestrel_edesc *ev;
	u32 t, i, n;

	for (t = 1; t < KESTREL_EVT_MAX; t++) {
		ev = &kestrel_events[t];
		for (i = 0, n = 0; i < ev->nparams; i++)
			n += kestrel_kind_stashed(ev->params[i].kind);
		/* K events and entry events are never stashed */
		kestrel_event_stashes[t] = n && n <= KESTREL_STASH_ITEMS &&
					   t != KESTREL_EVT_EXECVE_ENTER &&
					   t != KESTREL_EVT_EXECVEAT_ENTER;
		WARN_ON_ONCE(n > KESTREL_STASH_ITEMS);
	}
}

int kestrel_probes_init(void)
{
	size_t i;

	/* the hand-filled events match the table */
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_LOST) - 1 != KESTREL_LOST_NPARAMS);
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_GENERIC) - 1 != 3);
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_PROC_FORK) - 1 != 2);
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_PROC_EXEC) - 1 != 2);
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_PROC_EXIT) - 1 != 1);
	/* the widest event fits the length table */
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_EXECVE) - 1 > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(ARRAY_SIZE(kestrel_pd_EXECVEAT) - 1 > KESTREL_MAX_PARAMS);
	/*
	 * The largest event (a failed execve at max snaplen: three user
	 * strings, two kernel paths, small fixed fields) fits the record cap.
	 */
	BUILD_BUG_ON(sizeof(struct kestrel_event_hdr) + 2 * KESTREL_MAX_PARAMS +
		     3 * KESTREL_SNAPLEN_MAX + 2 * PATH_MAX + TASK_COMM_LEN +
		     16 * 8 > KESTREL_RECORD_MAX);
	/* event numbers fit the u8 syscall maps */
	BUILD_BUG_ON(KESTREL_EVT_MAX > 256);
	BUILD_BUG_ON(sizeof(struct open_how) != 3 * sizeof(u64));
	/* a stash item's offset and length fit their u16s */
	BUILD_BUG_ON(KESTREL_STASH_BYTES > KESTREL_PARAM_LEN_MASK);

	kestrel_stash_table_init();
	kestrel_fixed_table_init();
	/* kestrel_generic_exit() writes the table's generic record ... */
	BUILD_BUG_ON(kestrel_pd_GENERIC[0].kind != KESTREL_PK_U32 ||
		     kestrel_pd_GENERIC[1].kind != KESTREL_PK_RES ||
		     kestrel_pd_GENERIC[2].kind != KESTREL_PK_RAWARGS);
	/* ... and only for calls kestrel_wanted() does not filter */
	BUILD_BUG_ON(!kestrel_exit_event[__NR_mmap] ||
		     !kestrel_exit_event[__NR_mprotect] ||
		     !kestrel_exit_event[__NR_fcntl]);
	for_each_kernel_tracepoint(kestrel_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++) {
		if (!kestrel_tps[i].tp) {
			pr_err("tracepoint %s not found\n", kestrel_tps[i].name);
			return -ENOENT;
		}
	}
	return 0;
}

static void kestrel_probes_detach(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++) {
		if (!kestrel_tps[i].registered)
			continue;
		tracepoint_probe_unregister(kestrel_tps[i].tp,
					    kestrel_tps[i].probe, NULL);
		kestrel_tps[i].registered = false;
	}
	if (READ_ONCE(kestrel_open_kprobe_on)) {
		unregister_kprobe(&kestrel_fd_install_kp); /* waits for it */
		/* a kprobe cannot be registered twice: make a new one */
		memset(&kestrel_fd_install_kp, 0, sizeof(kestrel_fd_install_kp));
		kestrel_fd_install_kp.symbol_name = "fd_install";
		kestrel_fd_install_kp.pre_handler = kestrel_fd_install_probe;
		WRITE_ONCE(kestrel_open_kprobe_on, false);
	}
	/* no probe is running or will run once this returns */
	tracepoint_synchronize_unregister();
	vfree(kestrel_stash);
	kestrel_stash = NULL;
	memset(kestrel_stash_owner, 0, sizeof(kestrel_stash_owner));
}

/* Does the mask select a syscall with work at its entry? */
static bool kestrel_mask_has_entry_work(void)
{
	long nr;

	for (nr = 0; nr < KESTREL_MAX_SYSCALLS; nr++)
		if (kestrel_mask_test(nr) && kestrel_enter_work(nr))
			return true;
	return false;
}

/* Caller holds the ioctl mutex. */
int kestrel_probes_register(void)
{
	size_t i;
	int err;

	/*
	 * Probes read kestrel_stash without ordering: it is set before they
	 * are attached (registration publishes them with full barriers) and
	 * freed after they are detached and waited for.
	 */
	kestrel_stash = vzalloc(array_size(KESTREL_STASH_SLOTS,
					   sizeof(*kestrel_stash)));
	if (!kestrel_stash)
		return -ENOMEM;
	/*
	 * Set first: from the kprobe's first hit, successful opens are its
	 * to record (the sys_exit probe is attached after it).
	 */
	/*
	 * Only when the mask (set before START) selects an open: the kprobe
	 * costs every fd_install of the system.  Opens selected later attach
	 * it then (kestrel_probes_update()).
	 */
	if (kestrel_mask_test(__NR_open) || kestrel_mask_test(__NR_openat) ||
	    kestrel_mask_test(__NR_openat2) || kestrel_mask_test(__NR_creat)) {
		WRITE_ONCE(kestrel_open_kprobe_on, true);
		err = register_kprobe(&kestrel_fd_install_kp);
		if (err) {
			WRITE_ONCE(kestrel_open_kprobe_on, false);
			pr_warn_once("no kprobe on fd_install (%d): open's fullpath is looked up by fd at syscall exit\n",
				     err);
		}
	}
	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++) {
		/*
		 * sys_enter runs for every syscall on the host: attach it only
		 * when the mask (set before START) selects a syscall with
		 * entry work (an entry event, or input arguments to copy).
		 * A mask changed during capture attaches it then
		 * (kestrel_probes_update()).
		 */
		if (kestrel_tps[i].probe == kestrel_sys_enter &&
		    !kestrel_mask_has_entry_work())
			continue;
		err = tracepoint_probe_register(kestrel_tps[i].tp,
						kestrel_tps[i].probe, NULL);
		if (err) {
			pr_err("cannot attach to %s: %d\n",
			       kestrel_tps[i].name, err);
			kestrel_probes_detach();
			return err;
		}
		kestrel_tps[i].registered = true;
	}
	return 0;
}

/*
 * The mask changed during capture: attach what it now needs and START did
 * not (the fd_install kprobe for opens, sys_enter for entry work); nothing
 * is detached (a probe that finds its syscalls masked out returns early).
 * The kprobe is armed before kestrel_open_kprobe_on is set: an open whose
 * fd is installed in between is recorded twice (by the kprobe and at
 * exit), never lost.  sys_enter attached mid-syscall finds no stash at
 * that syscall's exit, which then reads its inputs there, as before.
 * Caller holds the ioctl mutex; probes are registered (START ran).
 */
int kestrel_probes_update(void)
{
	size_t i;
	int err;

	if (!READ_ONCE(kestrel_open_kprobe_on) &&
	    (kestrel_mask_test(__NR_open) || kestrel_mask_test(__NR_openat) ||
	     kestrel_mask_test(__NR_openat2) || kestrel_mask_test(__NR_creat))) {
		err = register_kprobe(&kestrel_fd_install_kp);
		if (!err)
			WRITE_ONCE(kestrel_open_kprobe_on, true);
		else
			pr_warn_once("no kprobe on fd_install (%d): open's fullpath is looked up by fd at syscall exit\n",
				     err);
	}
	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++) {
		if (kestrel_tps[i].registered ||
		    kestrel_tps[i].probe != kestrel_sys_enter ||
		    !kestrel_mask_has_entry_work())
			continue;
		err = tracepoint_probe_register(kestrel_tps[i].tp,
						kestrel_tps[i].probe, NULL);
		if (err) {
			pr_err("cannot attach to %s: %d\n",
			       kestrel_tps[i].name, err);
			return err;
		}
		kestrel_tps[i].registered = true;
	}
	return 0;
}

/* Caller holds the ioctl mutex. */
void kestrel_probes_unregister(void)
{
	kestrel_probes_detach();
}
