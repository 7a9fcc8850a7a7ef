# The GIL convoy, measured: one CPU-bound thread beside one thread doing short blocking waits.
# Run by micro's `calibrate` (embedded with include_str!); prints one JSON object on stdout.
#
# argv: core seconds_per_case sleep_us interval_ns...
# For each switch interval, the I/O thread's per-operation latency is measured alone and then
# beside a thread spinning in Python bytecode (so it holds the GIL and checks for drop
# requests). One operation = time.sleep(sleep_us), which releases the GIL, plus taking the
# GIL back; its latency is the wall time around the call (perf_counter_ns).
import json
import os
import sys
import threading
import time


def io_latencies(seconds, sleep_s):
    samples = []
    end = time.perf_counter_ns() + int(seconds * 1e9)
    while True:
        start = time.perf_counter_ns()
        if start > end:
            return samples
        time.sleep(sleep_s)
        samples.append(time.perf_counter_ns() - start)


def case(interval_ns, with_cpu, seconds, sleep_s):
    sys.setswitchinterval(interval_ns / 1e9)
    stop = threading.Event()
    spins = [0]

    def cpu():
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1
        spins[0] = n

    hog = threading.Thread(target=cpu) if with_cpu else None
    if hog:
        hog.start()
        time.sleep(0.02)  # let the hog hold the GIL before counting
    samples = io_latencies(seconds, sleep_s)
    stop.set()
    if hog:
        hog.join()
    return {
        "switch_interval_ns": interval_ns,
        "with_cpu_thread": with_cpu,
        "latencies_ns": samples,
        "cpu_thread_iterations": spins[0],
    }


def main():
    core = int(sys.argv[1])
    seconds = float(sys.argv[2])
    sleep_s = float(sys.argv[3]) / 1e6
    intervals = [int(v) for v in sys.argv[4:]]
    if hasattr(os, "sched_setaffinity") and core >= 0:
        os.sched_setaffinity(0, {core})
    default_interval_ns = int(round(sys.getswitchinterval() * 1e9))
    cases = [
        case(interval, with_cpu, seconds, sleep_s)
        for interval in intervals
        for with_cpu in (False, True)
    ]
    print(
        json.dumps(
            {
                "python": sys.version.split()[0],
                "implementation": sys.implementation.name,
                "default_switch_interval_ns": default_interval_ns,
                "pinned_core": core,
                "sleep_us": sleep_s * 1e6,
                "cases": cases,
            }
        )
    )


main()
