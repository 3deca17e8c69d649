"""Watch lists (布控): watched subjects, standing comparison runs, and the notifications an
ingest produces for them (docs/watch.md)."""
