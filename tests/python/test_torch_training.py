"""The tracker around a real PyTorch training loop on the CPU (python3-torch from Debian)."""

import sys
import time

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed for this interpreter (apt install python3-torch)")

import carbonmeter  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_location_settings")


def make_data(n=4096, features=64):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=generator)
    true_weights = torch.randn(features, 1, generator=generator)
    y = x @ true_weights + 0.01 * torch.randn(n, 1, generator=generator)
    return x, y


def test_a_linear_regression_trained_for_about_a_second_is_measured_per_epoch(tmp_path):
    torch.manual_seed(0)
    x, y = make_data()
    model = torch.nn.Linear(x.shape[1], 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    epochs, batch = 4, 64
    windows = []
    with torch.no_grad():
        initial_loss = torch.nn.functional.mse_loss(model(x), y).item()

    with carbonmeter.Tracker("linear-regression", country="FRA", output_dir=tmp_path, interval_s=0.1,
                             sync="torch") as tracker:
        started = time.perf_counter()
        for epoch in range(epochs):
            with tracker.window(f"epoch-{epoch + 1}") as window:
                deadline = time.perf_counter() + 0.25  # about a second in all
                while time.perf_counter() < deadline:
                    for i in range(0, len(x), batch):
                        optimiser.zero_grad()
                        loss = torch.nn.functional.mse_loss(model(x[i : i + batch]), y[i : i + batch])
                        loss.backward()
                        optimiser.step()
            windows.append(window.result)
            if epoch == 0:
                prediction = tracker.predict(epochs, 1)
        elapsed = time.perf_counter() - started

    result = tracker.result
    with torch.no_grad():
        final_loss = torch.nn.functional.mse_loss(model(x), y).item()
    assert final_loss < initial_loss * 0.1  # it did learn (on the whole data set, not one noisy batch)
    assert elapsed >= 1.0
    assert [w.name for w in windows] == [f"epoch-{i}" for i in range(1, epochs + 1)]
    for window in windows:
        assert window.duration_s == pytest.approx(0.25, abs=0.2)
        assert window.energy_j["cpu"] > 0
        assert window.power_w["total"] > 0
        assert window.emissions_g > 0
        assert window.methods["cpu"] != "none"
    assert result.duration_s >= elapsed * 0.9
    # Windows read the counters at their ends and, in process scope, give the energy not yet
    # attributed the tree's share of the last tree read (at most one interval old): their sum can
    # exceed the run's total by a little when that share moves (docs/methodology.md).
    assert result.energy_j["total"] >= sum(w.energy_j["total"] for w in windows) * 0.97
    assert result.emissions_g > 0
    assert result.report["sample_count"] >= 5
    # The prediction after the first epoch lands near the whole run (±50 %: a shared machine).
    assert prediction.duration_s == pytest.approx(result.duration_s, rel=0.5)
    assert prediction.energy_kwh == pytest.approx(result.energy_kwh, rel=0.5)
    assert (tmp_path / "emissions.csv").read_text().count("linear-regression") == 1


def test_sync_torch_is_harmless_on_a_cpu_only_torch():
    assert "torch" in sys.modules
    with carbonmeter.Tracker(sync="torch") as tracker:
        with tracker.window("w") as window:
            torch.ones(100).sum()
    assert window.result.duration_s >= 0
