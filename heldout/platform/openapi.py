"""The OpenAPI 3.1 document of ``/api/v1``: the native API and the Kaggle-compatible methods.

Written out by hand as data, next to nothing else, so it reads as the contract
it is; ``tests/api/test_openapi.py`` runs schemathesis against the live app to
hold every route to it.
"""

from __future__ import annotations

import copy

from heldout.challenges.bundle_schema import TOPICS
from heldout.leaderboard.progress import Progress
from heldout.models import LeaderboardMode, SandboxLimit

PROGRESS = [mark.value for mark in Progress]

# -- building blocks ---------------------------------------------------------------------------------------------

STRING_OR_NULL = {"type": ["string", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}
NUMBER_OR_NULL = {"type": ["number", "null"]}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}

ERROR_CODES = {
    "invalid": "a parameter or field is malformed (see `field`)",
    "missing_token": "the route needs an API token and none was sent",
    "invalid_token": "the token is wrong, revoked, or not the basic-auth user's",
    "not_found": "no such challenge, file, submission or team, or one you may not see",
    "not_open": "the challenge does not take submissions yet",
    "closed": "the challenge no longer takes submissions",
    "daily_limit": "the team used the day's submissions (`Retry-After` says when the count resets)",
    "too_large": "the file is larger than the challenge's limit",
    "empty_file": "the file is empty",
    "upload_expired": "a Kaggle-style upload reservation is older than a day",
    "bad_roster": "a roster file has bad rows: `details.problems` lists each one's row, column and message",
    "private_hidden": "the private leaderboard is hidden until the challenge ends or its organizers reveal it",
    "not_scored": "only a scored submission can be a final one",
    "final_limit": "the team already selected as many final submissions as the challenge allows",
    "rate_limited": "too many requests (`Retry-After` says when to try again)",
    "unavailable": "a part of the platform is down; try again later",
}


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required is not None:
        schema["required"] = required
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK", headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int) -> dict:
    return {str(status): {"$ref": f"#/components/responses/Error{status}"} for status in statuses}


def _kaggle_errors(*statuses: int) -> dict:
    return {str(status): {"$ref": f"#/components/responses/KaggleError{status}"} for status in statuses}


PUBLIC = [{}, {"bearerAuth": []}, {"basicAuth": []}]
TOKEN = [{"bearerAuth": []}, {"basicAuth": []}]

SLUG = {"name": "slug", "in": "path", "required": True, "description": "the challenge's slug",
        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64}}
GROUP = {"name": "slug", "in": "path", "required": True, "description": "the study group's slug",
         "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": 64}}
MAX_ID = 2**31 - 1
SUBMISSION_ID = {"name": "submission_id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


def _page_params(default_per_page: int) -> list[dict]:
    return [
        {"name": "page", "in": "query", "description": "page number, from 1",
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "per_page", "in": "query", "description": "items per page",
         "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": default_per_page}},
    ]


PAGE_FIELDS = {"page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
               "next_page": INT_OR_NULL}

def _upload_body(min_length: int, *, dependent: dict | None = None, **more: dict) -> dict:
    schema = _obj({"file": {"type": "string", "format": "binary", "minLength": min_length,
                            "description": "the predictions CSV (or code: .py/.zip)"},
                   "message": {"type": "string", "description": "a note to yourself (the first 500 characters are "
                                                                "kept)"},
                   **more}, required=["file"])
    if dependent:
        schema["dependentRequired"] = dependent
    return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}


VALIDATION_FIELDS = {
    "validation_score": {"type": "string", "maxLength": 70,
                         "pattern": r"^[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,2})?$",
                         "description": "optional: your own validation score of this submission, in the challenge's "
                         "metric, as a decimal number such as `0.431` (empty: none); a non-number, NaN or an "
                         "infinity is refused (400 `invalid`, `field` names it) and nothing is stored"},
    "validation_note": {"type": "string", "maxLength": 120, "pattern": r"^[^\x00-\x1f\x7f\x85\u2028\u2029]*$",
                        "description": "optional, with a validation_score: one line (at most 120 characters) on how "
                        "you validated, e.g. `5-fold CV`; a longer or multi-line note, or a note without a score, "
                        "is refused"},
}
# An empty file is refused by a submission, but is a verdict ("empty") for the dry run.
SUBMIT_BODY = _upload_body(1, dependent={"validation_note": ["validation_score"]}, **VALIDATION_FIELDS)
CHECK_BODY = _upload_body(0)

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}}

# -- schemas -----------------------------------------------------------------------------------------------------

