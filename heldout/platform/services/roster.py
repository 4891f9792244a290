"""A study group's roster: the lead uploads a CSV of expected members; Heldout adds or invites each one.

The file has a header row with ``username`` or ``email`` (or both), and optionally ``display_name``.
A row naming an existing account by username is added to the group at once; any other (every row named
only by email: an account's email address is whatever its owner typed, unverified, so it proves nothing) gets
a personal invite link, bound to that row's username or email and usable once,
which the lead downloads as a CSV. Importing is all or nothing: every bad row is reported (row, column,
what is wrong) and nothing is stored; importing the same roster again changes nothing.
"""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.models import GroupMembership, RosterEntry, StudyGroup, User, utcnow
from heldout.platform.services.accounts import USERNAME
from heldout.platform.services.errors import Conflict, Forbidden, NotFound, ServiceError
from heldout.platform.services.groups import add_member, lead_group
from heldout.platform.services.spreadsheets import spreadsheet_text

COLUMNS = ("username", "email", "display_name")
MAX_ROSTER_BYTES = 1_000_000
MAX_ROSTER_ROWS = 2000
MAX_DISPLAY_NAME = 80
# Keeps the lookups' IN lists well under every database's parameter limit.
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RosterProblem:
    """What is wrong, and where: ``row`` is the file's line as a spreadsheet numbers it (the header is row 1);
    None for the file as a whole. ``column`` is None when the whole row is at fault."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = "the file" if self.row is None else f"row {self.row}"
        return f"{where}{f', column {self.column}' if self.column else ''}: {self.message}"

    def to_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class BadRoster(ServiceError):
    """The roster was refused: one problem per bad row, nothing imported."""

    code = "bad_roster"

    def __init__(self, problems: list[RosterProblem]):
        n = len(problems)
        super().__init__(f"The roster has {n} problem{'s' if n != 1 else ''}; nothing was imported: "
                         + "; ".join(str(p) for p in problems[:5]) + ("; …" if n > 5 else ""),
                         field="roster", details={"problems": [p.to_dict() for p in problems]})
        self.problems = problems


@dataclass(frozen=True)
class RosterRow:
    row: int
    username: str | None
    email: str | None
    display_name: str

    @property
    def key(self) -> str:
        """What identifies the expected member within the group (case does not matter)."""
        return f"u:{self.username.lower()}" if self.username else f"e:{(self.email or '').lower()}"


def read_roster(data: bytes) -> list[RosterRow]:
    """The rows of a roster file, or ``BadRoster`` listing every problem in it.

    >>> [(r.row, r.username, r.email, r.display_name) for r in read_roster(
    ...     b"username,email,display_name\\nada,,Ada L.\\n,bob@example.org,\\n")]
    [(2, 'ada', None, 'Ada L.'), (3, None, 'bob@example.org', '')]
    """
    if len(data) > MAX_ROSTER_BYTES:
        raise BadRoster([RosterProblem(None, None, f"the file is larger than {MAX_ROSTER_BYTES:,} bytes; "
                                                   f"a roster has at most {MAX_ROSTER_ROWS:,} rows")])
    text = _decode(data)
    records = _records(text)
    header_row, header = next(records, (1, None))
    if header is None or not any(cell.strip() for cell in header):
        raise BadRoster([RosterProblem(1, None, "the file is empty: the first row must name the columns "
                                                "(username or email, and optionally display_name)")])
    names = [cell.strip().lower() for cell in header]
    problems = _header_problems(names)
    if problems:
        raise BadRoster(problems)
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for number, cells in records:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(rows) + len(problems) >= MAX_ROSTER_ROWS:
            problems.append(RosterProblem(number, None, f"too many rows: a roster has at most {MAX_ROSTER_ROWS:,} "
                                                        "(split it, and import each part)"))
            break
        row, row_problems = _read_row(number, names, cells)
        if row is not None:
            if row.key in seen:
                column = "username" if row.username else "email"
                row_problems.append(RosterProblem(number, column, f"a duplicate of row {seen[row.key]}"))
            else:
                seen[row.key] = number
        problems += row_problems
        if row is not None and not row_problems:
            rows.append(row)
    if problems:
        raise BadRoster(problems)
    return rows


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    problems = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(RosterProblem(number, None, f"not UTF-8 text (byte 0x{line[exc.start]:02x}): "
                                                        "save the file as CSV UTF-8"))
    raise BadRoster(problems)


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """Each record of the CSV with the row (line) it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadRoster([RosterProblem(start, None, f"not readable as CSV: {exc}")]) from None


