#!/usr/bin/python3
"""Build carbonmeter's accelerator power table (data/accelerators.csv) from the upstream snapshots.

Usage:
    scripts/data/build_accelerator_table.py [SHARED_DATA_DIR] [--out DIR]

SHARED_DATA_DIR defaults to <repo>/../shared/data (the snapshots described in its SOURCES.md).
--out defaults to <repo>/data.

Inputs:
    mlco2_impact/gpus.csv                    ML CO2 Impact calculator (MIT)
    green_algorithms/TDP_gpu.csv             Green Algorithms v3.0 (CC BY 4.0, two header rows)
    curated/accelerator_tdp_curated.csv      our compilation of vendor datasheet figures
plus the few rows written below with the vendor page they come from (`datasheet`).

Every canonical row below names the one input its power comes from.  Every GPU/TPU row of the
inputs must be used, mapped to a canonical row as a second opinion (CROSS) or skipped with a
reason (SKIP); otherwise the script stops, so that a new snapshot is looked at.  Second opinions
that differ from the chosen figure are printed and written into `notes`.

Writes (UTF-8, header row, comma-separated):
    accelerators.csv  name,vendor,kind,memory_gb,power_w,power_kind,aliases,source,reference,year,notes
Python standard library only; no network.  Provenance is in data/SOURCES.md.
"""

import csv
import os
import re
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HEADER = ["name", "vendor", "kind", "memory_gb", "power_w", "power_kind", "aliases", "source", "reference",
          "year", "notes"]
KINDS = {"gpu", "tpu", "npu", "apu", "soc"}
POWER_KINDS = {"tdp", "measured_average"}
MIN_W, MAX_W = 20, 1500  # per device; the C++ tests hold the shipped table to the same range


# ----------------------------------------------------------------------------- helpers

def num(x):
    v = round(float(x), 1)
    return str(int(v)) if v == int(v) else str(v)


def need(cond, msg):
    if not cond:
        raise SystemExit("build_accelerator_table: check failed: " + msg)


def read_csv(path, skip=0):
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = f.readlines()[skip:]
    return [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in csv.DictReader(lines)]


def reference_of(text):
    """The URL in an upstream source field, else the field itself (a bare site name)."""
    m = re.search(r"https?://\S+", text)
    return m.group(0) if m else text.strip()


