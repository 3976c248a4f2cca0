// SPDX-License-Identifier: GPL-2.0
/*
 * kestrel_ring.c - per-CPU record rings: allocation, reserve/commit, PAD and
 * LOST records, drop accounting and consumer wake-ups.
 *
 * Modelled on kernel/bpf/ringbuf.c, simplified by having exactly one producer
 * per ring: the CPU that owns it, running with preemption disabled.  The
 * producer therefore needs no lock and no atomic read-modify-write on the
 * ring; the only cross-CPU protocol is the head/tail exchange with the
 * consumer (see kestrel_abi.h) and the wake-up handshake with poll().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vmalloc.h>

#include "kestrel_ring.h"

u64 kestrel_ring_size;
struct kestrel_ring **kestrel_rings;
DECLARE_WAIT_QUEUE_HEAD(kestrel_wq);

/*
 * Ring lifetime
 * -------------
 * kestrel_rings[] (nr_cpu_ids pointers) lives from module init to exit; its
 * entries are rings only while a consumer holds the device:
 *   - kestrel_rings_create() (consumer open) allocates a zeroed ring for
 *     every online CPU;
 *   - kestrel_cpu_prepare() (CPU hotplug, CPUHP_BP_PREPARE_DYN: on the
 *     control CPU, before the new CPU runs any task) allocates the ring of a
 *     CPU that comes online during the session, unless it has one;
 *   - kestrel_rings_destroy() (consumer release, after the probes are
 *     detached and every irq_work has run) frees them all, keeping each
 *     ring's final counters for observers.
 * A CPU going offline keeps its ring: its records may still be unread, and
 * the consumer may have it mapped.  The ring is used again if the CPU
 * returns.
 *
 * Writers of the entries hold kestrel_rings_mutex, and create/destroy hold
 * cpus_read_lock() around it (lock order: CPU hotplug lock, then the
 * mutex, as in the hotplug callback), so no CPU comes or goes while rings
 * are created or freed.  An entry goes from NULL to a ring with a release
 * store (the ring's initialisation is visible first); readers outside the
 * mutex use kestrel_ring_get() (acquire).  Probes index the array directly:
 * they run only between START and STOP, inside the session, on an online
 * CPU, which has its ring (published before the CPU ran anything, the
 * bring-up itself being a full barrier).
 */
static DEFINE_MUTEX(kestrel_rings_mutex);
static bool kestrel_rings_active;		/* under the mutex */
static u32 kestrel_rings_present;		/* under the mutex */
static u64 kestrel_rings_bytes;			/* under the mutex */
static struct kestrel_cpu_stats *kestrel_saved_stats;	/* [nr_cpu_ids] */
static int kestrel_cpuhp_state = -1;

/*
 * Set by poll() before it checks the rings, cleared by the producer that
 * decides to wake it.  On its own cache line: every producer reads it after
 * every record, and it changes at most once per poll().
 */
int kestrel_consumer_waiting ____cacheline_aligned_in_smp;

static void kestrel_wake_fn(struct irq_work *work)
{
	/* hard irq context on the CPU that queued the work: waking is fine */
	wake_up_all(&kestrel_wq);
}

/* Kernel memory one ring holds (besides its small struct). */
static u64 kestrel_ring_footprint(void)
{
	return 2 * PAGE_SIZE + kestrel_ring_size +
	       KESTREL_SCRATCH_SLOTS * PATH_MAX + sizeof(struct kestrel_ring);
}

static void kestrel_ring_free(struct kestrel_ring *ring)
{
	if (!ring)
		return;
	vfree(ring->area);
	vfree(ring->cons);
	kfree(ring->scratch);
	kfree(ring);
}

static struct kestrel_ring *kestrel_ring_alloc(int cpu, u64 ring_size)
{
	struct kestrel_ring *ring;

