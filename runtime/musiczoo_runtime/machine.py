"""The machine a measurement ran on: the CPU's model name and the cores this process may use.

TensorFlow-free, so the runtime table (`zoo.inference.runtimes`), evaluation records and the benchmarks
all name the CPU the same way.
"""

import os
import platform


def cores():
    """CPU cores this process may run on (its affinity where the system has one, else every core)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def cpu_model():
    """The CPU's model name as /proc/cpuinfo (and lscpu) shows it, e.g. "Intel(R) Xeon(R) Processor".

    Where /proc/cpuinfo has no model name (not Linux, some ARM boards): `platform.processor()`, else the
    machine type ("x86_64", "arm64").
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def cpu_name():
    """The CPU's model name and the cores available, e.g. "Intel(R) Xeon(R) Processor x2" (the runtime table's key)."""
    return f"{cpu_model()} x{cores()}"
