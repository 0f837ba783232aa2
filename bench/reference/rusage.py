#!/usr/bin/env python3
"""Run one command as a whole process; print its wall time and peak RSS as JSON.

    rusage.py STDOUT_FILE -- COMMAND [ARG...]

The peak is the kernel's high-water mark of that process (``ru_maxrss`` from ``wait4``),
the same figure as VmHWM; the wall time runs from the spawn to the reap. The command's
stdout goes to STDOUT_FILE, its stderr is passed through. Prints
``{"seconds": ..., "max_rss_bytes": ..., "status": ...}``.
"""
import json
import os
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    with open(argv[0], "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv[2:], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    # Linux reports ru_maxrss in KiB.
    print(json.dumps({"seconds": seconds, "max_rss_bytes": usage.ru_maxrss * 1024, "status": proc.returncode}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
