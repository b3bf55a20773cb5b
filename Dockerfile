# The course's image of the clientes API, for production: gunicorn, static files, a non-root user.
# BASE_IMAGE pins a Python minor that Django 5.2 supports; scripts/local-aws makes a local image of that name.
ARG BASE_IMAGE=python:3.13-slim
#checkov:skip=CKV_DOCKER_7:The base is an ARG whose default pins python:3.13-slim; checkov cannot read it.
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=setup.settings

WORKDIR /home/ubuntu/tcc

# The runtime user owns nothing but the SQLite folder: the code stays root's and read-only to it.
RUN useradd --system --no-create-home --home-dir /home/ubuntu/tcc --shell /usr/sbin/nologin app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT') or 8000}/health/\", timeout=4)"]
# A key if none is given, the admin from DJANGO_SUPERUSER_*, then gunicorn (`docker run IMAGE python manage.py migrate` replaces it).
CMD ["python", "manage.py", "serve"]

# Dependencies first, pinned with hashes: a code change reuses this layer. Translations' sources (.po) are
# only read by makemessages; the compiled .mo files stay.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
    && find "$(python -c 'import django, pathlib; print(pathlib.Path(django.__file__).parents[1])')" -name '*.po' -delete

# ALLOWED_HOSTS, migrate, the fixture and the static files, in one process (the system checks run in the tests
# and at `manage.py check`, not at every rebuild); the runtime user may write data/ only.
COPY . ./
RUN install -d data && python manage.py prepare_image --verbosity 0 --skip-checks && chown -R app:app data
USER app
