"""Every run test that takes ``backend`` or ``store`` runs on SQLite and on PostgreSQL."""

from tests.runs.backends import backend, store  # noqa: F401 (fixtures)
