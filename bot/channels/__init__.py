"""How the bot talks to Telegram: the context handlers get, incoming updates, outgoing replies,
the Bot API client, the webhook server, the offline console and the Bot API stand-in. The domain
in `bot/` never imports from here."""
