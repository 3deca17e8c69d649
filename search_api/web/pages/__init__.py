"""The web UI's page routers, one module per area (see docs/web.md)."""
