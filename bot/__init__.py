"""The edge: channels (Telegram, web chat), the Rasa client, the scheduler, the supervisor."""
