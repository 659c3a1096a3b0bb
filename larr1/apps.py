from django.apps import AppConfig


class Larr1Config(AppConfig):
    name = "larr1"
    verbose_name = "Larr1"
