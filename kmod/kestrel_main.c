// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel_main.c - module init/exit, parameters and /dev/kestrel: open,
 * release, ioctl, mmap and poll.
 *
 * Kestrel is a runtime security monitor: tracepoint probes write syscall and
 * process events into per-CPU rings which one consumer maps read-only and
 * drains.  The ABI is kestrel_abi.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "kestrel_abi.h"
#include "kestrel_ring.h"
#include "kestrel_probes.h"

static unsigned long ring_size = 8UL << 20;
module_param(ring_size, ulong, 0444);
MODULE_PARM_DESC(ring_size, "bytes per CPU ring: power of two, 64K..1G (8M)");

/* Set while the device is open for writing: one consumer at a time. */
static atomic_t kestrel_open_busy = ATOMIC_INIT(0);

/*
 * file->private_data of the consumer's open file.  A read-only open is an
 * observer: it may read the version, info and counters beside the consumer,
 * and nothing else.
 */
static const char kestrel_consumer_token;

static bool kestrel_is_consumer(struct file *file)
{
	return file->private_data == &kestrel_consumer_token;
}

/* Serialises START/STOP/release; never taken in probe context. */
static DEFINE_MUTEX(kestrel_lock);
static bool kestrel_capturing;		/* under kestrel_lock */

/* Mapped bytes per ring: consumer page, producer page, data. */
static u64 kestrel_stride(void)
{
	return 2 * PAGE_SIZE + kestrel_ring_size;
}

/*
 * Who attached, started, stopped and released, in the kernel log: an
 * attacker who kills the agent leaves a trace.  Rate-limited on its own
 * state (a consumer looping over open/close cannot flood the log, nor hide
 * behind other messages' limits).
 */
static DEFINE_RATELIMIT_STATE(kestrel_audit_rs, 5 * HZ, 20);

