"""The data model. State and invariants live here; behaviour lives in services.

A solo entrant is a team of one, as on Kaggle: every submission belongs to a
team, and teams belong to one challenge.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use timezone-aware UTC datetimes")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class LeaderboardMode(enum.StrEnum):
    """How a challenge's public board shows scores (heldout.leaderboard.modes says what each does)."""

    CLASSIC = "classic"
    ROUNDED = "rounded"
    LADDER = "ladder"


class BoardIdentity(enum.StrEnum):
    """How a study group's boards name its members to the other members (heldout.leaderboard.identity)."""

    NAMES = "names"  # team names, as everywhere else
    PSEUDONYMS = "pseudonyms"  # the pseudonym each member chooses ("Member #7" until they do)
    ANONYMOUS = "anonymous"  # a number each ("#7")


class SubmissionStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SCORED = "scored"
    FAILED = "failed"  # the participant's fault: carries a message for them
    ERROR = "error"  # the platform's fault: retried, then shown to admins

    @property
    def finished(self) -> bool:
        return self in (SubmissionStatus.SCORED, SubmissionStatus.FAILED, SubmissionStatus.ERROR)


class SandboxLimit(str, enum.Enum):
    """The sandbox limit that stopped a run (``RunResult.limit_hit``), stored with its outcome: the pages and
    ``/metrics`` read it from here, never from the words of a message."""

    TIME = "time"
    MEMORY = "memory"
    PIDS = "pids"
    FILE_SIZE = "file_size"
    DISK = "disk"
    OUTPUT = "output"

    @property
    def label(self) -> str:
        """The limit in a learner's words, as the submission page names it."""
        return {"time": "time", "memory": "memory", "pids": "processes and threads", "file_size": "file size",
                "disk": "writable space", "output": "printed output"}[self.value]

    @classmethod
    def of(cls, code: str | None) -> "SandboxLimit | None":
        """The limit a backend reported; None when no limit was hit (or an unknown one, never stored as one)."""
        try:
            return cls(code) if code else None
        except ValueError:
            return None


class ChallengeStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"


class SubmissionKind(str, enum.Enum):
    PREDICTIONS = "predictions"
    CODE = "code"


