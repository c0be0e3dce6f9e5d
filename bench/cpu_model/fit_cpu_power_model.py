#!/usr/bin/env python3
"""Fit carbonmeter's CPU power model P = TDP_W * f(u, c) against RAPL ground truth.

f(u, c) = (1 - c) * f_spread(u) + c * f_concentrated(u): two monotone non-decreasing piecewise-linear
curves on the same knots. u = machine-wide CPU utilisation in %; c = load concentration
Var(u_i) / (u (1 - u)) over the per-CPU utilisations u_i (fractions, mean u): 1 when every CPU is
either fully busy or idle, 0 when all are equally loaded. In CodeCarbon's stepped-load profiles the
all_cores runs (every core duty-cycled) are c = 0 and the some_cores runs (k cores flat out) c = 1.

Data: one row per 30 s step (cpu_load %, rapl_energy kWh, duration s, estimated_power W), TDPs from
CodeCarbon's cpu_power.csv. Ground truth (default --truth energy): rapl_energy / duration. The
rapl_power column lags one step behind (it matches the previous row's energy/duration to 0.6 %,
median), so the first step of each run reads an impossible 0.2-1.4 W; --truth power uses it anyway.

Shipped model (per vendor, "idle share"): f_v(u, c) = a_v + (1 - a_v) * g(u, c), where v is the CPU
vendor (vendor_id in /proc/cpuinfo: GenuineIntel, AuthenticAMD), a_v >= 0 the vendor's extra share of
TDP drawn whatever the load, and g = (1 - c) g_spread + c g_concentrated one pair of curves shared by
all vendors. Fitted by coordinate descent: g by the exact fit below with a_v fixed, then each a_v by
a grid search (step 0.0025) with g fixed, from a_v = 0 until nothing changes. Each f_v is again
piecewise linear on the knots, so the file stores it as plain knot values, one block per vendor. A
vendor with no data (any other than the fitted ones) gets the vendor-neutral two curves fitted on
all rows (vendor "any"). The vendor of a profile is read from its cpu_name (AMD / Intel).

Fit: minimise the mean absolute percentage error (MAPE). As c is exactly 0 or 1 in the data, the
objective splits into one fit per curve. Each fit is the exact optimum on a 0.0025-of-TDP grid, by
dynamic programming over the knots. Rows whose truth is < 2 W (only with --truth power) get a
weight of 1e-6. The one-curve model f(u) (the model before the two curves) and the vendor-neutral
two curves (the model before the vendor curves) are fitted and reported alongside.

Suspect truth: the E5-1240 folder holds the same CPU as E3-1240 (its files even say E3-1240 V2) under the
same loads, yet reads 1.33x its power at idle, 1.47-1.69x at 10-50 % (all cores) and 1.83-1.98x from
60 % or one busy core on: 86-93 W for 2 minutes (all cores, 70-100 %) and 82-97 W for 2.5 minutes (4-8 busy
cores) on a 69 W TDP part, above its sustained limit (PL1 = TDP) for minutes; and the chip warmed about as
much as in the E3-1240 run. A ratio that grows with load as the cores' share of the package does is what
the package domain plus its core sub-domain counted again gives (CodeCarbon fixed such a double count of
RAPL domains on Linux in PR #950). Such rows are not package power, so by default they are left out of the fit and of the
in-sample and out-of-sample figures, and reported on their own (predicted by the shipped model);
--include-suspect fits on them too (the model shipped before, 20.9 % in-sample).

Out of sample: leave one CPU out and leave one profile folder out. A held-out CPU whose vendor has
no other data is predicted by the neutral curves fitted without it, as the program would do.

Writes data/cpu_power_model.csv and data/cpu_power_model_error.csv; prints the figures.
Usage: fit_cpu_power_model.py [PROFILE_DIR] [--knots 0,10,...] [--truth energy|power]
                              [--exclude FOLDER ...] [--include-suspect] [--no-write]
"""
import argparse
import csv
import glob
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_cpu_tdp_table import normalise  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(REPO, "..", "shared", "data", "codecarbon", "data", "hardware")
DEFAULT_KNOTS = "0,10,20,30,40,50,60,70,80,90,100"
NEAR_IDLE_W = 2.0
IDLE_WEIGHT = 1e-6
GRID = [i * 0.0025 for i in range(601)]  # fraction of TDP, 0 .. 1.5
SHARE_GRID = [i * 0.0025 for i in range(201)]  # a_v, 0 .. 0.5
NEUTRAL = "any"  # the vendor label of the vendor-neutral curves in the shipped file
# Profile folders whose RAPL readings are not the package's power (see the docstring), and why.
SUSPECT_TRUTH = {
    "E5-1240": "the package and its core sub-domain summed: 1.33-1.98x the same CPU's E3-1240 run, "
               "82-97 W for minutes on a 69 W TDP part",
}


