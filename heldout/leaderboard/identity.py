"""What a study group's boards call its members, as pure functions over plain values.

A group's lead chooses how members see each other on the group's boards (``BoardIdentity``):
by their teams' names as anywhere else, by the pseudonym each member chooses, or by a number
("#7"). A team then goes by its members' labels, never by its own name, which its members
chose and may well be someone's username. The lead and the platform's admins always see real
names: who applies the rule to whom is decided in ``platform.services.identity``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from heldout.models import BoardIdentity

#: What a team member who is no longer in the group is called.
FORMER_MEMBER = "a former member"


@dataclass(frozen=True)
class Alias:
    """A member as the group's boards know them."""

    number: int
    pseudonym: str | None = None


def member_label(identity: BoardIdentity, alias: Alias) -> str:
    """A member's name on a pseudonymous or anonymous board.

    >>> member_label(BoardIdentity.PSEUDONYMS, Alias(7, "Night Owl"))
    'Night Owl'
    >>> member_label(BoardIdentity.PSEUDONYMS, Alias(7))
    'Member #7'
    >>> member_label(BoardIdentity.ANONYMOUS, Alias(7, "Night Owl"))
    '#7'
    """
    if identity is BoardIdentity.PSEUDONYMS and alias.pseudonym:
        return alias.pseudonym
    return f"#{alias.number}" if identity is BoardIdentity.ANONYMOUS else f"Member #{alias.number}"


def team_label(identity: BoardIdentity, members: Sequence[Alias | None]) -> str:
    """A team's name on such a board: its members' labels in the order they joined the group.

    ``None`` stands for a team member who is not (or no longer) in the group.

    >>> team_label(BoardIdentity.ANONYMOUS, [Alias(9), Alias(3)])
    '#3 & #9'
    >>> team_label(BoardIdentity.PSEUDONYMS, [Alias(2, "Fox"), None])
    'Fox & a former member'
    >>> team_label(BoardIdentity.PSEUDONYMS, [])
    'a former member'
    """
    known = sorted((a for a in members if a is not None), key=lambda a: a.number)
    labels = [member_label(identity, a) for a in known]
    if len(known) < len(members) or not labels:
        labels.append(FORMER_MEMBER)
    return " & ".join(labels)
