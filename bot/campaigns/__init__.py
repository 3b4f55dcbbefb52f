"""Sending survey invitation campaigns: the sender, its channels and its crash journal."""
