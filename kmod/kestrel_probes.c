// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel_probes.c - tracepoint probes and the per-syscall fillers.
 *
 * Probes run with preemption disabled (the tracepoint disables it; we nest a
 * preempt_disable_notrace() so the code stays correct should that change),
 * never sleep, and read user memory only with copy_from_user_nofault().
 * Every copy is bounded by snaplen and by the space reserved in the ring;
 * every loop is bounded.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/binfmts.h>
#include <linux/compat.h>
#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/openat2.h>
#include <linux/path.h>
#include <linux/rcupdate.h>
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

/* The most argv entries read from a user pointer array. */
#define KESTREL_ARGV_MAX	1024

/* Parameter counts, checked against KESTREL_MAX_PARAMS below. */
#define NP_GENERIC		3
#define NP_EXECVE		5
#define NP_OPEN			6
#define NP_CONNECT		3
#define NP_CLONE		2
#define NP_PROC_EXIT		1
#define NP_PROC_FORK		2
#define NP_PROC_EXEC		2
#define NP_EXECVE_ENTER		2

/* ------------------------------------------------------------------------ */
/* Entering and leaving a ring                                              */

/*
 * Take this CPU's ring for one probe.  ring->busy is a recursion guard: a
 * probe that nests inside another on the same CPU (from an interrupt or NMI)
 * must not touch the ring the outer one is writing, so it only counts itself
 * in ring->nested and leaves.  busy is only ever accessed by its own CPU, so
 * compiler barriers order it against the ring accesses.
 */
static struct kestrel_ring *kestrel_enter(void)
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
	kestrel_ring_fold_nested(ring);
	return ring;
}

static void kestrel_leave(struct kestrel_ring *ring)
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
	u8 buf[KESTREL_BOUNCE];
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
 * Copy a NUL-terminated user string to dst without its NUL, at most max
 * bytes.  Returns its length, or -EFAULT if any of it is unreadable.
 * *trunc is set if the string is longer than max.
 */
