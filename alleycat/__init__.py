"""Alleycat: streaming analytics for virtual bike racing."""

__version__ = "0.1.0"
