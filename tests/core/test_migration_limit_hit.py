"""Upgrading to 0013 stores the limit that stopped each failed run, read once from its message."""

from sqlalchemy import text

from heldout.migrate import upgrade
from tests.core.migrations import NOW, insert_ada_and_a_code_challenge, insert_rows

# (status, the message the participant read) -> the limit stored.
STORED = [
    ("failed", "Your code was stopped in the hidden run: time limit of 600 s exceeded.", "time"),
    ("failed", "Scoring stopped because the submission was too large to score: memory limit of 2048 MiB exceeded.",
     "memory"),
    ("failed", "Your code was stopped in the visible run: process limit of 64 processes/threads reached.", "pids"),
    ("failed", "Your code was stopped: File size limit of 256 MiB exceeded.", "file_size"),
    ("failed", "Your policy was stopped in the hidden run: writable space exhausted (/tmp or /output is full).",
     "disk"),
    ("failed", "Your code was stopped in the visible run: printed more than 256 MiB to stdout/stderr.", "output"),
    ("failed", "Column 'y' has 3 missing values (column 'y')", None),
    ("failed", None, None),
    # A platform error or a scored run was stopped by no limit of the participant's, whatever the text says.
    ("error", "time limit of 600 s exceeded", None),
    ("scored", None, None),
]


def test_failed_runs_get_the_limit_their_message_names_and_no_other_row_gets_one(empty_database):
    upgrade(empty_database, "0006")
    with empty_database.begin() as c:
        insert_ada_and_a_code_challenge(c)
        insert_rows(c, "INSERT INTO submissions (id, challenge_id, team_id, user_id, kind, status, filename, file_key, "
                       "file_size, message, error, selected_final, created_at, queued_at, attempts) VALUES "
                       "(:id, 1, 1, 1, 'code', :status, 'f', 'k', 1, '', :error, false, :now, :now, 1)",
                    [{"id": i, "status": status, "error": error, "now": NOW}
                     for i, (status, error, _limit) in enumerate(STORED, start=1)])
    upgrade(empty_database)
    with empty_database.connect() as c:
        stored = dict(c.execute(text("SELECT id, limit_hit FROM submissions")).all())
        errors = dict(c.execute(text("SELECT id, error FROM submissions")).all())
    assert stored == {i: limit for i, (_s, _e, limit) in enumerate(STORED, start=1)}
    assert errors == {i: error for i, (_s, error, _l) in enumerate(STORED, start=1)}  # the messages are kept
