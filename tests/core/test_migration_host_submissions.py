"""Upgrading to 0005 marks the submissions today's hosts already made and takes their rows off the public board."""

from sqlalchemy import text

from heldout.migrate import upgrade
from tests.core.migrations import NOW, insert_rows

def test_submissions_of_todays_hosts_become_host_submissions_and_leave_the_board(empty_database):
    upgrade(empty_database, "0004")
    with empty_database.begin() as c:
        insert_rows(c, "INSERT INTO users (id, username, password_hash, is_admin, is_organizer, created_at) "
                       "VALUES (:id, :name, 'x', :admin, false, :now)",
                    [{"id": i, "name": n, "admin": a, "now": NOW}
                     for i, n, a in ((1, "admin", True), (2, "olga", False), (3, "lead", False), (4, "ada", False))])
        c.execute(text("INSERT INTO study_groups (id, name, slug, lead_id, invite_code, created_at) "
                       "VALUES (1, 'G', 'g', 3, 'code', :now)"), {"now": NOW})
        insert_rows(c, "INSERT INTO challenges (id, slug, title, summary, description_md, tags, difficulty, task_type, "
                       "metric, greater_is_better, display_precision, scoring_spec, rules, kind, status, daily_limit, "
                       "max_team_size, max_final_submissions, leaderboard_mode, private_revealed, version, content_hash, "
                       "solution_hash, solution_key, created_at, updated_at, created_by_id, group_id) VALUES (:id, :slug, "
                       "'T', '', '', '[]', 'beginner', 'regression', 'rmse', false, 5, '{}', '{}', 'predictions', "
                       "'published', 5, 1, 2, 'classic', false, 1, 'c', 's', 'k', :now, :now, :by, :group)",
                    [{"id": 1, "slug": "published", "by": 2, "group": None, "now": NOW},
                     {"id": 2, "slug": "grouped", "by": 3, "group": 1, "now": NOW}])
        # Team n of challenge c: (id, challenge, user); every user in both challenges.
        teams = [(10 * ch + u, ch, u) for ch in (1, 2) for u in (1, 2, 3, 4)]
        insert_rows(c, "INSERT INTO teams (id, challenge_id, name, created_at) VALUES (:id, :ch, :name, :now)",
                    [{"id": t, "ch": ch, "name": f"team{t}", "now": NOW} for t, ch, _u in teams])
        insert_rows(c, "INSERT INTO submissions (id, challenge_id, team_id, user_id, kind, status, filename, file_key, "
                       "file_size, message, public_score, selected_final, created_at, queued_at, attempts) VALUES "
                       "(:id, :ch, :id, :u, 'predictions', 'scored', 'p.csv', 'k', 1, '', 0.5, false, :now, :now, 1)",
                    [{"id": t, "ch": ch, "u": u, "now": NOW} for t, ch, u in teams])
        insert_rows(c, "INSERT INTO team_best_scores (challenge_id, team_id, submission_id, public_score, rank_key, "
                       "submitted_at, entries) VALUES (:ch, :id, :id, 0.5, 0.5, :now, 1)",
                    [{"id": t, "ch": ch, "now": NOW} for t, ch, _u in teams])
        c.execute(text("INSERT INTO private_board_states (challenge_id, generation, computed_generation) "
                       "VALUES (1, 3, 3)"))
    upgrade(empty_database)
    with empty_database.connect() as c:
        hosts = {row.id for row in c.execute(text("SELECT id FROM submissions WHERE host"))}
        ranked = {row.team_id for row in c.execute(text("SELECT team_id FROM team_best_scores"))}
        generation = c.scalar(text("SELECT generation FROM private_board_states WHERE challenge_id = 1"))
    # Published challenge: the admin (11) and its publisher olga (12); grouped: the admin (21) and the lead (23).
    assert hosts == {11, 12, 21, 23}
    assert ranked == {13, 14, 22, 24}
    assert generation == 4  # the stored private standings are stale
