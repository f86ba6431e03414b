"""One reading of one runtime metric, shared by the providers and the runtime source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple


class Sample(NamedTuple):
    """One reading of one metric.

    ``kind``: ``ok`` (a value), ``filled`` (no data, the metric's ``fill``),
    ``nodata`` (no datapoints, empty vector, NaN), ``failed`` (the backend
    could not be asked or refused), ``invalid`` (an answer that cannot be
    one value). ``reason`` says why there is no value (never holds a secret).
    """

    at: float
    value: float | None
    kind: str = "ok"
    reason: str = ""
    datapoints: int | None = None

    def to_json(self) -> list[Any]:
        """Compact (continuation tokens are small): ``[at, value]`` for a plain value."""
        out: list[Any] = [round(self.at, 1), self.value]
        if self.kind != "ok" or self.reason or self.datapoints is not None:
            out += [self.kind, self.reason, self.datapoints]
        return out

    @classmethod
    def from_json(cls, data: Sequence[Any]) -> Sample:
        at, value = float(data[0]), data[1]
        kind = str(data[2]) if len(data) > 2 else "ok"
        reason = str(data[3]) if len(data) > 3 else ""
        points = int(data[4]) if len(data) > 4 and data[4] is not None else None
        return cls(at, None if value is None else float(value), kind, reason, points)


def reduce_values(values: Sequence[float], how: str) -> float:
    """``values`` (oldest first, not empty) reduced by ``max|min|avg|sum|last``."""
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    if how == "sum":
        return float(sum(values))
    if how == "avg":
        return float(sum(values)) / len(values)
    return values[-1]