#define kestrel_audit(fmt, ...)						\
	do {								\
		if (__ratelimit(&kestrel_audit_rs))			\
			pr_notice(fmt, ##__VA_ARGS__);			\
	} while (0)

/* The consumer's opener, for the release message (under kestrel_lock). */
static pid_t kestrel_owner_pid;
static char kestrel_owner_comm[TASK_COMM_LEN];

static int kestrel_start(void)
{
	int err = 0;

	mutex_lock(&kestrel_lock);
	if (!kestrel_capturing) {
		err = kestrel_probes_register();
		if (!err) {
			WRITE_ONCE(kestrel_capturing, true);
			kestrel_audit("capture started by pid %d (%s)\n",
				      task_tgid_nr(current), current->comm);
		}
	}
	mutex_unlock(&kestrel_lock);
	return err;
}

/* Returns whether capture was running. */
static bool kestrel_stop(void)
{
	bool was;

	mutex_lock(&kestrel_lock);
	was = kestrel_capturing;
	if (was) {
		/* unregisters and waits: no probe runs after this */
		kestrel_probes_unregister();
		/* a probe may have queued a wake-up just before */
		kestrel_rings_irq_work_sync();
		WRITE_ONCE(kestrel_capturing, false);
	}
	mutex_unlock(&kestrel_lock);
	return was;
}

/*
 * Capabilities, beside the file mode (see kestrel_abi.h): the consumer sees
 * every process's system calls, as a tracing BPF program does (CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN); an observer sees counters only, as
 * system-wide perf counting does (CAP_PERFMON or CAP_SYS_ADMIN).
 */
static bool kestrel_may_open(bool consumer)
{
	/* the kernel's own tests, in the order perf and BPF make them */
	if (consumer)
		return perfmon_capable() && bpf_capable();
	return perfmon_capable();
}

static int kestrel_open(struct inode *inode, struct file *file)
{
	bool consumer = file->f_mode & FMODE_WRITE;
	int err;

	if (!kestrel_may_open(consumer)) {
		kestrel_audit("%s open refused: pid %d (%s) lacks %s\n",
			      consumer ? "consumer" : "observer",
			      task_tgid_nr(current), current->comm,
			      consumer ? "CAP_SYS_ADMIN or CAP_PERFMON+CAP_BPF"
				       : "CAP_SYS_ADMIN or CAP_PERFMON");
		return -EPERM;
	}
	if (!consumer) {
		file->private_data = NULL;
		return nonseekable_open(inode, file);
	}
	/*
	 * cmpxchg is a full barrier on success: pairs with the release in
	 * kestrel_release(), so the previous consumer's teardown (probes
	 * detached, rings freed) is complete before we create new rings.
	 */
	if (atomic_cmpxchg(&kestrel_open_busy, 0, 1) != 0)
		return -EBUSY;

	/* fresh zeroed rings: nothing of the last session is readable */
	err = kestrel_rings_create();
	if (err) {
		atomic_set_release(&kestrel_open_busy, 0);
		return err;
	}
	memset(kestrel_mask, 0, sizeof(kestrel_mask));
	WRITE_ONCE(kestrel_snaplen, KESTREL_SNAPLEN_DEFAULT);
	file->private_data = (void *)&kestrel_consumer_token;
	mutex_lock(&kestrel_lock);
	kestrel_owner_pid = task_tgid_nr(current);
	get_task_comm(kestrel_owner_comm, current);
	mutex_unlock(&kestrel_lock);
	kestrel_audit("consumer attached: pid %d (%s)\n",
		      task_tgid_nr(current), current->comm);
	return nonseekable_open(inode, file);
}

static int kestrel_release(struct inode *inode, struct file *file)
{
	bool was_capturing;

	if (!kestrel_is_consumer(file))
		return 0;
	was_capturing = kestrel_stop();
	/* no probe runs and nothing is mapped: the rings can go */
	kestrel_rings_destroy();
	mutex_lock(&kestrel_lock);
	kestrel_audit("consumer released: pid %d (%s)%s\n",
		      kestrel_owner_pid, kestrel_owner_comm,
		      was_capturing ? " while capturing: capture stopped" : "");
	mutex_unlock(&kestrel_lock);
	/* release: the teardown above happens before the next open */
	atomic_set_release(&kestrel_open_busy, 0);
	return 0;
}

static long kestrel_ioctl_stats(void __user *uarg)
{
	struct kestrel_stats_req req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.__pad || req.cpu >= nr_cpu_ids)
		return -EINVAL;
	kestrel_rings_read_stats(req.cpu, &req.stats);
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static long kestrel_ioctl_rings(void __user *uarg)
{
	struct kestrel_ring_map *map;
	long ret = 0;

	/* 1 KiB: not on the stack */
	map = kmalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	kestrel_rings_map(map);
	if (copy_to_user(uarg, map, sizeof(*map)))
		ret = -EFAULT;
	kfree(map);
	return ret;
}

static long kestrel_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct kestrel_syscall_mask mask;
	struct kestrel_info info;
	u32 val;
	int i, err;

	if (!kestrel_is_consumer(file) && cmd != KESTREL_IOC_ABI_VERSION &&
	    cmd != KESTREL_IOC_GET_INFO && cmd != KESTREL_IOC_GET_STATS &&
	    cmd != KESTREL_IOC_GET_RINGS)
		return -EPERM;

	switch (cmd) {
	case KESTREL_IOC_ABI_VERSION:
		val = KESTREL_ABI_VERSION;
		return put_user(val, (u32 __user *)uarg) ? -EFAULT : 0;

	case KESTREL_IOC_GET_INFO:
		memset(&info, 0, sizeof(info));
		info.abi_version = KESTREL_ABI_VERSION;
		info.nr_rings = nr_cpu_ids;
		info.ring_size = kestrel_ring_size;
		info.page_size = PAGE_SIZE;
		info.ring_stride = kestrel_stride();
		info.consumer_offset = 0;
		info.producer_offset = PAGE_SIZE;
		info.data_offset = 2 * PAGE_SIZE;
		info.snaplen = READ_ONCE(kestrel_snaplen);
		/* relaxed: a snapshot; START/STOP are ordered by the mutex */
		info.capturing = READ_ONCE(kestrel_capturing);
		info.features = KESTREL_FEAT_ALL;
		info.record_max = min_t(u64, kestrel_ring_size / 4,
					KESTREL_RECORD_MAX);
		kestrel_rings_usage(&info.rings_present, &info.ring_bytes);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;

	case KESTREL_IOC_GET_RINGS:
		return kestrel_ioctl_rings(uarg);

	case KESTREL_IOC_START:
		return kestrel_start();

	case KESTREL_IOC_STOP:
		if (kestrel_stop())
			kestrel_audit("capture stopped by pid %d (%s)\n",
				      task_tgid_nr(current), current->comm);
		return 0;

	case KESTREL_IOC_SET_MASK:
		if (copy_from_user(&mask, uarg, sizeof(mask)))
			return -EFAULT;
		/*
		 * WRITE_ONCE: pairs with the probes' READ_ONCE (no torn
		 * words); no ordering between words is promised.  Bits at or
		 * above NR_syscalls name no syscall and are harmless.
		 */
		for (i = 0; i < KESTREL_MASK_WORDS; i++)
			WRITE_ONCE(kestrel_mask[i], mask.bits[i]);
		/* during capture: attach what the new mask needs */
		mutex_lock(&kestrel_lock);
		err = kestrel_capturing ? kestrel_probes_update() : 0;
		mutex_unlock(&kestrel_lock);
		return err;

	case KESTREL_IOC_SET_SNAPLEN:
		if (get_user(val, (u32 __user *)uarg))
			return -EFAULT;
		if (val < KESTREL_SNAPLEN_MIN || val > KESTREL_SNAPLEN_MAX)
			return -EINVAL;
		/* WRITE_ONCE: pairs with the probes' READ_ONCE */
		WRITE_ONCE(kestrel_snaplen, val);
		return 0;

	case KESTREL_IOC_GET_STATS:
		return kestrel_ioctl_stats(uarg);

	default:
		return -ENOTTY;
	}
}

