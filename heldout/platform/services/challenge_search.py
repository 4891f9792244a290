"""Finding challenges by words, tag, difficulty, task type and phase, a page at a time.

Filtering runs over the visible list in Python rather than in SQL: who may see
what stays in one place (``catalog``), tags live in a JSON column that each
database queries differently, and a practice platform has hundreds of
challenges, not millions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from heldout.models import User, utcnow
from heldout.platform.services.challenge_pages import ChallengeCard, challenge_cards
from heldout.platform.services.errors import ServiceError

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class ChallengeFilters:
    search: str | None = None
    tag: str | None = None
    difficulty: str | None = None
    task_type: str | None = None
    phase: str | None = None


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page * self.per_page < self.total else None


def paginate(items: list, page: int, per_page: int) -> Page:
    if page < 1:
        raise ServiceError("Pages are numbered from 1.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ServiceError(f"Ask for 1 to {MAX_PER_PAGE} items per page.", field="per_page")
    start = (page - 1) * per_page
    return Page(items[start:start + per_page], page, per_page, len(items))


def search_challenges(session: Session, user: User | None, filters: ChallengeFilters, *, page: int = 1,
                      per_page: int = 20, now: datetime | None = None) -> Page:
    """A page of the challenges ``user`` may see that match every filter given."""
    cards = challenge_cards(session, user, filters.phase, now or utcnow())
    return paginate([card for card in cards if _matches(card, filters)], page, per_page)


def _matches(card: ChallengeCard, filters: ChallengeFilters) -> bool:
    challenge = card.challenge
    if filters.search:
        words = " ".join([challenge.slug, challenge.title, challenge.summary or "", *challenge.tags]).casefold()
        if not all(word in words for word in filters.search.casefold().split()):
            return False
    if filters.tag and filters.tag.casefold() not in {t.casefold() for t in challenge.tags}:
        return False
    if filters.difficulty and filters.difficulty.casefold() != (challenge.difficulty or "").casefold():
        return False
    if filters.task_type and filters.task_type.casefold() != (challenge.task_type or "").casefold():
        return False
    return True
