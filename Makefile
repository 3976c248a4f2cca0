# Kestrel: top-level entry points.
#
#   make kmod [KDIR=<headers>]    build kmod/kestrel.ko in place (default KDIR:
#                                 the newest Debian 6.1 cloud headers)
#   make build                    cargo build --workspace
#   make test                     setup, cargo test, Miri ring test, VM scenarios
#                                 on every kernel of KERNELS, then ship-test
#                                 and node-test (6.1)
#   make fuzz [FUZZ_SECONDS=30]   each cargo-fuzz target for FUZZ_SECONDS (part
#                                 of make test); crashes land in build/fuzz/
#   make soak [SOAK_MINUTES=30]   replay through the alert path with every
#                                 output on, RSS sampled (not in make test)
#   make vmtest KERNEL=6.1|6.12|6.1-rt|6.12-rt|sid [SCENARIO=tests/vm/x.sh]
#   make torture                  200 rounds of load/attach/storm/kill/rmmod
#                                 on 6.1 and 6.12 (TORTURE_CYCLES, _KERNELS)
#   make vmtest-checkers          the device's hostile/torture scenarios with
#                                 slub_debug, KFENCE, init_on_free, page_poison
#   make vmbench [KERNEL=6.1]     overhead benchmark, kestrel beside Falco's driver
#                                 + sysdig (guest instructions per
#                                 syscall, one vCPU, -icount shift=0)
#   make bench                    host benchmark table: events/s, instructions
#                                 and allocations per event (one core)
#   make demo                     boot a 6.1 guest and show the /etc/shadow story
#   make lint                     rustfmt, clippy -D warnings, -Werror module builds
#                                 for every kernel of KERNELS (-Werror is CI's:
#                                 the shipped kmod/Kbuild must not carry it)
#   make clean                    remove build products (keeps the kernel cache)
#   make distclean                also remove build/ (the kernel cache,
#                                 /var/cache/kestrel, stays: KESTREL_CACHE)

