"""Upgrading to 0007 drops the logs code submissions kept from their hidden run; predictions keep theirs."""

from sqlalchemy import text

from heldout.migrate import upgrade
from tests.core.test_migration_host_submissions import NOW, _rows, empty_database  # noqa: F401 - a fixture


def test_code_submissions_lose_the_logs_of_their_hidden_run(empty_database):  # noqa: F811
    upgrade(empty_database, "0006")
    with empty_database.begin() as c:
        c.execute(text("INSERT INTO users (id, username, password_hash, is_admin, is_organizer, created_at) "
                       "VALUES (1, 'ada', 'x', false, false, :now)"), {"now": NOW})
        c.execute(text("INSERT INTO challenges (id, slug, title, summary, description_md, tags, difficulty, task_type, "
                       "metric, greater_is_better, display_precision, scoring_spec, rules, kind, status, daily_limit, "
                       "max_team_size, max_final_submissions, leaderboard_mode, private_revealed, version, "
                       "content_hash, solution_hash, solution_key, created_at, updated_at) VALUES (1, 'c', 'T', '', "
                       "'', '[]', 'beginner', 'regression', 'rmse', false, 5, '{}', '{}', 'code', 'published', 5, 1, "
                       "2, 'classic', false, 1, 'c', 's', 'k', :now, :now)"), {"now": NOW})
        c.execute(text("INSERT INTO teams (id, challenge_id, name, created_at) VALUES (1, 1, 'ada', :now)"),
                  {"now": NOW})
        _rows(c, "INSERT INTO submissions (id, challenge_id, team_id, user_id, kind, status, filename, file_key, "
                 "file_size, message, logs, selected_final, created_at, queued_at, attempts) VALUES "
                 "(:id, 1, 1, 1, :kind, 'failed', 'f', 'k', 1, '', :logs, false, :now, :now, 1)",
              [{"id": 1, "kind": "code", "logs": "ROW 40,0.123456 (a hidden row)", "now": NOW},
               {"id": 2, "kind": "predictions", "logs": "kept", "now": NOW}])
    upgrade(empty_database)
    with empty_database.connect() as c:
        logs = dict(c.execute(text("SELECT id, logs FROM submissions")).all())
    assert logs == {1: None, 2: "kept"}
