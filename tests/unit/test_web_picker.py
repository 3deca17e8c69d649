"""Where the header's application picker returns to: only one of our own data pages."""

from __future__ import annotations

import pytest

from search_api.web.pages.home import DEFAULT_AFTER_CHOICE, page_to_return_to


@pytest.mark.parametrize(
    ("back", "page"),
    [
        ("/ui/cases", "/ui/cases"),
        ("/ui/graph", "/ui/graph"),
        ("/ui/search/results", "/ui/search"),  # a result needs its query: the area's page
        ("/ui/graph/view?value=460106198206120231", "/ui/graph"),  # a query is never echoed
        ("/ui/persons/habcdef/profile", "/ui/persons/habcdef/profile"),
        ("/ui/audit/users/web.inv", "/ui/audit"),
        ("/ui/models/clues?status=待处置", "/ui/models"),  # the models area: its catalogue
    ],
)
def test_the_picker_returns_to_the_page_it_was_on(back: str, page: str) -> None:
    assert page_to_return_to(back) == page


@pytest.mark.parametrize(
    "back",
    [
        "/ui/",  # the home page: choosing an application there leads to the search page
        "https://elsewhere.example/ui/x",
        "//elsewhere.example/ui/x",
        "/ui//elsewhere.example",
        "/ui/\\elsewhere.example",
        "/docs",
        "/ui/persons/habcdef/linked",  # a fragment, and no page of its own area
        "/ui/nowhere",
        "/ui/persons/../../elsewhere/profile",
        "ui/search",
        "/ui/search\r\nSet-Cookie: x=1",
        "",
    ],
)
def test_anything_else_goes_to_the_default_page(back: str) -> None:
    assert page_to_return_to(back) == DEFAULT_AFTER_CHOICE
