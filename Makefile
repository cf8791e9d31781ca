# vfio-bar-ur: a QEMU fork that keeps guests alive when they touch a
# disabled passthrough BAR.  See README.md.
#
#   make            patched build/qemu-system-x86_64 (+ the test bed)
#   make stock      the same source without our series, in build-stock/
#   make check      everything above, then every test
#   make check-linux-guest  bar-stress in the Debian guest, stock and fork
#   make check-asan the fork with ASan and UBSan (build/asan/), its qtests
#   make demo       the race with stock QEMU and with the fork, one table
#   make deb        a Debian package of the fork (build/deb/); make check-deb
#                   installs and removes it in clean Debian 12 chroots
#   make check-libvirt  the fork as a libvirt domain's emulator
#   make bench      stock against fork, interleaved: table, JSON and a plot
#   make soak       a million toggle cycles a mode on the fork (hours)
#   make export-series  the series as posted (git format-patch, cover
#                   letter) in build/export/series
#   make check-bisect   each prefix of that series builds, checkpatch clean
#
# QEMU_SRC=/path    use that QEMU tree instead of Debian's pinned source
# CONFIGURE_FLAGS=  extra flags for QEMU's configure

TOP        := $(abspath .)
BUILD      := $(TOP)/build
STOCK      := $(TOP)/build-stock
PRISTINE   := $(BUILD)/qemu-pristine
QEMU_SRC   ?= $(PRISTINE)
FORK_SRC   ?= $(BUILD)/src
FORK_NAME  := vfio-bar-ur
PREFIX     := /opt/vfio-bar-ur
GIT_REV    := $(shell git -C $(TOP) describe --always --dirty=+ 2>/dev/null || echo unknown)

export CONFIGURE_FLAGS

.PHONY: all fork stock testbed linux-guest vfio-user-server-build deps fetch prepare-fork prepare-stock check \
        check-pipeline check-kernel check-l2 check-linux-guest check-asan demo deb \
        check-deb check-libvirt bench soak export-series check-bisect clean distclean FORCE

all: fork testbed

deps:
	@$(TOP)/scripts/install-deps

# Debian's source is only fetched when no QEMU_SRC was given.
ifeq ($(QEMU_SRC),$(PRISTINE))
fetch: deps
	@$(TOP)/configure-wrapper/fetch-qemu $(BUILD)/dl $(PRISTINE)
else
fetch: deps
endif

prepare-fork: fetch
	@$(TOP)/configure-wrapper/prepare-tree $(QEMU_SRC) $(FORK_SRC) $(TOP)/qemu-patches

prepare-stock: fetch
	@$(TOP)/configure-wrapper/prepare-tree $(QEMU_SRC) $(STOCK)/src

fork: prepare-fork
	@$(TOP)/configure-wrapper/build-qemu $(FORK_SRC) $(BUILD)/obj $(BUILD)/install \
	    "$(FORK_NAME) fork $(GIT_REV)"
	@ln -sf install$(PREFIX)/bin/qemu-system-x86_64 $(BUILD)/qemu-system-x86_64

stock: prepare-stock
	@$(TOP)/configure-wrapper/build-qemu $(STOCK)/src $(STOCK)/obj $(STOCK)/install \
	    "$(FORK_NAME) stock baseline $(GIT_REV)"
	@ln -sf install$(PREFIX)/bin/qemu-system-x86_64 $(STOCK)/qemu-system-x86_64

# The vfio-user test device (on the libvfio-user that ships in QEMU's
# source) and the freestanding stress guest.
testbed: prepare-fork
	@$(MAKE) -s -C $(TOP)/testbed/device O=$(BUILD)/testbed \
	    LIBVFIO_USER_SRC=$(FORK_SRC)/subprojects/libvfio-user
	@$(MAKE) -s -C $(TOP)/testbed/guest O=$(BUILD)/testbed
	@$(MAKE) -s -C $(TOP)/testbed/bar-stress O=$(BUILD)/testbed

# The inner Linux guest of the L2 bed: Debian 12's pinned kernel and an
# initramfs with busybox and bar-stress.
linux-guest: testbed
	@$(TOP)/scripts/build-linux-guest

