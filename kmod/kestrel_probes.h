/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kestrel_probes.h - tracepoint probes of kestrel.ko and the capture settings
 * they read.
 */
#ifndef _KESTREL_PROBES_H
#define _KESTREL_PROBES_H

#include <linux/types.h>

#include "kestrel_abi.h"

/* Written with WRITE_ONCE by the ioctls, read with READ_ONCE by probes. */
extern u64 kestrel_mask[KESTREL_MASK_WORDS];
extern u32 kestrel_snaplen;

int kestrel_probes_init(void);
int kestrel_probes_register(void);
int kestrel_probes_update(void);
void kestrel_probes_unregister(void);

#endif /* _KESTREL_PROBES_H */