def vendor_of(cpu_name):
    """vendor_id as /proc/cpuinfo spells it, from a profile's cpu_name."""
    name = cpu_name.lower()
    return "AuthenticAMD" if "amd" in name.split() else "GenuineIntel" if "intel" in name else NEUTRAL


def load_rows(profile_dir, tdp_csv, exclude, truth):
    tdps = {normalise(r["Name"]): r["TDP"] for r in csv.DictReader(open(tdp_csv, newline=""))}
    rows = []
    for path in sorted(glob.glob(os.path.join(profile_dir, "*", "*.csv"))):
        folder = os.path.basename(os.path.dirname(path))
        if folder in exclude:
            continue
        for r in csv.DictReader(open(path, newline="")):
            cpu = normalise(r["cpu_name"])
            if truth == "energy":  # mean RAPL power over the step: kWh -> J, / s
                rapl = float(r["rapl_energy"]) * 3.6e6 / float(r["duration"])
            else:  # the lagged rapl_power column
                rapl = float(r["rapl_power"])
            rows.append({"file": "%s/%s" % (folder, r["load_type"]), "folder": folder, "cpu": cpu,
                         "suspect": folder in SUSPECT_TRUTH,
                         "vendor": vendor_of(r["cpu_name"]),
                         "tdp": float(tdps[cpu]), "u": float(r["cpu_load"]), "rapl": rapl,
                         "c": 1.0 if r["load_type"] == "some_cores" else 0.0,
                         "codecarbon": float(r["estimated_power"])})
    return rows


def segment(knots, u):
    """Index k of the knot interval holding u, and the position t in [0, 1] inside it."""
    u = min(max(u, knots[0]), knots[-1])
    k = next(k for k in range(len(knots) - 1) if u <= knots[k + 1])
    return k, (u - knots[k]) / (knots[k + 1] - knots[k])


def f_at(knots, f, u):
    k, t = segment(knots, u)
    return f[k] + (f[k + 1] - f[k]) * t


def weight(r):
    return IDLE_WEIGHT if r["rapl"] < NEAR_IDLE_W else 1.0


def fit_curve(knots, rows, share=None):
    """Monotone knot values g minimising sum of w*|TDP*f(u) - rapl|/rapl (global optimum on GRID), where
    f = a + (1 - a) g and a = share[row's vendor] (0 without share)."""
    terms = [[] for _ in knots[:-1]]  # per interval: (t, A, B, weight); the row's error is |A g(u) + B|
    for r in rows:
        k, t = segment(knots, r["u"])
        a, s = share[r["vendor"]] if share else 0.0, r["tdp"] / r["rapl"]
        terms[k].append((t, s * (1 - a), s * a - 1.0, weight(r)))
    n, inf = len(GRID), float("inf")
    cost, back = [0.0] * n, []  # cost[j]: best total so far with the current knot at GRID[j]
    for seg in terms:
        new, arg = [inf] * n, [0] * n
        for i, a in enumerate(GRID):
            for j in range(i, n):  # monotone: next knot >= this one
                b = GRID[j]
                c = cost[i] + sum(w * abs(s * (a + (b - a) * t) + o) for t, s, o, w in seg)
                if c < new[j]:
                    new[j], arg[j] = c, i
        cost = new
        back.append(arg)
    j = min(range(n), key=cost.__getitem__)
    idx = [j]
    for arg in reversed(back):
        idx.append(arg[idx[-1]])
    return [GRID[i] for i in reversed(idx)]


def fit(knots, rows, two, share=None):
    """Model = (f_spread, f_concentrated); the one-curve model uses the same curve twice."""
    if not two:
        f = fit_curve(knots, rows, share)
        return f, f
    return (fit_curve(knots, [r for r in rows if r["c"] == 0], share),
            fit_curve(knots, [r for r in rows if r["c"] == 1], share))


def fraction(knots, model, r):
    return (1 - r["c"]) * f_at(knots, model[0], r["u"]) + r["c"] * f_at(knots, model[1], r["u"])


