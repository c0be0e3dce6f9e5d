"""Reading what a Hugging Face model card reports about its emissions.

A card's YAML front matter may carry ``co2_eq_emissions`` either as a number (grams of CO2e)
or as a mapping with ``emissions`` (grams) and optional ``source``, ``training_type``,
``geographical_location`` and ``hardware_used``
(https://huggingface.co/docs/hub/model-cards-co2). Only the front matter is read; nothing is
imported beyond the standard library.
"""

from __future__ import annotations

import math
import os
from typing import Dict, Optional, Union

__all__ = ["read_co2_eq_emissions", "front_matter"]

_KEYS = ("emissions", "source", "training_type", "geographical_location", "hardware_used")


def front_matter(card: str) -> Optional[str]:
    """The YAML front matter of a model card's text (between the first two ``---`` lines), or None."""
    text = card[1:] if card.startswith("\ufeff") else card
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i])
    return None


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == '"':
            return inner.replace('\\"', '"').replace("\\\\", "\\")
        return inner.replace("''", "'")
    hash_at = value.find(" #")
    return value[:hash_at].rstrip() if hash_at >= 0 else value


def _number(value: str, where: str) -> float:
    try:
        number = float(_scalar(value))
    except ValueError:
        raise ValueError(f"{where}: co2_eq_emissions emissions '{value.strip()}' is not a number of grams") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{where}: co2_eq_emissions emissions must be a finite number of grams, 0 or more")
    return number


def read_co2_eq_emissions(card: Union[str, os.PathLike], *, name: Optional[str] = None) -> Optional[Dict[str, object]]:
    """The ``co2_eq_emissions`` a model card reports, as a dict, or None when it reports none.

    ``card`` is the card's text or a path to it (a README.md). The dict has ``emissions_g``
    (float) and, when the card gives them, ``source``, ``training_type``,
    ``geographical_location`` and ``hardware_used`` (str). A malformed figure raises
    ValueError naming the card.
    """
    where = name or "model card"
    if isinstance(card, os.PathLike) or (isinstance(card, str) and "\n" not in card and os.path.isfile(card)):
        where = name or os.fspath(card)
        with open(card, encoding="utf-8-sig", errors="replace") as handle:
            card = handle.read()
    yaml = front_matter(str(card))
    if yaml is None:
        return None
    lines = yaml.splitlines()
    for i, line in enumerate(lines):
        stripped = line.rstrip()
        key, sep, rest = stripped.partition(":")
        if not sep or key.strip().strip("\"'") != "co2_eq_emissions" or line[:1] in (" ", "\t"):
            continue
        if rest.strip() and not rest.strip().startswith("#"):
            return {"emissions_g": _number(rest, where)}  # the number form
        out: Dict[str, object] = {}
        for child in lines[i + 1 :]:
            if child.strip() == "" or child.lstrip().startswith("#"):
                continue
            if child[:1] not in (" ", "\t"):
                break
            child_key, child_sep, value = child.strip().partition(":")
            if not child_sep or child_key not in _KEYS:
                continue
            if child_key == "emissions":
                out["emissions_g"] = _number(value, where)
            else:
                out[child_key] = _scalar(value)
        if "emissions_g" not in out:
            raise ValueError(f"{where}: co2_eq_emissions has no emissions figure")
        return out
    return None
