# Qualipref's production image: the same image runs the API, the workers, beat and migrations.

# The web pages' assets (the DSFR, htmx, Chart.js) from the npm lock file; only their built
# files reach the final image, and no install script of theirs runs.
FROM node:20-bookworm-slim AS frontend
WORKDIR /frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    QUALIPREF_DATA_DIR=/var/lib/qualipref

# WeasyPrint's libraries and a font for the letters' PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system qualipref \
    && useradd --system --gid qualipref --home-dir /var/lib/qualipref --create-home qualipref

WORKDIR /opt/qualipref
# Dependencies first, at the tested versions, so code changes reuse this layer.
COPY constraints.txt pyproject.toml README.md ./
RUN mkdir backend workers && touch backend/__init__.py workers/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y qualipref
COPY backend ./backend
COPY workers ./workers
COPY letter_templates ./letter_templates
COPY frontend/templates ./frontend/templates
COPY frontend/static ./frontend/static
COPY --from=frontend /frontend/node_modules/@gouvfr/dsfr/dist ./frontend/node_modules/@gouvfr/dsfr/dist
COPY --from=frontend /frontend/node_modules/htmx.org/dist ./frontend/node_modules/htmx.org/dist
COPY --from=frontend /frontend/node_modules/chart.js/dist ./frontend/node_modules/chart.js/dist
# Editable, so that the code finds letter_templates/ and frontend/ beside it, as in a checkout.
RUN pip install --no-deps -c constraints.txt -e .

USER qualipref
VOLUME ["/var/lib/qualipref"]
EXPOSE 8000
CMD ["qualipref", "serve", "--host", "0.0.0.0", "--port", "8000"]
