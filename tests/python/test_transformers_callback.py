"""The Hugging Face Trainer callback, with a real (tiny, offline) Trainer when transformers is there."""

import pytest

transformers = pytest.importorskip(
    "transformers", reason="transformers is not installed for this interpreter (Debian does not package it)"
)
torch = pytest.importorskip("torch", reason="torch is not installed for this interpreter")

from carbonmeter.hub import read_co2_eq_emissions  # noqa: E402
from carbonmeter.integrations.transformers import CarbonmeterCallback  # noqa: E402


class Regression(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def forward(self, x, labels=None):
        out = self.layer(x).squeeze(-1)
        loss = torch.nn.functional.mse_loss(out, labels) if labels is not None else None
        return {"loss": loss, "logits": out}


class Data(torch.utils.data.Dataset):
    def __init__(self, n=256):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 8, generator=g)
        self.y = self.x.sum(dim=1)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "labels": self.y[i]}


def test_a_tiny_trainer_run_is_measured_logged_and_written(tmp_path, capsys):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=2,
        per_device_train_batch_size=16,
        logging_steps=4,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
    )
    callback = CarbonmeterCallback(carbon_intensity=400, interval_s=0.1)
    trainer = transformers.Trainer(model=Regression(), args=args, train_dataset=Data(), callbacks=[callback])
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "energy_kwh" in entry]
    assert logged, trainer.state.log_history
    assert all(entry["energy_kwh"] >= 0 and "emissions_g" in entry and "power_w" in entry for entry in logged)
    assert len(callback.epochs) == 2
    assert callback.result is not None and callback.result.energy_kwh > 0
    assert "predicted" in capsys.readouterr().err
    card = read_co2_eq_emissions(tmp_path / "README.md")
    assert card["emissions_g"] == pytest.approx(callback.result.emissions_g)
    assert card["training_type"] == "fine-tuning"
    assert (tmp_path / "emissions.csv").read_text().count("\n") == 2  # header and the run
