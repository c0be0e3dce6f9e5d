"""The calculators that mirror the command line (estimate, intensity, plan) and the model card."""

from __future__ import annotations

import os

from . import _arguments, _carbonmeter

TYPE_CHECKING = False  # typing is not imported at run time: it would slow `import carbonmeter`
if TYPE_CHECKING:
    import datetime
    from typing import Any, Dict, Optional, Union

    from ._tracker import RunResult

    Duration = Union[str, datetime.timedelta]
    Time = Union[str, float, datetime.datetime]


def estimate(
    *,
    hardware: Optional[str] = None,
    count: int = 1,
    power_w: Optional[float] = None,
    gpu_utilization: Optional[float] = None,
    cpu: Optional[str] = None,
    cores: Optional[int] = None,
    cpu_utilization: Optional[float] = None,
    memory_gb: Optional[float] = None,
    hours: Optional[float] = None,
    duration: Optional[Duration] = None,
    energy_kwh: Optional[float] = None,
    start: Optional[Time] = None,
    country: Optional[str] = None,
    zone: Optional[str] = None,
    cloud: Optional[str] = None,
    carbon_intensity: Optional[float] = None,
    intensity_series: Optional[Union[str, os.PathLike]] = None,
    pue: Optional[float] = None,
    wue: Optional[float] = None,
    marginal: bool = False,
) -> Dict[str, Any]:
    """The energy and emissions of a run that was not measured (hardware × hours × place), as
    ``carbonmeter estimate --json`` gives them (docs/estimate.md): ``emissions_kg``,
    ``emissions_range_kg``, ``energy_kwh``, ``parts``, ``formula``, ``alternatives``, ...

    The keywords are the command's flags: ``hardware`` ('Titan V', 'a100-80gb'), ``count``,
    ``power_w`` (per accelerator), ``gpu_utilization``, ``cpu``, ``cores``, ``cpu_utilization``,
    ``memory_gb``, ``hours`` or ``duration`` ('3d4h' or a timedelta), ``energy_kwh`` (instead of
    hardware), ``start`` (with an intensity series), and the location keywords. ValueError for
    what the command would refuse.

    >>> carbonmeter.estimate(hardware="Titan V", hours=48, carbon_intensity=560)["emissions_kg"]
    6.72
    """
    if hours is not None and duration is not None:
        raise ValueError("give hours or duration, not both")
    if start is not None and intensity_series is None:
        raise ValueError("start goes with intensity_series: it says where in the series the run began")
    duration_s = _arguments.seconds("duration", duration)
    location = _arguments.location(
        country=country,
        zone=zone,
        cloud=cloud,
        carbon_intensity=carbon_intensity,
        intensity_series=intensity_series,
        pue=pue,
        wue=wue,
        marginal=marginal,
    )
    return _carbonmeter.estimate(
        hardware=_arguments.text("hardware", hardware, "an accelerator name such as 'H100 SXM'"),
        count=1 if count is None else _arguments.integer("count", count, "how many accelerators"),
        power_w=_arguments.number("power_w", power_w, "the power of one accelerator in W"),
        gpu_utilization=_arguments.number("gpu_utilization", gpu_utilization, "a fraction from 0 to 1"),
        cpu=_arguments.text("cpu", cpu, "a CPU model such as 'Xeon Gold 6248'"),
        cores=_arguments.integer("cores", cores, "the CPU cores used"),
        cpu_utilization=_arguments.number("cpu_utilization", cpu_utilization, "a fraction from 0 to 1"),
        memory_gb=_arguments.number("memory_gb", memory_gb, "the memory in GB"),
        hours=duration_s / 3600.0 if duration_s is not None else _arguments.number("hours", hours, "hours"),
        energy_kwh=_arguments.number("energy_kwh", energy_kwh, "the IT energy in kWh"),
        start_unix_s=_arguments.timestamp("start", start),
        location=location,
    )


def intensity(
    *,
    country: Optional[str] = None,
    zone: Optional[str] = None,
    cloud: Optional[str] = None,
    carbon_intensity: Optional[float] = None,
    intensity_series: Optional[Union[str, os.PathLike]] = None,
    pue: Optional[float] = None,
    wue: Optional[float] = None,
    marginal: bool = False,
    at: Optional[Time] = None,
) -> Dict[str, Any]:
    """The carbon intensity carbonmeter would use for these location keywords (or here, guessed),
    as ``carbonmeter intensity --json`` gives it: ``g_per_kwh``, ``how``, ``guessed``, ``kind``,
    ``source``, ``year``, ``pue``, ``notes``, ... With ``intensity_series``, the value at ``at``
    (default now; None when the series does not cover it). ValueError for an unknown place."""
    location = _arguments.location(
        country=country,
        zone=zone,
        cloud=cloud,
        carbon_intensity=carbon_intensity,
        intensity_series=intensity_series,
        pue=pue,
        wue=wue,
        marginal=marginal,
    )
    when = _arguments.timestamp("at", at)
    return location.intensity(_carbonmeter.unix_now_s() if when is None else when)


