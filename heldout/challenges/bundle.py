"""Challenge bundles: a folder or ``.zip`` holding ``challenge.yaml`` and its files.

:func:`load_bundle` turns one into a :class:`Bundle` that the platform can
store, and refuses it with :class:`BundleErrors` listing every problem found
(each naming its file, field or row) when anything is wrong: nothing half
checked is ever returned. :func:`validate_bundle` gives the same problems as a
list. The format is documented in ``challenges/README.md``.

Bundles are read on the host only, so this module may use PyYAML; it imports it
lazily so that ``import heldout.challenges`` (also done inside the sandbox)
does not need it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from . import bundle_data as tables
from .bundle_checks import check_semantics
from .bundle_data import sha256_file
from .bundle_schema import CLASSIC, YAML_NAME, check_document
from .code import DEFAULT_CPUS, DEFAULT_ENTRYPOINT, DEFAULT_MEMORY_MB, DEFAULT_TIME_LIMIT_S
from .bundle_zip import DEFAULT_MAX_UNPACKED_BYTES, bundle_root, extract_zip
from .errors import BundleError, BundleErrors, SubmissionError
from .spec import ScoringSpec
from .split import assign_usage

DERIVED_SOLUTION_NAME = "solution.csv"
# The organizer's write-up, beside challenge.yaml: shown (sanitized) once the private leaderboard is revealed.
WRITEUP_NAME = "writeup.md"
WRITEUP_MAX_CHARS = 100_000
# Files that editors, archivers and Python leave behind; never part of a challenge.
_JUNK_NAMES = {".DS_Store", "Thumbs.db"}
_JUNK_DIRS = {"__pycache__", ".ipynb_checkpoints", ".git"}


@dataclass(frozen=True)
class BundleFile:
    """One file of a bundle: ``name`` as learners (or the sandbox) see it, ``path`` on this host."""

    name: str
    path: Path
    size: int
    sha256: str

    @classmethod
    def of(cls, name: str, path: Path) -> "BundleFile":
        return cls(name=name, path=Path(path), size=Path(path).stat().st_size, sha256=sha256_file(path))


@dataclass
class LeaderboardRules:
    """``classic`` shows scores as they are; ``rounded`` to ``digits`` decimals; ``ladder``
    only moves a team's public score when it beats their best by more than ``step``."""

    mode: str = CLASSIC
    digits: int | None = None
    step: float | None = None


@dataclass
class CodeRules:
    """Limits for ``kind: code``; ``data`` maps names under ``/data`` to bundle files.

    ``example_data`` replaces some of them in the *visible run* (the one whose
    logs the learner reads): ``{"test.csv": "example_test.csv"}`` runs the
    code on the public example rows instead of the hidden test set.
    """

    entrypoint: str = DEFAULT_ENTRYPOINT
    time_limit_s: int = DEFAULT_TIME_LIMIT_S
    memory_mb: int = DEFAULT_MEMORY_MB
    cpus: float = DEFAULT_CPUS
    data: dict = field(default_factory=dict)
    example_data: dict = field(default_factory=dict)


