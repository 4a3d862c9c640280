"""`python -m infbench` runs the CLI."""

from infbench.cli import main

raise SystemExit(main())
