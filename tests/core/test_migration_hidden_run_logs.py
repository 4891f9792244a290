"""Upgrading to 0007 drops the logs code submissions kept from their hidden run; predictions keep theirs."""

from sqlalchemy import text

from heldout.migrate import upgrade
from tests.core.migrations import NOW, insert_ada_and_a_code_challenge, insert_rows


def test_code_submissions_lose_the_logs_of_their_hidden_run(empty_database):
    upgrade(empty_database, "0006")
    with empty_database.begin() as c:
        insert_ada_and_a_code_challenge(c)
        insert_rows(c, "INSERT INTO submissions (id, challenge_id, team_id, user_id, kind, status, filename, file_key, "
                       "file_size, message, logs, selected_final, created_at, queued_at, attempts) VALUES "
                       "(:id, 1, 1, 1, :kind, 'failed', 'f', 'k', 1, '', :logs, false, :now, :now, 1)",
                    [{"id": 1, "kind": "code", "logs": "ROW 40,0.123456 (a hidden row)", "now": NOW},
                     {"id": 2, "kind": "predictions", "logs": "kept", "now": NOW}])
    upgrade(empty_database)
    with empty_database.connect() as c:
        logs = dict(c.execute(text("SELECT id, logs FROM submissions")).all())
    assert logs == {1: None, 2: "kept"}