def _enum(cls):  # noqa: ANN001
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_organizer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # Only a SHA-256 of the token is kept: a leaked database does not leak tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class StudyGroup(Base):
    __tablename__ = "study_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    invite_code: Mapped[str] = mapped_column(String(64), unique=True)
    # A BoardIdentity: what members see of each other on the group's boards (the lead always sees names).
    board_identity: Mapped[str] = mapped_column(String(20), default="names", server_default="names")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "number", name="uq_group_memberships_group_id_number"),)

    group_id: Mapped[int] = mapped_column(ForeignKey("study_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The member's number in the group, for anonymous boards ("you are #7"): given on joining, never reused.
    number: Mapped[int | None] = mapped_column(Integer)
    # The name the member chose for the group's pseudonymous boards.
    pseudonym: Mapped[str | None] = mapped_column(String(40))


class RosterEntry(Base):
    """One row of a study group's roster (platform.services.roster): who the lead expects, and whether they came.

    A row names an account by ``username`` or ``email``; ``key`` is that name, lowercased and prefixed
    (``u:ada``, ``e:ada@example.org``), unique in the group, which is what makes a re-import change nothing.
    A row whose account existed at import was added at once (``invite_code`` null); any other gets a personal,
    single-use invite: ``joined_at`` set means it was used (or the account was added).
    """

    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("group_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("study_groups.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(260))
    username: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    invite_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Challenge(Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description_md: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    difficulty: Mapped[str] = mapped_column(String(20), default="beginner")
    # Its place on the practice roadmap (heldout.challenges.bundle_schema.TOPICS); null: not on the roadmap.
    topic: Mapped[str | None] = mapped_column(String(40))
    task_type: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(50))
    greater_is_better: Mapped[bool] = mapped_column(Boolean)
    display_precision: Mapped[int] = mapped_column(Integer, default=5)
    # The ScoringSpec as a dict: exactly what the sandboxed scorer receives.
    scoring_spec: Mapped[dict] = mapped_column(JSON)
    # Rules and anything else from the bundle that has no column of its own.
    rules: Mapped[dict] = mapped_column(JSON, default=dict)
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind), default=SubmissionKind.PREDICTIONS)
    status: Mapped[ChallengeStatus] = mapped_column(_enum(ChallengeStatus), default=ChallengeStatus.DRAFT)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    daily_limit: Mapped[int] = mapped_column(Integer, default=5)
    max_team_size: Mapped[int] = mapped_column(Integer, default=1)
    max_final_submissions: Mapped[int] = mapped_column(Integer, default=2)
    leaderboard_mode: Mapped[str] = mapped_column(String(20), default=LeaderboardMode.CLASSIC.value)
    private_revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    # After this moment teams are fixed (no joining, leaving or merging); unset means "until the challenge ends".
    team_merge_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the challenge still takes submissions after its end: scored, marked late, never ranked
    # (heldout.leaderboard.late). The bundle's rules.late_submissions; the organizer's settings change it.
    late_submissions: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The organizer's write-up (markdown, from the bundle's writeup.md or the site): shown, sanitized, only
    # once the private board is revealed (platform.services.writeups).
    writeup_md: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("study_groups.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Increments when the solution changes; a submission scored on an older version is rescored.
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    solution_hash: Mapped[str] = mapped_column(String(64))
    solution_key: Mapped[str] = mapped_column(String(255))
    # The baseline check of the current bundle (heldout.runner.baseline): pending, passed, failed or error,
    # null while never asked for; and its report (scores, problems, log). A new bundle clears both.
    baseline_state: Mapped[str | None] = mapped_column(String(16))
    baseline_report: Mapped[dict | None] = mapped_column(JSON)
    # The latest end among its members' extensions (ChallengeExtension), kept with them by
    # services.extensions so that the reveal rule (leaderboard.deadlines) reads this row alone; null: none.
    extended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the private board was revealed by hand (private_revealed): nothing counts after it
    # (leaderboard.deadlines.counting_end). Null for a board never revealed by hand, or revealed before it was kept.
    private_revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    files: Mapped[list["ChallengeFile"]] = relationship(
        back_populates="challenge", cascade="all, delete-orphan", order_by="ChallengeFile.name"
    )


class ChallengeExtension(Base):
    """A later end for one member of a study group's challenge, given by the group's lead
    (heldout.leaderboard.deadlines says what it changes). One per member and challenge."""

    __tablename__ = "challenge_extensions"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChallengeFile(Base):
    """A file learners may download. The solution is never one of these."""

    __tablename__ = "challenge_files"
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))

    challenge: Mapped[Challenge] = relationship(back_populates="files")


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("challenge_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    invite_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Who may rename the team and merge it into another; unset (a team of one made on first submission)
    # means the earliest member.
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The team's short write-up of its final submissions (markdown): others read it only after the reveal.
    writeup_md: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamMembership(Base):
    __tablename__ = "team_memberships"
    # One team per user per challenge, enforced by the database.
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        Index("ix_submissions_status_created", "status", "created_at"),
        Index("ix_submissions_team_created", "team_id", "created_at"),
        Index("ix_submissions_challenge_final", "challenge_id", "selected_final"),
        # Each team's best public submissions in one index scan: finals chosen automatically at close.
        Index("ix_submissions_team_public", "team_id", "public_score"),
        # The few host submissions (leaderboard.hosts.unranked_only_teams), without reading every submission.
        Index("ix_submissions_host_team", "team_id", postgresql_where=text("host"), sqlite_where=text("host")),
        # The few late submissions, likewise (leaderboard.hosts.unranked_only_teams).
        Index("ix_submissions_late_team", "team_id", postgresql_where=text("late"), sqlite_where=text("late")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[SubmissionKind] = mapped_column(_enum(SubmissionKind), default=SubmissionKind.PREDICTIONS)
    status: Mapped[SubmissionStatus] = mapped_column(_enum(SubmissionStatus), default=SubmissionStatus.QUEUED)
    filename: Mapped[str] = mapped_column(String(255))
    file_key: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(String(500), default="")
    # The learner's own validation score, in the challenge's metric, and one line on how they found it
    # (heldout.leaderboard.validation): set against the board's scores on the team's submissions page.
    validation_score: Mapped[float | None] = mapped_column(Float)
    validation_note: Mapped[str | None] = mapped_column(String(120))
    public_score: Mapped[float | None] = mapped_column(Float)
    private_score: Mapped[float | None] = mapped_column(Float)
    public_ci_low: Mapped[float | None] = mapped_column(Float)
    public_ci_high: Mapped[float | None] = mapped_column(Float)
    # The private score's 95% bootstrap interval: secret like the score, for the grades' tie bands.
    private_ci_low: Mapped[float | None] = mapped_column(Float)
    private_ci_high: Mapped[float | None] = mapped_column(Float)
    # What the participant reads when their submission failed (never private values).
    error: Mapped[str | None] = mapped_column(Text)
    error_detail: Mapped[dict | None] = mapped_column(JSON)
    # What the platform's admins read when scoring broke on our side.
    internal_error: Mapped[str | None] = mapped_column(Text)
    # The sandbox limit that stopped the run (failed runs only): time, memory, pids, file_size, disk or output.
    limit_hit: Mapped[SandboxLimit | None] = mapped_column(_enum(SandboxLimit))
    logs: Mapped[str | None] = mapped_column(Text)
    # Confusion matrix, calibration or binned residuals on the public split only (see challenges/diagnostics.py).
    diagnostics: Mapped[dict | None] = mapped_column(JSON)
    selected_final: Mapped[bool] = mapped_column(Boolean, default=False)
    # Made by one of the challenge's hosts (heldout.leaderboard.hosts), as they were when it was submitted:
    # scored and shown to its author, never ranked.
    host: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Made after the challenge's end (heldout.leaderboard.late): scored on both splits, shown to its team with
    # where it would have placed, never ranked, never a final.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it last entered the queue (creation, retry or rescore): queue wait is measured from here.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Renewed by the worker while it runs the submission: a stale lease means the worker died.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    queue_wait_s: Mapped[float | None] = mapped_column(Float)
    run_s: Mapped[float | None] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Fencing token: only the job run that claimed the submission may record its result.
    run_token: Mapped[str | None] = mapped_column(String(64))
    scored_version: Mapped[int | None] = mapped_column(Integer)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team] = relationship()
    user: Mapped[User] = relationship()
    challenge: Mapped[Challenge] = relationship()


class TeamBestScore(Base):
    """Each team's row on the public leaderboard, kept current as submissions are scored.

    The public leaderboard reads this table alone, so it never aggregates the
    submissions table per request. ``public_score`` is the score the board ranks
    by: the exact best in the classic mode, rounded or laddered in the others
    (heldout.leaderboard.modes); ``submission_id`` is the submission that earned it.
    ``rank_key`` is that score turned so that smaller is better in every challenge
    (negated when higher is better): a page of the board is then one ascending
    index scan, ties included, whatever the metric's direction.
    """

    __tablename__ = "team_best_scores"
    # team_id last: a page at any offset is found by an index-only scan, then its 100 rows are fetched.
    __table_args__ = (Index("ix_best_rank", "challenge_id", "rank_key", "submitted_at", "submission_id", "team_id"),)

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    public_score: Mapped[float] = mapped_column(Float)
    rank_key: Mapped[float] = mapped_column(Float)
    public_ci_low: Mapped[float | None] = mapped_column(Float)
    public_ci_high: Mapped[float | None] = mapped_column(Float)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    last_entry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RankSnapshotDay(Base):
    """Which UTC day the challenge's rank snapshot was taken for (one row per challenge)."""

    __tablename__ = "rank_snapshot_days"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)


