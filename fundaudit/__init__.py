"""fundaudit: audits the money of Chinese trade unions (see README)."""

__version__ = "0.1.0"