	ring = kzalloc_node(sizeof(*ring), GFP_KERNEL, cpu_to_node(cpu));
	if (!ring)
		return NULL;
	ring->scratch = kmalloc_node(KESTREL_SCRATCH_SLOTS * PATH_MAX, GFP_KERNEL,
				     cpu_to_node(cpu));
	/*
	 * vmalloc_user: zeroed (nothing of an earlier session can be read)
	 * and VM_USERMAP, as remap_vmalloc_range wants.
	 */
	ring->cons = vmalloc_user(PAGE_SIZE);
	/* one allocation so the producer page and data map contiguously */
	ring->area = vmalloc_user(PAGE_SIZE + ring_size);
	if (!ring->scratch || !ring->cons || !ring->area) {
		kestrel_ring_free(ring);
		return NULL;
	}
	ring->prod = ring->area;
	ring->data = (u8 *)ring->area + PAGE_SIZE;
	ring->mask = ring_size - 1;
	ring->soft_limit = ring_size - ring_size / KESTREL_HEADROOM_DIV;
	init_irq_work(&ring->wake_work, kestrel_wake_fn);
	return ring;
}

/* Give cpu a ring if it has none.  kestrel_rings_mutex held. */
static int kestrel_ring_add(unsigned int cpu)
{
	struct kestrel_ring *ring;

	if (kestrel_rings[cpu])
		return 0;
	ring = kestrel_ring_alloc(cpu, kestrel_ring_size);
	if (!ring)
		return -ENOMEM;
	/* release: the ring's initialisation before its pointer; pairs
	 * with the acquire in kestrel_ring_get()
	 */
	smp_store_release(&kestrel_rings[cpu], ring);
	kestrel_rings_present++;
	kestrel_rings_bytes += kestrel_ring_footprint();
	return 0;
}

struct kestrel_ring *kestrel_ring_get(unsigned int cpu)
{
	if (cpu >= nr_cpu_ids)
		return NULL;
	/* acquire: pairs with the release in kestrel_ring_add() */
	return smp_load_acquire(&kestrel_rings[cpu]);
}

/*
 * CPU hotplug, prepare step: runs on the control CPU before cpu runs any
 * task.  Failing makes the CPU stay offline rather than run unrecorded (a
 * probe on it would find no ring).
 */
static int kestrel_cpu_prepare(unsigned int cpu)
{
	int err = 0;

	mutex_lock(&kestrel_rings_mutex);
	if (kestrel_rings_active) {
		err = kestrel_ring_add(cpu);
		if (err)
			pr_err("cpu %u: no memory for its ring (%llu bytes): it stays offline\n",
			       cpu, kestrel_ring_size);
	}
	mutex_unlock(&kestrel_rings_mutex);
	return err;
}

int kestrel_rings_init(u64 ring_size)
{
	int ret;

	kestrel_ring_size = ring_size;
	kestrel_rings = kcalloc(nr_cpu_ids, sizeof(*kestrel_rings), GFP_KERNEL);
	kestrel_saved_stats = kcalloc(nr_cpu_ids, sizeof(*kestrel_saved_stats),
				      GFP_KERNEL);
	if (!kestrel_rings || !kestrel_saved_stats) {
		kestrel_rings_exit();
		return -ENOMEM;
	}
	/* a dynamic prepare state; no teardown: offline CPUs keep rings */
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "kestrel:prepare",
					kestrel_cpu_prepare, NULL);
	if (ret < 0) {
		kestrel_rings_exit();
		return ret;
	}
	kestrel_cpuhp_state = ret;
	return 0;
}

/* Module exit: no consumer (an open file pins the module). */
void kestrel_rings_exit(void)
{
	if (kestrel_cpuhp_state >= 0)
		cpuhp_remove_state_nocalls(kestrel_cpuhp_state);
	kestrel_cpuhp_state = -1;
	kfree(kestrel_rings);
	kestrel_rings = NULL;
	kfree(kestrel_saved_stats);
	kestrel_saved_stats = NULL;
}

/*
 * Consumer open: a fresh ring for each online CPU, zeroed counters.  No
 * probe is attached and no ring exists (the previous consumer's release
 * freed them).
 */
int kestrel_rings_create(void)
{
	unsigned int cpu;
	int err = 0;

	cpus_read_lock();
	mutex_lock(&kestrel_rings_mutex);
	memset(kestrel_saved_stats, 0,
	       nr_cpu_ids * sizeof(*kestrel_saved_stats));
	kestrel_rings_present = 0;
	kestrel_rings_bytes = 0;
	for_each_online_cpu(cpu) {
		err = kestrel_ring_add(cpu);
		if (err)
			break;
	}
	if (!err)
		kestrel_rings_active = true;
	mutex_unlock(&kestrel_rings_mutex);
	cpus_read_unlock();
	if (err) {
		pr_err("cannot allocate %u rings of %llu bytes\n",
		       num_online_cpus(), kestrel_ring_size);
		kestrel_rings_destroy();
	}
	WRITE_ONCE(kestrel_consumer_waiting, 0);
	return err;
}

