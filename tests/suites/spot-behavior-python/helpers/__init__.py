"""Helpers shared by the pytest spot-behavior suite."""