def _header_problems(names: list[str]) -> list[RosterProblem]:
    problems = []
    for i, name in enumerate(names):
        if name not in COLUMNS:
            problems.append(RosterProblem(1, name or f"#{i + 1}", "unknown column (the columns are username, "
                                                                  "email and display_name)"))
        elif names.index(name) != i:
            problems.append(RosterProblem(1, name, "this column appears twice"))
    if "username" not in names and "email" not in names:
        problems.append(RosterProblem(1, None, "no username or email column: a roster needs one of them"))
    return problems


def _read_row(number: int, names: list[str], cells: list[str]) -> tuple[RosterRow | None, list[RosterProblem]]:
    if len(cells) != len(names):
        return None, [RosterProblem(number, None, f"{len(cells)} fields where the header has {len(names)}")]
    values = {name: " ".join(cell.split()) for name, cell in zip(names, cells)}
    username, email = values.get("username") or None, values.get("email") or None
    display_name = values.get("display_name", "")
    problems = []
    if username is None and email is None:
        problems.append(RosterProblem(number, "username" if "username" in names else "email",
                                      "empty: give a username or an email"))
    if username is not None and not USERNAME.match(username):
        problems.append(RosterProblem(number, "username", f"{username[:50]!r} is not a username (3–40 letters, "
                                                          "digits, '.', '_' or '-')"))
    if email is not None:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as exc:
            problems.append(RosterProblem(number, "email", f"{email[:80]!r} is not an email address: {exc}"))
    if len(display_name) > MAX_DISPLAY_NAME:
        problems.append(RosterProblem(number, "display_name", f"longer than {MAX_DISPLAY_NAME} characters "
                                                              f"({len(display_name)})"))
    return RosterRow(number, username, email, display_name), problems


# -- importing ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterImport:
    added: int  # existing accounts made members now
    invited: int  # new personal invites
    unchanged: int  # rows already on the roster (a display name may have changed)


def import_roster(session: Session, lead: User, slug: str, data: bytes, *, now: datetime | None = None
                  ) -> RosterImport:
    """Add or invite everyone on the roster in one transaction; ``BadRoster`` (and nothing stored) if any row
    is bad."""
    group = lead_group(session, lead, slug)
    rows = read_roster(data)
    now = now or utcnow()
    existing = {e.key: e for e in session.scalars(select(RosterEntry).where(RosterEntry.group_id == group.id))}
    new_rows = [r for r in rows if r.key not in existing]
    by_name = _accounts(session, new_rows)
    members = _member_joins(session, group.id)
    added = invited = 0
    try:
        for row in rows:
            entry = existing.get(row.key)
            if entry is not None:
                if entry.display_name != row.display_name:
                    entry.display_name = row.display_name
                continue
            entry = RosterEntry(group_id=group.id, key=row.key, username=row.username, email=row.email,
                                display_name=row.display_name, created_at=now)
            # By username only: anyone may register with a classmate's email address, so an email row is
            # joined by its personal link, which reaches the person at that address.
            user_id = by_name.get(row.username.lower()) if row.username else None
            if user_id is not None:
                if user_id not in members:
                    members[user_id] = add_member(session, group.id, user_id, now=now).joined_at
                    added += 1
                entry.user_id, entry.joined_at = user_id, members[user_id]
            else:
                entry.invite_code = secrets.token_urlsafe(16)
                invited += 1
            session.add(entry)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("The roster changed while it was imported (another import at the same time?); "
                       "import it again.", field="roster") from None
    return RosterImport(added=added, invited=invited, unchanged=len(rows) - len(new_rows))


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start:start + _LOOKUP_CHUNK]


def _accounts(session: Session, rows: list[RosterRow]) -> dict[str, int]:
    """The accounts the rows name by username (lowercased)."""
    names = sorted({r.username.lower() for r in rows if r.username})
    by_name: dict[str, int] = {}
    for chunk in _chunks(names):
        by_name.update((name.lower(), uid) for uid, name in session.execute(
            select(User.id, User.username).where(func.lower(User.username).in_(chunk))))
    return by_name


def _member_joins(session: Session, group_id: int) -> dict[int, datetime]:
    return {uid: at for uid, at in session.execute(select(GroupMembership.user_id, GroupMembership.joined_at)
                                                   .where(GroupMembership.group_id == group_id))}


# -- the roster page and its CSV ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class RosterLine:
    username: str | None
    email: str | None
    display_name: str
    # added (had an account at import), joined (by their link, or the group's), invited (not yet), left
    status: str
    joined_at: datetime | None
    member: str | None  # the account's username, once joined
    invite_code: str | None  # while the invite is unused


@dataclass(frozen=True)
class RosterView:
    group_slug: str
    group_name: str
    lines: list[RosterLine]

    @property
    def joined(self) -> int:
        return sum(line.status in ("added", "joined") for line in self.lines)

    @property
    def waiting(self) -> int:
        return sum(line.status == "invited" for line in self.lines)


