"""The three ways a message can fail, as typed exceptions.

A stage raises `PermanentError` when retrying can never help (the message goes
to the dead-letter topic with the reason), `TransientError` when the same
message may succeed later (Elasticsearch busy or down).
"""

from __future__ import annotations


class NewsflowError(Exception):
    """Root of newsflow's own errors."""


class PermanentError(NewsflowError):
    """This message can never be processed as it is: dead-letter it.

    `code` is a short stable machine-readable reason (e.g. ``invalid_json``),
    `detail` the human explanation, `stage` the pipeline stage that refused it.
    """

    def __init__(self, code: str, detail: str, stage: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.stage = stage


class TransientError(NewsflowError):
    """A dependency failed in a way that may pass: retry later, do not commit."""


class ConfigError(NewsflowError):
    """The settings are invalid; raised at start-up, before any work."""


class ServiceError(NewsflowError):
    """A local service could not be installed, started or reached."""
