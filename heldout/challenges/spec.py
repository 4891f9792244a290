"""The scoring specification: everything the scorer needs to know about a challenge.

It travels as plain JSON into the sandbox (``spec.json``), so it holds only
plain values and is readable with the standard library alone.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

TASK_TYPES = ("binary", "multiclass", "regression", "clustering", "forecasting", "ranking", "reinforcement")


@dataclass
class ScoringSpec:
    """How to read and score a submission for one challenge.

    ``target_columns`` lists the submission's value columns: one for a label or a
    regression target, one per class for multiclass probabilities (the class
    names are then the column names). ``labels`` restricts label values.
    ``probabilities`` says the values are probabilities in [0, 1];
    ``rows_sum_to_one`` requires multiclass rows to sum to 1 within
    ``sum_tolerance`` (or renormalises them when ``renormalize`` is set).
    ``solution_columns`` names the truth columns in ``solution.csv`` when they
    differ from the submission's (multiclass probabilities are scored against a
    single label column); ``None`` means the same names. ``usage_column`` marks
    each solution row ``Public`` or ``Private``.
    ``id_dtype`` is ``"int"`` or ``"str"``: ids are compared as the solution's
    type, so ``007`` and ``7`` differ for string ids.
    """

    metric: str
    task_type: str = "regression"
    id_column: str = "id"
    target_columns: list[str] = field(default_factory=lambda: ["target"])
    metric_params: dict = field(default_factory=dict)
    solution_columns: list[str] | None = None
    usage_column: str = "Usage"
    id_dtype: str = "str"
    labels: list | None = None
    probabilities: bool = False
    rows_sum_to_one: bool = False
    sum_tolerance: float = 1e-6
    renormalize: bool = False
    max_bytes: int = 100 * 1024 * 1024
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ScoringSpec":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown scoring spec field(s): {', '.join(sorted(unknown))}")
        return cls(**data)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def read(cls, path: Path) -> "ScoringSpec":
        return cls.from_dict(json.loads(Path(path).read_text()))
