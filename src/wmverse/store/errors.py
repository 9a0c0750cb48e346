"""The run store's one error type, and the translation of database errors into it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StoreError", "translate_errors"]


class StoreError(Exception):
    """A run store problem a user can act on: a bad URL, a missing file, an unknown run, a refused write.

    The message is complete on its own (the command line prints it and exits 2); the database error, if
    any, is chained as ``__cause__``.
    """


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Re-raise SQLAlchemy and driver errors inside the block as ``StoreError("<what>: <reason>")``."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except StoreError:
        raise
    except DBAPIError as exc:  # the driver's own message, without SQLAlchemy's statement dump
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise StoreError(f"{what}: {reason}") from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"{what}: {str(exc).strip().splitlines()[0]}") from exc
