"""The web UI: server-rendered Chinese pages over the same gate, builders and log as the API
(docs/web.md: how a page is added; docs/ARCHITECTURE.md: "Page flow")."""
