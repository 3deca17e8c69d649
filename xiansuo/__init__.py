"""The `xiansuo` command line: the top of the dependency graph, importing the packages lazily."""
