"""Writers: each turns a neutral :class:`grader.result.GradingResult` into one platform's
format, as a pure function of it (``gradescope.py``: results.json; ``terminal.py``: the table
``make grade`` prints; ``html.py``: the Markdown-to-HTML step the formats that show pictures
share)."""
