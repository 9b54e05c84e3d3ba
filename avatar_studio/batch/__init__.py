"""Batch production: a manifest (CSV or JSON) of avatar/audio rows checked as a whole (`check`),
queued as one group in the library's job queue and rendered here (`run`) or on a Ray cluster
(`ray_runner`, which imports Ray only when used)."""
