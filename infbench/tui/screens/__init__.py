"""Screens: setup, the shared dashboard (live and replay), help and the mark modal."""
