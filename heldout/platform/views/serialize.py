"""Turning models into JSON. Private scores appear only once the challenge reveals them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import url_for
from sqlalchemy.orm import object_session

from heldout.leaderboard.late import WouldHavePlaced
from heldout.leaderboard.modes import BoardMode
from heldout.leaderboard.released import released_public_scores
from heldout.models import Challenge, LeaderboardMode, Submission
from heldout.platform.services import leaderboards
from heldout.platform.services.challenge_pages import ChallengeCard, ChallengePage
from heldout.platform.services.checks import CheckResult
from heldout.platform.services.practice import Roadmap
from heldout.platform.services.rules import Rules
from heldout.platform.services.submissions import visible_diagnostics
from heldout.platform.services.teams import TeamView
from heldout.platform.services.validation import ValidationView
from heldout.platform.services.writeups import Writeups


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def private_visible(challenge: Challenge) -> bool:
    # One reveal rule for every page and API: the leaderboards service's.
    return leaderboards.private_visible(challenge)


def standing_json(submission: Submission) -> dict | None:
    """Where a scored submission leaves its team (leaderboard.standing), with a link to that board page."""
    stand, page = leaderboards.where_you_stand(object_session(submission), submission)
    if stand is None:
        return None
    return {"rank": stand.rank, "holds_row": stand.holds_row, "teams": stand.teams, "team_rank": stand.team_rank,
            "score": stand.score, "previous_best": stand.previous_best, "change": stand.change,
            "improved": stand.improved,
            "leaderboard_url": url_for("challenges.leaderboard", slug=submission.challenge.slug,
                                       page=page if page and page > 1 else None, _anchor="my-team",
                                       _external=True)}


def placing_json(placed: WouldHavePlaced | None) -> dict | None:
    return None if placed is None else {"public": placed.public, "private": placed.private, "of": placed.of}


def submission_json(submission: Submission, *, position: int | None = None,
                    released: dict[int, float | None] | None = None, with_standing: bool = False,
                    placings: dict[int, WouldHavePlaced] | None = None) -> dict:
    """``released`` and ``placings``: from released_public_scores and leaderboards.late_placings, when a list is
    serialised (computed once for the list, not per row).

    ``with_standing`` adds where the submission leaves its team (one submission's page, not a list).
    """
    challenge = submission.challenge
    if released is None:
        released = released_public_scores(object_session(submission), [submission])
    if placings is None:
        placings = leaderboards.late_placings(object_session(submission), [submission])
    body = {
        "id": submission.id,
        "challenge": challenge.slug,
        "status": submission.status.value,
        "kind": submission.kind.value,
        "filename": submission.filename,
        "file_size": submission.file_size,
        "message": submission.message,
        # The learner's own validation score and how they found it (heldout.leaderboard.validation).
        "validation_score": submission.validation_score,
        "validation_note": submission.validation_note,
        "created_at": _iso(submission.created_at),
        "started_at": _iso(submission.started_at),
        "finished_at": _iso(submission.finished_at),
        "public_score": released.get(submission.id),
        "public_ci": ([submission.public_ci_low, submission.public_ci_high]
                      if submission.public_ci_low is not None and BoardMode.of(challenge).shows_interval else None),
        "error": submission.error,
        "error_detail": submission.error_detail,
        "limit_hit": submission.limit_hit.value if submission.limit_hit is not None else None,
        "queue_position": position,
        "queue_wait_s": submission.queue_wait_s,
        "run_s": submission.run_s,
        "peak_memory_bytes": submission.peak_memory_bytes,
        "selected_final": submission.selected_final,
        # Made by one of the challenge's hosts: scored, shown to its author, never ranked.
        "host": submission.host,
        # Made after the end: scored, never ranked; where it would have placed (null for any other).
        "late": submission.late,
        "would_have_placed": placing_json(placings.get(submission.id)),
    }
    if private_visible(challenge):
        body["private_score"] = submission.private_score
    body["diagnostics"] = visible_diagnostics(submission)
    if with_standing:
        body["standing"] = standing_json(submission)
    return body


def challenge_json(challenge: Challenge) -> dict:
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "summary": challenge.summary,
        "tags": challenge.tags,
        "difficulty": challenge.difficulty,
        "topic": challenge.topic,
        "task_type": challenge.task_type,
        "metric": challenge.metric,
        "greater_is_better": challenge.greater_is_better,
        "kind": challenge.kind.value,
        "starts_at": _iso(challenge.starts_at),
        "ends_at": _iso(challenge.ends_at),
        "daily_limit": challenge.daily_limit,
        "max_team_size": challenge.max_team_size,
        # A study group's own challenge: only its members see it (the pages show a "group only" badge).
        "group_only": challenge.group_id is not None,
        "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in challenge.files],
    }


def challenge_card_json(card: ChallengeCard) -> dict:
    """A challenge as the list shows it: its row plus phase, time left and team count."""
    return {**challenge_json(card.challenge), "phase": card.phase.value, "time_left": card.time_left,
            "team_count": card.team_count}


def challenge_detail_json(page: ChallengePage, *, file_url: Callable[[str], str]) -> dict:
    """Everything about one challenge: rules, metric, timeline, files (with download URLs) and the caller's quota."""
    challenge = page.challenge
    rules = challenge.rules or {}
    body = challenge_json(challenge)
    body.update({
        "description_md": challenge.description_md,
        "metric_summary": page.metric_summary,
        "submission_columns": page.format_columns,
        "entrypoint": page.format.entrypoint,
        "what_to_submit": page.format.summary,
        "phase": page.phase.value,
        "time_left": page.time_left,
        "team_count": page.team_count,
        "timeline": {"starts_at": _iso(challenge.starts_at), "ends_at": _iso(challenge.ends_at),
                     "phase": page.phase.value, "private_revealed": private_visible(challenge)},
        "rules": {
            "kind": challenge.kind.value,
            "daily_limit": challenge.daily_limit,
            "max_team_size": challenge.max_team_size,
            "max_final_submissions": challenge.max_final_submissions,
            "max_submission_bytes": rules.get("max_submission_bytes")
            or (challenge.scoring_spec or {}).get("max_bytes"),
            "leaderboard": rules.get("leaderboard") or {"mode": challenge.leaderboard_mode},
            "code": rules.get("code"),
            "late_submissions": bool(challenge.late_submissions),
            **rules_json(page.rules),
        },
        "files": [{"name": f.name, "size": f.size, "sha256": f.sha256, "url": file_url(f.name)}
                  for f in challenge.files],
        "my_team": page.team.name if page.team is not None else None,
        "remaining_today": page.remaining,
    })
    return body


def rules_json(rules: Rules) -> dict:
    """The rules panel's content (services.rules), as the API's challenge JSON carries it."""
    return {
        "starts_at": _iso(rules.starts_at), "ends_at": _iso(rules.ends_at), "time_left": rules.time_left,
        "merge_deadline": _iso(rules.merge_deadline), "remaining_today": rules.remaining_today,
        "resets_at": _iso(rules.resets_at), "finals": {"max": rules.max_finals, "how": rules.finals},
        "board": {"mode": rules.board_mode, "description": rules.board},
        "withheld": [{"what": w.what, "why": w.why} for w in rules.withheld],
        "late": rules.late or None,
    }


def _page_fields(board) -> dict:  # noqa: ANN001
    return {"page": board.page, "pages": board.pages, "total": board.total,
            "next_page": board.page + 1 if board.page < board.pages else None}


def public_board_json(board: leaderboards.PublicBoard) -> dict:
    rows = [{"rank": r.rank, "team": r.team, "score": r.score, "entries": r.entries,
             "last_entry_at": _iso(r.last_entry_at), "rank_change": r.rank_change,
             "ci": [r.ci_low, r.ci_high] if r.ci_low is not None else None, "group_rank": r.group_rank,
             "is_mine": r.is_mine} for r in board.rows]
    return {"board": "public", "mode": board.mode, "leaderboard": rows, **_page_fields(board)}


def private_board_json(board: leaderboards.PrivateBoard) -> dict:
    rows = [{"rank": r.rank, "team": r.team, "score": r.private_score, "public_rank": r.public_rank,
             "shake_up": r.shake_up, "group_rank": r.group_rank, "is_mine": r.is_mine} for r in board.rows]
    return {"board": "private", "leaderboard": rows, **_page_fields(board)}


def team_json(view: TeamView) -> dict:
    finals = view.finals
    return {
        "challenge": view.challenge_slug, "name": view.name, "is_leader": view.is_leader,
        "members": [{"username": m.username, "joined_at": _iso(m.joined_at), "is_leader": m.is_leader}
                    for m in view.members],
        "invite_code": view.invite_code, "max_team_size": view.max_team_size,
        "merge_deadline": _iso(view.merge_deadline), "teams_open": view.teams_open, "can_leave": view.can_leave,
        "daily_limit": view.daily_limit, "remaining_today": view.remaining_today, "host": view.host,
        "writeup": view.writeup,
        "finals": {
            "max": finals.max_finals, "selected": finals.selected, "automatic": finals.automatic,
            "closed": finals.closed, "closes_at": _iso(finals.closes_at),
            "candidates": [{"submission_id": c.submission_id, "filename": c.filename, "message": c.message,
                            "submitted_at": _iso(c.submitted_at), "public_score": c.public_score,
                            "selected": c.selected, "counts": c.counts} for c in finals.candidates],
        },
    }


def writeups_json(shown: Writeups) -> dict:
    # "score", not "private_score": the crawl of tests/platform/test_private_leaderboard_secrecy.py treats any
    # key naming "private" as private; this answer exists only after the reveal anyway (403 before).
    return {"organizer": shown.organizer,
            "teams": [{"team": w.team, "rank": w.rank, "score": w.private_score, "writeup": w.markdown,
                       "is_mine": w.is_mine} for w in shown.teams]}


def check_json(result: CheckResult) -> dict:
    return {"ok": True, "filename": result.filename, "kind": result.kind, "size": result.size,
            "rows": result.rows, "columns": result.columns, "message": result.message, "logs": result.logs}


def roadmap_json(roadmap: Roadmap, *, challenge_url: Callable[[str], str]) -> dict:
    """The practice roadmap (services.practice); ``progress`` is null for a caller without a token."""
    return {
        "signed_in": roadmap.signed_in,
        "topics": [{"topic": t.topic, "challenges": [{
            "slug": r.challenge.slug, "title": r.challenge.title, "difficulty": r.challenge.difficulty,
            "url": challenge_url(r.challenge.slug),
            "progress": r.progress.value if r.progress is not None else None,
            "progress_label": r.progress.label if r.progress is not None else None,
            "best_public_score": r.best_score, "baseline": r.baseline, "public_rank": r.rank,
            "teams_ranked": r.teams if r.rank is not None else None,
            "greater_is_better": r.challenge.greater_is_better} for r in t.challenges]}
            for t in roadmap.topics],
        "off_roadmap": roadmap.off_roadmap,
    }


def validation_json(view: ValidationView | None, challenge: Challenge) -> dict:
    """The team's validation versus leaderboard (services.validation), as the submissions page charts it.

    ``public`` is what the team was shown (rounded on a rounded board) and null on a ladder board; ``private``
    appears once the private scores are revealed.
    """
    mode = BoardMode.of(challenge)
    body: dict = {"challenge": challenge.slug, "metric": challenge.metric,
                  "greater_is_better": challenge.greater_is_better, "board_mode": mode.name.value,
                  "precision": mode.precision, "team": view is not None}
    if view is None:
        return {**body, "public_shown": mode.name is not LeaderboardMode.LADDER,
                "private_shown": private_visible(challenge),
                "board_note": None, "points": [], "public_correlation": None, "public_pairs": 0,
                "public_up_validation_down": [], "private": None,
                "summary": ["Your team has no submission on this challenge yet."]}
    c = view.comparison
    flagged = view.flagged
    points = []
    for p in c.points:
        point = {"submission_id": p.submission_id, "submitted_at": _iso(p.submitted_at),
                 "validation": p.validation, "validation_note": view.notes.get(p.submission_id),
                 "public": p.public, "public_up_validation_down": p.submission_id in flagged,
                 "late": p.submission_id in view.late}
        if view.private_shown:
            point["private"] = p.private
        points.append(point)
    return {**body, "public_shown": view.public_shown, "private_shown": view.private_shown,
            "board_note": view.board_note, "points": points, "public_correlation": c.public_correlation,
            "public_pairs": c.public_pairs, "public_up_validation_down": c.public_up_validation_down,
            "private": {"validation_correlation": c.validation_private_correlation,
                        "public_correlation": c.public_private_correlation, "pairs": c.private_pairs,
                        "closer": c.closer_to_private} if view.private_shown else None,
            "summary": view.summary}
