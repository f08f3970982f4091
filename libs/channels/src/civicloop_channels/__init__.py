"""How CivicLoop reaches a resident: the port every channel implements (`message`) and one module per provider.

The notifier decides who hears what and when; a sender here only delivers one message and says what the provider
answered. Nothing here logs a recipient or a message's text.
"""
