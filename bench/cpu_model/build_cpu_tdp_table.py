#!/usr/bin/env python3
"""Build data/cpu_tdp.csv (name,tdp_w,cores,threads,source) and data/cpu_tdp_defaults.csv.

Sources, in order of preference for the TDP:
  codecarbon        codecarbon/data/hardware/cpu_power.csv   (MIT)        Name,TDP
  green-algorithms  green_algorithms/TDP_cpu.csv             (CC BY 4.0)  model,TDP,n_cores (2 header rows)
  boavizta          boavizta/cpu_specs.csv                   (AGPL-3.0)   only the facts name,tdp,cores,threads
Cores/threads are taken from boavizta when the normalised names match, else cores from
green-algorithms. `source` names where the TDP came from, then "+<source>" if the core/thread
counts came from another one.

`name` is the normalised name (see normalise()); look a CPU up by normalising its model string
(e.g. /proc/cpuinfo "model name") the same way.

Usage: build_cpu_tdp_table.py [DATA_DIR]   (default: <repo>/../shared/data)   stdlib only.
"""
import csv
import os
import re
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_DROP = [r"\(r\)", r"\(tm\)", "®", "™", "[\u200b\ufeff]", r"@\s*[\d.]+\s*ghz", r"\b\d+-core\b", r"\bcpu\b", r"\bprocessor\b"]
# Green Algorithms often omits the vendor ("Core i5-10400", "Ryzen 5 3600").
_VENDOR = {"core": "intel", "xeon": "intel", "celeron": "intel", "pentium": "intel", "atom": "intel",
           "ryzen": "amd", "epyc": "amd", "athlon": "amd", "phenom": "amd", "opteron": "amd", "fx": "amd"}


def normalise(name):
    """Lower-case; drop (R), (TM), "CPU", "Processor", "@ x.xxGHz", "n-Core" and zero-width
    spaces; collapse whitespace (incl. non-breaking spaces)."""
    s = name.lower()
    for pattern in _DROP:
        s = re.sub(pattern, " ", s)
    return " ".join(s.split())


def number(text):
    try:
        x = float(text)
    except (TypeError, ValueError):
        return None  # empty or malformed, e.g. "27.29.5"
    return x if x > 0 else None


def count(text):
    x = number(text)
    return int(round(x)) if x else None


def read_codecarbon(path):
    for r in csv.DictReader(open(path, newline="", encoding="utf-8")):
        yield r["Name"], number(r["TDP"]), None, None


def read_green_algorithms(path):
    with open(path, newline="", encoding="utf-8") as f:
        next(f)  # first header row holds units
        for r in csv.DictReader(f):
            name = r["model"].strip()
            first = re.split(r"[\s-]", name.lower())[0]
            if first in _VENDOR:
                name = _VENDOR[first] + " " + name
            elif re.match(r"a\d+-", name.lower()):  # AMD APUs "A8-7680"
                name = "amd " + name
            yield name, number(r["TDP"]), count(r["n_cores"]), None


def read_boavizta(path):
    for r in csv.DictReader(open(path, newline="", encoding="utf-8")):
        yield r["name"], number(r["tdp"]), count(r["cores"]), count(r["threads"])


def build(data_dir):
    sources = [
        ("codecarbon", read_codecarbon(os.path.join(data_dir, "codecarbon/data/hardware/cpu_power.csv"))),
        ("green-algorithms", read_green_algorithms(os.path.join(data_dir, "green_algorithms/TDP_cpu.csv"))),
        ("boavizta", read_boavizta(os.path.join(data_dir, "boavizta/cpu_specs.csv"))),
    ]
    table, stats = {}, {}
    for tag, rows in sources:
        st = stats.setdefault(tag, {"read": 0, "no_tdp": 0, "bad_name": 0, "tdp_disagrees": 0})
        for name, tdp, cores, threads in rows:
            st["read"] += 1
            key = normalise(name)
            if not key or "," in key or '"' in key:
                st["bad_name"] += 1  # e.g. "Intel EP80579 Integrated, 1066 MHz": never a cpuinfo string
                continue
            row = table.get(key)
            if row is None:
                if tdp is None:
                    st["no_tdp"] += 1
                    continue
                table[key] = {"name": key, "tdp_w": tdp, "cores": cores, "threads": threads,
                              "tdp_source": tag, "count_source": tag if cores or threads else None}
                continue
            if tdp is not None and abs(tdp - row["tdp_w"]) > 0.5:
                st["tdp_disagrees"] += 1  # first (preferred) source wins
            if threads and not row["threads"]:
                row["cores"], row["threads"], row["count_source"] = cores or row["cores"], threads, tag
            elif cores and not row["cores"]:
                row["cores"], row["count_source"] = cores, tag
    return table, stats


def fmt(x):
    return "" if x is None else ("%g" % x)


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "..", "shared", "data")
    table, stats = build(data_dir)
    rows = sorted(table.values(), key=lambda r: r["name"])
    out = os.path.join(REPO, "data", "cpu_tdp.csv")
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "tdp_w", "cores", "threads", "source"])
        for r in rows:
            src = r["tdp_source"]
            if r["count_source"] and r["count_source"] != src:
                src += "+" + r["count_source"]
            w.writerow([r["name"], fmt(r["tdp_w"]), fmt(r["cores"]), fmt(r["threads"]), src])

    with_threads = [r for r in rows if r["threads"]]
    per_thread = statistics.median(r["tdp_w"] / r["threads"] for r in with_threads)
    rule_mape = statistics.mean(abs(per_thread * r["threads"] - r["tdp_w"]) / r["tdp_w"] for r in with_threads)
    with open(os.path.join(REPO, "data", "cpu_tdp_defaults.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["metric", "value"])
        w.writerow(["median_tdp_per_thread_w", "%.4g" % per_thread])
        w.writerow(["mape_of_tdp_per_thread_rule", "%.4f" % rule_mape])

    for tag, st in stats.items():
        print("%-17s %s" % (tag, " ".join("%s=%d" % kv for kv in st.items())))
    print("wrote %s: %d rows, %d with threads, %d with cores" % (
        out, len(rows), len(with_threads), sum(1 for r in rows if r["cores"])))
    print("median TDP per thread %.4g W (over %d rows); MAPE of TDP = median x threads: %.1f %%" % (
        per_thread, len(with_threads), 100 * rule_mape))


if __name__ == "__main__":
    main()
