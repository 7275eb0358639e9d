"""Mock departments that are *not* among the 19 served by ``python -m mocks``: each runs alone on its own
port, so onboarding (``onestop connector register``) can be tried against a department Onestop has
never seen. ``python -m mocks.extra.archives --port 8120``."""
