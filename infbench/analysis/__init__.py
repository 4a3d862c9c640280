"""Pure analysis functions over numpy arrays: no I/O, no threads, no Textual."""
