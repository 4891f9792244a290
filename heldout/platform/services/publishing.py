"""Storing a challenge bundle: create, update, or nothing when it has not changed.

A bundle whose solution changed gets a new version, and every submission of
the challenge is queued for rescoring against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.challenges.bundle import Bundle, load_bundle, rules_of_bundle
from heldout.models import (
    Challenge,
    ChallengeFile,
    ChallengeStatus,
    Submission,
    SubmissionKind,
    SubmissionStatus,
)
from heldout.runner.claims import requeue
from heldout.runner.queue import enqueue_scoring
from heldout.storage import Storage


@dataclass(frozen=True)
class LoadResult:
    challenge_slug: str
    challenge_id: int
    action: str  # "created" | "unchanged" | "updated" | "new solution version N"
    rescored: int = 0
    baseline_queued: bool = False  # the organizer's upload queued a run of the bundle's baseline


def load_challenge(session: Session, storage: Storage, queue: Queue | None, path: Path, *,
                   publish: bool = True, created_by_id: int | None = None, group_id: int | None = None) -> LoadResult:
    """Validate the bundle at ``path`` and store it; raises BundleErrors and stores nothing when it is wrong."""
    with load_bundle(path) as bundle:
        return store_bundle(session, storage, queue, bundle, publish=publish, created_by_id=created_by_id,
                            group_id=group_id)


def store_bundle(session: Session, storage: Storage, queue: Queue | None, bundle: Bundle, *,
                 publish: bool = True, created_by_id: int | None = None, group_id: int | None = None) -> LoadResult:
    challenge = session.scalar(select(Challenge).where(Challenge.slug == bundle.slug))
    if challenge is not None and challenge.content_hash == bundle.content_hash:
        return LoadResult(bundle.slug, challenge.id, "unchanged")
    if challenge is None:
        challenge = Challenge(slug=bundle.slug, version=1, created_by_id=created_by_id, group_id=group_id,
                              status=ChallengeStatus.PUBLISHED if publish else ChallengeStatus.DRAFT)
        session.add(challenge)
        action = "created"
        new_solution = True
    else:
        new_solution = challenge.solution_hash != bundle.solution_hash
        if new_solution:
            challenge.version += 1
        action = f"new solution version {challenge.version}" if new_solution else "updated"

    prefix = f"challenges/{bundle.slug}/{bundle.content_hash[:16]}"
    solution_key = f"solutions/{bundle.slug}/{bundle.solution_hash[:16]}.csv"
    # Files first: if storing fails half-way, the database still points at the old, complete set.
    stored = {f.name: _store(storage, f"{prefix}/{f.name}", f.path) for f in bundle.files}
    runtime = {f.name: f"{prefix}/runtime/{f.name}" for f in bundle.runtime_files}
    for f in bundle.runtime_files:
        _store(storage, runtime[f.name], f.path)
    originals = {f.name: f.path for f in bundle.runtime_files}
    # The visible run's files: the runtime file itself, or its public stand-in (rules.code.example_data).
    examples = {f.name: runtime[f.name] if f.path == originals[f.name] else f"{prefix}/example/{f.name}"
                for f in bundle.example_files}
    for f in bundle.example_files:
        if examples[f.name] != runtime[f.name]:
            _store(storage, examples[f.name], f.path)
    _store(storage, solution_key, bundle.solution.path)
    baseline_key = None
    if bundle.baseline is not None:
        # Kept for the baseline check (heldout.runner.baseline), which runs on a worker; never offered to learners.
        baseline_key = _store(storage, f"{prefix}/baseline/{bundle.baseline.script.name}", bundle.baseline.script.path)

    _copy_metadata(challenge, bundle)
    challenge.solution_key = solution_key
    challenge.rules = _rules_dict(bundle, runtime, examples, baseline_key)
    # A check of the previous bundle says nothing about this one.
    challenge.baseline_state, challenge.baseline_report = None, None
    _replace_files(session, challenge, bundle, stored)
    rescore = requeue_challenge(session, challenge.id) if new_solution and action != "created" else []
    session.commit()
    if queue is not None:
        for submission_id, attempt in rescore:
            enqueue_scoring(queue, submission_id, attempt)
    return LoadResult(bundle.slug, challenge.id, action, rescored=len(rescore))


def _replace_files(session: Session, challenge: Challenge, bundle: Bundle, stored: dict[str, str]) -> None:
    """Point the challenge at the new files: rows are updated in place by name, so the
    (challenge, name) unique key never sees an old and a new row at once."""
    current = {f.name: f for f in challenge.files}
    for f in bundle.files:
        row = current.pop(f.name, None)
        if row is None:
            row = ChallengeFile(name=f.name)
            challenge.files.append(row)
        row.storage_key, row.size, row.sha256 = stored[f.name], f.size, f.sha256
    for gone in current.values():
        challenge.files.remove(gone)
    session.flush()


def _store(storage: Storage, key: str, source: Path) -> str:
    if not storage.exists(key):
        storage.save_file(key, source)
    return key


def _copy_metadata(challenge: Challenge, bundle: Bundle) -> None:
    rules = bundle.rules
    challenge.title = bundle.title
    challenge.summary = bundle.summary
    challenge.description_md = bundle.description_md
    challenge.tags = list(bundle.tags)
    challenge.difficulty = bundle.difficulty
    challenge.topic = bundle.topic
    challenge.task_type = bundle.task_type
    challenge.metric = bundle.metric
    challenge.greater_is_better = bundle.greater_is_better
    challenge.display_precision = bundle.display_precision
    spec = bundle.spec.to_dict()
    spec["max_bytes"] = rules.max_submission_bytes
    challenge.scoring_spec = spec
    challenge.kind = SubmissionKind(rules.kind)
    challenge.starts_at = rules.starts_at
    challenge.ends_at = rules.ends_at
    challenge.team_merge_deadline = rules.team_merge_deadline
    challenge.daily_limit = rules.daily_limit
    challenge.max_team_size = rules.max_team_size
    challenge.max_final_submissions = rules.max_final_submissions
    challenge.late_submissions = rules.late_submissions
    if bundle.writeup_md is not None:  # a bundle without writeup.md keeps the one written on the site
        challenge.writeup_md = bundle.writeup_md
    challenge.leaderboard_mode = rules.leaderboard.mode
    challenge.content_hash = bundle.content_hash
    challenge.solution_hash = bundle.solution_hash


def _rules_dict(bundle: Bundle, runtime_keys: dict[str, str], example_keys: dict[str, str],
                baseline_key: str | None = None) -> dict:
    rules = bundle.rules
    body = {"leaderboard": asdict(rules.leaderboard), "max_submission_bytes": rules.max_submission_bytes,
            "cloneable": rules.cloneable,
            "runtime_keys": runtime_keys, "example_keys": example_keys, **rules_of_bundle(bundle)}
    if bundle.baseline is not None:
        body["baseline"] = {"script": bundle.baseline.script.name, "key": baseline_key,
                            "score_min": bundle.baseline.score_min, "score_max": bundle.baseline.score_max}
    return body


def requeue_challenge(session: Session, challenge_id: int) -> list[tuple[int, int]]:
    """Put every finished submission of a challenge back in the queue; returns (id, attempt) to enqueue after commit."""
    ids = session.scalars(select(Submission.id).where(
        Submission.challenge_id == challenge_id,
        Submission.status.in_((SubmissionStatus.SCORED, SubmissionStatus.FAILED, SubmissionStatus.ERROR)))).all()
    out = []
    for submission_id in ids:
        attempt = requeue(session, submission_id)
        if attempt is not None:
            out.append((submission_id, attempt))
    return out
