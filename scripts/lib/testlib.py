"""Shared bits of the project's test runners: one line per test, one
RESULT line with counts at the end, exit status 0 only if all passed."""

import sys
import time
import traceback


class Skip(Exception):
    pass


class Runner:
    """ALL_SKIPPED_OK: a suite whose every test was skipped (for a stated
    reason: what it needs is not on this machine) passes; otherwise a run
    that passed nothing fails."""

    def __init__(self, name, all_skipped_ok=False):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.all_skipped_ok = all_skipped_ok
        self.skip_reason = None
        self.start = time.monotonic()

    def run(self, title, fn, *args):
        t0 = time.monotonic()
        try:
            if self.skip_reason:
                raise Skip(self.skip_reason)
            fn(*args)
        except Skip as e:
            self.skipped += 1
            print(f"SKIP {title} -- {e}", flush=True)
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
        verdict = "PASS" if self.failed == 0 and (
            self.passed > 0 or (self.all_skipped_ok and self.skipped > 0)) else "FAIL"
        print(f"RESULT: {verdict} {self.name}: {self.passed} passed, "
              f"{self.failed} failed, {self.skipped} skipped of {total} "
              f"in {time.monotonic() - self.start:.1f}s", flush=True)
        sys.exit(0 if verdict == "PASS" else 1)
