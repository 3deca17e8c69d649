"""Shared bottom layer: settings, logging setup and the closed vocabularies every package uses."""
