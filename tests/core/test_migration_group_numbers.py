"""Upgrading to 0015 numbers each group's members in the order they joined, one sequence per group."""

from sqlalchemy import text

from heldout.migrate import upgrade
from tests.core.migrations import NOW


def test_todays_members_are_numbered_in_the_order_they_joined(empty_database):
    upgrade(empty_database, "0014")
    with empty_database.begin() as c:
        for uid in range(1, 6):
            c.execute(text("INSERT INTO users (id, username, password_hash, is_admin, is_organizer, created_at) "
                           "VALUES (:id, :name, 'x', false, false, :now)"), {"id": uid, "name": f"u{uid}", "now": NOW})
        for gid in (1, 2):
            c.execute(text("INSERT INTO study_groups (id, name, slug, lead_id, invite_code, created_at) "
                           "VALUES (:id, 'G', :slug, 1, :code, :now)"), {"id": gid, "slug": f"g{gid}",
                                                                           "code": f"c{gid}", "now": NOW})
        joins = [(1, 1, "2026-01-01 10:00:00+00:00"), (1, 4, "2026-01-03 10:00:00+00:00"),
                 (1, 3, "2026-01-02 10:00:00+00:00"), (1, 2, "2026-01-02 10:00:00+00:00"),
                 (2, 5, "2026-01-05 10:00:00+00:00"), (2, 1, "2026-01-06 10:00:00+00:00")]
        for gid, uid, at in joins:
            c.execute(text("INSERT INTO group_memberships (group_id, user_id, joined_at) VALUES (:g, :u, :at)"),
                      {"g": gid, "u": uid, "at": at})
    upgrade(empty_database)
    with empty_database.connect() as c:
        numbers = {(g, u): n for g, u, n in c.execute(text(
            "SELECT group_id, user_id, number FROM group_memberships"))}
        modes = set(c.execute(text("SELECT board_identity FROM study_groups")).scalars())
    # Users 2 and 3 joined at the same moment: the lower account id comes first.
    assert numbers == {(1, 1): 1, (1, 2): 2, (1, 3): 3, (1, 4): 4, (2, 5): 1, (2, 1): 2}
    assert modes == {"names"}