SCHEMAS = {
    "Error": _obj({
        # Not an enum: a new code must not break clients that only know the old ones.
        "code": {"type": "string",
                 "description": "stable, for programs: " + "; ".join(f"`{k}`: {v}" for k, v in ERROR_CODES.items())
                 + "; and for other HTTP errors the status's name, e.g. `method_not_allowed`"},
        "message": {"type": "string", "description": "for people"},
        "field": {"type": "string", "description": "the parameter, form field or header at fault"},
        "details": {"type": "object"},
    }, required=["code", "message"]),
    "KaggleError": _obj({
        "code": {"type": "integer", "description": "the HTTP status, as the Kaggle client expects"},
        "message": {"type": "string"},
        "reason": {"type": "string", "description": "Heldout's stable error code"},
        "field": {"type": "string"},
    }, required=["code", "message"]),
    "Me": _obj({"username": {"type": "string"}, "is_admin": {"type": "boolean"},
                "is_organizer": {"type": "boolean"}}, required=["username"]),
    "FileRef": _obj({"name": {"type": "string"}, "size": {"type": "integer"},
                     "sha256": {"type": "string"}}, required=["name", "size", "sha256"]),
    "Challenge": _obj({
        "slug": {"type": "string"}, "title": {"type": "string"}, "summary": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}}, "difficulty": {"type": "string"},
        "topic": {**STRING_OR_NULL, "description": "its topic on the practice roadmap (`GET /practice`); "
                  "null when it is not on the roadmap"},
        "task_type": {"type": "string"}, "metric": {"type": "string"}, "greater_is_better": {"type": "boolean"},
        "kind": {"type": "string", "enum": ["predictions", "code"]},
        "starts_at": TIME_OR_NULL, "ends_at": TIME_OR_NULL, "daily_limit": {"type": "integer"},
        "max_team_size": {"type": "integer"},
        "group_only": {"type": "boolean", "description": "a study group's own challenge, seen by its members only"},
        "files": {"type": "array", "items": _ref("FileRef")},
        "phase": {"type": "string", "enum": ["upcoming", "active", "closed"]},
        "time_left": STRING_OR_NULL, "team_count": {"type": "integer"},
    }, required=["slug", "title", "metric", "kind", "files"]),
    "ChallengeList": _obj({"challenges": {"type": "array", "items": _ref("Challenge")}, **PAGE_FIELDS},
                          required=["challenges", "page", "per_page", "total", "next_page"]),
    "ChallengeDetail": {"allOf": [_ref("Challenge"), _obj({
        "description_md": {"type": "string"}, "metric_summary": {"type": "string"},
        "submission_columns": {"type": "array", "items": {"type": "string"}},
        "entrypoint": {**STRING_OR_NULL, "description": "code challenges: the file run (predict.py, or a policy.py "
                       "defining act() for reinforcement learning); null for predictions"},
        "what_to_submit": {"type": "string", "description": "one sentence: what to upload"},
        "timeline": _obj({"starts_at": TIME_OR_NULL, "ends_at": TIME_OR_NULL, "phase": {"type": "string"},
                          "private_revealed": {"type": "boolean"}}),
        "rules": _obj({"kind": {"type": "string"}, "daily_limit": {"type": "integer"},
                       "max_team_size": {"type": "integer"}, "max_final_submissions": {"type": "integer"},
                       "max_submission_bytes": INT_OR_NULL, "leaderboard": {"type": "object"},
                       "code": {"type": ["object", "null"]},
                       "starts_at": TIME_OR_NULL, "ends_at": TIME_OR_NULL, "time_left": STRING_OR_NULL,
                       "merge_deadline": TIME_OR_NULL,
                       "remaining_today": {**INT_OR_NULL, "description": "null without a token"},
                       "resets_at": {"type": "string", "format": "date-time",
                                     "description": "when the daily count resets (the next 00:00 UTC)"},
                       "finals": _obj({"max": {"type": "integer"}, "how": {"type": "string"}}),
                       "board": _obj({"mode": {"type": "string", "enum": [mode.value for mode in LeaderboardMode]},
                                      "description": {"type": "string"}}),
                       "withheld": {"type": "array", "description": "what is kept back, and why",
                                    "items": _obj({"what": {"type": "string"}, "why": {"type": "string"}})},
                       "late_submissions": {"type": "boolean", "description": "whether submissions after the "
                                            "end are taken (marked late, never ranked)"},
                       "late": {**STRING_OR_NULL, "description": "what happens after the end, in a sentence"}}),
        "files": {"type": "array", "items": {"allOf": [_ref("FileRef"), _obj({"url": {"type": "string"}})]}},
        "my_team": STRING_OR_NULL, "remaining_today": INT_OR_NULL,
    }, required=["rules", "timeline", "files"])]},
    "Submission": _obj({
        "id": {"type": "integer"}, "challenge": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "scored", "failed", "error"]},
        "kind": {"type": "string"}, "filename": {"type": "string"}, "file_size": {"type": "integer"},
        "message": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"},
        "validation_score": {**NUMBER_OR_NULL, "description": "the validation score you gave with it"},
        "validation_note": {**STRING_OR_NULL, "description": "how you said you validated"},
        "started_at": TIME_OR_NULL, "finished_at": TIME_OR_NULL,
        "public_score": NUMBER_OR_NULL, "public_ci": {"type": ["array", "null"], "items": {"type": "number"}},
        "private_score": {**NUMBER_OR_NULL, "description": "present only once the private leaderboard is revealed"},
        "error": STRING_OR_NULL, "error_detail": {"type": ["object", "null"]},
        "limit_hit": {"type": ["string", "null"], "enum": [*(limit.value for limit in SandboxLimit), None],
                      "description": "the sandbox limit that stopped a failed run (time, memory, pids: processes "
                                     "and threads, file_size, disk: writable space, output: printed output)"},
        "queue_position": INT_OR_NULL,
        "queue_wait_s": NUMBER_OR_NULL, "run_s": NUMBER_OR_NULL, "peak_memory_bytes": INT_OR_NULL,
        "selected_final": {"type": "boolean"}, "url": {"type": "string", "description": "this API resource"},
        "html_url": {"type": "string", "description": "the submission's web page"},
        "host": {"type": "boolean", "description": "made by one of the challenge's hosts (its admins, the organizer "
                 "who published it, the lead of the group that owns it): scored and shown to its author, never "
                 "ranked on any leaderboard"},
        "late": {"type": "boolean", "description": "made after the challenge's end: scored on both splits, never "
                 "ranked, never a final, and never moves a leaderboard (nor how teams moved between them) or "
                 "the team count"},
        "would_have_placed": {"oneOf": [{"type": "null"}, _obj({
            "public": {**INT_OR_NULL, "description": "its rank on the public board, had it been the team's entry"},
            "private": {**INT_OR_NULL, "description": "its rank on the final private board (once revealed)"},
            "of": {"type": "integer", "description": "teams on the boards, the submitter's included"}})],
            "description": "a scored late submission's places, ties broken as the boards break them (a late "
                           "submission is later than every ranked one); null for any other submission"},
        "diagnostics": {"type": ["object", "null"], "description":
                        "public split only, on classic leaderboards: confusion (labels, matrix), "
                        "calibration (bins), residuals (bins, histogram)"},
        "standing": {"oneOf": [{"type": "null"}, _obj({
            "rank": {"type": "integer", "description": "the team's public rank with this submission as its row"},
            "holds_row": {"type": "boolean", "description": "whether this submission is the team's row now"},
            "teams": {"type": "integer"}, "team_rank": INT_OR_NULL,
            "score": {"type": "number", "description": "the score the board shows for this submission"},
            "previous_best": NUMBER_OR_NULL, "change": NUMBER_OR_NULL, "improved": {"type": ["boolean", "null"]},
            "leaderboard_url": {"type": "string"}})],
            "description": "one submission's responses only, once it is scored: where it leaves the team, in the "
                           "board's own terms (rounded or laddered scores on those boards)"},
    }, required=["id", "challenge", "status", "filename", "created_at", "url"]),
    "Validation": _obj({
        "challenge": {"type": "string"}, "metric": {"type": "string"}, "greater_is_better": {"type": "boolean"},
        "board_mode": {"type": "string", "enum": [m.value for m in LeaderboardMode]},
        "precision": {"type": "integer", "description": "decimals the board shows public scores with"},
        "team": {"type": "boolean", "description": "whether you have a team here (no points without one)"},
        "public_shown": {"type": "boolean", "description": "false on a ladder board, which shows no public score "
                         "per submission: `public` is then null everywhere"},
        "private_shown": {"type": "boolean", "description": "whether the private scores are revealed"},
        "board_note": {**STRING_OR_NULL, "description": "what the board mode leaves out of the comparison"},
        "points": {"type": "array", "description": "your team's scored submissions, in the order made", "items": _obj({
            "submission_id": {"type": "integer"}, "submitted_at": {"type": "string", "format": "date-time"},
            "validation": NUMBER_OR_NULL, "validation_note": STRING_OR_NULL,
            "public": {**NUMBER_OR_NULL, "description": "as the board shows it (rounded on a rounded board)"},
            "private": {**NUMBER_OR_NULL, "description": "present once the private scores are revealed"},
            "public_up_validation_down": {"type": "boolean", "description": "its public score beat the previous "
                                          "submission's (with both scores) while its validation score was worse"},
            "late": {"type": "boolean", "description": "made after the end: on no board, but compared like the "
                     "team's other submissions"}},
            required=["submission_id", "validation", "public", "public_up_validation_down"])},
        "public_correlation": {**NUMBER_OR_NULL, "description": "Spearman's rank correlation of validation and "
                               "public scores; null below three submissions with both, or when one side is all "
                               "equal"},
        "public_pairs": {"type": "integer"},
        "public_up_validation_down": {"type": "array", "items": {"type": "integer"}},
        "private": {"oneOf": [{"type": "null"}, _obj({
            "validation_correlation": NUMBER_OR_NULL, "public_correlation": NUMBER_OR_NULL,
            "pairs": {"type": "integer"},
            "closer": {"type": ["string", "null"], "enum": ["validation", "public", "equal", None],
                       "description": "which ranked your submissions closer to the private order"}})],
            "description": "null until the private scores are revealed"},
        "summary": {"type": "array", "items": {"type": "string"}, "description": "the same, in sentences"},
    }, required=["challenge", "board_mode", "public_shown", "private_shown", "points", "summary"]),
    "SubmissionLogs": _obj({"id": {"type": "integer"}, "challenge": {"type": "string"}, "status": {"type": "string"},
                            "logs": {**STRING_OR_NULL, "description": "null when the run wrote nothing the team "
                                     "may read (predictions are scored by Heldout alone)"},
                            "html_url": {"type": "string"}}, required=["id", "status", "logs"]),
    "SubmissionList": _obj({"challenge": {"type": "string"}, "remaining_today": {"type": "integer"},
                            "submissions": {"type": "array", "items": _ref("Submission")}, **PAGE_FIELDS},
                           required=["submissions", "remaining_today"]),
    "CheckResult": _obj({"ok": {"type": "boolean", "description": "whether the file would be accepted"},
                         "filename": {"type": "string"}, "kind": {"type": "string"}, "size": {"type": "integer"},
                         "rows": INT_OR_NULL, "columns": {"type": "array", "items": {"type": "string"}},
                         "message": {"type": "string", "description": "what the check found, or what to fix"},
                         "logs": {"type": ["string", "null"],
                                  "description": "code: what the visible run (the code on the public example "
                                                 "data, at most 30 s) printed"},
                         "details": _obj({"column": STRING_OR_NULL, "rows": {"type": "array",
                                                                             "items": {"type": "integer"}},
                                          "logs": {"type": "string"}})},
                        required=["ok", "message"]),
    "LeaderboardRow": _obj({"rank": {"type": "integer"}, "team": {"type": "string"}, "score": {"type": "number"},
                            "entries": {"type": "integer"}, "last_entry_at": TIME_OR_NULL,
                            "rank_change": INT_OR_NULL, "ci": {"type": ["array", "null"], "items": {"type": "number"}},
                            "public_rank": INT_OR_NULL, "shake_up": INT_OR_NULL, "group_rank": INT_OR_NULL,
                            "is_mine": {"type": "boolean"}},
                           required=["rank", "team", "score"]),
    "Leaderboard": _obj({"challenge": {"type": "string"}, "board": {"type": "string", "enum": ["public", "private"]},
                         "group": STRING_OR_NULL, "mode": {"type": "string"},
                         "leaderboard": {"type": "array", "items": _ref("LeaderboardRow")},
                         "page": {"type": "integer"}, "pages": {"type": "integer"}, "total": {"type": "integer"},
                         "next_page": INT_OR_NULL},
                        required=["challenge", "board", "leaderboard", "page", "pages", "total", "next_page"]),
    "Team": _obj({
        "challenge": {"type": "string"}, "name": STRING_OR_NULL, "is_leader": {"type": "boolean"},
        "members": {"type": "array", "items": _obj({"username": {"type": "string"}, "joined_at": TIME_OR_NULL,
                                                    "is_leader": {"type": "boolean"}})},
        "invite_code": STRING_OR_NULL, "max_team_size": {"type": "integer"}, "merge_deadline": TIME_OR_NULL,
        "teams_open": {"type": "boolean"}, "can_leave": {"type": "boolean"}, "daily_limit": {"type": "integer"},
        "remaining_today": {"type": "integer"},
        "host": {"type": "boolean", "description": "the user hosts this challenge: may submit, is never ranked, "
                 "cannot create or join a team"},
        "writeup": {**STRING_OR_NULL, "description": "the team's Markdown write-up of its final submissions; "
                    "others read it once the private leaderboard is revealed"},
        "finals": _obj({"max": {"type": "integer"}, "selected": {"type": "integer"}, "automatic": {"type": "boolean"},
                        "closed": {"type": "boolean"}, "closes_at": TIME_OR_NULL,
                        "candidates": {"type": "array", "items": _obj({
                            "submission_id": {"type": "integer"}, "filename": {"type": "string"},
                            "public_score": NUMBER_OR_NULL, "selected": {"type": "boolean"},
                            "counts": {"type": "boolean"}})}}),
    }, required=["challenge", "name", "members", "finals"]),
}

