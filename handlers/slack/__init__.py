"""Everything Slack: the room of the Slack channel.

- ``app``: the Bolt ``AsyncApp`` and its Web API client, the verified ``/slack/events``
  edge, Socket Mode;
- ``listeners``: the table of Bolt listeners, and the middleware that gives each request
  its :class:`Session` (``session``); ``commands``, ``forms``, ``home``, ``queries``;
- ``blocks``: mrkdwn escaping and the Block Kit pieces; ``views``: the messages, forms and
  the Home tab; ``notices``: the reminder and stats messages; ``digest``: the digest's
  Slack message;
- ``notifier``: the Slack side of delivery (the digest and its chart, direct messages).

Nothing outside this package imports ``slack_bolt`` or ``slack_sdk``
(``tests/test_layout.py``).
"""

from handlers.slack.app import (
    build_slack_app,
    make_web_client,
    slack_events_handler,
    socket_mode_handler,
)
from handlers.slack.listeners import LISTENERS, register_slack
from handlers.slack.notifier import SlackNotifier
from handlers.slack.session import Session, SlackDeps

__all__ = [
    "LISTENERS",
    "Session",
    "SlackDeps",
    "SlackNotifier",
    "build_slack_app",
    "make_web_client",
    "register_slack",
    "slack_events_handler",
    "socket_mode_handler",
]
