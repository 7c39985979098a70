# syntax=docker/dockerfile:1
# One image for every Yishi process: `yishi migrate`, `yishi worker`, `yishi web`, `yishi user ...`.
# External PostgreSQL and Temporal come from YISHI_DATABASE_URL / YISHI_TEMPORAL_ADDRESS (see docker-compose.yml).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YISHI_DATA_DIR=/var/lib/yishi

# Unprivileged runtime user with a fixed numeric id (works with runAsNonRoot-style policies). The kept histories'
# folder exists in the image, owned by that user, so the `histories` volume mounted there starts with its owner.
RUN groupadd --system --gid 10001 yishi \
    && useradd --system --uid 10001 --gid yishi --home-dir /var/lib/yishi --no-create-home \
        --shell /usr/sbin/nologin yishi \
    && install -d -o yishi -g yishi -m 0750 /var/lib/yishi \
    && install -d -o yishi -g yishi -m 0700 /var/lib/yishi/histories

WORKDIR /app

# Runtime dependencies only (no [test] extra). Sources stay root-owned, read-only for the runtime user.
COPY pyproject.toml README.md ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY yishi/ yishi/
COPY worker.py ./
# The standalone verifier goes into every audit export the console hands out (yishi/web/console_audit.py).
COPY tools/verify_export.py tools/verify_export.py
RUN pip install . \
    && rm -rf build ./*.egg-info

USER 10001:10001

EXPOSE 8000

ENTRYPOINT ["yishi"]
CMD ["--help"]