KAGGLE_SCHEMAS = {
    "Practice": _obj({
        "signed_in": {"type": "boolean", "description": "whether a token was sent: `progress` is null without"},
        "topics": {"type": "array", "description": "every roadmap topic, in roadmap order, empty ones included",
                   "items": _obj({
                       "topic": {"type": "string", "enum": list(TOPICS)},
                       "challenges": {"type": "array", "items": _obj({
                           "slug": {"type": "string"}, "title": {"type": "string"},
                           "difficulty": {"type": "string"}, "url": {"type": "string"},
                           "progress": {"type": ["string", "null"], "enum": [*PROGRESS, None],
                                        "description": "the caller's team's mark: `not_tried`; `tried` (any "
                                        "submission, late ones included); `beat_baseline` (its best public "
                                        "score as the board shows it beats the bundle's baseline); "
                                        "`top_10_percent` (its row is in the public board's first tenth; "
                                        "host and late submissions never stand on the board)"},
                           "progress_label": STRING_OR_NULL,
                           "best_public_score": {**NUMBER_OR_NULL, "description": "as the board shows it"},
                           "baseline": {**NUMBER_OR_NULL, "description": "the score to beat"},
                           "public_rank": INT_OR_NULL, "teams_ranked": INT_OR_NULL,
                           "greater_is_better": {"type": "boolean"}},
                           required=["slug", "title", "url", "progress"])}},
                       required=["topic", "challenges"])},
        "off_roadmap": {"type": "integer", "description": "challenges you may see that declare no topic"},
    }, required=["signed_in", "topics"]),
    "KaggleCompetition": _obj({"id": {"type": "integer"}, "ref": {"type": "string"}, "title": {"type": "string"},
                               "deadline": TIME_OR_NULL, "teamCount": {"type": "integer"},
                               "userHasEntered": {"type": "boolean"}, "userRank": INT_OR_NULL},
                              required=["ref", "title"]),
    "KaggleSubmission": _obj({"ref": {"type": "integer"}, "fileName": {"type": "string"},
                              "date": {"type": "string"}, "description": {"type": "string"},
                              "status": {"type": "string", "enum": ["PENDING", "COMPLETE", "ERROR"]},
                              "publicScore": STRING_OR_NULL, "privateScore": STRING_OR_NULL},
                             required=["ref", "status"]),
}

