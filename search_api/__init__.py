"""The HTTP layer: app factory, routers, dependencies, models (the engine door is registry's)."""
