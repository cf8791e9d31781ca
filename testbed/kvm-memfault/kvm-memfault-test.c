// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-memfault-test: what KVM_RUN reports when the memory behind a valid
 * memslot is revoked under a running guest.
 *
 * This is what happens to a passthrough BAR when the guest disables it:
 * vfio-pci zaps the BAR's mmap (its fault handler then answers SIGBUS) while
 * the VMM still has the BAR in a memslot.  Here the memslot is backed by a
 * memfd mapped MAP_SHARED, and the test revokes it with ftruncate(memfd, 0),
 * as the project's vfio-user test device does, or by munmap()ing it (a
 * memslot with no VMA behind it).  The guest, a few real-mode instructions,
 * reads or writes one byte of that slot in a loop.
 *
 * With the companion KVM patch ("KVM: x86/mmu: Exit to userspace with
 * KVM_EXIT_MEMORY_FAULT when the stage-2 fault handler EFAULTs") KVM_RUN
 * fails with EFAULT and run->exit_reason == KVM_EXIT_MEMORY_FAULT, with
 * memory_fault.gpa the page of the access, size the page size and flags 0
 * (--expect annotated).  A stock kernel fails with a bare EFAULT
 * (--expect bare).  Either way, once the backing is restored the same vCPU
 * resumes at the faulting instruction and the guest completes.
 *
 * Modelled on the KVM selftest x86/private_mem_kvm_exits_test.c: one
 * behaviour per test function, the exit checked field by field.  Talks to
 * /dev/kvm directly; needs no in-kernel irqchip.  Ends with
 * "RESULT: PASS n passed, 0 failed" or "RESULT: FAIL ...".
 *
 * usage: kvm-memfault-test [--expect annotated|bare] [-v]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Not in older <linux/kvm.h> (bookworm's is 6.1). */
#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif

/* run->memory_fault, laid over the exit union (uapi since 6.8). */
struct memory_fault_exit {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};

static struct memory_fault_exit *memory_fault(struct kvm_run *run)
{
	return (struct memory_fault_exit *)&run->hw;
}

/* Guest physical layout. */
#define CODE_GPA	0x1000UL	/* slot 0: anonymous memory, the guest code */
#define CODE_SLOT_SIZE	0x1000UL
#define DATA_GPA	0x10000UL	/* slot 1: the memfd ("the BAR"), two pages */
#define DATA_SLOT_SIZE	0x2000UL
#define DATA_OFF	0x1123		/* the byte the guest touches, in page 2 */
#define PORT_ITER	0x10		/* OUT after each access: AL = byte read/written */
#define PORT_DONE	0x11		/* OUT when the loop is over, then HLT */
#define ITERATIONS	2

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * Real-mode guests, DS = DATA_GPA >> 4.  Each loops ITERATIONS times over
 * one access to DS:DATA_OFF followed by OUT PORT_ITER, then OUTs PORT_DONE
 * and halts.  The reader reports the byte it read; the writer stores CL
 * (the loop counter) and reports it.
 */
asm(".pushsection .rodata\n"
    ".code16\n"
    "guest_read: mov $" STR(DATA_GPA >> 4) ", %ax\n"
    "	mov %ax, %ds\n"
    "	mov $" STR(ITERATIONS) ", %cx\n"
    "1:	movb " STR(DATA_OFF) ", %al\n"
    "	outb %al, $" STR(PORT_ITER) "\n"
    "	loop 1b\n"
    "	outb %al, $" STR(PORT_DONE) "\n"
    "	hlt\n"
    "guest_read_end:\n"
    "guest_write: mov $" STR(DATA_GPA >> 4) ", %ax\n"
    "	mov %ax, %ds\n"
    "	mov $" STR(ITERATIONS) ", %cx\n"
    "1:	movb %cl, " STR(DATA_OFF) "\n"
    "	movb %cl, %al\n"
    "	outb %al, $" STR(PORT_ITER) "\n"
    "	loop 1b\n"
    "	outb %al, $" STR(PORT_DONE) "\n"
    "	hlt\n"
    "guest_write_end:\n"
    ".code64\n"
    ".popsection\n");
extern const uint8_t guest_read[], guest_read_end[];
extern const uint8_t guest_write[], guest_write_end[];

enum access { READ, WRITE };
enum expect { ANNOTATED, BARE };

static enum expect expect = ANNOTATED;
static bool verbose;
static long page_size;

/* ---- reporting ---------------------------------------------------------- */

static bool test_failed;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("    FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	test_failed = true;
}

#define EXPECT(cond, ...) ((cond) ? true : (fail(__VA_ARGS__), false))

static void note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	printf("    ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* ---- a VM with one vCPU and two memslots -------------------------------- */

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	void *code;
	int memfd;
	uint8_t *data;		/* the memfd, mapped MAP_SHARED: slot 1 */
};

static bool set_slot(struct vm *v, uint32_t id, uint64_t gpa, uint64_t size,
		     void *hva, const char *what)
{
	struct kvm_userspace_memory_region slot = {
		.slot = id, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	return EXPECT(!ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &slot),
		      "KVM_SET_USER_MEMORY_REGION (%s): %s", what, strerror(errno));
}

static bool vm_create(struct vm *v, const uint8_t *code, size_t code_len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int n;

	memset(v, 0, sizeof(*v));
	v->kvm = v->vm = v->vcpu = v->memfd = -1;

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (!EXPECT(v->kvm >= 0, "open /dev/kvm: %s", strerror(errno)))
		return false;
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (!EXPECT(v->vm >= 0, "KVM_CREATE_VM: %s", strerror(errno)))
		return false;
	/* Needed by VMX without unrestricted guest; harmless elsewhere. */
	ioctl(v->vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);

	v->code = mmap(NULL, CODE_SLOT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!EXPECT(v->code != MAP_FAILED, "mmap code: %s", strerror(errno)))
		return false;
	memcpy(v->code, code, code_len);
	if (!set_slot(v, 0, CODE_GPA, CODE_SLOT_SIZE, v->code, "code"))
		return false;

	v->memfd = memfd_create("kvm-memfault-bar", MFD_CLOEXEC);
	if (!EXPECT(v->memfd >= 0, "memfd_create: %s", strerror(errno)))
		return false;
	if (!EXPECT(!ftruncate(v->memfd, DATA_SLOT_SIZE), "ftruncate: %s", strerror(errno)))
		return false;
	v->data = mmap(NULL, DATA_SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       v->memfd, 0);
	if (!EXPECT(v->data != MAP_FAILED, "mmap memfd: %s", strerror(errno)))
		return false;
	if (!set_slot(v, 1, DATA_GPA, DATA_SLOT_SIZE, v->data, "memfd"))
		return false;

	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (!EXPECT(v->vcpu >= 0, "KVM_CREATE_VCPU: %s", strerror(errno)))
		return false;
	n = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!EXPECT(n > 0, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno)))
		return false;
	v->run_size = n;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (!EXPECT(v->run != MAP_FAILED, "mmap kvm_run: %s", strerror(errno)))
		return false;

	/* Real mode, CS:IP = 0:CODE_GPA. */
	if (!EXPECT(!ioctl(v->vcpu, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS: %s", strerror(errno)))
		return false;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (!EXPECT(!ioctl(v->vcpu, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS: %s", strerror(errno)))
		return false;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 0x2;
	return EXPECT(!ioctl(v->vcpu, KVM_SET_REGS, &regs), "KVM_SET_REGS: %s", strerror(errno));
}

static void vm_destroy(struct vm *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->data && v->data != MAP_FAILED)
		munmap(v->data, DATA_SLOT_SIZE);
	if (v->code && v->code != MAP_FAILED)
		munmap(v->code, CODE_SLOT_SIZE);
	if (v->memfd >= 0)
		close(v->memfd);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
	if (v->kvm >= 0)
		close(v->kvm);
}

static uint64_t vcpu_rip(struct vm *v)
{
	struct kvm_regs regs;

	if (ioctl(v->vcpu, KVM_GET_REGS, &regs))
		return ~0ULL;
	return regs.rip;
}

/*
 * KVM_RUN once.  exit_reason and memory_fault are poisoned first, so that
 * whatever is there afterwards was written by this KVM_RUN.
 */
static int vcpu_run(struct vm *v, int *err)
{
	int r;

	v->run->exit_reason = 0xdead;
	memset(memory_fault(v->run), 0xaa, sizeof(struct memory_fault_exit));
	r = ioctl(v->vcpu, KVM_RUN, 0);
	*err = r < 0 ? errno : 0;
	return r;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "KVM_EXIT_UNKNOWN";
	case KVM_EXIT_IO: return "KVM_EXIT_IO";
	case KVM_EXIT_HLT: return "KVM_EXIT_HLT";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_MEMORY_FAULT: return "KVM_EXIT_MEMORY_FAULT";
	case 0xdead: return "untouched";
	default: return "?";
	}
}

/* Run until the guest OUTs to @port; returns the byte it wrote, or -1. */
static int run_to_out(struct vm *v, uint16_t port)
{
	struct kvm_run *run;
	int r, err;
	uint8_t val;

	r = vcpu_run(v, &err);
	run = v->run;
	if (!EXPECT(r == 0, "KVM_RUN = %d (%s), exit_reason %u (%s); expected an OUT to port 0x%x",
		    r, strerror(err), run->exit_reason, exit_name(run->exit_reason), port))
		return -1;
	if (!EXPECT(run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == port && run->io.size == 1 && run->io.count == 1,
		    "exit_reason %u (%s) port 0x%x; expected KVM_EXIT_IO, OUT to port 0x%x",
		    run->exit_reason, exit_name(run->exit_reason), run->io.port, port))
		return -1;
	val = *((uint8_t *)run + run->io.data_offset);
	note("KVM_RUN: KVM_EXIT_IO, OUT 0x%x <- 0x%02x", port, val);
	return val;
}

static bool run_to_hlt(struct vm *v)
{
	int r, err;

	r = vcpu_run(v, &err);
	note("KVM_RUN = %d, exit_reason %u (%s)", r, v->run->exit_reason,
	     exit_name(v->run->exit_reason));
	return EXPECT(r == 0 && v->run->exit_reason == KVM_EXIT_HLT,
		      "KVM_RUN = %d (%s), exit_reason %u (%s); expected KVM_EXIT_HLT",
		      r, strerror(err), v->run->exit_reason, exit_name(v->run->exit_reason));
}

/*
 * KVM_RUN with the backing revoked: -1/EFAULT, and with --expect annotated
 * exit_reason KVM_EXIT_MEMORY_FAULT with gpa/size/flags describing the page
 * of the access, with --expect bare anything but KVM_EXIT_MEMORY_FAULT.
 */
static bool run_expect_fault(struct vm *v, enum expect what)
{
	uint64_t want_gpa = (DATA_GPA + DATA_OFF) & ~(uint64_t)(page_size - 1);
	struct memory_fault_exit *mf = memory_fault(v->run);
	uint32_t reason;
	int r, err;
	bool ok;

	r = vcpu_run(v, &err);
	reason = v->run->exit_reason;
	printf("    KVM_RUN = %d errno %s, exit_reason %u (%s)", r,
	       err == EFAULT ? "EFAULT" : strerror(err), reason, exit_name(reason));
	if (reason == KVM_EXIT_MEMORY_FAULT)
		printf(", memory_fault gpa 0x%llx size 0x%llx flags 0x%llx",
		       (unsigned long long)mf->gpa, (unsigned long long)mf->size,
		       (unsigned long long)mf->flags);
	printf("\n");

	if (r == 0 && reason == KVM_EXIT_MMIO)
		printf("    (the access was emulated as MMIO: "
		       "KVM's stage-2 fault path never ran)\n");
	ok = EXPECT(r == -1, "KVM_RUN returned %d, expected -1", r);
	ok &= EXPECT(err == EFAULT, "errno %d (%s), expected EFAULT", err, strerror(err));
	if (what == BARE)
		return ok & EXPECT(reason != KVM_EXIT_MEMORY_FAULT,
				   "exit_reason is KVM_EXIT_MEMORY_FAULT, expected a bare EFAULT");

	if (!EXPECT(reason == KVM_EXIT_MEMORY_FAULT,
		    "exit_reason %u (%s), expected KVM_EXIT_MEMORY_FAULT (%d)",
		    reason, exit_name(reason), KVM_EXIT_MEMORY_FAULT))
		return false;
	ok &= EXPECT(mf->gpa == want_gpa, "memory_fault.gpa 0x%llx, expected 0x%llx",
		     (unsigned long long)mf->gpa, (unsigned long long)want_gpa);
	ok &= EXPECT(mf->size == (uint64_t)page_size, "memory_fault.size 0x%llx, expected 0x%lx",
		     (unsigned long long)mf->size, page_size);
	ok &= EXPECT(mf->flags == 0, "memory_fault.flags 0x%llx, expected 0 (shared, no RWX)",
		     (unsigned long long)mf->flags);
	return ok;
}

/* ---- revoking and restoring the backing --------------------------------- */

enum revoke { TRUNCATE, UNMAP };

static bool revoke_backing(struct vm *v, enum revoke how)
{
	if (how == TRUNCATE) {
		note("ftruncate(memfd, 0)");
		return EXPECT(!ftruncate(v->memfd, 0), "ftruncate(0): %s", strerror(errno));
	}
	note("munmap(memslot 1 backing)");
	return EXPECT(!munmap(v->data, DATA_SLOT_SIZE), "munmap: %s", strerror(errno));
}

static bool restore_backing(struct vm *v, enum revoke how)
{
	void *p;

	if (how == TRUNCATE) {
		note("ftruncate(memfd, 0x%lx)", DATA_SLOT_SIZE);
		return EXPECT(!ftruncate(v->memfd, DATA_SLOT_SIZE), "ftruncate: %s",
			      strerror(errno));
	}
	note("mmap(MAP_FIXED) the memfd back at the memslot's address");
	p = mmap(v->data, DATA_SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 v->memfd, 0);
	return EXPECT(p == v->data, "mmap MAP_FIXED: %s", strerror(errno));
}

/*
 * Common prologue: create the VM, let the guest do its first access with
 * the backing in place (and check it really went to the memfd), then
 * revoke the backing.
 */
static bool start_and_revoke(struct vm *v, enum access acc, enum revoke how)
{
	int val;

	if (acc == READ) {
		if (!vm_create(v, guest_read, guest_read_end - guest_read))
			return false;
		v->data[DATA_OFF] = 0xa5;
	} else if (!vm_create(v, guest_write, guest_write_end - guest_write)) {
		return false;
	}

	val = run_to_out(v, PORT_ITER);
	if (val < 0)
		return false;
	if (acc == READ && !EXPECT(val == 0xa5, "guest read 0x%02x, expected 0xa5", val))
		return false;
	if (acc == WRITE && !EXPECT(v->data[DATA_OFF] == val,
				    "memfd holds 0x%02x, guest wrote 0x%02x",
				    v->data[DATA_OFF], val))
		return false;
	return revoke_backing(v, how);
}

/* Restore the backing; the guest must redo the access on it and finish. */
static bool restore_and_finish(struct vm *v, enum access acc, enum revoke how)
{
	int val;

	if (!restore_backing(v, how))
		return false;
	if (acc == READ)
		v->data[DATA_OFF] = 0x3c;	/* new content, fresh page */

	val = run_to_out(v, PORT_ITER);
	if (val < 0)
		return false;
	if (acc == READ &&
	    !EXPECT(val == 0x3c, "guest read 0x%02x after restore, expected 0x3c", val))
		return false;
	if (acc == WRITE && !EXPECT(v->data[DATA_OFF] == val,
				    "memfd holds 0x%02x after restore, guest wrote 0x%02x",
				    v->data[DATA_OFF], val))
		return false;
	if (run_to_out(v, PORT_DONE) < 0)
		return false;
	return run_to_hlt(v);
}

/* ---- tests ------------------------------------------------------------------ */

/* x86 has advertised KVM_CAP_MEMORY_FAULT_INFO since 6.8, patched or not. */
static void test_cap_memory_fault_info(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int r;

	if (!EXPECT(kvm >= 0, "open /dev/kvm: %s", strerror(errno)))
		return;
	r = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_FAULT_INFO);
	printf("    KVM_CHECK_EXTENSION(KVM_CAP_MEMORY_FAULT_INFO) = %d\n", r);
	EXPECT(r == 1, "KVM_CAP_MEMORY_FAULT_INFO = %d, expected 1", r);
	close(kvm);
}

static void fault_test(enum access acc, enum revoke how)
{
	struct vm v;

	if (start_and_revoke(&v, acc, how))
		run_expect_fault(&v, expect);
	vm_destroy(&v);
}

/* A read from a truncated memfd slot: the exit, field by field. */
static void test_read_truncated(void)
{
	fault_test(READ, TRUNCATE);
}

/* The same for a write. */
static void test_write_truncated(void)
{
	fault_test(WRITE, TRUNCATE);
}

/* A memslot whose VMA is gone entirely (munmap): the same exit. */
static void test_read_unmapped(void)
{
	fault_test(READ, UNMAP);
}

/*
 * While the backing stays revoked every KVM_RUN reports the same fault and
 * the guest does not advance: userspace must fix the backing to make progress.
 */
static void test_fault_repeats_until_restored(void)
{
	uint64_t rip0, rip1;
	struct vm v;

	if (start_and_revoke(&v, READ, TRUNCATE) && run_expect_fault(&v, expect)) {
		rip0 = vcpu_rip(&v);
		if (run_expect_fault(&v, expect)) {
			rip1 = vcpu_rip(&v);
			EXPECT(rip0 == rip1,
			       "RIP moved from 0x%llx to 0x%llx across a failed KVM_RUN",
			       (unsigned long long)rip0, (unsigned long long)rip1);
		}
	}
	vm_destroy(&v);
}

static void resume_test(enum access acc, enum revoke how)
{
	struct vm v;

	if (start_and_revoke(&v, acc, how) && run_expect_fault(&v, expect))
		restore_and_finish(&v, acc, how);
	vm_destroy(&v);
}

/* After ftruncate() back to size the reader resumes, sees the new page, halts. */
static void test_read_resumes_after_restore(void)
{
	resume_test(READ, TRUNCATE);
}

/* The same for the writer: its store lands in the restored memfd. */
static void test_write_resumes_after_restore(void)
{
	resume_test(WRITE, TRUNCATE);
}

/* After mmap(MAP_FIXED) of the memfd at the old address the reader resumes. */
static void test_read_resumes_after_remap(void)
{
	resume_test(READ, UNMAP);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "cap_memory_fault_info", test_cap_memory_fault_info },
	{ "read_truncated", test_read_truncated },
	{ "write_truncated", test_write_truncated },
	{ "read_unmapped", test_read_unmapped },
	{ "fault_repeats_until_restored", test_fault_repeats_until_restored },
	{ "read_resumes_after_restore", test_read_resumes_after_restore },
	{ "write_resumes_after_restore", test_write_resumes_after_restore },
	{ "read_resumes_after_remap", test_read_resumes_after_remap },
};

static void usage(void)
{
	fprintf(stderr, "usage: kvm-memfault-test [--expect annotated|bare] [-v]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int i, passed = 0, failed = 0;
	struct utsname u;
	int a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-v")) {
			verbose = true;
		} else if (!strcmp(argv[a], "--expect") && a + 1 < argc) {
			a++;
			if (!strcmp(argv[a], "annotated"))
				expect = ANNOTATED;
			else if (!strcmp(argv[a], "bare"))
				expect = BARE;
			else
				usage();
		} else {
			usage();
		}
	}
	page_size = sysconf(_SC_PAGESIZE);
	uname(&u);
	printf("kvm-memfault-test: kernel %s, expecting %s EFAULT\n", u.release,
	       expect == ANNOTATED ? "KVM_EXIT_MEMORY_FAULT-annotated" : "bare");

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		test_failed = false;
		printf("[ RUN  ] %s\n", tests[i].name);
		tests[i].fn();
		printf("[ %s ] %s\n", test_failed ? "FAIL" : " OK ", tests[i].name);
		if (test_failed)
			failed++;
		else
			passed++;
	}
	printf("RESULT: %s %u passed, %u failed\n", failed ? "FAIL" : "PASS", passed, failed);
	return failed ? 1 : 0;
}
