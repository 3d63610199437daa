"""What every project's tests share with zerovl's own (tests/conftest.py): they run from the repository
root and offline, with the same fixtures (synthetic_root, short_work_dir, one_thread)."""
import os

from zerovl.testing.fixtures import enter_repository, one_thread, short_work_dir, synthetic_root  # noqa: F401

enter_repository(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
