"""The registry schema: source definitions, the document envelope, the engine door."""
