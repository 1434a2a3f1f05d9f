FROM python:3.12-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY db ./db
COPY scoring ./scoring
COPY alembic ./alembic
RUN pip install --no-cache-dir -e .
EXPOSE 8000
# `tada serve` applies the Alembic migrations (and seeds an empty catalog) before serving.
CMD ["tada", "serve", "--host", "0.0.0.0", "--port", "8000"]
