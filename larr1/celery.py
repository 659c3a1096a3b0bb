import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")

app = Celery("larr1")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks that live beside the module that uses them rather than in tasks.py.
app.autodiscover_tasks(related_name="emails")
