"""The live TUI and session replay (Textual). Widgets render `infbench.snapshot.Snapshot` objects only."""
