"""Peak memory of *this* process, for the benchmarks' child processes.

``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is the wrong figure for a child started by
a big parent: on Linux ``fork`` copies the parent's memory map with its high-water mark,
and ``execve`` carries that mark into the new program's ``ru_maxrss`` (the kernel keeps
the larger of the old map's peak and the new one's).  A benchmark child started by a
parent of 185 MB therefore reports at least 185 MB, however little it uses itself; the
earlier ``bench_plan`` baseline read 185 MB for a 21 MB process.

``VmHWM`` in ``/proc/self/status`` is the peak resident size of the memory map the
process runs in now: ``execve`` makes a fresh one, so it counts the child's own pages
only.  Where ``/proc`` is missing (not Linux) we fall back to ``ru_maxrss`` and say so.
"""

from __future__ import annotations

import resource
import sys


def peak_rss_mb() -> tuple[float, str]:
    """(peak resident MB of this process, where the figure came from)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024, "VmHWM"
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux, bytes on macOS; and it includes the parent's peak.
    return (rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024), "ru_maxrss"
