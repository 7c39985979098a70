"""structlog configured once per process: JSON when not on a terminal, readable on one.

Standard-library logs (uvicorn, temporalio, asyncpg) go through the same processors, and context
bound with ``structlog.contextvars`` (deliberation_id, workflow_id, request id) appears on every line.
"""

from __future__ import annotations

import logging
import math
import sys
from typing import Any, TextIO

import orjson
import structlog

_configured = False


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    as_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor = (
        JsonLine() if as_json else structlog.dev.ConsoleRenderer()
    )
    exceptions = structlog.processors.format_exc_info if as_json else structlog.processors.ExceptionRenderer()
    # Yishi's own lines are rendered by structlog and written whole, one write per line: no stdlib LogRecord
    # and no second pass through a formatter (that path cost a ballot POST about a tenth of its CPU).
    structlog.configure(
        processors=[*shared, exceptions, renderer],
        logger_factory=_LineWriterFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    # Other libraries' standard-library logs (uvicorn, temporalio, asyncpg) go through the same processors.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, exceptions, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _LineWriter(structlog.WriteLogger):
    """structlog's line writer, carrying the logger's name for ``add_logger_name``."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _LineWriterFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _LineWriter:
        return _LineWriter(self._file, str(args[0]) if args else "")


_PLAIN = (str, int, bool, type(None))
_FALLBACK = structlog.processors.JSONRenderer(ensure_ascii=False)


class JsonLine:
    """structlog's ``JSONRenderer(ensure_ascii=False)``, with orjson for the usual line (every value a str, int,
    bool, None or finite float): the same keys and values, without the separators' spaces. Anything else (a
    datetime, an exception object, a nested dict, a NaN, an int beyond 64 bits) goes through structlog's own
    renderer, so ``repr`` and ``__structlog__`` apply as before. The stdlib encoder was about a third of a ballot
    POST's log line (docs/benchmarks.md)."""

    def __call__(self, logger: Any, name: str, event_dict: dict[str, Any]) -> str:
        for value in event_dict.values():
            kind = type(value)
            if kind is float:
                if not math.isfinite(value):
                    return _FALLBACK(logger, name, event_dict)  # type: ignore[return-value]
            elif kind not in _PLAIN:
                return _FALLBACK(logger, name, event_dict)  # type: ignore[return-value]
        try:
            return orjson.dumps(event_dict).decode()
        except orjson.JSONEncodeError:  # a non-str key, an int beyond 64 bits, a lone surrogate
            return _FALLBACK(logger, name, event_dict)  # type: ignore[return-value]
