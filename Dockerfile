# One image for the bot and the stateless workers: scale them out against a Temporal cluster
# or Temporal Cloud (deploy/ has docker-compose.yaml and the Kubernetes manifests).
#   docker build -t purchasebot .
#   docker run -e TEMPORAL_ADDRESS=temporal:7233 --env-file deploy/purchasebot.env purchasebot
# Configuration files are baked in (the same rules on every replica); mount others over
# /app/rules.yaml etc. to change them without a rebuild (they are reloaded while running).
FROM python:3.11-slim

# Each image is one Worker Deployment build. Its build id is computed from the code it holds
# (package version + hash of the source, appconfig/build.py): different code, different id,
# with no flag to remember. `--build-arg BUILD_ID=...` overrides it.
ARG BUILD_ID=""

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PURCHASEBOT_RULES=/app/rules.yaml \
    PURCHASEBOT_DIRECTORY=/app/directory.yaml \
    PURCHASEBOT_CATALOG=/app/catalog.yaml \
    PURCHASEBOT_FLAGS=/app/flags.yaml \
    PURCHASEBOT_DATA_DIR=/var/lib/purchasebot \
    PURCHASEBOT_BUILD_ID=${BUILD_ID} \
    HOST=0.0.0.0 PORT=3000

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
# The build id, printed in the build log and kept in /app/BUILD_ID (its log goes to /tmp: the
# data directory belongs to the unprivileged user).
RUN PURCHASEBOT_DATA_DIR=/tmp/build-id purchasebot build-id | tee /app/BUILD_ID

USER purchasebot
# 3000: the bot (Slack endpoint, /health, /livez, /readyz); 8081: a worker's probes when
# PURCHASEBOT_HEALTH_PORT=8081. SIGTERM stops either gracefully (in-flight activities finish).
EXPOSE 3000 8081
# The bot runs the same image with `purchasebot bot`.
CMD ["purchasebot", "worker"]
