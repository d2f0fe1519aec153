"""The one error type of request handling: an HTTP status, the field at fault and a message."""

from __future__ import annotations


class RequestError(Exception):
    """A request the server refuses: answered as ``{"error": {"status", "field", "message"}}``.

    Parameters
    ----------
    status : int
        HTTP status (4xx for the client's mistakes, 503 while a model is not loaded).
    field : str or None
        The request field at fault, as a dotted path (``"rows[3].indices"``), if any.
    message : str
        What is wrong, in one line.
    """

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message

    def payload(self) -> dict:
        return {"error": {"status": self.status, "field": self.field, "message": self.message}}
