"""The starter as handed out, untouched: an empty patch is today's gmm1d.py."""
