"""Celery settings for Reverie's Dagster workers: `dagster_celery.app` imports this module when it is on the
worker's PYTHONPATH (see docs/operations.md, "Celery workers").

Broker and result backend come from the environment, as the runs' executor reads them (`assets/executors.py`),
so one Redis URL configures both sides and no secret is written into a file.
"""

import os

broker_url = os.environ.get("REVERIE_CELERY_BROKER", "redis://127.0.0.1:6379/0")
result_backend = os.environ.get("REVERIE_CELERY_BACKEND", broker_url)
worker_prefetch_multiplier = 1  # a step is long: never hold one back behind another on a busy worker
task_acks_late = True  # a worker that dies mid-step leaves the task for another worker
broker_connection_retry_on_startup = True
