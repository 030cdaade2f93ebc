from django.apps import AppConfig


class SpecimensConfig(AppConfig):
    """A test-only room holding one of every sensitive field kind, until the real rooms exist."""

    name = "tests.specimens"
    label = "specimens"
