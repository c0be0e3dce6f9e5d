"""carbonmeter.estimate / intensity / plan mirror `carbonmeter estimate|intensity|plan --json`, and
carbonmeter.update_model_card writes the card's co2_eq_emissions."""

import datetime
import json
import os
import re
import subprocess

import pytest

import carbonmeter

pytestmark = pytest.mark.usefixtures("no_location_settings")

CLI = os.environ.get("CARBONMETER_CLI", "")
needs_cli = pytest.mark.skipif(
    not (CLI and os.path.isfile(CLI)), reason="CARBONMETER_CLI is not set to the built carbonmeter (ctest sets it)"
)

T0 = 1767225600  # 2026-01-01T00:00:00Z


def cli_json(*args):
    out = subprocess.run([CLI, *args, "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def hourly_series(path, values, first=T0):
    rows = ["timestamp,carbon_intensity"] + [f"{first + 3600 * i},{v}" for i, v in enumerate(values)]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


LOCATION_FLAGS = ("carbon-intensity", "intensity-series", "country", "zone", "cloud", "pue", "wue", "marginal")


def keyword_names(value):
    """The command's JSON with its flags' names (--country) written as Python's keywords (country):
    where the origin of a setting shows ("how", notes), each names what its caller wrote."""
    if isinstance(value, dict):
        return {key: keyword_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keyword_names(item) for item in value]
    if isinstance(value, str):
        for flag in LOCATION_FLAGS:
            value = re.sub(rf"--{flag}\b(?!-)", flag.replace("-", "_"), value)
    return value


# -- estimate -------------------------------------------------------------------------------


def test_estimate_worked_example_titan_v():
    # 250 W × 48 h = 12 kWh; × 560 g/kWh = 6.72 kg (the ML CO2 Impact calculator's example).
    out = carbonmeter.estimate(hardware="Titan V", hours=48, carbon_intensity=560)
    assert out["power_w"] == pytest.approx(250)
    assert out["it_energy_kwh"] == pytest.approx(12)
    assert out["emissions_kg"] == pytest.approx(6.72)
    low, high = out["emissions_range_kg"]
    assert low < 6.72 < high
    assert out["method"] == "estimate"
    assert "formula" in out and out["parts"][0]["component"] == "accelerator"
    assert carbonmeter.estimate(hardware="Titan V", duration="2d", carbon_intensity=560)["emissions_kg"] == (
        pytest.approx(6.72)
    )
    assert carbonmeter.estimate(hardware="Titan V", duration=datetime.timedelta(hours=48), carbon_intensity=560)[
        "emissions_kg"
    ] == pytest.approx(6.72)


@needs_cli
@pytest.mark.parametrize(
    "kwargs, flags",
    [
        ({"hardware": "Titan V", "hours": 48, "carbon_intensity": 560},
         ["--hardware", "Titan V", "--hours", "48", "--carbon-intensity", "560"]),
        ({"hardware": "h100", "count": 8, "duration": "3d4h", "cloud": "gcp:us-central1"},
         ["--hardware", "h100", "--count", "8", "--duration", "3d4h", "--cloud", "gcp:us-central1"]),
        ({"cpu": "Xeon Gold 6248", "cores": 10, "cpu_utilization": 0.5, "memory_gb": 64, "hours": 3,
          "country": "FRA", "pue": 1.4},
         ["--cpu", "Xeon Gold 6248", "--cores", "10", "--cpu-utilization", "0.5", "--memory-gb", "64", "--hours",
          "3", "--country", "FRA", "--pue", "1.4"]),
        ({"energy_kwh": 12.5, "zone": "SE3"}, ["--energy-kwh", "12.5", "--zone", "SE3"]),
    ],
)
def test_estimate_mirrors_the_command_line(kwargs, flags):
    assert carbonmeter.estimate(**kwargs) == keyword_names(cli_json("estimate", *flags))


def test_estimate_with_an_intensity_series(tmp_path):
    series = hourly_series(tmp_path / "grid.csv", [100, 300, 500, 500])
    out = carbonmeter.estimate(power_w=1000, hours=2, intensity_series=series,
                               start=datetime.datetime.fromtimestamp(T0, datetime.timezone.utc))
    assert out["intensity_g_per_kwh"] == pytest.approx(200)
    assert out["emissions_kg"] == pytest.approx(0.4)
    assert carbonmeter.estimate(power_w=1000, hours=2, intensity_series=series, start="2026-01-01T00:00:00Z") == out
    assert carbonmeter.estimate(power_w=1000, hours=2, intensity_series=series, start=T0) == out


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hardware": "Titan V", "hours": 48, "duration": "2d", "carbon_intensity": 560}, "not both"),
        ({"hardware": "Titan V", "carbon_intensity": 560}, "hours"),
        ({"hardware": "no such accelerator 9000", "hours": 1, "carbon_intensity": 1}, "hardware 'no such"),
        ({"hardware": "Titan V", "hours": 1, "count": 0, "carbon_intensity": 1}, "count 0"),
        ({"hardware": "Titan V", "hours": 1, "gpu_utilization": 1.5, "carbon_intensity": 1}, "gpu_utilization 1.5"),
        ({"hardware": "Titan V", "hours": -1, "carbon_intensity": 1}, "hours -1"),
        ({"hardware": "Titan V", "duration": "48", "carbon_intensity": 1}, "duration"),
        ({"hardware": "Titan V", "duration": 48, "carbon_intensity": 1}, "duration=48"),
        ({"hardware": "Titan V", "hours": 1, "start": "yesterday", "carbon_intensity": 1}, "start goes with"),
        ({"hardware": "Titan V", "hours": 1, "country": "Atlantis"}, "country 'Atlantis'"),
        ({"hardware": "Titan V", "hours": "48", "carbon_intensity": 1}, "hours='48'"),
    ],
)
def test_estimate_errors_are_value_errors_in_python_names(kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        carbonmeter.estimate(**kwargs)
    # The keywords' names, not the flags' (a command to run, `carbonmeter intensity --list
    # countries`, may still be named).
    assert not re.search(r"--(hardware|count|power-w|gpu-utilization|hours|duration|start|country)\b",
                         str(error.value))


# -- intensity ------------------------------------------------------------------------------


def test_intensity_of_a_country_a_zone_a_cloud_region_and_a_given_figure():
    france = carbonmeter.intensity(country="FR")
    assert france["country_iso3"] == "FRA" and france["g_per_kwh"] > 0 and not france["guessed"]
    assert france["how"] == "country FRA"
    assert carbonmeter.intensity(zone="SE3")["region"] == "SE-SE3"
    gcp = carbonmeter.intensity(cloud="gcp:us-central1")
    assert gcp["cloud_provider"] == "gcp" and gcp["pue"] > 1
    assert carbonmeter.intensity(carbon_intensity=123)["g_per_kwh"] == 123
    assert carbonmeter.intensity()["guessed"] is True


def test_intensity_of_a_series_at_a_time(tmp_path):
    series = hourly_series(tmp_path / "grid.csv", [100, 300, 500])
    out = carbonmeter.intensity(intensity_series=series, at=T0 + 3600 + 60)
    assert out["g_per_kwh"] == 300
    assert out["at"] == "2026-01-01T01:01:00.000Z"
    assert carbonmeter.intensity(intensity_series=series, at=T0 + 10 * 3600)["g_per_kwh"] is None


@needs_cli
@pytest.mark.parametrize(
    "kwargs, flags",
    [
        ({"country": "FRA"}, ["--country", "FRA"]),
        ({"zone": "US-CAL-CISO"}, ["--zone", "US-CAL-CISO"]),
        ({"cloud": "aws:us-east-1", "wue": 0.5}, ["--cloud", "aws:us-east-1", "--wue", "0.5"]),
        ({"country": "DEU", "marginal": True}, ["--country", "DEU", "--marginal"]),
        ({}, []),
    ],
)
def test_intensity_mirrors_the_command_line(kwargs, flags):
    assert carbonmeter.intensity(**kwargs) == keyword_names(cli_json("intensity", *flags))


@needs_cli
def test_intensity_of_a_series_mirrors_the_command_line(tmp_path):
    series = hourly_series(tmp_path / "grid.csv", [100, 300, 500])
    expected = cli_json("intensity", "--intensity-series", series, "--at", "2026-01-01T01:30:00Z")
    assert carbonmeter.intensity(intensity_series=series, at="2026-01-01T01:30:00Z") == keyword_names(expected)


# -- plan -----------------------------------------------------------------------------------


def test_plan_finds_the_clean_hours(tmp_path):
    series = hourly_series(tmp_path / "grid.csv", [500, 500, 400, 100, 100, 300, 500, 500, 500, 500])
    out = carbonmeter.plan(series, "2h", window="6h", not_before="2026-01-01T00:00:00Z", power_w=500)
    assert out["start"] == "2026-01-01T03:00:00.000Z"
    assert out["end"] == "2026-01-01T05:00:00.000Z"
    assert out["savings_pct"] == pytest.approx(80)
    assert out["expected_emissions_g"] == pytest.approx(0.5 * 2 * 100)
    paused = carbonmeter.plan(series, datetime.timedelta(hours=3), strategy="pause-resume", window="4h",
                              not_before=T0, power_w=500)
    assert paused["strategy"] == "pause-resume"
    assert sum(1 for _ in paused["intervals"]) >= 1


@needs_cli
@pytest.mark.parametrize(
    "kwargs, flags",
    [
        ({"duration": "2h", "window": "6h"}, ["--strategy", "flexible-start", "--duration", "2h", "--window", "6h"]),
        ({"duration": "3h", "strategy": "pause-resume", "window": "5h", "min_run": "1h", "pause_cost_g": 5,
          "power_w": 300},
         ["--strategy", "pause-resume", "--duration", "3h", "--max-delay", "5h", "--min-run", "1h",
          "--pause-cost-g", "5", "--power-w", "300"]),
        # Past the series' end: a forecast from its history.
        ({"duration": "4h", "window": "3d"}, ["--strategy", "flexible-start", "--duration", "4h", "--window", "3d"]),
    ],
)
def test_plan_mirrors_the_command_line(tmp_path, kwargs, flags):
    values = [(400 + 300 * ((h % 24) in range(10, 16)) - 250 * ((h % 24) in range(1, 5))) for h in range(24 * 3)]
    series = hourly_series(tmp_path / "grid.csv", values)
    expected = cli_json("plan", "--intensity-series", series, "--not-before", str(T0 + 3600), *flags)
    assert carbonmeter.plan(series, not_before=T0 + 3600, **kwargs) == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"duration": "2h", "strategy": "whenever"}, "strategy='whenever'"),
        ({"duration": "2 hours"}, "duration"),
        ({"duration": 7200}, "duration=7200"),
        ({"duration": "2h", "power_w": 0}, "power_w=0"),
        ({"duration": "2h", "pause_cost_g": -1}, "pause_cost_g=-1"),
        ({"duration": "2h", "not_before": "2025-01-01T00:00:00Z"}, "after not-before"),
        ({"duration": "2h", "not_before": datetime.datetime(2026, 1, 1)}, "no time zone"),
        ({"duration": "2h", "window": "soon"}, "window"),
    ],
)
def test_plan_errors_are_value_errors(tmp_path, kwargs, message):
    series = hourly_series(tmp_path / "grid.csv", [100] * 48)
    kwargs.setdefault("not_before", T0)
    with pytest.raises(ValueError, match=message):
        carbonmeter.plan(series, **kwargs)


