"""The `sluice` command line and `sluice dev`: what starts the API, the indexer and the worker.

The only package allowed to import api/ and indexer/ as well as sluice/ (the layering contracts in
pyproject.toml, checked by `lint-imports`)."""
