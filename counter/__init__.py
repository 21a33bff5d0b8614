"""The counting board's app: import, verify, decrypt with k shares, tally, report, sign.

A separate Flask app and CLI from the kiosk (SecureDrop's two-app split): it may run on
an offline laptop, keeps its own secrets in COUNTER_HOME and only ever reads box files.
"""
