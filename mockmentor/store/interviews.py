"""Interview persistence: sessions, turns and ratings in one SQL database (SQLAlchemy 2).

SQLite file by default, PostgreSQL (or any SQLAlchemy URL) via MOCKMENTOR_DATABASE_URL.
Alembic owns the schema (mockmentor/store/migrations); `Store.open` upgrades it on start.

Integrity rules the service relies on:
  - a turn is written in one transaction with everything about it, or not at all;
  - (session_id, position) is unique, so two racing answers cannot both become turn N;
  - secrets are stored as SHA-256 digests only and compared in constant time;
  - a database that cannot be reached raises DatabaseUnavailable (nothing was written, the
    caller may retry); pooled connections are pinged before use, so the store recovers by
    itself when the database comes back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    make_url,
    select,
)
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_S = 5


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Base(DeclarativeBase):
    pass


class InterviewSession(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64))
    candidate_digest: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64))
    difficulty: Mapped[str] = mapped_column(String(16))
    job_description: Mapped[str | None] = mapped_column(Text)
    question_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=now)
    turns: Mapped[list[Turn]] = relationship(order_by="Turn.position", back_populates="session")


class Turn(Base):
    """One interviewer reply: the opener (position 0) or feedback on an answer (1, 2, ...)."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("session_id", "position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # opener | feedback | code (a coding-round run)
    topic: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str | None] = mapped_column(String(128))  # the question answered
    question: Mapped[str | None] = mapped_column(Text)
    answer_source: Mapped[str | None] = mapped_column(String(8))  # audio, text, code, spoken (+code)
    transcript: Mapped[str | None] = mapped_column(Text)
    analytics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    score: Mapped[float | None] = mapped_column(Float)
    score_low: Mapped[float | None] = mapped_column(Float)
    score_high: Mapped[float | None] = mapped_column(Float)
    covered: Mapped[list[str] | None] = mapped_column(JSON)
    missed: Mapped[list[str] | None] = mapped_column(JSON)
    off_topic: Mapped[bool] = mapped_column(Boolean, default=False)  # the answer did not address it
    reply: Mapped[str] = mapped_column(Text)  # what the interviewer said
    reply_source: Mapped[str] = mapped_column(String(16))  # model | template (guard fallback)
    next_question_id: Mapped[str | None] = mapped_column(String(128))
    next_question: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # the interviewer's input messages
    model_versions: Mapped[dict[str, Any]] = mapped_column(JSON)
    timings_ms: Mapped[dict[str, Any]] = mapped_column(JSON)
    audio_path: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)  # a coding-round turn: the code that was run
    code_run: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # and the sandbox's RunResult
    created_at: Mapped[datetime] = mapped_column(default=now)
    session: Mapped[InterviewSession] = relationship(back_populates="turns")
    rating: Mapped[Rating | None] = relationship(back_populates="turn")


class Rating(Base):
    __tablename__ = "ratings"

    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    candidate_score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=now, onupdate=now)
    turn: Mapped[Turn] = relationship(back_populates="rating")


class DatabaseUnavailable(RuntimeError):
    """The database did not answer; the unit of work was rolled back, so a retry is safe."""


class AccessDenied(LookupError):
    """Unknown session, or a token that is not this session's (deliberately indistinguishable)."""


def engine_for(url: str) -> Engine:
    # Bounded waits: a database that does not answer fails the request in seconds, not minutes.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    engine = create_engine(url, pool_pre_ping=True, pool_timeout=CONNECT_TIMEOUT_S, connect_args=connect_args)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the turn writer
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


def unreachable(url: str, err: Exception) -> str:
    """One line for operators: which database (password hidden) and the driver's reason."""
    reason = (
        str(getattr(err, "orig", err)).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    )
    shown = make_url(url).render_as_string(hide_password=True)
    return f"the interview database {shown} is unreachable ({reason})"


