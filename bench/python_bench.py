#!/usr/bin/python3
"""Benchmarks of the Python package (issue 7's targets):

- `import carbonmeter`: a fresh interpreter each time, median of 20 (target <= 50 ms);
- Tracker start to first sample: start() takes the baseline sample before it returns; median of
  20 start/stop pairs in one process, and the first one in a fresh process (target <= 10 ms);
- a window begin/end pair without sync (target <= 20 us), with `with tracker.window(...)` and
  with begin_window/end_window, in process and machine scope; and current() alone (one sample);
- the tail of back-to-back pairs beside a tracker that samples every 10 ms and journals to disk
  (journaled_window_pair_*: median, p99.9, max).

Each tracker figure is taken twice: with this machine's sensors, and on the RAPL path (a fake
powercap tree through CARBONMETER_SYSFS_ROOT, as bench/run_overhead.sh does), where no CPU
estimate reads /proc/stat at every sample.

Run with the package on the path, with Debian's interpreter:
    PYTHONPATH=build/<dir>/python /usr/bin/python3 bench/python_bench.py [--json FILE]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def import_times(runs):
    code = "import time; t = time.perf_counter(); import carbonmeter; print(time.perf_counter() - t)"
    inside, whole, bare = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        whole.append(time.perf_counter() - started)
        inside.append(float(out.stdout))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
    return {
        "import_ms_median": statistics.median(inside) * 1e3,
        "import_ms_max": max(inside) * 1e3,
        "process_with_import_ms_median": statistics.median(whole) * 1e3,
        "process_without_import_ms_median": statistics.median(bare) * 1e3,
    }


FIRST_START = """
import time, carbonmeter
tracker = carbonmeter.Tracker(country="FRA")
t = time.perf_counter(); tracker.start(); started = time.perf_counter() - t
t = time.perf_counter(); tracker.current(); current = time.perf_counter() - t
tracker.stop()
print(started, current)
"""


def start_times(runs):
    import carbonmeter

    construct, start, first_measurement = [], [], []
    for _ in range(runs):
        t = time.perf_counter()
        tracker = carbonmeter.Tracker(country="FRA")
        construct.append(time.perf_counter() - t)
        t = time.perf_counter()
        tracker.start()
        start.append(time.perf_counter() - t)
        t = time.perf_counter()
        tracker.current()
        first_measurement.append(time.perf_counter() - t)
        tracker.stop()
    fresh = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", FIRST_START], check=True, capture_output=True, text=True)
        fresh.append([float(x) for x in out.stdout.split()])
    return {
        "tracker_construct_ms_median": statistics.median(construct) * 1e3,
        "start_to_first_sample_ms_median": statistics.median(start) * 1e3,
        "start_to_first_sample_ms_first_in_process_median_of_5": statistics.median(f[0] for f in fresh) * 1e3,
        "current_after_start_ms_median": statistics.median(first_measurement) * 1e3,
    }


def window_times(scope, pairs, repeats):
    import carbonmeter

    results = {}
    with carbonmeter.Tracker(country="FRA", scope=scope, interval_s=1.0) as tracker:
        for style in ("with", "begin_end"):
            per_pair = []
            for _ in range(repeats):
                if style == "with":
                    t = time.perf_counter()
                    for _ in range(pairs):
                        with tracker.window("w"):
                            pass
                else:
                    begin, end = tracker.begin_window, tracker.end_window
                    t = time.perf_counter()
                    for _ in range(pairs):
                        begin("w")
                        end("w")
                per_pair.append((time.perf_counter() - t) / pairs)
            results[f"window_pair_us_{scope}_{style}_median"] = statistics.median(per_pair) * 1e6
            results[f"window_pair_us_{scope}_{style}_min"] = min(per_pair) * 1e6
        # One sample at a window boundary costs about what current() costs (the same core call):
        # the pair minus two of these is the binding's own share.
        per_call = []
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(pairs):
                tracker.current()
            per_call.append((time.perf_counter() - t) / pairs)
        results[f"current_us_{scope}_median"] = statistics.median(per_call) * 1e6
        methods = tracker.current().methods
        results[f"methods_{scope}"] = ",".join(f"{k}={v}" for k, v in sorted(methods.items()))
    return results


def window_latency(seconds=4.0):
    """Back-to-back begin/end pairs for `seconds` beside a tracker sampling every 10 ms and writing its
    journal to a folder on /tmp's disk: the tail shows pairs that waited for the sampler."""
    import tempfile

    import carbonmeter

    pairs = []
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        with carbonmeter.Tracker(country="FRA", output_dir=folder, interval_s=0.01) as tracker:
            begin, end, clock = tracker.begin_window, tracker.end_window, time.perf_counter
            stop = clock() + seconds
            while clock() < stop:
                t = clock()
                begin("w")
                end("w")
                pairs.append(clock() - t)
    pairs.sort()
    n = len(pairs)
    return {"journaled_window_pairs": n, "journaled_window_pair_us_median": pairs[n // 2] * 1e6,
            "journaled_window_pair_us_p99_9": pairs[int(n * 0.999)] * 1e6,
            "journaled_window_pair_us_max": pairs[-1] * 1e6}


def fake_rapl_root(folder):
    """A fake powercap tree, 2 sockets x package, core, uncore, dram (as bench/run_overhead.sh
    makes it): the path a machine with RAPL takes, without the CPU estimate's /proc reads."""
    for socket in (0, 1):
        for directory, name in ((f"intel-rapl:{socket}", f"package-{socket}"), (f"intel-rapl:{socket}:0", "core"),
                                (f"intel-rapl:{socket}:1", "uncore"), (f"intel-rapl:{socket}:2", "dram")):
            zone = os.path.join(folder, "class", "powercap", directory)
            os.makedirs(zone, exist_ok=True)
            for file, value in (("name", name), ("energy_uj", "123456789"), ("max_energy_range_uj", "262143328850")):
                with open(os.path.join(zone, file), "w") as out:
                    out.write(value + "\n")
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--windows-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.windows_only:  # the RAPL-path run below, in its own process
        figures = {}
        figures.update(start_times(args.runs))
        for scope in ("process", "machine"):
            figures.update(window_times(scope, pairs=2000, repeats=7))
        print(json.dumps(figures))
        return

    figures = {"python": sys.version.split()[0], "executable": sys.executable, "cpus": os.cpu_count()}
    figures.update(import_times(args.runs))
    figures.update(start_times(args.runs))
    for scope in ("process", "machine"):
        figures.update(window_times(scope, pairs=2000, repeats=7))
    figures.update(window_latency())
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, CARBONMETER_SYSFS_ROOT=fake_rapl_root(os.path.join(folder, "sys")))
        out = subprocess.run([sys.executable, __file__, "--windows-only", "--runs", str(args.runs)], env=env,
                             check=True, capture_output=True, text=True)
        figures.update({f"rapl_path_{key}": value for key, value in json.loads(out.stdout).items()})
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
