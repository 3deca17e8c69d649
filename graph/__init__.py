"""Entity resolution, edges with provenance, neighbourhood expansion, ranking, paths, exports."""
