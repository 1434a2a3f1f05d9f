"""The engine's exceptions: one base class, so a caller can catch everything the engine raises.

```
ScoringError
├── InvalidWeights     importance ratings outside 0-10, not finite, or all zero
├── UnknownCondition   the case names a condition the catalog snapshot does not hold
├── InvalidRule        a catalog risk rule the evaluator cannot read (a curation error)
└── InvalidAnswers     trade-off answers that cannot give weights (values clarification)
```
"""

from __future__ import annotations


class ScoringError(Exception):
    """Base class of every error the decision engine raises."""


class InvalidWeights(ScoringError):
    """The importance ratings cannot be turned into weights (out of range, not finite, all zero)."""


class UnknownCondition(ScoringError):
    """The patient case names a condition id that is not in the catalog snapshot."""


class InvalidRule(ScoringError):
    """A risk rule combines an attribute, operator and value the evaluator does not define."""


class InvalidAnswers(ScoringError):
    """Trade-off answers cannot give weights: an unknown or repeated question, a strength
    outside 1-9, or answers that leave some criterion unlinked to the others."""

    def __init__(self, message: str, *, unlinked: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.unlinked = unlinked
