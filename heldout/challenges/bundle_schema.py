"""The fields of ``challenge.yaml``: their types, defaults and allowed values.

:func:`check_document` walks the parsed YAML against :data:`SCHEMA` and
returns a copy with every default filled in, plus one :class:`BundleError`
per problem, each naming the field by its dotted path (``task.metric``,
``rules.leaderboard.step``). It checks every field before returning, so an
organizer sees all their typos at once. Rules that span several fields (a
metric that must suit the task type, an end after the start) live in
``bundle.py``, which knows the metric registry and the files.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable

from . import code
from .errors import BundleError
from .spec import TASK_TYPES

YAML_NAME = "challenge.yaml"
FORMAT_VERSION = 1
DIFFICULTIES = ("beginner", "intermediate", "advanced")
KINDS = ("predictions", "code")
# The leaderboard modes a bundle may name: the values of heldout.models.LeaderboardMode, spelled out here because
# this package runs in the sandbox, where the models cannot be imported (a test keeps the two the same).
CLASSIC, ROUNDED, LADDER = LEADERBOARD_MODES = ("classic", "rounded", "ladder")
# The practice roadmap's topics, in the order a learner meets them (the /practice page lists them so).
TOPICS = ("regression", "classification", "imbalanced classification", "multiclass", "images", "text",
          "clustering", "time series", "leakage", "code and deployment", "reinforcement learning")
SLUG_RE = re.compile(r"^[a-z0-9-]{3,64}$")


@dataclass
class Field:
    """One leaf of the schema.

    ``kind`` is one of ``str``, ``int``, ``number``, ``bool``, ``strlist``,
    ``list``, ``mapping`` (free-form, such as metric params), ``strmap`` (string
    to string) or ``time`` (an ISO-8601 UTC time, or null for open-ended).
    """

    kind: str
    required: bool = False
    default: Any = None
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    check: Callable[[Any], str | None] | None = None


@dataclass
class Section:
    """A nested mapping of fields.

    An absent section is filled with its defaults, unless its presence itself
    means something (``optional``: a split, code limits, a baseline), in which
    case it stays ``None``. ``required`` sections must be present.
    """

    fields: dict
    required: bool = False
    optional: bool = False


def _slug_check(value: str) -> str | None:
    if not SLUG_RE.match(value):
        return "must be 3 to 64 characters of lowercase letters, digits and '-'"
    return None


def _one_line(value: str) -> str | None:
    return "must be a single line" if "\n" in value.strip() else None


def _non_empty(value: str) -> str | None:
    return "must not be empty" if not value.strip() else None


SCHEMA: dict = {
    "format": Field("int", default=FORMAT_VERSION, choices=(FORMAT_VERSION,)),
    "slug": Field("str", required=True, check=_slug_check),
    "title": Field("str", required=True, check=_non_empty, maximum=200),
    "summary": Field("str", required=True, check=_one_line, maximum=500),
    "description": Field("str", required=True),
    "tags": Field("strlist", default=[]),
    "difficulty": Field("str", default="beginner", choices=DIFFICULTIES),
    "topic": Field("str", choices=TOPICS),
    "task": Section(required=True, fields={
        "type": Field("str", required=True, choices=TASK_TYPES),
        "metric": Field("str", required=True),
        "metric_params": Field("mapping", default={}),
        "id_column": Field("str", default="id", check=_non_empty),
        "id_dtype": Field("str", default="str", choices=("int", "str")),
        "target_columns": Field("strlist"),
        "solution_columns": Field("strlist"),
        "labels": Field("list"),
        "probabilities": Field("bool", default=False),
        "rows_sum_to_one": Field("bool", default=False),
        "sum_tolerance": Field("number", default=1e-6, minimum=0),
        "renormalize": Field("bool", default=False),
        "display_precision": Field("int", default=5, minimum=0, maximum=12),
        "bootstrap_resamples": Field("int", default=1000, minimum=0),
        "environment": Section(optional=True, fields={
            "name": Field("str", required=True),
            "params": Field("mapping", default={}),
            "step_timeout_s": Field("number", default=1.0, minimum=0.001),
        }),
    }),
    "data": Section(required=True, fields={
        "files": Field("strlist", default=[]),
        "test": Field("str"),
        "sample_submission": Field("str"),
        "solution": Field("str", required=True),
        "split": Section(optional=True, fields={
            "public_fraction": Field("number", required=True, minimum=0, maximum=1),
            "seed": Field("int", required=True),
        }),
    }),
    "rules": Section(fields={
        "kind": Field("str", default="predictions", choices=KINDS),
        "start": Field("time"),
        "end": Field("time"),
        "team_merge_deadline": Field("time"),
        "daily_submission_limit": Field("int", default=5, minimum=1),
        "max_team_size": Field("int", default=1, minimum=1),
        "final_submissions": Field("int", default=2, minimum=1),
        "max_submission_bytes": Field("int", default=20 * 1024 * 1024, minimum=1),
        # After the end: still take submissions, marked late and never ranked (heldout.leaderboard.late).
        "late_submissions": Field("bool", default=True),
        # Whether study-group leads may clone it into their groups (it shares the data and solution).
        "cloneable": Field("bool", default=False),
        "leaderboard": Section(fields={
            "mode": Field("str", default=CLASSIC, choices=LEADERBOARD_MODES),
            "digits": Field("int", minimum=0, maximum=12),
            "step": Field("number", minimum=0),
        }),
        "code": Section(optional=True, fields={
            "entrypoint": Field("str", default=code.DEFAULT_ENTRYPOINT),
            "time_limit_s": Field("int", default=code.DEFAULT_TIME_LIMIT_S, minimum=1),
            "memory_mb": Field("int", default=code.DEFAULT_MEMORY_MB, minimum=64),
            "cpus": Field("number", default=code.DEFAULT_CPUS, minimum=0.1),
            "data": Field("strmap", default={}),
            "example_data": Field("strmap", default={}),
        }),
    }),
    "baseline": Section(optional=True, fields={
        "script": Field("str", required=True),
        "score": Section(required=True, fields={
            "min": Field("number", required=True),
            "max": Field("number", required=True),
        }),
    }),
}


def parse_time(value: Any) -> tuple[datetime | None, str | None]:
    """An aware UTC datetime from YAML's value (it parses unquoted timestamps itself)."""
    if value is None:
        return None, None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return None, "needs a time and a zone, e.g. 2025-01-31T23:59:59Z"
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None, f"{value!r} is not an ISO-8601 time such as 2025-01-31T23:59:59Z"
    else:
        return None, f"must be an ISO-8601 time, not {type(value).__name__}"
    if moment.tzinfo is None:
        # A naive time would mean different deadlines on differently configured hosts.
        return None, "needs a time zone: write it in UTC with a trailing Z"
    return moment.astimezone(timezone.utc), None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _check_leaf(spec: Field, value: Any) -> tuple[Any, str | None]:
    """(normalized value, problem or None) for one present, non-null leaf."""
    kind = spec.kind
    if kind == "str":
        if not isinstance(value, str):
            return None, f"must be a string, not {_type_name(value)}"
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"must be an integer, not {_type_name(value)}"
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"must be a number, not {_type_name(value)}"
        value = float(value)
    elif kind == "bool":
        if not isinstance(value, bool):
            return None, f"must be true or false, not {_type_name(value)}"
    elif kind == "strlist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "must be a list of strings"
    elif kind == "list":
        if not isinstance(value, list):
            return None, f"must be a list, not {_type_name(value)}"
    elif kind == "mapping":
        if not isinstance(value, dict):
            return None, f"must be a mapping, not {_type_name(value)}"
    elif kind == "strmap":
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
            return None, "must map names to file names (strings)"
    elif kind == "time":
        return parse_time(value)
    if spec.choices is not None and value not in spec.choices:
        return None, f"{value!r} is not one of {', '.join(map(str, spec.choices))}"
    if kind in ("int", "number"):
        if spec.minimum is not None and value < spec.minimum:
            return None, f"must be at least {spec.minimum:g}"
        if spec.maximum is not None and value > spec.maximum:
            return None, f"must be at most {spec.maximum:g}"
    if kind == "str" and spec.maximum is not None and len(value) > spec.maximum:
        return None, f"must be at most {int(spec.maximum)} characters"
    if spec.check is not None:
        problem = spec.check(value)
        if problem:
            return None, problem
    return value, None


