# The TADA API. Python 3.11: the version CI tests (.ci/run).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY db ./db
COPY scoring ./scoring
COPY alembic ./alembic
# A regular (not editable) install: migrations go to /usr/local/share/tada/alembic, the seed
# catalog and docs assets into site-packages; the source folder is not needed at run time.
RUN pip install . && rm -rf /src
# Never root: the service needs no privilege. Its working folder is its own.
RUN useradd --system --create-home --home-dir /var/lib/tada --uid 10001 tada
USER tada
WORKDIR /var/lib/tada
EXPOSE 8000
# `tada serve` applies the Alembic migrations (and seeds an empty catalog) before serving.
CMD ["tada", "serve", "--host", "0.0.0.0", "--port", "8000"]
