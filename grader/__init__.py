"""Autograder for Lab 3: EM for a 1-D Gaussian mixture.

Data flows one way: submission -> sandbox (a separate, unprivileged worker process)
-> checks (compare what came back with the trusted reference) -> report (results.json).
"""