# -- the native API ----------------------------------------------------------------------------------------------

PATHS = {
    "/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document.", "security": PUBLIC, "tags": ["meta"],
        "responses": {"200": _json({"type": "object"})}}},
    "/me": {"get": {
        "operationId": "whoami", "summary": "The token's user.", "security": TOKEN, "tags": ["account"],
        "responses": {"200": _json(_ref("Me")), **_errors(401, 429)}}},
    "/practice": {"get": {
        "operationId": "getPractice", "summary": "The practice roadmap: its topics in order, their challenges, "
        "and with a token how far your team got on each.", "security": PUBLIC, "tags": ["challenges"],
        "responses": {"200": _json(_ref("Practice")), **_errors(401, 429)}}},
    "/challenges": {"get": {
        "operationId": "listChallenges", "summary": "Challenges you may see, newest first.", "security": PUBLIC,
        "tags": ["challenges"],
        "parameters": [
            {"name": "search", "in": "query", "description": "words that must all appear in the slug, title, "
             "summary or tags", "schema": {"type": "string"}},
            {"name": "tag", "in": "query", "schema": {"type": "string"}},
            {"name": "difficulty", "in": "query", "schema": {"type": "string"}},
            {"name": "task_type", "in": "query", "schema": {"type": "string"}},
            {"name": "phase", "in": "query", "schema": {"type": "string", "enum": ["upcoming", "active", "closed"]}},
            *_page_params(20)],
        "responses": {"200": _json(_ref("ChallengeList")), **_errors(400, 401, 429)}}},
    "/challenges/{slug}": {"get": {
        "operationId": "getChallenge", "summary": "One challenge: rules, metric, timeline and files.",
        "security": PUBLIC, "tags": ["challenges"], "parameters": [SLUG],
        "responses": {"200": _json(_ref("ChallengeDetail")), **_errors(401, 404, 429)}}},
    "/challenges/{slug}/files/{name}": {"get": {
        "operationId": "downloadFile", "summary": "Download one data file (supports Range requests).",
        "security": PUBLIC, "tags": ["challenges"],
        "parameters": [SLUG, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "the file", "headers": {"Content-Length": {"schema": {"type": "integer"}},
                                                             "ETag": {"schema": {"type": "string"}}},
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
            "206": {"description": "the requested byte range",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
            "304": {"description": "not modified"},
            "416": {"description": "the range is outside the file"},
            **_errors(401, 404, 429)}}},
    "/challenges/{slug}/files.zip": {"get": {
        "operationId": "downloadArchive", "summary": "Every data file in one zip.", "security": PUBLIC,
        "tags": ["challenges"], "parameters": [SLUG],
        "responses": {
            "200": {"description": "the zip", "content": {"application/zip": {
                "schema": {"type": "string", "format": "binary"}}}},
            "206": {"description": "the requested byte range", "content": {"application/zip": {
                "schema": {"type": "string", "format": "binary"}}}},
            "304": {"description": "not modified"},
            "416": {"description": "the range is outside the file"},
            **_errors(401, 404, 429)}}},
    "/challenges/{slug}/leaderboard": {"get": {
        "operationId": "getLeaderboard", "summary": "The public leaderboard, or the private one once revealed; "
        "with `group`, only the teams of a study group you belong to.",
        "security": PUBLIC, "tags": ["leaderboards"],
        "parameters": [SLUG, {"name": "private", "in": "query", "schema": {"type": "boolean", "default": False}},
                       {"name": "group", "in": "query", "description": "a study group's slug",
                        "schema": {"type": "string"}}, *_page_params(100)],
        "responses": {"200": _json(_ref("Leaderboard")), **_errors(400, 401, 403, 404, 429)}}},
    "/challenges/{slug}/team": {"get": {
        "operationId": "getTeam", "summary": "Your team: members, invite code, quota and final submissions.",
        "security": TOKEN, "tags": ["teams"], "parameters": [SLUG],
        "responses": {"200": _json(_ref("Team")), **_errors(401, 404, 429)}}},
    "/challenges/{slug}/team/writeup": {"put": {
        "operationId": "setTeamWriteup", "summary": "Attach your team's write-up (Markdown, up to 10,000 characters) "
        "to its final submissions; an empty one removes it. Others read it once the private leaderboard is revealed.",
        "security": TOKEN, "tags": ["teams"], "parameters": [SLUG],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
            {"writeup": {"type": "string"}}, required=["writeup"])}}},
        "responses": {"200": _json(_ref("Team")), **_errors(400, 401, 404, 429)}}},
    "/challenges/{slug}/writeups": {"get": {
        "operationId": "getWriteups", "summary": "The organizer's write-up and the teams', by private rank: 403 "
        "`private_hidden` until the private leaderboard is revealed.",
        "security": PUBLIC, "tags": ["leaderboards"], "parameters": [SLUG],
        "responses": {"200": _json(_obj({
            "challenge": {"type": "string"},
            "organizer": {**STRING_OR_NULL, "description": "Markdown"},
            "teams": {"type": "array", "items": _obj({
                "team": {"type": "string"}, "rank": {**INT_OR_NULL, "description": "on the final board"},
                "score": NUMBER_OR_NULL, "writeup": {"type": "string", "description": "Markdown"},
                "is_mine": {"type": "boolean"}})}})), **_errors(401, 403, 404, 429)}}},
    "/challenges/{slug}/submissions": {
        "post": {
            "operationId": "submit", "summary": "Submit a file; it is queued for scoring.", "security": TOKEN,
            "tags": ["submissions"], "parameters": [SLUG], "requestBody": SUBMIT_BODY,
            "responses": {"202": _json(_ref("Submission"), "queued", headers={
                "Location": {"description": "the submission's URL", "schema": {"type": "string"}}}),
                **_errors(400, 401, 403, 404, 413, 429)}},
        "get": {
            "operationId": "listSubmissions", "summary": "Your team's submissions, newest first.", "security": TOKEN,
            "tags": ["submissions"], "parameters": [SLUG, *_page_params(50)],
            "responses": {"200": _json(_ref("SubmissionList")), **_errors(400, 401, 404, 429)}}},
    "/challenges/{slug}/validation": {"get": {
        "operationId": "getValidation", "summary": "Validation versus leaderboard: your team's validation scores "
        "against its public scores (as the board shows them), their rank correlation, the submissions that improved "
        "on the public board while validation got worse, and after the reveal which of the two ranked your "
        "submissions closer to the private order.", "security": TOKEN, "tags": ["submissions"],
        "parameters": [SLUG], "responses": {"200": _json(_ref("Validation")), **_errors(401, 404, 429)}}},
    "/challenges/{slug}/check": {"post": {
        "operationId": "checkSubmission",
        "summary": "Dry run: would this file be accepted? Code is run on the public example data. Uses no quota.",
        "security": TOKEN, "tags": ["submissions"], "parameters": [SLUG], "requestBody": CHECK_BODY,
        "responses": {"200": _json(_ref("CheckResult"), "the verdict: `ok` false says what to fix"),
                      **_errors(400, 401, 404, 413, 429, 503)}}},
    "/submissions/{submission_id}": {"get": {
        "operationId": "getSubmission", "summary": "One submission: status, scores, error and timings.",
        "security": TOKEN, "tags": ["submissions"], "parameters": [SUBMISSION_ID],
        "responses": {"200": _json(_ref("Submission")), **_errors(401, 404, 429)}}},
    "/submissions/{submission_id}/logs": {"get": {
        "operationId": "getSubmissionLogs", "summary": "The logs of a code submission that its team may read.",
        "security": TOKEN, "tags": ["submissions"], "parameters": [SUBMISSION_ID],
        "responses": {"200": _json(_ref("SubmissionLogs")), **_errors(401, 404, 429)}}},
    "/submissions/{submission_id}/final": {
        "put": {
            "operationId": "selectFinal", "summary": "Select a scored submission as one of your team's finals.",
            "security": TOKEN, "tags": ["teams"], "parameters": [SUBMISSION_ID],
            "responses": {"200": _json(_ref("Submission")), **_errors(400, 401, 403, 404, 409, 429)}},
        "delete": {
            "operationId": "unselectFinal", "summary": "Unselect a final submission.",
            "security": TOKEN, "tags": ["teams"], "parameters": [SUBMISSION_ID],
            "responses": {"200": _json(_ref("Submission")), **_errors(400, 401, 403, 404, 429)}}},
    "/groups/{slug}/roster": {"post": {
        "operationId": "importRoster",
        "summary": "Import a study group's roster (the lead only): existing accounts are added, everyone else "
        "gets a personal invite link; one bad row and nothing is imported (`bad_roster`, with every problem's "
        "row, column and message in `details.problems`). Importing the same roster again changes nothing.",
        "security": TOKEN, "tags": ["groups"], "parameters": [GROUP],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _obj(
            {"file": {"type": "string", "format": "binary",
                      "description": "the roster CSV: a header with `username` or `email` (or both) and "
                                     "optionally `display_name`; UTF-8, at most 2,000 rows"}},
            required=["file"])}}},
        "responses": {"200": _json(_obj({"group": {"type": "string"}, "added": {"type": "integer"},
                                         "invited": {"type": "integer"}, "unchanged": {"type": "integer"},
                                         "roster_url": {"type": "string"}},
                                        required=["group", "added", "invited", "unchanged"])),
                      **_errors(400, 401, 403, 404, 409, 413, 429)}}},
    "/groups/{slug}/roster.csv": {"get": {
        "operationId": "exportRoster",
        "summary": "A study group's roster as CSV (the lead only): username, email, display_name, status "
        "(added, joined, invited, left), joined_at and each unused personal invite link.",
        "security": TOKEN, "tags": ["groups"], "parameters": [GROUP],
        "responses": {"200": {"description": "the roster", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_errors(401, 403, 404, 429)}}},
    "/groups/{slug}/challenges/{challenge}/grades.csv": {"get": {
        "operationId": "getGrades",
        "summary": "A study group challenge's grades as CSV (the group's lead only; another group's lead finds "
        "nothing): one row per member with username, display_name, team, best_public_score, private_score, "
        "private_rank, tie_band (members whose private bootstrap intervals overlap the one above share a band), "
        "submissions, late, on_extension, and provisional (`yes` until the private board is revealed).",
        "security": TOKEN, "tags": ["groups"],
        "parameters": [GROUP, {"name": "challenge", "in": "path", "required": True,
                               "description": "the group challenge's slug", "schema": SLUG["schema"]}],
        "responses": {"200": {"description": "the grades", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_errors(401, 403, 404, 429)}}},
}

# -- the Kaggle client's methods ---------------------------------------------------------------------------------


def _kaggle(operation_id: str, summary: str, properties: dict, response: dict, *, required=None,  # noqa: ANN001
            errors=(400, 401, 404, 429)) -> dict:
    if required is None:
        required = ["competitionName"] if "competitionName" in properties else []
    return {"post": {
        "operationId": f"kaggle{operation_id}", "summary": summary, "security": TOKEN, "tags": ["kaggle"],
        "requestBody": {"required": bool(required), "content": {"application/json": {
            "schema": _obj(properties, required)}}},
        "responses": {**response, **_kaggle_errors(*errors)}}}


COMPETITION_NAME = {"competitionName": {"type": "string", "pattern": "\\S", "description": "the challenge's slug"}}
KAGGLE_PAGE = {"page": {"type": "integer", "minimum": 1},
               "pageSize": {"type": "integer", "description": "clamped to 1..100"},
               "pageToken": {"type": "string", "pattern": "^([1-9][0-9]{0,8})?$",
                             "description": "the nextPageToken of the previous page"}}
REDIRECT = {"302": {"description": "to the native download URL", "headers": {
    "Location": {"schema": {"type": "string"}}}}}
SERVICE = "/competitions.CompetitionApiService"

KAGGLE_PATHS = {
    f"{SERVICE}/ListCompetitions": _kaggle("ListCompetitions", "kaggle competitions list",
                                           {"search": {"type": "string"}, **KAGGLE_PAGE},
                                           {"200": _json(_obj({"competitions": {
                                               "type": "array", "items": _ref("KaggleCompetition")},
                                               "nextPageToken": {"type": "string"}}))}),
    f"{SERVICE}/GetCompetition": _kaggle("GetCompetition", "one competition", COMPETITION_NAME,
                                         {"200": _json(_ref("KaggleCompetition"))}),
    f"{SERVICE}/ListDataFiles": _kaggle("ListDataFiles", "kaggle competitions files",
                                        {**COMPETITION_NAME, **KAGGLE_PAGE},
                                        {"200": _json(_obj({"files": {"type": "array", "items": _obj({
                                            "name": {"type": "string"}, "totalBytes": {"type": "integer"}})},
                                            "nextPageToken": {"type": "string"}}))}),
    f"{SERVICE}/DownloadDataFiles": _kaggle("DownloadDataFiles", "kaggle competitions download (all files)",
                                            COMPETITION_NAME, REDIRECT),
    f"{SERVICE}/DownloadDataFile": _kaggle("DownloadDataFile", "kaggle competitions download -f FILE",
                                           {**COMPETITION_NAME, "fileName": {"type": "string", "minLength": 1}},
                                           REDIRECT,
                                           required=["competitionName", "fileName"]),
    f"{SERVICE}/StartSubmissionUpload": _kaggle(
        "StartSubmissionUpload", "reserve an upload for kaggle competitions submit",
        {**COMPETITION_NAME, "fileName": {"type": "string"}, "contentLength": {"type": "integer"},
         "lastModifiedEpochSeconds": {"type": "integer"}},
        {"200": _json(_obj({"token": {"type": "string"}, "createUrl": {"type": "string"}},
                           required=["token", "createUrl"]))}, errors=(400, 401, 403, 404, 413, 429)),
    f"{SERVICE}/CreateSubmission": _kaggle(
        "CreateSubmission", "make the submission from an upload",
        {**COMPETITION_NAME, "blobFileTokens": {"type": "string"}, "submissionDescription": {"type": "string"}},
        {"200": _json(_obj({"message": {"type": "string"}, "ref": {"type": "integer"}}, required=["message", "ref"]))},
        required=["competitionName", "blobFileTokens"], errors=(400, 401, 403, 404, 413, 429)),
    f"{SERVICE}/GetSubmissionLimits": _kaggle("GetSubmissionLimits", "submissions left today", COMPETITION_NAME,
                                              {"200": _json(_obj({"numToday": {"type": "integer"},
                                                                  "numTotal": {"type": "integer"},
                                                                  "numAllowedNow": {"type": "integer"},
                                                                  "limitedByTotal": {"type": "boolean"}}))}),
    f"{SERVICE}/ListSubmissions": _kaggle("ListSubmissions", "kaggle competitions submissions",
                                          {**COMPETITION_NAME, **KAGGLE_PAGE, "group": {"type": "string"},
                                           "sortBy": {"type": "string"}},
                                          {"200": _json(_obj({"submissions": {
                                              "type": "array", "items": _ref("KaggleSubmission")},
                                              "nextPageToken": {"type": "string"}}))}),
    f"{SERVICE}/GetSubmission": _kaggle("GetSubmission", "one submission",
                                        {"ref": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
                                        {"200": _json(_ref("KaggleSubmission"))}, required=["ref"]),
    f"{SERVICE}/GetLeaderboard": _kaggle("GetLeaderboard", "kaggle competitions leaderboard --show",
                                         {**COMPETITION_NAME, **KAGGLE_PAGE, "overridePublic": {"type": "boolean"}},
                                         {"200": _json(_obj({"submissions": {"type": "array", "items": _obj({
                                             "teamId": {"type": "integer"}, "teamName": {"type": "string"},
                                             "submissionDate": TIME_OR_NULL, "score": STRING_OR_NULL})},
                                             "nextPageToken": {"type": "string"}}))}),
    f"{SERVICE}/DownloadLeaderboard": _kaggle("DownloadLeaderboard", "kaggle competitions leaderboard --download: "
                                              "the whole public board as SLUG.zip holding "
                                              "SLUG-publicleaderboard.csv (TeamId, TeamName, SubmissionDate, Score)",
                                              COMPETITION_NAME, {"200": {"description": "the board as a zip",
                                                                         "content": {"application/zip": {
                                                                             "schema": {"type": "string",
                                                                                        "format": "binary"}}}}}),
    "/security.OAuthService/IntrospectToken": {"post": {
        "operationId": "kaggleIntrospectToken", "summary": "who a token belongs to (for KAGGLE_API_TOKEN)",
        "security": PUBLIC, "tags": ["kaggle"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _obj(
            {"token": {"type": "string"}}, required=["token"])}}},
        "responses": {"200": _json(_obj({"active": {"type": "boolean"}, "username": {"type": "string"}},
                                        required=["active"])), **_kaggle_errors(400, 401, 429)}}},
    "/kaggle-uploads/{token}": {"put": {
        "operationId": "kaggleUpload", "summary": "the upload URL StartSubmissionUpload hands out; the token is "
        "the credential", "security": [{}], "tags": ["kaggle"],
        "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": _json({"type": "object"}), **_kaggle_errors(400, 404, 413, 429)}}},
}


