"""Civic Feedback Assistant: the domain rules, free of any channel, NLU or web framework."""
