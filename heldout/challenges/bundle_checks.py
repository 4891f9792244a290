"""The checks of a bundle that span several fields or files.

``bundle_schema`` has already checked each field on its own; here the fields
are checked against each other (a metric that suits the task type, an end
after the start), against the files they name (present, inside the bundle,
regular files) and against the tables' contents (ids, Usage, truth values).
A field that already failed its own check is not checked again, so one typo
yields one error, not a cascade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pandas as pd

from . import bundle_data as tables
from .bundle_schema import LADDER, ROUNDED, defaults
from .errors import BundleError
from .spec import ScoringSpec

YAML = "challenge.yaml"


@dataclass
class Checked:
    errors: list[BundleError] = field(default_factory=list)
    spec: ScoringSpec | None = None
    # Resolved files by role: "solution", "test", "files:<name>", "code:<mount>", ...
    paths: dict[str, Path] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    description_md: str = ""
    greater_is_better: bool = True

    def add(self, message: str, file: str | None = YAML, field_: str | None = None, row: int | None = None) -> None:
        self.errors.append(BundleError(message, file, field_, row))


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a file inside a bundle, or None."""
    if not name.strip():
        return "is empty"
    if "\\" in name:
        return "uses backslashes; use '/'"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path; name files relative to challenge.yaml"
    if any(part == ".." for part in PurePosixPath(name).parts):
        return "points outside the bundle ('..')"
    return None


def resolve_file(root: Path, name: str, field_: str, errors: list[BundleError]) -> Path | None:
    """The path of bundle file ``name`` referenced by ``field_``, or None with an error added."""
    problem = name_problem(name)
    if problem:
        errors.append(BundleError(f"file name {name!r} {problem}", YAML, field_))
        return None
    path = root / name
    if path.is_symlink():
        errors.append(BundleError("is a symbolic link; bundles may hold only regular files", name, field_))
        return None
    if not path.exists():
        errors.append(BundleError(f"file is missing (referenced by {field_})", name, field_))
        return None
    if not path.is_file():
        errors.append(BundleError(f"is not a regular file (referenced by {field_})", name, field_))
        return None
    return path


def _metric(c: Checked, task: dict, bad: set[str]) -> None:
    from .metrics import METRICS  # the registry is someone else's module; import it when needed

    name, task_type = task["metric"], task["type"]
    if name is None or "task.metric" in bad:
        return
    metric = METRICS.get(name)
    if metric is None:
        c.add(f"unknown metric {name!r}; known metrics: {', '.join(sorted(METRICS))}", field_="task.metric")
        return
    c.greater_is_better = bool(metric.greater_is_better)
    if task["metric_params"] is not None and "task.metric_params" not in bad:
        try:
            metric.check_params(task["metric_params"])
        except ValueError as exc:
            c.add(str(exc), field_="task.metric_params")
    if task_type is not None and task_type not in metric.task_types:
        c.add(f"metric {name!r} does not suit task type {task_type!r} (it suits: "
              f"{', '.join(metric.task_types)})", field_="task.metric")


def _task(c: Checked, task: dict, rules: dict) -> None:
    task_type = task["type"]
    targets = task["target_columns"]
    if task_type == "reinforcement":
        env = task["environment"]
        if env is None:
            c.add("a reinforcement challenge needs task.environment", field_="task.environment")
        elif env["name"] is not None:
            from .environments import ENVIRONMENTS

            if env["name"] not in ENVIRONMENTS:
                c.add(f"unknown environment {env['name']!r}; known: {', '.join(sorted(ENVIRONMENTS))}",
                      field_="task.environment.name")
        if rules["kind"] != "code":
            c.add("a reinforcement challenge takes policies, so rules.kind must be code", field_="rules.kind")
        return
    if task["environment"] is not None:
        c.add("only reinforcement challenges have an environment", field_="task.environment")
    if not targets:
        c.add("list the submission's value column(s)", field_="task.target_columns")
        return
    if len(set(targets)) != len(targets) or task["id_column"] in targets:
        c.add("columns must be distinct and differ from task.id_column", field_="task.target_columns")
    solution_columns = task["solution_columns"]
    multiclass_probabilities = task_type == "multiclass" and task["probabilities"]
    if multiclass_probabilities:
        if len(targets) < 2:
            c.add("multiclass probabilities need one column per class (at least 2)", field_="task.target_columns")
        if solution_columns is None or len(solution_columns) != 1:
            c.add("multiclass probabilities are scored against one label column: name it here",
                  field_="task.solution_columns")
    elif solution_columns is not None and len(solution_columns) != len(targets):
        c.add(f"names {len(solution_columns)} column(s) but task.target_columns names {len(targets)}",
              field_="task.solution_columns")
    if task["rows_sum_to_one"] and not multiclass_probabilities:
        c.add("rows can only sum to one for multiclass probabilities", field_="task.rows_sum_to_one")
    if task["probabilities"] and task_type not in ("binary", "multiclass"):
        c.add(f"a {task_type} task does not take probabilities", field_="task.probabilities")