SHELL := /bin/bash
# Every kernel a fleet runs: bookworm's cloud kernels, their PREEMPT_RT
# flavours, and the newest Debian ships (sid).  About 2 minutes of VM time
# each for the whole suite (scripts/kernel.sh fetches them once into
# /var/cache/kestrel; sid's chroot takes a few minutes the first time).
KERNELS ?= 6.1 6.12 6.1-rt 6.12-rt sid
KERNEL ?= 6.1
SCENARIO ?=
CARGO ?= cargo
VM_SCENARIOS = $(filter-out tests/vm/lib.sh,$(sort $(wildcard tests/vm/*.sh)))

.PHONY: all setup kmod build test cargo-test miri fuzz soak vmtest vmbench bench demo lint clean distclean

all: build

setup:
	scripts/setup.sh

kmod:
	@kdir='$(KDIR)'; \
	if [ -z "$$kdir" ]; then \
		eval "$$(scripts/kernel.sh 6.1)" && kdir=$$KDIR; \
	fi; \
	$(MAKE) -C kmod KDIR="$$kdir"

build:
	$(CARGO) build --workspace

cargo-test:
	$(CARGO) test --workspace

# The ring reader against a concurrent producer, under Miri (UB and data
# races in the unsafe code and atomics); smaller counts under cfg(miri).
miri:
	$(CARGO) +nightly miri test -p kestrel --test ring_concurrent

# The fuzzers (fuzz/, cargo-fuzz, nightly): each target runs FUZZ_SECONDS
# from its seed corpus (fuzz/corpus/<target>, copied to a scratch folder
# so the repository's seeds stay the hand-made ones).  No sanitizer: the
# targets run safe code (the unsafe ring reader has its own Miri test),
# and an uninstrumented build halves the build time CI pays.  A crash
# fails the target; its input is kept in build/fuzz/artifacts/<target>/:
# add it to fuzz/regressions/<target>/ (consumer/tests/fuzz_corpus.rs
# replays those) with the fix.
FUZZ_TARGETS = record_decode capture_file rules_load config_parse
FUZZ_SECONDS ?= 30
fuzz:
	cd fuzz && $(CARGO) +nightly fuzz build -s none
	@rc=0; \
	for t in $(FUZZ_TARGETS); do \
		rm -rf build/fuzz/corpus/$$t; mkdir -p build/fuzz/corpus/$$t build/fuzz/artifacts/$$t; \
		cp fuzz/corpus/$$t/* build/fuzz/corpus/$$t/; \
		echo "=== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		(cd fuzz && $(CARGO) +nightly fuzz run -s none $$t ../build/fuzz/corpus/$$t -- \
			-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=../build/fuzz/artifacts/$$t/ -print_final_stats=1 2>&1 | \
			grep -E '^(#[0-9]+ *DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked)|ERROR' ) \
			|| true; \
		if ls build/fuzz/artifacts/$$t/* >/dev/null 2>&1; then \
			echo "fuzz $$t: CRASH, inputs in build/fuzz/artifacts/$$t/"; rc=1; \
		fi; \
	done; \
	exit $$rc

# Long run, not in CI: SOAK_MINUTES (default 30) of replay through the
# alert path with every output on; fails if RSS grows more than
# SOAK_RSS_GROWTH_MB (default 32) after the warm-up.  Last result:
# docs/reliability.md.
SOAK_MINUTES ?= 30
soak:
	SOAK_MINUTES=$(SOAK_MINUTES) $(CARGO) test --release -p kestrel --test soak -- --ignored --nocapture

# The load/unload torture (about a minute a kernel) runs on 6.1 and 6.12,
# as issue 13 asks; the RT and sid kernels run every other scenario (make
# torture and `make vmtest KERNEL=... SCENARIO=tests/vm/load_torture.sh`
# run it anywhere by hand).
VM_SCENARIOS_OTHER = $(filter-out tests/vm/load_torture.sh,$(VM_SCENARIOS))

# Every kernel runs even if one fails; the target fails if any did.
# ship-test and node-test (defined below) run after the VM scenarios, even
# if they failed.  install-test (the host path: apt, DKMS in the guest,
# podman/docker/ctr) is not in make test yet: it has not passed whole here
# (issue 14); run it with `make install-test`.
test: setup cargo-test miri fuzz
	@rc=0; \
	for k in $(KERNELS); do \
		case $$k in \
		6.1|6.12) scripts/vmtest.sh $$k $(VM_SCENARIOS) || rc=1 ;; \
		*) scripts/vmtest.sh $$k $(VM_SCENARIOS_OTHER) || rc=1 ;; \
		esac; \
	done; \
	$(MAKE) --no-print-directory ship-test || rc=1; \
	$(MAKE) --no-print-directory node-test || rc=1; \
	exit $$rc

vmtest:
	scripts/vmtest.sh $(KERNEL) $(if $(SCENARIO),$(SCENARIO),$(VM_SCENARIOS))

# The load/unload torture at full length (tests/vm/load_torture.sh runs 12
# rounds in the suite): 200 rounds on 6.1 and 6.12, 15 to 30 minutes each
# (about 4 s a round on an idle 2-core host, more under load).
TORTURE_CYCLES ?= 200
TORTURE_KERNELS ?= 6.1 6.12
.PHONY: torture
torture:
	@mkdir -p build/torture
	sed -e 's/^CYCLES=.*/CYCLES=$(TORTURE_CYCLES)/' \
	    -e 's/^# timeout: .*/# timeout: $(shell echo $$(( $(TORTURE_CYCLES) * 15 + 60 )))/' \
	    tests/vm/load_torture.sh >build/torture/load_torture.sh
	@rc=0; for k in $(TORTURE_KERNELS); do \
		scripts/vmtest.sh $$k build/torture/load_torture.sh || rc=1; \
	done; exit $$rc

# The device's hostile and torture scenarios (and the exec records') with
# the kernel's memory checkers that Debian's kernels have: slub_debug
# (red zones, poisoning, sanity checks; every cache validated at the end),
# KFENCE on 6.12, init_on_free, page_poison (RT).  No Debian kernel has
# KASAN, kmemleak or lockdep (see tests/vm/README.md).  no_timer_check: a
# slub_debug boot of a TCG guest on a loaded host can fail the IO-APIC
# timer check and panic before init (seen once on 6.1).
CHECKED_KERNELS ?= 6.1 6.12
CHECKED_SCENARIOS ?= tests/vm/hostile_device.sh tests/vm/load_torture.sh tests/vm/hostile_syscalls.sh tests/vm/record_sizes.sh
CHECKERS_APPEND = slub_debug=FZPU kfence.sample_interval=10 init_on_free=1 page_poison=1 no_timer_check
.PHONY: vmtest-checkers
vmtest-checkers:
	@rc=0; for k in $(CHECKED_KERNELS); do \
		VM_APPEND='$(CHECKERS_APPEND)' scripts/vmtest.sh $$k $(wildcard $(CHECKED_SCENARIOS)) || rc=1; \
	done; exit $$rc

# A benchmark, not a test: prints figures (scripts/vmbench.sh).
vmbench:
	scripts/vmbench.sh $(KERNEL)

# The host benchmark table (scripts/bench.sh, docs/performance.md): one
# core through decode, state, default and upstream rules.  Not in `test`.
bench:
	scripts/bench.sh

# vmtest.sh builds the module and the static consumer, then boots.
demo: setup
	VM_SHOW=1 scripts/vmtest.sh 6.1 tests/vm/demo/shadow_story.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if grep -nE -- '^[^#]*-Werror' kmod/Kbuild kmod/Makefile; then \
		echo "kmod: -Werror in the shipped Kbuild/Makefile would break DKMS builds on newer kernels"; \
		exit 1; \
	fi
	@rc=0; \
	for k in $(KERNELS); do \
		if scripts/build-kmod.sh $$k >/dev/null; then \
			echo "kmod: -Werror build for $$k ok"; \
		else \
			echo "kmod: -Werror build for $$k FAILED"; rc=1; \
		fi; \
	done; \
	exit $$rc

clean:
	-$(CARGO) clean
	rm -rf build/kmod-* build/vm-*
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order kmod/Module.symvers

distclean: clean
	rm -rf build

# --- Shipping: packages, systemd unit, Helm chart, container image ---------
#
#   make deb            build/deb/kestrel_<v>_amd64.deb, kestrel-dkms_<v>_all.deb
#   make image          localhost/kestrel:<v> (podman), build/image/kestrel_<v>.tar
#   make k8s-manifest   render deploy/k8s/kestrel.yaml from the chart
#   make ship-test      tests/ship/*.sh: driver loader, DKMS on 6.1 and 6.12,
#                       lintian, systemd-analyze, helm lint/template +
#                       schema validation, image build (part of make test)
#   make node-test [KERNEL=6.1]  the DaemonSet pod from the rendered chart,
#                       run through containerd's CRI by tests/cri-client in a
#                       booted bookworm guest, catches a second pod's
#                       cat /etc/shadow (scripts/node-test.sh; part of make test)

SHIP_TESTS = $(filter-out tests/ship/lib.sh,$(sort $(wildcard tests/ship/*.sh)))
RELEASE_BIN = $(CURDIR)/target/release/kestrel

.PHONY: release deb image k8s-manifest ship-test node-test

release:
	$(CARGO) build --release -p kestrel

deb: release
	scripts/package-deb.sh --binary $(RELEASE_BIN)

image: release
	scripts/build-image.sh --binary $(RELEASE_BIN)

k8s-manifest:
	scripts/render-k8s.sh

# Every check runs even if one fails; the target fails if any did.
ship-test: setup release
	@rc=0; \
	for t in $(SHIP_TESTS); do \
		echo "=== $$t"; \
		KESTREL_RELEASE_BIN=$(RELEASE_BIN) $$t || rc=1; \
	done; \
	exit $$rc

# --- The real install test (issue 14): a Debian guest with systemd ----------
#
#   make install-test [KERNEL=6.1]   build the .debs and a busybox image tar,
#       boot the cached bookworm rootfs (scripts/vm-rootfs.sh, scripts/
#       install-vm.sh) and run tests/install/host.sh in it: apt install
#       (DKMS builds the module in the guest), the service, podman/docker/ctr
#       containers reading /etc/shadow, reload, stop, purge.  Not yet in
#       make test (it has not passed whole here; issue 14).

INSTALL_TEST_DIR = $(CURDIR)/build/install-test

.PHONY: install-test

install-test: setup release
	rm -rf $(INSTALL_TEST_DIR)
	scripts/package-deb.sh --binary $(RELEASE_BIN) --out $(INSTALL_TEST_DIR) >/dev/null
	tests/install/image-rootfs.sh $(INSTALL_TEST_DIR)/kestrel-test-rootfs.tar
	scripts/install-vm.sh $(KERNEL) tests/install/host.sh $(INSTALL_TEST_DIR)/*.deb \
		$(INSTALL_TEST_DIR)/kestrel-test-rootfs.tar

node-test: setup
	CARGO=$(CARGO) scripts/node-test.sh $(KERNEL)