/*
 * Consumer release (or a failed open): no probe is attached, no irq_work is
 * pending and nothing is mapped (a mapping holds the file open).  The
 * counters are kept for observers.
 */
void kestrel_rings_destroy(void)
{
	struct kestrel_ring *ring;
	unsigned int cpu;

	cpus_read_lock();
	mutex_lock(&kestrel_rings_mutex);
	kestrel_rings_active = false;
	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		ring = kestrel_rings[cpu];
		if (!ring)
			continue;
		kestrel_saved_stats[cpu] = ring->stats;
		WRITE_ONCE(kestrel_rings[cpu], NULL);
		kestrel_ring_free(ring);
	}
	kestrel_rings_present = 0;
	kestrel_rings_bytes = 0;
	mutex_unlock(&kestrel_rings_mutex);
	cpus_read_unlock();
}

/* Called by the consumer (which keeps the rings alive) or at teardown. */
void kestrel_rings_irq_work_sync(void)
{
	struct kestrel_ring *ring;
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		ring = kestrel_ring_get(cpu);
		if (ring)
			irq_work_sync(&ring->wake_work);
	}
}

/*
 * poll() side of the wake-up handshake: is some ring at or above its
 * watermark?  The caller (the consumer, whose open file keeps the rings) has
 * set kestrel_consumer_waiting and executed smp_mb() (see kestrel_wake()).
 * A tail ahead of head (a broken consumer) makes the difference huge:
 * readable, which is harmless.
 */
bool kestrel_rings_readable(void)
{
	struct kestrel_ring *ring;
	unsigned int cpu;

	for (cpu = 0; cpu < nr_cpu_ids; cpu++) {
		ring = kestrel_ring_get(cpu);
		if (!ring)
			continue;
		/*
		 * Relaxed: head is ordered after the flag store by the
		 * caller's smp_mb(); tail and the watermark are the calling
		 * consumer's own stores.
		 */
		if (READ_ONCE(ring->prod->head) - READ_ONCE(ring->cons->tail) >=
		    kestrel_wakeup_bytes(ring))
			return true;
	}
	return false;
}

/*
 * A snapshot of one CPU's counters for GET_STATS (any caller: the mutex
 * keeps the ring from being freed meanwhile).  Each counter is read with
 * READ_ONCE (pairs with kestrel_stat_add()'s WRITE_ONCE: no torn values) but
 * the set is not read atomically: while that CPU records, the counters may be
 * from slightly different moments, so the invariant holds only when it is
 * idle (capture stopped, or nothing happening on that CPU).
 */
void kestrel_rings_read_stats(unsigned int cpu, struct kestrel_cpu_stats *out)
{
	const u64 *src;
	u64 *dst = (u64 *)out;
	size_t i;

	BUILD_BUG_ON(sizeof(*out) % sizeof(u64));
	mutex_lock(&kestrel_rings_mutex);
	if (kestrel_rings[cpu])
		src = (const u64 *)&kestrel_rings[cpu]->stats;
	else
		src = (const u64 *)&kestrel_saved_stats[cpu];
	for (i = 0; i < sizeof(*out) / sizeof(u64); i++)
		dst[i] = READ_ONCE(src[i]);
	mutex_unlock(&kestrel_rings_mutex);
	memset(out->__reserved, 0, sizeof(out->__reserved));
}

/* Which rings exist now, for GET_RINGS. */
void kestrel_rings_map(struct kestrel_ring_map *map)
{
	unsigned int cpu;

	memset(map, 0, sizeof(*map));
	map->nr_rings = nr_cpu_ids;
	mutex_lock(&kestrel_rings_mutex);
	for (cpu = 0; cpu < nr_cpu_ids && cpu < KESTREL_MAX_CPUS; cpu++)
		if (kestrel_rings[cpu])
			map->present[cpu / 64] |= 1ULL << (cpu % 64);
	map->rings_present = kestrel_rings_present;
	mutex_unlock(&kestrel_rings_mutex);
}