def squash(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


# ----------------------------------------------------------------------------- power specs

def C(model, form_factor, power_kind="tdp"):
    """The curated row (vendor, model, form_factor) of accelerator_tdp_curated.csv."""
    return ("curated", (model, form_factor), power_kind)


def M(name, power_kind=None):
    """A row of mlco2_impact/gpus.csv.  Its power kind follows from its source text."""
    return ("mlco2-impact", name, power_kind)


def G(name, power_kind="tdp"):
    """A row of green_algorithms/TDP_gpu.csv."""
    return ("green-algorithms", name, power_kind)


def D(watts, reference, power_kind="tdp"):
    """A figure added here, from the vendor's own specification page or datasheet."""
    return ("datasheet", (watts, reference), power_kind)


def R(name, vendor, kind, memory_gb, year, power, aliases=(), notes=""):
    return {"name": name, "vendor": vendor, "kind": kind, "memory_gb": memory_gb, "year": year,
            "power": power, "aliases": list(aliases), "notes": notes}


# ----------------------------------------------------------------------------- canonical rows

# Names: vendor, product, form factor where several exist, memory.  Aliases: the names nvidia-smi or
# rocm-smi print, and the upstream tables' names (added automatically from CROSS and the sources).
NV, AMD, INTEL, GOOGLE = "NVIDIA", "AMD", "Intel", "Google"
CANONICAL = [
    # NVIDIA data centre
    R("NVIDIA B200 SXM 180GB", NV, "gpu", 180, 2024, C("B200", "SXM (HGX B200 air-cooled)"),
      ["NVIDIA B200", "HGX B200"], "air-cooled HGX B200"),
    R("NVIDIA B100 SXM 192GB", NV, "gpu", 192, 2024, C("B100", "SXM"), ["NVIDIA B100"]),
    # A bare "H200"/"H100" is the SXM card: the one in training clusters, and nvidia-smi's plain name.
    R("NVIDIA H200 SXM 141GB", NV, "gpu", 141, 2024, C("H200", "SXM"), ["NVIDIA H200 SXM", "H200"]),
    R("NVIDIA H200 NVL 141GB", NV, "gpu", 141, 2024, C("H200 NVL", "PCIe"), ["NVIDIA H200 NVL"]),
    R("NVIDIA H100 SXM5 80GB", NV, "gpu", 80, 2022, C("H100", "SXM5"), ["NVIDIA H100 80GB HBM3", "H100"]),
    R("NVIDIA H100 PCIe 80GB", NV, "gpu", 80, 2022, C("H100", "PCIe"), ["NVIDIA H100 PCIe"],
      "configurable from 300 W"),
    R("NVIDIA H100 NVL 94GB", NV, "gpu", 94, 2023, C("H100 NVL", "PCIe"), ["NVIDIA H100 NVL"],
      "configurable from 350 W"),
    # "A100 80GB"/"A100 40GB" without a form factor: the SXM4 card of DGX/HGX servers and cloud instances.
    R("NVIDIA A100 SXM4 80GB", NV, "gpu", 80, 2020, C("A100 40GB/80GB", "SXM4"), ["NVIDIA A100-SXM4-80GB", "A100 80GB"]),
    R("NVIDIA A100 SXM4 40GB", NV, "gpu", 40, 2020, C("A100 40GB/80GB", "SXM4"), ["NVIDIA A100-SXM4-40GB", "A100 40GB"]),
    R("NVIDIA A100 PCIe 80GB", NV, "gpu", 80, 2021, C("A100 80GB", "PCIe"), ["NVIDIA A100 80GB PCIe"]),
    R("NVIDIA A100 PCIe 40GB", NV, "gpu", 40, 2020, C("A100 40GB", "PCIe"), ["NVIDIA A100-PCIE-40GB"]),
    R("NVIDIA L40S 48GB", NV, "gpu", 48, 2023, C("L40S", "PCIe")),
    R("NVIDIA L40 48GB", NV, "gpu", 48, 2022, C("L40", "PCIe")),
    R("NVIDIA L4 24GB", NV, "gpu", 24, 2023, C("L4", "PCIe low-profile")),
    R("NVIDIA A40 48GB", NV, "gpu", 48, 2020, C("A40", "PCIe")),
    R("NVIDIA A30 24GB", NV, "gpu", 24, 2021, C("A30", "PCIe")),
    R("NVIDIA A10 24GB", NV, "gpu", 24, 2021, C("A10", "PCIe")),
    R("NVIDIA A10G 24GB", NV, "gpu", 24, 2021, C("A10G", "PCIe (AWS G5)"), (), "sold only inside AWS instances"),
    R("NVIDIA A2 16GB", NV, "gpu", 16, 2021, D(60, "NVIDIA A2 Tensor Core GPU datasheet"), (),
      "configurable from 40 W"),
    R("NVIDIA T4 16GB", NV, "gpu", 16, 2018, C("T4", "PCIe low-profile"), ["Tesla T4"]),
    R("NVIDIA V100 SXM2 32GB", NV, "gpu", 32, 2018, C("V100", "SXM2"), ["Tesla V100-SXM2-32GB", "V100", "V100 32GB"]),
    R("NVIDIA V100 SXM2 16GB", NV, "gpu", 16, 2017, C("V100", "SXM2"), ["Tesla V100-SXM2-16GB", "V100 16GB"]),
    R("NVIDIA V100 PCIe 32GB", NV, "gpu", 32, 2018, C("V100", "PCIe"), ["Tesla V100-PCIE-32GB"]),
    R("NVIDIA V100 PCIe 16GB", NV, "gpu", 16, 2017, C("V100", "PCIe"), ["Tesla V100-PCIE-16GB"]),
    R("NVIDIA V100S PCIe 32GB", NV, "gpu", 32, 2019, G("NVIDIA Tesla V100S"), ["Tesla V100S-PCIE-32GB"]),
    R("NVIDIA P100 SXM2 16GB", NV, "gpu", 16, 2016, C("P100", "SXM2"), ["Tesla P100-SXM2-16GB", "P100", "P100 16GB"]),
    R("NVIDIA P100 PCIe 16GB", NV, "gpu", 16, 2016, C("P100", "PCIe"), ["Tesla P100-PCIE-16GB"]),
    R("NVIDIA P100 PCIe 12GB", NV, "gpu", 12, 2016, D(250, "NVIDIA Tesla P100 PCIe datasheet"),
      ["Tesla P100-PCIE-12GB"]),
    R("NVIDIA P40 24GB", NV, "gpu", 24, 2016, M("Tesla P40")),
    R("NVIDIA P4 8GB", NV, "gpu", 8, 2016, G("NVIDIA Tesla P4")),
    R("NVIDIA M40 24GB", NV, "gpu", 24, 2016, M("Tesla M40 24GB")),
    R("NVIDIA K80 24GB", NV, "gpu", 24, 2014, C("K80", "PCIe (dual GPU board)"), ["Tesla K80"],
      "per board; the board holds two GPUs and a cloud 'K80 GPU' is one of them"),
    R("NVIDIA K40c 12GB", NV, "gpu", 12, 2013, M("Tesla K40c")),
    R("NVIDIA Jetson AGX Xavier", NV, "soc", "", 2018, M("AGX Xavier"), (), "whole module"),
    # NVIDIA workstation
    R("NVIDIA RTX 6000 Ada 48GB", NV, "gpu", 48, 2022, D(300, "NVIDIA RTX 6000 Ada Generation datasheet"),
      ["NVIDIA RTX 6000 Ada Generation"]),
    R("NVIDIA RTX A6000 48GB", NV, "gpu", 48, 2020, M("RTX A6000")),
    R("NVIDIA RTX A5000 24GB", NV, "gpu", 24, 2021, M("RTX A5000")),
    R("NVIDIA RTX A4000 16GB", NV, "gpu", 16, 2021, D(140, "NVIDIA RTX A4000 datasheet")),
    R("NVIDIA Quadro RTX 8000 48GB", NV, "gpu", 48, 2018, M("RTX 8000")),
    R("NVIDIA Quadro P6000 24GB", NV, "gpu", 24, 2016, M("Quadro P6000")),
    R("NVIDIA Quadro K6000 12GB", NV, "gpu", 12, 2013, M("Quadro K6000")),
    # NVIDIA TITAN and GeForce
    R("NVIDIA TITAN RTX 24GB", NV, "gpu", 24, 2018, M("Titan RTX")),
    R("NVIDIA TITAN V 12GB", NV, "gpu", 12, 2017, M("Titan V")),
    R("NVIDIA TITAN Xp 12GB", NV, "gpu", 12, 2017, M("Titan Xp")),
    R("NVIDIA TITAN X (Pascal) 12GB", NV, "gpu", 12, 2016, M("TITAN X Pascal")),
    R("NVIDIA GeForce GTX TITAN X 12GB", NV, "gpu", 12, 2015, M("GTX TITAN X"), (), "Maxwell generation"),
    R("NVIDIA GeForce RTX 5090 32GB", NV, "gpu", 32, 2025,
      D(575, "NVIDIA GeForce RTX 5090 specifications (total graphics power)")),
    R("NVIDIA GeForce RTX 5080 16GB", NV, "gpu", 16, 2025,
      D(360, "NVIDIA GeForce RTX 5080 specifications (total graphics power)")),
    R("NVIDIA GeForce RTX 4090 24GB", NV, "gpu", 24, 2022, M("RTX 4090")),
    R("NVIDIA GeForce RTX 4080 16GB", NV, "gpu", 16, 2022,
      D(320, "NVIDIA GeForce RTX 4080 specifications (total graphics power)")),
    R("NVIDIA GeForce RTX 4070 12GB", NV, "gpu", 12, 2023,
      D(200, "NVIDIA GeForce RTX 4070 specifications (total graphics power)")),
    R("NVIDIA GeForce RTX 4060 8GB", NV, "gpu", 8, 2023,
      D(115, "NVIDIA GeForce RTX 4060 specifications (total graphics power)")),
    R("NVIDIA GeForce RTX 3090 Ti 24GB", NV, "gpu", 24, 2022,
      D(450, "NVIDIA GeForce RTX 3090 Ti specifications (graphics card power)")),
    R("NVIDIA GeForce RTX 3090 24GB", NV, "gpu", 24, 2020, M("RTX 3090")),
    R("NVIDIA GeForce RTX 3080 Ti 12GB", NV, "gpu", 12, 2021, M("RTX 3080 TI")),
    R("NVIDIA GeForce RTX 3080 10GB", NV, "gpu", 10, 2020, M("RTX 3080")),
    R("NVIDIA GeForce RTX 3070 8GB", NV, "gpu", 8, 2020,
      D(220, "NVIDIA GeForce RTX 3070 specifications (graphics card power)")),
    R("NVIDIA GeForce RTX 3060 12GB", NV, "gpu", 12, 2021,
      D(170, "NVIDIA GeForce RTX 3060 specifications (graphics card power)")),
    R("NVIDIA GeForce RTX 2080 Ti 11GB", NV, "gpu", 11, 2018, M("RTX 2080 Ti")),
    R("NVIDIA GeForce RTX 2080 8GB", NV, "gpu", 8, 2018, M("RTX 2080")),
    R("NVIDIA GeForce GTX 1660 6GB", NV, "gpu", 6, 2019, M("GIGABYTE GTX 1660 OC"), (),
      "figure of a factory-overclocked board; the reference design has the same"),
    R("NVIDIA GeForce GTX 1080 Ti 11GB", NV, "gpu", 11, 2017, M("GTX 1080 Ti")),
    R("NVIDIA GeForce GTX 1080 8GB", NV, "gpu", 8, 2016, M("GTX 1080")),
    # AMD
    R("AMD Instinct MI355X 288GB", AMD, "gpu", 288, 2025, C("Instinct MI355X", "OAM"), (), "liquid-cooled"),
    R("AMD Instinct MI350X 288GB", AMD, "gpu", 288, 2025, C("Instinct MI350X", "OAM")),
    R("AMD Instinct MI325X 256GB", AMD, "gpu", 256, 2024, C("Instinct MI325X", "OAM"), (),
      "one third-party table gives 750 W"),
    R("AMD Instinct MI300X 192GB", AMD, "gpu", 192, 2023, C("Instinct MI300X", "OAM")),
    R("AMD Instinct MI300A 128GB", AMD, "apu", 128, 2023, C("Instinct MI300A", "APU (SH5 socket)"), (),
      "whole APU including its CPU cores; air-cooled figure"),
    R("AMD Instinct MI250X 128GB", AMD, "gpu", 128, 2021, C("Instinct MI250X", "OAM"), (),
      "per OAM module, which shows up as two devices (GCDs); air-cooled figure"),
    R("AMD Instinct MI250 128GB", AMD, "gpu", 128, 2021, C("Instinct MI250", "OAM"), (),
      "per OAM module, which shows up as two devices (GCDs); air-cooled figure"),
    R("AMD Instinct MI210 64GB", AMD, "gpu", 64, 2022, C("Instinct MI210", "PCIe")),
    R("AMD Instinct MI100 32GB", AMD, "gpu", 32, 2020, C("Instinct MI100", "PCIe")),
    R("AMD Radeon Instinct MI60 32GB", AMD, "gpu", 32, 2018, D(300, "AMD Radeon Instinct MI60 datasheet")),
    R("AMD Radeon Instinct MI50 32GB", AMD, "gpu", 32, 2019, D(300, "AMD Radeon Instinct MI50 datasheet")),
    R("AMD Radeon Instinct MI50 16GB", AMD, "gpu", 16, 2018, D(300, "AMD Radeon Instinct MI50 datasheet")),
    R("AMD Radeon RX 480 8GB", AMD, "gpu", 8, 2016, M("AMD RX480")),
    # Intel
    R("Intel Gaudi 3 OAM 128GB", INTEL, "npu", 128, 2024, C("Gaudi 3 (HL-325L)", "OAM"), ["Intel Gaudi 3 HL-325L"]),
    R("Intel Gaudi 3 PCIe 128GB", INTEL, "npu", 128, 2024, C("Gaudi 3 (HL-338)", "PCIe"), ["Intel Gaudi 3 HL-338"]),
    R("Intel Gaudi 2 96GB", INTEL, "npu", 96, 2022, C("Gaudi 2", "OAM"), ["Intel Gaudi 2 HL-225"]),
    R("Intel Data Center GPU Max 1550 128GB", INTEL, "gpu", 128, 2023, C("Data Center GPU Max 1550", "OAM"),
      ["Intel Max 1550"]),
    R("Intel Data Center GPU Max 1100 48GB", INTEL, "gpu", 48, 2023, C("Data Center GPU Max 1100", "PCIe"),
      ["Intel Max 1100"]),
    # Google (per chip).  Measured averages from Google's papers; the TDPs go into the notes.
    R("Google TPU v4", GOOGLE, "tpu", 32, 2021, G("TPU v4", "measured_average"), (),
      "mean measured power (Jouppi et al. 2023)"),
    R("Google TPU v3", GOOGLE, "tpu", 32, 2018, M("TPUv3 Chip"), (),
      "average during training (Patterson et al. 2021)"),
    R("Google TPU v2", GOOGLE, "tpu", 16, 2017, M("TPUv2 Chip"), (),
      "average during training (Patterson et al. 2021)"),
]

# Second opinions: upstream row -> canonical name.  ("+" before the name: also add the upstream
# name as an alias.)
CROSS = {
    ("mlco2-impact", "H100 SXM"): "+NVIDIA H100 SXM5 80GB",
    ("mlco2-impact", "H100 NVL"): "NVIDIA H100 NVL 94GB",
    ("mlco2-impact", "A100 PCIe 40/80GB"): "NVIDIA A100 PCIe 40GB",  # 250 W is the 40 GB card's
    ("mlco2-impact", "A100 SXM4 80 GB"): "NVIDIA A100 SXM4 80GB",
    ("mlco2-impact", "A10G"): "NVIDIA A10G 24GB",
    ("mlco2-impact", "T4"): "NVIDIA T4 16GB",
    ("mlco2-impact", "L4"): "NVIDIA L4 24GB",
    ("mlco2-impact", "L40S"): "NVIDIA L40S 48GB",
    ("mlco2-impact", "Tesla V100-PCIE-16GB"): "NVIDIA V100 PCIe 16GB",
    ("mlco2-impact", "Tesla V100-SXM2-16GB"): "NVIDIA V100 SXM2 16GB",
    ("mlco2-impact", "Tesla V100-SXM2-32GB"): "NVIDIA V100 SXM2 32GB",
    ("mlco2-impact", "Tesla P100"): "NVIDIA P100 PCIe 16GB",
    ("mlco2-impact", "Tesla K80"): "NVIDIA K80 24GB",
    ("green-algorithms", "NVIDIA A100 40GB PCIe"): "+NVIDIA A100 PCIe 40GB",
    ("green-algorithms", "NVIDIA A100 80GB PCIe"): "NVIDIA A100 PCIe 80GB",
    ("green-algorithms", "NVIDIA GTX 1080"): "NVIDIA GeForce GTX 1080 8GB",
    ("green-algorithms", "NVIDIA GTX 1080 Ti"): "NVIDIA GeForce GTX 1080 Ti 11GB",
    ("green-algorithms", "NVIDIA GTX TITAN X"): "NVIDIA GeForce GTX TITAN X 12GB",
    ("green-algorithms", "NVIDIA Jetson AGX Xavier"): "NVIDIA Jetson AGX Xavier",
    ("green-algorithms", "NVIDIA RTX 2080"): "NVIDIA GeForce RTX 2080 8GB",
    ("green-algorithms", "NVIDIA RTX 2080 Ti"): "NVIDIA GeForce RTX 2080 Ti 11GB",
    ("green-algorithms", "NVIDIA Tesla K80"): "NVIDIA K80 24GB",
    ("green-algorithms", "NVIDIA Tesla P100"): "NVIDIA P100 PCIe 16GB",
    ("green-algorithms", "NVIDIA Tesla P100 PCIe"): "NVIDIA P100 PCIe 16GB",
    ("green-algorithms", "NVIDIA Tesla T4"): "NVIDIA T4 16GB",
    ("green-algorithms", "NVIDIA Tesla V100"): "NVIDIA V100 SXM2 32GB",  # its 300 W is the SXM2 figure
    ("green-algorithms", "NVIDIA Titan V"): "NVIDIA TITAN V 12GB",
    ("green-algorithms", "NVIDIA TITAN X Pascal"): "NVIDIA TITAN X (Pascal) 12GB",
    ("green-algorithms", "AMD RX480"): "AMD Radeon RX 480 8GB",
    ("green-algorithms", "TPU v2"): "Google TPU v2",
    ("green-algorithms", "TPU v3"): "Google TPU v3",
    ("curated", ("TPU v2 (per chip)", "board")): "Google TPU v2",
    ("curated", ("TPU v3 (per chip)", "board")): "Google TPU v3",
    ("curated", ("TPU v4 (per chip)", "board")): "Google TPU v4",
}

# Upstream rows left out, with the reason.
SKIP = {
    ("mlco2-impact", "GTX 750"): "inconsistent row (250 W, 1111 TFLOPS, 24 GB for a 55 W card)",
    ("green-algorithms", "Any"): "a generic default, not a device",
    ("curated", ("GB200 superchip (1 Grace CPU + 2 B200)", "Bianca board")): "a module of one CPU and two GPUs",
}


# ----------------------------------------------------------------------------- build

def load_inputs(S):
    ml = {}
    for r in read_csv(os.path.join(S, "mlco2_impact", "gpus.csv")):
        if r["type"] in ("gpu", "tpu"):
            ml[r["name"]] = r
    ga = {}
    for r in read_csv(os.path.join(S, "green_algorithms", "TDP_gpu.csv"), skip=1):
        ga[r["model"]] = r
    cu, unpublished = {}, []
    for r in read_csv(os.path.join(S, "curated", "accelerator_tdp_curated.csv")):
        if r["value_kind"] == "not published":
            need(not r["tdp_w"], "a 'not published' row with a figure: " + r["model"])
            unpublished.append("%s %s" % (r["vendor"], r["model"]))
        else:
            cu[(r["model"], r["form_factor"])] = r
    return {"mlco2-impact": ml, "green-algorithms": ga, "curated": cu}, unpublished


def figure(inputs, source, key, power_kind):
    """(watts, power_kind, reference, extra note, what the figure is) of one upstream row."""
    if source == "datasheet":
        watts, reference = key
        return float(watts), power_kind, reference, "", power_kind
    r = inputs[source].get(key)
    need(r is not None, "%s has no row %r" % (source, key))
    if source == "mlco2-impact":
        measured = "not TDP" in r["source"]
        kind = power_kind or ("measured_average" if measured else "tdp")
        need(measured == (kind == "measured_average"), "power kind of mlco2 row %r" % (key,))
        return float(r["tdp_watts"]), kind, reference_of(r["source"]), "", kind.replace("_", " ")
    if source == "green-algorithms":
        return float(r["TDP"]), power_kind, reference_of(r["source"]), "", "TDP"
    extra = ""
    if r["tdp_w_max_variant"]:
        extra = "up to %s W in its highest-power configuration" % r["tdp_w_max_variant"]
    return float(r["tdp_w"]), power_kind, r["primary_source"], extra, r["value_kind"]


def build(inputs):
    rows, by_name, used = [], {}, set()
    for c in CANONICAL:
        source, key, power_kind = c["power"]
        watts, kind, reference, extra, _ = figure(inputs, source, key, power_kind)
        used.add((source, key))
        aliases = list(c["aliases"])
        if source in ("mlco2-impact", "green-algorithms"):
            aliases.append(key)
        notes = [n for n in (c["notes"], extra) if n]
        row = {"name": c["name"], "vendor": c["vendor"], "kind": c["kind"], "memory_gb": c["memory_gb"],
               "power_w": watts, "power_kind": kind, "aliases": aliases, "source": source,
               "reference": reference, "year": c["year"], "notes": notes}
        need(c["name"] not in by_name, "duplicate name " + c["name"])
        by_name[c["name"]] = row
        rows.append(row)

    disagreements = []
    for (source, key), target in CROSS.items():
        alias = target.startswith("+")
        target = target.lstrip("+")
        need(target in by_name, "CROSS names an unknown row " + target)
        watts, _, _, _, what = figure(inputs, source, key, None if source == "mlco2-impact" else "tdp")
        used.add((source, key))
        row = by_name[target]
        if alias:
            row["aliases"].append(key)
        if watts != row["power_w"]:
            label = key if isinstance(key, str) else key[0]
            row["notes"].append("%s lists %s W (%s: %s)" % (source, num(watts), label, what))
            disagreements.append("%-30s %6s W   %s %r: %s W" % (target, num(row["power_w"]), source, label, num(watts)))

    for source, table in inputs.items():
        for key in table:
            need((source, key) in used or (source, key) in SKIP,
                 "%s row %r is neither used, cross-checked nor skipped" % (source, key))

    names = {}
    for row in rows:
        need(row["kind"] in KINDS, "kind of " + row["name"])
        need(row["power_kind"] in POWER_KINDS, "power kind of " + row["name"])
        need(MIN_W <= row["power_w"] <= MAX_W, "implausible power for " + row["name"])
        if row["memory_gb"] != "":
            m = re.search(r"(\d+)GB$", row["name"])
            need(m and int(m.group(1)) == row["memory_gb"] or row["vendor"] == GOOGLE,
                 "memory in the name of " + row["name"])
        seen = set()
        kept = []
        for a in row["aliases"]:
            s = squash(a)
            if s in seen or s == squash(row["name"]):
                continue
            seen.add(s)
            kept.append(a)
        row["aliases"] = kept
        for s in {squash(row["name"])} | seen:
            need(s not in names, "name or alias %r of %s is also %s's" % (s, row["name"], names.get(s)))
            names[s] = row["name"]
        for text in [row["name"]] + kept:
            need("|" not in text, "'|' in " + text)
    return rows, disagreements


def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for r in rows:
            w.writerow([r["name"], r["vendor"], r["kind"], r["memory_gb"], num(r["power_w"]), r["power_kind"],
                        "|".join(r["aliases"]), r["source"], r["reference"], r["year"], "; ".join(r["notes"])])


# ----------------------------------------------------------------------------- main

def main(argv):
    args = list(argv[1:])
    out = os.path.join(REPO, "data")
    S = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
    while args:
        a = args.pop(0)
        if a == "--out":
            out = args.pop(0)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            S = a
    need(os.path.isdir(S), "shared data dir not found: " + S)
    os.makedirs(out, exist_ok=True)

    inputs, unpublished = load_inputs(S)
    rows, disagreements = build(inputs)
    write(os.path.join(out, "accelerators.csv"), rows)
    lic = os.path.join(out, "LICENSES")
    os.makedirs(lic, exist_ok=True)
    for src, dst in (("mlco2_impact/LICENSE.txt", "mlco2-impact-MIT.txt"),
                     ("green_algorithms/LICENSE.txt", "green-algorithms-CC-BY-4.0.txt")):
        shutil.copyfile(os.path.join(S, src), os.path.join(lic, dst))

    print("shared data: %s\noutput:      %s" % (S, out))
    print("  accelerators.csv %d rows" % len(rows))
    counts = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    print("  by source: " + ", ".join("%s=%d" % kv for kv in sorted(counts.items())))
    print("  measured averages: " + ", ".join(r["name"] for r in rows if r["power_kind"] == "measured_average"))
    print("  left out, no published power: " + "; ".join(unpublished))
    print("second opinions that differ from the chosen figure:")
    for d in disagreements:
        print("  " + d)
    for n in ("NVIDIA TITAN V 12GB", "NVIDIA H100 SXM5 80GB", "NVIDIA A100 PCIe 40GB", "AMD Instinct MI300X 192GB"):
        r = next(x for x in rows if x["name"] == n)
        print("  %-28s %5s W %s (%s)" % (n, num(r["power_w"]), r["power_kind"], r["source"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
