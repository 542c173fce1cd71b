import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
sys.path.insert(1, str(TESTS.parent))     # benchmarks/ is not installed: the tests import it from the repository
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_USE_LEGACY_KERAS"] = "1"

from reference import SHARED, shared_missing  # noqa: E402


def _missing_shared_folder(error: BaseException) -> str | None:
    """The skip reason when `error` (or one it was raised from) names a file of a missing ../shared folder."""
    while error is not None:
        text = f"{error} {getattr(error, 'filename', '')}"
        for folder in ("models", "data"):
            if str(SHARED / folder) in text and shared_missing(folder):
                return shared_missing(folder)
        error = error.__cause__ or error.__context__
    return None


def _skip_when_shared_is_missing():
    try:
        return (yield)
    except Exception as e:
        reason = _missing_shared_folder(e)
        if reason:
            pytest.skip(reason)
        raise


# A test that reads a file of ../shared/models or ../shared/data when that folder is missing is skipped with the
# reason, whether its fixtures (setup) or its body (call) read it; with the folders present nothing changes.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _skip_when_shared_is_missing())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _skip_when_shared_is_missing())
