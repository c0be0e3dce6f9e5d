#!/usr/bin/python3
"""Build carbonmeter's shipped carbon reference tables from the upstream snapshots.

Usage:
    scripts/data/build_carbon_data.py [SHARED_DATA_DIR] [--out DIR] [--zoneinfo DIR]

SHARED_DATA_DIR defaults to <repo>/../shared/data (the snapshots described in its SOURCES.md).
--out defaults to <repo>/data.  --zoneinfo defaults to /usr/share/zoneinfo (tzdata, public domain).

Writes (UTF-8, header row, comma-separated, no comments):
    intensity_countries.csv  intensity_marginal.csv  intensity_zones.csv  cloud_regions.csv
    equivalents.csv  embodied.csv  countries.csv  timezones.csv
and copies the license texts that must travel with the data into <out>/LICENSES/.
Python standard library only; no network.  Provenance of every column is in data/SOURCES.md.
"""

import csv
import json
import math
import os
import re
import shutil
import statistics
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LBS_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g; 1 MWh = 1000 kWh
KM_PER_MILE = 1.609344
HOURS_PER_YEAR = 8760


# ----------------------------------------------------------------------------- helpers

def num(x, nd=3):
    """Format a number without float noise and without trailing zeros."""
    if x is None or x == "":
        return ""
    v = round(float(x), nd)
    if v == int(v):
        return str(int(v))
    return ("%.*f" % (nd, v)).rstrip("0").rstrip(".")


