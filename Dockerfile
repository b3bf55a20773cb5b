# The course's image of the clientes API, ordered for the layer cache.
# BASE_IMAGE pins a Python minor that Django 5.2 supports; scripts/local-aws makes a local image of that name.
ARG BASE_IMAGE=python:3.13-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /home/ubuntu/tcc

RUN useradd --system --home-dir /home/ubuntu/tcc --shell /usr/sbin/nologin app \
    && chown app:app /home/ubuntu/tcc

EXPOSE 8000
ENTRYPOINT ["python", "manage.py", "runserver", "--noreload", "0.0.0.0:8000"]

# Dependencies first: a code change reuses this layer.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

USER app
COPY --chown=app:app . ./
RUN python manage.py prepare_image
