"""One guest-stress run with its progress read from the guest's serial log
while it runs, for the runners that show it (scripts/demo, scripts/soak)."""

import json
import os
import re
import subprocess
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STRESS = os.path.join(TOP, "scripts", "guest-stress")


def last_progress(path):
    """The guest's last STRESS-PROGRESS cycle count in serial log PATH."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return 0
    m = re.findall(r"STRESS-PROGRESS cycles=(\d+)", text)
    return int(m[-1]) if m else 0


def read_result(run_dir):
    """RUN_DIR's result.json, or {} if guest-stress wrote none."""
    try:
        with open(os.path.join(run_dir, "result.json")) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {}


def run(args, run_dir, report, every=2):
    """guest-stress ARGS (with --quiet) in RUN_DIR; REPORT(seconds, cycles)
    every EVERY seconds while the guest's count moves.  Returns its record
    with 'wall' and 'run_dir' added; a run that wrote no result is an
    error that says what guest-stress printed."""
    os.makedirs(os.path.dirname(run_dir), exist_ok=True)
    t0 = time.monotonic()
    p = subprocess.Popen([STRESS, *args, "--run-dir", run_dir, "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, errors="replace")
    out = []
    reader = threading.Thread(target=lambda: out.extend(p.stdout), daemon=True)
    reader.start()
    shown = None
    while p.poll() is None:
        time.sleep(every)
        n = last_progress(os.path.join(run_dir, "serial.log"))
        if n != shown:
            report(time.monotonic() - t0, n)
            shown = n
    reader.join()
    rec = read_result(run_dir)
    if not rec:
        raise RuntimeError(f"guest-stress wrote no result: "
                           f"{''.join(out).strip()[-500:] or 'no output'}")
    rec["wall"] = time.monotonic() - t0
    rec["run_dir"] = run_dir
    return rec
