"""Every registered driver, the project's and any plug-in's, passes the conformance check."""

from __future__ import annotations

import pytest

import instrumentkit as ik
from instrumentkit.testing import check_driver


@pytest.mark.parametrize("driver", ik.registered_drivers(), ids=lambda d: d.__name__)
def test_driver_conforms(driver):
    check_driver(driver)
