"""A Hugging Face ``transformers`` Trainer callback that measures training with carbonmeter.

Usage::

    from carbonmeter.integrations.transformers import CarbonmeterCallback
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[CarbonmeterCallback(country="FRA")])
    trainer.train()   # logs gain energy_kwh, emissions_g and power_w; the card gets co2_eq_emissions

It starts a :class:`carbonmeter.Tracker` when training begins, measures each epoch in a window,
adds ``energy_kwh``, ``emissions_g`` and ``power_w`` to the Trainer's logs, prints the whole
run's predicted energy and emissions after the first epoch, stops when training ends, appends
the run to ``emissions.csv`` in the output dir and writes the ``co2_eq_emissions`` block into
the output dir's ``README.md`` (the model card the Trainer saves). Only the main process of
each machine measures (``state.is_local_process_zero``).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Optional

from transformers import TrainerCallback  # this module is the only one that imports transformers

import carbonmeter

__all__ = ["CarbonmeterCallback", "PowerLimitCallback"]


class CarbonmeterCallback(TrainerCallback):
    """Measures a Trainer run: see the module's documentation.

    Keyword arguments other than those below go to :class:`carbonmeter.Tracker` (``country``,
    ``zone``, ``cloud``, ``carbon_intensity``, ``pue``, ``interval_s``…).

    :param output_dir: where ``emissions.csv`` and the journal go (default: the Trainer's
        ``output_dir``).
    :param training_type: the model card's ``training_type`` ("fine-tuning", "pre-training").
    :param model_card: write the ``co2_eq_emissions`` block into ``output_dir/README.md``.
    :param predict: print the whole run's predicted energy and emissions after the first epoch.
    """

    def __init__(
        self,
        *,
        output_dir: Optional[str] = None,
        training_type: str = "fine-tuning",
        model_card: bool = True,
        predict: bool = True,
        **tracker_options: Any,
    ) -> None:
        self.output_dir = output_dir
        self.training_type = training_type
        self.model_card = model_card
        self.predict = predict
        self.tracker_options = dict(tracker_options)
        self.tracker_options.setdefault("sync", "torch")
        self.tracker: Optional[carbonmeter.Tracker] = None
        self.result: Optional[Any] = None
        self.epochs: List[Any] = []
        self.prediction: Optional[Any] = None
        self._epoch_window: Optional[str] = None

    def _output_dir(self, args: Any) -> str:
        return self.output_dir or getattr(args, "output_dir", None) or "."

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not getattr(state, "is_local_process_zero", True):
            return
        output_dir = self._output_dir(args)
        os.makedirs(output_dir, exist_ok=True)
        options = dict(self.tracker_options)
        options.setdefault("project_name", os.path.basename(os.path.abspath(output_dir)) or "carbonmeter")
        self.tracker = carbonmeter.Tracker(output_dir=output_dir, **options)
        self.tracker.start()

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.tracker is None:
            return
        self._epoch_window = f"epoch-{len(self.epochs) + 1}"
        self.tracker.begin_window(self._epoch_window)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.tracker is None or self._epoch_window is None:
            return
        self.epochs.append(self.tracker.end_window(self._epoch_window))
        self._epoch_window = None
        if self.predict and len(self.epochs) == 1:
            self._predict(state)

    def _predict(self, state: Any) -> None:
        total_epochs = getattr(state, "num_train_epochs", 0) or 0
        max_steps = getattr(state, "max_steps", 0) or 0
        global_step = getattr(state, "global_step", 0) or 0
        if max_steps > 0 and 0 < global_step <= max_steps:
            total, done, unit = max_steps, global_step, "steps"
        elif total_epochs >= 1:
            total, done, unit = int(total_epochs), 1, "epochs"
        else:
            return
        self.prediction = self.tracker.predict(total, done)
        emissions = self.prediction.emissions_g
        print(
            f"carbonmeter: after {done} of {total} {unit}, the whole run is predicted to use "
            f"{self.prediction.energy_kwh:.4g} kWh"
            + (f" and emit {emissions:.4g} g CO2e" if emissions is not None else "")
            + f" over {self.prediction.duration_s / 3600:.3g} h",
            file=sys.stderr,
        )

    def on_log(self, args: Any, state: Any, control: Any, logs: Optional[Dict[str, Any]] = None, **kwargs: Any) -> None:
        if self.tracker is None or logs is None:
            return
        now = self.tracker.current()
        figures = {"energy_kwh": now.energy_kwh, "power_w": now.power_w["total"]}
        if now.emissions_g is not None:
            figures["emissions_g"] = now.emissions_g
        logs.update(figures)
        history = getattr(state, "log_history", None)
        if history:
            history[-1].update(figures)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.tracker is None:
            return
        if self._epoch_window is not None:
            self.tracker.cancel_window(self._epoch_window)
            self._epoch_window = None
        self.result = self.tracker.stop()
        self.tracker = None
        if self.model_card:
            self.write_model_card(os.path.join(self._output_dir(args), "README.md"))

    def write_model_card(self, path: str) -> None:
        """Writes (again) the run's ``co2_eq_emissions`` into the card at ``path``: call it after
        ``trainer.create_model_card()``, which rewrites README.md."""
        if self.result is None:
            raise RuntimeError("CarbonmeterCallback.write_model_card: training has not ended yet")
        carbonmeter.update_model_card(path, self.result, training_type=self.training_type)


class PowerLimitCallback(TrainerCallback):
    """Tunes the GPUs' power limits during a Trainer run with :class:`carbonmeter.PowerLimitOptimizer`.

    Keyword arguments go to the optimizer (``objective``, ``eta``, ``max_slowdown``,
    ``profile_path``, ``dry_run``, ``warmup_steps``, ``profile_steps``, ``step_w``, ``gpus``).
    Only the main process of each machine tunes (``state.is_local_process_zero``); the original
    limits are put back when training ends.
    """

    def __init__(self, **optimizer_options: Any) -> None:
        self.optimizer_options = dict(optimizer_options)
        self.optimizer: Optional[carbonmeter.PowerLimitOptimizer] = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.optimizer is not None:  # a train() before that did not end: its limits go back first
            self.optimizer.restore()
            self.optimizer = None
        if getattr(state, "is_local_process_zero", True):
            self.optimizer = carbonmeter.PowerLimitOptimizer(**self.optimizer_options)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.optimizer is not None:
            self.optimizer.on_step_begin()

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.optimizer is not None:
            self.optimizer.on_epoch_end()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.optimizer is not None:
            self.optimizer.restore()