def read_csv(path, skip=0, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as f:
        lines = f.readlines()[skip:]
    return list(csv.DictReader(lines))


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") if isinstance(r, dict) else r[i] for i, h in enumerate(header)])
    return len(rows)


def need(cond, msg):
    if not cond:
        raise SystemExit("build_carbon_data: check failed: " + msg)


# ----------------------------------------------------------------------------- countries

# ISO 3166-1 alpha-3 codes for the alpha-2 codes of iso3166.tab that the UNFCCC/co2.js table lacks.
ISO3_EXTRA = {
    "AQ": "ATA", "AX": "ALA", "BL": "BLM", "BV": "BVT", "CC": "CCK", "CX": "CXR", "EH": "ESH",
    "GG": "GGY", "GS": "SGS", "HK": "HKG", "HM": "HMD", "IO": "IOT", "JE": "JEY", "MO": "MAC",
    "NF": "NFK", "PN": "PCN", "SJ": "SJM", "TF": "ATF", "TK": "TKL", "UM": "UMI", "VA": "VAT",
    "WF": "WLF", "KY": "CYM",
}
# Upstream errors in marginal-intensities-2021.json (checked against iso3166.tab):
#  "Cayman Islands" carries ISO2 "CY" (Cyprus); "Canary Islands (Spain)" carries CYM/KY (Cayman).
MARGINAL_CODE_FIX = {
    "Cayman Islands": ("KY", "CYM"),
    "Canary Islands (Spain)": ("", ""),  # not an ISO 3166-1 country; dropped
}


def load_tab(zi):
    tab = {}
    with open(os.path.join(zi, "iso3166.tab"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            a, b = line.rstrip("\n").split("\t")[:2]
            tab[a] = b
    return tab


def marginal_codes(m):
    """(name_key, iso2, iso3) per entry of marginal-intensities-2021.json, with the fixes applied."""
    out = []
    for key, v in m.items():
        i2, i3 = v.get("country_code_iso_2", ""), v.get("country_code_iso_3", "")
        if key in MARGINAL_CODE_FIX:
            i2, i3 = MARGINAL_CODE_FIX[key]
        out.append((key, i2, i3))
    return out


def clean_unfccc_name(n):
    n = re.sub(r"\s*\((U\.K\.?|U\.S\.|France|Netherlands?|Spain|Portugal)\)$", "", n)
    return n.split("/")[0].strip()


def build_countries(S, zi, ember, owid, marg):
    tab = load_tab(zi)
    i2_to_i3 = {}
    names_unfccc = {}
    for key, i2, i3 in marginal_codes(marg):
        if i2 and i3:
            need(i2_to_i3.get(i2, i3) == i3, "conflicting ISO3 for " + i2)
            i2_to_i3[i2] = i3
            names_unfccc[i3] = clean_unfccc_name(key)
    for i2, i3 in ISO3_EXTRA.items():
        i2_to_i3.setdefault(i2, i3)
    need(len(set(i2_to_i3.values())) == len(i2_to_i3), "ISO3 codes must be unique")
    for i2 in tab:
        need(i2 in i2_to_i3, "no ISO3 for " + i2)

    rows = []
    for i2, i3 in i2_to_i3.items():
        if i3 in ember:
            name = ember[i3]["country_or_region"]
        elif i3 in owid:
            name = owid[i3]["country_name"]
        elif i3 in names_unfccc:
            name = names_unfccc[i3]
        else:
            name = tab.get(i2, i3)
        rows.append({"iso2": i2, "iso3": i3, "name": name})
    rows.sort(key=lambda r: r["iso2"])
    return rows, i2_to_i3, {r["iso3"]: r["name"] for r in rows}


# ----------------------------------------------------------------------------- intensities

def build_intensity_countries(ember, owid, world_avg, names):
    rows = []
    for k, v in ember.items():
        code = v.get("country_code", "")
        if not code:
            continue
        need(code == k, "Ember key/code mismatch " + k)
        rows.append({"iso3": code, "name": v["country_or_region"],
                     "g_per_kwh": num(v["emissions_intensity_gco2_per_kwh"], 2), "year": v["year"],
                     "kind": "lifecycle", "basis": "average", "source": "ember-%d" % v["year"]})
    have = {r["iso3"] for r in rows}
    for k, v in owid.items():
        if k in have or v.get("carbon_intensity") in (None, ""):
            continue
        rows.append({"iso3": k, "name": names.get(k, v["country_name"]),
                     "g_per_kwh": num(v["carbon_intensity"], 3), "year": v["year"],
                     "kind": "lifecycle", "basis": "average", "source": "owid-%d" % v["year"]})
    w = ember.get("World")
    if w:
        rows.append({"iso3": "WORLD", "name": "World", "g_per_kwh": num(w["emissions_intensity_gco2_per_kwh"], 2),
                     "year": w["year"], "kind": "lifecycle", "basis": "average", "source": "ember-%d" % w["year"]})
    else:
        rows.append({"iso3": "WORLD", "name": "World", "g_per_kwh": num(world_avg), "year": 2018,
                     "kind": "direct", "basis": "average", "source": "codecarbon-iea-2019"})
    rows.sort(key=lambda r: r["iso3"])
    return rows


def build_intensity_marginal(marg, ifi_rows, names):
    ifi = {}
    for r in ifi_rows:
        n = (r.get("Country / Territory / Island") or "").strip()
        if n:
            ifi[n] = r
    rows, mismatch = [], 0
    for key, i2, i3 in marginal_codes(marg):
        if not i3:
            continue
        v = marg[key]["Electricity Consumption"].strip()
        float(v)
        alt = ifi.get(key)
        if alt is not None and alt.get("CM electricity consumption", "").strip() not in ("", v):
            mismatch += 1
        rows.append({"iso3": i3, "name": names.get(i3, clean_unfccc_name(key)), "g_per_kwh": num(v),
                     "year": 2021, "kind": "direct", "basis": "marginal", "source": "ifi-unfccc-2021"})
    rows.sort(key=lambda r: r["iso3"])
    return rows, mismatch


def parse_ifi(path):
    """IFI CSV: three header rows; rename the columns."""
    cols = ["Country / Territory / Island", "CM firm", "CM intermittent", "CM energy efficiency",
            "CM electricity consumption", "Operating Margin"]
    with open(path, encoding="utf-8-sig", newline="") as f:
        data = list(csv.reader(f))[3:]
    return [dict(zip(cols, r)) for r in data if r]


US_STATE_EXTRA_ZONE_OK = re.compile(r"^[A-Z]{2}$")


def build_zones(S, i2_to_i3):
    em_dir = os.path.join(S, "greenweb_co2js")
    latest = {}
    for y in range(2015, 2100):
        p = os.path.join(em_dir, "electricitymaps_yearly_%d.json" % y)
        if not os.path.exists(p):
            continue
        for z, v in read_json(p).items():
            val = (v.get("carbonIntensity") or {}).get("value")
            if val is None:
                continue
            latest[z] = (y, v, val)
    need(latest, "no Electricity Maps yearly files")
    rows = {}
    for z, (y, v, val) in latest.items():
        if "-" not in z and z != "FI":  # country-level zones are covered by intensity_countries.csv
            continue
        i3 = i2_to_i3.get(z.split("-")[0], "")
        need(i3, "no ISO3 for zone " + z)
        rows[z] = {"zone": z, "name": v["zone"]["zoneName"], "iso3": i3, "g_per_kwh": num(val),
                   "year": y, "kind": "lifecycle", "basis": "average", "source": "electricitymaps-%d" % y}
    n_em = len(rows)
    usa = read_json(os.path.join(S, "codecarbon", "data", "private_infra", "2016", "usa_emissions.json"))
    need(usa["_unit"]["emissions"] == "lbs/MWh", "usa_emissions unit changed")
    skipped = []
    for state, v in usa.items():
        if state.startswith("_") or state == "usa":
            continue
        code = v["regionCode"]
        need(US_STATE_EXTRA_ZONE_OK.match(code), "bad state code " + code)
        z = "US-" + code
        if z in rows:
            skipped.append(z)
            continue
        rows[z] = {"zone": z, "name": state.title().replace(" Of ", " of "), "iso3": "USA",
                   "g_per_kwh": num(v["emissions"] * LBS_PER_MWH_TO_G_PER_KWH, 1), "year": 2016,
                   "kind": "direct", "basis": "average", "source": "codecarbon-usa-2016"}
    out = sorted(rows.values(), key=lambda r: r["zone"])
    return out, n_em, skipped


# ----------------------------------------------------------------------------- cloud regions

# (provider, region) -> (location, Electricity Maps zone).  iso3 follows from the zone's country.
# Locations: the providers' published region locations; zones: the EM zone covering that site.
CLOUD_SITES = {
    "gcp": {
        "africa-south1": ("Johannesburg", "ZA"), "asia-east1": ("Taiwan", "TW"),
        "asia-east2": ("Hong Kong", "HK"), "asia-northeast1": ("Tokyo", "JP-TK"),
        "asia-northeast2": ("Osaka", "JP-KN"), "asia-northeast3": ("Seoul", "KR"),
        "asia-south1": ("Mumbai", "IN-WE"), "asia-south2": ("Delhi", "IN-NO"),
        "asia-southeast1": ("Singapore", "SG"), "asia-southeast2": ("Jakarta", "ID"),
        "asia-southeast3": ("Bangkok", "TH"), "australia-southeast1": ("Sydney", "AU-NSW"),
        "australia-southeast2": ("Melbourne", "AU-VIC"), "europe-central2": ("Warsaw", "PL"),
        "europe-north1": ("Finland", "FI"), "europe-north2": ("Stockholm", "SE-SE3"),
        "europe-southwest1": ("Madrid", "ES"), "europe-west1": ("Belgium", "BE"),
        "europe-west2": ("London", "GB"), "europe-west3": ("Frankfurt", "DE"),
        "europe-west4": ("Eemshaven", "NL"), "europe-west6": ("Zürich", "CH"),
        "europe-west8": ("Milan", "IT-NO"), "europe-west9": ("Paris", "FR"),
        "europe-west10": ("Berlin", "DE"), "europe-west12": ("Turin", "IT-NO"),
        "me-central1": ("Doha", "QA"), "me-central2": ("Dammam", "SA"), "me-west1": ("Tel Aviv", "IL"),
        "northamerica-northeast1": ("Montréal", "CA-QC"), "northamerica-northeast2": ("Toronto", "CA-ON"),
        "northamerica-south1": ("Querétaro", "MX"), "southamerica-east1": ("São Paulo", "BR-CS"),
        "southamerica-west1": ("Santiago", "CL-SEN"), "us-central1": ("Iowa", "US-MIDW-MISO"),
        "us-central2": ("Oklahoma", "US-CENT-SWPP"), "us-east1": ("South Carolina", "US-CAR-SC"),
        "us-east2": ("Georgia", "US-SE-SOCO"),
        "us-east4": ("Northern Virginia", "US-MIDA-PJM"), "us-east5": ("Columbus", "US-MIDA-PJM"),
        "us-south1": ("Dallas", "US-TEX-ERCO"), "us-west1": ("Oregon", "US-NW-BPAT"),
        "us-west2": ("Los Angeles", "US-CAL-CISO"), "us-west3": ("Salt Lake City", "US-NW-PACE"),
        "us-west4": ("Las Vegas", "US-NW-NEVP"),
    },
    "aws": {
        "us-east-1": ("US East (N. Virginia)", "US-MIDA-PJM"), "us-east-2": ("US East (Ohio)", "US-MIDA-PJM"),
        "us-west-1": ("US West (N. California)", "US-CAL-CISO"), "us-west-2": ("US West (Oregon)", "US-NW-BPAT"),
        "us-gov-east-1": ("AWS GovCloud (US-East), Ohio", "US-MIDA-PJM"),
        "us-gov-west-1": ("AWS GovCloud (US-West), Oregon", "US-NW-BPAT"),
        "af-south-1": ("Africa (Cape Town)", "ZA"), "ap-east-1": ("Asia Pacific (Hong Kong)", "HK"),
        "ap-south-1": ("Asia Pacific (Mumbai)", "IN-WE"), "ap-northeast-1": ("Asia Pacific (Tokyo)", "JP-TK"),
        "ap-northeast-2": ("Asia Pacific (Seoul)", "KR"), "ap-northeast-3": ("Asia Pacific (Osaka)", "JP-KN"),
        "ap-southeast-1": ("Asia Pacific (Singapore)", "SG"), "ap-southeast-2": ("Asia Pacific (Sydney)", "AU-NSW"),
        "ap-southeast-3": ("Asia Pacific (Jakarta)", "ID"), "ap-southeast-4": ("Asia Pacific (Melbourne)", "AU-VIC"),
        "ca-central-1": ("Canada (Central), Montréal", "CA-QC"), "ca-west-1": ("Canada West (Calgary)", "CA-AB"),
        "cn-north-1": ("China (Beijing)", "CN"), "cn-northwest-1": ("China (Ningxia)", "CN"),
        "eu-central-1": ("Europe (Frankfurt)", "DE"), "eu-west-1": ("Europe (Ireland)", "IE"),
        "eu-west-2": ("Europe (London)", "GB"), "eu-west-3": ("Europe (Paris)", "FR"),
        "eu-south-1": ("Europe (Milan)", "IT-NO"), "eu-south-2": ("Europe (Spain)", "ES"),
        "eu-north-1": ("Europe (Stockholm)", "SE-SE3"), "me-south-1": ("Middle East (Bahrain)", "BH"),
        "me-central-1": ("Middle East (UAE)", "AE"), "sa-east-1": ("South America (São Paulo)", "BR-CS"),
    },
    "azure": {
        "southafrica": ("South Africa (geography)", "ZA"), "southafricanorth": ("Johannesburg", "ZA"),
        "southafricawest": ("Cape Town", "ZA"), "australia": ("Australia (geography)", "AU"),
        "australiacentral": ("Canberra", "AU-NSW"), "australiacentral2": ("Canberra", "AU-NSW"),
        "australiaeast": ("New South Wales", "AU-NSW"), "australiasoutheast": ("Victoria", "AU-VIC"),
        "apeast": ("Hong Kong (CCF name)", "HK"), "apsoutheast": ("Singapore (CCF name)", "SG"),
        "japaneast": ("Tokyo, Saitama", "JP-TK"), "japanwest": ("Osaka", "JP-KN"),
        "japan": ("Japan (geography)", "JP"), "korea": ("Korea (geography)", "KR"),
        "koreacentral": ("Seoul", "KR"), "koreasouth": ("Busan", "KR"),
        "asia": ("Asia (geography)", ""), "asiapacific": ("Asia Pacific (geography)", ""),
        "eastasia": ("Hong Kong", "HK"), "eastasiastage": ("Hong Kong", "HK"),
        "southeastasia": ("Singapore", "SG"), "southeastasiastage": ("Singapore", "SG"),
        "india": ("India (geography)", "IN"), "centralindia": ("Pune", "IN-WE"),
        "jioindiacentral": ("Nagpur", "IN-WE"), "jioindiawest": ("Jamnagar", "IN-WE"),
        "southindia": ("Chennai", "IN-SO"), "westindia": ("Mumbai", "IN-WE"),
        "northeurope": ("Ireland", "IE"), "westeurope": ("Netherlands", "NL"),
        "francecentral": ("Paris", "FR"), "francesouth": ("Marseille", "FR"), "france": ("France (geography)", "FR"),
        "swedencentral": ("Gävle", "SE-SE3"), "switzerland": ("Switzerland (geography)", "CH"),
        "switzerlandnorth": ("Zürich", "CH"), "switzerlandwest": ("Geneva", "CH"),
        "uksouth": ("London", "GB"), "ukwest": ("Cardiff", "GB"), "uk": ("United Kingdom (geography)", "GB"),
        "germany": ("Germany (geography)", "DE"), "germanynorth": ("Berlin", "DE"),
        "germanywestcentral": ("Frankfurt", "DE"), "norway": ("Norway (geography)", "NO"),
        "norwayeast": ("Oslo", "NO-NO1"), "norwaywest": ("Stavanger", "NO-NO2"),
        "uae": ("UAE (geography)", "AE"), "uaecentral": ("Abu Dhabi", "AE"), "uaenorth": ("Dubai", "AE"),
        "canada": ("Canada (geography)", "CA"), "canadacentral": ("Toronto", "CA-ON"),
        "canadaeast": ("Québec City", "CA-QC"), "centralus": ("Iowa", "US-MIDW-MISO"),
        "centraluseuap": ("Iowa", "US-MIDW-MISO"), "unitedstates": ("United States (geography)", "US"),
        "unitedstateseuap": ("United States (geography)", "US"), "eastus": ("Virginia", "US-MIDA-PJM"),
        "eastusstage": ("Virginia", "US-MIDA-PJM"), "eastus2": ("Virginia", "US-MIDA-PJM"),
        "eastus2euap": ("Virginia", "US-MIDA-PJM"), "eastus3": ("United States (CCF name)", "US"),
        "usnorth": ("United States (CCF name)", "US"), "westus": ("California", "US-CAL-CISO"),
        "westusstage": ("California", "US-CAL-CISO"), "westus2": ("Washington (Quincy)", "US-NW-GCPD"),
        "westus3": ("Arizona", "US-SW-AZPS"), "brazil": ("Brazil (geography)", "BR"),
        "brazilsouth": ("São Paulo", "BR-CS"), "brazilsoutheast": ("Rio de Janeiro", "BR-CS"),
        "northcentralus": ("Illinois", "US-MIDA-PJM"), "southcentralus": ("Texas", "US-TEX-ERCO"),
        "westcentralus": ("Wyoming", "US-NW-WACM"), "austriaeast": ("Vienna", "AT"),
        "belgiumcentral": ("Brussels", "BE"), "chilecentral": ("Santiago", "CL-SEN"),
        "denmarkeast": ("Copenhagen", "DK-DK2"), "indonesiacentral": ("Jakarta", "ID"),
        "israelcentral": ("Israel", "IL"), "italynorth": ("Milan", "IT-NO"),
        "malaysiawest": ("Kuala Lumpur", "MY-WM"), "mexicocentral": ("Querétaro", "MX"),
        "newzealandnorth": ("Auckland", "NZ"), "polandcentral": ("Warsaw", "PL"),
        "qatarcentral": ("Doha", "QA"), "spaincentral": ("Madrid", "ES"),
    },
    "alibaba": {
        "cn-hangzhou": ("Hangzhou", "CN"), "cn-shanghai": ("Shanghai", "CN"), "cn-nanjing": ("Nanjing", "CN"),
        "cn-shenzhen": ("Shenzhen", "CN"), "cn-heyuan": ("Heyuan", "CN"), "cn-guangzhou": ("Guangzhou", "CN"),
        "cn-qingdao": ("Qingdao", "CN"), "cn-beijing": ("Beijing", "CN"), "cn-zhangjiakou": ("Zhangjiakou", "CN"),
        "cn-huhehaote": ("Hohhot", "CN"), "cn-wulanchabu": ("Ulanqab", "CN"),
    },
    "ovh": {
        "gra": ("Gravelines", "FR"), "bhs": ("Beauharnois", "CA-QC"),
        "eu-west-par": ("Paris", "FR"), "eu-west-gra": ("Gravelines", "FR"), "eu-west-rbx": ("Roubaix", "FR"),
        "eu-west-sbg": ("Strasbourg", "FR"), "eu-west-lim": ("Limburg", "DE"), "eu-central-waw": ("Warsaw", "PL"),
        "eu-west-eri": ("Erith (London)", "GB"), "us-east-vin": ("Vint Hill, Virginia", "US-MIDA-PJM"),
        "us-west-hil": ("Hillsboro, Oregon", "US-NW-PGE"), "ca-east-bhs": ("Beauharnois", "CA-QC"),
        "ca-east-tor": ("Toronto", "CA-ON"), "ap-southeast-sgp": ("Singapore", "SG"),
        "ap-southeast-syd": ("Sydney", "AU-NSW"), "ap-south-mum": ("Mumbai", "IN-WE"),
        "eu-west-rbx-snc": ("Roubaix (SecNumCloud)", "FR"), "eu-west-sbg-snc": ("Strasbourg (SecNumCloud)", "FR"),
        "eu-west-gra-snc": ("Gravelines (SecNumCloud)", "FR"),
    },
    "scaleway": {"fr-par": ("Paris", "FR"), "nl-ams": ("Amsterdam", "NL"), "pl-waw": ("Warsaw", "PL")},
    "coreweave": {"LGA1": ("Weehawken, New Jersey", "US-MIDA-PJM"), "ORD1": ("Chicago", "US-MIDA-PJM"),
                  "LAS1": ("Las Vegas", "US-NW-NEVP")},
    "seeweb": {"fro2": ("Frosinone", "IT-CSO")},
}
PROVIDER_ALIASES = {"ovhcloud": "ovh"}
AMERICAS = {"USA", "CAN", "MEX", "BRA", "CHL"}
APAC = {"JPN", "KOR", "IND", "SGP", "AUS", "HKG", "CHN", "TWN", "IDN", "THA", "NZL", "MYS"}


def build_cloud(S, i2_to_i3, zones_known):
    # --- intensities, in order of preference
    grid = {}  # (provider, region) -> dict(g, year, kind, source)
    gdir = os.path.join(S, "google_region_carbon")
    gyears = sorted(int(f[:4]) for f in os.listdir(gdir) if re.match(r"^\d{4}\.csv$", f))
    gloc = {}
    for y in gyears:
        for r in read_csv(os.path.join(gdir, "%d.csv" % y)):
            reg = r["Google Cloud Region"].strip()
            ci = r.get("Grid carbon intensity (gCO2eq / kWh)", "").strip()
            if not reg or not ci:
                continue
            # 2019-2020 files are lifecycle; 2021+ operational (location-based, direct).
            grid[("gcp", reg)] = {"g": num(ci, 2), "year": y, "kind": "direct" if y >= 2021 else "lifecycle",
                                  "source": "google-%d" % y}
            gloc[reg] = r["Location"].strip()
    ccf = read_csv(os.path.join(S, "cloud_carbon_footprint", "ccf_region_emission_factors.csv"))
    for r in ccf:
        if r["variant"] != "grid" or r["region"].lower().startswith("unknown"):
            continue
        if r["comment"].startswith("Sum of"):  # GCP multi-regions: sums, not intensities
            continue
        prov = r["provider"]
        reg = r["region"].split(" (")[0]
        if prov == "azure":
            reg = reg.lower()
        if prov == "alibaba" and reg == "cn-qingdap":
            reg = "cn-qingdao"  # typo in CCF
        key = (prov, reg)
        if key in grid:
            continue
        year = 2020 if r["nerc_region"] else 2021
        grid[key] = {"g": num(r["gco2e_per_kwh"], 3), "year": year, "kind": "direct",
                     "source": "ccf-egrid2020" if r["nerc_region"] else "ccf-cfp-2021"}
    mlco2 = read_csv(os.path.join(S, "mlco2_impact", "impact.csv"))
    mlco2_pue = {}
    for r in mlco2:
        prov = r["provider"]
        reg = r["region"] or ("fr-par" if prov == "scaleway" and r["regionName"] == "Paris" else "")
        if not reg:
            continue
        src = r["source"]
        if r["PUE"]:
            mlco2_pue[(prov, reg)] = r["PUE"]
        if (not src.strip() or "electricitymap" in src.lower() or "carbon-free" in src.lower()
                or (prov, reg) in grid):
            # Unsourced, Electricity Maps-derived (ODbL) and market-based (0 g) figures are not used.
            continue
        if src.startswith("eGRID"):
            year, tag = 2016, "mlco2-egrid2016"
        elif "carbonfootprint.com" in src and "2018" in src:
            year, tag = 2018, "mlco2-cfp-2018"
        else:
            year, tag = 2019, "mlco2-impact"
        grid[(prov, reg)] = {"g": num(r["impact"], 2), "year": year, "kind": "direct", "source": tag}

    # --- PUE
    pue_ga = {}
    for r in read_csv(os.path.join(S, "green_algorithms", "defaults_PUE.csv"), skip=1):
        pue_ga[r["provider"].lower()] = r["PUE"]
    ccf_ttm = {}
    for r in read_csv(os.path.join(S, "cloud_carbon_footprint", "ccf_cloud_constants.csv")):
        if r["constant"] == "PUE_TRAILING_TWELVE_MONTH":
            reg = r["key"].split(" (")[0]
            reg = "cn-qingdao" if reg == "cn-qingdap" else reg
            ccf_ttm[(r["provider"], reg)] = r["value"]

    def pue_for(prov, reg):
        if (prov, reg) in ccf_ttm and not reg.startswith("unknown"):
            return ccf_ttm[(prov, reg)], "ccf-%s-region" % prov
        ga = {"gcp": "gcp", "aws": "aws", "azure": "azure", "ovh": "ovhcloud"}.get(prov)
        if ga and ga in pue_ga:
            return pue_ga[ga], "green-algorithms-%s-2023" % prov
        if (prov, reg) in mlco2_pue:
            return mlco2_pue[(prov, reg)], "mlco2-impact"
        return pue_ga["unknown"], "green-algorithms-industry-2024"

    # --- WUE
    aws_wue = {}
    for r in read_csv(os.path.join(S, "wue", "aws_wue_2024_by_region.csv")):
        aws_wue[r["region_id"]] = r["wue_l_per_kwh"]
    cw = {}
    for r in read_csv(os.path.join(S, "wue", "cloud_wue.csv")):
        cw[(r["provider"].lower(), r["region"].lower())] = r["wue_l_per_kwh"]

    def wue_for(prov, reg, iso3):
        if prov == "aws":
            if reg in aws_wue:
                return aws_wue[reg], "aws-2024-region"
            if reg.startswith("eu-"):
                area = "Europe"
            elif reg.startswith(("us-", "ca-")):
                area = "North America"
            elif reg.startswith("sa-"):
                area = "Central/South America"
            elif reg.startswith("ap-"):
                area = "Asia Pacific (excl. China)"
            elif reg.startswith(("me-", "af-", "il-")):
                area = "EMEA"
            else:
                area = "GLOBAL"
            return aws_wue[area], "aws-2024-" + area.lower().replace(" (excl. china)", "").replace("/", "-").replace(" ", "-")
        if prov == "azure":
            if iso3 in AMERICAS:
                return cw[("azure", "americas")], "azure-fy22-americas"
            if iso3 in APAC or reg in ("asia", "asiapacific"):
                return cw[("azure", "asia pacific")], "azure-fy22-apac"
            if iso3:
                return cw[("azure", "emea")], "azure-fy22-emea"
            return cw[("azure", "global")], "azure-fy22-global"
        if prov == "gcp":
            return cw[("gcp", "global")], "gcp-2021-estimate"
        return "", ""

    # --- region list: every region with a figure, plus Boavizta's region list and AWS WUE regions
    regions = set(grid)
    for r in read_csv(os.path.join(S, "boavizta", "cloud_regions.csv")):
        regions.add((PROVIDER_ALIASES.get(r["provider"], r["provider"]), r["region"]))
    for r in mlco2:
        prov = r["provider"]
        reg = r["region"] or ("fr-par" if prov == "scaleway" and r["regionName"] == "Paris" else "")
        if reg:
            regions.add((prov, reg))
    for reg in aws_wue:
        if re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", reg):
            regions.add(("aws", reg))
    boav_iso3 = {(PROVIDER_ALIASES.get(r["provider"], r["provider"]), r["region"]): r["usage_location"]
                 for r in read_csv(os.path.join(S, "boavizta", "cloud_regions.csv"))}

    rows, iso_mismatch = [], []
    for prov, reg in sorted(regions):
        site = CLOUD_SITES.get(prov, {}).get(reg)
        need(site is not None, "no location/zone mapping for %s %s" % (prov, reg))
        loc, zone = site
        if prov == "gcp" and reg in gloc:
            loc = gloc[reg]
        need(not zone or zone in zones_known, "unknown Electricity Maps zone %s" % zone)
        iso3 = i2_to_i3.get(zone.split("-")[0], "") if zone else ""
        if (prov, reg) in boav_iso3 and boav_iso3[(prov, reg)] != iso3:
            iso_mismatch.append((prov, reg, boav_iso3[(prov, reg)], iso3))
        g = grid.get((prov, reg), {})
        pue, pue_src = pue_for(prov, reg)
        wue, wue_src = wue_for(prov, reg, iso3)
        rows.append({"provider": prov, "region": reg, "location": loc, "iso3": iso3, "zone": zone,
                     "g_per_kwh": g.get("g", ""), "year": g.get("year", ""), "kind": g.get("kind", ""),
                     "source": g.get("source", ""), "pue": num(pue), "pue_source": pue_src,
                     "wue_l_per_kwh": num(wue), "wue_source": wue_src})
    return rows, iso_mismatch


# ----------------------------------------------------------------------------- equivalents

def build_equivalents(S):
    eq = read_csv(os.path.join(S, "curated", "emission_equivalences.csv"))
    ref = {r["variable"]: r for r in read_csv(os.path.join(S, "green_algorithms", "referenceValues.csv"), skip=1)}

    def pick(item_start, g):
        for r in eq:
            if r["item"].startswith(item_start) and float(r["g_co2e_per_unit"]) == g:
                return r
        raise SystemExit("equivalence not found: %s %s" % (item_start, g))

    car = pick("mile driven by average gasoline passenger vehicle", 393)
    phone = pick("smartphone charged", 12.4)
    tv = pick("hour of 32-inch LCD TV watched", 97)
    tree = pick("urban tree seedling grown for 10 years", 60000)
    gas = pick("gallon of gasoline burned", 8887)
    home = pick("home energy use for one year (US)", 7940000)
    flight_g = float(ref["flight_NY-SF"]["value"])
    netflix_g = float(ref["streaming_netflix_perhour"]["value"])
    epa = "US EPA GHG Equivalencies Calculator"
    return [
        {"item": "car_km", "unit": "km", "g_co2e_per_unit": num(float(car["g_co2e_per_unit"]) / KM_PER_MILE, 1),
         "vintage": car["vintage"], "source": epa,
         "notes": "average US gasoline passenger vehicle; EPA 393 g/mile / 1.609344 km/mile"},
        {"item": "smartphone_charge", "unit": "charge", "g_co2e_per_unit": num(phone["g_co2e_per_unit"]),
         "vintage": phone["vintage"], "source": epa, "notes": "CO2 only; US delivered electricity incl. losses"},
        {"item": "tv_hour", "unit": "hour", "g_co2e_per_unit": num(tv["g_co2e_per_unit"]),
         "vintage": "CodeCarbon (undated)", "source": "CodeCarbon dashboard constant",
         "notes": "32-inch LCD TV; 0.097 kg/h; primary source not stated by CodeCarbon"},
        {"item": "streaming_video_hour", "unit": "hour", "g_co2e_per_unit": num(netflix_g),
         "vintage": "2020", "source": "Green Algorithms referenceValues (Carbon Brief factcheck)",
         "notes": "one hour of Netflix streaming"},
        {"item": "tree_year", "unit": "tree-year", "g_co2e_per_unit": num(float(tree["g_co2e_per_unit"]) / 10),
         "vintage": tree["vintage"], "source": epa,
         "notes": "CO2 sequestered by an urban tree seedling: 60 kg over 10 years / 10; a negative (removal) equivalent"},
        {"item": "flight_nyc_sfo", "unit": "passenger one-way flight", "g_co2e_per_unit": num(flight_g),
         "vintage": "~2020", "source": "Green Algorithms referenceValues (carbonfootprint.com calculator)",
         "notes": "New York - San Francisco, one economy passenger, one way"},
        {"item": "gasoline_gallon", "unit": "US gallon", "g_co2e_per_unit": num(gas["g_co2e_per_unit"]),
         "vintage": gas["vintage"], "source": epa, "notes": "CO2 from burning one US gallon of gasoline"},
        {"item": "us_household_day", "unit": "household-day",
         "g_co2e_per_unit": num(float(home["g_co2e_per_unit"]) / 365, 0), "vintage": home["vintage"],
         "source": epa, "notes": "US home energy use, 7.94 t CO2/yr / 365"},
    ]


# ----------------------------------------------------------------------------- embodied

WAFER_D = 300.0  # mm
KERF = 0.2       # mm
DEFECT_D0 = 0.1  # defects per cm2


def effective_die_area(die_mm2):
    """Wafer area consumed per good die: dies-per-wafer with edge loss, then a Poisson-type yield
    exp(-sqrt(A * D0)) (A in cm2).  This is the wafer model BoaviztAPI's GPU component uses."""
    side = math.sqrt(die_mm2) + KERF
    a = side * side
    wafer = math.pi * (WAFER_D / 2) ** 2
    n = wafer / a - (math.pi * WAFER_D) / math.sqrt(2 * a)
    per_die = wafer / n
    return per_die / math.exp(-math.sqrt((a / 100.0) * DEFECT_D0))


def boavizta_gpu_kg(f, card):
    """card: dict(mass, casing, heatsink, pwb_cm2, die_eff_mm2, vram_gb, vram_dies, boat_km, truck_km, plane_km)"""
    vram_die = card["vram_gb"] * 15.5 / card["vram_dies"]  # 15.5 mm2 per GB (BoaviztAPI constant)
    vram_eff = effective_die_area(vram_die) * card["vram_dies"]
    m = card["mass"]
    return (f["casing"] * card["casing"] + f["heatsink"] * card["heatsink"] + f["pwb"] * card["pwb_cm2"]
            + f["gpu_die"] * card["die_eff_mm2"] + f["vram"] * vram_eff + f["upstream_transport"] * m
            + f["transport_boat"] * card["boat_km"] * m + f["transport_truck"] * card["truck_km"] * m
            + f["transport_plane"] * card["plane_km"] * m + f["end_of_life"] * m)


def first(s):
    return float(str(s).split(";")[0])


def build_embodied(S):
    B = os.path.join(S, "boavizta")
    fac = {}
    for r in read_csv(os.path.join(B, "embodied_gwp_factor_summary.csv")):
        fac[(r["component"], r["factor_name"])] = float(r["gwp_kgco2e"])
    gf = {k[1]: v for k, v in fac.items() if k[0] == "gpu"}
    rows = []

    # CCF: base 1000 kg per host (every row of the AWS embodied table = 1000 + additional_*)
    bases = set()
    for r in read_csv(os.path.join(S, "cloud_carbon_footprint", "coefficients-aws-embodied.csv")):
        extra = sum(float(r[c] or 0) for c in ("additional_memory", "additional_storage", "additional_cpus", "additional_gpus"))
        bases.add(round(float(r["total"]) - extra, 2))
    need(bases == {1000.0}, "CCF base host embodied is not 1000 kg: %s" % sorted(bases)[:5])
    rows.append({"item": "server_ccf_base", "kg_co2e": "1000", "lifetime_hours": "35040",
                 "source": "Cloud Carbon Footprint coefficients (Apache-2.0)",
                 "notes": "base rack server (Dell R740-class, min config); CCF adds memory/storage/CPU/GPU extras; 4 yr"})

    # Manufacturer PCFs (Boavizta environmental-footprint-data, ODbL)
    pcf = read_csv(os.path.join(S, "boavizta_pcf", "boavizta-data-us.csv"))
    for sub, item in (("Server", "server_pcf_median"), ("Laptop", "laptop_pcf_median"), ("Desktop", "desktop_pcf_median")):
        sel = [r for r in pcf if r["subcategory"] == sub]
        vals = [float(r["gwp_total"]) * float(r["gwp_manufacturing_ratio"]) for r in sel
                if r["gwp_total"] and r["gwp_manufacturing_ratio"]]
        life = [float(r["lifetime"]) for r in sel if r["lifetime"]]
        yrs = [int(y) for r in sel for y in re.findall(r"(20\d\d)", r["report_date"])]
        rows.append({"item": item, "kg_co2e": num(statistics.median(vals), 1),
                     "lifetime_hours": num(statistics.median(life) * HOURS_PER_YEAR),
                     "source": "Boavizta environmental-footprint-data (ODbL), manufacturer PCFs",
                     "notes": "median of gwp_total x gwp_manufacturing_ratio over %d %s PCFs (%d-%d); range %s-%s kg"
                              % (len(vals), sub.lower(), min(yrs), max(yrs), num(min(vals), 0), num(max(vals), 0))})

    # GPUs with the Boavizta GPU model
    arch = read_csv(os.path.join(B, "component_archetype_gpu.csv"))[0]
    life_gpu = first(arch["USAGE.hours_life_time"])
    specs = {r["name"]: r for r in read_csv(os.path.join(B, "gpu_specs.csv"))}
    default_card = {"mass": first(arch["weight"]), "casing": first(arch["casing_weight"]),
                    "heatsink": first(arch["heatsink_weight"]), "pwb_cm2": first(arch["pwb_surface"]),
                    "die_eff_mm2": effective_die_area(first(arch["gpu_surface"])),
                    "vram_gb": first(arch["vram"]), "vram_dies": first(arch["vram_dies"]),
                    "boat_km": first(arch["transport_boat"]), "truck_km": first(arch["transport_truck"]),
                    "plane_km": first(arch["transport_plane"])}
    rows.append({"item": "gpu_default", "kg_co2e": num(boavizta_gpu_kg(gf, default_card), 0),
                 "lifetime_hours": num(life_gpu), "source": "BoaviztAPI factors + default GPU archetype (AGPL repo; facts only)",
                 "notes": "one data-centre GPU card (archetype: %s mm2 die, %s GB VRAM, %s kg card); 1.69 in the archetype is the card mass in kg, not CO2"
                          % (num(first(arch["gpu_surface"])), num(first(arch["vram"])), num(first(arch["weight"])))})
    for name, item in (("NVIDIA H100 SXM 80GB", "gpu_h100_sxm_80gb"), ("NVIDIA A100 SXM4 40GB", "gpu_a100_sxm4_40gb"),
                       ("NVIDIA L4", "gpu_l4")):
        s = specs[name]
        card = {"mass": float(s["mass"]), "casing": float(s["mass_casing"]), "heatsink": float(s["mass_heatsink"]),
                "pwb_cm2": float(s["pwb_surface"]), "die_eff_mm2": float(s["die_surface"]),
                "vram_gb": float(s["vram"]), "vram_dies": float(s["number"]),
                "boat_km": float(s["distance_boat"]), "truck_km": float(s["distance_truck"]),
                "plane_km": float(s["distance_plane"])}
        rows.append({"item": item, "kg_co2e": num(boavizta_gpu_kg(gf, card), 0), "lifetime_hours": num(life_gpu),
                     "source": "BoaviztAPI factors + gpu_specs (AGPL repo; facts only)",
                     "notes": "one card, Boavizta GPU model: die %s mm2 effective, %s GB VRAM in %s dies, %s kg"
                              % (num(s["die_surface"], 2), s["vram"], s["number"], num(s["mass"], 3))})

    # Per-component factors
    cpu_die = fac[("cpu", "die_impact")]
    specs_cpu = read_csv(os.path.join(B, "cpu_specs.csv"))
    per_core = []
    for r in specs_cpu:
        try:
            d, c = float(r["total_die_size"]), float(r["cores"])
        except ValueError:
            continue
        if d > 0 and c > 0 and ("Xeon" in r["name"] or "EPYC" in r["name"]):
            per_core.append(d / c)
    mm2_core = statistics.median(per_core)
    rows.append({"item": "cpu_core", "kg_co2e": num(cpu_die * mm2_core, 3), "lifetime_hours": "26280",
                 "source": "BoaviztAPI CPU factor + cpu_specs die sizes (AGPL repo; facts only)",
                 "notes": "0.0197 kg/mm2 x median %s mm2 die per core over %d Xeon/EPYC models; add cpu_package per socket"
                          % (num(mm2_core, 2), len(per_core))})
    rows.append({"item": "cpu_package", "kg_co2e": num(fac[("cpu", "base_impact")]), "lifetime_hours": "26280",
                 "source": "BoaviztAPI CPU factor (AGPL repo; facts only)", "notes": "fixed part per CPU package (socket)"})
    dens = [float(r["density"]) for r in read_csv(os.path.join(B, "ram_manufacture.csv"))]
    ram_gb = fac[("ram", "die_impact")] / statistics.mean(dens)
    rows.append({"item": "ram_gb", "kg_co2e": num(ram_gb, 3), "lifetime_hours": "26280",
                 "source": "BoaviztAPI RAM factor + ram_manufacture densities (AGPL repo; facts only)",
                 "notes": "2.20 kg/cm2 DRAM die / mean density %s GB/cm2 (range %s-%s); plus 5.22 kg per module"
                          % (num(statistics.mean(dens), 3), num(min(dens)), num(max(dens)))})
    sdens = [float(r["density"]) for r in read_csv(os.path.join(B, "ssd_manufacture.csv"))]
    ssd_tb = fac[("ssd", "die_impact")] / statistics.mean(sdens) * 1000 + fac[("ssd", "base_impact")]
    rows.append({"item": "ssd_tb", "kg_co2e": num(ssd_tb, 1), "lifetime_hours": "26280",
                 "source": "BoaviztAPI SSD factor + ssd_manufacture densities (AGPL repo; facts only)",
                 "notes": "one 1 TB SSD: 2.20 kg/cm2 NAND die x 1000 GB / mean density %s GB/cm2 + 6.34 kg per drive"
                          % num(statistics.mean(sdens), 1)})
    rows.append({"item": "hdd_unit", "kg_co2e": num(fac[("hdd", "impact")]), "lifetime_hours": "26280",
                 "source": "BoaviztAPI HDD factor (AGPL repo; facts only)", "notes": "one hard disk drive"})
    psu = fac[("power_supply", "impact")] * 2.99 * 2
    chassis = fac[("motherboard", "impact")] + fac[("case", "rack")] + psu + fac[("assembly", "impact")]
    rows.append({"item": "server_chassis", "kg_co2e": num(chassis, 1), "lifetime_hours": "35040",
                 "source": "BoaviztAPI factors (AGPL repo; facts only)",
                 "notes": "rack server without CPU/RAM/storage/GPU: motherboard 66.1 + rack case 150 + 2 PSU x 2.99 kg x 24.3 + assembly 6.68"})
    need(len(rows) <= 15, "embodied.csv must stay small")
    return rows


# ----------------------------------------------------------------------------- timezones

UTC_NAMES = ["UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu",
             "GMT", "Etc/GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "GMT0", "GMT+0", "GMT-0",
             "Etc/Greenwich", "Greenwich"]


# Backward-compatibility links whose target zone serves several countries and whose own name
# belongs to a country other than the target's first (most populous) one.
LINK_COUNTRY = {
    "Africa/Asmera": "ER", "Africa/Timbuktu": "ML", "America/Coral_Harbour": "CA", "America/Virgin": "VI",
    "Antarctica/South_Pole": "AQ", "Iceland": "IS", "Atlantic/Jan_Mayen": "SJ", "Pacific/Truk": "FM",
    "Pacific/Yap": "FM", "Pacific/Ponape": "FM",
}


def build_timezones(zi, i2_to_i3):
    tz = {}
    with open(os.path.join(zi, "zone.tab"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.rstrip("\n").split("\t")
            tz[p[2]] = i2_to_i3[p[0]]
    n_zone_tab = len(tz)
    z1970 = {}
    with open(os.path.join(zi, "zone1970.tab"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            p = line.rstrip("\n").split("\t")
            z1970[p[2]] = p[0].split(",")
            tz.setdefault(p[2], i2_to_i3[p[0].split(",")[0]])
    n_links = 0
    zi_path = os.path.join(zi, "tzdata.zi")
    if os.path.exists(zi_path):
        with open(zi_path, encoding="utf-8") as f:
            for line in f:
                p = line.split()
                if len(p) == 3 and p[0] == "L" and p[2] not in tz and p[1] in tz and not p[2].startswith("Etc/"):
                    if p[2] in LINK_COUNTRY:
                        tz[p[2]] = i2_to_i3[LINK_COUNTRY[p[2]]]
                    else:
                        tz[p[2]] = i2_to_i3[z1970[p[1]][0]] if p[1] in z1970 else tz[p[1]]
                    n_links += 1
    for n in UTC_NAMES:
        tz[n] = ""
    version = ""
    if os.path.exists(zi_path):
        with open(zi_path, encoding="utf-8") as f:
            m = re.match(r"#\s*version\s+(\S+)", f.readline())
            version = m.group(1) if m else ""
    rows = [{"timezone": k, "iso3": v} for k, v in sorted(tz.items())]
    return rows, n_zone_tab, n_links, version


# ----------------------------------------------------------------------------- licenses

LICENSE_COPIES = [
    ("greenweb_co2js/LICENSE.txt", "co2js-Apache-2.0-and-data-licences.txt"),
    ("greenweb_co2js/NOTICE.txt", "co2js-NOTICE.txt"),
    ("google_region_carbon/LICENSE.txt", "google-region-carbon-Apache-2.0.txt"),
    ("cloud_carbon_footprint/LICENSE-ccf-coefficients.txt", "cloud-carbon-footprint-Apache-2.0.txt"),
    ("mlco2_impact/LICENSE.txt", "mlco2-impact-MIT.txt"),
    ("wue/LICENSE-opencast-MIT.txt", "opencast-water-cloud-MIT.txt"),
]


# ----------------------------------------------------------------------------- main

def main(argv):
    args = list(argv[1:])
    out = os.path.join(REPO, "data")
    zi = "/usr/share/zoneinfo"
    S = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
    while args:
        a = args.pop(0)
        if a == "--out":
            out = args.pop(0)
        elif a == "--zoneinfo":
            zi = args.pop(0)
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            S = a
    need(os.path.isdir(S), "shared data dir not found: " + S)
    os.makedirs(out, exist_ok=True)

    G = os.path.join(S, "greenweb_co2js")
    ember = read_json(os.path.join(G, "average-intensities.json"))
    owid = read_json(os.path.join(S, "codecarbon", "data", "private_infra", "global_energy_mix.json"))
    marg = read_json(os.path.join(G, "marginal-intensities-2021.json"))
    per_src = read_json(os.path.join(S, "codecarbon", "data", "private_infra", "carbon_intensity_per_source.json"))

    countries, i2_to_i3, names = build_countries(S, zi, ember, owid, marg)
    counts = {}
    counts["countries.csv"] = write_csv(os.path.join(out, "countries.csv"), ["iso2", "iso3", "name"], countries)

    ic = build_intensity_countries(ember, owid, per_src["world_average"], names)
    counts["intensity_countries.csv"] = write_csv(os.path.join(out, "intensity_countries.csv"),
                                                  ["iso3", "name", "g_per_kwh", "year", "kind", "basis", "source"], ic)

    im, mism = build_intensity_marginal(marg, parse_ifi(os.path.join(G, "IFI_Default_Grid_Factors_2021_v3.1_unfccc.csv")), names)
    counts["intensity_marginal.csv"] = write_csv(os.path.join(out, "intensity_marginal.csv"),
                                                 ["iso3", "name", "g_per_kwh", "year", "kind", "basis", "source"], im)

    zones, n_em, skipped = build_zones(S, i2_to_i3)
    counts["intensity_zones.csv"] = write_csv(os.path.join(out, "intensity_zones.csv"),
                                              ["zone", "name", "iso3", "g_per_kwh", "year", "kind", "basis", "source"], zones)

    em_all = set()
    for f in os.listdir(G):
        if re.match(r"electricitymaps_yearly_\d{4}\.json$", f):
            em_all |= set(read_json(os.path.join(G, f)))
    cloud, iso_mismatch = build_cloud(S, i2_to_i3, em_all)
    counts["cloud_regions.csv"] = write_csv(os.path.join(out, "cloud_regions.csv"),
                                            ["provider", "region", "location", "iso3", "zone", "g_per_kwh", "year", "kind",
                                             "source", "pue", "pue_source", "wue_l_per_kwh", "wue_source"], cloud)

    eqs = build_equivalents(S)
    counts["equivalents.csv"] = write_csv(os.path.join(out, "equivalents.csv"),
                                          ["item", "unit", "g_co2e_per_unit", "vintage", "source", "notes"], eqs)

    emb = build_embodied(S)
    counts["embodied.csv"] = write_csv(os.path.join(out, "embodied.csv"),
                                       ["item", "kg_co2e", "lifetime_hours", "source", "notes"], emb)

    tzs, n_zone_tab, n_links, tzver = build_timezones(zi, i2_to_i3)
    counts["timezones.csv"] = write_csv(os.path.join(out, "timezones.csv"), ["timezone", "iso3"], tzs)

    lic = os.path.join(out, "LICENSES")
    os.makedirs(lic, exist_ok=True)
    for src, dst in LICENSE_COPIES:
        shutil.copyfile(os.path.join(S, src), os.path.join(lic, dst))

    # ------------------------------------------------------------------ sanity report
    print("shared data: %s\noutput:      %s" % (S, out))
    for k, v in counts.items():
        print("  %-24s %5d rows" % (k, v))
    by = {r["iso3"]: r for r in ic}
    print("country intensities (g/kWh):")
    for c in ("FRA", "DEU", "USA", "IND", "CHN", "WORLD"):
        r = by[c]
        print("  %-5s %8s  %s %s %s" % (c, r["g_per_kwh"], r["year"], r["kind"], r["source"]))
    srcs = {}
    for r in ic:
        srcs[r["source"]] = srcs.get(r["source"], 0) + 1
    print("  sources:", ", ".join("%s=%d" % kv for kv in sorted(srcs.items())))
    mb = {r["iso3"]: r for r in im}
    print("marginal (g/kWh): " + ", ".join("%s %s" % (c, mb[c]["g_per_kwh"]) for c in ("FRA", "DEU", "USA", "IND", "CHN")))
    print("  IFI CSV disagreements with co2.js JSON: %d" % mism)
    zb = {r["zone"]: r for r in zones}
    print("zones: %d from Electricity Maps, %d US states from CodeCarbon; skipped (EM zone exists): %s"
          % (n_em, len(zones) - n_em, " ".join(skipped)))
    for z in ("US-CAL-CISO", "SE-SE3", "CA-QC", "US-CA"):
        r = zb[z]
        print("  %-12s %6s  %s %s %s" % (z, r["g_per_kwh"], r["year"], r["kind"], r["source"]))
    cb = {(r["provider"], r["region"]): r for r in cloud}
    print("cloud regions: " + ", ".join("%s=%d" % (p, sum(1 for r in cloud if r["provider"] == p))
                                         for p in sorted({r["provider"] for r in cloud}))
          + "; without grid figure: %d" % sum(1 for r in cloud if not r["g_per_kwh"]))
    for k in (("gcp", "us-central1"), ("aws", "us-east-1"), ("azure", "westeurope")):
        print("  " + ",".join(str(cb[k][h]) for h in ("provider", "region", "location", "iso3", "zone", "g_per_kwh",
                                                      "year", "kind", "source", "pue", "pue_source",
                                                      "wue_l_per_kwh", "wue_source")))
    if iso_mismatch:
        print("  iso3 differs from Boavizta cloud_regions.csv:", iso_mismatch)
    print("embodied:", ", ".join("%s=%s kg" % (r["item"], r["kg_co2e"]) for r in emb))
    print("equivalents:", ", ".join("%s=%s g" % (r["item"], r["g_co2e_per_unit"]) for r in eqs))
    tb = {r["timezone"]: r["iso3"] for r in tzs}
    print("timezones (tzdata %s): %d (zone.tab %d, links %d); Europe/Paris=%s America/New_York=%s Europe/Oslo=%s UTC=%r"
          % (tzver, len(tzs), n_zone_tab, n_links, tb["Europe/Paris"], tb["America/New_York"],
             tb.get("Europe/Oslo"), tb["UTC"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
