"""Errors a person can fix. Each names what is wrong and where (a parameter, a row, a feature)."""
from __future__ import annotations


class UserError(Exception):
    """Shown to the person as {"error": code, "message": text, "field"/"row": where}."""
    code = "bad_request"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, row: int | None = None,
                 code: str | None = None, status: int | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.field = field
        self.row = row
        if code:
            self.code = code
        if status:
            self.status = status

    def as_json(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.row is not None:
            body["row"] = self.row
        return {**body, **self.extra}


class ParamError(UserError):
    code = "bad_parameter"


class NotFound(UserError):
    code = "not_found"
    status = 404
