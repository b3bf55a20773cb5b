"""The Celery application of the worker (`celery -A setup worker`) and of the web that queues its jobs.

With SQS_QUEUE_URL_DEFAULT (deploy_ecs gives it, from ECR_DEPLOY["ECS"]["QUEUES"]), jobs go through that SQS queue,
signed with the task role's credentials; without it (`docker run`, the tests) each job runs at once, in the request.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "setup.settings")

app = Celery("setup")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