# The fork with QEMU's own vfio-user server, for the qtest that needs it:
# the shipped build does without the server, as Debian's does.
vfio-user-server-build: prepare-fork
	@CONFIGURE_FLAGS="--enable-vfio-user-server $(CONFIGURE_FLAGS)" \
	    $(TOP)/configure-wrapper/build-qemu $(FORK_SRC) $(BUILD)/obj-vus $(BUILD)/install-vus \
	    "$(FORK_NAME) fork vfio-user-server test build $(GIT_REV)"

check: fork testbed stock linux-guest vfio-user-server-build
	@$(TOP)/scripts/install-deps libvirt docs-qemu
	@$(TOP)/scripts/run-checks

# The companion kernel, stock and patched, booted under QEMU TCG with
# emulated SVM: KVM_RUN on a revoked memslot, bare vs annotated exit; then
# the upstream KVM selftests that touch the changed paths and the series'
# own (patch 3), on both kernels (about 5 min; not in make check).
check-kernel: stock
	@$(TOP)/scripts/install-deps selftests
	@$(TOP)/scripts/test-kernel-memfault && $(TOP)/scripts/test-kernel-selftests

# The {kernel} x {QEMU} x {device} x {mode} matrix inside an L2 machine
# (TCG with emulated SVM) with kvm_amd: guest-stress with the test device
# and with a vfio-pci NVMe controller behind an emulated IOMMU.
check-l2: fork testbed stock linux-guest
	@$(TOP)/scripts/test-l2

# bar-stress in the Debian guest (TCG), stock QEMU and the fork, with the
# guest kernel's own triggers.
check-linux-guest: fork testbed stock linux-guest
	@$(TOP)/scripts/test-linux-guest

# The fork built with ASan and UBSan in its own directory, its qtests and
# unit tests and a short guest-stress run against it.  A full build of its
# own: not in make check.  LeakSanitizer needs the slow unwinder to match
# the suppressions.
SANITIZER_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1 \
    UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_summary=1:print_stacktrace=1 \
    LSAN_OPTIONS=suppressions=$(TOP)/scripts/lsan-suppressions.txt:fast_unwind_on_malloc=0:print_suppressions=0

check-asan: prepare-fork testbed
	@CONFIGURE_FLAGS="--enable-asan --enable-ubsan $(CONFIGURE_FLAGS)" \
	    $(TOP)/configure-wrapper/build-qemu $(FORK_SRC) $(BUILD)/asan/obj \
	    $(BUILD)/asan/install "$(FORK_NAME) fork asan $(GIT_REV)"
	@$(SANITIZER_ENV) QTEST_OBJ=$(BUILD)/asan/obj QTEST_VUS_OBJ= $(TOP)/scripts/test-qtest
	@$(SANITIZER_ENV) $(TOP)/scripts/test-asan-stress

check-pipeline: fork
	@$(TOP)/scripts/test-pipeline

# Without a usable /dev/kvm the demo runs in L2 (it builds the stock
# companion kernel the first time).
demo: fork testbed stock
	@$(TOP)/scripts/demo

deb: fork
	@$(TOP)/scripts/install-deps deb
	@$(TOP)/scripts/build-deb

check-deb: deb
	@$(TOP)/scripts/test-deb

check-libvirt: fork testbed
	@$(TOP)/scripts/install-deps libvirt
	@$(TOP)/scripts/test-libvirt

bench: fork testbed stock
	@$(TOP)/scripts/install-deps bench
	@$(TOP)/scripts/bench

soak: fork testbed
	@$(TOP)/scripts/soak

# The series for qemu-devel: our patches with the files they add, and a
# cover letter.  SIGNOFF='Name <email>' puts a real person in the
# placeholder's place.
export-series: fetch
	@$(TOP)/scripts/export-series $(if $(SIGNOFF),--signoff "$(SIGNOFF)") $(BUILD)/export/series

# Every prefix of the exported series builds and is checkpatch clean.  A
# build per patch, most of them incremental: not in make check.
check-bisect: fetch
	@$(TOP)/scripts/check-bisect $(BUILD)/bisect

clean:
	rm -rf $(BUILD)/obj $(BUILD)/install $(BUILD)/obj-vus $(BUILD)/install-vus $(BUILD)/src $(BUILD)/testbed $(BUILD)/asan $(STOCK)

distclean:
	rm -rf $(BUILD) $(STOCK)
