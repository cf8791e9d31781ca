"""Whether this machine's /dev/kvm can run a guest, and if not, why."""

import errno
import fcntl
import os

KVM_GET_API_VERSION = 0xAE00
KVM_API_VERSION = 12


def kvm_unusable(path="/dev/kvm"):
    """None if PATH opens and speaks KVM API 12; otherwise the reason, as
    open() or KVM_GET_API_VERSION gave it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"open {path}: {os.strerror(e.errno)}"
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as e:
        return f"KVM_GET_API_VERSION on {path}: {os.strerror(e.errno or errno.EINVAL)}"
    finally:
        os.close(fd)
    if version != KVM_API_VERSION:
        return f"KVM_GET_API_VERSION on {path} is {version}, not {KVM_API_VERSION}"
    return None


if __name__ == "__main__":
    reason = kvm_unusable()
    print(reason or "usable")
    raise SystemExit(1 if reason else 0)
