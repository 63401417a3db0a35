"""Qualipref's background workers: the Celery app, its tasks and its periodic schedule."""
