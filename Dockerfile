# A stateless worker image: scale it out against a Temporal cluster or Temporal Cloud.
#   docker build -t purchasebot .
#   docker run -e TEMPORAL_ADDRESS=temporal:7233 -e TEMPORAL_NAMESPACE=default purchasebot
# Configuration files are baked in (the same rules on every replica); mount others over
# /app/rules.yaml etc. to change them without a rebuild (they are reloaded while running).
FROM python:3.11-slim

# Each image is one Worker Deployment build: `docker build --build-arg BUILD_ID=$(git rev-parse
# --short HEAD) .` (without it, the package version is the build id).
ARG BUILD_ID=""

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PURCHASEBOT_RULES=/app/rules.yaml \
    PURCHASEBOT_DIRECTORY=/app/directory.yaml \
    PURCHASEBOT_CATALOG=/app/catalog.yaml \
    PURCHASEBOT_FLAGS=/app/flags.yaml \
    PURCHASEBOT_DATA_DIR=/var/lib/purchasebot \
    PURCHASEBOT_BUILD_ID=${BUILD_ID}

WORKDIR /app
COPY pyproject.toml README.md ./
COPY activities ./activities
COPY appconfig ./appconfig
COPY bot ./bot
COPY domain ./domain
COPY entities ./entities
COPY workflows ./workflows
COPY slack_workspace ./slack_workspace
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/purchasebot purchasebot \
    && mkdir -p /var/lib/purchasebot && chown purchasebot /var/lib/purchasebot
COPY rules.yaml directory.yaml catalog.yaml flags.yaml manifest.yaml sample-history.csv ./

USER purchasebot
# `purchasebot up` runs the embedded dev server instead; in a cluster, run workers only.
CMD ["purchasebot", "worker"]
