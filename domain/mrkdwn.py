"""Text for Slack's mrkdwn, where `<`, `>` and `&` are control characters.

Anything a person typed (and any of our own text holding those characters, like `errors <= 5%`)
goes through `escape` before it is placed in mrkdwn: `<https://evil|approved>`, `<!channel>` or
`<@U123>` must show as the characters typed, never as a link, a ping or a mention. Slack sends
what people type with exactly these three characters escaped; `unescape_slack` undoes that (and
nothing more) so we store the literal text and escape it again wherever it is shown.
"""

from __future__ import annotations


def escape(text: str) -> str:
    """Literal text for mrkdwn (Slack's documented escaping: &, <, >)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_slack(text: str) -> str:
    """What the person typed, from Slack's escaped form. `&amp;` last: `&amp;lt;` is `&lt;`."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
