"""Events -> email messages -> senders.

``alert_email``, ``notices`` and ``report`` hold the words (rendered by ``render``
from the jinja2 templates in ``templates/``); ``messages`` builds an
:class:`email.message.EmailMessage` from them; ``send`` is the sender protocol,
``outbox`` the file sender and ``smtp`` the SMTP sender.
"""
