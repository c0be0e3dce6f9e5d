"""carbonmeter.Tracker: runs, windows, the decorator, exceptions, two trackers, bad arguments,
prediction and emissions.csv. Exact figures come from a fake RAPL tree (conftest.fake_rapl)."""

import csv
import json
import threading
import time

import pytest

import carbonmeter

pytestmark = pytest.mark.usefixtures("no_location_settings")

J_PER_KWH = 3.6e6


def busy(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


# -- exact figures on a fake machine -------------------------------------------------------


def test_windows_nest_and_overlap_with_exact_energy_and_emissions(fake_rapl):
    tracker = carbonmeter.Tracker(scope="machine", interval_s=3600, carbon_intensity=100, pue=1.5)
    tracker.start()
    tracker.begin_window("epoch")
    fake_rapl.add_j(fake_rapl.PACKAGE, 10)
    with tracker.window("step") as step:  # nested in epoch
        fake_rapl.add_j(fake_rapl.PACKAGE, 5)
        fake_rapl.add_j(fake_rapl.DRAM, 2)
        tracker.begin_window("eval")  # overlaps step's end
    fake_rapl.add_j(fake_rapl.PACKAGE, 7)
    evaluation = tracker.end_window("eval")
    epoch = tracker.end_window("epoch")
    run = tracker.stop()

    assert step.result.name == "step"
    assert step.result.energy_j == pytest.approx({"cpu": 5.0, "ram": 2.0, "gpu": 0.0, "total": 7.0})
    assert evaluation.energy_j["cpu"] == pytest.approx(7.0)
    assert epoch.energy_j["total"] == pytest.approx(24.0)
    assert epoch.energy_kwh == pytest.approx(24.0 / J_PER_KWH)
    assert epoch.methods == {"cpu": "rapl-powercap", "ram": "rapl-powercap", "gpu": "none"}
    assert epoch.emissions_g == pytest.approx(24.0 / J_PER_KWH * 1.5 * 100)
    assert epoch.uncertainty_j > 0
    assert epoch.duration_s >= step.result.duration_s >= 0
    assert set(epoch.power_w) == {"cpu", "ram", "gpu", "total"}
    as_dict = epoch.to_dict()
    assert as_dict["energy_j"]["total"] == pytest.approx(24.0)
    assert as_dict["emissions_g"] == pytest.approx(epoch.emissions_g)
    json.dumps(as_dict)  # plain values only

    assert run.energy_j["total"] == pytest.approx(24.0)
    assert run.energy_kwh == pytest.approx(24.0 / J_PER_KWH)
    assert run.emissions_g == pytest.approx(24.0 / J_PER_KWH * 1.5 * 100)
    low, high = run.emissions_range_g
    assert low <= run.emissions_g <= high
    assert run.intensity_g_per_kwh == pytest.approx(100)
    assert run.methods["cpu"] == "rapl-powercap"
    assert run.uncertainty["total"]["energy_j"] > 0
    assert run.report["pue"] == 1.5
    assert run.report["scope"] == "machine"
    assert run.to_dict() is run.report


def test_duplicate_cancelled_and_unknown_window_names(fake_rapl):
    with carbonmeter.Tracker(scope="machine", interval_s=3600, carbon_intensity=100) as tracker:
        tracker.begin_window("a")
        with pytest.raises(ValueError, match="already open"):
            tracker.begin_window("a")
        with pytest.raises(ValueError, match="already open"):
            with tracker.window("a"):
                pass
        tracker.cancel_window("a")
        with pytest.raises(ValueError, match="no window"):
            tracker.end_window("a")
        with pytest.raises(ValueError, match="no window"):
            tracker.cancel_window("never")
        tracker.begin_window("a")  # free again once cancelled
        assert tracker.end_window("a").name == "a"


def test_windows_need_a_running_tracker(fake_rapl):
    tracker = carbonmeter.Tracker(scope="machine", carbon_intensity=100)
    with pytest.raises(RuntimeError, match="not running"):
        tracker.begin_window("early")
    with pytest.raises(RuntimeError):
        tracker.stop()
    with pytest.raises(RuntimeError):
        tracker.current()
    tracker.start()
    with pytest.raises(RuntimeError, match="already running"):
        tracker.start()
    tracker.stop()
    assert not tracker.running


def test_emissions_csv_and_journal_in_output_dir(fake_rapl, tmp_path):
    out = tmp_path / "runs"
    for joules in (3.6, 7.2):
        tracker = carbonmeter.Tracker("csv-project", scope="machine", interval_s=3600, carbon_intensity=500,
                                      output_dir=out)
        tracker.start()
        assert tracker.journal_path and tracker.journal_path.startswith(str(out))
        fake_rapl.add_j(fake_rapl.PACKAGE, joules)
        result = tracker.stop()
        assert result.warnings == []
    with open(out / "emissions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    for row, joules in zip(rows, (3.6, 7.2)):
        assert row["project_name"] == "csv-project"
        assert float(row["energy_consumed"]) == pytest.approx(joules / J_PER_KWH)
        assert float(row["emissions"]) == pytest.approx(joules / J_PER_KWH * 500 / 1000)  # kg
        assert float(row["cpu_energy"]) == pytest.approx(joules / J_PER_KWH)
    assert rows[0]["run_id"] != rows[1]["run_id"]
    # The last report matches the row.
    assert result.report["run_id"] == rows[1]["run_id"]


def test_no_output_dir_writes_nothing(fake_rapl, no_location_settings):
    with carbonmeter.Tracker(scope="machine", carbon_intensity=100) as tracker:
        fake_rapl.add_j(fake_rapl.PACKAGE, 1)
    assert tracker.journal_path is None
    assert list(no_location_settings.iterdir()) == []


def test_write_json_is_the_report(fake_rapl, tmp_path):
    with carbonmeter.Tracker(scope="machine", country="FRA") as tracker:
        fake_rapl.add_j(fake_rapl.PACKAGE, 2)
    path = tmp_path / "run.json"
    tracker.result.write_json(path)
    written = json.loads(path.read_text())
    assert written == tracker.result.report
    for key in ("schema_version", "run_id", "energy_j", "samples", "emissions_g", "intensity", "location",
                "equivalents"):
        assert key in written
    assert written["location"]["country_iso3"] == "FRA"
    assert tracker.result.location["country_name"] == "France"


def test_predict_scales_the_figures_so_far(fake_rapl):
    with carbonmeter.Tracker(scope="machine", interval_s=3600, carbon_intensity=200) as tracker:
        fake_rapl.add_j(fake_rapl.PACKAGE, 36)
        prediction = tracker.predict(10, 2)
        assert prediction.energy_kwh == pytest.approx(36 * 5 / J_PER_KWH)
        assert prediction.emissions_g == pytest.approx(36 * 5 / J_PER_KWH * 200)
        assert prediction.duration_s > 0
        assert (prediction.steps_done, prediction.total_steps) == (2, 10)
        assert prediction.to_dict()["total_steps"] == 10
        assert tracker.predict(4, 4).energy_kwh == pytest.approx(36 / J_PER_KWH)
        for total, done in ((10, 0), (10, -1), (10, 11), (10.0, 2), (10, True), (None, 1)):
            with pytest.raises(ValueError):
                tracker.predict(total, done)


def test_an_intensity_series_that_does_not_cover_a_window_gives_no_emissions(fake_rapl, tmp_path):
    series = tmp_path / "old.csv"
    series.write_text("timestamp,carbon_intensity\n1600000000,100\n1600003600,200\n")
    with pytest.warns(RuntimeWarning, match="does not cover"):
        with carbonmeter.Tracker(scope="machine", intensity_series=series) as tracker:
            with tracker.window("w") as window:
                fake_rapl.add_j(fake_rapl.PACKAGE, 1)
    assert window.result.emissions_g is None
    assert tracker.result.report["emissions_complete"] is False
    assert tracker.result.warnings
    # With a fallback the figure is known.
    with carbonmeter.Tracker(scope="machine", intensity_series=series, carbon_intensity=50) as tracker:
        with tracker.window("w") as window:
            fake_rapl.add_j(fake_rapl.PACKAGE, 3.6)
    assert window.result.emissions_g == pytest.approx(3.6 / J_PER_KWH * 50)


# -- exceptions, decorator, concurrency on this machine's own sensors -------------------------


def test_an_exception_in_the_block_is_recorded_and_propagates(tmp_path):
    tracker = carbonmeter.Tracker("failing", output_dir=tmp_path, interval_s=0.05)
    with pytest.raises(ZeroDivisionError):
        with tracker:
            with tracker.window("doomed") as window:
                busy(0.1)
                1 / 0
    assert not tracker.running
    assert tracker.result is not None
    assert tracker.result.duration_s >= 0.1
    assert tracker.result.energy_j["total"] > 0
    assert window.result is not None and window.result.duration_s >= 0.1
    assert (tmp_path / "emissions.csv").read_text().count("failing") == 1


def test_track_decorator_bare_and_with_arguments(tmp_path):
    @carbonmeter.track
    def square(x):
        busy(0.05)
        return x * x

    assert square.last_result is None
    assert square(7) == 49
    assert square.__name__ == "square"
    first = square.last_result
    assert isinstance(first, carbonmeter.RunResult) and first.duration_s >= 0.05
    square(2)
    assert square.last_result.report["run_id"] != first.report["run_id"]

    @carbonmeter.track(project_name="decorated", country="SWE", output_dir=tmp_path, interval_s=0.1)
    def fails():
        busy(0.02)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert fails.last_result.report["project_name"] == "decorated"
    assert fails.last_result.location["country_iso3"] == "SWE"
    assert (tmp_path / "emissions.csv").exists()

    with pytest.raises(ValueError):
        carbonmeter.track(scope="galaxy")
    with pytest.raises(ValueError):
        carbonmeter.track(42)


def test_two_trackers_at_once_and_from_threads():
    outer = carbonmeter.Tracker("outer", interval_s=0.05, country="FRA").start()
    inner = carbonmeter.Tracker("inner", interval_s=0.05, scope="machine", country="DEU").start()
    outer.begin_window("both")
    inner.begin_window("both")  # the same name in two trackers is fine
    busy(0.1)
    inner_window = inner.end_window("both")
    inner_result = inner.stop()
    busy(0.05)
    outer_window = outer.end_window("both")
    outer_result = outer.stop()
    assert outer_result.report["run_id"] != inner_result.report["run_id"]
    assert outer_result.duration_s > inner_result.duration_s
    assert outer_window.duration_s > inner_window.duration_s
    assert inner_result.location["country_iso3"] == "DEU" and outer_result.location["country_iso3"] == "FRA"

    errors = []
    results = []

    def worker(name):
        try:
            with carbonmeter.Tracker(name, interval_s=0.02) as tracker:
                for i in range(20):
                    with tracker.window(f"w{i}"):
                        busy(0.002)
            results.append(tracker.result)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(f"thread-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.report["run_id"] for r in results}) == 3


def test_windows_from_several_threads_share_one_tracker():
    with carbonmeter.Tracker(interval_s=0.05) as tracker:
        measured = []

        def worker(i):
            for j in range(10):
                with tracker.window(f"thread-{i}-{j}") as window:
                    busy(0.001)
                measured.append(window.result)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(measured) == 40
    assert all(m.duration_s > 0 for m in measured)


def test_sync_callable_runs_at_both_ends_of_every_window():
    calls = []
    with carbonmeter.Tracker(sync=lambda: calls.append(time.perf_counter())) as tracker:
        with tracker.window("a"):
            with tracker.window("b"):
                pass
    assert len(calls) == 4

    def failing_sync():
        raise OSError("device lost")

    with carbonmeter.Tracker(sync=failing_sync) as tracker:
        with pytest.raises(OSError, match="device lost"):
            tracker.begin_window("x")


def test_sync_torch_without_torch_imported_is_a_no_op():
    import sys

    with carbonmeter.Tracker(sync="torch") as tracker:
        with tracker.window("w") as window:
            pass
    assert window.result is not None
    if "torch" not in sys.modules:
        assert "torch" not in sys.modules  # the tracker did not import it


def test_current_running_and_notes():
    tracker = carbonmeter.Tracker(interval_s=0.05)
    assert not tracker.running
    tracker.start()
    assert tracker.running
    busy(0.05)
    now = tracker.current()
    assert now.name == "current" and now.duration_s >= 0.05
    assert isinstance(tracker.notes, list)
    tracker.stop()
    assert not tracker.running
    # No location given: the guess says so.
    assert any("GUESS" in note or "unknown" in note for note in tracker.notes)


# -- bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scope": "cluster"}, "scope='cluster'"),
        ({"scope": None}, "scope"),
        ({"interval_s": 0.001}, "interval_s=0.001 is out of range"),
        ({"interval_s": 7200}, "out of range"),
        ({"interval_s": float("nan")}, "out of range"),
        ({"interval_s": "fast"}, "interval_s='fast'"),
        ({"country": "ZZZ"}, "country 'ZZZ' is not a known country"),
        ({"country": ""}, "country='' is empty"),
        ({"country": 250}, "country=250"),
        ({"zone": "nowhere"}, "zone 'nowhere' is not a known grid zone"),
        ({"cloud": "gcp"}, "PROVIDER:REGION"),
        ({"cloud": "gcp:atlantis-1"}, "not a known cloud region"),
        ({"carbon_intensity": -1}, "carbon_intensity=-1"),
        ({"pue": 0.5}, "pue=0.5"),
        ({"wue": 1000}, "wue=1000"),
        ({"intensity_series": "/nonexistent/grid.csv"}, "grid.csv"),
        ({"marginal": True}, "marginal needs a place"),
        ({"sync": "jax"}, "sync='jax'"),
        ({"sync": 5}, "sync=5"),
        ({"gpu_ids": object()}, "gpu_ids"),
        ({"project_name": ""}, "project_name"),
        ({"output_dir": ""}, "output_dir"),
        ({"output_dir": 3}, "output_dir=3"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        carbonmeter.Tracker(**kwargs)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        carbonmeter.Tracker(contry="FRA")


def test_environment_and_config_file_are_read_like_the_command_line(monkeypatch, no_location_settings):
    (no_location_settings / "carbonmeter.toml").write_text('country = "SWE"\npue = 1.2\n')
    with carbonmeter.Tracker() as tracker:
        pass
    assert tracker.result.location["country_iso3"] == "SWE"
    assert tracker.result.report["pue"] == 1.2
    monkeypatch.setenv("CARBONMETER_COUNTRY", "DEU")
    with carbonmeter.Tracker() as tracker:
        pass
    assert tracker.result.location["country_iso3"] == "DEU"  # variables before the file
    with carbonmeter.Tracker(country="FRA") as tracker:
        pass
    assert tracker.result.location["country_iso3"] == "FRA"  # keywords before variables
    assert tracker.result.report["intensity"]["how"] == "country FRA"
    monkeypatch.setenv("CARBONMETER_PUE", "9")
    with pytest.raises(ValueError, match="CARBONMETER_PUE"):
        carbonmeter.Tracker(country="FRA")