@dataclass
class Rules:
    kind: str = "predictions"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    team_merge_deadline: datetime | None = None  # None: teams may merge until the end
    daily_limit: int = 5
    max_team_size: int = 1
    max_final_submissions: int = 2
    max_submission_bytes: int = 20 * 1024 * 1024
    late_submissions: bool = True
    cloneable: bool = False  # study-group leads may clone it into their groups
    leaderboard: LeaderboardRules = field(default_factory=LeaderboardRules)
    code: CodeRules | None = None

    def to_dict(self) -> dict:
        """Plain JSON values (times as ISO-8601 strings), e.g. for a JSON column."""
        out = asdict(self)
        for key in ("starts_at", "ends_at", "team_merge_deadline"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out


@dataclass
class Baseline:
    """The organizer's reference solution and the score range it is expected to reach."""

    script: BundleFile
    score_min: float
    score_max: float

    def accepts(self, score: float) -> bool:
        return self.score_min <= score <= self.score_max


@dataclass
class EnvironmentSpec:
    """A reinforcement-learning environment from ``heldout.challenges.environments``."""

    name: str
    params: dict = field(default_factory=dict)
    step_timeout_s: float = 1.0


@dataclass
class Bundle:
    root: Path
    slug: str
    title: str
    summary: str
    description_md: str
    tags: list[str]
    difficulty: str
    # Where the challenge sits on the practice roadmap (bundle_schema.TOPICS); None: not on it.
    topic: str | None
    task_type: str
    metric: str
    greater_is_better: bool
    display_precision: int
    spec: ScoringSpec
    rules: Rules
    # What learners may download. Never the solution.
    files: list[BundleFile]
    # The hidden truth, always with a Usage column (derived into a temp file for a declared split).
    solution: BundleFile
    test: BundleFile | None
    sample_submission: BundleFile | None
    # kind: code — what the sandbox mounts read-only at /data, under these names: in the hidden run,
    # and in the visible run (only learner downloads there; see CodeRules.example_data).
    runtime_files: list[BundleFile]
    example_files: list[BundleFile]
    baseline: Baseline | None
    environment: EnvironmentSpec | None
    # writeup.md's Markdown when the bundle ships one (never a learner download).
    writeup_md: str | None
    # sha256 over challenge.yaml and every file: equal hashes mean an identical bundle.
    content_hash: str
    solution_hash: str
    _tempdir: Path | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.rules.kind

    def file(self, name: str) -> BundleFile:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)

    def cleanup(self) -> None:
        """Delete the temporary copy (an unpacked zip, a derived solution); safe to call twice."""
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> "Bundle":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def _is_junk(rel: Path) -> bool:
    return rel.name in _JUNK_NAMES or rel.suffix == ".pyc" or any(p in _JUNK_DIRS for p in rel.parts)


def _tree(root: Path) -> tuple[list[tuple[str, Path]], list[BundleError]]:
    """Every regular file under ``root`` as (posix name, path), sorted; symlinks are errors."""
    files, errors = [], []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if _is_junk(rel):
            continue
        if path.is_symlink():
            errors.append(BundleError("is a symbolic link; bundles may hold only regular files", rel.as_posix()))
        elif path.is_file():
            files.append((rel.as_posix(), path))
    return files, errors


def content_hash(files: list[tuple[str, Path]]) -> str:
    """A digest of names and contents, the same for a folder and for a zip of it."""
    digest = hashlib.sha256()
    for name, path in files:
        digest.update(f"{name}\x00{sha256_file(path)}\n".encode("utf-8"))
    return digest.hexdigest()


