"""Which names a viewer reads on a study group's boards: the one place that applies the group's choice.

The rule itself (what a member or a team is called) is ``heldout.leaderboard.identity``. Here: whose
boards it applies to (a challenge the group owns, and the group's view of any other challenge) and for
whom (every member but the lead; admins see names too). The leaderboards service passes each board's
team names through ``team_names``, so every page and API that shows a board inherits the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.leaderboard.identity import FORMER_MEMBER, Alias, member_label, team_label
from heldout.models import BoardIdentity, Challenge, GroupMembership, StudyGroup, TeamMembership, User


@dataclass(frozen=True)
class TeamNames:
    """The names one viewer reads for the teams of one board."""

    labels: dict[int, str]

    def of(self, team_id: int | None, name: str) -> str:
        return self.labels.get(team_id, FORMER_MEMBER) if team_id is not None else FORMER_MEMBER


def masked_group(session: Session, challenge: Challenge | None, viewer: User | None,
                 group: StudyGroup | None = None) -> StudyGroup | None:
    """The group whose choice hides names from this viewer on this board, or None (names are shown)."""
    if challenge is not None and challenge.group_id is not None:
        group = session.get(StudyGroup, challenge.group_id)
    if group is None or BoardIdentity(group.board_identity) is BoardIdentity.NAMES:
        return None
    if viewer is not None and (viewer.is_admin or viewer.id == group.lead_id):
        return None
    return group


def _aliases(session: Session, group_id: int) -> dict[int, Alias]:
    return {uid: Alias(number or 0, pseudonym) for uid, number, pseudonym in session.execute(
        select(GroupMembership.user_id, GroupMembership.number, GroupMembership.pseudonym)
        .where(GroupMembership.group_id == group_id))}


def team_names(session: Session, challenge: Challenge, viewer: User | None,
               group: StudyGroup | None = None) -> TeamNames | None:
    """How ``viewer`` reads team names on ``challenge``'s board (restricted to ``group``, when it is); None when
    they read the teams' own names."""
    masked = masked_group(session, challenge, viewer, group)
    if masked is None:
        return None
    identity = BoardIdentity(masked.board_identity)
    aliases = _aliases(session, masked.id)
    teams: dict[int, list[Alias | None]] = {}
    member_ids = select(GroupMembership.user_id).where(GroupMembership.group_id == masked.id)
    in_group = select(TeamMembership.team_id).where(TeamMembership.challenge_id == challenge.id,
                                                    TeamMembership.user_id.in_(member_ids))
    for team_id, user_id in session.execute(
            select(TeamMembership.team_id, TeamMembership.user_id)
            .where(TeamMembership.challenge_id == challenge.id, TeamMembership.team_id.in_(in_group))):
        teams.setdefault(team_id, []).append(aliases.get(user_id))
    return TeamNames({team_id: team_label(identity, members) for team_id, members in teams.items()})


def member_names(session: Session, group: StudyGroup, viewer: User) -> dict[int, str] | None:
    """What ``viewer`` calls each member of the group (by user id), or None when they see usernames."""
    masked = masked_group(session, None, viewer, group)
    if masked is None:
        return None
    identity = BoardIdentity(masked.board_identity)
    return {uid: member_label(identity, alias) for uid, alias in _aliases(session, masked.id).items()}