def migrate(url: str) -> None:
    """Bring the database schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = engine_for(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Store:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            migrate(url)
        except (OperationalError, InterfaceError) as err:
            raise DatabaseUnavailable(unreachable(url, err)) from None
        return cls(url)

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        try:
            with self._sessions() as db:
                yield db
        except (OperationalError, InterfaceError) as err:
            raise DatabaseUnavailable(unreachable(self.url, err)) from None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back entirely on any error."""
        try:
            with self._sessions() as db, db.begin():
                yield db
        except (OperationalError, InterfaceError) as err:
            raise DatabaseUnavailable(unreachable(self.url, err)) from None

    def ping(self) -> None:
        """Raise DatabaseUnavailable unless the database answers a trivial query."""
        with self._reading() as db:
            db.execute(select(1))

    def create_session(
        self,
        *,
        role: str,
        topic: str,
        difficulty: str,
        job_description: str | None,
        question_ids: list[str],
        candidate_token: str | None,
        opener: dict[str, Any],
    ) -> tuple[InterviewSession, Turn, str, str]:
        """A new session and its opening turn, in one transaction, with the session's secret token.

        A candidate token (new if not given) links a candidate's sessions into a history.
        """
        token, candidate_token = new_secret(), candidate_token or new_secret()
        session = InterviewSession(
            id=uuid.uuid4().hex,
            token_digest=digest(token),
            candidate_digest=digest(candidate_token),
            role=role,
            topic=topic,
            difficulty=difficulty,
            job_description=job_description,
            question_ids=question_ids,
        )
        turn = Turn(id=uuid.uuid4().hex, session_id=session.id, position=0, kind="opener", **opener)
        with self.transaction() as db:
            db.add(session)
            db.flush()  # the session row first: the turn's foreign key points at it
            db.add(turn)
        return session, turn, token, candidate_token

    def authorised(self, db: Session, session_id: str, token: str) -> InterviewSession:
        row = db.get(InterviewSession, session_id) if len(session_id) == 32 else None
        # Compare against a digest even for unknown ids, so timing does not reveal which exist.
        expected = row.token_digest if row is not None else digest(new_secret())
        if not hmac.compare_digest(expected, digest(token)) or row is None:
            raise AccessDenied("no session with this id and token")
        return row

    def session(self, session_id: str, token: str) -> InterviewSession:
        with self._reading() as db:
            row = self.authorised(db, session_id, token)
            _ = [t.rating for t in row.turns]  # load turns and ratings before the session closes
            return row

    def add_turn(self, session_id: str, token: str, **fields: Any) -> Turn:
        """Append the next turn; raises IntegrityError if another answer took its position."""
        with self.transaction() as db:
            row = self.authorised(db, session_id, token)
            turn = Turn(id=uuid.uuid4().hex, session_id=row.id, **fields)
            db.add(turn)
        return turn

    def rate(
        self,
        session_id: str,
        token: str,
        turn_id: str,
        rating: int,
        comment: str | None,
        candidate_score: float | None,
    ) -> Rating:
        with self.transaction() as db:
            row = self.authorised(db, session_id, token)
            turn = db.get(Turn, turn_id)
            if turn is None or turn.session_id != row.id:
                raise AccessDenied("this session has no such turn")
            existing = db.get(Rating, turn_id)
            if existing is None:
                existing = Rating(turn_id=turn_id, rating=rating)
                db.add(existing)
            existing.rating, existing.comment, existing.candidate_score = rating, comment, candidate_score
        return existing

    def history(self, candidate_token: str) -> list[InterviewSession]:
        with self._reading() as db:
            rows = db.scalars(
                select(InterviewSession)
                .where(InterviewSession.candidate_digest == digest(candidate_token))
                .order_by(InterviewSession.created_at)
            ).all()
            for row in rows:
                _ = [t.rating for t in row.turns]
            return list(rows)

    def rated_turns(self) -> list[tuple[Turn, Rating]]:
        """Every rated turn with its rating, oldest first (for `collect_ratings`)."""
        with self._reading() as db:
            rows = db.execute(
                select(Turn, Rating)
                .join(Rating, Rating.turn_id == Turn.id)
                .order_by(Turn.created_at, Turn.id)
            ).all()
            return [(turn, rating) for turn, rating in rows]