/*
 * Every ring mapping: not inherited by fork() (VM_DONTCOPY: a child must
 * not get the consumer page, one writer of the tail is the protocol), not
 * grown by mremap() (VM_DONTEXPAND), not in core dumps (VM_DONTDUMP); a
 * read-only one loses VM_MAYWRITE, so mprotect() cannot make it writable.
 */
static void kestrel_vma_flags(struct vm_area_struct *vma, bool read_only)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	if (read_only)
		vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags |= VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP;
	if (read_only)
		vma->vm_flags &= ~VM_MAYWRITE;
#endif
}

/*
 * The offset space is ring index * ring_stride + part.  A mapping must be
 * exactly one ring's consumer page (writable if MAP_SHARED), or lie within
 * its producer page + data area (read-only, and VM_MAYWRITE is cleared so
 * mprotect() cannot add write access).  Only rings that exist now (see
 * GET_RINGS) can be mapped; the consumer's open file keeps them.
 */
static int kestrel_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long stride_pages = kestrel_stride() >> PAGE_SHIFT;
	unsigned long pgoff = vma->vm_pgoff;
	unsigned long npages = vma_pages(vma);
	unsigned long idx = pgoff / stride_pages;
	unsigned long part = pgoff % stride_pages;
	struct kestrel_ring *ring;

	if (!kestrel_is_consumer(file))
		return -EPERM;
	if (idx >= nr_cpu_ids || !npages)
		return -EINVAL;
	ring = kestrel_ring_get(idx);
	if (!ring)
		return -ENODEV;

	if (part == 0) {
		if (npages != 1)
			return -EINVAL;
		/*
		 * Writes to a private (copy-on-write) mapping would never reach
		 * the module: refuse them, now and through mprotect().
		 */
		if (!(vma->vm_flags & VM_SHARED)) {
			if (vma->vm_flags & VM_WRITE)
				return -EINVAL;
			kestrel_vma_flags(vma, true);
		} else {
			kestrel_vma_flags(vma, false);
		}
		return remap_vmalloc_range(vma, ring->cons, 0);
	}

	if (npages > stride_pages - part)
		return -EINVAL;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	kestrel_vma_flags(vma, true);
	return remap_vmalloc_range(vma, ring->area, part - 1);
}

