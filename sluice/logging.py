"""structlog set up once: readable lines in a terminal, JSON in production, never secrets."""

from __future__ import annotations

import logging
import sys

import structlog

from sluice.config import Environment, Settings


def configure_logging(settings: Settings) -> None:
    """JSON lines in production (one event name plus key-value context), a console renderer
    otherwise; exceptions rendered plainly (rich tracebacks are slow and huge in logs)."""
    production = settings.env == Environment.production
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if production or not sys.stderr.isatty()
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO if production else logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,  # lets structlog.testing.capture_logs see every logger
    )
