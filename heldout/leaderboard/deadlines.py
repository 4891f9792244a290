"""Per-member deadlines: when each member's submissions stop counting, and when the private board appears.

A study group's lead may give one member a later end on a group challenge (an *extension*). That member's
submissions count until their own end; everyone else's end is the challenge's, and their boards and shake-up
are computed as usual. The private board waits for the last extension to end, unless the lead reveals it
earlier: from the reveal on nothing more counts for anyone, so a member still working is cut short there and
what they submit afterwards is late (``late.is_late`` given their ``counting_end``).

Pure functions over plain values; the services read the rows and pass them in. ``None`` as an end means "never
ends"; ``None`` as a reveal moment means "not revealed by hand".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


def member_end(challenge_end: datetime | None, extension_end: datetime | None) -> datetime | None:
    """The end that applies to one member: their extension when it is later than the challenge's end.

    >>> from datetime import timezone
    >>> end, later = datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 3, tzinfo=timezone.utc)
    >>> member_end(end, later) == later, member_end(end, None) == end, member_end(later, end) == later
    (True, True, True)
    >>> member_end(None, later) is None  # a challenge that never ends has nothing to extend
    True
    """
    if challenge_end is None:
        return None
    if extension_end is None or extension_end <= challenge_end:
        return challenge_end
    return extension_end


def reveal_time(challenge_end: datetime | None, extension_ends: Iterable[datetime | None]) -> datetime | None:
    """When the private board appears by itself: once the challenge and every extension have ended.

    >>> from datetime import timezone, timedelta
    >>> end = datetime(2026, 3, 1, tzinfo=timezone.utc)
    >>> reveal_time(end, []) == end, reveal_time(end, [end + timedelta(days=2), end + timedelta(days=1)])
    (True, datetime.datetime(2026, 3, 3, 0, 0, tzinfo=datetime.timezone.utc))
    >>> reveal_time(None, [end]) is None
    True
    """
    if challenge_end is None:
        return None
    return max([challenge_end, *(e for e in extension_ends if e is not None)])


def private_visible(*, challenge_end: datetime | None, extended_until: datetime | None, revealed: bool,
                    now: datetime) -> bool:
    """The reveal rule: revealed by hand, or the challenge and its last extension (``extended_until``) ended.

    >>> from datetime import timezone, timedelta
    >>> end = datetime(2026, 3, 1, tzinfo=timezone.utc)
    >>> private_visible(challenge_end=end, extended_until=None, revealed=False, now=end)
    True
    >>> private_visible(challenge_end=end, extended_until=end + timedelta(days=1), revealed=False, now=end)
    False
    >>> private_visible(challenge_end=end, extended_until=end + timedelta(days=1), revealed=True, now=end)
    True
    """
    if revealed:
        return True
    at = reveal_time(challenge_end, [extended_until])
    return at is not None and now >= at


def counting_end(own_end: datetime | None, revealed_at: datetime | None) -> datetime | None:
    """Until when a member's submissions count: their own end, or the moment the private board was revealed by
    hand if that came first (a revealed board is not tuned to any further).

    >>> from datetime import timezone, timedelta
    >>> end = datetime(2026, 3, 3, tzinfo=timezone.utc)
    >>> counting_end(end, None) == end, counting_end(end, end - timedelta(days=1)) == end - timedelta(days=1)
    (True, True)
    >>> counting_end(None, end) == end, counting_end(end, end + timedelta(days=1)) == end
    (True, True)
    """
    if revealed_at is None:
        return own_end
    if own_end is None:
        return revealed_at
    return min(own_end, revealed_at)


def cut_short(own_end: datetime | None, revealed_at: datetime | None, now: datetime) -> bool:
    """Whether a member still working was stopped by an early reveal: the notice on their challenge page.

    >>> from datetime import timezone, timedelta
    >>> own = datetime(2026, 3, 3, tzinfo=timezone.utc)
    >>> cut_short(own, own - timedelta(days=1), now=own - timedelta(hours=1)), cut_short(own, None, now=own)
    (True, False)
    >>> cut_short(own, own - timedelta(days=1), now=own)  # their own end has passed: nothing was cut short
    False
    """
    if revealed_at is None or now < revealed_at:
        return False
    return own_end is None or revealed_at < own_end > now
