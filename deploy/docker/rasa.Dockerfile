# The Rasa server image (Python 3.10, Rasa 3.6.21) with the trained model.
# Train first (`make train` puts the model in models/), then from the project root:
# docker build -f deploy/docker/rasa.Dockerfile -t civic-rasa .
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONWARNINGS=ignore \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

RUN useradd --system --uid 10001 --home-dir /var/lib/rasa --create-home --shell /usr/sbin/nologin rasa

WORKDIR /app
COPY requirements-rasa.lock ./
RUN pip install --require-hashes -r requirements-rasa.lock

# Only what runs inside Rasa: the token wrapper, the REST channel with its token check,
# the endpoints and credentials, and the model.
COPY ops/__init__.py ops/rasa_main.py ops/rasa_channel.py ops/
COPY deploy/rasa/ deploy/rasa/
COPY models/ models/

USER 10001
EXPOSE 5005
# RASA_AUTH_TOKEN is added to the arguments inside the process (ops/rasa_main.py).
ENTRYPOINT ["python", "-m", "ops.rasa_main"]
CMD ["run", "--enable-api", "--interface", "127.0.0.1", "--port", "5005", \
     "--model", "models", \
     "--endpoints", "deploy/rasa/endpoints.yml", "--credentials", "deploy/rasa/credentials.yml"]
