"""How the bot talks to Telegram: the context handlers get, update ordering and delivery, the
webhook server, the offline console and the Bot API stand-in. The domain in `bot/` never imports
from here."""