def test_plan_of_a_missing_series_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="missing.csv"):
        carbonmeter.plan(tmp_path / "missing.csv", "1h")


# -- model card -----------------------------------------------------------------------------


def front_matter_block(text):
    lines = text.splitlines()
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return lines[1:end], lines[end + 1 :]


def test_update_model_card_creates_and_replaces_the_block(fake_rapl, tmp_path):
    with carbonmeter.Tracker(scope="machine", country="FRA") as tracker:
        fake_rapl.add_j(fake_rapl.PACKAGE, 20)  # more in a few ms would not be believed (a glitch)
    emissions_g = tracker.result.emissions_g
    assert emissions_g > 0

    card = tmp_path / "model" / "README.md"
    card.parent.mkdir()
    assert carbonmeter.update_model_card(card, tracker.result, training_type="fine-tuning") == str(card)
    yaml, body = front_matter_block(card.read_text())
    text = "\n".join(yaml)
    assert "co2_eq_emissions:" in text
    assert 'training_type: "fine-tuning"' in text
    assert 'geographical_location: "France"' in text
    assert 'source: "carbonmeter ' in text
    emitted = [line.split(":", 1)[1].strip() for line in yaml if line.strip().startswith("emissions:")]
    assert float(emitted[0]) == pytest.approx(emissions_g, rel=1e-6)

    # An existing card keeps everything else; the block is replaced, not added twice; a report
    # dict works as well as the result.
    card.write_text("---\nlicense: mit\ntags:\n- test\n---\n# My model\n\nIt is small.\n")
    os.chmod(card, 0o640)
    carbonmeter.update_model_card(str(card), tracker.result.report)
    carbonmeter.update_model_card(card, tracker.result)
    yaml, body = front_matter_block(card.read_text())
    assert "license: mit" in yaml and "- test" in yaml
    assert sum(1 for line in yaml if line.startswith("co2_eq_emissions")) == 1
    assert body == ["# My model", "", "It is small."]
    assert os.stat(card).st_mode & 0o777 == 0o640
    assert not [p for p in card.parent.iterdir() if ".tmp-" in p.name]


