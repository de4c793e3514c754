"""The Astana Times' weekly foreign-media digest: digest → render → message → transport."""

__version__ = "0.1.0"
