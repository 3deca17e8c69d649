"""The registry schema: source definitions, the document's field names and mappings, bulk
batching, and the engine door (the one way to OpenSearch)."""
