"""Pure query builders (a scope and parameters in, an OpenSearch body out) and the pure
reranking of their answers (similar_ranking)."""