def _rules(c: Checked, rules: dict, bad: set[str]) -> None:
    start, end = rules["start"], rules["end"]
    if start is not None and end is not None and end <= start:
        c.add(f"ends ({end.isoformat()}) before it starts ({start.isoformat()})", field_="rules.end")
    merge = rules["team_merge_deadline"]
    if merge is not None and end is not None and merge > end:
        c.add(f"the team-merge deadline ({merge.isoformat()}) is after the end ({end.isoformat()})",
              field_="rules.team_merge_deadline")
    if merge is not None and start is not None and merge <= start:
        c.add(f"the team-merge deadline ({merge.isoformat()}) is not after the start ({start.isoformat()})",
              field_="rules.team_merge_deadline")
    board = rules["leaderboard"]
    if board["mode"] == ROUNDED and board["digits"] is None and "rules.leaderboard.digits" not in bad:
        c.add("the rounded leaderboard needs digits", field_="rules.leaderboard.digits")
    if board["mode"] == LADDER and not board["step"] and "rules.leaderboard.step" not in bad:
        c.add("the ladder leaderboard needs a step greater than 0", field_="rules.leaderboard.step")
    if board["mode"] != ROUNDED and board["digits"] is not None:
        c.add("digits only applies to the rounded leaderboard", field_="rules.leaderboard.digits")
    if board["mode"] != LADDER and board["step"] is not None:
        c.add("step only applies to the ladder leaderboard", field_="rules.leaderboard.step")
    if rules["kind"] == "code" and rules["code"] is None:
        c.add("a code challenge needs rules.code (entrypoint and limits)", field_="rules.code")
    if rules["kind"] == "predictions" and rules["code"] is not None:
        c.add("rules.code only applies when rules.kind is code", field_="rules.code")
    code = rules["code"]
    if code is not None and code["entrypoint"] and "/" in code["entrypoint"]:
        c.add("must be a file name at the top of the submission", field_="rules.code.entrypoint")


def _example_data(c: Checked, root: Path, data: dict, code: dict) -> None:
    """The visible run's files: its logs are the learner's, so it may only mount what learners can download."""
    downloads = {c.paths[f"files:{name}"].resolve() for name in data["files"] or [] if f"files:{name}" in c.paths}
    examples = code["example_data"] or {}
    for mount, name in sorted(examples.items()):
        field_ = f"rules.code.example_data.{mount}"
        if mount not in (code["data"] or {}):
            c.add(f"replaces {mount!r}, which rules.code.data does not mount", field_=field_)
            continue
        path = resolve_file(root, name, field_, c.errors)
        if path is None:
            continue
        if path.resolve() not in downloads:
            c.add("must be one of data.files: the visible run's logs are shown to learners", name, field_)
            continue
        c.paths[f"example:{mount}"] = path
    for mount, name in sorted((code["data"] or {}).items()):
        path = c.paths.get(f"code:{mount}")
        if path is not None and mount not in examples and path.resolve() not in downloads:
            c.add(f"{name} is hidden from learners, so the visible run needs a public stand-in: give "
                  f"rules.code.example_data.{mount} (e.g. example_test.csv, listed in data.files)",
                  field_=f"rules.code.data.{mount}")


def _files(c: Checked, root: Path, doc: dict) -> None:
    task, data, rules, baseline = doc["task"], doc["data"], doc["rules"], doc["baseline"]
    if doc["description"]:
        path = resolve_file(root, doc["description"], "description", c.errors)
        if path is not None:
            try:
                c.description_md = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                c.add("is not UTF-8 text", doc["description"], "description")
    roles = [("solution", data["solution"], "data.solution"), ("test", data["test"], "data.test"),
             ("sample_submission", data["sample_submission"], "data.sample_submission")]
    if baseline is not None and baseline["script"]:
        roles.append(("baseline", baseline["script"], "baseline.script"))
    for role, name, field_ in roles:
        if name:
            path = resolve_file(root, name, field_, c.errors)
            if path is not None:
                c.paths[role] = path
    if task["type"] not in (None, "reinforcement"):
        for role, _, field_ in roles[1:3]:
            if data[role] is None:
                c.add(f"required for a {task['type']} challenge", field_=field_)
    if data["files"] and len(set(data["files"])) != len(data["files"]):
        c.add("lists a file twice", field_="data.files")
    solution_path = c.paths.get("solution")
    solution_sha = tables.sha256_file(solution_path) if solution_path is not None else None
    for name in data["files"] or []:
        path = resolve_file(root, name, "data.files", c.errors)
        if path is None:
            continue
        if solution_path is not None and (path.resolve() == solution_path.resolve()
                                          or (path.stat().st_size == solution_path.stat().st_size
                                              and _same_digest(path, solution_sha))):
            # A downloadable copy of the truth would end the competition on day one.
            c.add("is the hidden solution and must not be a learner download", name, "data.files")
            continue
        c.paths[f"files:{name}"] = path
    code = rules["code"]
    if code is not None:
        for mount, name in sorted((code["data"] or {}).items()):
            problem = name_problem(mount)
            if problem:
                c.add(f"mount name {mount!r} {problem}", field_="rules.code.data")
                continue
            path = resolve_file(root, name, f"rules.code.data.{mount}", c.errors)
            if path is not None:
                if solution_path is not None and path.resolve() == solution_path.resolve():
                    c.add("the solution must never be mounted for submitted code", name, f"rules.code.data.{mount}")
                    continue
                c.paths[f"code:{mount}"] = path
        _example_data(c, root, data, code)
    if baseline is not None and baseline["score"] is not None:
        low, high = baseline["score"]["min"], baseline["score"]["max"]
        if low is not None and high is not None and low > high:
            c.add("min is greater than max", field_="baseline.score")


