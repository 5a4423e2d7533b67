"""The public dashboard's pages, assembled from the projections (never by rebuilding an election).

Adapters (``web/dashboard.py``) call one function per page and render the returned frozen values::

    >>> from pollwatch.site.i18n import translate
    >>> translate("ur", "Constituency")
    'حلقہ'
"""
