"""Edges with provenance built from the source indices, entity resolution and analysts' match
decisions, neighbourhood expansion, control, ranking, paths and exports."""
