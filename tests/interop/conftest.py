"""Fixtures for interop tests against real peers; every test here is marked ``interop``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.harness import Namespace, Node, helpline, namespace


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/interop/" in str(item.fspath):
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    if shutil.which("sipp") is None:
        pytest.fail("SIPp is not installed (Debian package sip-tester); .ci/run installs it")
    with namespace() as made:
        yield made


@pytest.fixture(scope="module")
def node(ns: Namespace, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with helpline(ns, tmp_path_factory.mktemp("node")) as running:
        yield running


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
