"""The fakes listen on 127.0.0.1: a proxy from the environment (urllib honours
HTTP_PROXY and HTTPS_PROXY) must not carry the tests' posts elsewhere."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