static long kestrel_read_ustr(u8 *dst, const char __user *src, u32 max,
			      bool *trunc)
{
	u8 buf[KESTREL_BOUNCE];
	unsigned long addr;
	u32 done = 0, chunk;
	u8 *nul;

	*trunc = false;
	while (done < max) {	/* each pass copies >= 1 byte or returns */
		addr = (unsigned long)src + done;
		chunk = min_t(u32, max - done, KESTREL_BOUNCE);
		/* a piece never crosses a page: readable as a whole or not */
		chunk = min_t(u32, chunk, PAGE_SIZE - offset_in_page(addr));
		if (copy_from_user_nofault(buf, (const void __user *)addr,
					   chunk))
			return -EFAULT;
		nul = memchr(buf, 0, chunk);
		if (nul) {
			memcpy(dst + done, buf, nul - buf);
			return done + (nul - buf);
		}
		memcpy(dst + done, buf, chunk);
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

/* len user bytes, at most cap of them; cut ones are flagged truncated. */
static void kestrel_put_ubytes(struct kestrel_rec *r, const void __user *u,
			       u64 len, u32 cap)
{
	u32 n = min_t(u64, len, min(cap, kestrel_param_max(r)));
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
 * argv from a user array of string pointers: each argument and a NUL, as
 * in /proc/PID/cmdline, at most KESTREL_ARGV_MAX arguments and snaplen bytes.
 */
static void kestrel_put_uargv(struct kestrel_rec *r,
			      const char __user *const __user *argv)
{
	u32 max = kestrel_param_max(r), done = 0, i;
	const char __user *p;
	bool trunc = false, t;
	long n;

	if (!argv) {			/* execve(path, NULL, ...) is allowed */
		kestrel_put_done(r, 0, 0);
		return;
	}
	for (i = 0; i < KESTREL_ARGV_MAX; i++) {
		if (copy_from_user_nofault(&p, &argv[i], sizeof(p)))
			goto fault;
		if (!p)
			goto out;
		if (done >= max) {
			trunc = true;
			goto out;
		}
		n = kestrel_read_ustr(r->pos + done, p, max - done, &t);
		if (n < 0)
			goto fault;
		done += n;
		if (t || done >= max) {	/* no room for the rest or its NUL */
			trunc = true;
			goto out;
		}
		r->pos[done++] = '\0';
	}
	trunc = true;			/* more arguments than we read */
	goto out;
fault:
	if (!done) {
		kestrel_put_fault(r);
		return;
	}
	trunc = true;			/* keep what was readable */
out:
	kestrel_put_done(r, done, trunc ? KESTREL_PARAM_TRUNCATED : 0);
}

/* ------------------------------------------------------------------------ */
/* Syscall fillers                                                          */

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

static void kestrel_fill_generic(struct kestrel_ring *ring, u32 snaplen,
				 long nr, long ret, const unsigned long *args)
{
	struct kestrel_rec r;
	u64 a[6];
	int i;

	if (!kestrel_begin(&r, ring, KESTREL_EVT_GENERIC, NP_GENERIC,
			   4 + 8 + sizeof(a), snaplen))
		return;
	for (i = 0; i < 6; i++)
		a[i] = args[i];
	kestrel_put_u32(&r, nr);
	kestrel_put_s64(&r, ret);
	kestrel_put_val(&r, a, sizeof(a));
	kestrel_rec_commit(&r);
}

/*
 * The executable of current's new image, resolved into ring->scratch.
 * Returns its length (*exe set) or -ENOENT.
 */
static long kestrel_exe_path(struct kestrel_ring *ring, const char **exe)
{
	struct mm_struct *mm = current->mm;
	struct file *file;
	long len = -ENOENT;
	char *p;

	if (!mm)
		return len;
	/*
	 * Right after a successful exec the mm is new and private to current,
	 * so exe_file cannot be replaced (and its file put) under us; the RCU
	 * read lock covers the __rcu pointer all the same.
	 */
	rcu_read_lock();
	file = rcu_dereference(mm->exe_file);
	if (file) {
		p = d_path(&file->f_path, ring->scratch, PATH_MAX);
		if (!IS_ERR(p)) {
			*exe = p;
			len = ring->scratch + PATH_MAX - 1 - p;
		}
	}
	rcu_read_unlock();
	return len;
}

static void kestrel_fill_execve(struct kestrel_ring *ring, u32 snaplen,
				long nr, long ret, const unsigned long *args)
{
	bool at = nr == __NR_execveat;
	u16 type = at ? KESTREL_EVT_EXECVEAT : KESTREL_EVT_EXECVE;
	unsigned long arg_start = 0, arg_end = 0;
	const char *exe = NULL;
	struct kestrel_rec r;
	long exe_len;
	u64 payload;

	if (ret) {
		/* failed: the caller's arguments are still in regs */
		payload = 8 + 2 * (u64)snaplen + 8 + 4;
		if (!kestrel_begin(&r, ring, type, NP_EXECVE, payload, snaplen))
			return;
		kestrel_put_s64(&r, ret);
		kestrel_put_ustr(&r, (const char __user *)args[at ? 1 : 0]);
		kestrel_put_uargv(&r, (const char __user *const __user *)
				  args[at ? 2 : 1]);
		kestrel_put_s64(&r, at ? (int)args[0] : AT_FDCWD);
		kestrel_put_u32(&r, at ? (u32)args[4] : 0);
		kestrel_rec_commit(&r);
		return;
	}

	/*
	 * Success: the new image's registers were reset, so the arguments are
	 * gone.  exe comes from mm->exe_file, argv from the new stack.
	 */
	exe_len = kestrel_exe_path(ring, &exe);
	if (current->mm) {
		arg_start = READ_ONCE(current->mm->arg_start);
		arg_end = READ_ONCE(current->mm->arg_end);
		if (arg_end < arg_start)
			arg_end = arg_start;
	}
	payload = 8 + min_t(u64, exe_len > 0 ? exe_len : 0, snaplen) +
		  min_t(u64, arg_end - arg_start, snaplen) + 8 + 4;
	if (!kestrel_begin(&r, ring, type, NP_EXECVE, payload, snaplen))
		return;
	kestrel_put_s64(&r, ret);
	if (exe_len >= 0)
		kestrel_put_kbytes(&r, exe, exe_len);
	else
		kestrel_put_fault(&r);
	kestrel_put_ubytes(&r, (const void __user *)arg_start,
			   arg_end - arg_start, U32_MAX);
	if (at) {
		/* execveat's dirfd and flags did not survive the exec */
		kestrel_put_fault(&r);
		kestrel_put_fault(&r);
	} else {
		kestrel_put_s64(&r, AT_FDCWD);
		kestrel_put_u32(&r, 0);
	}
	kestrel_rec_commit(&r);
}

static void kestrel_fill_open(struct kestrel_ring *ring, u32 snaplen,
			      long nr, long ret, const unsigned long *args)
{
	struct open_how how = { 0 };
	struct kestrel_rec r;
	bool how_ok = true;
	u16 type;

	if (nr == __NR_openat)
		type = KESTREL_EVT_OPENAT;
	else if (nr == __NR_openat2)
		type = KESTREL_EVT_OPENAT2;
	else
		type = KESTREL_EVT_OPEN;
	if (type == KESTREL_EVT_OPENAT2)
		how_ok = !copy_from_user_nofault(&how,
				(const void __user *)args[2],
				min_t(unsigned long, args[3], sizeof(how)));

	if (!kestrel_begin(&r, ring, type, NP_OPEN, 8 + 8 + snaplen + 3 * 8,
			   snaplen))
		return;
	kestrel_put_s64(&r, ret);
	switch (type) {
	case KESTREL_EVT_OPEN:
		kestrel_put_s64(&r, AT_FDCWD);
		kestrel_put_ustr(&r, (const char __user *)args[0]);
		kestrel_put_u64(&r, args[1]);
		kestrel_put_u64(&r, args[2]);
		kestrel_put_u64(&r, 0);
		break;
	case KESTREL_EVT_OPENAT:
		kestrel_put_s64(&r, (int)args[0]);
		kestrel_put_ustr(&r, (const char __user *)args[1]);
		kestrel_put_u64(&r, args[2]);
		kestrel_put_u64(&r, args[3]);
		kestrel_put_u64(&r, 0);
		break;
	default:
		kestrel_put_s64(&r, (int)args[0]);
		kestrel_put_ustr(&r, (const char __user *)args[1]);
		if (how_ok) {
			kestrel_put_u64(&r, how.flags);
			kestrel_put_u64(&r, how.mode);
			kestrel_put_u64(&r, how.resolve);
		} else {
			kestrel_put_fault(&r);
			kestrel_put_fault(&r);
			kestrel_put_fault(&r);
		}
		break;
	}
	kestrel_rec_commit(&r);
}

#define KESTREL_SOCKADDR_MAX	128

static void kestrel_fill_connect(struct kestrel_ring *ring, u32 snaplen,
				 long ret, const unsigned long *args)
{
	int addrlen = (int)args[2];
	struct kestrel_rec r;

	if (!kestrel_begin(&r, ring, KESTREL_EVT_CONNECT, NP_CONNECT,
			   8 + 8 + min_t(u32, snaplen, KESTREL_SOCKADDR_MAX),
			   snaplen))
		return;
	kestrel_put_s64(&r, ret);
	kestrel_put_s64(&r, (int)args[0]);
	kestrel_put_ubytes(&r, (const void __user *)args[1],
			   addrlen > 0 ? addrlen : 0, KESTREL_SOCKADDR_MAX);
	kestrel_rec_commit(&r);
}

static void kestrel_fill_clone(struct kestrel_ring *ring, u16 type, long ret,
			       u64 flags)
{
	struct kestrel_rec r;

	if (!kestrel_begin(&r, ring, type, NP_CLONE, 8 + 8,
			   KESTREL_SNAPLEN_MIN))
		return;
	kestrel_put_s64(&r, ret);
	kestrel_put_u64(&r, flags);
	kestrel_rec_commit(&r);
}

static void kestrel_fill_execve_enter(struct kestrel_ring *ring, u32 snaplen,
				      long nr, const unsigned long *args)
{
	bool at = nr == __NR_execveat;
	struct kestrel_rec r;

	if (!kestrel_begin(&r, ring, at ? KESTREL_EVT_EXECVEAT_ENTER :
			   KESTREL_EVT_EXECVE_ENTER, NP_EXECVE_ENTER,
			   2 * snaplen, snaplen))
		return;
	kestrel_put_ustr(&r, (const char __user *)args[at ? 1 : 0]);
	kestrel_put_uargv(&r, (const char __user *const __user *)
			  args[at ? 2 : 1]);
	kestrel_rec_commit(&r);
}

/* ------------------------------------------------------------------------ */
/* Probes                                                                   */

static void kestrel_sys_enter(void *data, struct pt_regs *regs, long id)
{
	unsigned long args[6];
	struct kestrel_ring *ring;

	if (!kestrel_mask_test(id))	/* first: the common case returns */
		return;
	if (id != __NR_execve && id != __NR_execveat)
		return;
	if (in_compat_syscall())	/* the mask holds x86_64 numbers */
		return;
	ring = kestrel_enter();
	if (!ring)
		return;
	syscall_get_arguments(current, regs, args);
	kestrel_fill_execve_enter(ring, READ_ONCE(kestrel_snaplen), id, args);
	kestrel_leave(ring);
}

static void kestrel_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	long nr = syscall_get_nr(current, regs);
	unsigned long args[6];
	struct kestrel_ring *ring;
	u32 snaplen;

	if (!kestrel_mask_test(nr))	/* first: the common case returns */
		return;
	if (in_compat_syscall())	/* the mask holds x86_64 numbers */
		return;
	ring = kestrel_enter();
	if (!ring)
		return;
	/* relaxed: SET_SNAPLEN may race; each event uses one value */
	snaplen = READ_ONCE(kestrel_snaplen);
	syscall_get_arguments(current, regs, args);
	switch (nr) {
	case __NR_execve:
	case __NR_execveat:
		kestrel_fill_execve(ring, snaplen, nr, ret, args);
		break;
#ifdef __NR_open
	case __NR_open:
#endif
	case __NR_openat:
	case __NR_openat2:
		kestrel_fill_open(ring, snaplen, nr, ret, args);
		break;
	case __NR_connect:
		kestrel_fill_connect(ring, snaplen, ret, args);
		break;
	case __NR_clone:
		kestrel_fill_clone(ring, KESTREL_EVT_CLONE, ret, args[0]);
		break;
#ifdef __NR_fork
	case __NR_fork:
		kestrel_fill_clone(ring, KESTREL_EVT_FORK, ret, 0);
		break;
#endif
#ifdef __NR_vfork
	case __NR_vfork:
		kestrel_fill_clone(ring, KESTREL_EVT_VFORK, ret, 0);
		break;
#endif
	default:
		kestrel_fill_generic(ring, snaplen, nr, ret, args);
		break;
	}
	kestrel_leave(ring);
}

static void kestrel_sched_fork(void *data, struct task_struct *parent,
			       struct task_struct *child)
{
	struct kestrel_ring *ring = kestrel_enter();
	struct kestrel_rec r;

	if (!ring)
		return;
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_FORK, NP_PROC_FORK, 8,
			  KESTREL_SNAPLEN_MIN)) {
		kestrel_put_u32(&r, child->pid);
		kestrel_put_u32(&r, child->tgid);
		kestrel_rec_commit(&r);
	}
	kestrel_leave(ring);
}

