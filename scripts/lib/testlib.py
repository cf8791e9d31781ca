"""Shared bits of the project's test runners: one line per test, one
RESULT line with counts at the end, exit status 0 only if all passed."""

import sys
import time
import traceback


class Skip(Exception):
    pass


class Runner:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.start = time.monotonic()

    def run(self, title, fn, *args):
        t0 = time.monotonic()
        try:
            fn(*args)
        except Skip as e:
            self.skipped += 1
            print(f"SKIP {title}: {e}", flush=True)
            return
        except Exception as e:  # a test failing must not stop the others
            self.failed += 1
            detail = str(e) if isinstance(e, AssertionError) else traceback.format_exc()
            print(f"FAIL {title} ({time.monotonic() - t0:.1f}s): {detail}", flush=True)
            return
        self.passed += 1
        print(f"ok   {title} ({time.monotonic() - t0:.1f}s)", flush=True)

    def finish(self):
        total = self.passed + self.failed + self.skipped
        verdict = "PASS" if self.failed == 0 and self.passed > 0 else "FAIL"
        print(f"RESULT: {verdict} {self.name}: {self.passed} passed, "
              f"{self.failed} failed, {self.skipped} skipped of {total} "
              f"in {time.monotonic() - self.start:.1f}s", flush=True)
        sys.exit(0 if verdict == "PASS" else 1)
