# papers-bot in a container: `docker compose up -d` (compose.yaml), or
#   docker build -t papers-bot . && docker run -d --env-file .env -v papers-bot-data:/data papers-bot
# The database lives on the /data volume; the process runs as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN python -m venv /opt/papers-bot \
    && /opt/papers-bot/bin/pip install --no-cache-dir --disable-pip-version-check . \
    && find /opt/papers-bot -name __pycache__ -prune -exec rm -rf {} +

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home papers-bot \
    && mkdir /data && chown papers-bot:papers-bot /data
COPY --from=build /opt/papers-bot /opt/papers-bot
ENV PATH=/opt/papers-bot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PAPERS_BOT_DB=/data/papers-bot.db \
    HEALTH_HOST=127.0.0.1 \
    HEALTH_PORT=8080
USER papers-bot
WORKDIR /data
VOLUME ["/data"]
# Slack's HTTP mode only (SLACK_HTTP_PORT); Socket Mode and Discord need no open port.
EXPOSE 3000
# /healthz answers 200 while the service runs; anything else (or no answer) is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["papers-bot", "health"]
# SIGTERM lets in-flight posts finish (up to 30 s) before the database closes.
STOPSIGNAL SIGTERM
ENTRYPOINT ["papers-bot"]
CMD ["run"]
