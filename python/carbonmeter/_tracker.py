"""The Tracker, its windows, the run's result, the whole-run prediction and the @track decorator."""

from __future__ import annotations

import os
import sys

from . import _arguments, _carbonmeter

TYPE_CHECKING = False  # typing is not imported at run time: it would slow `import carbonmeter`
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar, Union

    F = TypeVar("F", bound=Callable[..., Any])

Measurement = _carbonmeter.Measurement


def _torch_sync() -> None:
    """sync="torch": waits for the queued CUDA work of every visible GPU, when torch has been
    imported by the program and has started CUDA (nothing is queued otherwise). Never imports torch."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    cuda = torch.cuda
    is_initialized = getattr(cuda, "is_initialized", None)
    if not (is_initialized() if is_initialized is not None else cuda.is_available()):
        return
    for device in range(cuda.device_count()):
        cuda.synchronize(device)


def _gpu_ids(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    try:
        items = list(value)
    except TypeError:
        items = None
    if items is None or not all(isinstance(i, (int, str)) and not isinstance(i, bool) for i in items):
        raise ValueError(f"gpu_ids={value!r}: give '0,2', [0, 2] or GPU UUIDs ('GPU-...')")
    return ",".join(str(i) for i in items)


class RunResult:
    """The whole run, as ``Tracker.stop()`` returns it.

    ``report`` is the full run report, the same dict that ``carbonmeter run --json`` writes
    (docs/report.md): the measurement keys and, when the emissions could be accounted, the carbon
    keys. The attributes below are read from it.
    """

    __slots__ = ("report", "warnings")

    def __init__(self, report: Dict[str, Any], warnings: Optional[List[str]] = None) -> None:
        #: The full run report (dict), as ``carbonmeter run --json`` writes it.
        self.report = report
        #: What went wrong after the measurement (emissions not accounted, emissions.csv not written).
        self.warnings = list(warnings or [])

    @property
    def duration_s(self) -> float:
        """How long the run lasted, in seconds."""
        return self.report["duration_s"]

    @property
    def energy_j(self) -> Dict[str, float]:
        """Joules per component: {'cpu', 'ram', 'gpu', 'total'} (the tracker's scope)."""
        return self.report["energy_j"]

    @property
    def energy_kwh(self) -> float:
        """The total energy in kWh (before PUE)."""
        return self.report["energy_kwh"]["total"]

    @property
    def power_w(self) -> Dict[str, float]:
        """Average power per component and in total, in W."""
        return self.report["power_w"]

    @property
    def methods(self) -> Dict[str, str]:
        """How each component was measured: 'rapl-powercap', 'nvml', 'cpu-estimate', 'none', ..."""
        return self.report["method"]

    @property
    def uncertainty(self) -> Dict[str, Any]:
        """Per component and total: {'relative', 'energy_j'} (and the method's 'kind')."""
        return self.report["uncertainty"]

    @property
    def emissions_g(self) -> Optional[float]:
        """Grams CO2e (energy × PUE × intensity), or None when they could not be accounted."""
        return self.report.get("emissions_g")

    @property
    def emissions_range_g(self) -> Optional[Tuple[float, float]]:
        """The emissions' uncertainty range (low, high) in grams, or None."""
        low_high = self.report.get("emissions_range_g")
        return (low_high[0], low_high[1]) if low_high else None

    @property
    def intensity_g_per_kwh(self) -> Optional[float]:
        """The effective carbon intensity of the run (emissions / energy with PUE), or None."""
        return self.report.get("intensity", {}).get("effective_g_per_kwh")

    @property
    def location(self) -> Dict[str, str]:
        """Where: country_iso3, country_name, region, cloud_provider, cloud_region."""
        return self.report.get("location", {})

    @property
    def notes(self) -> List[str]:
        """Notes about sensors and fallbacks, one line each."""
        return self.report.get("notes", [])

    def to_dict(self) -> Dict[str, Any]:
        """The full run report (the same dict as ``report``)."""
        return self.report

    def write_json(self, path: Union[str, os.PathLike]) -> None:
        """Writes the report as ``carbonmeter run --json FILE`` does (indented JSON), replacing the
        file at ``path`` in one step."""
        import json

        path = os.fspath(path)
        temporary = f"{path}.tmp-{os.getpid()}"
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(self.report, out, indent=2, ensure_ascii=False, allow_nan=False)
            out.write("\n")
        os.replace(temporary, path)

    def __repr__(self) -> str:
        emissions = self.emissions_g
        return (
            f"<RunResult {self.report.get('run_id', '')}: {self.energy_j['total']:.6g} J in {self.duration_s:.4g} s"
            + (f", {emissions:.4g} g CO2e" if emissions is not None else "")
            + ">"
        )


class Prediction:
    """The whole run's expected energy, emissions and duration, from its first steps (the energy
    so far × total_steps / steps_done: carbontracker's idea)."""

    __slots__ = ("energy_kwh", "emissions_g", "duration_s", "steps_done", "total_steps")

    def __init__(
        self, energy_kwh: float, emissions_g: Optional[float], duration_s: float, steps_done: int, total_steps: int
    ) -> None:
        #: Expected energy of the whole run, in kWh (before PUE).
        self.energy_kwh = energy_kwh
        #: Expected grams CO2e of the whole run, or None when the emissions are unknown.
        self.emissions_g = emissions_g
        #: Expected duration of the whole run, in seconds.
        self.duration_s = duration_s
        #: The steps (or epochs) done when the prediction was made.
        self.steps_done = steps_done
        #: The steps (or epochs) of the whole run.
        self.total_steps = total_steps

    def to_dict(self) -> Dict[str, Any]:
        """Every field as a dict."""
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        emissions = "" if self.emissions_g is None else f", {self.emissions_g:.4g} g CO2e"
        return (
            f"<Prediction after {self.steps_done} of {self.total_steps} steps: {self.energy_kwh:.4g} kWh"
            f"{emissions} over {self.duration_s:.4g} s>"
        )


class Window:
    """A named window as a context manager (``Tracker.window(name)``): begins on entry, ends on
    exit; ``result`` is its :class:`Measurement` once the block has ended (also when an exception
    left it; the exception is never swallowed)."""

    __slots__ = ("_tracker", "name", "result")

    def __init__(self, tracker: Tracker, name: str) -> None:
        self._tracker = tracker
        #: The window's name.
        self.name = name
        #: The window's Measurement once the block has ended, else None.
        self.result: Optional[Measurement] = None

    def __enter__(self) -> Window:
        self._tracker.begin_window(self.name)
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> bool:
        if exc_type is None:
            self.result = self._tracker.end_window(self.name)
        else:
            try:  # the energy was used all the same; an error here must not hide the block's own
                self.result = self._tracker.end_window(self.name)
            except (ValueError, RuntimeError):
                pass
        return False


class Tracker:
    """Measures the energy of this process and its children (or of the whole machine) and its
    emissions, with the C++ core's sensors on a background thread.

    ::

        with carbonmeter.Tracker(country="FRA", output_dir="runs") as tracker:
            with tracker.window("epoch-1") as epoch:
                train_one_epoch()
        tracker.result.emissions_g

    :param project_name: recorded in the report and in emissions.csv.
    :param country: ISO 3166 code ('FRA' or 'FR'). ``zone`` (a grid zone, 'SE3'), ``cloud``
        ('gcp:us-central1'), ``carbon_intensity`` (gCO2e/kWh), ``intensity_series`` (a CSV,
        'FILE' or 'FILE:COLUMN'), ``pue``, ``wue`` and ``marginal`` as on the command line; what
        is not given comes from CARBONMETER_* variables, then carbonmeter.toml, then a guess that
        says so (in ``notes``).
    :param output_dir: when given, the run's journal is written there as it runs, and ``stop()``
        appends the run to ``output_dir/emissions.csv`` (CodeCarbon's columns).
    :param interval_s: sampling interval, 0.01 to 3600 seconds.
    :param scope: 'process' (this process and its children) or 'machine' (the whole host).
    :param sync: None; 'torch' to wait for queued CUDA work at both ends of every window (when the
        program uses torch with CUDA); or any callable to run there.
    :param gpu_ids: the GPUs to measure: '0,2', [0, 2] or UUIDs; default CUDA_VISIBLE_DEVICES,
        else every GPU.

    Bad arguments raise ValueError. Two trackers may run at once.
    """

    def __init__(
        self,
        project_name: str = "carbonmeter",
        *,
        country: Optional[str] = None,
        zone: Optional[str] = None,
        cloud: Optional[str] = None,
        carbon_intensity: Optional[float] = None,
        intensity_series: Optional[Union[str, os.PathLike]] = None,
        pue: Optional[float] = None,
        wue: Optional[float] = None,
        marginal: bool = False,
        output_dir: Optional[Union[str, os.PathLike]] = None,
        interval_s: float = 1.0,
        scope: str = "process",
        sync: Union[None, str, Callable[[], Any]] = None,
        gpu_ids: Union[None, str, int, List[Union[int, str]]] = None,
    ) -> None:
        if not isinstance(project_name, str) or not project_name.strip():
            raise ValueError(f"project_name={project_name!r}: give a non-empty string")
        interval = _arguments.number("interval_s", interval_s, "the sampling interval in seconds, 0.01 to 3600")
        if not isinstance(scope, str):
            raise ValueError(f"scope={scope!r}: use 'process' or 'machine'")
        if isinstance(sync, str):
            if sync != "torch":
                raise ValueError(f"sync={sync!r}: give None, 'torch' or a callable")
            sync_callable: Optional[Callable[[], Any]] = _torch_sync
        elif sync is None or callable(sync):
            sync_callable = sync
        else:
            raise ValueError(f"sync={sync!r}: give None, 'torch' or a callable")
        directory = _arguments.path("output_dir", output_dir, "a folder for the journal and emissions.csv")
        if directory is not None and not directory.strip():
            raise ValueError("output_dir='' is empty: give a folder, or None for no journal and no emissions.csv")
        self._location = _arguments.location(
            country=country,
            zone=zone,
            cloud=cloud,
            carbon_intensity=carbon_intensity,
            intensity_series=intensity_series,
            pue=pue,
            wue=wue,
            marginal=marginal,
        )
        self._tracker = _carbonmeter._Tracker(
            project_name, interval, scope, directory or "", _gpu_ids(gpu_ids), sync_callable, self._location
        )
        self.project_name = project_name
        self.output_dir = directory
        #: The RunResult of the last stop(), else None.
        self.result: Optional[RunResult] = None

    # -- the run ---------------------------------------------------------------------------
    def start(self) -> Tracker:
        """Finds the sensors, takes the baseline sample and starts sampling; returns the tracker.
        RuntimeError when it is running already or cannot measure (e.g. the journal cannot be
        written)."""
        self._tracker.start()
        return self

    def stop(self) -> RunResult:
        """Takes a last sample, stops sampling and returns the run's :class:`RunResult` (also kept
        in ``result``). With ``output_dir``, appends the run to emissions.csv. What could not be
        done after the measurement (emissions not accounted, the CSV not written) is a
        RuntimeWarning, and listed in ``RunResult.warnings``."""
        report, warnings = self._tracker.stop()
        self.result = RunResult(report, warnings)
        if warnings:
            import warnings as _warnings

            for message in warnings:
                _warnings.warn(f"carbonmeter: {message}", RuntimeWarning, stacklevel=2)
        return self.result

    @property
    def running(self) -> bool:
        """Whether the tracker is sampling."""
        return self._tracker.running

    @property
    def notes(self) -> List[str]:
        """Notes about the sensors, fallbacks and the location, one line each (e.g. that energy_uj
        is root-only and the CPU is estimated, or that the location was guessed)."""
        return list(self._tracker.notes) + list(self._location.notes)

    @property
    def journal_path(self) -> Optional[str]:
        """The journal being written (with ``output_dir``), else None."""
        return self._tracker.journal_path or None

    def current(self) -> Measurement:
        """The energy so far (a sample is taken now), as a :class:`Measurement` named 'current'."""
        return self._tracker.current()

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> bool:
        if exc_type is None:
            self.stop()
        else:
            try:  # the run is recorded all the same; an error here must not hide the block's own
                self.stop()
            except Exception as error:  # pragma: no cover - stop() fails only when nothing ran
                import warnings

                warnings.warn(f"carbonmeter: could not stop the tracker: {error}", RuntimeWarning, stacklevel=2)
        return False

    # -- windows ---------------------------------------------------------------------------
    def begin_window(self, name: str) -> None:
        """Opens the window ``name`` (the sensors are read now; no sample is taken). Windows may
        nest and overlap; a name may be open once at a time (ValueError otherwise). RuntimeError
        when not running."""
        self._tracker.begin_window(name)

    def end_window(self, name: str) -> Measurement:
        """Closes the window ``name`` and returns its :class:`Measurement`. ValueError when no
        window of that name is open."""
        return self._tracker.end_window(name)

    def cancel_window(self, name: str) -> None:
        """Closes the window ``name`` without a measurement. ValueError when it is not open."""
        self._tracker.cancel_window(name)

    def window(self, name: str) -> Window:
        """The window ``name`` as a context manager: ``with tracker.window("epoch-3") as w: ...``,
        then ``w.result`` is its :class:`Measurement`."""
        if not isinstance(name, str):
            raise ValueError(f"window name {name!r}: give a string")
        return Window(self, name)

    # -- prediction ------------------------------------------------------------------------
    def predict(self, total_steps: int, steps_done: int) -> Prediction:
        """The whole run's expected energy, emissions and duration after ``steps_done`` of
        ``total_steps`` steps (or epochs): the figures so far × total_steps / steps_done.
        ValueError unless 0 < steps_done <= total_steps."""
        total = _arguments.integer("total_steps", total_steps, "the steps of the whole run")
        done = _arguments.integer("steps_done", steps_done, "the steps done so far")
        if total is None or done is None or done <= 0 or done > total:
            raise ValueError(
                f"predict(total_steps={total_steps!r}, steps_done={steps_done!r}): "
                "give 0 < steps_done <= total_steps"
            )
        now = self.current()
        factor = total / done
        emissions = now.emissions_g
        return Prediction(
            now.energy_kwh * factor,
            None if emissions is None else emissions * factor,
            now.duration_s * factor,
            done,
            total,
        )

    def __repr__(self) -> str:
        return f"<carbonmeter.Tracker {self.project_name!r} {'running' if self.running else 'stopped'}>"


def track(func: Optional[F] = None, /, **tracker_kwargs: Any) -> Any:
    """Measures every call of a function with a :class:`Tracker`; bare (``@track``) or with the
    Tracker's keywords (``@track(country="FRA", output_dir="runs")``). The function's value is
    returned unchanged; each call's :class:`RunResult` is on ``wrapper.last_result`` (also when
    the function raised, whose exception propagates)."""
    Tracker(**tracker_kwargs)  # bad keywords fail here, at decoration, not at the first call

    def decorate(function: F) -> F:
        import functools

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            tracker = Tracker(**tracker_kwargs).start()
            try:
                return function(*args, **kwargs)
            finally:
                wrapper.last_result = tracker.stop()  # type: ignore[attr-defined]

        wrapper.last_result = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    if func is None:
        return decorate
    if not callable(func):
        raise ValueError(f"track({func!r}): use @carbonmeter.track or @carbonmeter.track(country=...)")
    return decorate(func)


__all__ = ["Measurement", "Prediction", "RunResult", "Tracker", "Window", "track"]
