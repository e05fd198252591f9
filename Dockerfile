# ET 4.1.7 applicant assistant: `docker build -t et417-bot .` then
# `docker run -e TELEGRAM_BOT_TOKEN=... -v et417-data:/data et417-bot`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BOT_DATABASE=/data/bot.sqlite3 \
    BOT_WEBHOOK_LISTEN=0.0.0.0

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY content ./content
COPY locales ./locales
RUN pip install . \
    && rm -rf /src \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bot \
    && mkdir -p /data && chown bot:bot /data

WORKDIR /data
USER bot
VOLUME ["/data"]
# Webhook mode listens on BOT_WEBHOOK_PORT (default 8443) when BOT_WEBHOOK_URL is set.
EXPOSE 8443
CMD ["python", "-m", "bot"]
