"""Identity numbers, value parsing, Chinese analysis, index analysis settings and the text
embedder. Imports only common."""