def _same_digest(path: Path, digest: str | None) -> bool:
    return digest is not None and tables.sha256_file(path) == digest


def _tables(c: Checked, doc: dict) -> None:
    task, data = doc["task"], doc["data"]
    id_column, id_dtype = task["id_column"], task["id_dtype"]
    if id_column is None or id_dtype is None:
        return
    usage_column: str = ScoringSpec.__dataclass_fields__["usage_column"].default  # type: ignore[assignment]
    is_rl = task["type"] == "reinforcement"
    targets = task["target_columns"] or []
    truth_columns = task["solution_columns"] or targets

    solution_name = data["solution"]
    if "solution" in c.paths:
        frame, errors = tables.read_table(c.paths["solution"], solution_name)
        c.errors += errors
        if frame is not None:
            ok = not (errors := tables.check_ids(frame, id_column, id_dtype, solution_name))
            c.errors += errors
            if is_rl:
                c.errors += tables.check_columns(frame, ["seed"], solution_name, "episode seed")
                if "seed" in frame.columns:
                    c.errors += tables.check_ids(frame, "seed", "int", solution_name)
            else:
                missing = tables.check_columns(frame, truth_columns, solution_name, "truth")
                c.errors += missing
                if not missing:
                    labels = task["labels"]
                    if task["type"] == "multiclass" and task["probabilities"]:
                        labels = targets  # each true label must name one of the probability columns
                    c.errors += tables.check_solution_values(frame, truth_columns, task["type"], labels,
                                                             solution_name)
            if data["split"] is None:
                if usage_column not in frame.columns:
                    c.add(f"has no {usage_column} column: mark rows Public/Private or give data.split",
                          solution_name, usage_column)
                else:
                    c.errors += tables.check_usage(frame, usage_column, solution_name)
            elif usage_column in frame.columns:
                c.add(f"has a {usage_column} column and data.split is given too: keep one of them",
                      solution_name, usage_column)
            elif len(frame) < 2:
                c.add("needs at least 2 rows to split into Public and Private", solution_name)
            if ok:
                c.frames["solution"] = frame

    if "test" in c.paths:
        name = data["test"]
        frame, errors = tables.read_table(c.paths["test"], name)
        c.errors += errors
        if frame is not None:
            id_errors = tables.check_ids(frame, id_column, id_dtype, name)
            c.errors += id_errors
            if not id_errors and "solution" in c.frames:
                c.errors += tables.compare_ids(c.frames["solution"], solution_name, frame, name,
                                               id_column, id_dtype)

    if "sample_submission" in c.paths and targets:
        name = data["sample_submission"]
        frame, errors = tables.read_table(c.paths["sample_submission"], name)
        c.errors += errors
        if frame is not None:
            c.errors += tables.check_columns(frame, [id_column] + targets, name, "submission")


def _spec(task: dict, rules: dict) -> ScoringSpec:
    is_rl = task["type"] == "reinforcement"
    return ScoringSpec(
        metric=task["metric"], task_type=task["type"], id_column=task["id_column"],
        target_columns=list(task["target_columns"] or (["return"] if is_rl else [])),
        metric_params=dict(task["metric_params"]), solution_columns=task["solution_columns"],
        id_dtype=task["id_dtype"], labels=task["labels"], probabilities=task["probabilities"],
        rows_sum_to_one=task["rows_sum_to_one"], sum_tolerance=task["sum_tolerance"],
        renormalize=task["renormalize"], max_bytes=rules["max_submission_bytes"],
        bootstrap_resamples=task["bootstrap_resamples"],
    )


def check_semantics(doc: dict, root: Path, schema_errors: list[BundleError]) -> Checked:
    c = Checked()
    bad = {e.field for e in schema_errors if e.field}
    if any(doc[s] is None for s in ("task", "data")):
        return c  # a required section is missing or malformed; the schema already said so
    # A malformed rules section was reported by the schema; check the rest against defaults.
    rules = doc["rules"] or defaults("rules")
    if rules["leaderboard"] is None:
        rules = dict(rules, leaderboard=defaults("rules", "leaderboard"))
    doc = dict(doc, rules=rules)
    task = doc["task"]
    if task["metric"] is not None and task["type"] is not None:
        _metric(c, task, bad)
    if task["type"] is not None:
        _task(c, task, rules)
    _rules(c, rules, bad)
    _files(c, root, doc)
    if task["type"] is not None:
        _tables(c, doc)
    if not c.errors and not schema_errors:
        c.spec = _spec(task, rules)
    return c
