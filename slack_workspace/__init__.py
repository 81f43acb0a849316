"""A local stand-in for Slack's servers, so the unchanged bot runs offline.

Start a `LocalSlackWorkspace`, point the bot at `ws.api_url` with `ws.bot_token` and
`ws.signing_secret`, tell the workspace the bot's request URL, and act as people either from
tests (`send_command`, `click_button`, `submit_view`) or in the browser at `ws.base_url`.
"""

from slack_workspace.delivery import DeliveryResult
from slack_workspace.directory import Person, load_directory
from slack_workspace.state import Message
from slack_workspace.workspace import LocalSlackWorkspace

__all__ = ["DeliveryResult", "LocalSlackWorkspace", "Message", "Person", "load_directory"]