/* How many rings exist and the kernel memory they hold, for GET_INFO. */
void kestrel_rings_usage(u32 *present, u64 *bytes)
{
	mutex_lock(&kestrel_rings_mutex);
	*present = kestrel_rings_present;
	*bytes = kestrel_rings_bytes;
	mutex_unlock(&kestrel_rings_mutex);
}

/*
 * The critical class (see KESTREL_HEADROOM_DIV in kestrel_abi.h): events
 * that may use the headroom at the end of a ring.  A table of the ring code
 * keyed by event type (the event table's rows are the probes'); an event
 * missing here is ordinary.  Opens of sensitive paths cannot be told apart
 * here: the path is copied into the ring after the space is reserved.
 */
static const bool kestrel_critical[KESTREL_EVT_MAX] = {
	[KESTREL_EVT_EXECVE_ENTER] = true,
	[KESTREL_EVT_EXECVEAT_ENTER] = true,
	[KESTREL_EVT_EXECVE] = true,
	[KESTREL_EVT_EXECVEAT] = true,
	[KESTREL_EVT_PROC_EXEC] = true,
	[KESTREL_EVT_PROC_FORK] = true,
	[KESTREL_EVT_PROC_EXIT] = true,
	[KESTREL_EVT_PTRACE] = true,
	[KESTREL_EVT_CAPSET] = true,
	[KESTREL_EVT_SETUID] = true,
	[KESTREL_EVT_INIT_MODULE] = true,
	[KESTREL_EVT_FINIT_MODULE] = true,
	[KESTREL_EVT_DELETE_MODULE] = true,
	[KESTREL_EVT_BPF] = true,
};

static bool kestrel_is_critical(u16 type)
{
	return type < KESTREL_EVT_MAX && kestrel_critical[type];
}

/* Account one dropped event with sequence number seq. */
static void kestrel_drop(struct kestrel_ring *ring, u64 seq,
			 enum kestrel_drop why, u64 n)
{
	struct kestrel_cpu_stats *s = &ring->stats;

	if (!s->lost_pending)
		ring->lost_seq = seq;
	ring->lost[why] += n;
	kestrel_stat_add(&s->lost_pending, n);
	switch (why) {
	case KESTREL_DROP_RING_FULL:
		kestrel_stat_add(&s->drop_ring_full, n);
		break;
	case KESTREL_DROP_TOO_LARGE:
		kestrel_stat_add(&s->drop_too_large, n);
		break;
	default:
		kestrel_stat_add(&s->drop_fault, n);
		break;
	}
}

/*
 * Events dropped by a probe that ran nested inside another on this CPU (it
 * found ring->busy set and could only local_inc() ring->nested).  The owner of
 * the ring folds them into the counters as fault drops, numbered at the
 * moment of folding rather than of the nested call.
 */
void kestrel_ring_fold_nested(struct kestrel_ring *ring)
{
	long n;

	if (likely(!local_read(&ring->nested)))
		return;
	/* local_xchg: atomic against a further nested probe on this CPU */
	n = local_xchg(&ring->nested, 0);
	if (n <= 0)
		return;
	kestrel_drop(ring, ring->stats.attempted, KESTREL_DROP_FAULT, n);
	kestrel_stat_add(&ring->stats.attempted, n);
}

/*
 * Where a record of len bytes starts if the previous one ended at pos: at pos,
 * or at the start of the data area after a pad when it would cross the end.
 * *pad gets the pad length (0 if none).
 */
static u64 kestrel_place(const struct kestrel_ring *ring, u64 pos, u64 len,
			 u64 *pad)
{
	u64 off = pos & ring->mask;

	*pad = 0;
	if (off + len > ring->mask + 1) {
		*pad = ring->mask + 1 - off;
		pos += *pad;
	}
	return pos;
}

static void kestrel_write_pad(struct kestrel_ring *ring, u64 pos, u64 len)
{
	struct kestrel_event_hdr *h;

	if (!len)
		return;
	h = (struct kestrel_event_hdr *)(ring->data + (pos & ring->mask));
	/* len >= 8: positions are 8-aligned; only len and type are valid */
	h->len = len;
	h->type = KESTREL_EVT_PAD;
	h->nparams = 0;
	kestrel_stat_add(&ring->stats.bytes, len);
}