def _walk(fields: dict, data: dict, prefix: str, errors: list[BundleError]) -> dict:
    out: dict = {}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(sorted(fields))
            errors.append(BundleError(f"unknown field; {hint}known here: {known}", YAML_NAME, prefix + str(key)))
    for name, spec in fields.items():
        path = prefix + name
        value = data.get(name)
        if isinstance(spec, Section):
            if value is None:
                if spec.required:
                    errors.append(BundleError("required section is missing", YAML_NAME, path))
                out[name] = None if (spec.optional or spec.required) else _walk(spec.fields, {}, path + ".", errors)
            elif not isinstance(value, dict):
                errors.append(BundleError(f"must be a mapping, not {_type_name(value)}", YAML_NAME, path))
                out[name] = None
            else:
                out[name] = _walk(spec.fields, value, path + ".", errors)
            continue
        if value is None:
            if spec.required:
                errors.append(BundleError("required field is missing", YAML_NAME, path))
            default = spec.default
            out[name] = list(default) if isinstance(default, list) else (
                dict(default) if isinstance(default, dict) else default)
            continue
        normalized, problem = _check_leaf(spec, value)
        if problem:
            errors.append(BundleError(problem, YAML_NAME, path))
        out[name] = normalized
    return out


def check_document(document: Any) -> tuple[dict, list[BundleError]]:
    """The document with defaults filled in, and every schema problem in it."""
    errors: list[BundleError] = []
    if not isinstance(document, dict):
        errors.append(BundleError("must be a YAML mapping of fields", YAML_NAME))
        return _walk(SCHEMA, {}, "", []), errors
    return _walk(SCHEMA, document, "", errors), errors



def defaults(*path: str) -> dict:
    """The all-defaults value of the section at ``path`` (e.g. ``defaults("rules", "leaderboard")``)."""
    fields = SCHEMA
    for name in path:
        fields = fields[name].fields
    return _walk(fields, {}, "", [])
