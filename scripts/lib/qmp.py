"""A minimal synchronous QMP client (no dependency beyond the standard library)."""

import json
import socket
import time


class QMPError(Exception):
    pass


class QMP:
    """Connects to a QEMU started with -qmp unix:PATH,server=on,wait=off."""

    def __init__(self, path, timeout=30.0, alive=None):
        """ALIVE, if given, is called while the socket refuses: once it
        returns false (the QEMU process exited) there is no point waiting."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if alive is not None and not alive():
                    raise QMPError(f"nobody listens at {path}: the process exited")
                if time.monotonic() > deadline:
                    raise QMPError(f"no QMP socket at {path} after {timeout}s")
                time.sleep(0.05)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rw")
        self.events = []
        self.greeting = self._read()
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            resp = self._read()
            if "event" in resp:
                self.events.append(resp)
                continue
            if "error" in resp:
                raise QMPError(f"{name}: {resp['error'].get('desc')}")
            return resp["return"]

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass
