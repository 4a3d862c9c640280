"""The run plan as data: variants (engine + validated options + label + roles), workload, schedule, sweep grid
(`spec`), and its construction from command-line arguments with validation before anything starts (`build`)."""
