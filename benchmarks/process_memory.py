"""Memory of a child process as the benchmarks measure it (imported by the bench_*.py scripts,
which run as `python benchmarks/bench_X.py`, so this folder is on their path)."""

from __future__ import annotations


def rss_anon_kib(pid: int) -> int | None:
    """The process's resident anonymous memory (RssAnon in /proc/PID/status, KiB): what it
    allocated itself, not the file pages it maps. None once the process has ended."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_while_running(child, interval: float) -> int:
    """The largest RssAnon (KiB) of `child` (a subprocess.Popen), sampled every `interval`
    seconds until it exits."""
    import time

    peak = 0
    while child.poll() is None:
        peak = max(peak, rss_anon_kib(child.pid) or 0)
        time.sleep(interval)
    return peak
