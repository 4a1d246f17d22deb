"""``make report``: one self-contained page, reports/quality.html, on how well the assistant works.

``results`` holds the data and the light scoring, ``measure`` runs the real models, ``render``
turns the data into HTML, ``__main__`` puts them together.
"""