static __poll_t kestrel_poll(struct file *file, poll_table *wait)
{
	if (!kestrel_is_consumer(file))
		return EPOLLERR;
	poll_wait(file, &kestrel_wq, wait);
	WRITE_ONCE(kestrel_consumer_waiting, 1);
	/*
	 * Full barrier between the flag store and the head loads: pairs with
	 * smp_mb() in kestrel_wake() after the producer's head store (the
	 * store-buffer pattern; see kestrel_ring.c).
	 */
	smp_mb();
	/* readable once a ring reaches its watermark, see kestrel_abi.h */
	if (kestrel_rings_readable())
		return EPOLLIN | EPOLLRDNORM;
	return 0;
}

static const struct file_operations kestrel_fops = {
	.owner		= THIS_MODULE,
	.open		= kestrel_open,
	.release	= kestrel_release,
	.unlocked_ioctl	= kestrel_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= kestrel_mmap,
	.poll		= kestrel_poll,
};

static struct miscdevice kestrel_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= KESTREL_DEVICE_NAME,
	.fops	= &kestrel_fops,
	.mode	= 0600,
};

static void kestrel_abi_checks(void)
{
	BUILD_BUG_ON(sizeof(struct kestrel_event_hdr) != 24);
	BUILD_BUG_ON(sizeof(struct kestrel_ring_producer) != 64);
	BUILD_BUG_ON(sizeof(struct kestrel_ring_consumer) != 64);
	BUILD_BUG_ON(sizeof(struct kestrel_info) != 128);
	BUILD_BUG_ON(sizeof(struct kestrel_ring_map) != 8 + KESTREL_MAX_CPUS / 8);
	BUILD_BUG_ON(NR_CPUS > KESTREL_MAX_CPUS);
	BUILD_BUG_ON(KESTREL_LOST_LEN != sizeof(struct kestrel_event_hdr) +
		     KESTREL_LOST_NPARAMS * (sizeof(__u16) + sizeof(__u64)));
	BUILD_BUG_ON(KESTREL_IOC_MAGIC == 0xb7);	/* nsfs's */
	BUILD_BUG_ON(sizeof(struct kestrel_syscall_mask) != 64);
	BUILD_BUG_ON(sizeof(struct kestrel_cpu_stats) != 128);
	BUILD_BUG_ON(sizeof(struct kestrel_stats_req) != 136);
	BUILD_BUG_ON(KESTREL_LOST_LEN % 8);
	BUILD_BUG_ON(KESTREL_SNAPLEN_MAX > KESTREL_PARAM_LEN_MASK);
	BUILD_BUG_ON(KESTREL_MAX_SYSCALLS % 64);
}

static int __init kestrel_init(void)
{
	int err;

	kestrel_abi_checks();

	if (!is_power_of_2(ring_size) || ring_size < KESTREL_RING_SIZE_MIN ||
	    ring_size > KESTREL_RING_SIZE_MAX || ring_size % PAGE_SIZE) {
		pr_err("invalid ring_size=%lu: want a power of two in %lu..%lu\n",
		       ring_size, (unsigned long)KESTREL_RING_SIZE_MIN,
		       (unsigned long)KESTREL_RING_SIZE_MAX);
		return -EINVAL;
	}

	err = kestrel_probes_init();
	if (err)
		return err;
	err = kestrel_rings_init(ring_size);
	if (err) {
		pr_err("cannot set up rings and the CPU hotplug callback: %d\n",
		       err);
		return err;
	}
	err = misc_register(&kestrel_miscdev);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n",
		       KESTREL_DEVICE_NAME, err);
		kestrel_rings_exit();
		return err;
	}
	pr_info("ABI %u: rings of %lu bytes per online CPU while a consumer holds /dev/%s\n",
		KESTREL_ABI_VERSION, ring_size, KESTREL_DEVICE_NAME);
	return 0;
}

static void __exit kestrel_exit(void)
{
	misc_deregister(&kestrel_miscdev);
	/*
	 * An open fd pins the module, so release() has stopped capture and
	 * freed the rings; stop anyway in case.
	 */
	kestrel_stop();
	kestrel_rings_destroy();
	kestrel_rings_exit();
}

module_init(kestrel_init);
module_exit(kestrel_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("Kestrel authors");
MODULE_DESCRIPTION("Kestrel runtime security monitor: syscall capture");
