"""Booting the L2 machine of scripts/test-l2: kvm_amd with nested paging
under our stock QEMU build (TCG, an AMD CPU with SVM), this machine's root
file system read-only over 9p as L2's root, and QEMU's NVMe controller and
VGA behind an emulated Intel IOMMU for L2's vfio-pci.  Inside,
testbed/l2/run-matrix runs guest-stress for each run it is given."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUTER_QEMU = os.path.join(TOP, "build-stock", "qemu-system-x86_64")


def build_kernel(*kernels):
    """scripts/build-kernel KERNELS (incremental); its own output says
    what failed."""
    r = subprocess.run([os.path.join(TOP, "scripts", "build-kernel"), *kernels])
    if r.returncode:
        sys.exit(f"scripts/build-kernel {' '.join(kernels)} exited {r.returncode}")


def read_records(out):
    """The run records L2 wrote to OUT so far."""
    try:
        with open(os.path.join(out, "results.jsonl")) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def pump(stream, lines):
    """Queue each line of STREAM, then None at its end."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def boot(kernel, out, runs, seconds, fuzz_writes=100000, stall=0, show=None):
    """One L2 boot of KERNEL (build/kernel/KERNEL) running RUNS, each a
    (QEMU, device, mode, hammer) tuple for testbed/l2/run-matrix, which
    appends their records to OUT/results.jsonl.  SHOW gets each line L2's
    init and run-matrix print, with the seconds since the start (default:
    printed).  Returns (seconds until init started or None, wall seconds)."""
    bzimage = os.path.join(TOP, "build", "kernel", kernel, "arch/x86/boot/bzImage")
    inner = ["--kernel", kernel, "--runs", ",".join("/".join(r) for r in runs),
             "--seconds", f"{seconds:g}", "--fuzz-writes", str(fuzz_writes)]
    append = " ".join([
        "console=ttyS0", "panic=-1", "intel_iommu=on",
        "root=root", "rootfstype=9p", "ro",
        "rootflags=trans=virtio,version=9p2000.L,cache=loose,msize=524288",
        f"init={TOP}/testbed/l2/init", f"l2.top={TOP}", f"l2.out={out}",
        "l2.args=" + ":".join(inner)])
    cmd = [OUTER_QEMU, "-M", "q35", "-accel", "tcg,thread=single",
           "-cpu", "EPYC,+svm", "-smp", "2", "-m", "2G",
           "-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot",
           "-device", "intel-iommu,intremap=on,caching-mode=on",
           "-device", "nvme,serial=l2-vfio,cmb_size_mb=1",
           # Its framebuffer BAR is RAM, like an iGPU's aperture; no option
           # ROM for L2's firmware to run.
           "-device", "VGA,romfile=",
           "-fsdev", "local,id=root,path=/,security_model=none,readonly=on",
           "-device", "virtio-9p-pci,fsdev=root,mount_tag=root",
           "-fsdev", f"local,id=out,path={out},security_model=none",
           "-device", "virtio-9p-pci,fsdev=out,mount_tag=out",
           "-kernel", bzimage, "-append", append]
    # L2 runs under TCG, which lost L2's timer interrupt with MTTCG (L2's
    # CPUs idle for good; testbed/l2/README.md); an L2 that prints nothing
    # for longer than any single run may take is stuck.
    stall = stall or (seconds * 6 if seconds else fuzz_writes / 5 + 300) + 120 + 60
    with open(os.path.join(out, "outer-qemu.cmd"), "w") as f:
        f.write(" ".join(cmd) + "\n")
    t0 = time.monotonic()
    boot = None
    lines = queue.Queue()
    with open(os.path.join(out, "console.log"), "a") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=pump, args=(p.stdout, lines), daemon=True).start()
        try:
            while True:
                try:
                    line = lines.get(timeout=stall)
                except queue.Empty:
                    print(f"l2: {kernel}: L2 stuck, nothing printed for {stall:g}s",
                          flush=True)
                    log.write(f"l2: L2 stuck, nothing printed for {stall:g}s\n")
                    break
                if line is None:
                    break
                dt = time.monotonic() - t0
                line = line.rstrip("\r\n")
                log.write(f"{dt:8.2f} {line}\n")
                log.flush()
                if boot is None and line.startswith("l2-init: started"):
                    boot = dt
                if line.startswith(("l2-init:", "run-matrix:")):
                    if show:
                        show(dt, line)
                    else:
                        print(f"  [{kernel} {dt:6.1f}s] {line}", flush=True)
        finally:
            p.kill()
            p.wait()
    return boot, time.monotonic() - t0
