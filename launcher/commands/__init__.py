"""Sub-commands of the `sluice` command line, one module per group."""
