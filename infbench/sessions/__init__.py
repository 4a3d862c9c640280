"""Session files: always-on recording, reading, replay, export."""