class RankSnapshot(Base):
    """Each team's public rank as the board stood when ``RankSnapshotDay.day`` began.

    Taken just before the first change of a UTC day, so "change since yesterday"
    compares with the previous day's final standings without replaying history.
    """

    __tablename__ = "rank_snapshots"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)


class PrivateBoardState(Base):
    """Whether the stored private standings of a challenge are current.

    Anything that could change them (a score, a final selection, a merge) bumps
    ``generation``; a reader that finds ``computed_generation`` behind recomputes.
    Reading the generation before computing (rather than deleting a flag) means a
    change committed while the standings are being computed still marks them stale.
    ``challenge_version`` catches a new solution whose rescoring has not finished.
    """

    __tablename__ = "private_board_states"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    computed_generation: Mapped[int | None] = mapped_column(Integer)
    challenge_version: Mapped[int | None] = mapped_column(Integer)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PrivateStanding(Base):
    """A team's row on the private leaderboard: never shown before the reveal (services.leaderboards)."""

    __tablename__ = "private_standings"

    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    private_score: Mapped[float] = mapped_column(Float)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    public_rank: Mapped[int | None] = mapped_column(Integer)


class Worker(Base):
    """A scoring worker as it announced itself (heldout.runner.registry); the admins' workers page reads it.

    Workers run on other hosts and reach only the database and Redis, so this row is
    what the web app knows of them. A restart under the same name starts the row afresh.
    """

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # the RQ worker name
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    # What its sandbox says about itself: docker, docker+runsc, bubblewrap.
    sandbox_backend: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    # How often it promised to beat; it is stale after missing three.
    heartbeat_s: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set on a clean shutdown
    # Runs whose outcome it recorded since it started: scored or failed (the participant's), and platform errors.
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    jobs_errored: Mapped[int] = mapped_column(Integer, default=0)
    current_submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id", ondelete="SET NULL"))


class StoredFile(Base):
    """A file kept in the database by ``heldout.storage.DatabaseStorage`` (``HELDOUT_STORAGE=database``).

    Its bytes are in ``stored_file_chunks``. A file being written has a temporary key
    (``~partial/…``, never a valid storage key) until the transaction that gives it its
    real key and drops the file it replaces. Ids are never reused (AUTOINCREMENT on SQLite),
    so a reader holding an old id can only find its chunks gone, never someone else's.
    """

    __tablename__ = "stored_files"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    # Every chunk but the last holds exactly this many bytes, so a byte offset names its chunk.
    chunk_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFileChunk(Base):
    """One piece of a ``StoredFile``: bytes [n * chunk_size, (n + 1) * chunk_size)."""

    __tablename__ = "stored_file_chunks"

    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
