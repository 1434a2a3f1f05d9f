"""UCUM units as labs send them: parse, compare dimensions, convert; annotations made explicit.

No UCUM library on PyPI fits: `pint` parses neither `10*3/uL` nor `{1.73_m2}`, and the UCUM
ports found are TypeScript or Java. The subset here covers the analytes TADA reads (mass and
substance concentrations, counts per volume, flow rates, body weight): a term is an optional
prefix, an atom and an optional exponent (`mm3`, `m2`), or a power of ten (`10*9`, `10^3`); terms
are joined by `.` and `/`. Lab spellings that are not UCUM (`K/uL`, `ml/min/1.73m2`) are
rewritten to UCUM first.

UCUM annotations (`{1.73_m2}`, `{cells}`) carry no dimension: by the UCUM rules `mL/min` and
`mL/min/{1.73_m2}` convert to each other with factor 1. That is arithmetically right and
clinically not the same thing (an eGFR is normalised to a body surface of 1.73 m2; a plain
clearance in mL/min is not), so a conversion that gains or loses an annotation is allowed but
reported (`Conversion.annotation_note`), never silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction as F
from functools import lru_cache

# Prefix factors (UCUM "prefix" table, the ones labs use).
_PREFIXES = {
    "k": F(10**3),
    "h": F(10**2),
    "d": F(1, 10),
    "c": F(1, 10**2),
    "m": F(1, 10**3),
    "u": F(1, 10**6),
    "n": F(1, 10**9),
    "p": F(1, 10**12),
}
# Atoms: dimension (mass, length, time, amount; a volume is length^3) and factor to the base.
# Factors are exact fractions so 10*3/uL is exactly 10*9/L.
_ATOMS: dict[str, tuple[tuple[int, int, int, int], F]] = {
    "g": ((1, 0, 0, 0), F(1)),
    "[lb_av]": ((1, 0, 0, 0), F("453.59237")),
    "[oz_av]": ((1, 0, 0, 0), F("28.349523125")),
    "m": ((0, 1, 0, 0), F(1)),
    "l": ((0, 3, 0, 0), F(1, 1000)),  # litre = dm3
    "s": ((0, 0, 1, 0), F(1)),
    "min": ((0, 0, 1, 0), F(60)),
    "h": ((0, 0, 1, 0), F(3600)),
    "d": ((0, 0, 1, 0), F(86400)),
    "mol": ((0, 0, 0, 1), F(1)),
}
# Lab spellings that are not UCUM, lower-case, spaces removed -> UCUM.
_ALIASES = {
    "k/ul": "10*3/uL",
    "thou/ul": "10*3/uL",
    "x10e3/ul": "10*3/uL",
    "x10*3/ul": "10*3/uL",
    "x10^3/ul": "10*3/uL",
    "10^3/ul": "10*3/uL",
    "x10*9/l": "10*9/L",
    "x10^9/l": "10*9/L",
    "10^9/l": "10*9/L",
    "giga/l": "10*9/L",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min/1.73m^2": "mL/min/{1.73_m2}",
    "ml/min/1.73_m2": "mL/min/{1.73_m2}",
    "ml/min/1.73sqm": "mL/min/{1.73_m2}",
    "ml/min/1.73": "mL/min/{1.73_m2}",
    "ml/min/{1.73m2}": "mL/min/{1.73_m2}",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "kgs": "kg",
}
# What an annotation means, for the note when a conversion gains or loses it.
ANNOTATION_MEANING = {"{1.73_m2}": "normalised to a body surface of 1.73 m2"}

_TERM = re.compile(r"^(\[[a-z_]+\]|[a-z]+?)(-?\d+)?$")
_POWER = re.compile(r"^10[*^](-?\d+)$")
_TOKENS = re.compile(r"([./]?)((?:\{[^}]*\}|[^./{])+)")  # an annotation may hold a dot


@dataclass(frozen=True, slots=True)
class Unit:
    text: str
    dimension: tuple[int, int, int, int]
    factor: F
    annotations: frozenset[str]


@dataclass(frozen=True, slots=True)
class Conversion:
    value: float
    annotation_note: str | None = None


class UnitError(ValueError):
    """A unit this parser does not understand."""


def _atom(symbol: str) -> tuple[tuple[int, int, int, int], F]:
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    for prefix, scale in _PREFIXES.items():
        if symbol.startswith(prefix) and symbol[len(prefix) :] in _ATOMS:
            dimension, factor = _ATOMS[symbol[len(prefix) :]]
            return dimension, factor * scale
    raise UnitError(symbol)


def _term(term: str) -> tuple[tuple[int, int, int, int], F, set[str]]:
    annotations = set(re.findall(r"\{[^}]*\}", term))
    bare = re.sub(r"\{[^}]*\}", "", term)
    if not bare:
        return (0, 0, 0, 0), F(1), annotations
    power = _POWER.match(bare)
    if power:
        return (0, 0, 0, 0), F(10) ** int(power.group(1)), annotations
    if bare.isdigit():
        return (0, 0, 0, 0), F(int(bare)), annotations
    match = _TERM.match(bare)
    if not match:
        raise UnitError(bare)
    dimension, factor = _atom(match.group(1))
    exponent = int(match.group(2) or 1)
    return tuple(d * exponent for d in dimension), factor**exponent, annotations  # type: ignore[return-value]


@lru_cache(maxsize=1024)
def parse_unit(text: str) -> Unit:
    """A UCUM unit (or a common lab spelling of one), case-insensitively."""
    key = text.replace(" ", "").replace("µ", "u").replace("μ", "u").lower()
    key = _ALIASES.get(key, key).lower()
    if not key:
        raise UnitError(text)
    dimension = [0, 0, 0, 0]
    factor = F(1)
    annotations: set[str] = set()
    for operator, term in _TOKENS.findall(key):
        sign = -1 if operator == "/" else 1
        term_dimension, term_factor, term_annotations = _term(term)
        dimension = [d + sign * t for d, t in zip(dimension, term_dimension, strict=True)]
        factor = factor * term_factor if sign > 0 else factor / term_factor
        annotations |= {a.replace(" ", "") for a in term_annotations}
    return Unit(text, tuple(dimension), factor, frozenset(annotations))  # type: ignore[arg-type]


def convert(value: float, source: str, target: str) -> Conversion | None:
    """`value` in `source` expressed in `target`; None when either unit is not understood or
    the dimensions differ. A difference only in annotations converts with factor 1 (UCUM) and
    carries a note saying what the missing or extra annotation means."""
    try:
        a, b = parse_unit(source), parse_unit(target)
    except UnitError:
        return None
    if a.dimension != b.dimension:
        return None
    note = None
    if a.annotations != b.annotations:
        lost = sorted(b.annotations - a.annotations)
        gained = sorted(a.annotations - b.annotations)
        parts = [f"not {ANNOTATION_MEANING.get(x, 'annotated ' + x)}" for x in lost] + [
            f"{ANNOTATION_MEANING.get(x, 'annotated ' + x)}" for x in gained
        ]
        note = (
            f"reported in {source}, not {target}: "
            + "; ".join(parts)
            + "; used as reported, without normalising"
        )
    return Conversion(value * float(a.factor / b.factor), note)
