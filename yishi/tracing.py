"""OpenTelemetry tracing: spans are created through the API, exported only when configured.

``YISHI_OTEL_EXPORTER=console`` prints spans; ``otlp`` sends them to ``YISHI_OTEL_ENDPOINT`` (needs the
``opentelemetry-exporter-otlp`` package). With neither, the API's no-op provider is used.
"""

from __future__ import annotations

import structlog
from opentelemetry import trace

from yishi.settings import Settings

log = structlog.get_logger(__name__)
_configured = False


def configure_tracing(settings: Settings, service_name: str) -> None:
    global _configured
    if _configured or not settings.otel_exporter:
        return
    _configured = True
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if settings.otel_exporter == "console":
        exporter = ConsoleSpanExporter()
    elif settings.otel_exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise SystemExit("YISHI_OTEL_EXPORTER=otlp needs: pip install opentelemetry-exporter-otlp") from exc
        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint or None)
    else:
        raise SystemExit(f"YISHI_OTEL_EXPORTER must be '', 'console' or 'otlp', not {settings.otel_exporter!r}")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("tracing.enabled", exporter=settings.otel_exporter, service=service_name)


def shutdown_tracing() -> None:
    """Export the spans still buffered (a process about to exit without finalizing)."""
    provider = trace.get_tracer_provider()
    if _configured and hasattr(provider, "shutdown"):
        provider.shutdown()


_tracer: trace.Tracer | None = None
_NO_PROVIDER = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)


def tracing_configured() -> bool:
    """Whether spans go anywhere in this process: Yishi's own exporter, or a tracer provider installed by someone
    else (``opentelemetry-instrument``, an embedding application). A server span per request is skipped when they
    would not (the no-op span cost a share of a ballot POST's CPU, docs/benchmarks.md)."""
    return _configured or not isinstance(trace.get_tracer_provider(), _NO_PROVIDER)


def tracer() -> trace.Tracer:
    """Yishi's tracer, looked up once: before :func:`configure_tracing` it is the API's proxy tracer, which
    hands over to the configured provider as soon as there is one (the lookup cost every request a share of
    its CPU: docs/benchmarks.md)."""
    global _tracer
    if _tracer is None:
        _tracer = trace.get_tracer("yishi")
    return _tracer
