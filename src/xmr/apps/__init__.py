"""Applications built on the engine, one package each: ``text2text`` (raw text -> label texts),
``retrieval`` (search queries -> products), ``qac`` (session-aware query autocompletion).

Each application owns its config, its saved format (registered in ``xmr.io.formats``) and its
command-line verb (``cli.py``, registered in ``xmr.cli.main``).
"""
