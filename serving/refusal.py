"""The one exception for requests the service will not carry out, with the HTTP status to answer."""

from __future__ import annotations

from http import HTTPStatus


class RequestRefused(Exception):
    """`str(err)` is the message the candidate sees; `status` the 4xx it comes with."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        self.status = status
        super().__init__(message)