static void kestrel_hdr_init(struct kestrel_event_hdr *h, u16 type,
			     u32 nparams)
{
	h->len = 0;
	h->type = type;
	h->nparams = nparams;
	h->ts_ns = ktime_get_ns();
	h->tid = current->pid;
	h->pid = current->tgid;
}

static void kestrel_write_lost(struct kestrel_ring *ring, u64 pos)
{
	struct kestrel_event_hdr *h;
	u16 *lens;
	u8 *p;
	int i;

	h = (struct kestrel_event_hdr *)(ring->data + (pos & ring->mask));
	kestrel_hdr_init(h, KESTREL_EVT_LOST, KESTREL_LOST_NPARAMS);
	h->len = KESTREL_LOST_LEN;
	lens = (u16 *)(h + 1);
	for (i = 0; i < KESTREL_LOST_NPARAMS; i++)
		lens[i] = sizeof(u64);
	p = (u8 *)(lens + KESTREL_LOST_NPARAMS);
	/* 8-aligned here: the header is 24 bytes, the table 8 */
	*(u64 *)p = ring->lost_seq;
	for (i = 0; i < KESTREL_DROP_NR; i++)
		*(u64 *)(p + 8 * (i + 1)) = ring->lost[i];

	ring->lost_seq = 0;
	memset(ring->lost, 0, sizeof(ring->lost));
	kestrel_stat_add(&ring->stats.lost_pending,
			 -ring->stats.lost_pending);
	kestrel_stat_add(&ring->stats.lost_records, 1);
	kestrel_stat_add(&ring->stats.bytes, KESTREL_LOST_LEN);
}

/*
 * Start an event on this CPU's ring: give it the next sequence number,
 * reserve an upper bound of its size (header, length table, payload_max bytes
 * of parameters), write any pending LOST record (and PAD records) in front of
 * it, and fill its header.  Returns false if the event was dropped.
 * Preemption is disabled and ring->busy is held by the caller.
 */
bool kestrel_rec_begin(struct kestrel_rec *rec, struct kestrel_ring *ring,
		       u16 type, u32 nparams, u32 payload_max)
{
	u64 size = ring->mask + 1;
	u64 seq, ub, tail, pos, lost_at = 0, at, pad_lost = 0, pad_ev;
	bool lost = ring->stats.lost_pending != 0;

	seq = ring->stats.attempted;
	kestrel_stat_add(&ring->stats.attempted, 1);

	ub = round_up(sizeof(struct kestrel_event_hdr) +
		      nparams * sizeof(u16) + (u64)payload_max, 8);
	if (ub > min_t(u64, size / 4, KESTREL_RECORD_MAX)) {
		kestrel_drop(ring, seq, KESTREL_DROP_TOO_LARGE, 1);
		if (kestrel_is_critical(type))
			kestrel_stat_add(&ring->stats.drop_critical, 1);
		return false;
	}

	/*
	 * Acquire: pairs with the consumer's release store of tail, so its
	 * reads of the records it freed are complete before we overwrite
	 * them.  The value is not trusted: clamp it into [head - size, head].
	 */
	tail = smp_load_acquire(&ring->cons->tail);
	if (tail > ring->head)
		tail = ring->head;
	else if (ring->head - tail > size)
		tail = ring->head - size;

	pos = ring->head;
	if (lost) {
		lost_at = kestrel_place(ring, pos, KESTREL_LOST_LEN, &pad_lost);
		pos = lost_at + KESTREL_LOST_LEN;
	}
	at = kestrel_place(ring, pos, ub, &pad_ev);
	/*
	 * The LOST record (if any) and the event must both fit; an event
	 * outside the critical class must also leave the headroom free.  The
	 * class is looked up only when the ring is that full.
	 */
	if (unlikely(at + ub - tail > ring->soft_limit)) {
		bool critical = kestrel_is_critical(type);

		if (!critical || at + ub - tail > size) {
			kestrel_drop(ring, seq, KESTREL_DROP_RING_FULL, 1);
			if (critical)
				kestrel_stat_add(&ring->stats.drop_critical, 1);
			return false;
		}
	}

	if (lost) {
		kestrel_write_pad(ring, ring->head, pad_lost);
		kestrel_write_lost(ring, lost_at);
	}
	kestrel_write_pad(ring, pos, pad_ev);

	rec->ring = ring;
	rec->start = at;
	rec->tail = tail;
	rec->hdr = (struct kestrel_event_hdr *)(ring->data + (at & ring->mask));
	kestrel_hdr_init(rec->hdr, type, nparams);
	rec->lens = (u16 *)(rec->hdr + 1);
	rec->pos = (u8 *)(rec->lens + nparams);
	rec->end = (u8 *)rec->hdr + ub;
	rec->nparams = nparams;
	rec->idx = 0;
	return true;
}

