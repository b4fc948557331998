# bookyflow-worker image: Python 3.11, non-root (uid 10001), state on a volume, health from the heartbeat.
#
#   make image                       podman (base made locally by scripts/make-base.sh) or docker
#   docker build -t bookyflow-worker:0.1.0 .        anywhere else: BASE_IMAGE defaults to python:3.11-slim
#
# The base only needs python3 (3.11), its venv module and ca-certificates. The install is
# scripts/bootstrap.sh exactly as `make venv` runs it, without the dev extra, pinned by
# requirements.lock. The container runs with a read-only root and needs no tmpfs: everything it
# writes (state db, heartbeat, lock, outbox, bookings, temporary files) goes to the state volume.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="bookyflow-worker" \
      org.opencontainers.image.description="Channel worker that keeps a vendor's inventory in step with BookyFlow hotel sites" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"

# TMPDIR: Python's tempfile (and SQLite's temporary files) use the state volume, never /tmp.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOOKYFLOW_STATE_DIR=/var/lib/bookyflow \
    TMPDIR=/var/lib/bookyflow

WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY scripts/bootstrap.sh scripts/
COPY worker/ worker/
COPY config/ config/
# The same install script the Makefile runs (without the dev extra). pip's cache is off so no
# download is left in the image; the build (make image) mounts the host's pip configuration and CA
# bundle read-only for this step only.
RUN PIP_NO_CACHE_DIR=1 scripts/bootstrap.sh /opt/venv \
    && rm -rf /app/worker /app/build /app/*.egg-info \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /var/lib/bookyflow \
       --shell /usr/sbin/nologin bookyflow \
    && mkdir -p /var/lib/bookyflow \
    && chown 10001:10001 /var/lib/bookyflow \
    && chmod 0700 /var/lib/bookyflow
ENV PATH="/opt/venv/bin:$PATH"

USER 10001
VOLUME ["/var/lib/bookyflow"]
STOPSIGNAL SIGTERM
# Kept only in docker format (make image builds with --format docker); Kubernetes uses its own probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bookyflow-worker", "healthcheck"]
ENTRYPOINT ["bookyflow-worker"]
CMD ["run"]
