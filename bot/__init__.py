"""星海银行 intelligent customer service: our own package around the Rasa assistant.

Where things happen:
- ``bot.gateway``: where a customer message enters (HTTP) and where the reply leaves.
- Rasa server (``config.yml``, ``domain.yml``, ``data/``): where the message is understood and decided.
- ``actions/``: what the assistant does (custom actions run by the action server).
- ``bot.supervisor``: starts and stops all processes (``make run``).
"""
