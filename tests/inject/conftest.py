from tests.store.conftest import store_project, user_config  # noqa: F401  (shared fixtures)
