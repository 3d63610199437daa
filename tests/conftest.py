import os

from zerovl.testing.fixtures import enter_repository, one_thread, short_work_dir, synthetic_root  # noqa: F401

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
enter_repository(REPO_ROOT)
