# bookyflow-worker image: slim Python, non-root, state on a volume, health from the heartbeat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOOKYFLOW_STATE_DIR=/var/lib/bookyflow

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY scripts/ scripts/
COPY worker/ worker/
COPY config/ config/
# The same install script the Makefile runs (without the dev extra), pinned by requirements.lock.
RUN scripts/bootstrap.sh /opt/venv \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin bookyflow \
    && mkdir -p /var/lib/bookyflow \
    && chown 10001:10001 /var/lib/bookyflow \
    && chmod 0700 /var/lib/bookyflow
ENV PATH="/opt/venv/bin:$PATH"

USER 10001
VOLUME ["/var/lib/bookyflow"]
# Every write goes to the state volume, so the root filesystem can be mounted read-only.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bookyflow-worker", "healthcheck"]
ENTRYPOINT ["bookyflow-worker"]
CMD ["run"]
