"""Custom actions, served by rasa-sdk's action server (`civicbot actions`).

Actions are thin: they read the tracker, call one domain or storage function, and say
the result in the citizen's language.
"""
