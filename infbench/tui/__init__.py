"""The live TUI and session replay (Textual). Widgets render `infbench.tui.snapshot.Snapshot` objects only."""
