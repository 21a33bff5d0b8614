"""The kiosk: chair, desk and booth web app on the meeting-room LAN. Holds only the public key."""
