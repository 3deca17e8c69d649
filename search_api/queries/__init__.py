"""Pure query builders: a scope and parameters in, an OpenSearch body out."""