def plan(
    intensity_series: Union[str, os.PathLike],
    duration: Duration,
    strategy: str = "flexible-start",
    window: Optional[Duration] = None,
    not_before: Optional[Time] = None,
    min_run: Optional[Duration] = None,
    pause_cost_g: float = 0.0,
    power_w: float = 1000.0,
) -> Dict[str, Any]:
    """When to run a job so that it emits least, on an intensity series, as ``carbonmeter plan
    --json`` gives it (docs/plan.md): ``start``, ``end``, ``intervals``, ``expected_emissions_g``,
    ``baseline_emissions_g``, ``savings_pct``, ``forecast``, ...

    :param intensity_series: CSV of intensity over time, 'FILE' or 'FILE:COLUMN'.
    :param duration: how long the job runs: '8h', '90m', '3d4h' or a timedelta.
    :param strategy: 'flexible-start' (the best start of an uninterrupted run) or 'pause-resume'.
    :param window: flexible-start: how late the start may be; pause-resume: how much later the job
        may finish (default 24h).
    :param not_before: earliest start (aware datetime, ISO 8601 with offset, Unix seconds; default now).
    :param min_run: pause-resume: the shortest piece (default any).
    :param pause_cost_g: pause-resume: grams CO2e a pause costs (checkpoint, restart).
    :param power_w: the job's average power, for the emissions figures.
    """
    if not isinstance(strategy, str):
        raise ValueError(f"strategy={strategy!r}: use 'flexible-start' or 'pause-resume'")
    series = _arguments.path("intensity_series", intensity_series, "a CSV file, FILE or FILE:COLUMN")
    if series is None:
        raise ValueError("plan needs intensity_series: the intensity over time to plan on")
    duration_s = _arguments.seconds("duration", duration)
    if duration_s is None:
        raise ValueError("plan needs duration: how long the job runs (e.g. '8h')")
    not_before_s = _arguments.timestamp("not_before", not_before)
    return _carbonmeter.plan(
        intensity_series=series,
        duration_s=duration_s,
        strategy=strategy,
        window_s=_arguments.seconds("window", window),
        not_before_unix_s=_carbonmeter.unix_now_s() if not_before_s is None else not_before_s,
        min_run_s=_arguments.seconds("min_run", min_run),
        pause_cost_g=_arguments.number("pause_cost_g", pause_cost_g, "grams CO2e per pause") or 0.0,
        power_w=_arguments.number("power_w", 1000.0 if power_w is None else power_w, "the job's average power in W"),
    )


def update_model_card(
    path: Union[str, os.PathLike],
    result_or_report: Union[RunResult, Dict[str, Any]],
    training_type: Optional[str] = None,
) -> str:
    """Writes the run's ``co2_eq_emissions`` block (emissions, source, training_type,
    geographical_location, hardware_used) into the YAML front matter of the Hugging Face model
    card at ``path`` (a README.md), as ``carbonmeter report RUN.json --model-card`` does: an
    existing block is replaced, every other byte of the card is kept, a missing card is created.
    Accepts a :class:`RunResult` or its report dict; returns the path.

    ValueError when the run has no emissions, or emissions of part of it only."""
    import json

    report = getattr(result_or_report, "report", result_or_report)
    if not isinstance(report, dict):
        raise ValueError("update_model_card: give a RunResult (Tracker.stop()) or its report dict")
    kind = _arguments.text("training_type", training_type, "e.g. 'fine-tuning' or 'pre-training'") or ""
    card_path = os.fspath(path)
    try:
        with open(card_path, "rb") as handle:
            card = handle.read()
    except FileNotFoundError:
        card = b""
    text = _carbonmeter.model_card_text(card, json.dumps(report, allow_nan=False), kind)
    # Replaced in one step, keeping the card's permissions; a link is written through.
    target = os.path.realpath(card_path)
    temporary = f"{target}.tmp-{os.getpid()}"
    try:
        with open(temporary, "wb") as out:
            out.write(text)
        if os.path.exists(target):
            os.chmod(temporary, os.stat(target).st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return card_path


__all__ = ["estimate", "intensity", "plan", "update_model_card"]