def _read_yaml(root: Path) -> tuple[object, list[BundleError]]:
    import yaml  # host only: see the module docstring

    path = root / YAML_NAME
    if not path.is_file():
        return None, [BundleError(f"no {YAML_NAME} at the top of the bundle", YAML_NAME)]
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), []
    except UnicodeDecodeError:
        return None, [BundleError("is not UTF-8 text", YAML_NAME)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [BundleError(f"is not valid YAML: {problem}", YAML_NAME,
                                  row=(mark.line + 1) if mark is not None else None)]


def _read_writeup(root: Path, errors: list[BundleError]) -> str | None:
    path = root / WRITEUP_NAME
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        errors.append(BundleError("is not UTF-8 text", WRITEUP_NAME))
        return None
    if len(text) > WRITEUP_MAX_CHARS:
        errors.append(BundleError(f"is {len(text):,} characters; a write-up is at most {WRITEUP_MAX_CHARS:,}",
                                  WRITEUP_NAME))
        return None
    return text.strip() or None


def load_bundle(path: str | Path, *, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
                check_sample: bool = True) -> Bundle:
    """Read and check the bundle at ``path`` (a folder or a ``.zip``); raise :class:`BundleErrors`.

    A zip is unpacked into a temporary folder that the returned bundle owns:
    call ``bundle.cleanup()`` or use it as a context manager. ``check_sample``
    scores the sample submission in-process (the scorer must be importable).
    """
    path = Path(path)
    tempdir: Path | None = None
    try:
        if path.is_dir():
            root = path
        elif path.is_file():
            tempdir = Path(tempfile.mkdtemp(prefix="heldout-bundle-"))
            unpacked = tempdir / "bundle"
            unpacked.mkdir()
            errors = extract_zip(path, unpacked, max_bytes=max_unpacked_bytes)
            if errors:
                raise BundleErrors(errors)
            root = bundle_root(unpacked, YAML_NAME)
        else:
            raise BundleErrors([BundleError("no such folder or zip file", str(path))])
        return _load_root(root, tempdir, check_sample)
    except BaseException:
        if tempdir is not None:
            shutil.rmtree(tempdir, ignore_errors=True)
        raise


def validate_bundle(path: str | Path, **options) -> list[BundleError]:
    """Every problem with the bundle at ``path``; empty when it would load."""
    try:
        bundle = load_bundle(path, **options)
    except BundleErrors as exc:
        return exc.errors
    bundle.cleanup()
    return []


def _load_root(root: Path, tempdir: Path | None, check_sample: bool) -> Bundle:
    tree, errors = _tree(root)
    document, yaml_errors = _read_yaml(root)
    if yaml_errors:
        raise BundleErrors(errors + yaml_errors)
    doc, schema_errors = check_document(document)
    errors += schema_errors
    sem = check_semantics(doc, root, schema_errors)
    errors += sem.errors
    writeup_md = _read_writeup(root, errors)
    if errors:
        raise BundleErrors(errors)

    task, data, rules_doc = doc["task"], doc["data"], doc["rules"]
    spec = sem.spec
    assert spec is not None  # the checks above found no error, so the spec was made
    solution_frame = sem.frames["solution"]

    if tempdir is None:
        tempdir = Path(tempfile.mkdtemp(prefix="heldout-bundle-"))
    try:
        solution_path = sem.paths["solution"]
        if data["split"] is not None:
            # Draw the split once, here; the same bundle always draws the same split.
            ids = [str(v) for v in tables.normalized_ids(solution_frame, spec.id_column, spec.id_dtype)]
            usage = assign_usage(ids, data["split"]["public_fraction"], data["split"]["seed"])
            derived = tempdir / DERIVED_SOLUTION_NAME
            tables.write_with_usage(solution_path, derived, usage, spec.usage_column)
            solution_path = derived
        solution = BundleFile.of(DERIVED_SOLUTION_NAME, solution_path)

        sample = BundleFile.of(data["sample_submission"], sem.paths["sample_submission"]) \
            if data["sample_submission"] else None
        if sample is not None and check_sample:
            _check_sample_scores(sample, solution, spec)

        code_doc = rules_doc["code"]
        code = None if code_doc is None else CodeRules(**code_doc)
        board = rules_doc["leaderboard"]
        rules = Rules(
            kind=rules_doc["kind"], starts_at=rules_doc["start"], ends_at=rules_doc["end"],
            team_merge_deadline=rules_doc["team_merge_deadline"],
            daily_limit=rules_doc["daily_submission_limit"], max_team_size=rules_doc["max_team_size"],
            max_final_submissions=rules_doc["final_submissions"],
            max_submission_bytes=rules_doc["max_submission_bytes"],
            late_submissions=rules_doc["late_submissions"], cloneable=rules_doc["cloneable"],
            leaderboard=LeaderboardRules(mode=board["mode"], digits=board["digits"], step=board["step"]),
            code=code,
        )
        base_doc = doc["baseline"]
        baseline = None if base_doc is None else Baseline(
            script=BundleFile.of(base_doc["script"], sem.paths["baseline"]),
            score_min=base_doc["score"]["min"], score_max=base_doc["score"]["max"])
        env_doc = task["environment"]
        environment = None if env_doc is None else EnvironmentSpec(**env_doc)
        runtime = [BundleFile.of(mount, sem.paths[f"code:{mount}"]) for mount in sorted((code.data if code else {}))]
        example = [BundleFile.of(mount, sem.paths.get(f"example:{mount}", sem.paths[f"code:{mount}"]))
                   for mount in sorted((code.data if code else {}))]

        return Bundle(
            root=root,
            slug=doc["slug"], title=doc["title"].strip(), summary=doc["summary"].strip(),
            description_md=sem.description_md, tags=list(doc["tags"]), difficulty=doc["difficulty"],
            topic=doc["topic"],
            task_type=task["type"], metric=task["metric"], greater_is_better=sem.greater_is_better,
            display_precision=task["display_precision"], spec=spec, rules=rules,
            files=[BundleFile.of(name, sem.paths[f"files:{name}"]) for name in data["files"]],
            solution=solution,
            test=BundleFile.of(data["test"], sem.paths["test"]) if data["test"] else None,
            sample_submission=sample, runtime_files=runtime, example_files=example, baseline=baseline,
            environment=environment, writeup_md=writeup_md,
            content_hash=content_hash(tree), solution_hash=solution.sha256, _tempdir=tempdir,
        )
    except BaseException:
        shutil.rmtree(tempdir, ignore_errors=True)
        raise


def _check_sample_scores(sample: BundleFile, solution: BundleFile, spec: ScoringSpec) -> None:
    """The sample submission must pass the same validation and scoring as a learner's."""
    from .scoring import UnscorableSplit, score_files  # imported when needed: the scorer is a separate module

    try:
        score_files(sample.path, solution.path, spec)
    except SubmissionError as exc:
        raise BundleErrors([BundleError(f"does not pass submission checks: {exc}", sample.name)]) from None
    except BundleError as exc:
        raise BundleErrors([exc]) from None
    except (UnscorableSplit, ValueError) as exc:
        raise BundleErrors([BundleError(f"cannot be scored: {exc}", sample.name)]) from None


def solution_as_submission(bundle: Bundle, target: str | Path) -> Path:
    """Write the hidden solution as a learner's submission: the best score the metric allows.

    For checking a bundle (a perfect submission must score the metric's best
    value) — never for showing anyone. Multiclass probabilities become one-hot
    rows; other truth columns are renamed to the submission's columns.
    Reinforcement challenges have no such thing (their truth is episode seeds).
    """
    import csv

    spec = bundle.spec
    if bundle.task_type == "reinforcement":
        raise ValueError("a reinforcement challenge has no perfect submission file")
    truth = spec.solution_columns or spec.target_columns
    one_hot = bundle.task_type == "multiclass" and spec.probabilities
    target = Path(target)
    with open(bundle.solution.path, newline="", encoding="utf-8") as src, \
            open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([spec.id_column] + list(spec.target_columns))
        for row in csv.DictReader(src):
            if one_hot:
                values = ["1" if row[truth[0]] == name else "0" for name in spec.target_columns]
            else:
                values = [row[column] for column in truth]
            writer.writerow([row[spec.id_column]] + values)
    return target


def rules_of_bundle(bundle: Bundle) -> dict:
    """The parts of a bundle's rules that a run reads: the code limits and entry point, the environment, and
    the mount holding the test set (the visible run's output must have its example's ids)."""
    rules: dict = {}
    if bundle.rules.code is not None:
        rules["code"] = asdict(bundle.rules.code)
        test_mounts = [mount for mount, name in bundle.rules.code.data.items()
                       if bundle.test is not None and name == bundle.test.name]
        rules["test_mount"] = test_mounts[0] if test_mounts else None
    if bundle.environment is not None:
        rules["environment"] = asdict(bundle.environment)
    return rules
