"""Processors (models) of the agents that live in the project's worlds; run scripts import them."""
