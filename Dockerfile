# The newsflow command line and worker; docker-compose.yml runs it as `setup` and `worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Runtime state (pid and log of a detached worker) goes where the unprivileged user may write.
ENV NEWSFLOW_STATE=/home/newsflow/state

WORKDIR /app
COPY pyproject.toml README.md ./
COPY workers ./workers
COPY schemas ./schemas
COPY samples ./samples
COPY deploy ./deploy
# Editable, as in a checkout: the package finds schemas/ beside workers/ and keeps its own data
# files (entity lists, models) next to its modules.
RUN pip install -e .

RUN useradd --create-home --uid 10001 newsflow
USER newsflow
# Faust creates its data directory in the working directory, so that must be one the user owns.
WORKDIR /home/newsflow

ENTRYPOINT ["newsflow"]
CMD ["--help"]