def predict(knots, model, r):
    """model: a curve pair, or a dict vendor -> curve pair with the neutral pair under NEUTRAL."""
    if isinstance(model, dict):
        model = model.get(r["vendor"], model[NEUTRAL])
    return r["tdp"] * fraction(knots, model, r)


def fit_vendor(knots, rows, max_rounds=20):
    """The per-vendor idle-share model, as a dict vendor -> (f_spread, f_concentrated), plus the
    neutral two curves under NEUTRAL; the shares under "share", the shared g under "g"."""
    vendors = sorted({r["vendor"] for r in rows})
    share = {v: 0.0 for v in vendors}
    for _ in range(max_rounds):
        g = fit(knots, rows, True, share)
        base = {id(r): fraction(knots, g, r) for r in rows}
        new = {v: min(SHARE_GRID, key=lambda a: sum(weight(r) * abs(r["tdp"] * (a + (1 - a) * base[id(r)]) / r["rapl"] - 1)
                                                     for r in rows if r["vendor"] == v)) for v in vendors}
        if new == share:
            break
        share = new
    model = {v: tuple([round(share[v] + (1 - share[v]) * x, 4) for x in curve] for curve in g) for v in vendors}
    model[NEUTRAL] = fit(knots, rows, True)
    model["share"], model["g"] = share, g
    return model


def ape(pred, r):
    return abs(pred - r["rapl"]) / r["rapl"]


