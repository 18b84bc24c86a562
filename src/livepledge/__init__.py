"""Livepledge: a self-hostable live-commerce platform.

What is said on air is what the buyer gets."""

__version__ = "0.1.0"