def test_update_model_card_refuses_what_is_not_a_whole_run(tmp_path):
    card = tmp_path / "README.md"
    with pytest.raises(ValueError, match="RunResult"):
        carbonmeter.update_model_card(card, 42)
    with pytest.raises(ValueError, match="not a carbonmeter run report"):
        carbonmeter.update_model_card(card, {"hello": 1})
    with pytest.raises(ValueError, match="no emissions_g"):
        carbonmeter.update_model_card(card, {"energy_j": {"total": 1}})
    with pytest.raises(ValueError, match="part of the run only"):
        carbonmeter.update_model_card(card, {"energy_j": {"total": 1}, "emissions_g": 1.0,
                                             "emissions_complete": False})
    assert not card.exists()


@needs_cli
def test_update_model_card_mirrors_report_model_card(fake_rapl, tmp_path):
    with carbonmeter.Tracker(scope="machine", zone="SE3") as tracker:
        fake_rapl.add_j(fake_rapl.PACKAGE, 5)
    run_json = tmp_path / "run.json"
    tracker.result.write_json(run_json)
    existing = "---\nlicense: apache-2.0\n---\n# Model\n"
    by_cli, by_python = tmp_path / "cli.md", tmp_path / "python.md"
    by_cli.write_text(existing)
    by_python.write_text(existing)
    subprocess.run([CLI, "report", str(run_json), "--model-card", str(by_cli), "--training-type", "pre-training"],
                   check=True, capture_output=True)
    carbonmeter.update_model_card(by_python, tracker.result, training_type="pre-training")
    assert by_python.read_bytes() == by_cli.read_bytes()
