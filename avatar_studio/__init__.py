"""Avatar Studio: lip-synced talking-avatar videos from one presenter clip and any voice recording."""

__version__ = "0.1.0"
