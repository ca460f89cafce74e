"""semjscc: semantic deep joint source-channel coding over noisy multi-hop links."""

__version__ = "0.1.0"
