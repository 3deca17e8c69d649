"""Where the header's application picker returns to: only one of our own data pages."""

from __future__ import annotations

import pytest

from search_api.web.pages.home import DEFAULT_AFTER_CHOICE, page_to_return_to


@pytest.mark.parametrize(
    "back",
    ["/ui/cases", "/ui/search/results?q=%E5%85%AC%E5%8F%B8&offset=20", "/ui/graph"],
)
def test_the_picker_returns_to_the_page_it_was_on(back: str) -> None:
    assert page_to_return_to(back) == back


@pytest.mark.parametrize(
    "back",
    [
        "/ui/",  # the home page: choosing an application there leads to the search page
        "https://elsewhere.example/ui/x",
        "//elsewhere.example/ui/x",
        "/ui//elsewhere.example",
        "/ui/\\elsewhere.example",
        "/docs",
        "ui/search",
        "/ui/search\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_anything_else_goes_to_the_default_page(back: str) -> None:
    assert page_to_return_to(back) == DEFAULT_AFTER_CHOICE