/*
 * kestrel_wake() (kestrel_ring.h) and kestrel_wake_slow() - producer side
 * of the wake-up handshake, after publishing head; tail is the consumer's
 * tail as read (acquire) when the record was begun.  kestrel_wake() tests
 * the watermark inline and calls kestrel_wake_slow() at or above it.
 *
 * Store-buffer pattern with poll():
 *   producer: store head (release); smp_mb(); load consumer_waiting
 *   poll():   store consumer_waiting = 1; smp_mb(); load head (all rings)
 * The two full barriers pair: either poll() sees the new head and does not
 * sleep, or we see consumer_waiting set and wake it.  xchg() (a full barrier
 * itself) lets only one producer claim the wake-up.  The wake-up is done from
 * irq_work, never from probe context: a tracepoint may fire where taking
 * the waitqueue and runqueue locks is not safe.
 *
 * Below the watermark no wake-up is owed, and the barrier is skipped: poll()
 * finds a ring readable only at its watermark, measured from the consumer's
 * current tail, which it does not move while it waits.  Our tail may be
 * stale but only behind the consumer's (tail moves forward), so head - tail
 * here overstates the unread bytes: if even that is below the watermark,
 * poll() cannot find this ring readable because of this record, whichever
 * head it sees.  A consumer that keeps up therefore costs its producers no
 * barrier and no wake-up per record; it is woken once per watermark of data,
 * and a trickle below the watermark waits for its poll() timeout.
 *
 * Above the watermark, as perf's next_wake: the barrier and the flag are
 * checked once per watermark of data written (ring->next_wake), not per
 * record, so a consumer that is not sleeping (busy, or stopped) costs no
 * barrier per record either.  No wake-up is lost for good: a consumer that
 * drained past the head of the last check and went to sleep sees
 * head - tail reach the watermark exactly when head reaches next_wake; one
 * that went to sleep short of it waits at most one more watermark of data
 * or its poll() timeout, which bounds every delay anyway.
 */
void kestrel_wake_slow(struct kestrel_ring *ring)
{
	smp_mb(); /* pairs with smp_mb() in kestrel_poll(), see above */
	if (READ_ONCE(kestrel_consumer_waiting) &&
	    xchg(&kestrel_consumer_waiting, 0)) {
		irq_work_queue(&ring->wake_work);
		kestrel_stat_add(&ring->stats.wakeups, 1);
	}
}

/*
 * Finish the event: fill missing parameters as faults, round the length up
 * to 8 and zero the padding, publish the new head, and wake the consumer if
 * it sleeps in poll().
 */
void kestrel_rec_commit(struct kestrel_rec *rec)
{
	struct kestrel_ring *ring = rec->ring;
	u32 len, alen;

	/* a filler that gave up early leaves faulted, empty parameters */
	while (rec->idx < rec->nparams) {
		rec->lens[rec->idx++] = KESTREL_PARAM_FAULT;
		kestrel_stat_add(&ring->stats.param_faults, 1);
	}

	len = rec->pos - (u8 *)rec->hdr;
	alen = round_up(len, 8);
	memset(rec->pos, 0, alen - len);	/* inside the reservation */
	rec->hdr->len = alen;

	ring->head = rec->start + alen;
	kestrel_stat_add(&ring->stats.written, 1);
	kestrel_stat_add(&ring->stats.bytes, alen);

	/*
	 * Release: every byte of the PAD/LOST/event records above is visible
	 * before the consumer's acquire load of head can return the new value.
	 */
	smp_store_release(&ring->prod->head, ring->head);
	kestrel_wake(ring, rec->tail);
}
