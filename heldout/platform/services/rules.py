"""A challenge's rules in one place: the panel on its overview and the ``rules`` of its API JSON.

Dates, team size and merge deadline, the daily limit and what is left of it, how finals are
chosen, the leaderboard mode in a sentence, and what is withheld and why: all worked out here,
so the template and the JSON only lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from heldout.leaderboard.modes import BoardMode
from heldout.models import Challenge
from heldout.platform.services.leaderboards import private_hidden_until, private_visible
from heldout.platform.services.membership import utc_day_start
from heldout.platform.services.teams import merge_deadline


@dataclass(frozen=True)
class Withheld:
    what: str
    why: str


@dataclass(frozen=True)
class Rules:
    starts_at: datetime | None
    ends_at: datetime | None
    time_left: str | None
    max_team_size: int
    merge_deadline: datetime | None
    daily_limit: int
    remaining_today: int | None  # None for a visitor who is not logged in
    resets_at: datetime  # the next 00:00 UTC
    max_finals: int
    finals: str  # how the finals are chosen, in a sentence
    board_mode: str
    board: str  # the leaderboard mode, in a sentence
    withheld: list[Withheld]
    late: str = ""  # what happens after the end, in a sentence ("" for a challenge without an end)


def late_rule(challenge: Challenge) -> str:
    if challenge.ends_at is None:
        return ""
    if not challenge.late_submissions:
        return "Submissions close at the end: this challenge does not take late submissions."
    return ("After the end, late submissions are still scored on both the public and the private rows and say "
            "where they would have placed; they are never ranked, never a final, and change no leaderboard. The "
            "daily limit still applies.")


def challenge_rules(challenge: Challenge, *, time_left: str | None, remaining_today: int | None,
                    now: datetime) -> Rules:
    mode = BoardMode.of(challenge)
    finals = challenge.max_final_submissions
    plural = "s" if finals != 1 else ""
    until_end = " until the challenge ends" if challenge.ends_at else ""
    chosen = (f"Each team selects up to {finals} final submission{plural} on its team page{until_end}; "
              f"a team that selects none has its {finals} best public submission{plural} count. "
              f"The private leaderboard ranks teams by their finals.")
    withheld = [Withheld(what, why) for what, why in mode.withheld()]
    if not private_visible(challenge, now):
        # A challenge without an end date never reaches "the end": only its organizers can reveal the board.
        # Past the end, only members' extensions hold it back (whose, and until when, is theirs alone to see).
        ends = private_hidden_until(challenge, now)
        until = (f"the challenge ends ({ends:%Y-%m-%d %H:%M} UTC)" if ends is not None
                 else "the last member's extension ends" if challenge.ends_at
                 else "its organizers reveal them (the challenge has no end date)")
        withheld.append(Withheld("private scores", f"hidden until {until}, so that tuning to "
                                                   f"the public board does not pay"))
    return Rules(
        starts_at=challenge.starts_at, ends_at=challenge.ends_at, time_left=time_left,
        max_team_size=challenge.max_team_size, merge_deadline=merge_deadline(challenge),
        daily_limit=challenge.daily_limit, remaining_today=remaining_today,
        resets_at=utc_day_start(now) + timedelta(days=1), max_finals=finals, finals=chosen,
        board_mode=mode.name, board=mode.describe(), withheld=withheld, late=late_rule(challenge))
