# pambot in a container: HTTP mode or Socket Mode, chosen by the environment as bare `pambot`
# chooses (SLACK_APP_TOKEN set: Socket Mode; else SLACK_SIGNING_SECRET set: HTTP on $PORT).
#
#   docker build -t pambot .
#   docker run -d --env-file pambot.env -p 3000:3000 -v pambot-data:/data pambot
#
# The query log is on the /data volume. HEALTHCHECK asks /healthz: the HTTP server's, or in
# Socket Mode the health endpoint on 127.0.0.1:$PAMBOT_HEALTH_PORT inside the container.
# See "Operating pambot" in the README for what of this file has been verified.
ARG BASE=python:3.12-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin pambot \
    && mkdir /data && chown pambot:pambot /data

WORKDIR /src/pambot
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY rules ./rules
# The README's server install line (tests/test_deploy.py keeps the two the same).
RUN python3 -m venv /opt/pambot && /opt/pambot/bin/pip install .

ENV PATH=/opt/pambot/bin:$PATH \
    PAMBOT_DB=/data/pambot.db \
    PORT=3000 \
    PAMBOT_HEALTH_PORT=3000 \
    PAMBOT_LOG_FORMAT=json

VOLUME ["/data"]
USER pambot:pambot
WORKDIR /data
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python3", "-c", "import os, urllib.request; port = os.environ['PAMBOT_HEALTH_PORT'] if os.environ.get('SLACK_APP_TOKEN') else os.environ['PORT']; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

CMD ["pambot"]
