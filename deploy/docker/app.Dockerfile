# The application image: web app, Telegram gateway, scheduler, notifier, action server
# (`civicbot web | gateway | scheduler | notifier`, `python -m ops.action_server`).
# Build from the project root: docker build -f deploy/docker/app.Dockerfile -t civic-app .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CIVIC_VAR_DIR=/var/lib/civic

# /var/lib/civic is the var directory; media/ and open-data/ exist so that the volumes
# mounted there start owned by the app's user.
RUN useradd --system --uid 10001 --home-dir /var/lib/civic --create-home --shell /usr/sbin/nologin civic \
    && install -d -o civic -g civic /var/lib/civic/media /var/lib/civic/open-data

WORKDIR /app
# The same versions as `make install`, every file checked against its hash.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY . .
# Editable, as `make install` does: the project root (profiles/, nlu/) stays /app.
RUN pip install --no-deps --no-build-isolation -e .

USER 10001
EXPOSE 8000
ENTRYPOINT ["civicbot"]
CMD ["web"]