def mean(xs):
    xs = list(xs)
    return sum(xs) / len(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile_dir", nargs="?", default=os.path.join(SHARED, "cpu_load_profiling"))
    ap.add_argument("--tdp-csv", default=os.path.join(SHARED, "cpu_power.csv"))
    ap.add_argument("--knots", default=DEFAULT_KNOTS, help="utilisation knots in %%, first 0, last 100")
    ap.add_argument("--exclude", nargs="*", default=[], help="profile folders to leave out (sensitivity)")
    ap.add_argument("--truth", choices=["energy", "power"], default="energy",
                    help="ground truth: rapl_energy/duration (default) or the lagged rapl_power column")
    ap.add_argument("--include-suspect", action="store_true",
                    help="fit on the folders whose truth is suspect too (SUSPECT_TRUTH; prints only)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    knots = [float(k) for k in args.knots.split(",")]
    loaded = load_rows(args.profile_dir, args.tdp_csv, set(args.exclude), args.truth)
    rows = [r for r in loaded if args.include_suspect or not r["suspect"]]
    suspect = [r for r in loaded if r["suspect"] and not args.include_suspect]

    fitters = {"one": lambda rs: fit(knots, rs, False), "two": lambda rs: fit(knots, rs, True),
               "vendor": lambda rs: fit_vendor(knots, rs)}
    errs, models = {}, {}  # errs[(model, scheme)][id(row)] = absolute percentage error
    for name, fitter in fitters.items():
        models[name] = fitter(rows)
        errs[name, "in"] = {id(r): ape(predict(knots, models[name], r), r) for r in rows}
        for scheme, key in (("loco", "cpu"), ("lofo", "folder")):  # leave one CPU / one folder out
            errs[name, scheme] = {}
            for held in sorted({r[key] for r in rows}):
                g = fitter([r for r in rows if r[key] != held])
                errs[name, scheme].update({id(r): ape(predict(knots, g, r), r) for r in rows if r[key] == held})
    errs["cc"] = {id(r): ape(r["codecarbon"], r) for r in rows}

    m = lambda e, subset: mean(e[id(r)] for r in subset)  # noqa: E731
    pct = lambda x: "%.1f %%" % (100 * x)  # noqa: E731
    fmt = lambda f: " ".join("%g:%.4f" % kv for kv in zip(knots, f))  # noqa: E731
    vm = models["vendor"]
    vendors = sorted(v for v in vm if v not in (NEUTRAL, "share", "g"))
    print("shared g_spread(u)       ", fmt(vm["g"][0]))
    print("shared g_concentrated(u) ", fmt(vm["g"][1]))
    for v in vendors:
        print("%s: idle share a = %.4f" % (v, vm["share"][v]))
        print("  f_spread(u)       ", fmt(vm[v][0]))
        print("  f_concentrated(u) ", fmt(vm[v][1]))
    print("neutral f_spread(u)       ", fmt(models["two"][0]))
    print("neutral f_concentrated(u) ", fmt(models["two"][1]))
    print("one-curve f(u)            ", fmt(models["one"][0]))
    cols = [(n, s) for s in ("in", "loco", "lofo") for n in ("one", "two", "vendor")] + ["cc"]
    print("\n%d rows, truth = %s\n" % (len(rows), "rapl_energy/duration" if args.truth == "energy" else "rapl_power"))
    print("| file | rows | TDP W | one curve | neutral | per vendor | one, LOCO | neutral, LOCO | per vendor, LOCO "
          "| one, LOFO | neutral, LOFO | per vendor, LOFO | CodeCarbon |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    by_file = defaultdict(list)
    for r in rows:
        by_file[r["file"]].append(r)
    for name, rs in by_file.items():
        print("| %s | %d | %g | %s |" % (name, len(rs), rs[0]["tdp"], " | ".join(pct(m(errs[k], rs)) for k in cols)))
    print("| **all rows** | %d | | %s |" % (len(rows), " | ".join("**%s**" % pct(m(errs[k], rows)) for k in cols)))
    print("| mean over files | %d | | %s |" % (len(by_file), " | ".join(
        pct(mean(m(errs[k], rs) for rs in by_file.values())) for k in cols)))
    cpus = sorted({r["cpu"] for r in rows})
    per_cpu = mean(m(errs["cc"], [r for r in rows if r["cpu"] == c]) for c in cpus)
    print("\nCodeCarbon, mean of the per-CPU means: %s" % pct(per_cpu))
    energy = lambda pred: sum(abs(pred(r) - r["rapl"]) for r in rows) / sum(r["rapl"] for r in rows)  # noqa: E731
    print("Energy-weighted in-sample error sum|P - truth| / sum(truth): per vendor %s, neutral %s, one curve %s, "
          "CodeCarbon %s" % tuple(pct(energy(f)) for f in (
              lambda r: predict(knots, vm, r), lambda r: predict(knots, models["two"], r),
              lambda r: predict(knots, models["one"], r), lambda r: r["codecarbon"])))

    if suspect:
        print("\nLeft out of the fit and of the figures above, as their truth is not package power:")
        for folder in sorted({r["folder"] for r in suspect}):
            print("  %s: %s" % (folder, SUSPECT_TRUTH[folder]))
        print("Against their own readings (models fitted on the %d rows above): | file | rows | per vendor | neutral | "
              "CodeCarbon |" % len(rows))
        by_suspect_file = defaultdict(list)
        for r in suspect:
            by_suspect_file[r["file"]].append(r)
        for name, rs in list(by_suspect_file.items()) + [("all suspect rows", suspect)]:
            print("| %s | %d | %s | %s | %s |" % (name, len(rs), pct(mean(ape(predict(knots, vm, r), r) for r in rs)),
                                                 pct(mean(ape(predict(knots, models["two"], r), r) for r in rs)),
                                                 pct(mean(ape(r["codecarbon"], r) for r in rs))))

    if (args.no_write or args.exclude or args.include_suspect or args.truth != "energy"
            or args.knots != DEFAULT_KNOTS):
        return  # only the default run writes the shipped files
    with open(os.path.join(REPO, "data", "cpu_power_model.csv"), "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["vendor", "utilization_pct", "fraction_of_tdp_spread", "fraction_of_tdp_concentrated"])
        for v in [NEUTRAL] + vendors:
            w.writerows([v, "%g" % u, "%.4f" % a, "%.4f" % b] for u, a, b in zip(knots, *vm[v]))
    with open(os.path.join(REPO, "data", "cpu_power_model_error.csv"), "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["metric", "value"])
        for metric, key in (("mape_all_rows", ("vendor", "in")), ("mape_leave_one_cpu_out", ("vendor", "loco")),
                            ("mape_leave_one_folder_out", ("vendor", "lofo")),
                            ("mape_neutral_all_rows", ("two", "in")),
                            ("mape_neutral_leave_one_cpu_out", ("two", "loco")),
                            ("mape_neutral_leave_one_folder_out", ("two", "lofo")),
                            ("mape_one_curve_all_rows", ("one", "in")),
                            ("mape_one_curve_leave_one_cpu_out", ("one", "loco")), ("codecarbon_mape_all_rows", "cc")):
            w.writerow([metric, "%.4f" % m(errs[key], rows)])
        w.writerow(["mape_rows_with_suspect_truth", "%.4f" % mean(ape(predict(knots, vm, r), r) for r in suspect)])
    print("\nwrote data/cpu_power_model.csv and data/cpu_power_model_error.csv")

if __name__ == "__main__":
    main()
