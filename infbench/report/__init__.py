"""Rendering a report for people and tools: Rich tables, Markdown, CSV and JSON, the findings and the fair
comparison, compare and sweep tables. Reads typed analysis results; never runs anything."""
