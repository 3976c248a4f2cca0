/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kestrel_ring.h - per-CPU rings of kestrel.ko and the state shared by the
 * files of the module.
 */
#ifndef _KESTREL_RING_H
#define _KESTREL_RING_H

#include <linux/types.h>
#include <linux/cache.h>
#include <linux/irq_work.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/wait.h>
#include <asm/local.h>

#include "kestrel_abi.h"

/*
 * Kernel paths one event may resolve before its record is reserved (execve's
 * exe, cwd and cgroup), each in its own PATH_MAX slot of ring->scratch.
 * (KESTREL_RECORD_MAX and KESTREL_LOST_LEN are ABI: kestrel_abi.h.)
 */
#define KESTREL_SCRATCH_SLOTS		3

/* Reasons an event is dropped (index into the lost counts). */
enum kestrel_drop {
	KESTREL_DROP_RING_FULL,
	KESTREL_DROP_TOO_LARGE,
	KESTREL_DROP_FAULT,
	KESTREL_DROP_NR,
};

/*
 * One ring.  Everything but cons/area/prod/data/mask/wake_work is written only
 * by the owning CPU in probe context with preemption disabled.  A ring is
 * allocated zeroed when a consumer opens the device (for each online CPU) or
 * when its CPU comes online during that session, and freed when the
 * consumer releases the device (see kestrel_ring.c).
 */
struct kestrel_ring {
	struct kestrel_ring_consumer *cons;	/* consumer page, user-writable */
	void *area;				/* producer page + data area */
	struct kestrel_ring_producer *prod;	/* == area */
	u8 *data;				/* == area + PAGE_SIZE */
	u64 mask;				/* ring_size - 1 */
	u64 soft_limit;				/* bytes an ordinary event may fill */
	u64 head;				/* producer's copy of prod->head */
	u64 next_wake;				/* head at which the next
						 * wake-up check is owed */
	int busy;				/* recursion guard, see probes */
	local_t nested;				/* events a nested probe dropped */
	u64 lost_seq;				/* seq of the first pending drop */
	u64 lost[KESTREL_DROP_NR];		/* pending drops per reason */
	char *scratch;				/* SCRATCH_SLOTS x PATH_MAX, d_path() */
	struct irq_work wake_work;		/* wakes kestrel_wq */
	struct kestrel_cpu_stats stats;		/* WRITE_ONCE here, READ_ONCE */
} ____cacheline_aligned_in_smp;

/*
 * An event being built in a ring: begun by kestrel_rec_begin(), filled with
 * the kestrel_put_*() helpers of kestrel_probes.c, published by
 * kestrel_rec_commit().
 */
struct kestrel_rec {
	struct kestrel_ring *ring;
	struct kestrel_event_hdr *hdr;	/* the record, inside the data area */
	u16 *lens;			/* its parameter length table */
	u8 *pos;			/* where the next parameter goes */
	u8 *end;			/* end of the reserved bytes */
	u64 start;			/* ring position of hdr */
	u64 tail;			/* consumer tail read at begin */
	u32 nparams;			/* table size, from begin */
	u32 idx;			/* parameters written so far */
	u32 snaplen;			/* snaplen read once for this event */
};

extern u64 kestrel_ring_size;
/*
 * [nr_cpu_ids]: the ring of each CPU, or NULL.  While probes are attached
 * every online CPU has one (a probe may index it with smp_processor_id()
 * without a check); see kestrel_ring.c for who writes the entries.
 */
extern struct kestrel_ring **kestrel_rings;
extern wait_queue_head_t kestrel_wq;
extern int kestrel_consumer_waiting;

int kestrel_rings_init(u64 ring_size);
void kestrel_rings_exit(void);
int kestrel_rings_create(void);
void kestrel_rings_destroy(void);
struct kestrel_ring *kestrel_ring_get(unsigned int cpu);
void kestrel_rings_irq_work_sync(void);
bool kestrel_rings_readable(void);
void kestrel_rings_read_stats(unsigned int cpu, struct kestrel_cpu_stats *out);
void kestrel_rings_map(struct kestrel_ring_map *map);
void kestrel_rings_usage(u32 *present, u64 *bytes);