def roster_view(session: Session, lead: User, slug: str) -> RosterView:
    """Everyone on the roster: who joined (and when), who was added, who has not come yet, who left."""
    group = lead_group(session, lead, slug)
    members = session.execute(select(User.id, User.username, User.email, GroupMembership.joined_at)
                              .join(GroupMembership, GroupMembership.user_id == User.id)
                              .where(GroupMembership.group_id == group.id)).all()
    by_id = {m.id: m for m in members}
    # By username only: a member's email address is unverified, and would claim a classmate's row (and hide its
    # link from the lead); an email row is joined by its own link.
    by_key = {f"u:{m.username.lower()}": m for m in members}
    lines = []
    for entry in session.scalars(select(RosterEntry).where(RosterEntry.group_id == group.id)
                                 .order_by(RosterEntry.id)):
        if entry.joined_at is not None:
            member = by_id.get(entry.user_id) if entry.user_id is not None else None
            status = "left" if member is None else ("joined" if entry.invite_code else "added")
            joined_at = entry.joined_at
        else:  # not by their own link: perhaps by the group's
            member = by_key.get(entry.key)
            status = "invited" if member is None else "joined"
            joined_at = member.joined_at if member is not None else None
        lines.append(RosterLine(username=entry.username, email=entry.email, display_name=entry.display_name,
                                status=status, joined_at=joined_at,
                                member=member.username if member is not None else None,
                                invite_code=entry.invite_code if status == "invited" else None))
    return RosterView(group_slug=group.slug, group_name=group.name, lines=lines)


CSV_COLUMNS = ("username", "email", "display_name", "status", "joined_at", "invite_link")


def roster_csv(view: RosterView, link: Callable[[str], str]) -> str:
    """The roster as a CSV for the lead: each unused invite's link (``link(code)``) to send to its person."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in view.lines:
        writer.writerow([spreadsheet_text(line.username or ""), spreadsheet_text(line.email or ""),
                         spreadsheet_text(line.display_name), line.status,
                         line.joined_at.isoformat() if line.joined_at else "",
                         link(line.invite_code) if line.invite_code else ""])
    return out.getvalue()


# -- personal invites --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonalInvite:
    group_name: str
    group_slug: str
    lead: str
    # Whom it is for, as the roster names them: a username, or an email address.
    for_username: str | None
    for_email: str | None
    display_name: str
    used: bool


def _entry_by_code(session: Session, code: str) -> tuple[RosterEntry, StudyGroup]:
    found = session.execute(select(RosterEntry, StudyGroup).join(StudyGroup, StudyGroup.id == RosterEntry.group_id)
                            .where(RosterEntry.invite_code == (code or ""))).first()
    if found is None:
        raise NotFound("This invite link is not valid; ask the group's lead for yours.", field="code")
    return found[0], found[1]


def personal_invite(session: Session, code: str) -> PersonalInvite:
    """What a personal invite link is: the group, and whom it is for (anyone holding the link may read this)."""
    entry, group = _entry_by_code(session, code)
    lead = session.scalar(select(User.username).where(User.id == group.lead_id)) or ""
    return PersonalInvite(group_name=group.name, group_slug=group.slug, lead=lead, for_username=entry.username,
                          for_email=None if entry.username else entry.email, display_name=entry.display_name,
                          used=entry.joined_at is not None)


def _is_for(entry: RosterEntry, user: User) -> bool:
    if entry.username:
        return user.username.lower() == entry.username.lower()
    return bool(user.email) and (user.email or "").lower() == (entry.email or "").lower()


def accept_personal_invite(session: Session, user: User, code: str, *, now: datetime | None = None) -> StudyGroup:
    """Join the group through the link made for this user's roster row; it works once."""
    now = now or utcnow()
    entry, group = _entry_by_code(session, code)
    if not _is_for(entry, user):
        whom = (f"the account {entry.username!r}" if entry.username
                else f"an account with the email address {entry.email}")
        raise Forbidden(f"This invite is for {whom}: log in as that account (or register it), then open the link "
                        "again.", field="code")
    # Single use: only the first acceptance records itself.
    used = session.execute(update(RosterEntry).where(RosterEntry.id == entry.id, RosterEntry.joined_at.is_(None))
                           .values(user_id=user.id, joined_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("This invite link was already used.", field="code")
    if session.scalar(select(GroupMembership.user_id).where(GroupMembership.group_id == group.id,
                                                            GroupMembership.user_id == user.id)) is None:
        add_member(session, group.id, user.id, now=now)
    session.commit()
    return group
