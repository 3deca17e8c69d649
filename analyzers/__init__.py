"""Chinese analysis, value parsing and index analysis settings. Imports no other package of ours."""
