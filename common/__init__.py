"""Shared bottom layer: settings, logging set-up, closed vocabularies, the SQL engine factory and
the one MetaData, and the domain errors every package raises."""
