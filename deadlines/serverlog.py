"""The server's log lines: no token, no query string, no control character, one line each.

A token is a secret that opens a feed, and request paths carry it; every line `serve` logs
(its own request lines, waitress's messages and tracebacks) goes through `scrub` first.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType

LOG_LIMIT = 2000  # characters of one logged message

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# A token-shaped path segment: a run of 16 or more URL-safe base64 characters (tokens are 32),
# also percent-encoded, after a slash; whatever follows it (a slash, the end, a control
# character) it is masked whole.
_TOKEN_SEGMENT = re.compile(r"(?<=/)(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2}){16,}(?![A-Za-z0-9_-])")
# a query string after a path: anything up to the next blank or quote
_QUERY = re.compile(r"(?<=[^\s?])\?[^\s\"'<>]+")
# C0 and C1 controls, DEL and the Unicode line separators: a request must not start a new log
# line, move the cursor or recolour a terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_control(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    return _CONTROL.sub(_escape_control, text)


def scrub(text: str, limit: int = LOG_LIMIT) -> str:
    """A message made safe to log: token-shaped path segments and query strings masked,
    control characters (CR and LF included) shown escaped, so it stays one line."""
    text = _TOKEN_SEGMENT.sub("<token>", text)
    text = _QUERY.sub("?<query>", text)
    text = escape_controls(text)
    return text if len(text) <= limit else text[:limit] + "..."


def mask(path: str) -> str:
    """A request path for the log: the first segment (where a token goes) and every other
    token-shaped segment replaced, control characters escaped, at most 200 characters."""
    parts = path.split("/")
    if len(parts) > 1 and parts[1]:
        parts[1] = "<token>"
    return scrub("/".join(parts), limit=200)


# Chunks of a formatted traceback that come from code, not from data: kept line by line.
# Everything else is an exception's message (which may quote a request), kept on one line.
_TRACEBACK_FRAMES = ("Traceback (most recent call last):", "  File ", "  [Previous line",
                     "\nDuring handling of the above exception",
                     "\nThe above exception was the direct cause")


def scrub_traceback(exc_info: ExcInfo) -> str:
    out = []
    for chunk in traceback.format_exception(*exc_info):
        if chunk.startswith(_TRACEBACK_FRAMES):
            out.append("\n".join(scrub(line) for line in chunk.split("\n")))
        else:
            out.append(scrub(chunk.rstrip("\n")) + "\n")
    return "".join(out).rstrip("\n")


class ScrubFilter(logging.Filter):
    """Masks tokens and escapes control characters in a record's message and traceback.

    Installed on waitress's loggers, whose messages quote request paths ("Exception while
    serving /<path>") and whose tracebacks quote exception messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in someone's log call: log it as it is
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = scrub_traceback(record.exc_info)
            record.exc_info = None  # so that no handler formats the raw one again
        elif record.exc_text:
            record.exc_text = "\n".join(scrub(line) for line in record.exc_text.split("\n"))
        if record.stack_info:
            record.stack_info = "\n".join(scrub(line) for line in record.stack_info.split("\n"))
        return True


SCRUBBED_LOGGERS = ("waitress", "waitress.queue")


def install_log_scrubbing() -> None:
    """A ScrubFilter on each waitress logger (a logger's filters see only its own records,
    not its children's, hence each one); idempotent."""
    for name in SCRUBBED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubFilter) for f in logger.filters):
            logger.addFilter(ScrubFilter())


def print_line(line: str) -> None:
    # one write per line: print() writes the text and the newline separately, and waitress's
    # worker threads then run two request lines together
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