void kestrel_ring_fold_nested(struct kestrel_ring *ring);
bool kestrel_rec_begin(struct kestrel_rec *rec, struct kestrel_ring *ring,
		       u16 type, u32 nparams, u32 payload_max);
void kestrel_rec_commit(struct kestrel_rec *rec);
void kestrel_wake_slow(struct kestrel_ring *ring);

/*
 * The consumer's wake-up watermark for ring, clamped to 1..ring_size/2: any
 * value it stores is safe.  READ_ONCE: the consumer may store it at any
 * time; no ordering is needed (a changed value costs at most one late
 * wake-up, which the consumer's bounded poll timeout covers).
 */
static inline u64 kestrel_wakeup_bytes(const struct kestrel_ring *ring)
{
	u64 wm = READ_ONCE(ring->cons->wakeup_bytes);

	return clamp_t(u64, wm, 1, (ring->mask + 1) / 2);
}

/* Counters: single writer (the owning CPU), READ_ONCE readers. */
static inline void kestrel_stat_add(u64 *counter, u64 n)
{
	/* WRITE_ONCE: no store tearing for kestrel_ring_read_stats() */
	WRITE_ONCE(*counter, *counter + n);
}

/*
 * Producer side of the wake-up handshake after publishing head (see
 * kestrel_wake_slow() in kestrel_ring.c for the protocol); tail is the
 * consumer's tail as read (acquire) when the record was begun.  Inline:
 * below the watermark, the common case, it is a load and a compare.
 */
static __always_inline void kestrel_wake(struct kestrel_ring *ring, u64 tail)
{
	u64 wm = kestrel_wakeup_bytes(ring);

	if (ring->head - tail < wm || ring->head < ring->next_wake)
		return;
	ring->next_wake = ring->head + wm;
	kestrel_wake_slow(ring);
}

/*
 * The fast path of a fixed-size record of len bytes (a multiple of 8, far
 * below the record cap): reserve it at head when nothing else has to be
 * written first (no LOST record pending, no PAD at the ring's end) and the
 * ring is below its soft limit, count the attempt and fill the header
 * (its len too: the record is exactly len).  Returns the header, or NULL
 * with nothing done: the caller then takes kestrel_rec_begin(), which
 * handles every other case (and counts the attempt itself).  *tail gets
 * the consumer's tail for kestrel_rec_commit_fixed().  Preemption is
 * disabled and ring->busy held.
 */
static __always_inline struct kestrel_event_hdr *
kestrel_rec_reserve_fixed(struct kestrel_ring *ring, u16 type, u16 nparams,
			  u32 len, u64 *tail)
{
	struct kestrel_event_hdr *h;
	u64 head = ring->head, off = head & ring->mask, t;

	if (unlikely(ring->stats.lost_pending || off + len > ring->mask + 1))
		return NULL;
	/*
	 * Acquire: pairs with the consumer's release store of tail (its
	 * reads of the freed records are done before we overwrite them).
	 * Not trusted: a tail outside [head - soft_limit, head] sends the
	 * event to the general path, which clamps it.
	 */
	t = smp_load_acquire(&ring->cons->tail);
	if (unlikely(t > head || head + len - t > ring->soft_limit))
		return NULL;
	*tail = t;
	kestrel_stat_add(&ring->stats.attempted, 1);
	h = (struct kestrel_event_hdr *)(ring->data + off);
	h->len = len;
	h->type = type;
	h->nparams = nparams;
	h->ts_ns = ktime_get_ns();
	h->tid = current->pid;
	h->pid = current->tgid;
	return h;
}

/* Publish a record reserved by kestrel_rec_reserve_fixed(), fully written. */
static __always_inline void kestrel_rec_commit_fixed(struct kestrel_ring *ring,
						     u32 len, u64 tail)
{
	ring->head += len;
	kestrel_stat_add(&ring->stats.written, 1);
	kestrel_stat_add(&ring->stats.bytes, len);
	/* release: the record's bytes before the new head (consumer: acquire) */
	smp_store_release(&ring->prod->head, ring->head);
	kestrel_wake(ring, tail);
}

#endif /* _KESTREL_RING_H */
