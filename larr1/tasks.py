import os
import socket

from celery import shared_task


@shared_task(name="larr1.ping")
def ping(token: str) -> dict:
    """Answer with who ran the task; proves a message crossed the broker."""
    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}
