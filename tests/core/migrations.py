"""Rows the migration tests write into a database at an old revision, with SQL of that revision's schema."""

from sqlalchemy import text

NOW = "2026-01-01 12:00:00+00:00"


def insert_rows(connection, sql, rows):  # noqa: ANN001, ANN201
    for row in rows:
        connection.execute(text(sql), row)


def insert_ada_and_a_code_challenge(connection):  # noqa: ANN001, ANN201
    """User 1 (ada), challenge 1 (a published code challenge) and team 1 (hers), as the schema stood at 0006."""
    connection.execute(text("INSERT INTO users (id, username, password_hash, is_admin, is_organizer, created_at) "
                            "VALUES (1, 'ada', 'x', false, false, :now)"), {"now": NOW})
    connection.execute(text(
        "INSERT INTO challenges (id, slug, title, summary, description_md, tags, difficulty, task_type, metric, "
        "greater_is_better, display_precision, scoring_spec, rules, kind, status, daily_limit, max_team_size, "
        "max_final_submissions, leaderboard_mode, private_revealed, version, content_hash, solution_hash, "
        "solution_key, created_at, updated_at) VALUES (1, 'c', 'T', '', '', '[]', 'beginner', 'regression', 'rmse', "
        "false, 5, '{}', '{}', 'code', 'published', 5, 1, 2, 'classic', false, 1, 'c', 's', 'k', :now, :now)"),
        {"now": NOW})
    connection.execute(text("INSERT INTO teams (id, challenge_id, name, created_at) VALUES (1, 1, 'ada', :now)"),
                       {"now": NOW})
