"""Running a plan: the runner (engine hosts + scheduler + sampler), the recorded run that feeds the session and the
live analysis, and the headless front end (progress, results, exit codes). Imports engines, monitors, sessions,
analysis and report; never tui or commands."""
