# gradtrace, CPU build: the web app and the REST API on port 8000.
#   docker build -t gradtrace .      docker run -p 8000:8000 gradtrace
# Versions are the pins of pyproject.toml (torch 2.13.0, CPU wheel).

FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN node build.mjs

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# torch first, from the CPU index, so the dependency pins below find it satisfied
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY backend/ backend/
RUN pip install . && python -c "import gradtrace.service, gradtrace.api"
COPY --from=frontend /src/frontend/dist/ /app/frontend/dist/

RUN useradd --create-home --uid 10001 --user-group gradtrace
USER 10001:10001
ENV GRADTRACE_HOST=0.0.0.0 \
    GRADTRACE_PORT=8000 \
    GRADTRACE_STATIC_DIR=/app/frontend/dist
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
CMD ["gradtrace", "serve"]