static void kestrel_sched_exec(void *data, struct task_struct *p,
			       pid_t old_pid, struct linux_binprm *bprm)
{
	struct kestrel_ring *ring = kestrel_enter();
	struct kestrel_rec r;
	u32 snaplen;

	if (!ring)
		return;
	snaplen = READ_ONCE(kestrel_snaplen);	/* relaxed, as above */
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_EXEC, NP_PROC_EXEC,
			  snaplen + 4, snaplen)) {
		kestrel_put_kstr(&r, bprm->filename);
		kestrel_put_u32(&r, old_pid);
		kestrel_rec_commit(&r);
	}
	kestrel_leave(ring);
}

static void kestrel_sched_exit(void *data, struct task_struct *p)
{
	struct kestrel_ring *ring = kestrel_enter();
	struct kestrel_rec r;

	if (!ring)
		return;
	if (kestrel_begin(&r, ring, KESTREL_EVT_PROC_EXIT, NP_PROC_EXIT, 4,
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

int kestrel_probes_init(void)
{
	size_t i;

	BUILD_BUG_ON(KESTREL_LOST_NPARAMS > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_GENERIC > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_EXECVE > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_OPEN > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_CONNECT > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_CLONE > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_PROC_EXIT > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_PROC_FORK > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_PROC_EXEC > KESTREL_MAX_PARAMS);
	BUILD_BUG_ON(NP_EXECVE_ENTER > KESTREL_MAX_PARAMS);
	/* the largest event (EXECVE at max snaplen) fits the record cap */
	BUILD_BUG_ON(sizeof(struct kestrel_event_hdr) + 2 * KESTREL_MAX_PARAMS +
		     8 + 2 * KESTREL_SNAPLEN_MAX + 8 + 4 > KESTREL_RECORD_MAX);
	BUILD_BUG_ON(sizeof(struct open_how) != 3 * sizeof(u64));

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
	/* no probe is running or will run once this returns */
	tracepoint_synchronize_unregister();
}

/* Caller holds the ioctl mutex. */
int kestrel_probes_register(void)
{
	size_t i;
	int err;

	for (i = 0; i < ARRAY_SIZE(kestrel_tps); i++) {
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

/* Caller holds the ioctl mutex. */
void kestrel_probes_unregister(void)
{
	kestrel_probes_detach();
}
