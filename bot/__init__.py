"""ET 4.1.7 applicant assistant: the core that knows nothing of Telegram, plus the wiring (app,
cli); `bot.channels` is how it talks to Telegram."""
