"""The HTTP layer: app factory, routers, dependencies, models and the OpenSearch provider."""
