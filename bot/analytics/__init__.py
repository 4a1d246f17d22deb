"""Service insight for the bank: what happened in every conversation, in reporting tables without raw
personal data (``models``, filled by ``capture`` from the tracker store and the service desk), the
measures managers use (``measures``), what the knowledge base could not answer (``gaps``), the
dashboard at ``/admin`` (``admin``) and traffic simulated through the real bot for demos
(``simulate``)."""
