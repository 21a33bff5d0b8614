"""Core library of the confidence-vote system: model, rules, crypto, audit chain, box format.

This package never imports Flask: the kiosk and the counter apps build on it.
"""
