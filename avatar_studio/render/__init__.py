"""Rendering: frame schedule (`schedule`), compositing (`composite`), settings (`settings`) and the
streaming render pipeline (`pipeline`). Import the submodule you need: `settings` stays light so the
job queue can validate render settings without loading the pipeline."""