def _error_response(status: int, schema: str) -> dict:
    headers = RETRY_AFTER if status in (429, 503) else None
    return _json(_ref(schema), f"an error ({status})", headers=headers)


RESPONSES = {
    **{f"Error{s}": _error_response(s, "Error") for s in (400, 401, 403, 404, 409, 413, 429, 503)},
    **{f"KaggleError{s}": _error_response(s, "KaggleError") for s in (400, 401, 403, 404, 413, 429)},
}


def openapi_document(server_url: str = "/api/v1") -> dict:
    """The document, with ``server_url`` as its one server."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {
            "title": "Heldout API", "version": "1",
            "description": "Practice ML competitions. Authenticate with an API token (account page, or "
                           "`heldout tokens create NAME`) as `Authorization: Bearer <token>`, or as HTTP basic "
                           "auth with your username and the token. Errors are JSON: `{code, message, field?, "
                           "details?}`; the codes are: "
                           + "; ".join(f"`{k}` ({v})" for k, v in ERROR_CODES.items())
                           + ". The `kaggle` operations speak the Kaggle client's protocol.",
        },
        "servers": [{"url": server_url}],
        "paths": {**PATHS, **KAGGLE_PATHS},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "a Heldout API token"},
                "basicAuth": {"type": "http", "scheme": "basic",
                              "description": "your username, and an API token as the password"},
            },
            "schemas": {**SCHEMAS, **KAGGLE_SCHEMAS},
            "responses": RESPONSES,
        },
    })
