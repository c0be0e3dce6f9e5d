"""GPU power-limit tuning from the training loop (carbonmeter's C++ PowerLimitOptimizer)."""

from __future__ import annotations

import atexit
import weakref

from . import _carbonmeter

TYPE_CHECKING = False  # typing is not imported at run time: it would slow `import carbonmeter`
if TYPE_CHECKING:
    from typing import Callable, Dict, List, Optional, Sequence

__all__ = ["PowerLimitOptimizer"]


def _objective_text(objective: Optional[str], eta: Optional[float], max_slowdown: Optional[float]) -> str:
    given = [name for name, value in (("objective", objective), ("eta", eta), ("max_slowdown", max_slowdown)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"give one of objective, eta and max_slowdown, not {' and '.join(given)}")
    if eta is not None:
        return f"eta:{float(eta)!r}"
    if max_slowdown is not None:
        return f"max_slowdown:{float(max_slowdown)!r}"
    return objective if objective is not None else "eta"


class PowerLimitOptimizer:
    """Profiles the GPUs' power limits during training and applies the best one.

    Call :meth:`on_step_begin` at the start of every training step and :meth:`on_epoch_end` at
    the end of every epoch. Each power limit from the maximum down (``step_w`` apart) runs
    ``warmup_steps`` steps, then ``profile_steps`` measured steps; an epoch that ends inside them
    profiles that limit again. Then the limit that best meets the objective is applied:

    * ``"eta"`` (the default; or ``eta=0.5``): least η·energy + (1−η)·P_max·time (Zeus' cost),
    * ``"max_slowdown:1.1"`` (or ``max_slowdown=1.1``): least energy at most 1.1 × slower than
      at the maximum limit,
    * ``"energy"``, ``"time"``.

    ``profile_path``: read when it exists (no profiling), written when profiling ends (Zeus'
    JSON format). The original limits are put back by :meth:`restore`, at the end of a ``with``
    block, at exit, and on SIGINT/SIGTERM. Changing limits needs root or CAP_SYS_ADMIN: without
    them the constructor raises RuntimeError. ``dry_run=True`` never changes a GPU setting: it
    measures at the current limit and says (``decisions``) what it would set, chosen from
    ``profile_path`` or from a model of the device (an estimate).
    """

    def __init__(
        self,
        gpus: Optional[Sequence[int]] = None,
        objective: Optional[str] = None,
        *,
        eta: Optional[float] = None,
        max_slowdown: Optional[float] = None,
        step_w: float = 25.0,
        warmup_steps: int = 10,
        profile_steps: int = 40,
        profile_path: Optional[str] = None,
        dry_run: bool = False,
        restore_on_signals: bool = True,
        log: Optional[Callable[[str], None]] = None,
    ) -> None:
        self._optimizer = _carbonmeter.PowerLimitOptimizer(
            list(gpus) if gpus is not None else None,
            _objective_text(objective, eta, max_slowdown),
            float(step_w),
            int(warmup_steps),
            int(profile_steps),
            None if profile_path is None else str(profile_path),
            bool(dry_run),
            bool(restore_on_signals),
            log,
        )
        self.dry_run = bool(dry_run)
        atexit.register(_restore_if_alive, weakref.ref(self))

    def on_step_begin(self) -> None:
        """Call at the start of every training step: moves the profiling on."""
        self._optimizer.on_step_begin()

    def on_step_end(self) -> None:
        """Call at the end of every training step (nothing happens there yet)."""
        self._optimizer.on_step_end()

    def on_epoch_end(self) -> None:
        """Call at the end of every epoch: a limit whose profiling it cuts short is profiled again."""
        self._optimizer.on_epoch_end()

    def restore(self) -> None:
        """Puts every GPU back at the limit it had at the start; nothing is changed after it."""
        self._optimizer.restore()

    @property
    def state(self) -> str:
        """``ready``, ``warmup``, ``profiling`` or ``done``."""
        return self._optimizer.state

    @property
    def optimal_power_limit_w(self) -> Optional[float]:
        """The limit chosen (W, per GPU), once profiling has ended or a profile was read."""
        return self._optimizer.optimal_power_limit_w

    @property
    def power_limits_w(self) -> List[float]:
        """The limits profiled, highest first (W)."""
        return self._optimizer.power_limits_w

    @property
    def measurements(self) -> List[Dict[str, float]]:
        """What was profiled or read: ``power_limit`` (W), ``energy`` (J), ``time`` (s)."""
        return self._optimizer.measurements

    @property
    def decisions(self) -> List[str]:
        """What was set, or in dry-run mode what would be set, one line each."""
        return self._optimizer.decisions

    def __enter__(self) -> "PowerLimitOptimizer":
        """The optimizer itself; the original limits are put back when the block ends."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Puts the original limits back, whatever ended the block."""
        self.restore()


def _restore_if_alive(reference: "weakref.ref[PowerLimitOptimizer]") -> None:
    optimizer = reference()
    if optimizer is not None:
        optimizer.restore()
