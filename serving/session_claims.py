"""One answer in progress per session: a second one sent meanwhile gets 409, whatever the path
(a spoken or typed answer, or a coding-round run), so two cannot race for the same turn."""

from __future__ import annotations

import threading
from http import HTTPStatus

from .refusal import RequestRefused


class SessionClaims:
    def __init__(self) -> None:
        self._held: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, session_id: str, busy: str) -> None:
        """Hold the session, or refuse with `busy` when another answer holds it."""
        with self._lock:
            if session_id in self._held:
                raise RequestRefused(HTTPStatus.CONFLICT, busy)
            self._held.add(session_id)

    def release(self, session_id: str) -> None:
        with self._lock:
            self._held.discard(session_id)
