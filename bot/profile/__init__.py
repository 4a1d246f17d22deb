"""The customer profile store: schema (``models``), migrations, demo data (``seed``) and the one service
(``service``) through which every read and write of customer data passes, checked and audited."""
