"""papers-bot: the day's trending research papers, in your team's chat."""

__version__ = "0.1.0"
