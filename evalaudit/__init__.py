"""evalaudit: audit the human supply chain behind LLM evaluation sets."""

__version__ = "0.1.0"
